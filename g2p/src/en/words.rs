//! Word-level rules on top of the dictionaries, following misaki's `Lexicon`: lookup with capitalisation and
//! per-tag variants, special cases (a, the, to, in, used, ...), the -s/-ed/-ing suffix rules with their voicing,
//! stress adjustment, spelled-out acronyms, and numbers.

use super::lexicon::{Dict, Entry};
use super::numbers;

pub const PRIMARY: char = 'ˈ';
pub const SECONDARY: char = 'ˌ';
pub const VOWELS: &str = "AIOQWYaiuæɑɒɔəɛɜɪʊʌᵻ";
pub const CONSONANTS: &str = "bdfhjklmnpstvwzðŋɡɹɾʃʒʤʧθ";
const US_TAUS: &str = "AIOWYiuæɑəɛɪɹʊʌ";
const DIPHTHONGS: &str = "AIOQWYʤʧ";
pub const CURRENCIES: [(char, &str, &str); 3] =
    [('$', "dollar", "cent"), ('£', "pound", "pence"), ('€', "euro", "cent")];
const ORDINALS: [&str; 4] = ["st", "nd", "rd", "th"];

pub fn is_vowel(c: char) -> bool {
    VOWELS.contains(c)
}

pub fn stress_weight(ps: &str) -> usize {
    ps.chars().map(|c| if DIPHTHONGS.contains(c) { 2 } else { 1 }).sum()
}

/// Context flowing right to left: whether the next word starts with a vowel (None: no next word, or punctuation),
/// and whether the next word is "to".
#[derive(Debug, Clone, Copy, Default)]
pub struct Ctx {
    pub future_vowel: Option<bool>,
    pub future_to: bool,
}

fn restress(ps: &str) -> String {
    // Moves each stress mark to just before the next vowel.
    let cs: Vec<char> = ps.chars().collect();
    let mut keyed: Vec<(f64, char)> = Vec::with_capacity(cs.len());
    for (i, &c) in cs.iter().enumerate() {
        if (c == PRIMARY || c == SECONDARY)
            && let Some(j) = (i..cs.len()).find(|&j| is_vowel(cs[j]))
        {
            keyed.push((j as f64 - 0.5, c));
            continue;
        }
        keyed.push((i as f64, c));
    }
    keyed.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
    keyed.into_iter().map(|(_, c)| c).collect()
}

/// misaki's `apply_stress`.
pub fn apply_stress(ps: &str, stress: Option<f64>) -> String {
    let Some(s) = stress else { return ps.to_string() };
    let has_p = ps.contains(PRIMARY);
    let has_s = ps.contains(SECONDARY);
    let no_vowel = !ps.chars().any(is_vowel);
    if s < -1.0 {
        ps.replace([PRIMARY, SECONDARY], "")
    } else if s == -1.0 || ((s == 0.0 || s == -0.5) && has_p) {
        ps.replace(SECONDARY, "").replace(PRIMARY, "ˌ")
    } else if (s == 0.0 || s == 0.5 || s == 1.0) && !has_p && !has_s {
        if no_vowel { ps.to_string() } else { restress(&format!("{SECONDARY}{ps}")) }
    } else if s >= 1.0 && !has_p && has_s {
        ps.replace(SECONDARY, "ˈ")
    } else if s > 1.0 && !has_p && !has_s {
        if no_vowel { ps.to_string() } else { restress(&format!("{PRIMARY}{ps}")) }
    } else {
        ps.to_string()
    }
}

pub fn parent_tag(tag: &str) -> &str {
    if tag.starts_with("VB") {
        "VERB"
    } else if tag.starts_with("NN") {
        "NOUN"
    } else if tag.starts_with("ADV") || tag.starts_with("RB") {
        "ADV"
    } else if tag.starts_with("ADJ") || tag.starts_with("JJ") {
        "ADJ"
    } else {
        tag
    }
}

fn is_alpha(w: &str) -> bool {
    !w.is_empty() && w.chars().all(char::is_alphabetic)
}

/// `word == word.upper()` in Python, without allocating.
fn is_upper(w: &str) -> bool {
    w.chars().all(|c| {
        let mut u = c.to_uppercase();
        u.next() == Some(c) && u.next().is_none()
    })
}

/// `word == word.lower()` in Python, without allocating.
fn is_lower(w: &str) -> bool {
    w.chars().all(|c| {
        let mut l = c.to_lowercase();
        l.next() == Some(c) && l.next().is_none()
    })
}

