//! Japanese number reading: digits → hiragana, like the reference (`num2kana.Convert`, hiragana output):
//! 3 → さん, 300 → さんびゃく, 8000 → はっせん, 12345 → いちまんにせんさんびゃくよんじゅうご, 0 → ゼロ,
//! decimals with てん and digit by digit.

const ONES: [&str; 10] = ["", "いち", "に", "さん", "よん", "ご", "ろく", "なな", "はち", "きゅう"];
const DIGIT_NAMES: [&str; 10] = ["ゼロ", "いち", "に", "さん", "よん", "ご", "ろく", "なな", "はち", "きゅう"];

/// 1-9999.
fn below_10000(n: u64, out: &mut String, is_man_prefix: bool) {
    let th = n / 1000;
    let h = (n / 100) % 10;
    let t = (n / 10) % 10;
    let o = n % 10;
    match th {
        0 => {}
        1 => out.push_str(if is_man_prefix { "いっせん" } else { "せん" }),
        3 => out.push_str("さんぜん"),
        8 => out.push_str("はっせん"),
        d => {
            out.push_str(ONES[d as usize]);
            out.push_str("せん");
        }
    }
    match h {
        0 => {}
        1 => out.push_str("ひゃく"),
        3 => out.push_str("さんびゃく"),
        6 => out.push_str("ろっぴゃく"),
        8 => out.push_str("はっぴゃく"),
        d => {
            out.push_str(ONES[d as usize]);
            out.push_str("ひゃく");
        }
    }
    match t {
        0 => {}
        1 => out.push_str("じゅう"),
        d => {
            out.push_str(ONES[d as usize]);
            out.push_str("じゅう");
        }
    }
    out.push_str(ONES[o as usize]);
}

/// Reads a non-negative integer in hiragana.
pub fn integer(n: u64) -> String {
    if n == 0 {
        return "ゼロ".to_string();
    }
    let mut out = String::new();
    let units = [(1_0000_0000_0000u64, "ちょう"), (1_0000_0000, "おく"), (1_0000, "まん"), (1, "")];
    let mut rest = n;
    for (u, name) in units {
        let part = rest / u;
        rest %= u;
        if part == 0 {
            continue;
        }
        if part >= 1_0000 {
            // Only for numbers beyond 9999 兆; read the part recursively.
            out.push_str(&integer(part));
        } else {
            below_10000(part, &mut out, !name.is_empty());
        }
        if name == "ちょう" && out.ends_with("いち") {
            out.truncate(out.len() - "いち".len());
            out.push_str("いっ");
        }
        out.push_str(name);
    }
    out
}

/// Reads a number token: digits with an optional decimal part (`3.14` → さんてんいちよん).
pub fn read_number(int_part: &str, frac: Option<&str>) -> String {
    let mut out = if int_part.len() > 15 {
        int_part.chars().filter_map(|c| c.to_digit(10)).map(|d| DIGIT_NAMES[d as usize]).collect()
    } else {
        integer(int_part.parse().unwrap_or(0))
    };
    if let Some(f) = frac {
        out.push_str("てん");
        for d in f.chars().filter_map(|c| c.to_digit(10)) {
            out.push_str(DIGIT_NAMES[d as usize]);
        }
    }
    out
}

/// Replaces every ASCII number in `text` by its reading, with a space before it as the reference inserts.
pub fn normalize_numbers(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() * 3);
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let mut j = i;
        let mut int_part = String::new();
        while j < chars.len()
            && (chars[j].is_ascii_digit()
                || chars[j] == ',' && j + 1 < chars.len() && chars[j + 1].is_ascii_digit() && !int_part.is_empty())
        {
            if chars[j] != ',' {
                int_part.push(chars[j]);
            }
            j += 1;
        }
        let mut frac = None;
        if j + 1 < chars.len() && chars[j] == '.' && chars[j + 1].is_ascii_digit() {
            let mut k = j + 1;
            let mut f = String::new();
            while k < chars.len() && chars[k].is_ascii_digit() {
                f.push(chars[k]);
                k += 1;
            }
            frac = Some(f);
            j = k;
        }
        out.push(' ');
        out.push_str(&read_number(&int_part, frac.as_deref()));
        i = j;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings() {
        let cases = [
            (0, "ゼロ"),
            (1, "いち"),
            (10, "じゅう"),
            (11, "じゅういち"),
            (20, "にじゅう"),
            (100, "ひゃく"),
            (300, "さんびゃく"),
            (600, "ろっぴゃく"),
            (1000, "せん"),
            (3000, "さんぜん"),
            (8000, "はっせん"),
            (10000, "いちまん"),
            (12345, "いちまんにせんさんびゃくよんじゅうご"),
            (100000000, "いちおく"),
            (2024, "にせんにじゅうよん"),
            (10000000, "いっせんまん"),
        ];
        for (n, want) in cases {
            assert_eq!(integer(n), want, "{n}");
        }
        assert_eq!(read_number("3", Some("14")), "さんてんいちよん");
    }
}
