//! The words each Romance language reads for the symbols [`super::normalize`] rewrites: one table per language.

use crate::Language;

/// A unit or currency: its singular and plural, and whether it is feminine (for the article read for `1`).
#[derive(Clone, Copy, Debug)]
pub(super) struct Noun {
    pub one: &'static str,
    pub many: &'static str,
    pub feminine: bool,
}

const fn m(one: &'static str, many: &'static str) -> Noun {
    Noun { one, many, feminine: false }
}

const fn f(one: &'static str, many: &'static str) -> Noun {
    Noun { one, many, feminine: true }
}

/// What one language reads for the symbols around numbers.
pub(super) struct Words {
    /// `-5` → *menos 5*.
    pub minus: &'static str,
    /// `5-10`, `2-1` → *5 a 10*.
    pub to: &'static str,
    /// `3 x 4` → *3 por 4*.
    pub by: &'static str,
    /// `nº 5` → *número 5*.
    pub number: &'static str,
    /// `$5 millones` → *5 millones de dólares*.
    pub of: &'static str,
    /// `1` before a masculine and a feminine noun (*un metro*, *una hora*).
    pub one_m: &'static str,
    pub one_f: &'static str,
    /// Feminine readings of hours espeak would read masculine (`21` → *veintiuna*, pt `2` → *duas*).
    pub feminine_numbers: &'static [(&'static str, &'static str)],
    /// The plural is used from 2 up (French: *1,5 litre*), not for everything but 1.
    pub plural_from_two: bool,
    /// Degrees, and the scales after them, spelt so that espeak says them as speakers of the language do
    /// (Italian *Cèlsius* /ʧˈɛlsjus/, not the Latin /ʦelsjˈus/ espeak reads for *Celsius*).
    pub degree: Noun,
    pub celsius: &'static str,
    pub fahrenheit: &'static str,
    /// The word between whole units and the two-digit rest: `1,80 m` → *un metro ochenta* (es: nothing),
    /// *un metro e ottanta* (it: `e`); `3,50 €` → *tres euros con cincuenta*.
    pub metre_rest: &'static str,
    pub money_rest: &'static str,
    /// The hour, and the word before its minutes (`14h30` → *14 horas y 30*).
    pub hour: Noun,
    pub hour_minutes: &'static str,
    /// Italian reads `14h30` as *14 e 30* (no word for the hour when minutes follow).
    pub hour_with_minutes: bool,
    /// Day-month-year: the day 1 as written for the language (*1er*, *1º*), the words between day, month and
    /// year (*de*), and the months.
    pub first_day: &'static str,
    pub date_of: &'static str,
    pub months: [&'static str; 12],
    /// Words of magnitude that may follow an amount (*millones*).
    pub magnitudes: &'static [&'static str],
    /// Units after a number, by their symbol.
    pub units: &'static [(&'static str, Noun)],
    /// Currency symbols, written before or after the amount.
    pub currencies: &'static [(&'static str, Noun)],
}

const ES: Words = Words {
    minus: "menos",
    to: "a",
    by: "por",
    number: "número",
    of: "de",
    one_m: "un",
    one_f: "una",
    feminine_numbers: &[("21", "veintiuna")],
    plural_from_two: false,
    degree: m("grado", "grados"),
    celsius: "Celsius",
    fahrenheit: "Fahrenheit",
    metre_rest: "",
    money_rest: "con",
    hour: f("hora", "horas"),
    hour_minutes: "y",
    hour_with_minutes: true,
    first_day: "1",
    date_of: "de",
    months: [
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ],
    magnitudes: &["mil", "millón", "millones", "billón", "billones"],
    units: &[
        ("km/h", m("kilómetro por hora", "kilómetros por hora")),
        ("km²", m("kilómetro cuadrado", "kilómetros cuadrados")),
        ("m²", m("metro cuadrado", "metros cuadrados")),
        ("m³", m("metro cúbico", "metros cúbicos")),
        ("km", m("kilómetro", "kilómetros")),
        ("cm", m("centímetro", "centímetros")),
        ("mm", m("milímetro", "milímetros")),
        ("m", m("metro", "metros")),
        ("kg", m("kilogramo", "kilogramos")),
        ("mg", m("miligramo", "miligramos")),
        ("g", m("gramo", "gramos")),
        ("ml", m("mililitro", "mililitros")),
        ("l", m("litro", "litros")),
        ("min", m("minuto", "minutos")),
        ("h", f("hora", "horas")),
    ],
    currencies: &[
        ("US$", m("dólar", "dólares")),
        ("R$", m("real", "reales")),
        ("$", m("dólar", "dólares")),
        ("€", m("euro", "euros")),
        ("£", f("libra", "libras")),
    ],
};

