//! Text normalisation (g2p/src/en/normalize.rs): each written form must read exactly as its spelled-out words
//! (so the phonemes are misaki's phonemes for those words), in en-us and en-gb where the reading differs, and
//! forms that are not units, times, dates or numerals must keep misaki's reading.

use std::sync::OnceLock;
use warble_g2p::en::in_vocab;
use warble_g2p::{EnglishG2p, phonemize_line};

fn us() -> &'static EnglishG2p {
    static G: OnceLock<EnglishG2p> = OnceLock::new();
    G.get_or_init(|| EnglishG2p::new(false))
}

fn gb() -> &'static EnglishG2p {
    static G: OnceLock<EnglishG2p> = OnceLock::new();
    G.get_or_init(|| EnglishG2p::new(true))
}

fn line(g: &EnglishG2p, s: &str) -> String {
    let out = phonemize_line(g, s).expect("phonemize");
    assert!(out.chars().all(in_vocab), "symbol outside the vocabulary in {out:?} for {s:?}");
    out
}

/// `written` reads as `spelled` in the given dialect.
fn same(g: &EnglishG2p, written: &str, spelled: &str) {
    let (a, b) = (line(g, written), line(g, spelled));
    assert_eq!(a, b, "{written:?} should read as {spelled:?}");
    assert_ne!(written, spelled);
}

fn both(written: &str, spelled: &str) {
    same(us(), written, spelled);
    same(gb(), written, spelled);
}

/// `text` is not normalised: no token of it is marked, so it reads as misaki reads it.
fn untouched(g: &EnglishG2p, text: &str) {
    let toks = g.phonemize_marked(text).expect("phonemize");
    let marked: Vec<&str> = toks.iter().filter(|(_, n)| *n).map(|(t, _)| t.graphemes.as_str()).collect();
    assert!(marked.is_empty(), "{text:?}: {marked:?} normalised");
}

#[test]
fn units_us() {
    let g = us();
    same(g, "It is 5 km away.", "It is 5 kilometers away.");
    same(g, "It is 5km away.", "It is 5 kilometers away.");
    same(g, "It is 5 km away.", "It is five kilometers away.");
    same(g, "It is 1 km away.", "It is one kilometer away.");
    same(g, "It is 1.5 km away.", "It is 1.5 kilometers away.");
    same(g, "Add 0.5 kg now.", "Add 0.5 kilograms now.");
    same(g, "It weighs 1 kg.", "It weighs one kilogram.");
    same(
        g,
        "Cut 20 cm and 3 mm and 2 µm and 7 nm.",
        "Cut 20 centimeters and 3 millimeters and 2 micrometers and 7 nanometers.",
    );
    same(g, "Add 10 g, 5 mg and 2.5 t.", "Add 10 grams, 5 milligrams and 2.5 tonnes.");
    same(g, "It weighs 3 lb or 4 lbs or 5 oz.", "It weighs three pounds or four pounds or five ounces.");
    same(g, "Run 3 mi, 6 ft, 2 yd and 7in today.", "Run three miles, six feet, two yards and seven inches today.");
    same(
        g,
        "Drive at 60 mph or 90 km/h or 80 kph or 3 m/s.",
        "Drive at sixty miles per hour or ninety kilometers per hour or eighty kilometers per hour or three meters per second.",
    );
    same(
        g,
        "It is 20 °C or 68°F or 45° or 300.5 K.",
        "It is twenty degrees Celsius or sixty eight degrees Fahrenheit or forty five degrees or 300.5 kelvins.",
    );
    same(
        g,
        "Pour 2 L and 1 l and 250 ml and 5 mL.",
        "Pour two liters and one liter and two hundred fifty milliliters and five milliliters.",
    );
    same(
        g,
        "It has 16 GB, 512 MB, 64 KB, 2 TB and 8 kB.",
        "It has sixteen gigabytes, five hundred twelve megabytes, sixty four kilobytes, two terabytes and eight kilobytes.",
    );
    same(
        g,
        "It runs at 3 GHz, 100 MHz, 44 kHz and 50 Hz.",
        "It runs at three gigahertz, one hundred megahertz, forty four kilohertz and fifty hertz.",
    );
    same(
        g,
        "It uses 2 kW, 60 W, 3 kWh, 12 V, 500 mA and 1.5 A.",
        "It uses two kilowatts, sixty watts, three kilowatt hours, twelve volts, five hundred milliamps and 1.5 amps.",
    );
    same(
        g,
        "It took 2 h, 3 hr, 4 hrs, 5 min, 6 s, 7 sec, 8 ms, 9 µs and 1 ns.",
        "It took two hours, three hours, four hours, five minutes, six seconds, seven seconds, eight milliseconds, nine microseconds and one nanosecond.",
    );
    same(g, "It rose 5%.", "It rose five percent.");
}

