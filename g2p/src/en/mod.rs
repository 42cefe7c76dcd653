//! English (US and British) grapheme-to-phoneme conversion that reproduces misaki 0.9.4, the G2P Kokoro was
//! trained with: spaCy-like tokenization, a rule tagger, misaki's gold/silver dictionaries with its morphology,
//! number reading and stress rules, and a letter-to-sound fallback for words no dictionary has.

mod espeak_oov;
pub mod eval;
pub mod learnt;
mod lexicon;
pub(crate) mod normalize;
mod numbers;
mod oov;
mod tagger;
mod tokenize;
mod words;

use crate::{G2p, G2pError, Language, Token};
pub use espeak_oov::map_english_ipa;
use tokenize::RawToken;
use words::{CONSONANTS, CURRENCIES, Ctx, PRIMARY, VOWELS, Words};

/// The 114 symbols of Kokoro's vocabulary (`config.json`), plus the space that separates words.
pub const VOCAB: &str = " !\"(),.:;?AIOQSTWYabcdefhijklmnopqrstuvwxyzæçðøŋœɐɑɒɔɕɖəɚɛɜɟɡɣɤɥɨɪɯɰɲɳɴɸɹɻɽɾʁʂʃʈʊʋʌʎʒʔʝʣʤʥʦʧʨʰʲˈˌː̃βθχᵊᵝᵻ—“”…→↓↗↘ꭧ";

/// Whether `c` is one of the vocabulary's symbols (or a space).
pub fn in_vocab(c: char) -> bool {
    static SORTED: std::sync::OnceLock<Vec<char>> = std::sync::OnceLock::new();
    let v = SORTED.get_or_init(|| {
        let mut v: Vec<char> = VOCAB.chars().collect();
        v.sort_unstable();
        v
    });
    if c.is_ascii() {
        return c == ' ' || (c.is_ascii_lowercase() && c != 'g') || "!\"(),.:;?AIOQSTWY".contains(c);
    }
    v.binary_search(&c).is_ok()
}

const PUNCTS: &str = ";:,.!?—…\"“”";
const NON_QUOTE_PUNCTS: &str = ";:,.!?—…";
const SUBTOKEN_JUNKS: &str = "',-._‘’/";
const PUNCT_TAGS: [&str; 11] = [".", ",", "-LRB-", "-RRB-", "``", "\"\"", "''", ":", "$", "#", "NFP"];

/// Sub-tokens joined without spaces that are looked up together at most (misaki tries every sub-range, which is
/// cubic in the length; a 1 MB run of letters and digits must not take hours).
const MAX_GROUP: usize = 24;

/// Longest input `phonemize` accepts in one call; longer text is an error (split it first).
pub const MAX_INPUT_BYTES: usize = 4 << 20;

#[derive(Debug, Clone, Default)]
struct MTok {
    text: String,
    tag: &'static str,
    ws: bool,
    phonemes: Option<String>,
    is_head: bool,
    alias: Option<&'static str>,
    stress: Option<f64>,
    currency: Option<char>,
    flags: String,
    prespace: bool,
    rating: Option<u8>,
    /// Read by `normalize` (units, times, dates, ...), where misaki reads the text differently.
    normalised: bool,
    /// The words a normalised token reads as (phonemized in the right-to-left pass, with its context).
    reading: Option<String>,
}

fn case_weight(s: &str) -> usize {
    s.chars().map(|c| if c.to_lowercase().eq(std::iter::once(c)) { 1 } else { 2 }).sum()
}

