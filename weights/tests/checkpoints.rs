//! PyTorch `.pth`/`.pt` and safetensors checkpoints with Kokoro's structure: five
//! DataParallel state dicts, `module.` prefixes, weight norm as `weight_g`/`weight_v`, the
//! unused pooler. The real `kokoro-v1_0.pth` is not on the test machines, so the tests write
//! small checkpoints of the same structure by hand and check the canonical result numerically.

mod support;

use std::collections::HashMap;
use std::path::Path;

use support::torch_zip::{self, Value};
use support::{assert_close, scratch_dir, values};
use warble_weights::WeightsError;

/// Folds weight norm the slow, obvious way: row i of v scaled by g[i] / ‖v[i]‖.
fn folded(g: &[f32], v: &[f32]) -> Vec<f32> {
    let per_row = v.len() / g.len();
    v.chunks(per_row)
        .zip(g)
        .flat_map(|(row, &gi)| {
            let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt();
            row.iter().map(move |x| gi * x / norm).collect::<Vec<_>>()
        })
        .collect()
}

struct Tensors {
    word_embeddings: Vec<f32>,
    ups_g: Vec<f32>,
    ups_v: Vec<f32>,
    conv_g: Vec<f32>,
    conv_v: Vec<f32>,
    lstm_shared_storage: Vec<f32>,
    bias: Vec<f32>,
}

fn sample() -> Tensors {
    Tensors {
        word_embeddings: values(4 * 3, 11),
        ups_g: vec![2.0, 0.5],
        ups_v: values(2 * 3 * 4, 12), // ConvTranspose1d [in=2, out=3, k=4]: one norm per input channel
        conv_g: vec![1.0, 3.0, 0.25],
        conv_v: values(3 * 2 * 3, 13),
        lstm_shared_storage: values(8 * 2 + 8, 14),
        bias: vec![0.5, -0.5, 1.5],
    }
}

fn write_pth(path: &Path, s: &Tensors) {
    let t = |storage, offset, shape: &[usize]| Value::Tensor { storage, offset, shape: shape.to_vec() };
    let od =
        |items: Vec<(&str, Value)>| Value::OrderedDict(items.into_iter().map(|(k, v)| (k.to_string(), v)).collect());
    let storages = vec![
        s.word_embeddings.clone(),
        vec![9.0; 4],
        vec![8.0; 2],
        s.ups_g.clone(),
        s.ups_v.clone(),
        s.conv_g.clone(),
        s.conv_v.clone(),
        s.lstm_shared_storage.clone(),
        s.bias.clone(),
    ];
    let root = Value::Dict(vec![
        (
            "bert".into(),
            od(vec![
                ("module.embeddings.word_embeddings.weight", t(0, 0, &[4, 3])),
                ("module.pooler.weight", t(1, 0, &[2, 2])),
                ("module.pooler.bias", t(2, 0, &[2])),
            ]),
        ),
        (
            "decoder".into(),
            od(vec![
                ("module.generator.ups.0.weight_g", t(3, 0, &[2, 1, 1])),
                ("module.generator.ups.0.weight_v", t(4, 0, &[2, 3, 4])),
                ("module.encode.conv1.weight_v", t(6, 0, &[3, 2, 3])),
                ("module.encode.conv1.weight_g", t(5, 0, &[3, 1, 1])),
                ("module.encode.conv1.bias", t(8, 0, &[3])),
            ]),
        ),
        // A view into a larger storage (offset 8), as torch.save writes for shared storages.
        ("predictor".into(), od(vec![("module.lstm.weight_ih_l0", t(7, 8, &[8, 2]))])),
    ]);
    torch_zip::write(path, &root, &storages);
}

fn check_canonical(map: &warble_weights::WeightMap, s: &Tensors) {
    let keys: Vec<&str> = map.keys().collect();
    assert_eq!(
        keys,
        vec![
            "bert.embeddings.word_embeddings.weight",
            "decoder.encode.conv1.bias",
            "decoder.encode.conv1.weight",
            "decoder.generator.ups.0.weight",
            "predictor.lstm.weight_ih_l0",
        ]
    );
    assert_eq!(map.get("bert.embeddings.word_embeddings.weight").unwrap().data, s.word_embeddings);
    let ups = map.get("decoder.generator.ups.0.weight").unwrap();
    assert_eq!(ups.shape, vec![2, 3, 4]);
    assert_close(&ups.data, &folded(&s.ups_g, &s.ups_v), 1e-6, "ConvTranspose weight norm");
    let conv = map.get("decoder.encode.conv1.weight").unwrap();
    assert_eq!(conv.shape, vec![3, 2, 3]);
    assert_close(&conv.data, &folded(&s.conv_g, &s.conv_v), 1e-6, "Conv weight norm");
    // Each folded row has norm g[i].
    for (row, g) in conv.data.chunks(6).zip(&s.conv_g) {
        let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - g).abs() < 1e-5);
    }
    assert_eq!(map.get("predictor.lstm.weight_ih_l0").unwrap().data, s.lstm_shared_storage[8..24].to_vec());
    assert_eq!(map.get("decoder.encode.conv1.bias").unwrap().data, s.bias);
}

