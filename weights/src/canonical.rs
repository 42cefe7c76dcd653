//! Canonical key names and the Kokoro v1.0 layout.
//!
//! PyTorch-side checkpoints name tensors after the saving code, not after `KModel`: the
//! official `kokoro-v1_0.pth` nests five DataParallel state dicts (`bert.module.…`), and
//! weight-normed convs are stored as `weight_g`/`weight_v` (old `torch.nn.utils.weight_norm`)
//! or `parametrizations.weight.original0/1` (the newer parametrization API). This module maps
//! all of them to one key per parameter, folding weight norm on the way, so that the model code
//! deals with one set of names whatever the source.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use crate::{Tensor, WeightMap, WeightsError};

/// One entry of an expected layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedTensor {
    pub key: String,
    pub shape: Vec<usize>,
}

/// The 548 keys of `kokoro-v1_0.pth` (group, key inside the group with `module.`, shape).
const KOKORO_V1_0_CHECKPOINT_KEYS: &str = include_str!("kokoro_v1_0_keys.tsv");

/// The 457 canonical tensors of Kokoro-82M v1.0: the checkpoint's keys without `module.`,
/// weight norm folded, `bert.pooler.*` (unused by KModel) dropped. Sorted by key.
pub fn kokoro_v1_0_layout() -> &'static [ExpectedTensor] {
    static LAYOUT: OnceLock<Vec<ExpectedTensor>> = OnceLock::new();
    LAYOUT.get_or_init(|| {
        let mut layout = BTreeMap::new();
        for line in KOKORO_V1_0_CHECKPOINT_KEYS.lines().filter(|l| !l.trim().is_empty()) {
            let mut fields = line.split('\t');
            let (Some(group), Some(key), Some(shape)) = (fields.next(), fields.next(), fields.next()) else {
                continue;
            };
            let shape: Vec<usize> =
                shape.trim_matches(|c| c == '[' || c == ']').split(',').filter_map(|d| d.trim().parse().ok()).collect();
            let Some(name) = canonical_name(&format!("{group}.{key}")) else {
                continue;
            };
            if let Some(module) = name.strip_suffix(".weight_g") {
                let _ = module; // the folded weight takes weight_v's shape
                continue;
            }
            let name = match name.strip_suffix(".weight_v") {
                Some(module) => format!("{module}.weight"),
                None => name,
            };
            layout.insert(name, shape);
        }
        layout.into_iter().map(|(key, shape)| ExpectedTensor { key, shape }).collect()
    })
}

/// The canonical name of a flattened checkpoint key, or `None` for keys KModel does not use.
/// DataParallel's `module` segment is removed wherever it appears (`bert.module.x`,
/// `module.bert.x`); no Kokoro module is itself called `module`.
pub fn canonical_name(key: &str) -> Option<String> {
    let name: Vec<&str> = key.split('.').filter(|s| *s != "module").collect();
    let name = name.join(".");
    if name.starts_with("bert.pooler.") || name.ends_with(".num_batches_tracked") || name.ends_with(".position_ids") {
        return None;
    }
    Some(name)
}

/// Weight-norm parameter naming conventions: (magnitude suffix, direction suffix).
const WEIGHT_NORM_SUFFIXES: &[(&str, &str)] =
    &[(".weight_g", ".weight_v"), (".parametrizations.weight.original0", ".parametrizations.weight.original1")];

/// `W = g · v / ‖v‖`, the norm taken per slice along dim 0 over all remaining dims.
pub fn fold_weight_norm(key: &str, g: &Tensor, v: &Tensor) -> Result<Tensor, WeightsError> {
    let rows = v.shape.first().copied().unwrap_or(0);
    let g_ok = g.data.len() == rows && g.shape.first() == Some(&rows) && g.shape.iter().skip(1).all(|&d| d == 1);
    if !g_ok || rows == 0 {
        return Err(WeightsError::ShapeMismatch {
            key: format!("{key} (weight-norm magnitude)"),
            found: g.shape.clone(),
            expected: std::iter::once(rows).chain(std::iter::repeat_n(1, v.shape.len().saturating_sub(1))).collect(),
        });
    }
    let per_row = v.data.len() / rows;
    let mut data = Vec::with_capacity(v.data.len());
    for (row, &magnitude) in v.data.chunks_exact(per_row.max(1)).zip(&g.data) {
        let norm = row.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>().sqrt();
        let factor = f64::from(magnitude) / norm;
        data.extend(row.iter().map(|&x| (f64::from(x) * factor) as f32));
    }
    Ok(Tensor { shape: v.shape.clone(), data })
}

