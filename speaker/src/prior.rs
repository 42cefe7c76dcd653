//! The style prior a voice clone is searched in, and the surrogate that guides the search.
//!
//! Kokoro voices differ from each other by a near-constant vector: across the 54 stock packs a style value varies
//! ~7× more between voices than between the 510 rows of one voice. A clone is therefore one 256-value *identity*
//! `s` plus the rows' shared pattern ([`StylePrior::pack`]). Identities are searched as
//!
//! `s = mean + Σ_v z_v · deviation_v + iso_std · ε`
//!
//! where `deviation_v = (identity_v − mean) / √(V − 1)` over the V training voices, so `z ~ N(0, I)` has the stock
//! voices' covariance (every stock voice sits at `|z| ≈ √(V − 1)`), and `ε` reaches the directions no blend of
//! stock voices spans (a held-out voice lies mostly outside that span: docs/cloning.md).
//!
//! The *surrogate* is a ridge regression from `[s, 1]` to the GE2E embedding of speech rendered with `s`, fitted on
//! thousands of renders of stock, blended and perturbed voices (`cargo xtask train-speaker`). It is cheap (one
//! 257 × 256 product), so the clone search ranks many candidates with it and renders only the promising ones.
//!
//! The file is a safetensors archive (`assets/style_prior.safetensors`, written by the trainer) with the tensors
//! below and string metadata (training voices, held-out voices, how it was made).

use std::collections::HashMap;

use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::{PACK_ROWS, STYLE_DIM, SpeakerError, VoicePack};

/// The prior shipped with Warble (`cargo xtask train-speaker` writes it).
const EMBEDDED: &[u8] = include_bytes!("../assets/style_prior.safetensors");

/// Embedding dimension of the surrogate's output (GE2E).
pub const EMBED_DIM: usize = 256;

#[derive(Debug, Clone)]
pub struct StylePrior {
    /// Training voices, in the order of `deviations`, `voice_identity` and `voice_embedding`.
    pub names: Vec<String>,
    /// Stock voices kept out of training (for honest evaluation of clones of them).
    pub held_out: Vec<String>,
    /// `[256]` mean identity of the training voices.
    pub mean: Vec<f32>,
    /// `[V, 256]` `(identity_v − mean) / √(V − 1)`.
    pub deviations: Vec<f32>,
    /// `[V, 256]` each training voice's identity (mean of its rows 20..300, the lengths speech mostly uses).
    pub voice_identity: Vec<f32>,
    /// `[V, 256]` each training voice's GE2E embedding (mean over the training texts, normalised).
    pub voice_embedding: Vec<f32>,
    /// `[510, 256]` the rows' shared pattern: mean over voices of `row_r − identity`.
    pub row_pattern: Vec<f32>,
    /// `[257, 256]` surrogate: embedding ≈ normalise(`[s, 1] · W`).
    pub surrogate: Vec<f32>,
    /// Scale of the isotropic component `ε`.
    pub iso_std: f32,
    /// The training voices' embeddings on the clone search's own fitting sentences, when the file has them.
    pub fit: Option<FitEmbeddings>,
    /// Free-form provenance (command, sample count, ridge strength, surrogate fit).
    pub metadata: HashMap<String, String>,
}

/// Each training voice's GE2E embedding of the clone search's fitting sentences, rendered exactly as the search
/// renders a candidate (the voice's identity plus the row pattern, seeded source noise). A search scores the stock
/// voices it starts from with these instead of rendering them (3 of its 20 candidates).
#[derive(Debug, Clone, PartialEq)]
pub struct FitEmbeddings {
    /// The sentences, in the order they were spoken (stored as the metadata `fit_texts`, one per line); a search
    /// uses the embeddings only if its sentences are these.
    pub texts: Vec<String>,
    /// `[V, 256]`, in the order of `names`.
    pub embedding: Vec<f32>,
}

impl FitEmbeddings {
    /// Training voice `v`'s embedding (`None` past the last voice).
    pub fn voice(&self, v: usize) -> Option<[f32; EMBED_DIM]> {
        self.embedding.get(v * EMBED_DIM..(v + 1) * EMBED_DIM)?.try_into().ok()
    }
}

fn bad(detail: impl Into<String>) -> SpeakerError {
    SpeakerError::Prior { detail: detail.into() }
}

