//! A small rule-based part-of-speech tagger producing Penn Treebank tags like spaCy's `en_core_web_sm`, which
//! misaki consults. Only a few decisions change pronunciation (noun vs verb for heteronyms such as "record",
//! past vs present for "read", determiner "that", proper nouns for acronyms, punctuation classes), so the rules
//! aim at those: closed-class words from a table, open-class words from their neighbours and suffixes.

use super::tokenize::RawToken;

fn closed(w: &str) -> Option<&'static str> {
    Some(match w {
        "the" | "a" | "an" | "this" | "these" | "those" | "every" | "each" | "some" | "any" | "no" | "all" | "both"
        | "either" | "neither" | "another" => "DT",
        "i" | "you" | "he" | "she" | "it" | "we" | "they" | "me" | "him" | "us" | "them" | "myself" | "yourself"
        | "himself" | "herself" | "itself" | "ourselves" | "themselves" | "anyone" | "someone" | "everyone"
        | "nobody" | "somebody" | "everybody" | "anybody" | "nothing" | "something" | "everything" | "anything" => {
            "PRP"
        }
        "my" | "your" | "his" | "her" | "its" | "our" | "their" => "PRP$",
        "will" | "would" | "can" | "could" | "shall" | "should" | "may" | "might" | "must" | "'ll" | "wo" | "ca"
        | "’ll" => "MD",
        "to" => "TO",
        "of" | "in" | "on" | "at" | "for" | "with" | "by" | "from" | "into" | "onto" | "upon" | "about" | "over"
        | "under" | "between" | "through" | "during" | "before" | "after" | "since" | "until" | "than" | "as"
        | "if" | "because" | "while" | "although" | "though" | "without" | "within" | "against" | "among"
        | "across" | "behind" | "beyond" | "near" | "per" | "via" | "vs" | "vs." | "like" | "towards" | "toward"
        | "whether" | "unless" | "despite" | "except" | "around" | "inside" | "outside" => "IN",
        "and" | "or" | "but" | "nor" | "&" => "CC",
        "which" | "whatever" => "WDT",
        "who" | "whom" | "what" => "WP",
        "whose" => "WP$",
        "where" | "when" | "why" | "how" => "WRB",
        "not" | "n't" | "n’t" | "never" | "always" | "also" | "very" | "too" | "just" | "only" | "still"
        | "already" | "often" | "again" | "here" | "now" | "then" | "soon" | "quite" | "rather" | "really" | "ever"
        | "even" | "almost" | "so" | "yesterday" | "today" | "tomorrow" | "tonight" | "later" | "once" | "twice"
        | "together" | "away" | "back" | "up" | "down" | "out" | "off" | "exactly" | "nearly" | "perhaps" | "maybe"
        | "sometimes" | "usually" | "nt" => "RB",
        "is" | "has" | "does" | "'s" | "’s" => "VBZ",
        "are" | "am" | "have" | "do" | "'re" | "'ve" | "'m" | "’re" | "’ve" | "’m" => "VBP",
        "was" | "were" | "had" | "did" | "'d" | "’d" => "VBD",
        "be" => "VB",
        "been" => "VBN",
        "being" => "VBG",
        "there" => "EX",
        "zero" | "one" | "two" | "three" | "four" | "five" | "six" | "seven" | "eight" | "nine" | "ten" | "eleven"
        | "twelve" | "twenty" | "thirty" | "forty" | "fifty" | "hundred" | "thousand" | "million" | "billion"
        | "trillion" | "dozen" => "CD",
        "yes" | "oh" | "ok" | "okay" | "hey" | "wow" | "hmm" | "please" | "well" | "hello" | "goodbye" | "sorry"
        | "thanks" => "UH",
        _ => return None,
    })
}

fn punct_tag(t: &str, prev: Option<&RawToken>, next: Option<&RawToken>) -> Option<&'static str> {
    let opening = prev.is_none_or(|p| p.ws)
        && next.is_some_and(|n| !n.text.chars().all(|c| !c.is_alphanumeric()) || n.text.starts_with(['(', '[']));
    Some(match t {
        "." | "!" | "?" | "!!" | "?!" | "!?" => ".",
        "," => ",",
        ":" | ";" | "..." | "…" | "--" | "—" | "–" => ":",
        "-" => {
            let between_digits = prev.is_some_and(|p| !p.ws && p.text.ends_with(|c: char| c.is_ascii_digit()))
                && next.is_some_and(|n| n.text.starts_with(|c: char| c.is_ascii_digit()));
            let joined = prev.is_some_and(|p| !p.ws);
            if between_digits {
                "SYM"
            } else if joined {
                "HYPH"
            } else {
                ":"
            }
        }
        "(" | "[" | "{" => "-LRB-",
        ")" | "]" | "}" => "-RRB-",
        "“" | "‘" | "`" | "``" => "``",
        "”" | "’" | "''" => "''",
        "'" if prev
            .is_some_and(|p| !p.ws && p.text.ends_with(['s', 'S']) && p.text.chars().all(char::is_alphabetic))
            && !next.is_some_and(|n| matches!(n.text.as_str(), "." | "!" | "?")) =>
        {
            "POS"
        }
        "'" if !t.is_empty()
            && next.is_some_and(|n| n.text.starts_with(|c: char| c.is_ascii_digit()))
            && prev.is_none_or(|p| p.ws) =>
        {
            "NNS"
        }
        "\"" | "'" => {
            if opening {
                "``"
            } else {
                "''"
            }
        }
        "$" | "£" | "€" | "¥" => "$",
        "#" => "NN",
        "%" => "NN",
        "+" | "=" | "/" | "*" | "<" | ">" | "^" | "~" | "@" => "SYM",
        _ if !t.is_empty() && t.chars().all(|c| ".!?".contains(c)) => ".",
        _ => return None,
    })
}

