//! Which weight is stored in which precision: an ordered list of glob rules over the canonical keys.
//!
//! A policy is JSON: `{"rules": [{"pattern": "decoder.generator.resblocks.*.convs1.*.weight", "precision":
//! "int8"}, …]}` (a bare array of rules is accepted too). For each key of the model the **first** rule whose
//! pattern matches the whole key decides; a key no rule matches stays `f32`. Patterns are globs: `*` matches any
//! run of characters (dots included, so `bert.*.weight` reaches every depth), `?` exactly one character,
//! everything else itself. Precisions: `f32`, `bf16`, `int8` (symmetric, per row of axis 0), `int4` (symmetric,
//! blocks of 32 along a row, f16 scales).
//!
//! **What is never quantized.** Only a tensor with at least 2 dimensions and at least [`MIN_QUANTIZED_ELEMENTS`]
//! values is stored in a reduced precision; a smaller matrix that a quantizing rule matches (e.g.
//! `decoder.F0_conv.weight`, 3 values) quietly stays `f32`, since a scale would cost as much as it saves. A 1-D
//! tensor (a bias, a norm's gain or shift) whose first matching rule quantizes it is an **error**: write the
//! pattern so that it only reaches weights (end it in `.weight`), or put an `f32` rule for the vector first.
//! Embeddings, norms, the harmonic source and the output convolution are kept `f32` by the built-in policies'
//! explicit rules, not by a hidden exception: a custom policy can quantize an embedding if it says so.
//!
//! **Checked against the model.** [`Policy::resolve`] fails on a pattern that matches no key at all (a typo
//! would otherwise silently leave a layer in f32; the error suggests the nearest keys) and on a quantized
//! vector, as above. A rule that matches keys that earlier rules already decided is fine.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::QuantError;

/// Tensors with fewer values than this stay f32 whatever the policy says.
pub const MIN_QUANTIZED_ELEMENTS: usize = 1024;

/// How one tensor is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    F32,
    Bf16,
    Int8,
    Int4,
}

impl Precision {
    pub const ALL: [Precision; 4] = [Precision::F32, Precision::Bf16, Precision::Int8, Precision::Int4];

    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Bf16 => "bf16",
            Precision::Int8 => "int8",
            Precision::Int4 => "int4",
        }
    }

    /// True for every precision but f32.
    pub fn is_reduced(self) -> bool {
        self != Precision::F32
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Precision {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Precision::ALL.into_iter().find(|p| p.name() == s.to_ascii_lowercase()).ok_or(())
    }
}

/// The built-in policies, plus `Custom` for a policy read from a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Every conv/linear/LSTM weight matrix INT8 per output channel but ALBERT's attention (f32) (~90 MB).
    Int8,
    /// INT4 blocks for the big matrices of the text side and the decoder's encode/decode blocks, INT8 for the
    /// generator (residual stacks, upsampling, noise branch), the duration projection and ALBERT, ~58.5 MB.
    Int4Mixed,
    /// Every conv/linear/LSTM weight matrix bfloat16 (~163 MB).
    Bf16,
    /// A user's policy file.
    Custom,
}

impl Scheme {
    pub const BUILT_IN: [Scheme; 3] = [Scheme::Int8, Scheme::Int4Mixed, Scheme::Bf16];

    pub fn name(self) -> &'static str {
        match self {
            Scheme::Int8 => "int8",
            Scheme::Int4Mixed => "int4-mixed",
            Scheme::Bf16 => "bf16",
            Scheme::Custom => "custom",
        }
    }

    /// The built-in policy of this scheme (`None` for `Custom`).
    pub fn policy(self) -> Option<Policy> {
        let weights = |p: Precision| [("*.weight", p), ("*.weight_?h_l0*", p)];
        let rules: Vec<(&str, Precision)> = match self {
            // ALBERT's attention stays f32, its feed-forward layers and everything else go to INT8 (the
            // design's split): the six English golden cases' worst correlation with f32 rises from 0.9787 to
            // 0.9806 (c11) for 7 MB (`cargo xtask quant-report --cases en --policy …`).
            Scheme::Int8 => KEEP_F32
                .iter()
                .copied()
                .chain([("bert.*.attention.*.weight", Precision::F32)])
                .chain(weights(Precision::Int8))
                .collect(),
            Scheme::Bf16 => KEEP_F32.iter().copied().chain(weights(Precision::Bf16)).collect(),
            Scheme::Int4Mixed => KEEP_F32
                .iter()
                .copied()
                .chain([
                    // The vocoder's generator is the most sensitive part (and runs on the INT8 kernels).
                    ("decoder.generator.*.weight", Precision::Int8),
                    // The durations decide the timing of every phoneme: 25 600 values, not worth the risk.
                    ("predictor.duration_proj.*.weight", Precision::Int8),
                    // The big matrices.
                    ("decoder.encode.*.weight", Precision::Int4),
                    ("decoder.decode.*.weight", Precision::Int4),
                    ("predictor.F0.*.weight", Precision::Int4),
                    ("predictor.N.*.weight", Precision::Int4),
                    ("predictor.*.weight_?h_l0*", Precision::Int4),
                    ("text_encoder.*.weight", Precision::Int4),
                    ("text_encoder.*.weight_?h_l0*", Precision::Int4),
                    // ALBERT (`bert.*`) stays INT8 (the rules below): in INT4 alone it changes 15 % of the token
                    // durations (`cargo xtask quant-report`); INT8 keeps the policy at ≥ 95 % for +2.5 MB.
                    ("bert_encoder.weight", Precision::Int4),
                ])
                .chain(weights(Precision::Int8))
                .collect(),
            Scheme::Custom => return None,
        };
        Some(Policy {
            rules: rules.into_iter().map(|(p, precision)| Rule { pattern: p.to_string(), precision }).collect(),
        })
    }
}