pub fn is_digits(w: &str) -> bool {
    !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit())
}

pub struct Words {
    pub dict: &'static Dict,
    pub british: bool,
}

pub type Found = Option<(String, u8)>;

impl Words {
    pub fn new(british: bool) -> Words {
        Words { dict: Dict::get(british), british }
    }

    fn gold_plain(&self, w: &str) -> String {
        match self.dict.gold(w) {
            Some(Entry::Plain(p)) => p.to_string(),
            Some(e @ Entry::Tagged(_)) => e.variant("DEFAULT").flatten().unwrap_or("").to_string(),
            _ => String::new(),
        }
    }

    pub fn get_nnp(&self, word: &str) -> Found {
        let mut ps = String::new();
        for c in word.chars().filter(|c| c.is_alphabetic()) {
            let up: String = c.to_uppercase().collect();
            match self.dict.gold(&up) {
                Some(Entry::Plain(p)) => ps.push_str(p),
                _ => return None,
            }
        }
        let ps = apply_stress(&ps, Some(0.0));
        // The last secondary stress becomes primary.
        let out = match ps.rfind(SECONDARY) {
            Some(i) => format!("{}{}{}", &ps[..i], PRIMARY, &ps[i + SECONDARY.len_utf8()..]),
            None => ps,
        };
        Some((out, 3))
    }

    fn special_case(&self, word: &str, tag: &str, stress: Option<f64>, ctx: Ctx) -> Found {
        let add = match word {
            "." => Some("dot"),
            "/" => Some("slash"),
            _ => None,
        };
        if tag == "ADD"
            && let Some(a) = add
        {
            return self.lookup(a, None, Some(-0.5), Some(ctx));
        }
        let sym = match word {
            "%" => Some("percent"),
            "&" => Some("and"),
            "+" => Some("plus"),
            "@" => Some("at"),
            _ => None,
        };
        if let Some(s) = sym {
            return self.lookup(s, None, None, Some(ctx));
        }
        let inner = word.trim_matches('.');
        if inner.contains('.') {
            let letters: String = word.chars().filter(|&c| c != '.').collect();
            if is_alpha(&letters) && word.split('.').map(|p| p.chars().count()).max().unwrap_or(0) < 3 {
                return self.get_nnp(word);
            }
        }
        match word {
            "a" | "A" => return Some((if tag == "DT" { "ɐ" } else { "ˈA" }.to_string(), 4)),
            "am" | "Am" | "AM" => {
                if tag.starts_with("NN") {
                    return self.get_nnp(word);
                } else if ctx.future_vowel.is_none() || word != "am" || stress.is_some_and(|s| s > 0.0) {
                    return Some((self.gold_plain("am"), 4));
                }
                return Some(("ɐm".to_string(), 4));
            }
            "an" | "An" | "AN" => {
                if word == "AN" && tag.starts_with("NN") {
                    return self.get_nnp(word);
                }
                return Some(("ɐn".to_string(), 4));
            }
            "I" if tag == "PRP" => return Some(("ˌI".to_string(), 4)),
            "by" | "By" | "BY" if parent_tag(tag) == "ADV" => return Some(("bˈI".to_string(), 4)),
            _ => {}
        }
        if word == "to" || word == "To" || (word == "TO" && (tag == "TO" || tag == "IN")) {
            let ps = match ctx.future_vowel {
                None => self.gold_plain("to"),
                Some(false) => "tə".to_string(),
                Some(true) => "tʊ".to_string(),
            };
            return Some((ps, 4));
        }
        if word == "in" || word == "In" || (word == "IN" && tag != "NNP") {
            let s = if ctx.future_vowel.is_none() || tag != "IN" { "ˈ" } else { "" };
            return Some((format!("{s}ɪn"), 4));
        }
        if word == "the" || word == "The" || (word == "THE" && tag == "DT") {
            return Some((if ctx.future_vowel == Some(true) { "ði" } else { "ðə" }.to_string(), 4));
        }
        if tag == "IN" && (word.eq_ignore_ascii_case("vs") || word.eq_ignore_ascii_case("vs.")) {
            return self.lookup("versus", None, None, Some(ctx));
        }
        if word == "used" || word == "Used" || word == "USED" {
            let e = self.dict.gold("used");
            let v = if (tag == "VBD" || tag == "JJ") && ctx.future_to { "VBD" } else { "DEFAULT" };
            if let Some(e) = e {
                return Some((e.variant(v).flatten().unwrap_or("").to_string(), 4));
            }
        }
        None
    }

