//! Word-level language identification inside Latin-script sentences (English, Spanish, French, Italian,
//! Portuguese), so that a sentence which switches language mid-way is read in each language by its own front end.
//!
//! Evidence per word: its frequency in each language (the 16,000 most frequent words of each, from wordfreq's
//! data: `data/langid_words.tsv`, made by `scripts/make_langid.py`), and for words none of the lists has, a
//! character-trigram model of each language trained on those lists. A Viterbi pass over the words of the sentence
//! combines the evidence with a penalty for every switch, so a switch needs several words that clearly belong to
//! another language: loanwords and short foreign phrases (café, déjà vu, pizza margherita) stay in the sentence's
//! language, and capitalised words inside a sentence (names: Los Angeles, São Paulo) give no evidence at all.
//! Runs shorter than [`MIN_RUN_WORDS`] words of evidence are folded into their neighbours.

use crate::Language;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::OnceLock;

static WORDS: &str = include_str!("../data/langid_words.tsv");

/// The languages in the order of the data file's columns (and of the cue scores in `detect`).
pub(crate) const LANGS: [Language; 5] = [Language::EnUs, Language::Es, Language::Fr, Language::It, Language::PtBr];
const N: usize = LANGS.len();

/// Cost of a switch between English and a Romance language, in natural-log units of word probability.
const SWITCH: f32 = 7.0;
/// Cost of a switch between two Romance languages: they share many words and are rarely mixed in one sentence.
const SWITCH_ROMANCE: f32 = 12.0;
/// How much cheaper a switch is at a punctuation mark or a quotation.
const MARK_DISCOUNT: f32 = 4.0;
/// A run needs at least this many words that carry evidence, or it joins its neighbours.
pub(crate) const MIN_RUN_WORDS: usize = 3;
/// ... and at least this much evidence (sum of ln-probability ratios) against the neighbour's language.
const MIN_MARGIN: f32 = 12.0;
/// Probability of a word none of a language's lists has: at most the list's floor (Zipf 2.0, 1e-7) and at most
/// this share of what the language's character model gives it.
const UNLISTED_SHARE: f32 = 0.1;
const UNLISTED_MAX: f32 = 1e-7;
/// Add-k smoothing of the character trigram model and its alphabet size.
const TRIGRAM_K: f32 = 0.5;
const ALPHABET: f32 = 48.0;

/// A multiplicative hasher for the packed n-gram keys (SipHash made building the model three times slower).
#[derive(Default)]
struct PackedHasher(u64);

impl std::hash::Hasher for PackedHasher {
    fn finish(&self) -> u64 {
        // Multiplication only carries upwards: fold the high bits into the low ones the table indexes by.
        self.0 ^ (self.0 >> 29) ^ (self.0 >> 47)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

type Counts = HashMap<u64, u32, std::hash::BuildHasherDefault<PackedHasher>>;

/// Up to three characters packed 16 bits each (their code points within the Basic Multilingual Plane, where
/// every letter of the five languages lies) above the language, so one table serves all languages.
fn pack(lang: usize, chars: &[char]) -> u64 {
    chars.iter().fold(lang as u64, |k, &c| (k << 16) | (c as u64 & 0xffff))
}

struct Model {
    words: HashMap<&'static str, [u8; N]>,
    /// Counts of character trigrams and of their two-character contexts, per language (see [`pack`]).
    tri: Counts,
    bi: Counts,
}

fn model() -> &'static Model {
    static M: OnceLock<Model> = OnceLock::new();
    M.get_or_init(|| {
        let mut words = HashMap::with_capacity(64 * 1024);
        let mut tri = Counts::default();
        let mut bi = Counts::default();
        for line in WORDS.lines().filter(|l| !l.starts_with('#')) {
            let mut f = line.split('\t');
            let Some(w) = f.next() else { continue };
            let mut z = [0u8; N];
            for v in z.iter_mut() {
                *v = f.next().and_then(|x| x.parse().ok()).unwrap_or(0);
            }
            for (l, &zl) in z.iter().enumerate() {
                if zl > 0 {
                    for t in trigrams(w) {
                        *tri.entry(pack(l, &t)).or_insert(0) += 1;
                        *bi.entry(pack(l, &t[..2])).or_insert(0) += 1;
                    }
                }
            }
            words.insert(w, z);
        }
        Model { words, tri, bi }
    })
}

/// The trigrams of `^^word$`.
fn trigrams(w: &str) -> impl Iterator<Item = [char; 3]> + '_ {
    let chars: Vec<char> = ['^', '^'].into_iter().chain(w.chars()).chain(['$']).collect();
    (0..chars.len().saturating_sub(2)).map(move |i| [chars[i], chars[i + 1], chars[i + 2]])
}