const FR: Words = Words {
    minus: "moins",
    to: "à",
    by: "fois",
    number: "numéro",
    of: "de",
    one_m: "un",
    one_f: "une",
    feminine_numbers: &[("21", "vingt et une")],
    plural_from_two: true,
    degree: m("degré", "degrés"),
    celsius: "Celsius",
    fahrenheit: "Fahrenheit",
    metre_rest: "",
    money_rest: "",
    hour: f("heure", "heures"),
    hour_minutes: "",
    hour_with_minutes: true,
    first_day: "1er",
    date_of: "",
    months: [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ],
    magnitudes: &["mille", "million", "millions", "milliard", "milliards"],
    units: &[
        ("km/h", m("kilomètre heure", "kilomètres heure")),
        ("km²", m("kilomètre carré", "kilomètres carrés")),
        ("m²", m("mètre carré", "mètres carrés")),
        ("m³", m("mètre cube", "mètres cubes")),
        ("km", m("kilomètre", "kilomètres")),
        ("cm", m("centimètre", "centimètres")),
        ("mm", m("millimètre", "millimètres")),
        ("m", m("mètre", "mètres")),
        ("kg", m("kilogramme", "kilogrammes")),
        ("mg", m("milligramme", "milligrammes")),
        ("g", m("gramme", "grammes")),
        ("ml", m("millilitre", "millilitres")),
        ("l", m("litre", "litres")),
        ("min", f("minute", "minutes")),
        ("h", f("heure", "heures")),
    ],
    currencies: &[
        ("US$", m("dollar", "dollars")),
        ("R$", m("réal", "réais")),
        ("$", m("dollar", "dollars")),
        ("€", m("euro", "euros")),
        ("£", f("livre", "livres")),
    ],
};

const IT: Words = Words {
    minus: "meno",
    to: "a",
    by: "per",
    number: "numero",
    of: "di",
    one_m: "un",
    one_f: "una",
    feminine_numbers: &[],
    plural_from_two: false,
    degree: m("grado", "gradi"),
    celsius: "Cèlsius",
    fahrenheit: "Fahrenheit",
    metre_rest: "e",
    money_rest: "e",
    hour: f("ora", "ore"),
    hour_minutes: "e",
    hour_with_minutes: false,
    first_day: "1º",
    date_of: "",
    months: [
        "gennaio",
        "febbraio",
        "marzo",
        "aprile",
        "maggio",
        "giugno",
        "luglio",
        "agosto",
        "settembre",
        "ottobre",
        "novembre",
        "dicembre",
    ],
    magnitudes: &["mila", "milione", "milioni", "miliardo", "miliardi"],
    units: &[
        ("km/h", m("chilometro orario", "chilometri orari")),
        ("km²", m("chilometro quadrato", "chilometri quadrati")),
        ("m²", m("metro quadrato", "metri quadrati")),
        ("m³", m("metro cubo", "metri cubi")),
        ("km", m("chilometro", "chilometri")),
        ("cm", m("centimetro", "centimetri")),
        ("mm", m("millimetro", "millimetri")),
        ("m", m("metro", "metri")),
        ("kg", m("chilogrammo", "chilogrammi")),
        ("mg", m("milligrammo", "milligrammi")),
        ("g", m("grammo", "grammi")),
        ("ml", m("millilitro", "millilitri")),
        ("l", m("litro", "litri")),
        ("min", m("minuto", "minuti")),
        ("h", f("ora", "ore")),
    ],
    currencies: &[
        ("US$", m("dollaro", "dollari")),
        ("R$", m("real", "real")),
        ("$", m("dollaro", "dollari")),
        ("€", m("euro", "euro")),
        ("£", f("sterlina", "sterline")),
    ],
};

const PT: Words = Words {
    minus: "menos",
    to: "a",
    by: "por",
    number: "número",
    of: "de",
    one_m: "um",
    one_f: "uma",
    feminine_numbers: &[("2", "duas"), ("21", "vinte e uma"), ("22", "vinte e duas")],
    plural_from_two: false,
    degree: m("grau", "graus"),
    celsius: "Celsius",
    fahrenheit: "Fárenrait",
    metre_rest: "e",
    money_rest: "e",
    hour: f("hora", "horas"),
    hour_minutes: "e",
    hour_with_minutes: true,
    first_day: "1º",
    date_of: "de",
    months: [
        "janeiro",
        "fevereiro",
        "março",
        "abril",
        "maio",
        "junho",
        "julho",
        "agosto",
        "setembro",
        "outubro",
        "novembro",
        "dezembro",
    ],
    magnitudes: &["mil", "milhão", "milhões", "bilhão", "bilhões"],
    units: &[
        ("km/h", m("quilômetro por hora", "quilômetros por hora")),
        ("km²", m("quilômetro quadrado", "quilômetros quadrados")),
        ("m²", m("metro quadrado", "metros quadrados")),
        ("m³", m("metro cúbico", "metros cúbicos")),
        ("km", m("quilômetro", "quilômetros")),
        ("cm", m("centímetro", "centímetros")),
        ("mm", m("milímetro", "milímetros")),
        ("m", m("metro", "metros")),
        ("kg", m("quilo", "quilos")),
        ("mg", m("miligrama", "miligramas")),
        ("g", m("grama", "gramas")),
        ("ml", m("mililitro", "mililitros")),
        ("l", m("litro", "litros")),
        ("min", m("minuto", "minutos")),
        ("h", f("hora", "horas")),
    ],
    currencies: &[
        ("US$", m("dólar", "dólares")),
        ("R$", m("real", "reais")),
        ("$", m("dólar", "dólares")),
        ("€", m("euro", "euros")),
        ("£", f("libra", "libras")),
    ],
};

/// The table for `lang`, if it is one of the Romance languages read through espeak-ng.
pub(super) fn words(lang: Language) -> Option<&'static Words> {
    match lang {
        Language::Es => Some(&ES),
        Language::Fr => Some(&FR),
        Language::It => Some(&IT),
        Language::PtBr => Some(&PT),
        _ => None,
    }
}