#[test]
fn pth_with_module_prefixes_and_weight_norm_is_canonicalized() {
    let dir = scratch_dir("pth");
    let s = sample();
    for name in ["kokoro-small.pth", "kokoro-small.pt"] {
        let path = dir.join(name);
        write_pth(&path, &s);
        let map = warble_weights::load(&path).unwrap_or_else(|e| panic!("{e}"));
        check_canonical(&map, &s);
    }
    std::fs::remove_dir_all(dir).unwrap();
}

fn write_safetensors(path: &Path, prefix: &str, s: &Tensors, half_embeddings: bool) {
    use safetensors::tensor::{Dtype, TensorView};
    let f32_bytes = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let emb_bytes: Vec<u8> = if half_embeddings {
        s.word_embeddings.iter().flat_map(|&x| half::f16::from_f32(x).to_le_bytes()).collect()
    } else {
        f32_bytes(&s.word_embeddings)
    };
    let owned: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = vec![
        (
            format!("bert.{prefix}embeddings.word_embeddings.weight"),
            if half_embeddings { Dtype::F16 } else { Dtype::F32 },
            vec![4, 3],
            emb_bytes,
        ),
        (format!("bert.{prefix}pooler.bias"), Dtype::F32, vec![2], f32_bytes(&[8.0, 8.0])),
        (format!("decoder.{prefix}generator.ups.0.weight_g"), Dtype::F32, vec![2, 1, 1], f32_bytes(&s.ups_g)),
        (format!("decoder.{prefix}generator.ups.0.weight_v"), Dtype::F32, vec![2, 3, 4], f32_bytes(&s.ups_v)),
        // The newer parametrization names for the same thing.
        (
            format!("decoder.{prefix}encode.conv1.parametrizations.weight.original0"),
            Dtype::F32,
            vec![3, 1, 1],
            f32_bytes(&s.conv_g),
        ),
        (
            format!("decoder.{prefix}encode.conv1.parametrizations.weight.original1"),
            Dtype::F32,
            vec![3, 2, 3],
            f32_bytes(&s.conv_v),
        ),
        (format!("decoder.{prefix}encode.conv1.bias"), Dtype::F32, vec![3], f32_bytes(&s.bias)),
        (
            format!("predictor.{prefix}lstm.weight_ih_l0"),
            Dtype::F32,
            vec![8, 2],
            f32_bytes(&s.lstm_shared_storage[8..24]),
        ),
    ];
    let views: Vec<(String, TensorView<'_>)> = owned
        .iter()
        .map(|(k, d, shape, bytes)| (k.clone(), TensorView::new(*d, shape.clone(), bytes).unwrap()))
        .collect();
    safetensors::serialize_to_file(views, Some(HashMap::new()), path).unwrap();
}

#[test]
fn safetensors_prefixed_or_not_are_canonicalized() {
    let dir = scratch_dir("safetensors");
    let s = sample();
    for (prefix, half) in [("module.", false), ("", false), ("module.", true)] {
        let path = dir.join("kokoro.safetensors");
        write_safetensors(&path, prefix, &s, half);
        let map = warble_weights::load(&path).unwrap_or_else(|e| panic!("{e}"));
        if half {
            let emb = map.get("bert.embeddings.word_embeddings.weight").unwrap();
            assert_close(&emb.data, &s.word_embeddings, 1e-3, "f16 embeddings");
        } else {
            check_canonical(&map, &s);
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn weight_g_without_weight_v_names_the_missing_partner() {
    let dir = scratch_dir("lonely-g");
    let path = dir.join("lonely.pth");
    let root = Value::Dict(vec![(
        "decoder".into(),
        Value::OrderedDict(vec![(
            "module.F0_conv.weight_g".into(),
            Value::Tensor { storage: 0, offset: 0, shape: vec![1, 1, 1] },
        )]),
    )]);
    torch_zip::write(&path, &root, &[vec![1.0]]);
    let err = warble_weights::load(&path).unwrap_err();
    assert!(matches!(&err, WeightsError::MissingKey { key, .. } if key == "decoder.F0_conv.weight_v"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn damaged_pth_and_safetensors_fail_cleanly() {
    let dir = scratch_dir("damaged");
    let s = sample();
    let pth = dir.join("good.pth");
    write_pth(&pth, &s);
    let bytes = std::fs::read(&pth).unwrap();
    for cut in [0, 10, bytes.len() / 2, bytes.len() - 10] {
        let bad = dir.join("bad.pth");
        std::fs::write(&bad, &bytes[..cut]).unwrap();
        let result = std::panic::catch_unwind(|| warble_weights::load(&bad));
        let err = result.expect("no panic").expect_err("truncated .pth must fail");
        assert!(err.to_string().contains("bad.pth"), "{err}");
    }
    let st = dir.join("good.safetensors");
    write_safetensors(&st, "", &s, false);
    let bytes = std::fs::read(&st).unwrap();
    for cut in [0, 7, 20, bytes.len() - 4] {
        let bad = dir.join("bad.safetensors");
        std::fs::write(&bad, &bytes[..cut]).unwrap();
        let result = std::panic::catch_unwind(|| warble_weights::load(&bad));
        let err = result.expect("no panic").expect_err("truncated safetensors must fail");
        assert!(matches!(err, WeightsError::Corrupt { .. }), "{err}");
    }
    let garbage = dir.join("garbage.pth");
    std::fs::write(&garbage, b"PK\x03\x04 definitely not a torch archive").unwrap();
    assert!(matches!(warble_weights::load(&garbage), Err(WeightsError::Corrupt { .. })));
    std::fs::remove_dir_all(dir).unwrap();
}