/// misaki's `merge_tokens`: one token from several; `unk` = Some("") joins their phonemes.
fn merge(tokens: &[MTok], unk: Option<&str>) -> MTok {
    let mut text = String::new();
    for (i, t) in tokens.iter().enumerate() {
        text.push_str(&t.text);
        if i + 1 < tokens.len() && t.ws {
            text.push(' ');
        }
    }
    let stresses: Vec<f64> = tokens.iter().filter_map(|t| t.stress).collect();
    let stress = match stresses.first() {
        Some(&s) if stresses.iter().all(|&x| x == s) => Some(s),
        _ => None,
    };
    let phonemes = unk.map(|u| {
        let mut ps = String::new();
        for t in tokens {
            if t.prespace
                && !ps.is_empty()
                && !ps.ends_with(char::is_whitespace)
                && t.phonemes.as_deref().is_some_and(|p| !p.is_empty())
            {
                ps.push(' ');
            }
            ps.push_str(t.phonemes.as_deref().unwrap_or(u));
        }
        ps
    });
    let tag = tokens
        .iter()
        .fold((0usize, ""), |acc, t| {
            let w = case_weight(&t.text);
            if w > acc.0 || acc.1.is_empty() && acc.0 == 0 { (w, t.tag) } else { acc }
        })
        .1;
    let mut flags: Vec<char> = tokens.iter().flat_map(|t| t.flags.chars()).collect();
    flags.sort();
    flags.dedup();
    MTok {
        text,
        tag,
        ws: tokens.last().is_some_and(|t| t.ws),
        phonemes,
        is_head: tokens[0].is_head,
        alias: None,
        stress,
        currency: tokens.iter().filter_map(|t| t.currency).max(),
        flags: flags.into_iter().collect(),
        prespace: tokens[0].prespace,
        rating: tokens.iter().map(|t| t.rating).min().flatten(),
        normalised: tokens.iter().any(|t| t.normalised),
        reading: None,
    }
}

#[derive(Debug, Clone)]
enum Feature {
    Stress(f64),
    Phonemes(String),
    Flags(String),
}

enum Item {
    One(MTok),
    Group(Vec<MTok>),
}

/// How English words that no dictionary knows are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// espeak-ng, mapped to Kokoro's symbols as misaki maps it (needs the `espeak` feature and libespeak-ng).
    Espeak,
    /// The learnt reader ([`learnt::LearntG2p`]: a small network trained on espeak-ng's readings of the
    /// dictionaries' words), pure Rust, inside the rules' handling of a token: runs of letters that are not a
    /// dictionary word, an inflection, a compound of known words or a short acronym are its; the rules keep
    /// digits, symbols, letters outside its alphabet and very long words.
    Learnt,
    /// Warble's own letter-to-sound rules (pure Rust).
    Rules,
}

/// English G2P matching misaki (`british = false`: en-us, `true`: en-gb).
pub struct EnglishG2p {
    british: bool,
    words: Words,
    espeak: Option<espeak_oov::EspeakFallback>,
    /// Whether the learnt reader takes the words espeak-ng does not (or all of them, in builds without it).
    learnt: bool,
}

impl EnglishG2p {
    /// The dialect's G2P with the best fallback this build has: espeak-ng where the `espeak` feature is on, else
    /// the learnt reader. espeak starts on the first unknown word (not here: text without one never pays for
    /// it); a word it cannot read, or a machine where it does not start, gets the learnt reader.
    pub fn new(british: bool) -> EnglishG2p {
        let mut g2p = EnglishG2p::rules_only(british);
        g2p.learnt = true;
        if cfg!(feature = "espeak") {
            g2p.espeak = Some(espeak_oov::EspeakFallback::new(british));
        }
        g2p
    }

    /// The dialect's G2P with a chosen fallback; [`Fallback::Espeak`] errors when this build or machine has no
    /// espeak-ng.
    pub fn with_fallback(british: bool, fallback: Fallback) -> Result<EnglishG2p, G2pError> {
        let mut g2p = EnglishG2p::rules_only(british);
        match fallback {
            Fallback::Espeak => {
                let language = if british { Language::EnGb } else { Language::EnUs };
                if !cfg!(feature = "espeak") {
                    return Err(G2pError::FeatureMissing { language, feature: "espeak" });
                }
                if !crate::espeak::espeak_available() {
                    return Err(G2pError::Backend(
                        "espeak-ng failed to initialise (is espeak-ng-data installed? set ESPEAK_DATA_PATH)".into(),
                    ));
                }
                g2p.espeak = Some(espeak_oov::EspeakFallback::new(british));
                g2p.learnt = true;
            }
            Fallback::Learnt => g2p.learnt = true,
            Fallback::Rules => {}
        }
        Ok(g2p)
    }

    fn rules_only(british: bool) -> EnglishG2p {
        EnglishG2p { british, words: Words::new(british), espeak: None, learnt: false }
    }

    /// Which fallback reads unknown words.
    pub fn fallback_kind(&self) -> Fallback {
        match (&self.espeak, self.learnt) {
            (Some(_), _) => Fallback::Espeak,
            (None, true) => Fallback::Learnt,
            (None, false) => Fallback::Rules,
        }
    }

