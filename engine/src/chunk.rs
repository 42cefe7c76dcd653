//! Splits phoneme strings longer than the model's 510-symbol window, like hexgrad's pipeline: cut after the
//! strongest punctuation that leaves both sides within the limit (sentence end, then clause, then comma), else
//! at a space, else (a single 510-symbol "word") hard at the limit.

use crate::vocab::MAX_PHONEMES;

const SENTENCE_END: &[char] = &['.', '!', '?', '…'];
const CLAUSE: &[char] = &[':', ';'];
const COMMA: &[char] = &[',', '—'];
const CLOSERS: &[char] = &['"', '”', ')'];

/// Splits `phonemes` into pieces of at most `limit` symbols (characters). Whitespace at the cuts is dropped.
pub fn split_phonemes(phonemes: &str, limit: usize) -> Vec<String> {
    let limit = limit.clamp(1, MAX_PHONEMES);
    let mut rest: Vec<char> = phonemes.trim().chars().collect();
    let mut out = Vec::new();
    while rest.len() > limit {
        let cut = best_cut(&rest[..=limit.min(rest.len() - 1)], limit);
        let head: String = rest[..cut].iter().collect();
        let head = head.trim().to_string();
        if !head.is_empty() {
            out.push(head);
        }
        let spaces = rest[cut..].iter().take_while(|c| c.is_whitespace()).count();
        rest.drain(..cut + spaces);
    }
    let tail: String = rest.iter().collect::<String>().trim().to_string();
    if !tail.is_empty() {
        out.push(tail);
    }
    out
}

/// The length of the first piece: a cut position in `1..=limit` within `window` (`limit + 1` symbols, so a
/// space just after the limit counts).
fn best_cut(window: &[char], limit: usize) -> usize {
    for class in [SENTENCE_END, CLAUSE, COMMA] {
        if let Some(i) = (0..window.len().min(limit)).rev().find(|&i| class.contains(&window[i])) {
            // Keep closing quotes/brackets with the sentence they close.
            let mut end = i + 1;
            while end < limit && end < window.len() && CLOSERS.contains(&window[end]) {
                end += 1;
            }
            return end;
        }
    }
    if let Some(i) = (1..window.len()).rev().find(|&i| window[i].is_whitespace()) {
        return i.min(limit);
    }
    limit
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_strings_stay_whole() {
        assert_eq!(split_phonemes("hˈI!", 510), vec!["hˈI!"]);
        assert!(split_phonemes("   ", 510).is_empty());
    }

    #[test]
    fn cuts_prefer_sentence_ends_then_commas_then_spaces() {
        let s = "ab cd, ef. gh ij";
        assert_eq!(split_phonemes(s, 12), vec!["ab cd, ef.", "gh ij"]);
        assert_eq!(split_phonemes("ab cd, ef gh", 8), vec!["ab cd,", "ef gh"]);
        assert_eq!(split_phonemes("abc def ghi", 8), vec!["abc def", "ghi"]);
        assert_eq!(split_phonemes("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
    }

    #[test]
    fn every_piece_fits_the_limit() {
        let long: String = (0..2000).map(|i| if i % 7 == 6 { ' ' } else { 'a' }).collect();
        for limit in [7, 50, 510] {
            let pieces = split_phonemes(&long, limit);
            assert!(pieces.iter().all(|p| p.chars().count() <= limit && !p.is_empty()));
            let joined: String = pieces.join(" ");
            assert_eq!(joined.split_whitespace().collect::<Vec<_>>(), long.split_whitespace().collect::<Vec<_>>());
        }
    }
}