    pub fn is_known(&self, word: &str) -> bool {
        if self.dict.in_gold(word) || matches!(word, "%" | "&" | "+" | "@") || self.dict.in_silver(word) {
            return true;
        }
        if !is_alpha(word) || !word.chars().all(|c| c.is_ascii_alphabetic() || c == '\'' || c == '-') {
            return false;
        }
        if word.chars().count() == 1 {
            return true;
        }
        if is_upper(word) && self.dict.in_gold(&word.to_lowercase()) {
            return true;
        }
        let rest: String = word.chars().skip(1).collect();
        is_upper(&rest)
    }

    pub fn lookup(&self, word: &str, tag: Option<&str>, stress: Option<f64>, ctx: Option<Ctx>) -> Found {
        let mut word = word.to_string();
        let mut is_nnp = false;
        if is_upper(&word) && !self.dict.in_gold(&word) {
            word = word.to_lowercase();
            is_nnp = tag == Some("NNP");
        }
        let mut rating = 4;
        let mut entry = self.dict.gold(&word);
        if entry.is_none() && !is_nnp {
            entry = self.dict.silver(&word);
            rating = 3;
        }
        let ps: Option<&str> = match entry {
            None | Some(Entry::Null) => None,
            Some(Entry::Plain(p)) => Some(p),
            Some(e @ Entry::Tagged(_)) => {
                let t: Option<&str> = if ctx.is_some_and(|c| c.future_vowel.is_none()) && e.variant("None").is_some() {
                    Some("None")
                } else {
                    match tag {
                        Some(tg) if e.variant(tg).is_some() => Some(tg),
                        Some(tg) => Some(parent_tag(tg)),
                        None => None,
                    }
                };
                match t.and_then(|t| e.variant(t)) {
                    Some(v) => v,
                    None => e.variant("DEFAULT").flatten(),
                }
            }
        };
        if (ps.is_none() || (is_nnp && !ps.is_some_and(|p| p.contains(PRIMARY))))
            && let Some(f) = self.get_nnp(&word)
        {
            return Some(f);
        }
        ps.map(|p| (apply_stress(p, stress), rating))
    }

    pub fn suffix_s(&self, stem: &str) -> Option<String> {
        let last = stem.chars().next_back()?;
        Some(if "ptkfθ".contains(last) {
            format!("{stem}s")
        } else if "szʃʒʧʤ".contains(last) {
            format!("{stem}{}z", if self.british { 'ɪ' } else { 'ᵻ' })
        } else {
            format!("{stem}z")
        })
    }

    fn stem_s(&self, word: &str, tag: Option<&str>, stress: Option<f64>, ctx: Option<Ctx>) -> Found {
        let n = word.chars().count();
        if n < 3 || !word.ends_with('s') {
            return None;
        }
        let stem = if !word.ends_with("ss") && self.is_known(&word[..word.len() - 1]) {
            word[..word.len() - 1].to_string()
        } else if (word.ends_with("'s") || (n > 4 && word.ends_with("es") && !word.ends_with("ies")))
            && self.is_known(&word[..word.len() - 2])
        {
            word[..word.len() - 2].to_string()
        } else if n > 4 && word.ends_with("ies") && self.is_known(&format!("{}y", &word[..word.len() - 3])) {
            format!("{}y", &word[..word.len() - 3])
        } else {
            return None;
        };
        let (ps, rating) = self.lookup(&stem, tag, stress, ctx)?;
        Some((self.suffix_s(&ps)?, rating))
    }

    pub fn suffix_ed(&self, stem: &str) -> Option<String> {
        let cs: Vec<char> = stem.chars().collect();
        let last = *cs.last()?;
        let b = self.british;
        Some(if "pkfθʃsʧ".contains(last) {
            format!("{stem}t")
        } else if last == 'd' {
            format!("{stem}{}d", if b { 'ɪ' } else { 'ᵻ' })
        } else if last != 't' {
            format!("{stem}d")
        } else if b || cs.len() < 2 {
            format!("{stem}ɪd")
        } else if US_TAUS.contains(cs[cs.len() - 2]) {
            format!("{}ɾᵻd", &stem[..stem.len() - 1])
        } else {
            format!("{stem}ᵻd")
        })
    }