const BASE_TRIGGERS: [&str; 14] =
    ["to", "will", "would", "can", "could", "should", "may", "might", "must", "do", "does", "did", "please", "let"];

fn prev_word_index(tags: &[&'static str], toks: &[RawToken], i: usize) -> Option<usize> {
    // The previous word, skipping adverbs such as "not", "never", "also".
    let mut j = i;
    while j > 0 {
        j -= 1;
        if tags[j] == "RB" {
            continue;
        }
        let _ = &toks[j];
        return Some(j);
    }
    None
}

/// Tags each token.
pub fn tag(toks: &[RawToken], dict: Option<&super::lexicon::Dict>) -> Vec<&'static str> {
    let mut tags: Vec<&'static str> = Vec::with_capacity(toks.len());
    for i in 0..toks.len() {
        let t = &toks[i];
        let prev = if i > 0 { Some(&toks[i - 1]) } else { None };
        let next = toks.get(i + 1);
        if t.url {
            tags.push("ADD");
            continue;
        }
        if let Some(p) = punct_tag(&t.text, prev, next) {
            tags.push(p);
            continue;
        }
        if t.text.starts_with('-') && t.text[1..].starts_with(|c: char| c.is_ascii_digit()) && prev.is_none_or(|p| p.ws)
        {
            // spaCy tags a negative number standing alone as punctuation (NFP), so misaki says nothing.
            tags.push("NFP");
            continue;
        }
        if t.text.chars().any(|c| c.is_ascii_digit()) {
            let caps = t.text.chars().filter(|c| c.is_uppercase()).count();
            tags.push(if caps >= 2 { "NNP" } else { "CD" });
            continue;
        }
        let lw = t.text.to_lowercase();
        let sent_start = i == 0 || matches!(tags[i - 1], "." | "``" | ":" | "-LRB-") || (i == 1 && tags[0] == "``");
        let pj = prev_word_index(&tags, toks, i);
        let ptag = pj.map(|j| tags[j]).unwrap_or("");
        let pword = pj.map(|j| toks[j].text.to_lowercase()).unwrap_or_default();
        let nword = next.map(|n| n.text.to_lowercase()).unwrap_or_default();
        let ntag_guess = closed(&nword)
            .unwrap_or(if next.is_some_and(|n| n.text.chars().any(|c| c.is_ascii_digit())) { "CD" } else { "" });
        if lw == "that" {
            let nt = ntag_guess;
            let tg = if next.is_none_or(|n| !n.text.chars().any(char::is_alphanumeric)) {
                "DT"
            } else if matches!(nt, "PRP" | "DT" | "PRP$" | "EX" | "CD") {
                "IN"
            } else if ptag.starts_with("NN") {
                "WDT"
            } else if ptag.starts_with("VB") && !matches!(nword.as_str(), "'s" | "is" | "was") {
                if nt.is_empty() && !next.is_some_and(|n| n.text.chars().next().is_some_and(char::is_uppercase)) {
                    "DT"
                } else {
                    "IN"
                }
            } else {
                "DT"
            };
            tags.push(tg);
            continue;
        }
        if lw == "'s" || lw == "’s" {
            let tg = if matches!(ptag, "PRP" | "EX" | "WP" | "WRB" | "DT") || pword == "let" || pword == "that" {
                if pword == "let" { "PRP" } else { "VBZ" }
            } else {
                "POS"
            };
            tags.push(tg);
            continue;
        }
        if (lw == "am" || lw == "pm") && ptag == "CD" {
            tags.push("NN");
            continue;
        }
        if lw == "a"
            && t.text == "A"
            && !sent_start
            && !matches!(nword.as_str(), "")
            && next.is_some_and(|n| n.text.chars().next().is_some_and(|c| !c.is_alphabetic()))
        {
            tags.push("NNP");
            continue;
        }
        if let Some(c) = closed(&lw) {
            // "I" stays PRP; other closed words keep their class even when capitalised.
            tags.push(c);
            continue;
        }
        let is_cap = t.text.chars().next().is_some_and(char::is_uppercase);
        let all_caps = t.text.chars().filter(|c| c.is_alphabetic()).count() >= 2 && t.text.to_uppercase() == t.text;
        if all_caps {
            let common = lw.chars().count() >= 4
                && dict.is_some_and(|d| d.in_gold(&lw) || lw.ends_with('s') && d.in_gold(&lw[..lw.len() - 1]));
            tags.push(if common { if lw.ends_with('s') { "NNS" } else { "NN" } } else { "NNP" });
            continue;
        }
        if is_cap && !sent_start {
            tags.push("NNP");
            continue;
        }
        // Open class.
        let ends_s = lw.ends_with('s') && !lw.ends_with("ss") && lw.len() > 3;
        let verb_form = |base: &'static str| -> &'static str {
            if ends_s {
                "VBZ"
            } else if lw.ends_with("ed") {
                "VBD"
            } else if lw.ends_with("ing") {
                "VBG"
            } else {
                base
            }
        };
        let noun_form = || if ends_s { "NNS" } else { "NN" };
        let next_open = next.is_some_and(|n| {
            let nl = n.text.to_lowercase();
            n.text.chars().all(char::is_alphabetic)
                && n.text.chars().next().is_some_and(char::is_lowercase)
                && closed(&nl).is_none()
                && nl != "that"
                && !nl.ends_with("ly")
        });
        let be_prev = matches!(
            pword.as_str(),
            "is" | "are" | "was" | "were" | "be" | "been" | "'s" | "'re" | "'m" | "am" | "’s" | "’re"
        );
        let let_obj =
            pj.is_some_and(|j| j > 0 && matches!(tags[j], "PRP") && toks[j - 1].text.eq_ignore_ascii_case("let"));
        let tg = if let_obj || matches!(ptag, "WP" | "WDT") && !pword.eq("what") {
            verb_form("VBP")
        } else if (be_prev
            && !lw.ends_with("ed")
            && !lw.ends_with("ing")
            && !lw.ends_with("en")
            && lw != "read"
            && lw != "used"
            && lw != "wound")
            || (matches!(ptag, "DT" | "PRP$" | "JJ") && next_open && !ends_s && !lw.ends_with("ly"))
        {
            "JJ"
        } else if BASE_TRIGGERS.contains(&pword.as_str()) || ptag == "MD" || ptag == "TO" || pword == "n't" {
            if lw.ends_with("ing") {
                "VBG"
            } else if lw.ends_with("ed") && ptag != "MD" && ptag != "TO" {
                "VBN"
            } else {
                "VB"
            }
        } else if matches!(
            pword.as_str(),
            "have"
                | "has"
                | "had"
                | "'ve"
                | "’ve"
                | "was"
                | "were"
                | "been"
                | "is"
                | "are"
                | "be"
                | "being"
                | "am"
                | "'re"
                | "’re"
                | "'m"
        ) && (lw.ends_with("ed") || lw == "read" || lw == "wound" || lw == "used" || lw.ends_with("en"))
        {
            "VBN"
        } else if matches!(ptag, "PRP" | "NNP" | "NNS" | "WDT" | "WP" | "EX")
            && !matches!(pword.as_str(), "me" | "him" | "us" | "them" | "it" | "you")
            || (ptag == "PRP" && matches!(pword.as_str(), "it" | "you"))
            || ptag == "NN" && ends_s && matches!(ntag_guess, "DT" | "PRP$" | "PRP" | "CD")
        {
            if ends_s {
                "VBZ"
            } else if lw.ends_with("ed") || lw == "read" || lw == "wound" || lw == "used" {
                "VBD"
            } else if matches!(pword.as_str(), "he" | "she" | "it") || ptag == "NNP" || ptag == "NN" {
                if lw.ends_with("ly") { "RB" } else { "VBD" }
            } else if lw.ends_with("ing") {
                "VBG"
            } else if lw.ends_with("ly") {
                "RB"
            } else {
                "VBP"
            }
        } else if matches!(ptag, "DT" | "PRP$" | "POS" | "JJ" | "CD" | "IN" | "WP$") {
            if lw.ends_with("ly") && !lw.ends_with("ply") {
                "RB"
            } else if (lw.ends_with("ed") || lw.ends_with("ing")) && ptag == "IN" {
                verb_form("VB")
            } else {
                noun_form()
            }
        } else if sent_start {
            if matches!(ntag_guess, "DT" | "PRP$" | "PRP" | "CD") || nword == "'s" {
                "VB"
            } else if ends_s {
                "NNS"
            } else {
                noun_form()
            }
        } else if ptag.starts_with("VB") {
            if lw.ends_with("ly") || (nword == "to" && !ptag.starts_with("VBZ")) { "RB" } else { noun_form() }
        } else if lw.ends_with("ly") {
            "RB"
        } else if lw.ends_with("ing") {
            "VBG"
        } else if lw.ends_with("ed") {
            "VBD"
        } else {
            noun_form()
        };
        tags.push(tg);
    }
    tags
}