/// Kept in f32 by every built-in policy (listed first, so they win): ALBERT's and the text encoder's
/// embeddings, norm gains and shifts, the harmonic source (`m_source`: a 9-value linear layer whose output
/// phase is sensitive), the noise convolutions that inject that source (tiny), the generator's output
/// convolution (its 22 output channels are the spectrogram and phase), and the depthwise upsampling pools
/// (3 values per row: a scale per row would cost more than it saves).
const KEEP_F32: &[(&str, Precision)] = &[
    ("*embeddings.*", Precision::F32),
    ("text_encoder.embedding.weight", Precision::F32),
    ("*LayerNorm.*", Precision::F32),
    ("*layer_norm.*", Precision::F32),
    ("text_encoder.cnn.*.gamma", Precision::F32),
    ("text_encoder.cnn.*.beta", Precision::F32),
    ("decoder.generator.m_source.*", Precision::F32),
    ("decoder.generator.noise_convs.*", Precision::F32),
    ("decoder.generator.conv_post.*", Precision::F32),
    ("*.pool.weight", Precision::F32),
];

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scheme {
    type Err = QuantError;
    fn from_str(s: &str) -> Result<Self, QuantError> {
        match s.to_ascii_lowercase().as_str() {
            "int8" => Ok(Scheme::Int8),
            "int4-mixed" | "int4_mixed" | "int4mixed" => Ok(Scheme::Int4Mixed),
            "bf16" => Ok(Scheme::Bf16),
            "custom" => Ok(Scheme::Custom),
            _ => Err(QuantError::UnknownScheme(s.to_string())),
        }
    }
}

/// One rule: the keys `pattern` matches get `precision` (unless an earlier rule matched them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    pub pattern: String,
    pub precision: Precision,
}

/// An ordered list of rules; the first match wins, unmatched keys stay f32.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Policy {
    pub rules: Vec<Rule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    pattern: String,
    precision: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    rules: Vec<RawRule>,
    /// Free text for the reader of the file; ignored.
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
}

impl Policy {
    /// Parses a policy; `source_name` (a file name, or "built-in int8") is used in error messages. Syntax and
    /// structure errors carry the line and column.
    pub fn from_json(text: &str, source_name: &str) -> Result<Self, QuantError> {
        let json_err = |e: serde_json::Error| QuantError::PolicyJson {
            source_name: source_name.to_string(),
            detail: format!("{e}"),
        };
        let raw = if text.trim_start().starts_with('[') {
            serde_json::from_str::<Vec<RawRule>>(text).map_err(json_err)?
        } else {
            serde_json::from_str::<RawPolicy>(text).map_err(json_err)?.rules
        };
        let mut rules = Vec::with_capacity(raw.len());
        for (i, r) in raw.into_iter().enumerate() {
            let rule = i + 1;
            if r.pattern.is_empty() {
                return Err(QuantError::EmptyPattern { source_name: source_name.to_string(), rule });
            }
            let precision = r.precision.parse().map_err(|()| QuantError::UnknownPrecision {
                source_name: source_name.to_string(),
                rule,
                pattern: r.pattern.clone(),
                precision: r.precision.clone(),
            })?;
            rules.push(Rule { pattern: r.pattern, precision });
        }
        Ok(Self { rules })
    }