impl Model {
    /// ln P(word) in each language.
    fn lexical(&self, w: &str) -> [f32; N] {
        let z = self.words.get(w).copied().unwrap_or([0; N]);
        let mut out = [0f32; N];
        for l in 0..N {
            out[l] = if z[l] > 0 {
                (z[l] as f32 / 10.0 - 9.0) * std::f32::consts::LN_10
            } else {
                let ll: f32 = trigrams(w)
                    .map(|t| {
                        let c = self.tri.get(&pack(l, &t)).copied().unwrap_or(0) as f32;
                        let ctx = self.bi.get(&pack(l, &t[..2])).copied().unwrap_or(0) as f32;
                        ((c + TRIGRAM_K) / (ctx + TRIGRAM_K * ALPHABET)).ln()
                    })
                    .sum();
                (UNLISTED_SHARE.ln() + ll).min(UNLISTED_MAX.ln())
            };
        }
        out
    }

    /// Evidence of one word (lowercase, letters and inner apostrophes or hyphens): whole if any list has it,
    /// else the sum over its parts (`j'ai`, `dell'acqua`, `week-end`).
    fn evidence(&self, w: &str) -> [f32; N] {
        if self.words.contains_key(w) || !w.contains(['\'', '-']) {
            return self.lexical(w);
        }
        let mut out = [0f32; N];
        for part in w.split(['\'', '-']).filter(|p| !p.is_empty()) {
            let e = self.lexical(part);
            for l in 0..N {
                out[l] += e[l];
            }
        }
        out
    }
}

/// One whitespace-separated word of the sentence: its byte range and evidence (`None`: none, e.g. a number or
/// a name), and whether it looks like a name (capitalised inside the sentence).
struct Word {
    range: Range<usize>,
    evidence: Option<[f32; N]>,
    name: bool,
}

fn is_opening(c: char) -> bool {
    matches!(c, '"' | '“' | '„' | '«' | '‘' | '\'' | '(' | '[' | '¿' | '¡')
}

