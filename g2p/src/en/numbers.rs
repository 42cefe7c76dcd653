//! Numbers read out as English words, the way Python's num2words (which misaki calls) reads them. Only the word
//! sequence matters (misaki splits num2words' output on non-letters), so these functions return words; the
//! connective "and" is kept so the caller can drop it as misaki does.

const ONES: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const TENS: [&str; 10] = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];
const SCALES: [&str; 12] = [
    "",
    "thousand",
    "million",
    "billion",
    "trillion",
    "quadrillion",
    "quintillion",
    "sextillion",
    "septillion",
    "octillion",
    "nonillion",
    "decillion",
];

fn below_thousand(n: u32, out: &mut Vec<&'static str>) {
    let (h, r) = (n / 100, n % 100);
    if h > 0 {
        out.push(ONES[h as usize]);
        out.push("hundred");
        if r > 0 {
            out.push("and");
        }
    }
    if r > 0 || h == 0 {
        if r < 20 {
            out.push(ONES[r as usize]);
        } else {
            out.push(TENS[(r / 10) as usize]);
            if r % 10 > 0 {
                out.push(ONES[(r % 10) as usize]);
            }
        }
    }
}

/// Cardinal words for `n` (num2words `to='cardinal'`), e.g. 1234 → one thousand two hundred and thirty four.
pub fn cardinal(n: u128) -> Vec<&'static str> {
    let mut out = Vec::new();
    if n == 0 {
        out.push("zero");
        return out;
    }
    let mut groups = Vec::new();
    let mut m = n;
    while m > 0 {
        groups.push((m % 1000) as u32);
        m /= 1000;
    }
    if groups.len() > SCALES.len() {
        // Beyond num2words' scale names: read digit by digit.
        for c in n.to_string().chars() {
            out.push(ONES[c.to_digit(10).unwrap_or(0) as usize]);
        }
        return out;
    }
    let last = groups.len() - 1;
    for (i, &g) in groups.iter().enumerate().rev() {
        if g == 0 {
            continue;
        }
        // num2words joins a final group below 100 with "and" ("one thousand and one").
        if i == 0 && i != last && g < 100 {
            out.push("and");
        }
        below_thousand(g, &mut out);
        if i > 0 {
            out.push(SCALES[i]);
        }
    }
    out
}

fn ordinal_word(w: &'static str) -> &'static str {
    match w {
        "one" => "first",
        "two" => "second",
        "three" => "third",
        "four" => "fourth",
        "five" => "fifth",
        "six" => "sixth",
        "seven" => "seventh",
        "eight" => "eighth",
        "nine" => "ninth",
        "ten" => "tenth",
        "eleven" => "eleventh",
        "twelve" => "twelfth",
        "thirteen" => "thirteenth",
        "fourteen" => "fourteenth",
        "fifteen" => "fifteenth",
        "sixteen" => "sixteenth",
        "seventeen" => "seventeenth",
        "eighteen" => "eighteenth",
        "nineteen" => "nineteenth",
        "twenty" => "twentieth",
        "thirty" => "thirtieth",
        "forty" => "fortieth",
        "fifty" => "fiftieth",
        "sixty" => "sixtieth",
        "seventy" => "seventieth",
        "eighty" => "eightieth",
        "ninety" => "ninetieth",
        "zero" => "zeroth",
        "hundred" => "hundredth",
        "thousand" => "thousandth",
        "million" => "millionth",
        "billion" => "billionth",
        "trillion" => "trillionth",
        "quadrillion" => "quadrillionth",
        "quintillion" => "quintillionth",
        "sextillion" => "sextillionth",
        "septillion" => "septillionth",
        "octillion" => "octillionth",
        "nonillion" => "nonillionth",
        "decillion" => "decillionth",
        other => other,
    }
}

/// Ordinal words (num2words `to='ordinal'`): the last word of the cardinal made ordinal.
pub fn ordinal(n: u128) -> Vec<&'static str> {
    let mut w = cardinal(n);
    if let Some(last) = w.last_mut() {
        *last = ordinal_word(last);
    }
    w
}

/// [`cardinal`] of a string of ASCII digits of any length. Past `u128` (39 digits and more; [`cardinal`] itself
/// reads past the last scale name digit by digit) the digits are read one by one too, never as "zero".
pub fn cardinal_digits(digits: &str) -> Vec<&'static str> {
    match digits.parse::<u128>() {
        Ok(n) => cardinal(n),
        Err(_) => digits.chars().filter_map(|c| c.to_digit(10)).map(|d| ONES[d as usize]).collect(),
    }
}

/// [`ordinal`] of a string of ASCII digits of any length (see [`cardinal_digits`]).
pub fn ordinal_digits(digits: &str) -> Vec<&'static str> {
    let mut w = cardinal_digits(digits);
    if let Some(last) = w.last_mut() {
        *last = ordinal_word(last);
    }
    w
}

/// Year words (num2words `to='year'`): 1999 → nineteen ninety nine, 1905 → nineteen oh five, 2005 → cardinal.
pub fn year(n: u128) -> Vec<&'static str> {
    let (high, low) = (n / 100, n % 100);
    if high == 0 || (high % 10 == 0 && low < 10) || high >= 100 {
        return cardinal(n);
    }
    let mut out = cardinal(high);
    if low == 0 {
        out.push("hundred");
    } else if low < 10 {
        out.push("oh");
        out.extend(cardinal(low));
    } else {
        out.extend(cardinal(low));
    }
    out
}

/// Words for a decimal written `int.frac` as num2words reads `float(text)`: the fraction digit by digit after
/// "point", trailing zeros dropped (Python's float repr), "12.0" read as "twelve".
pub fn decimal(int_part: &str, frac: &str) -> Vec<&'static str> {
    let mut out = cardinal_digits(int_part);
    let f = frac.trim_end_matches('0');
    if !f.is_empty() {
        out.push("point");
        for c in f.chars() {
            out.push(ONES[c.to_digit(10).unwrap_or(0) as usize]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn j(v: Vec<&str>) -> String {
        v.join(" ")
    }

    #[test]
    fn like_num2words() {
        assert_eq!(j(cardinal(1234)), "one thousand two hundred and thirty four");
        assert_eq!(j(cardinal(1001)), "one thousand and one");
        assert_eq!(j(cardinal(1100)), "one thousand one hundred");
        assert_eq!(j(ordinal(21)), "twenty first");
        assert_eq!(j(year(1905)), "nineteen oh five");
        assert_eq!(j(year(2005)), "two thousand and five");
        assert_eq!(j(year(1900)), "nineteen hundred");
        assert_eq!(j(year(999)), "nine ninety nine");
        assert_eq!(j(decimal("0", "001")), "zero point zero zero one");
        assert_eq!(j(decimal("12", "0")), "twelve");
    }

    #[test]
    fn numbers_past_u128_are_read_digit_by_digit_not_as_zero() {
        let forty = "1234567890".repeat(4);
        let words = cardinal_digits(&forty);
        assert_eq!(words.len(), 40);
        assert_eq!(&words[..3], ["one", "two", "three"]);
        assert_eq!(j(ordinal_digits(&forty)).rsplit(' ').next(), Some("zeroth"));
        assert_eq!(j(cardinal_digits("1234")), j(cardinal(1234)));
        assert_eq!(decimal(&forty, "5").len(), 42);
    }
}
