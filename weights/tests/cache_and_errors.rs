//! The conversion cache (hit/miss, invalidation, atomic write, damaged or unwritable cache)
//! and the typed errors for missing files, unknown extensions and layout problems.

mod support;

use std::path::Path;

use support::scratch_dir;
use warble_weights::{Tensor, WeightMap, WeightsError, kokoro_v1_0_layout, load_cached};

fn write_small_safetensors(path: &Path, value: f32) {
    use safetensors::tensor::{Dtype, TensorView};
    let bytes: Vec<u8> = [value, 2.0, 3.0].iter().flat_map(|x| x.to_le_bytes()).collect();
    let views = vec![("bert_encoder.module.bias".to_string(), TensorView::new(Dtype::F32, vec![3], &bytes).unwrap())];
    safetensors::serialize_to_file(views, None, path).unwrap();
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

#[test]
fn cache_converts_once_then_hits_and_follows_source_changes() {
    let dir = scratch_dir("cache");
    let source = dir.join("kokoro-v1.0-small.safetensors");
    let cache = dir.join("cache");
    write_small_safetensors(&source, 1.0);
    // A file of the same name elsewhere has its own cache entry, which must survive the
    // stale-file cleanup of the first source.
    std::fs::create_dir_all(dir.join("elsewhere")).unwrap();
    let twin = dir.join("elsewhere/kokoro-v1.0-small.safetensors");
    write_small_safetensors(&twin, 9.0);
    let (_, twin_info) = load_cached(&twin, &cache).unwrap();

    let (first, info) = load_cached(&source, &cache).unwrap();
    assert!(!info.cache_hit && info.cache_note.is_none(), "{info:?}");
    assert!(info.cache_file.is_file());
    assert_eq!(first.get("bert_encoder.bias").unwrap().data, vec![1.0, 2.0, 3.0]);

    let (second, info2) = load_cached(&source, &cache).unwrap();
    assert!(info2.cache_hit);
    assert_eq!(info2.cache_file, info.cache_file);
    assert_eq!(first, second);
    assert_eq!(files_in(&cache).len(), 2, "no temp files left behind");

    // A changed source (new content, size or mtime) is converted again; the stale file goes.
    std::thread::sleep(std::time::Duration::from_millis(20));
    write_small_safetensors(&source, 5.0);
    let (third, info3) = load_cached(&source, &cache).unwrap();
    assert!(!info3.cache_hit);
    assert_ne!(info3.cache_file, info.cache_file);
    assert_eq!(third.get("bert_encoder.bias").unwrap().data, vec![5.0, 2.0, 3.0]);
    let name_of = |p: &Path| p.file_name().unwrap().to_string_lossy().into_owned();
    let mut expected = vec![name_of(&info3.cache_file), name_of(&twin_info.cache_file)];
    expected.sort();
    assert_eq!(files_in(&cache), expected, "the stale file is removed, the twin's is kept");

    // A damaged cache file is ignored (with a note) and rebuilt.
    std::fs::write(&info3.cache_file, b"garbage").unwrap();
    let (fourth, info4) = load_cached(&source, &cache).unwrap();
    assert!(!info4.cache_hit);
    assert!(info4.cache_note.as_deref().unwrap_or("").contains("ignored unreadable cache"), "{info4:?}");
    assert_eq!(fourth, third);
    assert!(load_cached(&source, &cache).unwrap().1.cache_hit);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_unwritable_cache_still_returns_the_weights() {
    let dir = scratch_dir("cache-unwritable");
    let source = dir.join("model.safetensors");
    write_small_safetensors(&source, 1.0);
    let not_a_dir = dir.join("occupied");
    std::fs::write(&not_a_dir, b"a file where the cache folder should go").unwrap();
    let (map, info) = load_cached(&source, &not_a_dir).unwrap();
    assert_eq!(map.len(), 1);
    assert!(!info.cache_hit);
    assert!(info.cache_note.as_deref().unwrap_or("").contains("could not write the cache"), "{info:?}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn int8_onnx_cache_round_trips_exactly() {
    let dir = scratch_dir("cache-onnx");
    let model_dir = support::model_dir();
    // The folder form: find_model_file picks the one .onnx in the models folder.
    let (cold, cold_info) = load_cached(&model_dir, &dir).unwrap();
    assert!(!cold_info.cache_hit, "{cold_info:?}");
    assert!(cold_info.source.ends_with("kokoro-v1.0.int8.onnx"));
    let (warm, warm_info) = load_cached(&model_dir, &dir).unwrap();
    assert!(warm_info.cache_hit);
    assert_eq!(cold, warm, "the cache must reproduce the conversion bit for bit");
    warm.check_layout(kokoro_v1_0_layout(), "Kokoro v1.0").unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn missing_file_says_where_it_looked() {
    let err = warble_weights::load(Path::new("/definitely/not/here/kokoro.onnx")).unwrap_err();
    assert!(matches!(err, WeightsError::NotFound { .. }));
    assert!(err.to_string().contains("/definitely/not/here/kokoro.onnx"), "{err}");
}

#[test]
fn unknown_extension_is_rejected() {
    let dir = scratch_dir("extension");
    let path = dir.join("weights.bin");
    std::fs::write(&path, b"1234").unwrap();
    let err = warble_weights::load(&path).unwrap_err();
    assert!(matches!(&err, WeightsError::UnknownExtension { extension, .. } if extension == "bin"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn model_folder_must_hold_exactly_one_weights_file() {
    let dir = scratch_dir("folder");
    std::fs::write(dir.join("config.json"), b"{}").unwrap();
    let err = warble_weights::find_model_file(&dir).unwrap_err();
    assert!(matches!(err, WeightsError::NoModelFile { .. }));
    assert!(err.to_string().contains("config.json"), "{err}");
    std::fs::write(dir.join("a.onnx"), b"").unwrap();
    assert_eq!(warble_weights::find_model_file(&dir).unwrap(), dir.join("a.onnx"));
    std::fs::write(dir.join("b.pth"), b"").unwrap();
    let err = warble_weights::find_model_file(&dir).unwrap_err();
    assert!(matches!(err, WeightsError::AmbiguousModelDir { .. }), "{err}");
    assert_eq!(
        warble_weights::find_model_file(&support::model_dir()).unwrap(),
        support::model_dir().join("kokoro-v1.0.int8.onnx")
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn layout_check_lists_missing_wrong_and_unexpected_keys() {
    let mut map = WeightMap::default();
    map.insert("bert_encoder.bias".into(), Tensor::new(vec![7], vec![0.0; 7]).unwrap());
    map.insert("bert.pooler.weight".into(), Tensor::new(vec![1], vec![0.0]).unwrap());
    let err = map.check_layout(kokoro_v1_0_layout(), "Kokoro v1.0").unwrap_err().to_string();
    assert!(err.contains("456 missing"), "{err}");
    assert!(err.contains("bert_encoder.bias [7] (expected [512])"), "{err}");
    assert!(err.contains("1 unexpected (bert.pooler.weight)"), "{err}");
    let err = map.get_shaped("bert_encoder.bias", &[512]).unwrap_err();
    assert!(matches!(err, WeightsError::ShapeMismatch { .. }), "{err}");
    let err = map.get("bert_encoder.weight").unwrap_err().to_string();
    assert!(err.contains("bert_encoder.weight") && err.contains("missing"), "{err}");
}