    fn stem_ed(&self, word: &str, tag: Option<&str>, stress: Option<f64>, ctx: Option<Ctx>) -> Found {
        let n = word.chars().count();
        if n < 4 || !word.ends_with('d') {
            return None;
        }
        let stem = if !word.ends_with("dd") && self.is_known(&word[..word.len() - 1]) {
            &word[..word.len() - 1]
        } else if n > 4 && word.ends_with("ed") && !word.ends_with("eed") && self.is_known(&word[..word.len() - 2]) {
            &word[..word.len() - 2]
        } else {
            return None;
        };
        let (ps, rating) = self.lookup(stem, tag, stress, ctx)?;
        Some((self.suffix_ed(&ps)?, rating))
    }

    pub fn suffix_ing(&self, stem: &str) -> Option<String> {
        let cs: Vec<char> = stem.chars().collect();
        let last = *cs.last()?;
        if self.british {
            if last == 'ə' || last == 'ː' {
                return None;
            }
        } else if cs.len() > 1 && last == 't' && US_TAUS.contains(cs[cs.len() - 2]) {
            return Some(format!("{}ɾɪŋ", &stem[..stem.len() - 1]));
        }
        Some(format!("{stem}ɪŋ"))
    }

    fn stem_ing(&self, word: &str, tag: Option<&str>, stress: Option<f64>, ctx: Option<Ctx>) -> Found {
        let n = word.chars().count();
        if n < 5 || !word.ends_with("ing") {
            return None;
        }
        let base = &word[..word.len() - 3];
        let stem = if n > 5 && self.is_known(base) {
            base.to_string()
        } else if self.is_known(&format!("{base}e")) {
            format!("{base}e")
        } else if n > 5 && doubled_ing(word) && self.is_known(&word[..word.len() - 4]) {
            word[..word.len() - 4].to_string()
        } else {
            return None;
        };
        let (ps, rating) = self.lookup(&stem, tag, stress, ctx)?;
        Some((self.suffix_ing(&ps)?, rating))
    }

    pub fn get_word(&self, word: &str, tag: &str, stress: Option<f64>, ctx: Ctx) -> Found {
        if let Some(f) = self.special_case(word, tag, stress, ctx) {
            return Some(f);
        }
        let mut word: std::borrow::Cow<'_, str> = std::borrow::Cow::Borrowed(word);
        if !is_lower(&word) && word.chars().count() > 1 {
            let wl = word.to_lowercase();
            let stripped_alpha =
                word.chars().any(|c| c != '\'') && word.chars().all(|c| c == '\'' || c.is_alphabetic());
            let rest_lower = is_lower(&word[word.chars().next().map_or(0, char::len_utf8)..]);
            if stripped_alpha
                && (tag != "NNP" || word.chars().count() > 7)
                && !self.dict.in_gold(&word)
                && !self.dict.in_silver(&word)
                && (is_upper(&word) || rest_lower)
                && (self.dict.in_gold(&wl)
                    || self.dict.in_silver(&wl)
                    || self.stem_s(&wl, Some(tag), stress, Some(ctx)).is_some()
                    || self.stem_ed(&wl, Some(tag), stress, Some(ctx)).is_some()
                    || self.stem_ing(&wl, Some(tag), stress, Some(ctx)).is_some())
            {
                word = std::borrow::Cow::Owned(wl);
            }
        }
        let t = Some(tag);
        if self.is_known(&word) {
            return self.lookup(&word, t, stress, Some(ctx));
        }
        if let Some(b) = word.strip_suffix("s'") {
            let w2 = format!("{b}'s");
            if self.is_known(&w2) {
                return self.lookup(&w2, t, stress, Some(ctx));
            }
        }
        if let Some(b) = word.strip_suffix('\'')
            && self.is_known(b)
        {
            return self.lookup(b, t, stress, Some(ctx));
        }
        if let Some(f) = self.stem_s(&word, t, stress, Some(ctx)) {
            return Some(f);
        }
        if let Some(f) = self.stem_ed(&word, t, stress, Some(ctx)) {
            return Some(f);
        }
        self.stem_ing(&word, t, Some(stress.unwrap_or(0.5)), Some(ctx))
    }

    pub fn is_number(word: &str, is_head: bool) -> bool {
        if !word.bytes().any(|b| b.is_ascii_digit()) {
            return false;
        }
        let mut w = word;
        for s in ["ing", "'d", "ed", "'s", "st", "nd", "rd", "th", "s"] {
            if let Some(b) = w.strip_suffix(s) {
                w = b;
                break;
            }
        }
        w.chars()
            .enumerate()
            .all(|(i, c)| c.is_ascii_digit() || c == ',' || c == '.' || (is_head && i == 0 && c == '-'))
    }

