//! Chinese number reading: Arabic digits in Chinese text become Chinese numerals, as the reference's
//! `cn2an.transform(text, "an2cn")` does (integers with 万/亿, decimals with 点, `%` → 百分之, `a/b` → b分之a,
//! a leading minus → 负, years before 年 read digit by digit), plus two fixes: thousands separators (`1,000`) are
//! read as one number, and digit strings with a leading zero or more than 16 digits are read digit by digit.

const DIGITS: [char; 10] = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九'];

/// Reads a digit string digit by digit (二零二四).
pub fn digits_one_by_one(d: &str) -> String {
    d.chars().filter_map(|c| c.to_digit(10).map(|v| DIGITS[v as usize])).collect()
}

/// Reads a section below 10 000 (four digits at most) with 千 百 十 and inner zeros.
fn section(n: u64, out: &mut String, leading: bool) {
    let units = [(1000, '千'), (100, '百'), (10, '十')];
    let mut zero_pending = false;
    let mut started = false;
    for (u, name) in units {
        let d = (n / u) % 10;
        if d == 0 {
            if started || !leading {
                zero_pending = true;
            }
            continue;
        }
        if zero_pending && (started || !leading) {
            out.push('零');
        }
        zero_pending = false;
        // "十" alone for 10-19 at the very start of a number.
        if !(u == 10 && d == 1 && leading && !started) {
            out.push(DIGITS[d as usize]);
        }
        out.push(name);
        started = true;
    }
    let d = n % 10;
    if d != 0 {
        if zero_pending && (started || !leading) {
            out.push('零');
        }
        out.push(DIGITS[d as usize]);
    }
}

/// Reads an integer in Chinese (0 → 零, 123 → 一百二十三, 10010 → 一万零一十, 10^8 → 一亿).
pub fn integer(n: u64) -> String {
    if n == 0 {
        return "零".to_string();
    }
    let groups = [(1_0000_0000_0000u64, "万亿"), (1_0000_0000, "亿"), (1_0000, "万"), (1, "")];
    let mut out = String::new();
    let mut rest = n;
    let mut started = false;
    for (g, name) in groups {
        let part = rest / g;
        rest %= g;
        if part == 0 {
            continue;
        }
        if started && part < 1000 {
            out.push('零');
        }
        section(part, &mut out, !started);
        out.push_str(name);
        started = true;
    }
    // Avoid a doubled zero from the section logic.
    out.replace("零零", "零")
}

/// Reads a plain number string (digits with an optional decimal part).
fn number(int_part: &str, frac: Option<&str>) -> String {
    let mut out = if int_part.len() > 1 && int_part.starts_with('0') || int_part.len() > 16 {
        digits_one_by_one(int_part)
    } else {
        integer(int_part.parse().unwrap_or(0))
    };
    if let Some(f) = frac {
        out.push('点');
        out.push_str(&digits_one_by_one(f));
    }
    out
}

/// Replaces every number in `text` by its Chinese reading.
pub fn normalize_numbers(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() * 2);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if !c.is_ascii_digit() {
            out.push(c);
            i += 1;
            continue;
        }
        // Integer part, allowing thousands separators ("1,000,000").
        let mut j = i;
        let mut int_part = String::new();
        while j < chars.len() {
            if chars[j].is_ascii_digit() {
                int_part.push(chars[j]);
                j += 1;
            } else if chars[j] == ','
                && j + 3 < chars.len() + 1
                && chars[j + 1..].iter().take(3).filter(|c| c.is_ascii_digit()).count() == 3
                && chars.get(j + 4).is_none_or(|c| !c.is_ascii_digit())
                && !int_part.is_empty()
                && int_part.len() <= 3 + 4 * int_part.len()
            {
                j += 1;
            } else {
                break;
            }
        }
        // Decimal part.
        let mut frac: Option<String> = None;
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
        // A minus sign right before the number (not after a digit or letter) reads 负.
        if out.ends_with('-') {
            let before = out[..out.len() - 1].chars().next_back();
            if before.is_none_or(|b| !b.is_ascii_alphanumeric()) {
                out.pop();
                out.push('负');
            }
        }
        let next = chars.get(j).copied();
        if next == Some('%') || next == Some('％') {
            out.push_str("百分之");
            out.push_str(&number(&int_part, frac.as_deref()));
            i = j + 1;
            continue;
        }
        if next == Some('/') && frac.is_none() && chars.get(j + 1).is_some_and(|c| c.is_ascii_digit()) {
            let mut k = j + 1;
            let mut den = String::new();
            while k < chars.len() && chars[k].is_ascii_digit() {
                den.push(chars[k]);
                k += 1;
            }
            out.push_str(&number(&den, None));
            out.push_str("分之");
            out.push_str(&number(&int_part, None));
            i = k;
            continue;
        }
        if next == Some('年') && frac.is_none() && (2..=4).contains(&int_part.len()) {
            out.push_str(&digits_one_by_one(&int_part));
            i = j;
            continue;
        }
        out.push_str(&number(&int_part, frac.as_deref()));
        i = j;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers() {
        let cases = [
            (0, "零"),
            (7, "七"),
            (10, "十"),
            (15, "十五"),
            (20, "二十"),
            (110, "一百一十"),
            (123, "一百二十三"),
            (1001, "一千零一"),
            (1010, "一千零一十"),
            (10010, "一万零一十"),
            (20000, "二万"),
            (100000000, "一亿"),
            (100010000, "一亿零一万"),
            (13812345678, "一百三十八亿一千二百三十四万五千六百七十八"),
        ];
        for (n, want) in cases {
            assert_eq!(integer(n), want, "{n}");
        }
    }

    #[test]
    fn in_text() {
        assert_eq!(normalize_numbers("我有123个苹果"), "我有一百二十三个苹果");
        assert_eq!(normalize_numbers("2024年5月3日"), "二零二四年五月三日");
        assert_eq!(normalize_numbers("气温是-3.5度"), "气温是负三点五度");
        assert_eq!(normalize_numbers("增长了50%"), "增长了百分之五十");
        assert_eq!(normalize_numbers("3/4"), "四分之三");
        assert_eq!(normalize_numbers("1,000元"), "一千元");
        assert_eq!(normalize_numbers("0.5"), "零点五");
        assert_eq!(normalize_numbers("第1名"), "第一名");
    }
}
