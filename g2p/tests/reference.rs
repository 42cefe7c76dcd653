//! Compares Warble's non-English G2P with reference strings produced by misaki 0.9.4 (Kokoro's own front end) via
//! g2p/scripts/ref_outputs.py. Prints the exact-match rate and the mean character similarity per language, and
//! checks every output symbol is in Kokoro's vocabulary.

use warble_g2p::registry::in_vocab;
use warble_g2p::{G2p, join_phonemes};

fn cases(tsv: &str) -> Vec<(&str, &str)> {
    tsv.lines().filter_map(|l| l.split_once('\t')).collect()
}

/// 1 − normalised Levenshtein distance over code points.
fn similarity(a: &str, b: &str) -> f64 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + usize::from(a[i - 1] != b[j - 1]));
        }
        prev = cur;
    }
    let n = a.len().max(b.len()).max(1);
    1.0 - prev[b.len()] as f64 / n as f64
}

/// Runs one language; returns (exact, total, mean similarity).
fn compare(name: &str, g2p: &dyn G2p, tsv: &str) -> (usize, usize, f64) {
    let cases = cases(tsv);
    let mut exact = 0;
    let mut sim = 0.0;
    let mut exact_nospace = 0;
    let mut sim_nospace = 0.0;
    for (text, want) in &cases {
        let got = join_phonemes(&g2p.phonemize(text).expect("phonemize"));
        assert!(got.chars().all(in_vocab), "{name}: symbol outside the vocab in {got:?}");
        // The reference keeps symbols the model drops; compare what the model reads.
        let want: String = want.chars().filter(|c| in_vocab(*c)).collect();
        if got == want {
            exact += 1;
        } else {
            eprintln!("{name} diff: {text}\n   ref  {want}\n   ours {got}");
        }
        sim += similarity(&got, &want);
        let strip = |s: &str| s.chars().filter(|c| *c != ' ').collect::<String>();
        if strip(&got) == strip(&want) {
            exact_nospace += 1;
        }
        sim_nospace += similarity(&strip(&got), &strip(&want));
    }
    let n = cases.len();
    eprintln!(
        "{name}: {exact}/{n} exact, mean similarity {:.3}; ignoring spaces {exact_nospace}/{n} exact, {:.3}",
        sim / n as f64,
        sim_nospace / n as f64
    );
    (exact, n, sim / n as f64)
}

#[test]
fn mandarin_matches_reference() {
    let (exact, n, sim) = compare("zh", &warble_g2p::zh::ZhG2p::new(), include_str!("data/ref/zh.tsv"));
    assert!(exact as f64 >= 0.8 * n as f64, "{exact}/{n}");
    assert!(sim >= 0.95, "{sim}");
}

#[test]
fn mandarin_without_sandhi_is_the_reference() {
    let g = warble_g2p::zh::ZhG2p::with_sandhi(warble_g2p::zh::Sandhi { yi_bu: false, third_tone: false });
    let (exact, n, _) = compare("zh-nosandhi", &g, include_str!("data/ref/zh.tsv"));
    assert_eq!(exact, n);
}

#[test]
fn japanese_close_to_reference() {
    // A missing dictionary fails the test instead of skipping it: a skip would let CI pass with the Japanese
    // front end unchecked.
    if !warble_g2p::ja::dictionary_available() {
        let why = warble_g2p::ja::JaG2p::new().phonemize("日本語").err();
        panic!("MeCab's IPADIC dictionary is required (apt-get install mecab-ipadic, or set WARBLE_JA_DIC): {why:?}");
    }
    let (_, _, sim) = compare("ja", &warble_g2p::ja::JaG2p::new(), include_str!("data/ref/ja.tsv"));
    // The reference tokenizes with UniDic, Warble with IPADIC: readings and word spacing differ in places.
    assert!(sim >= 0.85, "{sim}");
}

#[cfg(feature = "espeak")]
#[test]
fn espeak_languages_close_to_reference() {
    use warble_g2p::Language;
    let sets = [
        (Language::Es, include_str!("data/ref/es.tsv")),
        (Language::Fr, include_str!("data/ref/fr-fr.tsv")),
        (Language::It, include_str!("data/ref/it.tsv")),
        (Language::PtBr, include_str!("data/ref/pt-br.tsv")),
        (Language::Hi, include_str!("data/ref/hi.tsv")),
    ];
    for (lang, tsv) in sets {
        let g = warble_g2p::espeak::EspeakG2p::new(lang).expect("espeak backend");
        // The reference bundles its own espeak-ng build; the system one may differ in a few words.
        let (_, _, sim) = compare(lang.code(), &g, tsv);
        assert!(sim >= 0.9, "{lang}: {sim}");
    }
}