#[test]
fn units_gb() {
    let g = gb();
    same(g, "It is 5 km away.", "It is five kilometres away.");
    same(g, "It is 1 km away.", "It is one kilometre away.");
    same(g, "Pour 2 L and 1 l and 250 ml.", "Pour two litres and one litre and 250 millilitres.");
    same(g, "The pool is 50 m long.", "The pool is fifty metres long.");
    same(g, "It is 3 cm and 4 mm.", "It is three centimetres and four millimetres.");
    same(g, "Drive at 90 km/h.", "Drive at ninety kilometres per hour.");
}

#[test]
fn ambiguous_units_are_left_alone() {
    for g in [us(), gb()] {
        untouched(g, "We met at 5 in the morning.");
        untouched(g, "Room 5 A is on the left.");
        untouched(g, "He ran a 5K race.");
        untouched(g, "They sold 5 t shirts.");
        untouched(g, "It was popular in the 1990s and 5s.");
        untouched(g, "Give me 5 minutes.");
    }
}

#[test]
fn clock_times() {
    both("Meet at 3:30 today.", "Meet at three thirty today.");
    both("Meet at 3:30 pm today.", "Meet at three thirty p.m. today.");
    both("Meet at 3:30 pm today.", "Meet at three thirty PM today.");
    both("Meet at 3:30 p.m. today.", "Meet at three thirty p.m. today.");
    both("Meet at 3:30PM today.", "Meet at three thirty p.m. today.");
    both("Meet at 6:15 am today.", "Meet at six fifteen a.m. today.");
    both("Meet at 10:05.", "Meet at ten oh five.");
    both("Meet at 3:00 pm today.", "Meet at three p.m. today.");
    both("Meet at 12:00.", "Meet at twelve o'clock.");
    both("Meet at 15:45.", "Meet at fifteen forty five.");
    both("Meet at 15:00.", "Meet at fifteen hundred.");
    both("Meet at 3 pm today.", "Meet at three p.m. today.");
    both("It ended at 10:15:30.", "It ended at ten fifteen and thirty seconds.");
    both("A ratio of 3:2 is fine.", "A ratio of three to two is fine.");
    for g in [us(), gb()] {
        untouched(g, "The score was 3:2 at half time.");
        untouched(g, "It was 25:70 in the end.");
        // "am" after a pronoun is the verb.
        untouched(g, "I am here at 5.");
    }
}

/// 12/25: the 25 can only be the day, in either dialect.
fn both_dialect_order(written: &str) {
    same(us(), written, "It happened on December twenty fifth, 1999.");
    same(gb(), written, "It happened on the twenty fifth of December, 1999.");
}

#[test]
fn dates() {
    both("It is due January 5, 2024.", "It is due January fifth, 2024.");
    both("It is due January 5, 2024.", "It is due January fifth, twenty twenty four.");
    both("It is due Jan. 5 this year.", "It is due January fifth this year.");
    both("It is due Sept. 21st.", "It is due September 21st.");
    both("She arrived on 5 January 2024.", "She arrived on the fifth of January 2024.");
    both("She arrived on the 5 January.", "She arrived on the fifth of January.");
    same(us(), "Born 2024-01-05.", "Born January fifth, 2024.");
    same(gb(), "Born 2024-01-05.", "Born the fifth of January, 2024.");
    same(us(), "It happened on 1/5/2024.", "It happened on January fifth, 2024.");
    same(gb(), "It happened on 1/5/2024.", "It happened on the first of May, 2024.");
    // A part over 12 decides the order in both dialects.
    both_dialect_order("It happened on 12/25/1999.");
    same(gb(), "It happened on 25/12/1999.", "It happened on the twenty fifth of December, 1999.");
    same(us(), "It happened on 1/5/24.", "It happened on January fifth, 24.");
    same(us(), "It happened on 1/5/05.", "It happened on January fifth, oh 5.");
    for g in [us(), gb()] {
        // Other slashes keep misaki's reading (fractions: `quantities_a_listener_expects`).
        untouched(g, "The 24/7 service.");
        untouched(g, "It happened on 13/13/2024.");
        untouched(g, "You may 5 times.");
        untouched(g, "Born in May 1990.");
    }
}