    /// Reads a policy file.
    pub fn load(path: &Path) -> Result<Self, QuantError> {
        let text = std::fs::read_to_string(path).map_err(|e| QuantError::io(path, e))?;
        Self::from_json(&text, &path.display().to_string())
    }

    /// The policy as JSON (`{"rules": [...]}`), as stored in a quantized file.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a policy serializes")
    }

    /// The first rule matching `key`, with its 1-based number.
    pub fn rule_for(&self, key: &str) -> Option<(usize, &Rule)> {
        self.rules.iter().enumerate().find(|(_, r)| glob_match(&r.pattern, key)).map(|(i, r)| (i + 1, r))
    }

    /// The precision each tensor will be stored in, checked against the model's `(key, shape)` list: every
    /// pattern must match some key, and no quantizing rule may be the first to match a 1-D tensor. Tensors
    /// with fewer than 2 dimensions or [`MIN_QUANTIZED_ELEMENTS`] values stay f32.
    pub fn resolve<'a>(
        &self,
        tensors: impl IntoIterator<Item = (&'a str, &'a [usize])>,
        source_name: &str,
    ) -> Result<BTreeMap<String, Precision>, QuantError> {
        let tensors: Vec<(&str, &[usize])> = tensors.into_iter().collect();
        for (i, rule) in self.rules.iter().enumerate() {
            if !tensors.iter().any(|(k, _)| glob_match(&rule.pattern, k)) {
                return Err(QuantError::UnmatchedPattern {
                    source_name: source_name.to_string(),
                    rule: i + 1,
                    pattern: rule.pattern.clone(),
                    hint: near_keys(&rule.pattern, tensors.iter().map(|(k, _)| *k)),
                });
            }
        }
        let mut out = BTreeMap::new();
        for (key, shape) in tensors {
            let precision = match self.rule_for(key) {
                None => Precision::F32,
                Some((_, r)) if !r.precision.is_reduced() => Precision::F32,
                Some((n, r)) if shape.len() < 2 => {
                    return Err(QuantError::QuantizesVector {
                        source_name: source_name.to_string(),
                        rule: n,
                        pattern: r.pattern.clone(),
                        precision: r.precision,
                        key: key.to_string(),
                        shape: shape.to_vec(),
                    });
                }
                Some((_, r)) => {
                    if shape.iter().product::<usize>() >= MIN_QUANTIZED_ELEMENTS {
                        r.precision
                    } else {
                        Precision::F32
                    }
                }
            };
            out.insert(key.to_string(), precision);
        }
        Ok(out)
    }
}