    /// How `reader` reads `word` as an unknown word (one token, as the fallback receives it), or `None` where it
    /// cannot (espeak-ng not set up in this G2P or failing; a letter outside the learnt reader's alphabet): for
    /// building and measuring fallbacks (`cargo xtask train-g2p` reads the dictionaries' words through espeak-ng
    /// with it).
    pub fn read_unknown_with(&self, word: &str, reader: Fallback) -> Option<String> {
        let ps = match reader {
            Fallback::Espeak => self.espeak.as_ref()?.read(word).ok()?,
            Fallback::Learnt => oov::guess(&self.words, word, self.british, Some(learnt::LearntG2p::embedded())),
            Fallback::Rules => oov::guess(&self.words, word, self.british, None),
        };
        ps.chars().any(|c| VOWELS.contains(c)).then_some(ps)
    }

    /// How Warble's letter-to-sound rules alone read `word` (no dictionary, no inflection or compound lookup): the
    /// baseline the learnt reader is measured against on held-out dictionary words (`cargo xtask train-g2p
    /// --evaluate`).
    pub fn letter_rules(word: &str, british: bool) -> String {
        oov::letters(word, british)
    }

    /// Number of dictionary keys loaded (gold and silver together).
    pub fn lexicon_entries(&self) -> usize {
        self.words.dict.entries()
    }

    /// Splits off `[text](feature)` links: returns (segments of text, feature for link segments).
    fn preprocess(text: &str) -> Vec<(String, Option<Feature>)> {
        let text = text.trim_start();
        let mut out = Vec::new();
        let mut rest = text;
        let mut plain = String::new();
        while let Some(open) = rest.find('[') {
            let after = &rest[open + 1..];
            let Some(close) = after.find(']') else { break };
            let label = &after[..close];
            let tail = &after[close + 1..];
            if label.is_empty() || !tail.starts_with('(') {
                plain.push_str(&rest[..open + 1]);
                rest = after;
                continue;
            }
            let Some(end) = tail.find(')') else {
                plain.push_str(&rest[..open + 1]);
                rest = after;
                continue;
            };
            let f = &tail[1..end];
            plain.push_str(&rest[..open]);
            if !plain.is_empty() {
                out.push((std::mem::take(&mut plain), None));
            }
            let body = f.strip_prefix(['-', '+']).unwrap_or(f);
            let feature = if words::is_digits(body) {
                f.parse::<i64>().ok().map(|v| Feature::Stress(v as f64))
            } else if f == "0.5" || f == "+0.5" {
                Some(Feature::Stress(0.5))
            } else if f == "-0.5" {
                Some(Feature::Stress(-0.5))
            } else if f.len() > 1 && f.starts_with('/') && f.ends_with('/') {
                Some(Feature::Phonemes(f[1..].trim_end_matches('/').to_string()))
            } else if f.len() > 1 && f.starts_with('#') && f.ends_with('#') {
                Some(Feature::Flags(f[1..].trim_end_matches('#').to_string()))
            } else {
                None
            };
            out.push((label.to_string(), feature));
            rest = &tail[end + 1..];
        }
        plain.push_str(rest);
        if !plain.is_empty() {
            out.push((plain, None));
        }
        out
    }

    fn tokenize(&self, text: &str) -> Vec<MTok> {
        let mut raw: Vec<RawToken> = Vec::new();
        let mut feats: Vec<Option<(Feature, bool)>> = Vec::new();
        for (seg, feat) in Self::preprocess(text) {
            if seg.starts_with(char::is_whitespace)
                && let Some(l) = raw.last_mut()
            {
                l.ws = true;
            }
            let toks = tokenize::tokenize(&seg);
            for (i, t) in toks.into_iter().enumerate() {
                feats.push(feat.clone().map(|f| (f, i == 0)));
                raw.push(t);
            }
        }
        let tags = tagger::tag(&raw, Some(self.words.dict));
        raw.into_iter()
            .zip(tags)
            .zip(feats)
            .map(|((r, tag), f)| {
                let mut t = MTok { text: r.text, tag, ws: r.ws, is_head: true, ..Default::default() };
                match f {
                    Some((Feature::Stress(s), _)) => t.stress = Some(s),
                    Some((Feature::Phonemes(p), first)) => {
                        t.is_head = first;
                        t.phonemes = Some(if first { p } else { String::new() });
                        t.rating = Some(5);
                    }
                    Some((Feature::Flags(fl), _)) => t.flags = fl,
                    None => {}
                }
                t
            })
            .collect()
    }