/// Hindi is pinned to the reference exactly: Warble's `hi` output must be misaki 0.9.4's
/// `EspeakG2P(language='hi')` string, symbol for symbol (over the symbols the model reads), on the reference set and
/// on the 26 sentences of the Whisper evaluation (`scripts/whisper_eval/sentences/hi.txt`, `data/ref/hi_eval.tsv`).
/// That evaluation's 67 % WER is the same with the reference model fed misaki's phonemes
/// (`scripts/whisper_eval/reference.py`), so a change to the Hindi front end has to show up here first. Kept on
/// purpose, as in the reference: aspiration `ʰ`, nasal vowels as a combining tilde (`mẽː`, `hɛ̃`), espeak's schwa
/// deletion, numbers read by espeak (`10` → `dˈʌs`), no symbol for the danda `।`, and espeak's `r.` for ड़/ढ़ (a `.`
/// inside the word; mapping it to `ɽ` did not change the Whisper result).
#[cfg(feature = "espeak")]
#[test]
fn hindi_is_the_reference_exactly() {
    use warble_g2p::Language;
    let g = warble_g2p::espeak::EspeakG2p::new(Language::Hi).expect("espeak backend");
    for tsv in [include_str!("data/ref/hi.tsv"), include_str!("data/ref/hi_eval.tsv")] {
        let (exact, n, _) = compare("hi-exact", &g, tsv);
        assert_eq!(exact, n, "Hindi differs from the reference (diffs above)");
    }
    // Spot checks of the systematic features, so a failure says which one broke.
    let ps = |t: &str| join_phonemes(&g.phonemize(t).expect("phonemize"));
    assert_eq!(ps("छोटा"), "cʰˈoːʈaː"); // aspiration
    assert_eq!(ps("में"), "mˈe\u{303}ː"); // nasal vowel: e + combining tilde
    assert_eq!(ps("यह मेरा घर है।"), "jˌəh mˌeːɾaː ɡʰˈʌɾ hɛː"); // danda: no symbol
    assert_eq!(ps("मुझे, आज?"), "mˌʊɟʰeː, ˈaːɟ?"); // other marks kept
}

/// Where Warble departs from the reference on purpose: the symbols next to numbers in es/fr/it/pt-br are read as
/// words (`warble_g2p::romance`) before espeak-ng reads the text, and the spoken words are handed back to the
/// written ones, so that `--timings` words are what the user wrote (numbers read as several words included).
#[cfg(feature = "espeak")]
#[test]
fn romance_symbols_are_words_and_keep_their_written_form() {
    use warble_g2p::Language::*;
    let words = |lang, text: &str| -> Vec<(String, String)> {
        let g = warble_g2p::espeak::EspeakG2p::new(lang).expect("espeak backend");
        let toks = g.phonemize(text).expect("phonemize");
        toks.into_iter().filter(|t| !t.is_punctuation).map(|t| (t.graphemes, t.phonemes)).collect()
    };
    let es = words(Es, "Hace -5 °C, el 12/05/1990 a las 14h30 cuesta 3,50 €.");
    let written: Vec<&str> = es.iter().map(|w| w.0.as_str()).collect();
    assert_eq!(written, ["Hace", "-5 °C", "el", "12/05/1990", "a", "las", "14h30", "cuesta", "3,50 €"]);
    for (k, heard) in [(1, "mˈenos θˈinko ɣɾˈaðos θˈelsjus"), (3, "mˈaʝo"), (6, "ˈoɾas"), (8, "ˈeʊɾos kon")]
    {
        assert!(es[k].1.contains(heard), "{:?} lacks {heard}", es[k]);
    }
    // An abbreviation's stop is not a full stop: one sentence, the title said.
    let g = warble_g2p::espeak::EspeakG2p::new(Es).expect("espeak backend");
    let line = join_phonemes(&g.phonemize("El Sr. García llegó, etc. Luego se fue.").expect("phonemize"));
    assert!(line.starts_with("el seɲˈoɾ ɣaɾθˈia ʎeɣˈo, etθˈeteɾa. "), "{line}");
    // The other languages: each rewritten symbol is heard.
    for (lang, text, heard) in [
        (Fr, "Il fait -5 °C à 14h30.", ["mwˈɛ̃", "sɛlsjˈys", "ˈœʁ"]),
        (It, "Alle 14.30 ci sono 25 km.", ["kwatːˈordiʧɪ e trˈeːnta", "ventiʧˈinkwe kilˈometrɪ", "ʧɪ"]),
        (PtBr, "Custa R$ 50, de 5-10 m.", ["xeˈIs", "sˈiŋkw a dˈɛz", "mˈɛtrʊs"]),
    ] {
        let phonemes: String = words(lang, text).into_iter().map(|w| w.1 + " ").collect();
        for h in heard {
            assert!(phonemes.contains(h), "{lang}: {phonemes} lacks {h}");
        }
    }
}