/// Renames raw checkpoint tensors to canonical keys and folds weight norm.
pub fn canonicalize(raw: Vec<(String, Tensor)>, path: &Path) -> Result<WeightMap, WeightsError> {
    let mut renamed: BTreeMap<String, (String, Tensor)> = BTreeMap::new();
    for (original, t) in raw {
        let Some(name) = canonical_name(&original) else {
            continue;
        };
        if let Some((first, _)) = renamed.get(&name) {
            return Err(WeightsError::Corrupt {
                path: path.to_path_buf(),
                format: "checkpoint",
                detail: format!("keys {first:?} and {original:?} both map to {name:?}"),
            });
        }
        renamed.insert(name, (original, t));
    }
    let mut map = WeightMap::default();
    let names: Vec<String> = renamed.keys().cloned().collect();
    for name in names {
        let Some((_, t)) = renamed.remove(&name) else {
            continue;
        }; // already consumed as a pair
        let pair = WEIGHT_NORM_SUFFIXES.iter().find_map(|&(g_suffix, v_suffix)| {
            name.strip_suffix(g_suffix)
                .map(|m| (m.to_string(), true, v_suffix, g_suffix))
                .or_else(|| name.strip_suffix(v_suffix).map(|m| (m.to_string(), false, g_suffix, v_suffix)))
        });
        let Some((module, is_g, partner_suffix, _)) = pair else {
            map.insert(name, t);
            continue;
        };
        let partner = format!("{module}{partner_suffix}");
        let Some((_, other)) = renamed.remove(&partner) else {
            return Err(WeightsError::MissingKey {
                key: partner,
                hint: format!(" (it is the weight-norm partner of {name:?} in {})", path.display()),
            });
        };
        let (g, v) = if is_g { (t, other) } else { (other, t) };
        let key = format!("{module}.weight");
        let folded = fold_weight_norm(&key, &g, &v)?;
        if map.contains(&key) {
            return Err(WeightsError::Corrupt {
                path: path.to_path_buf(),
                format: "checkpoint",
                detail: format!("{key:?} is stored both plainly and as weight-norm parameters"),
            });
        }
        map.insert(key, folded);
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_has_457_keys_with_folded_shapes() {
        let layout = kokoro_v1_0_layout();
        assert_eq!(layout.len(), 457);
        let find = |k: &str| layout.iter().find(|e| e.key == k).map(|e| e.shape.clone());
        assert_eq!(find("decoder.generator.ups.0.weight"), Some(vec![512, 256, 20]));
        assert_eq!(find("text_encoder.cnn.0.0.weight"), Some(vec![512, 512, 5]));
        assert_eq!(find("predictor.text_encoder.lstms.0.weight_ih_l0_reverse"), Some(vec![1024, 640]));
        assert_eq!(find("bert.pooler.weight"), None);
        assert!(layout.iter().all(|e| !e.key.contains("weight_g") && !e.key.contains("module")));
    }

    #[test]
    fn weight_norm_folds_per_row() {
        let v = Tensor { shape: vec![2, 1, 2], data: vec![3.0, 4.0, 0.0, 2.0] };
        let g = Tensor { shape: vec![2, 1, 1], data: vec![10.0, 0.5] };
        let w = fold_weight_norm("x.weight", &g, &v).unwrap();
        assert_eq!(w.data, vec![6.0, 8.0, 0.0, 0.5]);
        let bad_g = Tensor { shape: vec![3, 1, 1], data: vec![1.0; 3] };
        assert!(fold_weight_norm("x.weight", &bad_g, &v).is_err());
    }
}