#[test]
fn roman_numerals() {
    both("King Henry VIII ruled.", "King Henry the eighth ruled.");
    both("Louis XIV built it.", "Louis the fourteenth built it.");
    both("Queen Elizabeth II spoke.", "Queen Elizabeth the second spoke.");
    both("Henry V won.", "Henry the fifth won.");
    both("Pope John XXIII's letter.", "Pope John the twenty third's letter.");
    both("World War II ended.", "World War two ended.");
    both("World War I ended.", "World War one ended.");
    both("Read Chapter IV now.", "Read Chapter four now.");
    both("See Part IX and Volume III and Vol. II.", "See Part nine and Volume three and Volume two.");
    both("Read Book XII, Act V, Scene I.", "Read Book twelve, Act five, Scene one.");
    both("Article XI and Section VI apply.", "Article eleven and Section six apply.");
    both("Phase II and Type II and Class III.", "Phase two and Type two and Class three.");
    both("Super Bowl LVII was close.", "Super Bowl fifty seven was close.");
    both("Apollo XI landed.", "Apollo eleven landed.");
    for g in [us(), gb()] {
        untouched(g, "I think so.");
        untouched(g, "Then I left, and Tom and I ate.");
        untouched(g, "MIX it well.");
        untouched(g, "He lives in Washington DC now.");
        untouched(g, "Jones MD signed it.");
        untouched(g, "Burn a CD for me.");
        untouched(g, "VI is an editor.");
        untouched(g, "The LI group and DIV tag and LIV label.");
        untouched(g, "Take Vitamin C daily.");
        untouched(g, "It is a Class C fire.");
        untouched(g, "In this Part I explain it.");
        untouched(g, "Malcolm X spoke.");
        untouched(g, "The IV drip.");
    }
}

#[test]
fn quantities_a_listener_expects() {
    both("It was -5°C.", "It was minus five degrees Celsius.");
    both("It was -12.5°F.", "It was minus 12.5 degrees Fahrenheit.");
    both("It was −5 °C.", "It was minus five degrees Celsius.");
    both("It fell to -40° outside.", "It fell to minus forty degrees outside.");
    both("It costs $5M.", "It costs five million dollars.");
    both("It costs $2.5B.", "It costs $2.5 billion.");
    both("It raised €1.2bn in May.", "It raised €1.2 billion in May.");
    both("It cost $5m last year.", "It cost five million dollars last year.");
    both("A $300K salary.", "A $300 thousand salary.");
    both("It is 3x faster.", "It is three times faster.");
    both("Buy 2x4 lumber.", "Buy two by four lumber.");
    both("Add 1½ cups.", "Add one and a half cups.");
    both("Add 2¾ cups.", "Add two and three quarters cups.");
    both("Add 3/4 cup.", "Add three quarters cup.");
    both("Add 1/2 cup.", "Add one half cup.");
    both("Mix 1/2 cup of flour with 3/4 cup of milk.", "Mix one half cup of flour with three quarters cup of milk.");
    both("Mix 2 tbsp. of sugar.", "Mix two tablespoons of sugar.");
    both("Add 1 tsp salt.", "Add one teaspoon salt.");
    both("He is 6'2\" tall.", "He is six foot two tall.");
    both("He is 6' tall.", "He is six feet tall.");
    both("Open 9am-5pm daily.", "Open nine a.m. to five p.m. daily.");
    both("Open 9:30am-5:00pm daily.", "Open nine thirty a.m. to five p.m. daily.");
    both("Open Mon-Fri, 9am-5pm daily.", "Open Monday to Friday, nine a.m. to five p.m. daily.");
    both("Open Mon-Fri.", "Open Monday to Friday.");
    both("Closed Sat–Sun.", "Closed Saturday to Sunday.");
    both("I play in F#.", "I play in F sharp.");
    both("Use C# or Java.", "Use C sharp or Java.");
    for g in [us(), gb()] {
        untouched(g, "Read 0x1F aloud.");
        untouched(g, "We won 9-5 today.");
        untouched(g, "Meet on 3/4 at noon.");
        untouched(g, "She scored 9/10.");
        untouched(g, "The word '6' is short.");
    }
}