    fn extend_words(&self, words: &[&str], first: bool, flags: &str, out: &mut Vec<Found>) {
        for (i, w) in words.iter().enumerate() {
            if *w != "and" || flags.contains('&') {
                if first && i == 0 && words.len() > 1 && *w == "one" && flags.contains('a') {
                    out.push(Some(("ə".to_string(), 4)));
                } else {
                    out.push(self.lookup(w, None, if *w == "point" { Some(-2.0) } else { None }, None));
                }
            } else if *w == "and"
                && flags.contains('n')
                && let Some(Some((p, _))) = out.last_mut()
            {
                p.push_str("ən");
            }
        }
    }

    fn extend_num(&self, num: &str, first: bool, flags: &str, out: &mut Vec<Found>) {
        let words = numbers::cardinal_digits(num);
        self.extend_words(&words, first, flags, out);
    }

    pub fn get_number(&self, word: &str, currency: Option<char>, is_head: bool, flags: &str) -> Found {
        let suffix_start =
            word.char_indices().rev().take_while(|&(_, c)| c.is_ascii_lowercase() || c == '\'').last().map(|(i, _)| i);
        let (word, suffix) = match suffix_start {
            Some(i) => (&word[..i], Some(&word[i..])),
            None => (word, None),
        };
        let is_ord = suffix.is_some_and(|s| ORDINALS.contains(&s));
        let mut result: Vec<Found> = Vec::new();
        let mut word = word;
        if let Some(w) = word.strip_prefix('-') {
            result.push(self.lookup("minus", None, None, None));
            word = w;
        }
        let cur = currency.and_then(|c| CURRENCIES.iter().find(|x| x.0 == c));
        if is_digits(word) && is_ord {
            self.extend_words(&numbers::ordinal_digits(word), true, flags, &mut result);
        } else if result.is_empty() && word.len() == 4 && cur.is_none() && is_digits(word) {
            let n: u128 = word.parse().unwrap_or(0);
            self.extend_words(&numbers::year(n), true, flags, &mut result);
        } else if !is_head && !word.contains('.') {
            let num: String = word.chars().filter(|&c| c != ',').collect();
            if num.starts_with('0') || num.len() > 3 {
                for c in num.chars() {
                    self.extend_num(&c.to_string(), false, flags, &mut result);
                }
            } else if num.len() == 3 && !num.ends_with("00") {
                self.extend_num(&num[..1], true, flags, &mut result);
                if num.as_bytes()[1] == b'0' {
                    result.push(self.lookup("O", None, Some(-2.0), None));
                    self.extend_num(&num[2..], false, flags, &mut result);
                } else {
                    self.extend_num(&num[1..], false, flags, &mut result);
                }
            } else if !num.is_empty() {
                self.extend_num(&num, true, flags, &mut result);
            }
        } else if word.matches('.').count() > 1 || !is_head {
            let mut first = true;
            let cleaned: String = word.chars().filter(|&c| c != ',').collect();
            for num in cleaned.split('.') {
                if num.is_empty() {
                } else if num.starts_with('0') || (num.len() != 2 && num.chars().skip(1).any(|c| c != '0')) {
                    for c in num.chars() {
                        self.extend_num(&c.to_string(), false, flags, &mut result);
                    }
                } else {
                    self.extend_num(num, first, flags, &mut result);
                }
                first = false;
            }
        } else if let Some(&(_, unit, sub)) = cur.filter(|_| is_currency(word)) {
            let cleaned: String = word.chars().filter(|&c| c != ',').collect();
            let mut pairs: Vec<(u128, &str)> =
                cleaned.split('.').zip([unit, sub]).map(|(n, u)| (n.parse().unwrap_or(0), u)).collect();
            if pairs.len() > 1 {
                if pairs[1].0 == 0 {
                    pairs.truncate(1);
                } else if pairs[0].0 == 0 {
                    pairs.remove(0);
                }
            }
            for (i, (num, unit)) in pairs.iter().enumerate() {
                if i > 0 {
                    result.push(self.lookup("and", None, None, None));
                }
                self.extend_words(&numbers::cardinal(*num), i == 0, flags, &mut result);
                if *num != 1 && *unit != "pence" {
                    result.push(self.stem_s(&format!("{unit}s"), None, None, None));
                } else {
                    result.push(self.lookup(unit, None, None, None));
                }
            }
        } else {
            let words: Vec<&str> = if is_digits(word) {
                numbers::cardinal_digits(word)
            } else if !word.contains('.') {
                let n: String = word.chars().filter(|&c| c != ',').collect();
                if is_ord { numbers::ordinal_digits(&n) } else { numbers::cardinal_digits(&n) }
            } else {
                let w: String = word.chars().filter(|&c| c != ',').collect();
                if let Some(frac) = w.strip_prefix('.') {
                    let mut v = vec!["point"];
                    for c in frac.chars() {
                        v.extend(numbers::cardinal(c.to_digit(10).unwrap_or(0) as u128));
                    }
                    v
                } else {
                    let (ip, fp) = w.split_once('.').unwrap_or((&w, ""));
                    numbers::decimal(if ip.is_empty() { "0" } else { ip }, fp)
                }
            };
            self.extend_words(&words, true, flags, &mut result);
        }
        if result.is_empty() || result.iter().any(|r| r.is_none()) {
            let parts: Vec<(String, u8)> = result.into_iter().flatten().collect();
            if parts.is_empty() {
                return None;
            }
            return self.finish_number(parts, suffix);
        }
        let parts: Vec<(String, u8)> = result.into_iter().flatten().collect();
        self.finish_number(parts, suffix)
    }

