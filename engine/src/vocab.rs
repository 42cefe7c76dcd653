//! Kokoro's phoneme vocabulary: one Unicode scalar value per symbol, ids 1..177, 0 reserved for the pads.

use std::collections::HashMap;

use crate::EngineError;

/// The model's `config.json` as published with Kokoro-82M v1.0, used when the weights come without one.
pub const KOKORO_V1_CONFIG: &str = include_str!("../data/kokoro-v1_0-config.json");

/// Longest phoneme string one model call takes (512 ALBERT positions minus the two pads).
pub const MAX_PHONEMES: usize = 510;

#[derive(Debug, Clone)]
pub struct Vocab {
    ids: HashMap<char, i64>,
}

/// A symbol the model does not know, and where it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownSymbol {
    pub symbol: char,
    /// Position in the phoneme string, counted in characters from 0.
    pub position: usize,
}

impl Vocab {
    /// Reads the `vocab` map of a Kokoro `config.json`.
    pub fn from_config_json(json: &str) -> Result<Self, EngineError> {
        let v: serde_json::Value = serde_json::from_str(json)
            .map_err(|e| EngineError::Config(format!("config.json is not valid JSON: {e}")))?;
        let map = v
            .get("vocab")
            .and_then(|m| m.as_object())
            .ok_or_else(|| EngineError::Config("config.json has no `vocab` object".into()))?;
        let mut ids = HashMap::new();
        for (sym, id) in map {
            let mut chars = sym.chars();
            let (Some(c), None) = (chars.next(), chars.next()) else {
                return Err(EngineError::Config(format!("vocab symbol {sym:?} is not a single character")));
            };
            let id = id
                .as_i64()
                .filter(|&i| (1..178).contains(&i))
                .ok_or_else(|| EngineError::Config(format!("vocab id of {sym:?} is not in 1..177")))?;
            ids.insert(c, id);
        }
        Ok(Self { ids })
    }

    pub fn kokoro_v1() -> Self {
        Self::from_config_json(KOKORO_V1_CONFIG).expect("the embedded config.json is valid")
    }

    pub fn id(&self, c: char) -> Option<i64> {
        self.ids.get(&c).copied()
    }

    pub fn contains(&self, c: char) -> bool {
        self.ids.contains_key(&c)
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// All symbols, sorted by id.
    pub fn symbols(&self) -> Vec<char> {
        let mut v: Vec<(i64, char)> = self.ids.iter().map(|(&c, &i)| (i, c)).collect();
        v.sort();
        v.into_iter().map(|(_, c)| c).collect()
    }

    /// Symbols of `phonemes` that the model does not know.
    pub fn unknown(&self, phonemes: &str) -> Vec<UnknownSymbol> {
        phonemes
            .chars()
            .enumerate()
            .filter(|(_, c)| !self.contains(*c))
            .map(|(position, symbol)| UnknownSymbol { symbol, position })
            .collect()
    }

    /// Ids of a phoneme string whose symbols are all known (check with [`Vocab::unknown`] first).
    pub fn encode(&self, phonemes: &str) -> Vec<i64> {
        phonemes.chars().filter_map(|c| self.id(c)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_vocab_has_kokoros_114_symbols() {
        let v = Vocab::kokoro_v1();
        assert_eq!(v.len(), 114);
        assert_eq!(v.id(';'), Some(1));
        assert_eq!(v.id(' '), Some(16));
        assert_eq!(v.id('a'), Some(43));
        assert_eq!(v.id('ˈ'), Some(156));
        assert_eq!(v.id('ᵻ'), Some(177));
        // ASCII g is not a symbol; IPA ɡ (U+0261) is.
        assert_eq!(v.id('g'), None);
        assert_eq!(v.id('ɡ'), Some(92));
    }

    #[test]
    fn unknown_symbols_are_reported_with_positions() {
        let v = Vocab::kokoro_v1();
        let u = v.unknown("hˈɛlo g1");
        assert_eq!(u, vec![UnknownSymbol { symbol: 'g', position: 6 }, UnknownSymbol { symbol: '1', position: 7 }]);
    }
}
