//! The learnt reader of unknown English words: a small character transformer trained (with Burn, `cargo xtask
//! train-g2p`) to read words as misaki reads the words its dictionaries lack, i.e. as espeak-ng read through
//! misaki's mapping to Kokoro's symbols. It is the fallback of builds without espeak-ng.
//!
//! The network: each letter becomes [`SLOTS`] positions (letter, slot, position and dialect embeddings summed),
//! a pre-norm transformer encoder, a final layer norm and a linear layer to Kokoro's symbols plus a blank,
//! read greedily as CTC (the best symbol per position, repeats merged, blanks dropped). One pass, no decoding
//! loop: a word costs tens of microseconds. The forward pass here is plain Rust (this crate does not depend on
//! Burn); `xtask`'s tests check it against the Burn module it was trained as.
//!
//! Weights: `g2p/data/en_oov.safetensors` (f32, names as the Burn module's parameters), its metadata naming the
//! alphabets, the shape, the command and data that made it and its held-out accuracy.

use std::collections::HashMap;
use std::sync::OnceLock;

use safetensors::SafeTensors;

/// Positions per letter: room for a letter's phonemes, a stress mark and the blanks CTC needs between repeats.
pub const SLOTS: usize = 2;

static WEIGHTS: &[u8] = include_bytes!("../../data/en_oov.safetensors");

/// A weights file that does not describe a model this code can run.
#[derive(Debug, thiserror::Error)]
pub enum LearntError {
    #[error("the learnt G2P weights are not a safetensors file: {0}")]
    Format(String),
    #[error("the learnt G2P weights lack `{0}`")]
    Missing(String),
    #[error("the learnt G2P weight `{key}` has shape {got:?}, expected {expected:?}")]
    Shape { key: String, got: Vec<usize>, expected: Vec<usize> },
    #[error("the learnt G2P metadata `{0}` is missing or not a number")]
    Metadata(String),
}

/// The hyper-parameters, as the file's metadata states them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LearntConfig {
    pub d_model: usize,
    pub n_heads: usize,
    pub n_layers: usize,
    pub d_ff: usize,
    /// The longest word (in letters) the position table covers; longer words go to the rules.
    pub max_letters: usize,
}

struct Linear {
    /// `[d_in][d_out]` row-major (Burn's layout).
    weight: Vec<f32>,
    bias: Vec<f32>,
    d_out: usize,
}

impl Linear {
    /// `x [T][d_in]` → `[T][d_out]`.
    fn forward(&self, x: &[f32], t: usize) -> Vec<f32> {
        let mut y = Vec::with_capacity(t * self.d_out);
        for _ in 0..t {
            y.extend_from_slice(&self.bias);
        }
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has AVX2 and FMA.
            unsafe { accumulate_avx2(&self.weight, x, &mut y, self.d_out) };
            return y;
        }
        accumulate(&self.weight, x, &mut y, self.d_out);
        y
    }
}

/// `y[t] += x[t] · w` for every row `t` (`w` is `[d_in][d_out]`): rows of `w` stream past in the order they lie,
/// the inner loop running along `d_out`, which the compiler vectorises.
#[inline(always)]
fn accumulate(w: &[f32], x: &[f32], y: &mut [f32], d_out: usize) {
    let d_in = w.len() / d_out;
    for (row, out) in x.chunks_exact(d_in).zip(y.chunks_exact_mut(d_out)) {
        for (&xi, w) in row.iter().zip(w.chunks_exact(d_out)) {
            for (o, &wi) in out.iter_mut().zip(w) {
                *o += xi * wi;
            }
        }
    }
}

/// [`accumulate`] compiled for AVX2 and FMA (8 lanes, fused; the portable build has SSE2's 4): a word's forward
/// pass is ~7 M multiply-adds.
///
/// # Safety
/// The CPU must have AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn accumulate_avx2(w: &[f32], x: &[f32], y: &mut [f32], d_out: usize) {
    accumulate(w, x, y, d_out)
}

