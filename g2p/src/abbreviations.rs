//! The abbreviations whose full stop is not a sentence end: one table for every sentence splitter (language
//! detection's in [`crate::detect`] and the engine's streaming segmenter), so that a word added here is known to
//! both. Compared in lowercase, without the final dot.

/// Never a sentence end: titles, Latin and business abbreviations, months, ranks. The Spanish, French, Italian
/// and Portuguese titles (`Sra.`, `Dott.`, `Av.`) come from [`crate::romance::is_title`].
pub const ALWAYS: &[&str] = &[
    "mr", "mrs", "ms", "mx", "dr", "prof", "st", "jr", "sr", "vs", "e.g", "i.e", "a.m", "p.m", "u.s", "inc", "ltd",
    "co", "corp", "approx", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "mt",
    "gen", "gov", "sen", "rep", "rev", "capt", "col", "lt", "sgt", "hon", "dept", "ph.d", "cf", "al", "viz", "mme",
    "mlle", "ud", "uds",
];

/// Not a sentence end when a number follows (`No. 5`, `Fig. 3`); otherwise they may be ("The answer is no.").
pub const BEFORE_NUMBER: &[&str] = &["no", "nos", "nº", "fig", "figs", "pp", "vol", "vols", "ch", "sec", "eq"];

/// Whether a full stop after `word` (lowercase, without its stop) never ends a sentence.
pub fn is_always(word: &str) -> bool {
    ALWAYS.contains(&word) || crate::romance::is_title(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_and_romance_titles_are_one_question() {
        for w in ["mr", "dr", "e.g", "sept", "mme", "sra", "dott", "sig"] {
            assert!(is_always(w), "{w}");
        }
        for w in ["no", "fig", "etc", "end", "i", "the"] {
            assert!(!is_always(w), "{w}");
        }
    }
}
