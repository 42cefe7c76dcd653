//! The real `kokoro-v1.0.int8.onnx`: every key, every initializer accounted for, every value
//! equal to an independent numpy dequantization, and no panic on damaged copies.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::OnceLock;

use warble_weights::onnx::{InitializerRole, OnnxReport};
use warble_weights::{WeightMap, WeightsError, kokoro_v1_0_layout};

fn int8_path() -> std::path::PathBuf {
    support::model_dir().join("kokoro-v1.0.int8.onnx")
}

/// The conversion is shared by the tests of this file (it takes a few seconds unoptimized).
fn converted() -> &'static (WeightMap, OnnxReport) {
    static CONVERTED: OnceLock<(WeightMap, OnnxReport)> = OnceLock::new();
    CONVERTED.get_or_init(|| warble_weights::onnx::load_onnx(&int8_path()).expect("int8 ONNX converts"))
}

#[test]
fn all_457_keys_have_the_checkpoint_shapes() {
    let (map, _) = converted();
    assert_eq!(map.len(), 457);
    map.check_layout(kokoro_v1_0_layout(), "Kokoro v1.0").expect("layout");
    assert_eq!(map.parameter_count(), 81_140_664);
}

#[test]
fn every_initializer_is_accounted_for_as_the_mapping_table_says() {
    let (_, report) = converted();
    assert_eq!(report.node_count, 3614);
    assert_eq!(report.initializers.len(), 775);
    let counts: Vec<usize> =
        ["weight", "qparam", "derived", "buffer", "const"].iter().map(|k| report.count(k)).collect();
    assert_eq!(counts, vec![427, 230, 48, 4, 66]);

    // tests/data/onnx-int8-keys.tsv is docs/onnx-int8-keys.tsv (written independently).
    let table = include_str!("data/onnx-int8-keys.tsv");
    let mut expected: BTreeMap<&str, (&str, BTreeSet<String>)> = BTreeMap::new();
    for line in table.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        let (name, key, kind) = (f[0], f[1], f[5]);
        let entry = expected.entry(name).or_insert((kind, BTreeSet::new()));
        entry.1.extend(key.split(';').map(str::to_string));
    }
    assert_eq!(expected.len(), 775);
    for account in &report.initializers {
        let (kind, keys) =
            expected.get(account.name.as_str()).unwrap_or_else(|| panic!("{} not in table", account.name));
        assert_eq!(account.role.kind(), *kind, "{}", account.name);
        let ours: BTreeSet<String> = match &account.role {
            InitializerRole::Weight { keys, .. } => keys.iter().cloned().collect(),
            InitializerRole::QuantParam { used_by } => used_by.iter().cloned().collect(),
            InitializerRole::DerivedReciprocal { of } => [of.clone()].into(),
            InitializerRole::Buffer { .. } | InitializerRole::Constant => continue,
        };
        assert_eq!(&ours, keys, "{}", account.name);
    }
}

#[test]
fn values_match_the_independent_numpy_reference() {
    // tests/data/int8_checksums.tsv comes from scripts/int8_reference_checksums.py.
    let (map, _) = converted();
    let reference = include_str!("data/int8_checksums.tsv");
    let mut checked = 0;
    for line in reference.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let (key, shape, sum, weighted) = (f[0], f[1], f[2].parse::<f64>().unwrap(), f[3].parse::<f64>().unwrap());
        let t = map.get(key).unwrap();
        assert_eq!(format!("{:?}", t.shape), shape, "{key}");
        let our_sum: f64 = t.data.iter().map(|&x| f64::from(x)).sum();
        let our_weighted: f64 = t
            .data
            .iter()
            .enumerate()
            .map(|(i, &x)| f64::from(x) * (((i as u64).wrapping_mul(2_654_435_761) % 1000) as f64 / 1000.0))
            .sum();
        let abs_sum: f64 = t.data.iter().map(|&x| f64::from(x).abs()).sum();
        let tol = 1e-9 * abs_sum + 1e-12;
        assert!((our_sum - sum).abs() <= tol, "{key}: sum {our_sum} vs {sum}");
        assert!((our_weighted - weighted).abs() <= tol, "{key}: weighted {our_weighted} vs {weighted}");
        checked += 1;
    }
    assert_eq!(checked, 457);
}

#[test]
fn spot_values_follow_the_documented_transforms() {
    let (map, _) = converted();
    // Quantized weights are multiples of their scale: the ConvInteger weights are 7-bit
    // asymmetric uint8, i.e. at most 128 distinct values per tensor.
    let conv = map.get("text_encoder.cnn.0.0.weight").unwrap();
    let distinct: BTreeSet<u32> = conv.data.iter().map(|x| x.to_bits()).collect();
    assert!(distinct.len() <= 128, "{} distinct values", distinct.len());
    // ConvTranspose and conv_post stay float: many distinct values.
    let ups = map.get("decoder.generator.ups.0.weight").unwrap();
    assert!(ups.data.iter().map(|x| x.to_bits()).collect::<BTreeSet<_>>().len() > 10_000);
    // Snake alphas are positive and 1/alpha was folded into the graph as a separate constant.
    assert!(map.get("decoder.generator.resblocks.0.alpha1.0").unwrap().data.iter().all(|&a| a > 0.0));
}

fn expect_error_not_panic(bytes: &[u8], what: &str) -> WeightsError {
    match std::panic::catch_unwind(|| warble_weights::onnx::convert_bytes(bytes, Path::new("damaged.onnx"))) {
        Ok(Ok(_)) => panic!("{what}: damaged model loaded"),
        Ok(Err(e)) => e,
        Err(_) => panic!("{what}: panicked"),
    }
}

#[test]
fn truncated_copies_fail_cleanly() {
    let bytes = std::fs::read(int8_path()).unwrap();
    let len = bytes.len();
    for cut in [0, 1, 2, 7, 100, 4096, 1 << 20, len / 3, len / 2, len - 1000, len - 1] {
        let err = expect_error_not_panic(&bytes[..cut], &format!("cut at {cut}"));
        assert!(matches!(err, WeightsError::Corrupt { .. } | WeightsError::GraphMapping { .. }), "cut {cut}: {err}");
    }
    // Through the file API too, on a truncated copy on disk.
    let dir = support::scratch_dir("truncated");
    let copy = dir.join("kokoro-truncated.onnx");
    std::fs::write(&copy, &bytes[..len / 2]).unwrap();
    let err = warble_weights::load(&copy).unwrap_err().to_string();
    assert!(err.contains("kokoro-truncated.onnx") && err.contains("not a readable ONNX file"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn garbage_and_flipped_bytes_fail_cleanly() {
    let noise: Vec<u8> = support::values(100_000, 7).iter().map(|v| (v.to_bits() >> 13) as u8).collect();
    expect_error_not_panic(&noise, "noise");
    expect_error_not_panic(b"this is not an onnx file at all\n", "text");
    // A valid prefix followed by noise.
    let mut bytes = std::fs::read(int8_path()).unwrap();
    let mid = bytes.len() / 2;
    bytes.truncate(mid + 50_000);
    bytes[mid..].copy_from_slice(&noise[..50_000]);
    expect_error_not_panic(&bytes, "noise tail");
}