    fn finish_number(&self, parts: Vec<(String, u8)>, suffix: Option<&str>) -> Found {
        let rating = parts.iter().map(|p| p.1).min().unwrap_or(4);
        let joined = parts.into_iter().map(|p| p.0).collect::<Vec<_>>().join(" ");
        let ps = match suffix {
            Some("s") | Some("'s") => self.suffix_s(&joined),
            Some("ed") | Some("'d") => self.suffix_ed(&joined),
            Some("ing") => self.suffix_ing(&joined),
            _ => Some(joined),
        }?;
        Some((ps, rating))
    }

    pub fn append_currency(&self, ps: String, currency: Option<char>) -> String {
        let Some(c) = currency else { return ps };
        let Some(&(_, unit, _)) = CURRENCIES.iter().find(|x| x.0 == c) else { return ps };
        match self.stem_s(&format!("{unit}s"), None, None, None) {
            Some((u, _)) => format!("{ps} {u}"),
            None => ps,
        }
    }

    /// misaki's `Lexicon.__call__` for one (possibly merged) token.
    #[allow(clippy::too_many_arguments)]
    pub fn word(
        &self,
        text: &str,
        tag: &str,
        tk_stress: Option<f64>,
        currency: Option<char>,
        is_head: bool,
        flags: &str,
        ctx: Ctx,
    ) -> Found {
        let word: String = text.replace(['‘', '’'], "'");
        let stress = if is_lower(&word) {
            None
        } else if is_upper(&word) {
            Some(2.0)
        } else {
            Some(0.5)
        };
        if let Some((ps, r)) = self.get_word(&word, tag, stress, ctx) {
            return Some((apply_stress(&self.append_currency(ps, currency), tk_stress), r));
        }
        if Words::is_number(&word, is_head) {
            let (ps, r) = self.get_number(&word, currency, is_head, flags)?;
            return Some((apply_stress(&ps, tk_stress), r));
        }
        None
    }
}

fn is_currency(word: &str) -> bool {
    if !word.contains('.') {
        return true;
    }
    if word.matches('.').count() > 1 {
        return false;
    }
    let cents = word.split('.').nth(1).unwrap_or("");
    cents.chars().count() < 3
}

fn doubled_ing(word: &str) -> bool {
    let b = word.as_bytes();
    if word.ends_with("cking") {
        return true;
    }
    if b.len() < 5 {
        return false;
    }
    let (x, y) = (b[b.len() - 5], b[b.len() - 4]);
    x == y && b"bcdgklmnprstvxz".contains(&x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stress_rules() {
        assert_eq!(apply_stress("ɹˈɛd", Some(-1.0)), "ɹˌɛd");
        assert_eq!(apply_stress("ʃi", Some(0.5)), "ʃˌi");
        assert_eq!(apply_stress("pYnt", Some(-2.0)), "pYnt");
    }

    #[test]
    fn suffixes() {
        let w = Words::new(false);
        assert_eq!(w.get_word("walked", "VBD", None, Ctx::default()).unwrap().0, "wˈɔkt");
    }
}