fn words(sentence: &str, model: &Model) -> Vec<Word> {
    let mut out = Vec::new();
    let mut start = None;
    let mut pieces: Vec<Range<usize>> = Vec::new();
    for (i, c) in sentence.char_indices().chain([(sentence.len(), ' ')]) {
        if c.is_whitespace() {
            if let Some(s) = start.take() {
                pieces.push(s..i);
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    for (k, r) in pieces.iter().enumerate() {
        let raw = &sentence[r.clone()];
        let core = raw.trim_matches(|c: char| !c.is_alphanumeric());
        let mut evidence = None;
        let mut name = false;
        if core.chars().any(char::is_alphabetic) && core.chars().all(|c| c.is_alphabetic() || "'’-".contains(c)) {
            let first_upper = core.chars().next().is_some_and(char::is_uppercase);
            let quoted = raw.starts_with(is_opening);
            let after_colon = k > 0 && sentence[pieces[k - 1].clone()].ends_with(':');
            let name_like = first_upper && k > 0 && !quoted && !after_colon;
            // A capitalised word inside a sentence is most likely a name: no evidence. The English pronoun `I`
            // is the exception (Italian's article `i` is lowercase there).
            if core == "I" {
                let mut e = model.evidence("i");
                for v in e.iter_mut().skip(1) {
                    *v = UNLISTED_MAX.ln();
                }
                evidence = Some(e);
            } else if !name_like {
                let lower = core.to_lowercase().replace('’', "'");
                evidence = Some(model.evidence(&lower));
            }
            name = name_like && core != "I";
        }
        out.push(Word { range: r.clone(), evidence, name });
    }
    out
}

/// The cost of switching from language `a` to `b` between two words; `at_mark`: the first word ends a clause or
/// a quotation, or the second opens one (where bilingual speakers switch, and where a name next to the switch
/// belongs to the words before it).
fn switch_cost(a: usize, b: usize, at_mark: bool) -> f32 {
    let base = if a == b {
        return 0.0;
    } else if a == 0 || b == 0 {
        SWITCH
    } else {
        SWITCH_ROMANCE
    };
    if at_mark { base - MARK_DISCOUNT } else { base }
}

/// Whether a switch between `prev` and `next` (raw words) falls at a punctuation mark.
fn at_mark(prev: &str, next: &str) -> bool {
    prev.ends_with([',', ';', ':', '.', '!', '?', '…', '"', '”', '»', ')', '—'])
        || next.starts_with(is_opening)
        || next.starts_with(['—', '-'])
}

/// One sentence split into words with their language evidence, once, for every question asked of it
/// (its language, its runs, the share of known words, the sentence without its names).
pub struct Sentence<'a> {
    text: &'a str,
    words: Vec<Word>,
}

impl<'a> Sentence<'a> {
    /// Splits `text` into words and weighs each one.
    pub fn new(text: &'a str) -> Self {
        Sentence { text, words: words(text, model()) }
    }

    /// The sentence's text.
    pub fn text(&self) -> &'a str {
        self.text
    }

    /// The sentence with its name-like words (capitalised inside the sentence: *Dmitri*, *Kalamazoo*) left out, for
    /// the character-level guessers: a name's letters say where the name comes from, not what language the
    /// sentence around it is in ("Siobhan met Dmitri in Kalamazoo." looked Italian to whatlang).
    pub fn without_names(&self) -> String {
        let mut out = String::with_capacity(self.text.len());
        for w in self.words.iter().filter(|w| !w.name) {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&self.text[w.range.clone()]);
        }
        out
    }

    /// The share of the sentence's words (those that can carry evidence) that are among the frequent words of
    /// English, Spanish, French, Italian or Portuguese; 1.0 for a sentence without such words. Text in another
    /// language (German, Dutch, ...) scores low.
    pub fn listed_share(&self) -> f32 {
        let model = model();
        let mut n = 0;
        let mut listed = 0;
        for w in self.words.iter().filter(|w| w.evidence.is_some()) {
            n += 1;
            let core = self.text[w.range.clone()]
                .trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
                .replace('’', "'");
            if model.words.contains_key(core.as_str()) {
                listed += 1;
            }
        }
        if n == 0 { 1.0 } else { listed as f32 / n as f32 }
    }

    /// The best language of the whole sentence by word evidence, its margin over the second best (nats) and the
    /// number of words that carry evidence (at least one).
    pub fn language(&self) -> Option<(Language, f32, usize)> {
        let words = &self.words;
        let mut total = [0f32; N];
        let mut n = 0;
        for e in words.iter().filter_map(|w| w.evidence) {
            n += 1;
            for l in 0..N {
                total[l] += e[l];
            }
        }
        if n == 0 {
            return None;
        }
        let mut order: Vec<usize> = (0..N).collect();
        order.sort_by(|a, b| total[*b].total_cmp(&total[*a]));
        Some((LANGS[order[0]], total[order[0]] - total[order[1]], n))
    }

    /// The runs of one Latin-script sentence when it switches language: (byte range inside `sentence`, language),
    /// in order, at least two of them. `None` when the sentence reads as one language (the caller keeps its
    /// sentence-level guess).
    pub fn switches(&self) -> Option<Vec<(Range<usize>, Language)>> {
        let (sentence, words) = (self.text, &self.words);
        let evident = words.iter().filter(|w| w.evidence.is_some()).count();
        if evident < 2 * MIN_RUN_WORDS {
            return None;
        }
        // Viterbi over the words; words without evidence keep the language.
        let mut score = [0f32; N];
        let mut back: Vec<[usize; N]> = Vec::with_capacity(words.len());
        for (t, w) in words.iter().enumerate() {
            let mark = t > 0 && at_mark(&sentence[words[t - 1].range.clone()], &sentence[w.range.clone()]);
            let mut next = [0f32; N];
            let mut from = [0usize; N];
            for l in 0..N {
                let (best_p, best) = (0..N)
                    .map(|p| (p, score[p] - switch_cost(p, l, mark)))
                    .fold((l, f32::NEG_INFINITY), |acc, (p, s)| if s > acc.1 { (p, s) } else { acc });
                from[l] = best_p;
                next[l] = best + w.evidence.map_or(0.0, |e| e[l]);
            }
            back.push(from);
            score = next;
        }
        let mut l = (0..N).fold(0, |b, l| if score[l] > score[b] { l } else { b });
        let mut path = vec![0usize; words.len()];
        for t in (0..words.len()).rev() {
            path[t] = l;
            l = back[t][l];
        }
        // Runs of one language: (language, first word, last word).
        let mut runs: Vec<(usize, usize, usize)> = Vec::new();
        for (t, &l) in path.iter().enumerate() {
            match runs.last_mut() {
                Some(r) if r.0 == l => r.2 = t,
                _ => runs.push((l, t, t)),
            }
        }
        // Fold a weak run (too few words of evidence, or too little evidence against the language of the neighbour
        // it would join) into that neighbour, weakest first, until every run stands.
        let evident_in = |r: &(usize, usize, usize)| words[r.1..=r.2].iter().filter(|w| w.evidence.is_some()).count();
        let margin = |r: &(usize, usize, usize), other: usize| -> f32 {
            words[r.1..=r.2].iter().filter_map(|w| w.evidence).map(|e| e[r.0] - e[other]).sum()
        };
        while runs.len() > 1 {
            let neighbour = |k: usize| -> usize {
                if k == 0 {
                    1
                } else if k + 1 == runs.len() || evident_in(&runs[k - 1]) >= evident_in(&runs[k + 1]) {
                    k - 1
                } else {
                    k + 1
                }
            };
            let weakest = (0..runs.len())
                .map(|k| (k, margin(&runs[k], runs[neighbour(k)].0)))
                .filter(|&(k, m)| evident_in(&runs[k]) < MIN_RUN_WORDS || m < MIN_MARGIN)
                .min_by(|a, b| a.1.total_cmp(&b.1));
            let Some((k, _)) = weakest else { break };
            let into = neighbour(k);
            let (lo, hi) = (k.min(into), k.max(into));
            runs[lo] = (runs[into].0, runs[lo].1, runs[hi].2);
            runs.remove(hi);
            // Neighbours of one language join.
            let mut j = 1;
            while j < runs.len() {
                if runs[j].0 == runs[j - 1].0 {
                    runs[j - 1].2 = runs[j].2;
                    runs.remove(j);
                } else {
                    j += 1;
                }
            }
        }
        if runs.len() < 2 {
            return None;
        }
        Some(runs.iter().map(|r| (words[r.1].range.start..words[r.2].range.end, LANGS[r.0])).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs(s: &str) -> Vec<(String, &'static str)> {
        Sentence::new(s)
            .switches()
            .unwrap_or_default()
            .into_iter()
            .map(|(r, l)| (s[r].to_string(), crate::detect::short_code(Some(l))))
            .collect()
    }

    #[test]
    fn splits_english_and_spanish() {
        let s = "I told my abuela that I'd be home by eight, pero ella ya estaba preparando la cena.";
        assert_eq!(
            runs(s),
            [
                ("I told my abuela that I'd be home by eight,".to_string(), "en"),
                ("pero ella ya estaba preparando la cena.".to_string(), "es")
            ]
        );
    }

    fn lang_of(s: &str) -> Option<(Language, f32, usize)> {
        Sentence::new(s).language()
    }

    fn share(s: &str) -> f32 {
        Sentence::new(s).listed_share()
    }

    #[test]
    fn sentence_evidence_and_the_share_of_known_words() {
        let (lang, margin, n) = lang_of("Deberíamos salir temprano para evitar el tráfico.").unwrap();
        assert_eq!((lang, n), (Language::Es, 7));
        assert!(margin > 10.0, "{margin}");
        assert_eq!(lang_of("Hello Dmitri").map(|e| (e.0, e.2)), Some((Language::EnUs, 1)));
        assert_eq!(lang_of("42 !"), None, "no word carries evidence");
        assert!(share("The committee will meet again next week to discuss the budget.") > 0.9);
        assert!(share("Ich habe heute leider keine Zeit, weil ich noch arbeiten muss.") < 0.2);
        assert_eq!(share("1234 !!"), 1.0);
    }

    #[test]
    fn a_switch_prefers_a_punctuation_mark() {
        // "Montréal," is a name (no evidence): the switch falls after its comma, not before it.
        let s = "Nous avons raté la correspondance à Montréal, so the airline put us up in a hotel for the night.";
        let r = runs(s);
        assert_eq!(r.len(), 2, "{r:?}");
        assert_eq!(r[0], ("Nous avons raté la correspondance à Montréal,".to_string(), "fr"));
    }

    #[test]
    fn loanwords_and_names_do_not_split() {
        for s in [
            "We ordered a pizza margherita and two cappuccinos at the café.",
            "She had a strange feeling of déjà vu in Los Angeles.",
            "Nothing",
            "",
        ] {
            assert!(Sentence::new(s).switches().is_none(), "{s}: {:?}", runs(s));
        }
    }
}