    fn fold_left(tokens: Vec<MTok>) -> Vec<MTok> {
        let mut out: Vec<MTok> = Vec::with_capacity(tokens.len());
        for t in tokens {
            if !t.is_head
                && let Some(prev) = out.pop()
            {
                out.push(merge(&[prev, t], Some("")));
            } else {
                out.push(t);
            }
        }
        out
    }

    fn retokenize(tokens: Vec<MTok>) -> Vec<Item> {
        let mut words: Vec<Item> = Vec::new();
        let mut currency: Option<char> = None;
        let n = tokens.len();
        let next_tags: Vec<&'static str> = tokens.iter().map(|t| t.tag).collect();
        for (i, token) in tokens.into_iter().enumerate() {
            let mut tks: Vec<MTok> = if token.alias.is_none() && token.phonemes.is_none() {
                tokenize::subtokenize(&token.text)
                    .into_iter()
                    .map(|s| MTok {
                        text: s,
                        tag: token.tag,
                        ws: false,
                        is_head: true,
                        flags: token.flags.clone(),
                        stress: token.stress,
                        ..Default::default()
                    })
                    .collect()
            } else {
                vec![token.clone()]
            };
            if tks.is_empty() {
                // Nothing misaki's sub-tokenizer keeps (e.g. a lone apostrophe): silent, but kept as a token.
                let mut t = token;
                t.phonemes = Some(String::new());
                words.push(Item::One(t));
                continue;
            }
            let m = tks.len();
            tks[m - 1].ws = token.ws;
            let to_alias: Vec<bool> = (0..m)
                .map(|j| {
                    j > 0
                        && j + 1 < m
                        && tks[j].text == "2"
                        && tks[j - 1].text.chars().next_back().is_some_and(char::is_alphabetic)
                        && tks[j + 1].text.chars().next().is_some_and(char::is_alphabetic)
                })
                .collect();
            for (j, mut tk) in tks.into_iter().enumerate() {
                if tk.alias.is_some() || tk.phonemes.is_some() {
                } else if tk.tag == "$"
                    && tk.text.chars().count() == 1
                    && CURRENCIES.iter().any(|c| tk.text.starts_with(c.0))
                {
                    currency = tk.text.chars().next();
                    tk.phonemes = Some(String::new());
                    tk.rating = Some(4);
                } else if tk.tag == ":" && (tk.text == "-" || tk.text == "–") {
                    tk.phonemes = Some("—".to_string());
                    tk.rating = Some(3);
                } else if PUNCT_TAGS.contains(&tk.tag) && !tk.text.chars().all(|c| c.is_ascii_alphabetic()) {
                    let ps = match tk.tag {
                        "-LRB-" => "(".to_string(),
                        "-RRB-" => ")".to_string(),
                        "``" => "“".to_string(),
                        "\"\"" | "''" => "”".to_string(),
                        _ => tk.text.chars().filter(|&c| PUNCTS.contains(c)).collect(),
                    };
                    tk.phonemes = Some(ps);
                    tk.rating = Some(4);
                } else if currency.is_some() {
                    if tk.tag != "CD" {
                        currency = None;
                    } else if j + 1 == m && (i + 1 == n || next_tags[i + 1] != "CD") {
                        tk.currency = currency;
                    }
                } else if to_alias[j] {
                    // "2" between letters reads "to".
                    tk.alias = Some("to");
                }
                if tk.alias.is_some() || tk.phonemes.is_some() {
                    words.push(Item::One(tk));
                } else if let Some(Item::Group(g)) = words.last_mut()
                    && g.last().is_some_and(|l| !l.ws)
                    && g.len() < MAX_GROUP
                {
                    tk.is_head = false;
                    g.push(tk);
                } else if tk.ws {
                    words.push(Item::One(tk));
                } else {
                    words.push(Item::Group(vec![tk]));
                }
            }
        }
        words
            .into_iter()
            .map(|w| match w {
                Item::Group(mut g) if g.len() == 1 => Item::One(g.pop().unwrap_or_default()),
                other => other,
            })
            .collect()
    }