struct LayerNorm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

impl LayerNorm {
    fn forward(&self, x: &[f32]) -> Vec<f32> {
        let d = self.gamma.len();
        let mut y = Vec::with_capacity(x.len());
        for row in x.chunks_exact(d) {
            let mean = row.iter().sum::<f32>() / d as f32;
            let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / d as f32;
            let inv = 1.0 / (var + 1e-5).sqrt();
            y.extend(row.iter().zip(&self.gamma).zip(&self.beta).map(|((v, g), b)| (v - mean) * inv * g + b));
        }
        y
    }
}

struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    output: Linear,
    /// Before the feed-forward block (Burn's pre-norm naming).
    norm_1: LayerNorm,
    /// Before the attention.
    norm_2: LayerNorm,
    inner: Linear,
    outer: Linear,
}

/// The trained reader.
pub struct LearntG2p {
    config: LearntConfig,
    letters: HashMap<char, usize>,
    phonemes: Vec<char>,
    letter_embedding: Vec<f32>,
    slot_embedding: Vec<f32>,
    position_embedding: Vec<f32>,
    dialect_embedding: Vec<f32>,
    layers: Vec<Layer>,
    norm: LayerNorm,
    output: Linear,
}

impl LearntG2p {
    /// The model compiled into this crate (parsed once).
    pub fn embedded() -> &'static LearntG2p {
        static MODEL: OnceLock<LearntG2p> = OnceLock::new();
        MODEL.get_or_init(|| LearntG2p::from_bytes(WEIGHTS).expect("the embedded learnt G2P weights are valid"))
    }

    /// A model from a safetensors file's bytes (what `cargo xtask train-g2p` writes).
    pub fn from_bytes(bytes: &[u8]) -> Result<LearntG2p, LearntError> {
        let (_, meta) = SafeTensors::read_metadata(bytes).map_err(|e| LearntError::Format(e.to_string()))?;
        let meta = meta.metadata().clone().unwrap_or_default();
        let number = |k: &str| -> Result<usize, LearntError> {
            meta.get(k).and_then(|v| v.parse().ok()).ok_or_else(|| LearntError::Metadata(k.to_string()))
        };
        let config = LearntConfig {
            d_model: number("d_model")?,
            n_heads: number("n_heads")?,
            n_layers: number("n_layers")?,
            d_ff: number("d_ff")?,
            max_letters: number("max_letters")?,
        };
        let letters: Vec<char> =
            meta.get("letters").ok_or_else(|| LearntError::Metadata("letters".into()))?.chars().collect();
        let phonemes: Vec<char> =
            meta.get("phonemes").ok_or_else(|| LearntError::Metadata("phonemes".into()))?.chars().collect();
        let st = SafeTensors::deserialize(bytes).map_err(|e| LearntError::Format(e.to_string()))?;
        let tensor = |key: &str, expected: &[usize]| -> Result<Vec<f32>, LearntError> {
            let t = st.tensor(key).map_err(|_| LearntError::Missing(key.to_string()))?;
            if t.shape() != expected || t.dtype() != safetensors::Dtype::F32 {
                return Err(LearntError::Shape {
                    key: key.into(),
                    got: t.shape().to_vec(),
                    expected: expected.to_vec(),
                });
            }
            Ok(t.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
        };
        let (d, ff) = (config.d_model, config.d_ff);
        let linear = |key: &str, d_in: usize, d_out: usize| -> Result<Linear, LearntError> {
            Ok(Linear {
                weight: tensor(&format!("{key}.weight"), &[d_in, d_out])?,
                bias: tensor(&format!("{key}.bias"), &[d_out])?,
                d_out,
            })
        };
        let norm = |key: &str| -> Result<LayerNorm, LearntError> {
            Ok(LayerNorm { gamma: tensor(&format!("{key}.gamma"), &[d])?, beta: tensor(&format!("{key}.beta"), &[d])? })
        };
        let layers = (0..config.n_layers)
            .map(|i| {
                let p = format!("encoder.layers.{i}");
                Ok(Layer {
                    query: linear(&format!("{p}.mha.query"), d, d)?,
                    key: linear(&format!("{p}.mha.key"), d, d)?,
                    value: linear(&format!("{p}.mha.value"), d, d)?,
                    output: linear(&format!("{p}.mha.output"), d, d)?,
                    norm_1: norm(&format!("{p}.norm_1"))?,
                    norm_2: norm(&format!("{p}.norm_2"))?,
                    inner: linear(&format!("{p}.pwff.linear_inner"), d, ff)?,
                    outer: linear(&format!("{p}.pwff.linear_outer"), ff, d)?,
                })
            })
            .collect::<Result<Vec<_>, LearntError>>()?;
        Ok(LearntG2p {
            letter_embedding: tensor("letter_embedding.weight", &[letters.len() + 1, d])?,
            slot_embedding: tensor("slot_embedding.weight", &[SLOTS, d])?,
            position_embedding: tensor("position_embedding.weight", &[config.max_letters * SLOTS, d])?,
            dialect_embedding: tensor("dialect_embedding.weight", &[2, d])?,
            layers,
            norm: norm("norm")?,
            output: linear("output", d, phonemes.len() + 1)?,
            letters: letters.iter().enumerate().map(|(i, &c)| (c, i + 1)).collect(),
            phonemes,
            config,
        })
    }

    pub fn config(&self) -> LearntConfig {
        self.config
    }

    /// The letter ids of `word` (lowercased), or `None` where it has a letter the model never saw or is longer
    /// than its position table.
    pub fn encode(&self, word: &str) -> Option<Vec<usize>> {
        let ids: Option<Vec<usize>> = word.to_lowercase().chars().map(|c| self.letters.get(&c).copied()).collect();
        ids.filter(|ids| !ids.is_empty() && ids.len() <= self.config.max_letters)
    }

    /// Per position (`SLOTS` per letter), the scores of the blank (0) and of each phoneme symbol.
    pub fn logits(&self, ids: &[usize], british: bool) -> Vec<f32> {
        let (d, h) = (self.config.d_model, self.config.n_heads);
        let t = ids.len() * SLOTS;
        let mut x = Vec::with_capacity(t * d);
        for (p, &id) in ids.iter().flat_map(|id| std::iter::repeat_n(id, SLOTS)).enumerate() {
            let rows = [
                &self.letter_embedding[id * d..][..d],
                &self.slot_embedding[(p % SLOTS) * d..][..d],
                &self.position_embedding[p * d..][..d],
                &self.dialect_embedding[usize::from(british) * d..][..d],
            ];
            x.extend((0..d).map(|j| rows.iter().map(|r| r[j]).sum::<f32>()));
        }
        let d_k = d / h;
        let scale = 1.0 / (d_k as f32).sqrt();
        for layer in &self.layers {
            let n = layer.norm_2.forward(&x);
            let (q, k, v) = (layer.query.forward(&n, t), layer.key.forward(&n, t), layer.value.forward(&n, t));
            let mut context = vec![0.0f32; t * d];
            let mut w = vec![0.0f32; t];
            for head in 0..h {
                let c = head * d_k;
                for i in 0..t {
                    let qi = &q[i * d + c..][..d_k];
                    for (j, wj) in w.iter_mut().enumerate() {
                        *wj = qi.iter().zip(&k[j * d + c..][..d_k]).map(|(a, b)| a * b).sum::<f32>() * scale;
                    }
                    let max = w.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
                    let mut sum = 0.0;
                    for wj in w.iter_mut() {
                        *wj = (*wj - max).exp();
                        sum += *wj;
                    }
                    let out = &mut context[i * d + c..][..d_k];
                    for (j, &wj) in w.iter().enumerate() {
                        for (o, &vj) in out.iter_mut().zip(&v[j * d + c..][..d_k]) {
                            *o += wj / sum * vj;
                        }
                    }
                }
            }
            for (xi, a) in x.iter_mut().zip(layer.output.forward(&context, t)) {
                *xi += a;
            }
            let n = layer.norm_1.forward(&x);
            let mut hidden = layer.inner.forward(&n, t);
            hidden.iter_mut().for_each(|v| *v = v.max(0.0));
            for (xi, f) in x.iter_mut().zip(layer.outer.forward(&hidden, t)) {
                *xi += f;
            }
        }
        self.output.forward(&self.norm.forward(&x), t)
    }

    /// Kokoro's symbols for `word`, or `None` where the model cannot take it (see [`LearntG2p::encode`]). A word
    /// gets at most one primary stress: where the positions, scored independently, give several, the most
    /// confident stays primary and the others become secondary (espeak's readings have one primary stress).
    pub fn read(&self, word: &str, british: bool) -> Option<String> {
        self.decode(word, british, true)
    }

    /// [`LearntG2p::read`] without the one-primary-stress rule: the network's greedy CTC reading as it is.
    pub fn read_raw(&self, word: &str, british: bool) -> Option<String> {
        self.decode(word, british, false)
    }

    fn decode(&self, word: &str, british: bool, one_primary: bool) -> Option<String> {
        let ids = self.encode(word)?;
        let logits = self.logits(&ids, british);
        let classes = self.phonemes.len() + 1;
        // (symbol, the score margin of the position that emitted it)
        let mut out: Vec<(char, f32)> = Vec::new();
        let mut previous = 0;
        for row in logits.chunks_exact(classes) {
            let best = (0..classes).fold(0, |b, c| if row[c] > row[b] { c } else { b });
            if best != 0 && best != previous {
                let second = (0..classes).filter(|&c| c != best).map(|c| row[c]).fold(f32::NEG_INFINITY, f32::max);
                out.push((self.phonemes[best - 1], row[best] - second));
            }
            previous = best;
        }
        if one_primary && out.iter().filter(|(c, _)| *c == PRIMARY).count() > 1 {
            let keep = (0..out.len())
                .filter(|&i| out[i].0 == PRIMARY)
                .fold(None, |k: Option<usize>, i| match k {
                    Some(k) if out[k].1 >= out[i].1 => Some(k),
                    _ => Some(i),
                })
                .expect("two primaries");
            for (i, (c, _)) in out.iter_mut().enumerate() {
                if *c == PRIMARY && i != keep {
                    *c = SECONDARY;
                }
            }
        }
        Some(out.into_iter().map(|(c, _)| c).collect())
    }
}

const PRIMARY: char = 'ˈ';
const SECONDARY: char = 'ˌ';

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_model_loads_and_reads_words_it_never_saw() {
        let m = LearntG2p::embedded();
        assert!(m.config().n_layers > 0);
        // Not in its training data (no dictionary has them): names the rules misread (/nˈɪəmh/, /θˈænh/), read
        // as misaki reads them through espeak-ng.
        assert_eq!(m.read("Niamh", false).as_deref(), Some("nˈIəm"));
        assert_eq!(m.read("Thanh", false).as_deref(), Some("θˈæn"));
        assert_eq!(m.read("Thanh", true).as_deref(), Some("θˈan"));
        // A letter outside its alphabet or an over-long word is not its to read.
        assert_eq!(m.read("Ωmega", false), None);
        assert_eq!(m.read(&"a".repeat(m.config().max_letters + 1), false), None);
    }

    #[test]
    fn a_damaged_file_is_an_error() {
        assert!(matches!(LearntG2p::from_bytes(b"not a model"), Err(LearntError::Format(_))));
        assert!(matches!(LearntG2p::from_bytes(&WEIGHTS[..WEIGHTS.len() / 2]), Err(LearntError::Format(_))));
    }
}
