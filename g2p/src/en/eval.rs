//! Scoring against misaki's reference output (`tests/data/en_ref.tsv`, written by `scripts/run_misaki.py`):
//! per-word exact match and phoneme error rate, by category, for one dialect.

use super::EnglishG2p;
use std::collections::BTreeMap;

/// One reference sentence: text, misaki's phoneme string, and its tokens (category, graphemes, phonemes).
pub struct RefSentence {
    pub text: String,
    pub output: String,
    pub words: Vec<(String, String, String)>,
}

/// Parses the reference file for one dialect (`"us"` or `"gb"`).
pub fn parse_reference(tsv: &str, dialect: &str) -> Vec<RefSentence> {
    let mut out: Vec<RefSentence> = Vec::new();
    for line in tsv.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() < 3 || f[1] != dialect {
            continue;
        }
        match f[0] {
            "S" => out.push(RefSentence { text: f[2].to_string(), output: String::new(), words: Vec::new() }),
            "O" => {
                if let Some(s) = out.last_mut() {
                    s.output = f[2].to_string();
                }
            }
            "W" if f.len() >= 5 => {
                if let Some(s) = out.last_mut() {
                    s.words.push((f[2].to_string(), f[3].to_string(), f[4].to_string()));
                }
            }
            _ => {}
        }
    }
    out
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Score {
    pub words: usize,
    pub exact: usize,
    pub edits: usize,
    pub ref_len: usize,
}

impl Score {
    pub fn word_rate(&self) -> f64 {
        if self.words == 0 { 1.0 } else { self.exact as f64 / self.words as f64 }
    }
    pub fn per(&self) -> f64 {
        if self.ref_len == 0 { 0.0 } else { self.edits as f64 / self.ref_len as f64 }
    }
    fn add(&mut self, o: &Score) {
        self.words += o.words;
        self.exact += o.exact;
        self.edits += o.edits;
        self.ref_len += o.ref_len;
    }
}

/// The category of reference tokens Warble reads on purpose differently from misaki: the normaliser's spans (units,
/// clock times, dates, Roman numerals, phone numbers, ranges, URLs, ...: misaki does not expand them) and the words
/// of Warble's own dictionary entries (`lexicon::ADDITIONS`). They are counted under this name and left out of
/// `words`, `all` and the other categories.
pub const NORMALISED: &str = "norm";

pub struct Report {
    /// By category: lex, het, num, oov, punct, and [`NORMALISED`].
    pub by_category: BTreeMap<String, Score>,
    /// All words except punctuation.
    pub words: Score,
    /// Every token, punctuation included.
    pub all: Score,
    pub sentences: usize,
    pub sentences_exact: usize,
    /// Sentences with at least one normalised token (misaki's output cannot be matched there).
    pub sentences_normalised: usize,
    /// Sentences without normalised tokens that equal misaki's output.
    pub sentences_exact_plain: usize,
    /// Distinct unknown words (`oov`, case-folded): how many, and how many are read as misaki reads them at every
    /// occurrence. The corpus repeats a few names many times (*Kalamazoo* 36 times), so the token rate moves with
    /// one name's stress mark; this is the rate per word.
    pub oov_distinct: (usize, usize),
    /// Some mismatches, for reading: (category, graphemes, expected, got).
    pub mismatches: Vec<(String, String, String, String)>,
}

/// Levenshtein distance over symbols (chars; stress marks count as symbols).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let sub = prev[j - 1] + usize::from(a[i - 1] != b[j - 1]);
            cur[j] = sub.min(prev[j] + 1).min(cur[j - 1] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

fn spans<'a>(texts: impl Iterator<Item = &'a str>) -> Vec<(usize, usize)> {
    let mut pos = 0;
    texts
        .map(|t| {
            let n = t.chars().filter(|c| !c.is_whitespace()).count();
            let s = (pos, pos + n);
            pos += n;
            s
        })
        .collect()
}

/// Scores `g2p` on the reference sentences. Tokens are matched by their character span in the sentence (without
/// whitespace); a reference token without a token of the same span is compared with the phonemes of the tokens
/// that overlap it.
pub fn evaluate(g2p: &EnglishG2p, refs: &[RefSentence], keep_mismatches: usize) -> Report {
    let mut by: BTreeMap<String, Score> = BTreeMap::new();
    let mut mismatches = Vec::new();
    let mut sentences_exact = 0;
    let mut sentences_normalised = 0;
    let mut sentences_exact_plain = 0;
    // Unknown word (case-folded) → read as misaki at every occurrence so far.
    let mut oov: BTreeMap<String, bool> = BTreeMap::new();
    for r in refs {
        let marked = g2p.phonemize_marked(&r.text).unwrap_or_default();
        let normalised_here = marked.iter().any(|(_, n)| *n);
        let (toks, marks): (Vec<_>, Vec<bool>) = marked.into_iter().unzip();
        let line = super::phonemize_line(g2p, &r.text).unwrap_or_default();
        let expected_line: String = r.output.split_whitespace().collect::<Vec<_>>().join(" ");
        if line == expected_line {
            sentences_exact += 1;
            if !normalised_here {
                sentences_exact_plain += 1;
            }
        }
        if normalised_here {
            sentences_normalised += 1;
        }
        let hs = spans(toks.iter().map(|t| t.graphemes.as_str()));
        let rs = spans(r.words.iter().map(|w| w.1.as_str()));
        for ((cat, graph, exp), &(s, e)) in r.words.iter().zip(rs.iter()) {
            let got = match hs.iter().position(|&x| x == (s, e)) {
                Some(k) => toks[k].phonemes.clone(),
                None => toks
                    .iter()
                    .zip(hs.iter())
                    .filter(|(_, (a, b))| *a < e && *b > s)
                    .map(|(t, _)| t.phonemes.as_str())
                    .filter(|p| !p.is_empty())
                    .collect::<Vec<_>>()
                    .join(" "),
            };
            // A reference token that overlaps a normalised token is scored under NORMALISED only.
            // So is a word Warble reads from its own entries on purpose (misaki misreads it).
            let normalised =
                hs.iter().zip(&marks).any(|(&(a, b), &m)| m && a < e && b > s) || super::lexicon::is_addition(graph);
            let cat = if normalised { NORMALISED.to_string() } else { cat.clone() };
            let sc = by.entry(cat.clone()).or_default();
            sc.words += 1;
            let d = edit_distance(exp, &got);
            if cat == "oov" {
                *oov.entry(graph.to_lowercase()).or_insert(true) &= d == 0;
            }
            sc.edits += d;
            sc.ref_len += exp.chars().count();
            if d == 0 {
                sc.exact += 1;
            } else if mismatches.len() < keep_mismatches {
                mismatches.push((cat, format!("{graph} «{}»", r.text), exp.clone(), got));
            }
        }
    }
    let mut words = Score::default();
    let mut all = Score::default();
    for (c, s) in &by {
        if c == NORMALISED {
            continue;
        }
        all.add(s);
        if c != "punct" {
            words.add(s);
        }
    }
    Report {
        by_category: by,
        words,
        all,
        sentences: refs.len(),
        sentences_exact,
        sentences_normalised,
        sentences_exact_plain,
        oov_distinct: (oov.values().filter(|&&e| e).count(), oov.len()),
        mismatches,
    }
}