    fn token_context(ctx: Ctx, ps: Option<&str>, tk: &MTok) -> Ctx {
        let mut vowel = ctx.future_vowel;
        if let Some(ps) = ps.filter(|p| !p.is_empty())
            && let Some(c) =
                ps.chars().find(|&c| VOWELS.contains(c) || CONSONANTS.contains(c) || NON_QUOTE_PUNCTS.contains(c))
        {
            vowel = if NON_QUOTE_PUNCTS.contains(c) { None } else { Some(VOWELS.contains(c)) };
        }
        let future_to = tk.text == "to" || tk.text == "To" || (tk.text == "TO" && (tk.tag == "TO" || tk.tag == "IN"));
        Ctx { future_vowel: vowel, future_to }
    }

    fn resolve_tokens(tokens: &mut [MTok]) {
        let mut text = String::new();
        for (i, t) in tokens.iter().enumerate() {
            text.push_str(&t.text);
            if i + 1 < tokens.len() && t.ws {
                text.push(' ');
            }
        }
        let mut kinds = [false; 3];
        for c in text.chars().filter(|&c| !SUBTOKEN_JUNKS.contains(c)) {
            kinds[if c.is_alphabetic() {
                0
            } else if c.is_ascii_digit() {
                1
            } else {
                2
            }] = true;
        }
        let prespace = text.contains(' ') || text.contains('/') || kinds.iter().filter(|&&k| k).count() > 1;
        let n = tokens.len();
        for (i, tk) in tokens.iter_mut().enumerate() {
            if tk.phonemes.is_none() {
                if i == n - 1 && tk.text.chars().count() == 1 && NON_QUOTE_PUNCTS.contains(tk.text.as_str()) {
                    tk.phonemes = Some(tk.text.clone());
                    tk.rating = Some(3);
                } else if tk.text.chars().all(|c| SUBTOKEN_JUNKS.contains(c)) {
                    tk.phonemes = Some(String::new());
                    tk.rating = Some(3);
                }
            } else if i > 0 {
                tk.prespace = prespace;
            }
        }
        if prespace {
            return;
        }
        let mut indices: Vec<(bool, usize, usize)> = tokens
            .iter()
            .enumerate()
            .filter_map(|(i, t)| {
                t.phonemes
                    .as_deref()
                    .filter(|p| !p.is_empty())
                    .map(|p| (p.contains(PRIMARY), words::stress_weight(p), i))
            })
            .collect();
        if indices.len() == 2 && tokens[indices[0].2].text.chars().count() == 1 {
            let i = indices[1].2;
            let p = tokens[i].phonemes.take().unwrap_or_default();
            tokens[i].phonemes = Some(words::apply_stress(&p, Some(-0.5)));
            return;
        }
        let primaries = indices.iter().filter(|x| x.0).count();
        if indices.len() < 2 || primaries <= indices.len().div_ceil(2) {
            return;
        }
        indices.sort();
        let half = indices.len() / 2;
        for &(_, _, i) in &indices[..half] {
            let p = tokens[i].phonemes.take().unwrap_or_default();
            tokens[i].phonemes = Some(words::apply_stress(&p, Some(-0.5)));
        }
    }

    fn lex(&self, tk: &MTok, ctx: Ctx) -> Option<(String, u8)> {
        let text = tk.alias.unwrap_or(&tk.text);
        self.words.word(text, tk.tag, tk.stress, tk.currency, tk.is_head, &tk.flags, ctx)
    }

    fn fallback(&self, text: &str) -> (String, u8) {
        // espeak as misaki uses it; a word espeak cannot read (a crash of the library, nothing it can say) goes
        // to the rules instead of becoming silence.
        if let Some(ps) = self.espeak.as_ref().and_then(|e| e.read(text).ok())
            && ps.chars().any(|c| VOWELS.contains(c))
        {
            return (ps, 2);
        }
        (oov::guess(&self.words, text, self.british, self.learnt.then(learnt::LearntG2p::embedded)), 1)
    }

