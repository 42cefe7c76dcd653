//! misaki's gold and silver dictionaries, embedded in the binary as sorted `key<TAB>gold<TAB>silver` lines
//! (see `scripts/pack_lexicon.py`) and searched in place: loading only indexes the line starts.

use std::sync::OnceLock;

static US: &str = include_str!("../../data/us.lex");
static GB: &str = include_str!("../../data/gb.lex");

/// Warble's own entries for words misaki's dictionaries lack and misaki reads wrongly (it sends them to espeak-ng
/// or spells them): the scale names num2words uses past octillion and the ordinals of the scale names, and names
/// and words a listener hears misread. Key, en-us, en-gb. They answer only where the dictionaries have no entry
/// (as gold entries); the corpus scorer counts them apart, as deliberate departures from misaki.
const ADDITIONS: [(&str, &str, &str); 14] = [
    ("nonillion", "nOnˈɪljən", "nQnˈɪljən"),
    ("decillion", "dəsˈɪljən", "dɪsˈɪljən"),
    ("quadrillionth", "kwɑdɹˈɪljənθ", "kwɒdɹˈɪljənθ"),
    ("quintillionth", "kwɪntˈɪljənθ", "kwɪntˈɪljənθ"),
    ("sextillionth", "sɛkstˈɪljənθ", "sɛkstˈɪljənθ"),
    ("septillionth", "sɛptˈɪljənθ", "sɛptˈɪljənθ"),
    ("octillionth", "ɑktˈɪljənθ", "ɒktˈɪljənθ"),
    ("nonillionth", "nOnˈɪljənθ", "nQnˈɪljənθ"),
    ("decillionth", "dəsˈɪljənθ", "dɪsˈɪljənθ"),
    // "read me", not R-E-A-D-M-E; the surname (the Greek letter, lowercase `xi`, keeps the dictionary's reading);
    // the Spanish name (hwah-KEEN, not JOH-kwin); the Irish surname.
    ("README", "ɹˈidmˌi", "ɹˈiːdmˌiː"),
    ("Xi", "ʃˈi", "ʃˈiː"),
    ("Joaquin", "wɑkˈin", "wakˈiːn"),
    ("Joaquín", "wɑkˈin", "wakˈiːn"),
    ("O'Brien", "ObɹˈIən", "QbɹˈIən"),
];

/// Whether `word` is one of Warble's own entries (see [`ADDITIONS`]).
pub fn is_addition(word: &str) -> bool {
    let w = word.replace(['‘', '’'], "'");
    ADDITIONS.iter().any(|a| a.0 == w)
}

/// One value of a dictionary: plain phonemes, per-tag variants (`{TAG=ps;...}`), or null.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry<'a> {
    Null,
    Plain(&'a str),
    Tagged(&'a str),
}

impl<'a> Entry<'a> {
    fn parse(field: &'a str) -> Option<Entry<'a>> {
        match field {
            "" => None,
            "~" => Some(Entry::Null),
            f if f.starts_with('{') => Some(Entry::Tagged(&f[1..f.len() - 1])),
            f => Some(Entry::Plain(f)),
        }
    }

    /// The variant for `tag` in a tagged entry (an inner `None` is a null variant).
    pub fn variant(self, tag: &str) -> Option<Option<&'a str>> {
        match self {
            Entry::Tagged(body) => body.split(';').find_map(|kv| {
                let (k, v) = kv.split_once('=')?;
                (k == tag).then_some(if v.is_empty() { None } else { Some(v) })
            }),
            _ => None,
        }
    }
}

/// The lines of one dialect's file, found through an open-addressing hash table built at load time.
pub struct Table {
    data: &'static str,
    /// Start of each line, end of its key (the first tab), end of the line.
    lines: Vec<(u32, u32, u32)>,
    /// Line index + 1 per slot (0: empty); the length is a power of two.
    slots: Vec<u32>,
}

const HASH_SEED: u64 = 0xcbf29ce484222325;
const HASH_MUL: u64 = 0x517cc1b727220a95;

/// FxHash-style hash, eight bytes at a time.
fn hash(key: &[u8]) -> u64 {
    let mut h = HASH_SEED;
    let mut chunks = key.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(HASH_MUL);
    }
    for &b in chunks.remainder() {
        h = (h.rotate_left(5) ^ b as u64).wrapping_mul(HASH_MUL);
    }
    h ^ (h >> 29) ^ key.len() as u64
}