#[test]
fn phone_numbers_and_symbols() {
    both("Call 555-123-4567 now.", "Call five five five, one two three, four five six seven now.");
    both("Call 555-1234 now.", "Call five five five, one two three four now.");
    both("Call (555) 123-4567 now.", "Call five five five, one two three, four five six seven now.");
    both("Call 1-800-555-0199 now.", "Call one, eight oh oh, five five five, oh one nine nine now.");
    both("Call +44 20 1234 5678 now.", "Call plus four four, two oh, one two three four, five six seven eight now.");
    both("It was a #1 hit.", "It was a number one hit.");
    both("See No. 5 and Fig. 3 here.", "See number five and figure three here.");
    both("It measures 20×30.", "It measures twenty times thirty.");
    both("It measures 20 × 30.", "It measures twenty times thirty.");
    both("It fell to −5 degrees.", "It fell to minus five degrees.");
    both("It fell to -5 degrees.", "It fell to minus five degrees.");
    both("Read pages 12-20 today.", "Read pages twelve to twenty today.");
    both("Children aged 5–12 may attend.", "Children aged five to twelve may attend.");
    both("It lasted 1914-1918 in all.", "It lasted 1914 to 1918 in all.");
    both("Add 5-10 kg.", "Add five to ten kilograms.");
    for g in [us(), gb()] {
        untouched(g, "The score was 3-2.");
        untouched(g, "A 50-50 chance.");
        untouched(g, "COVID-19 cases rose.");
        untouched(g, "a = b & c + d @ e");
        untouched(g, "2 + 2 = 4");
    }
    assert_eq!(line(us(), "a = b"), line(us(), "a equals b"));
    assert_eq!(line(us(), "Salt & pepper"), line(us(), "Salt and pepper"));
    assert_eq!(line(us(), "2 + 2"), line(us(), "two plus two"));
}

#[test]
fn abbreviations_urls_and_emails() {
    both("St. Louis is big.", "Saint Louis is big.");
    both("He lives on Main St. today.", "He lives on Main Street today.");
    both(
        "Prof. Jones and Gen. Lee met Capt. Hook at Mt. Everest.",
        "Professor Jones and General Lee met Captain Hook at Mount Everest.",
    );
    both("Martin Luther King Jr. spoke.", "Martin Luther King Junior spoke.");
    both("Turn onto Fifth Ave. now.", "Turn onto Fifth Avenue now.");
    both("It costs approx. 5 dollars.", "It costs approximately 5 dollars.");
    both("Read Vol. 2 and Ch. IV.", "Read Volume 2 and Chapter four.");
    both("Visit https://www.example.com now.", "Visit w w w dot example dot com now.");
    both("Visit example.com/docs now.", "Visit example dot com slash docs now.");
    both("Write to info@warble-tts.com now.", "Write to info at warble dash tts dot com now.");
    // misaki's own readings stay: Dr., Mr., etc., e.g., acronyms.
    for g in [us(), gb()] {
        untouched(g, "Dr. Smith and Mr. Brown, etc.");
        untouched(g, "Use e.g. this or i.e. that.");
        untouched(g, "NASA and the FBI agreed.");
        untouched(g, "He read it.");
    }
    assert_eq!(line(us(), "Dr. Smith"), line(us(), "Doctor Smith"));
}

/// Misaki's number readings are kept where nothing is normalised.
#[test]
fn misaki_numbers_unchanged() {
    let g = us();
    assert_eq!(line(g, "It costs $5.50."), "ˌɪt kˈɔsts fˈIv dˈɑləɹz ænd fˈɪfti sˈɛnts.");
    assert_eq!(line(g, "She was born in 1999."), "ʃˌi wʌz bˈɔɹn ɪn nˌIntˈin nˈIndi nˈIn.");
    for t in ["It costs $5.50.", "He finished 21st.", "Unemployment rose to 4.5%.", "The 1960s."] {
        untouched(g, t);
    }
}

/// Normalisation never breaks the token contract: graphemes are kept (without whitespace), phonemes in the
/// vocabulary, no panics on odd shapes of these patterns.
#[test]
fn odd_shapes() {
    let inputs = [
        "99:99",
        "3:30:",
        ":30",
        "1:00:00:00",
        "0:00 am",
        "12/31/",
        "//2024",
        "2024-13-45",
        "2024-01-05-07",
        "+1",
        "+",
        "+44",
        "+44 20",
        "(555)",
        "(555) 123-",
        "555-",
        "-",
        "–",
        "5–",
        "5 km/",
        "°",
        "5°C°F",
        "VIII",
        "Chapter",
        "World War",
        "St.",
        "No.",
        "#",
        "#x",
        "×",
        "5×",
        "http://",
        "a@b",
        "Jan.",
        "Jan. 32",
        "5 January",
        "5 Jan.",
        "1,000,000 km",
        "1.2.3 km",
        "-1 km",
        "−5",
        "MMMM",
        "Henry MMMCMXCIX",
    ];
    for s in inputs {
        for g in [us(), gb()] {
            let toks = g.phonemize_marked(s).expect("phonemize");
            let joined: String =
                toks.iter().map(|(t, _)| t.graphemes.as_str()).collect::<String>().split_whitespace().collect();
            let input: String = s.split_whitespace().collect();
            assert_eq!(joined, input, "graphemes of {s:?}");
            line(g, s);
        }
    }
}