    /// Rewrites the spans `normalize` finds (units, times, dates, Roman numerals, ...) as one token each that
    /// reads as the span's words (phonemized later, in the right-to-left pass).
    fn normalise(&self, mut tokens: Vec<MTok>) -> Vec<MTok> {
        let spans = {
            let view: Vec<normalize::Tok<'_>> =
                tokens.iter().map(|t| normalize::Tok { text: &t.text, tag: t.tag, ws: t.ws }).collect();
            normalize::find(&view, self.british)
        };
        if spans.is_empty() {
            return tokens;
        }
        let alnum_end = |t: &MTok| t.text.chars().next_back().is_some_and(char::is_alphanumeric);
        let mut out = Vec::with_capacity(tokens.len());
        let mut next = 0usize;
        for mut s in spans {
            // "Henry VIII's": the possessive joins the last word ("eighth's", voiced as misaki voices it).
            if tokens.get(s.end).is_some_and(|t| matches!(t.text.as_str(), "'s" | "’s"))
                && s.end > s.start
                && !tokens[s.end - 1].ws
                && s.reading.ends_with(|c: char| c.is_ascii_alphabetic())
            {
                s.end += 1;
                s.reading.push_str("'s");
            }
            let part = &tokens[s.start..s.end];
            // Tokens inside a `[text](feature)` link keep the feature.
            if s.start < next
                || part.iter().any(|t| t.phonemes.is_some() || !t.is_head || t.stress.is_some() || !t.flags.is_empty())
            {
                continue;
            }
            // "5km", "#1": the reading is a word of its own, so a space separates it from its neighbours.
            if s.start > 0 && alnum_end(&tokens[s.start - 1]) {
                tokens[s.start - 1].ws = true;
            }
            out.extend_from_slice(&tokens[next..s.start]);
            let mut m = merge(&tokens[s.start..s.end], None);
            if tokens.get(s.end).is_some_and(|t| t.text.starts_with(char::is_alphanumeric)) {
                m.ws = true;
            }
            m.phonemes = Some(String::new());
            m.reading = Some(s.reading);
            m.rating = Some(4);
            m.normalised = true;
            out.push(m);
            next = s.end;
        }
        out.extend_from_slice(&tokens[next..]);
        out
    }

    /// Phonemes of a normalised reading (words, punctuation and plain numbers, no further normalisation), with
    /// the context of the words that follow it.
    fn read(&self, reading: &str, ctx: Ctx) -> String {
        let mut out = String::new();
        for t in self.run_with(reading, false, ctx) {
            out.push_str(t.phonemes.as_deref().unwrap_or(""));
            if t.ws && !out.is_empty() && !out.ends_with(' ') {
                out.push(' ');
            }
        }
        out.trim_end().to_string()
    }

    /// The whole pipeline on one piece of text: (original text, phonemes, whitespace) per output token.
    fn run(&self, text: &str) -> Vec<MTok> {
        self.run_with(text, true, Ctx::default())
    }

    fn run_with(&self, text: &str, normalise: bool, ctx: Ctx) -> Vec<MTok> {
        let tokens = self.tokenize(text);
        let tokens = if normalise { self.normalise(tokens) } else { tokens };
        let tokens = Self::fold_left(tokens);
        let mut items = Self::retokenize(tokens);
        let mut ctx = ctx;
        for item in items.iter_mut().rev() {
            match item {
                Item::One(w) => {
                    if let Some(r) = w.reading.take() {
                        w.phonemes = Some(self.read(&r, ctx));
                    } else if w.phonemes.is_none() {
                        if let Some((ps, r)) = self.lex(w, ctx) {
                            w.phonemes = Some(ps);
                            w.rating = Some(r);
                        } else {
                            let (ps, r) = self.fallback(&w.text);
                            w.phonemes = Some(ps);
                            w.rating = Some(r);
                        }
                    }
                    ctx = Self::token_context(ctx, w.phonemes.as_deref(), w);
                }
                Item::Group(w) => {
                    let (mut left, mut right) = (0usize, w.len());
                    let mut should_fallback = false;
                    while left < right {
                        let found = if w[left..right].iter().any(|t| t.alias.is_some() || t.phonemes.is_some()) {
                            None
                        } else {
                            let tk = merge(&w[left..right], None);
                            self.lex(&tk, ctx).map(|f| (f, tk))
                        };
                        if let Some(((ps, rating), tk)) = found {
                            ctx = Self::token_context(ctx, Some(&ps), &tk);
                            w[left].phonemes = Some(ps);
                            w[left].rating = Some(rating);
                            for x in &mut w[left + 1..right] {
                                x.phonemes = Some(String::new());
                                x.rating = Some(rating);
                            }
                            right = left;
                            left = 0;
                        } else if left + 1 < right {
                            left += 1;
                        } else {
                            right -= 1;
                            let tk = &mut w[right];
                            if tk.phonemes.is_none() {
                                if tk.text.chars().all(|c| SUBTOKEN_JUNKS.contains(c)) {
                                    tk.phonemes = Some(String::new());
                                    tk.rating = Some(3);
                                } else {
                                    should_fallback = true;
                                    break;
                                }
                            }
                            left = 0;
                        }
                    }
                    if should_fallback {
                        let tk = merge(w, None);
                        let (ps, r) = self.fallback(&tk.text);
                        w[0].phonemes = Some(ps);
                        w[0].rating = Some(r);
                        for x in w.iter_mut().skip(1) {
                            x.phonemes = Some(String::new());
                            x.rating = Some(r);
                        }
                    } else {
                        Self::resolve_tokens(w);
                    }
                }
            }
        }
        items
            .into_iter()
            .map(|it| {
                let mut t = match it {
                    Item::One(t) => t,
                    Item::Group(g) => merge(&g, Some("")),
                };
                if let Some(p) = t.phonemes.as_mut() {
                    let fixed: String = p
                        .chars()
                        .map(|c| match c {
                            'ɾ' => 'T',
                            'ʔ' => 't',
                            c => c,
                        })
                        .filter(|&c| in_vocab(c))
                        .collect();
                    *p = fixed;
                }
                t
            })
            .collect()
    }
}