/// Whole-string glob match: `*` any run of characters (including none and dots), `?` one character.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    // Where the last `*` was, and the text position it is currently taken to end at.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || (p[pi] != '*' && p[pi] == t[ti])) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            // Let the last `*` swallow one more character and retry.
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// " (nearest keys: a, b, c)" for an unmatched pattern, or "".
fn near_keys<'a>(pattern: &str, keys: impl Iterator<Item = &'a str>) -> String {
    // A wildcard costs nothing against one character.
    let distance = |k: &str| warble_weights::edit_distance(pattern, k, |p, c| p == c || p == '?' || p == '*');
    let mut ranked: Vec<(usize, &str)> = keys.map(|k| (distance(k), k)).collect();
    ranked.sort();
    let limit = pattern.len() / 3 + 2;
    let near: Vec<String> =
        ranked.iter().take_while(|(d, _)| *d <= limit).take(3).map(|(_, k)| format!("{k:?}")).collect();
    if near.is_empty() { String::new() } else { format!(" (nearest keys: {})", near.join(", ")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_edge_cases() {
        let cases = [
            ("", "", true),
            ("", "a", false),
            ("*", "", true),
            ("*", "a.b.c", true),
            ("a", "a", true),
            ("a", "ab", false),
            ("ab", "a", false),
            ("?", "", false),
            ("?", "x", true),
            ("??", "x", false),
            ("a*", "a", true),
            ("*a", "ba", true),
            ("*a", "ab", false),
            ("a*b*c", "abc", true),
            ("a*b*c", "aXbYbZc", true),
            ("a*b*c", "aXbYbZ", false),
            ("*.weight", "x.weight", true),
            ("*.weight", "x.weight_ih_l0", false),
            ("*.weight_?h_l0*", "lstm.weight_ih_l0_reverse", true),
            ("*.weight_?h_l0*", "lstm.weight_hh_l0", true),
            ("*.weight_?h_l0*", "lstm.bias_hh_l0", false),
            ("decoder.generator.resblocks.*.convs1.*.weight", "decoder.generator.resblocks.0.convs1.2.weight", true),
            ("decoder.generator.resblocks.*.convs1.*.weight", "decoder.generator.resblocks.0.convs2.2.weight", false),
            ("**", "abc", true),
            ("*?", "", false),
            ("*?", "a", true),
            ("é*", "éa", true),
        ];
        for (p, t, want) in cases {
            assert_eq!(glob_match(p, t), want, "glob {p:?} on {t:?}");
        }
    }

    /// Exhaustive check against a recursive reference over short strings of a tiny alphabet.
    #[test]
    fn glob_matches_reference_exhaustively() {
        fn reference(p: &[u8], t: &[u8]) -> bool {
            match (p.first(), t.first()) {
                (None, None) => true,
                (None, Some(_)) => false,
                (Some(b'*'), _) => reference(&p[1..], t) || (!t.is_empty() && reference(p, &t[1..])),
                (Some(_), None) => false,
                (Some(&c), Some(&d)) => (c == b'?' || c == d) && reference(&p[1..], &t[1..]),
            }
        }
        fn all(alphabet: &[u8], max: usize) -> Vec<Vec<u8>> {
            let mut out = vec![vec![]];
            let mut frontier = vec![vec![]];
            for _ in 0..max {
                let mut next = Vec::new();
                for s in &frontier {
                    for &c in alphabet {
                        let mut s2: Vec<u8> = s.clone();
                        s2.push(c);
                        next.push(s2);
                    }
                }
                out.extend(next.iter().cloned());
                frontier = next;
            }
            out
        }
        let patterns = all(b"a*?", 4);
        let texts = all(b"ab", 5);
        for p in &patterns {
            for t in &texts {
                let (ps, ts) = (std::str::from_utf8(p).unwrap(), std::str::from_utf8(t).unwrap());
                assert_eq!(glob_match(ps, ts), reference(p, t), "glob {ps:?} on {ts:?}");
            }
        }
    }

    fn model() -> Vec<(&'static str, Vec<usize>)> {
        vec![
            ("decoder.generator.resblocks.0.convs1.0.weight", vec![256, 256, 3]),
            ("decoder.generator.resblocks.0.convs1.0.bias", vec![256]),
            ("decoder.F0_conv.weight", vec![1, 1, 3]),
            ("bert.embeddings.LayerNorm.weight", vec![128]),
        ]
    }

    fn resolve(json: &str) -> Result<BTreeMap<String, Precision>, QuantError> {
        let m = model();
        Policy::from_json(json, "test.json")?.resolve(m.iter().map(|(k, s)| (*k, s.as_slice())), "test.json")
    }

    #[test]
    fn first_match_wins_and_unmatched_stay_f32() {
        let p = resolve(
            r#"{"rules": [
                {"pattern": "decoder.generator.resblocks.*.convs1.*.weight", "precision": "int4"},
                {"pattern": "*.weight", "precision": "int8"},
                {"pattern": "*LayerNorm*", "precision": "f32"}
            ]}"#,
        );
        // the LayerNorm rule comes after `*.weight`, which quantizes the 1-D gain first: an error
        let e = p.unwrap_err().to_string();
        assert!(e.contains("rule 2") && e.contains("bert.embeddings.LayerNorm.weight") && e.contains("1-D"), "{e}");
        let p = resolve(
            r#"[{"pattern": "*LayerNorm*", "precision": "f32"},
                {"pattern": "decoder.generator.resblocks.*.convs1.*.weight", "precision": "int4"},
                {"pattern": "*.weight", "precision": "int8"}]"#,
        )
        .unwrap();
        assert_eq!(p["decoder.generator.resblocks.0.convs1.0.weight"], Precision::Int4);
        assert_eq!(p["decoder.generator.resblocks.0.convs1.0.bias"], Precision::F32);
        // 3 values: too small, stays f32 without complaint
        assert_eq!(p["decoder.F0_conv.weight"], Precision::F32);
        assert_eq!(p["bert.embeddings.LayerNorm.weight"], Precision::F32);
    }

    #[test]
    fn policy_errors() {
        let e =
            resolve(r#"{"rules": [{"pattern": "decoder.generator.resblock.*.convs1.*.weight", "precision": "int8"}]}"#)
                .unwrap_err()
                .to_string();
        assert!(e.contains("matches no weight") && e.contains("decoder.generator.resblock.*.convs1.*.weight"), "{e}");
        assert!(e.contains("nearest keys") && e.contains("decoder.generator.resblocks.0.convs1.0.weight"), "{e}");

        let e = resolve(r#"{"rules": [{"pattern": "*", "precision": "int3"}]}"#).unwrap_err().to_string();
        assert!(e.contains("unknown precision \"int3\"") && e.contains("int8"), "{e}");

        let e = resolve("{\"rules\": [\n  {\"pattern\": \"*\" \"precision\": \"int8\"}]}").unwrap_err().to_string();
        assert!(e.contains("test.json") && e.contains("line 2"), "{e}");

        let e = resolve(r#"{"rules": [{"pattern": "*", "precison": "int8"}]}"#).unwrap_err().to_string();
        assert!(e.contains("precison") && e.contains("column"), "{e}");

        let e = resolve(r#"{"rules": [{"pattern": "*.bias", "precision": "bf16"}]}"#).unwrap_err().to_string();
        assert!(e.contains("1-D") && e.contains("convs1.0.bias"), "{e}");

        assert!(matches!(
            resolve(r#"{"rules": [{"pattern": "", "precision": "f32"}]}"#),
            Err(QuantError::EmptyPattern { .. })
        ));
        let e = Policy::load(Path::new("/nonexistent/policy.json")).unwrap_err().to_string();
        assert!(e.contains("/nonexistent/policy.json"), "{e}");
    }

    #[test]
    fn policy_json_round_trips() {
        for s in Scheme::BUILT_IN {
            let p = s.policy().unwrap();
            assert_eq!(Policy::from_json(&p.to_json(), "x").unwrap(), p);
            assert_eq!(s.name().parse::<Scheme>().unwrap(), s);
        }
        assert!("int3".parse::<Scheme>().is_err());
        assert_eq!(Scheme::Custom.policy(), None);
    }

    /// The built-in policies against the real Kokoro v1.0 layout (keys and shapes, no weights needed).
    #[test]
    fn built_in_policies_fit_the_kokoro_layout() {
        let layout = warble_weights::kokoro_v1_0_layout();
        for s in Scheme::BUILT_IN {
            let p = s.policy().unwrap();
            let plan = p.resolve(layout.iter().map(|e| (e.key.as_str(), e.shape.as_slice())), s.name()).unwrap();
            let get = |k: &str| plan[k];
            let main = match s {
                Scheme::Bf16 => Precision::Bf16,
                _ => Precision::Int8,
            };
            assert_eq!(get("decoder.generator.resblocks.2.convs1.1.weight"), main, "{s}");
            assert_eq!(get("decoder.generator.resblocks.0.convs2.0.weight"), main, "{s}");
            assert_eq!(get("decoder.generator.ups.0.weight"), main, "{s}");
            for kept in [
                "decoder.generator.m_source.l_linear.weight",
                "decoder.generator.conv_post.weight",
                "decoder.generator.noise_convs.0.weight",
                "bert.embeddings.word_embeddings.weight",
                "bert.embeddings.position_embeddings.weight",
                "text_encoder.embedding.weight",
                "bert.encoder.albert_layer_groups.0.albert_layers.0.attention.LayerNorm.weight",
                "decoder.decode.0.conv1.bias",
            ] {
                assert_eq!(get(kept), Precision::F32, "{s}: {kept}");
            }
            let big = match s {
                Scheme::Int8 => Precision::Int8,
                Scheme::Bf16 => Precision::Bf16,
                _ => Precision::Int4,
            };
            for k in [
                "decoder.decode.0.conv1.weight",
                "decoder.encode.conv2.weight",
                "predictor.lstm.weight_ih_l0_reverse",
                "predictor.F0.0.conv1.weight",
                "predictor.text_encoder.lstms.2.weight_hh_l0",
                "bert_encoder.weight",
                "text_encoder.cnn.0.0.weight",
                "text_encoder.lstm.weight_ih_l0",
            ] {
                assert_eq!(get(k), big, "{s}: {k}");
            }
            // ALBERT is INT8 in int4-mixed too (its durations are too sensitive to INT4)
            assert_eq!(get("bert.encoder.albert_layer_groups.0.albert_layers.0.ffn.weight"), main, "{s}");
            // int8 keeps ALBERT's attention f32 (the design's split; the worst golden case needs it for 0.98)
            let attention = ["query", "key", "value", "dense"]
                .map(|m| get(&format!("bert.encoder.albert_layer_groups.0.albert_layers.0.attention.{m}.weight")));
            let want = if s == Scheme::Int8 { Precision::F32 } else { main };
            assert_eq!(attention, [want; 4], "{s}");
            // every 1-D tensor stays f32
            for e in layout.iter().filter(|e| e.shape.len() < 2) {
                assert_eq!(plan[&e.key], Precision::F32, "{s}: {}", e.key);
            }
        }
    }
}