impl StylePrior {
    /// The prior compiled into Warble.
    pub fn embedded() -> Result<Self, SpeakerError> {
        Self::from_bytes(EMBEDDED)
    }

    pub fn voices(&self) -> usize {
        self.names.len()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SpeakerError> {
        let (_, meta) = SafeTensors::read_metadata(bytes).map_err(|e| bad(e.to_string()))?;
        let file = SafeTensors::deserialize(bytes).map_err(|e| bad(e.to_string()))?;
        let metadata: HashMap<String, String> = meta.metadata().clone().unwrap_or_default();
        let list = |key: &str| -> Vec<String> {
            metadata
                .get(key)
                .map(|s| s.split(',').filter(|x| !x.is_empty()).map(String::from).collect())
                .unwrap_or_default()
        };
        let names = list("voices");
        let v = names.len();
        if v < 2 {
            return Err(bad("the prior names fewer than two training voices"));
        }
        let get = |name: &str, shape: &[usize]| -> Result<Vec<f32>, SpeakerError> {
            let t = file.tensor(name).map_err(|e| bad(format!("{name}: {e}")))?;
            if t.dtype() != Dtype::F32 || t.shape() != shape {
                return Err(bad(format!("{name}: {:?} {:?}, expected F32 {shape:?}", t.dtype(), t.shape())));
            }
            Ok(t.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
        };
        let iso_std = get("iso_std", &[1])?[0];
        let fit = match (file.tensor("fit_embedding").is_ok(), metadata.get("fit_texts")) {
            (false, None) => None,
            (true, Some(texts)) => Some(FitEmbeddings {
                texts: texts.lines().map(String::from).collect(),
                embedding: get("fit_embedding", &[v, EMBED_DIM])?,
            }),
            (true, None) => return Err(bad("fit_embedding without the metadata fit_texts naming its sentences")),
            (false, Some(_)) => return Err(bad("the metadata fit_texts without the tensor fit_embedding")),
        };
        Ok(Self {
            held_out: list("held_out"),
            mean: get("mean", &[STYLE_DIM])?,
            deviations: get("deviations", &[v, STYLE_DIM])?,
            voice_identity: get("voice_identity", &[v, STYLE_DIM])?,
            voice_embedding: get("voice_embedding", &[v, EMBED_DIM])?,
            row_pattern: get("row_pattern", &[PACK_ROWS, STYLE_DIM])?,
            surrogate: get("surrogate", &[STYLE_DIM + 1, EMBED_DIM])?,
            iso_std,
            fit,
            names,
            metadata,
        })
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>, SpeakerError> {
        let v = self.voices();
        let bytes = |x: &[f32]| -> Vec<u8> { x.iter().flat_map(|f| f.to_le_bytes()).collect() };
        let iso = [self.iso_std];
        let mut tensors: Vec<(&str, Vec<u8>, Vec<usize>)> = vec![
            ("mean", bytes(&self.mean), vec![STYLE_DIM]),
            ("deviations", bytes(&self.deviations), vec![v, STYLE_DIM]),
            ("voice_identity", bytes(&self.voice_identity), vec![v, STYLE_DIM]),
            ("voice_embedding", bytes(&self.voice_embedding), vec![v, EMBED_DIM]),
            ("row_pattern", bytes(&self.row_pattern), vec![PACK_ROWS, STYLE_DIM]),
            ("surrogate", bytes(&self.surrogate), vec![STYLE_DIM + 1, EMBED_DIM]),
            ("iso_std", bytes(&iso), vec![1]),
        ];
        let mut metadata = self.metadata.clone();
        metadata.remove("fit_texts");
        if let Some(f) = &self.fit {
            if f.embedding.len() != v * EMBED_DIM || f.texts.iter().any(|t| t.is_empty() || t.contains('\n')) {
                return Err(bad("fit embeddings: expected one line of text per sentence and V × 256 values"));
            }
            tensors.push(("fit_embedding", bytes(&f.embedding), vec![v, EMBED_DIM]));
            metadata.insert("fit_texts".into(), f.texts.join("\n"));
        }
        let views: Vec<(&str, TensorView<'_>)> = tensors
            .iter()
            .map(|(n, b, s)| TensorView::new(Dtype::F32, s.clone(), b).map(|t| (*n, t)).map_err(|e| bad(e.to_string())))
            .collect::<Result<_, _>>()?;
        metadata.insert("voices".into(), self.names.join(","));
        metadata.insert("held_out".into(), self.held_out.join(","));
        safetensors::serialize(views, Some(metadata)).map_err(|e| bad(e.to_string()))
    }

    /// The identity at search coordinates `z` (`[V]`) and `eps` (`[256]`).
    pub fn identity(&self, z: &[f32], eps: &[f32]) -> Vec<f32> {
        let mut s = self.mean.clone();
        for (zv, dev) in z.iter().zip(self.deviations.chunks_exact(STYLE_DIM)) {
            for (x, d) in s.iter_mut().zip(dev) {
                *x += zv * d;
            }
        }
        for (x, e) in s.iter_mut().zip(eps) {
            *x += self.iso_std * e;
        }
        s
    }

    /// The search coordinates of training voice `v`: `z = √(V−1)·(onehot_v − 1/V)`, the shortest `z` giving its
    /// identity exactly (the deviations sum to zero, so `z` is defined up to a constant).
    pub fn voice_coordinates(&self, v: usize) -> Vec<f32> {
        let n = self.voices() as f32;
        (0..self.voices()).map(|i| ((n - 1.0).sqrt()) * (f32::from(u8::from(i == v)) - 1.0 / n)).collect()
    }

    /// The surrogate's unnormalised embedding `[s, 1] · W`.
    pub fn surrogate_raw(&self, identity: &[f32]) -> Vec<f32> {
        apply_surrogate(&self.surrogate, identity)
    }

    /// A full voice pack for an identity: `row_r = identity + row_pattern_r`.
    pub fn pack(&self, name: &str, identity: &[f32]) -> Result<VoicePack, SpeakerError> {
        if identity.len() != STYLE_DIM {
            return Err(bad(format!("an identity has {STYLE_DIM} values, not {}", identity.len())));
        }
        let data = self
            .row_pattern
            .chunks_exact(STYLE_DIM)
            .flat_map(|row| row.iter().zip(identity).map(|(p, s)| p + s))
            .collect();
        VoicePack::new(name, data)
    }

    /// Distance of an identity from the nearest training voice's, and that voice; with the median distance
    /// between neighbouring stock voices for scale (`nearest_stock_spacing`).
    pub fn nearest_voice(&self, identity: &[f32]) -> (String, f32) {
        let dist = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f32>().sqrt();
        let (i, d) = self
            .voice_identity
            .chunks_exact(STYLE_DIM)
            .map(|v| dist(v, identity))
            .enumerate()
            .fold((0, f32::INFINITY), |best, (i, d)| if d < best.1 { (i, d) } else { best });
        (self.names[i].clone(), d)
    }

    /// Where real voices lie in the search coordinates, for choosing the search's caps: each training voice is
    /// left out in turn and written as `mean + Σ z·deviation + iso_std·ε` over the others (ridge fit of `z`,
    /// `ε` the rest); returns each voice's `(|z| / √(V−2), |ε|)`, i.e. `|z|` in units of the stock voices' own
    /// distance from their mean. A voice not in the prior sits about this far out, so caps well below these
    /// values keep a clone from reaching it.
    pub fn leave_one_out_spread(&self) -> Result<Vec<(f32, f32)>, SpeakerError> {
        let ids: Vec<Vec<f64>> =
            self.voice_identity.chunks_exact(STYLE_DIM).map(|v| v.iter().map(|&x| f64::from(x)).collect()).collect();
        let n = ids.len();
        (0..n)
            .map(|i| {
                let rest: Vec<&Vec<f64>> = ids.iter().enumerate().filter(|&(j, _)| j != i).map(|(_, v)| v).collect();
                let k = rest.len();
                let scale = ((k - 1) as f64).sqrt();
                let mean: Vec<f64> =
                    (0..STYLE_DIM).map(|d| rest.iter().map(|v| v[d]).sum::<f64>() / k as f64).collect();
                let dev: Vec<Vec<f64>> =
                    rest.iter().map(|v| v.iter().zip(&mean).map(|(a, m)| (a - m) / scale).collect()).collect();
                let x: Vec<f64> = ids[i].iter().zip(&mean).map(|(a, m)| a - m).collect();
                let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(p, q)| p * q).sum::<f64>();
                // (D Dᵀ + λI) z = D x; a small λ settles the one direction the deviations lack (they sum to zero).
                let mut a: Vec<f64> = (0..k * k).map(|e| dot(&dev[e / k], &dev[e % k])).collect();
                (0..k).for_each(|d| a[d * k + d] += 1e-3);
                let mut z: Vec<f64> = dev.iter().map(|d| dot(d, &x)).collect();
                solve_spd(&mut a, k, &mut z, 1)?;
                let mut r = x;
                for (zv, d) in z.iter().zip(&dev) {
                    r.iter_mut().zip(d).for_each(|(ri, di)| *ri -= zv * di);
                }
                Ok(((dot(&z, &z).sqrt() / scale) as f32, (dot(&r, &r).sqrt() / f64::from(self.iso_std)) as f32))
            })
            .collect()
    }

    /// The median over training voices of the distance to their nearest other training voice.
    pub fn nearest_stock_spacing(&self) -> f32 {
        let ids: Vec<&[f32]> = self.voice_identity.chunks_exact(STYLE_DIM).collect();
        let mut nn: Vec<f32> = (0..ids.len())
            .map(|i| {
                (0..ids.len())
                    .filter(|&j| j != i)
                    .map(|j| ids[i].iter().zip(ids[j]).map(|(x, y)| (x - y) * (x - y)).sum::<f32>().sqrt())
                    .fold(f32::INFINITY, f32::min)
            })
            .collect();
        nn.sort_by(f32::total_cmp);
        nn[nn.len() / 2]
    }
}

/// Solves `A X = B` in place for a symmetric positive definite `A` (`n × n`, row-major) and `B` (`n × m`,
/// row-major) by Cholesky: `A` becomes its factor `L` (lower triangle), `B` becomes `X`. The one SPD solver the
/// cloning code uses (the prior's leave-one-out fit, `train-speaker`'s ridge fit, the search's slope refit).
pub fn solve_spd(a: &mut [f64], n: usize, b: &mut [f64], m: usize) -> Result<(), SpeakerError> {
    if a.len() != n * n || b.len() != n * m {
        let detail = format!("A holds {} values and B {}, not {n}×{n} and {n}×{m}", a.len(), b.len());
        return Err(SpeakerError::Solve { n, detail });
    }
    for j in 0..n {
        let d = a[j * n + j] - (0..j).map(|k| a[j * n + k] * a[j * n + k]).sum::<f64>();
        // NaN fails this test too.
        if d.is_nan() || d <= 0.0 {
            let detail = format!("not positive definite at row {j} (pivot {d})");
            return Err(SpeakerError::Solve { n, detail });
        }
        let d = d.sqrt();
        a[j * n + j] = d;
        for i in j + 1..n {
            a[i * n + j] = (a[i * n + j] - (0..j).map(|k| a[i * n + k] * a[j * n + k]).sum::<f64>()) / d;
        }
    }
    for c in 0..m {
        for i in 0..n {
            b[i * m + c] = (b[i * m + c] - (0..i).map(|k| a[i * n + k] * b[k * m + c]).sum::<f64>()) / a[i * n + i];
        }
        for i in (0..n).rev() {
            b[i * m + c] = (b[i * m + c] - (i + 1..n).map(|k| a[k * n + i] * b[k * m + c]).sum::<f64>()) / a[i * n + i];
        }
    }
    Ok(())
}

/// `[s, 1] · W` for a surrogate `W` of shape `[257, 256]` (also used while fitting one).
pub fn apply_surrogate(w: &[f32], style: &[f32]) -> Vec<f32> {
    let mut u = w[STYLE_DIM * EMBED_DIM..].to_vec();
    for (i, &s) in style.iter().enumerate() {
        for (o, wv) in u.iter_mut().zip(&w[i * EMBED_DIM..(i + 1) * EMBED_DIM]) {
            *o += s * wv;
        }
    }
    u
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_prior_is_consistent() {
        let p = StylePrior::embedded().unwrap();
        assert!(p.voices() >= 40, "{} training voices", p.voices());
        // Each voice's coordinates give back its identity.
        for v in [0, p.voices() / 2, p.voices() - 1] {
            let s = p.identity(&p.voice_coordinates(v), &[0.0; STYLE_DIM]);
            let want = &p.voice_identity[v * STYLE_DIM..(v + 1) * STYLE_DIM];
            let err = s.iter().zip(want).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
            assert!(err < 1e-4, "voice {v}: {err}");
            assert_eq!(p.nearest_voice(&s).0, p.names[v]);
        }
        // Held-out voices are not training voices; a round trip through bytes is exact.
        assert!(p.held_out.iter().all(|h| !p.names.contains(h)));
        let back = StylePrior::from_bytes(&p.to_bytes().unwrap()).unwrap();
        assert_eq!(back.surrogate, p.surrogate);
        assert_eq!(back.names, p.names);
        // The shipped prior stores its voices' embeddings on the search's fitting sentences (unit vectors); a
        // prior without them round-trips without them, and one of the wrong size is refused.
        let fit = p.fit.as_ref().expect("the shipped prior has the fitting sentences' embeddings");
        assert_eq!(back.fit.as_ref(), Some(fit));
        assert!(fit.texts.len() >= 2);
        for v in 0..p.voices() {
            let e = fit.voice(v).unwrap();
            assert!((e.iter().map(|x| x * x).sum::<f32>().sqrt() - 1.0).abs() < 1e-4);
        }
        assert!(fit.voice(p.voices()).is_none());
        let mut bare = p.clone();
        bare.fit = None;
        let bare_back = StylePrior::from_bytes(&bare.to_bytes().unwrap()).unwrap();
        assert!(bare_back.fit.is_none() && !bare_back.metadata.contains_key("fit_texts"));
        bare.fit = Some(FitEmbeddings { texts: fit.texts.clone(), embedding: vec![0.0; EMBED_DIM] });
        assert!(bare.to_bytes().is_err());
        assert!(StylePrior::from_bytes(&p.to_bytes().unwrap()[..1000]).is_err());
    }

    #[test]
    fn solve_spd_solves_several_right_hand_sides_and_refuses_what_it_cannot() {
        // A = [[4, 2, 0], [2, 5, 1], [0, 1, 3]]; B's columns are A·[1, 2, 3] and A·[-1, 0, 2].
        let a0 = [4.0, 2.0, 0.0, 2.0, 5.0, 1.0, 0.0, 1.0, 3.0];
        let want = [[1.0, -1.0], [2.0, 0.0], [3.0, 2.0]];
        let mut b: Vec<f64> =
            (0..3).flat_map(|i| (0..2).map(move |c| (0..3).map(|k| a0[i * 3 + k] * want[k][c]).sum::<f64>())).collect();
        let mut a = a0.to_vec();
        solve_spd(&mut a, 3, &mut b, 2).unwrap();
        for (got, w) in b.iter().zip(want.iter().flatten()) {
            assert!((got - w).abs() < 1e-12, "{b:?}");
        }
        let indefinite = || vec![1.0, 2.0, 2.0, 1.0];
        let refused = |r: Result<(), SpeakerError>| matches!(r, Err(SpeakerError::Solve { .. }));
        assert!(refused(solve_spd(&mut indefinite(), 2, &mut [1.0, 1.0], 1)));
        assert!(refused(solve_spd(&mut [f64::NAN], 1, &mut [1.0], 1)));
        assert!(refused(solve_spd(&mut indefinite(), 2, &mut [1.0], 1)), "B of the wrong size");
        let e = solve_spd(&mut [f64::NAN], 1, &mut [1.0], 1).unwrap_err().to_string();
        assert!(e.contains("1×1") && e.contains("NaN"), "{e}");
    }

    #[test]
    fn real_voices_lie_outside_the_stock_span() {
        // Measured on the shipped prior (numpy gives the same): each training voice, left out, is
        // |z| 0.70–1.37 stock distances and |ε| up to 39 iso units (median 22.6) from the others' span.
        let p = StylePrior::embedded().unwrap();
        let spread = p.leave_one_out_spread().unwrap();
        assert_eq!(spread.len(), p.voices());
        let mut eps: Vec<f32> = spread.iter().map(|s| s.1).collect();
        eps.sort_by(f32::total_cmp);
        let median = eps[eps.len() / 2];
        assert!((20.0..25.0).contains(&median), "median |ε| {median}");
        assert!(spread.iter().all(|&(z, e)| (0.5..1.6).contains(&z) && e < 45.0), "{spread:?}");
    }
}