fn is_punct_phonemes(p: &str) -> bool {
    !p.is_empty() && p.chars().all(|c| PUNCTS.contains(c) || c == '(' || c == ')')
}

impl G2p for EnglishG2p {
    fn language(&self) -> Language {
        if self.british { Language::EnGb } else { Language::EnUs }
    }

    fn phonemize(&self, text: &str) -> Result<Vec<Token>, G2pError> {
        check_len(text)?;
        Ok(self.run(text).into_iter().map(to_token).collect())
    }
}

fn check_len(text: &str) -> Result<(), G2pError> {
    if text.len() > MAX_INPUT_BYTES {
        return Err(G2pError::Backend(format!(
            "input of {} bytes is over the {} byte limit for one call; split it into sentences or lines",
            text.len(),
            MAX_INPUT_BYTES
        )));
    }
    Ok(())
}

fn to_token(t: MTok) -> Token {
    let phonemes = t.phonemes.unwrap_or_default();
    Token {
        is_punctuation: is_punct_phonemes(&phonemes) && !t.text.chars().any(char::is_alphanumeric),
        graphemes: t.text,
        phonemes,
        whitespace: if t.ws { " ".to_string() } else { String::new() },
    }
}

/// One line of text to one line of phonemes as misaki prints it: tokens joined with the whitespace that
/// followed them, runs of spaces collapsed, no leading or trailing space.
pub fn phonemize_line(g2p: &dyn G2p, line: &str) -> Result<String, G2pError> {
    let tokens = g2p.phonemize(line)?;
    let mut out = String::new();
    for t in &tokens {
        out.push_str(&t.phonemes);
        if !t.whitespace.is_empty() && !out.ends_with(' ') && !out.is_empty() {
            out.push(' ');
        }
    }
    Ok(out.trim_end().to_string())
}

impl EnglishG2p {
    /// Like [`G2p::phonemize`], with each token marked when the normaliser rewrote it (units, times, dates, Roman
    /// numerals, phone numbers, ...: readings misaki does not have). For scoring against misaki.
    pub fn phonemize_marked(&self, text: &str) -> Result<Vec<(Token, bool)>, G2pError> {
        check_len(text)?;
        Ok(self.run(text).into_iter().map(|t| (t.normalised, to_token(t))).map(|(n, t)| (t, n)).collect())
    }

    /// Tokens and tags before lookup (for debugging the tokenizer and tagger).
    pub fn debug_tags(&self, text: &str) -> Vec<(String, &'static str)> {
        self.tokenize(text).into_iter().map(|t| (t.text, t.tag)).collect()
    }
}

/// Indexes a dialect's embedded lexicon from scratch (what the first `EnglishG2p::new` of a process pays; later
/// ones share the index). Returns the number of keys. For the load-time benchmark.
pub fn load_lexicon_fresh(british: bool) -> usize {
    lexicon::Dict::fresh(british).entries()
}