impl Table {
    fn new(data: &'static str) -> Table {
        let bytes = data.as_bytes();
        let mut lines: Vec<(u32, u32, u32)> = Vec::with_capacity(bytes.len() / 24);
        // One pass over the bytes: line starts, first tab (end of key), line ends.
        let (mut start, mut tab) = (0usize, usize::MAX);
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'\t' {
                tab = tab.min(i);
            } else if b == b'\n' {
                lines.push((start as u32, tab.min(i) as u32, i as u32));
                start = i + 1;
                tab = usize::MAX;
            }
        }
        if start < bytes.len() {
            lines.push((start as u32, tab.min(bytes.len()) as u32, bytes.len() as u32));
        }
        let cap = (lines.len() * 2).next_power_of_two().max(16);
        let mask = cap - 1;
        let mut slots = vec![0u32; cap];
        for (i, &(s, e, _)) in lines.iter().enumerate() {
            let mut k = hash(&bytes[s as usize..e as usize]) as usize & mask;
            while slots[k] != 0 {
                k = (k + 1) & mask;
            }
            slots[k] = i as u32 + 1;
        }
        Table { data, lines, slots }
    }

    fn raw(&self, key: &str) -> Option<(&'static str, &'static str)> {
        let k = key.as_bytes();
        let bytes = self.data.as_bytes();
        let mask = self.slots.len() - 1;
        let mut h = hash(k) as usize & mask;
        loop {
            let v = self.slots[h];
            if v == 0 {
                return None;
            }
            let (s, e, end) = self.lines[v as usize - 1];
            if &bytes[s as usize..e as usize] == k {
                let line = self.data.get(e as usize + 1..end as usize).unwrap_or("");
                let (g, sv) = line.split_once('\t').unwrap_or((line, ""));
                return Some((g, sv));
            }
            h = (h + 1) & mask;
        }
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }
}

pub struct Dict {
    table: Table,
    british: bool,
}

fn is_title(w: &str) -> bool {
    let mut cs = w.chars();
    match cs.next() {
        Some(c) if c.is_uppercase() => cs.all(|c| !c.is_uppercase()),
        _ => false,
    }
}

fn capitalize(w: &str) -> String {
    let mut cs = w.chars();
    match cs.next() {
        Some(c) => c.to_uppercase().chain(cs.flat_map(|c| c.to_lowercase())).collect(),
        None => String::new(),
    }
}

impl Dict {
    pub fn get(british: bool) -> &'static Dict {
        static US_D: OnceLock<Dict> = OnceLock::new();
        static GB_D: OnceLock<Dict> = OnceLock::new();
        if british {
            GB_D.get_or_init(|| Dict { table: Table::new(GB), british: true })
        } else {
            US_D.get_or_init(|| Dict { table: Table::new(US), british: false })
        }
    }

    /// A new index, not the shared one.
    pub fn fresh(british: bool) -> Dict {
        Dict { table: Table::new(if british { GB } else { US }), british }
    }

    pub fn entries(&self) -> usize {
        self.table.len()
    }

    fn field(&self, key: &str, gold: bool) -> Option<Entry<'static>> {
        let Some((g, s)) = self.table.raw(key) else {
            let a = ADDITIONS.iter().find(|a| a.0 == key).filter(|_| gold)?;
            return Some(Entry::Plain(if self.british { a.2 } else { a.1 }));
        };
        Entry::parse(if gold { g } else { s })
    }

    /// misaki's `golds`/`silvers` after `grow_dictionary`: a lowercase key also answers its capitalised form,
    /// a capitalised key its lowercase form, unless the other form is a key of its own.
    fn grown(&self, word: &str, gold: bool) -> Option<Entry<'static>> {
        if let Some(e) = self.field(word, gold) {
            return Some(e);
        }
        if word.chars().count() < 2 {
            return None;
        }
        let lower = word.to_lowercase();
        if lower == word {
            let cap = capitalize(word);
            if cap != word {
                return self.field(&cap, gold);
            }
        } else if is_title(word) && capitalize(&lower) == word {
            return self.field(&lower, gold);
        }
        None
    }

    pub fn gold(&self, word: &str) -> Option<Entry<'static>> {
        self.grown(word, true)
    }

    pub fn silver(&self, word: &str) -> Option<Entry<'static>> {
        self.grown(word, false)
    }

    pub fn in_gold(&self, word: &str) -> bool {
        self.gold(word).is_some()
    }

    pub fn in_silver(&self, word: &str) -> bool {
        self.silver(word).is_some()
    }
}
