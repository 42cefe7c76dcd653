//! Voice packs from the real files in the models folder (54 raw `.bin`, the 5-voice npz) and
//! from `.pt`/npz/`voices-v1.0.bin` files the tests write; style rows, blends and errors.

use std::io::Write;
use std::path::{Path, PathBuf};

use warble_speaker::{PACK_LEN, PACK_ROWS, STYLE_DIM, SpeakerError, VoiceLibrary, VoicePack, npy};

/// `$WARBLE_MODEL_DIR`, or `../shared/models` next to the workspace; panics (never skips) when
/// the voices are missing.
fn model_dir() -> PathBuf {
    let dir = std::env::var_os("WARBLE_MODEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/models"));
    assert!(dir.join("voices").is_dir(), "voice packs not found in {} (set WARBLE_MODEL_DIR)", dir.display());
    dir
}

fn scratch_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("warble-speaker-test-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const V1_0_VOICES: [&str; 54] = [
    "af_alloy",
    "af_aoede",
    "af_bella",
    "af_heart",
    "af_jessica",
    "af_kore",
    "af_nicole",
    "af_nova",
    "af_river",
    "af_sarah",
    "af_sky",
    "am_adam",
    "am_echo",
    "am_eric",
    "am_fenrir",
    "am_liam",
    "am_michael",
    "am_onyx",
    "am_puck",
    "am_santa",
    "bf_alice",
    "bf_emma",
    "bf_isabella",
    "bf_lily",
    "bm_daniel",
    "bm_fable",
    "bm_george",
    "bm_lewis",
    "ef_dora",
    "em_alex",
    "em_santa",
    "ff_siwis",
    "hf_alpha",
    "hf_beta",
    "hm_omega",
    "hm_psi",
    "if_sara",
    "im_nicola",
    "jf_alpha",
    "jf_gongitsune",
    "jf_nezumi",
    "jf_tebukuro",
    "jm_kumo",
    "pf_dora",
    "pm_alex",
    "pm_santa",
    "zf_xiaobei",
    "zf_xiaoni",
    "zf_xiaoxiao",
    "zf_xiaoyi",
    "zm_yunjian",
    "zm_yunxi",
    "zm_yunxia",
    "zm_yunyang",
];
const JA_VOICES: [&str; 5] = ["jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo"];

fn raw_f32(path: &Path) -> Vec<f32> {
    std::fs::read(path).unwrap().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

fn write_npz(path: &Path, arrays: &[(&str, Vec<usize>, &[f32])], deflate: bool) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let method = if deflate { zip::CompressionMethod::Deflated } else { zip::CompressionMethod::Stored };
    let options = zip::write::SimpleFileOptions::default().compression_method(method);
    for (name, shape, data) in arrays {
        zip.start_file(format!("{name}.npy"), options).unwrap();
        zip.write_all(&npy::encode_f32(shape, data)).unwrap();
    }
    zip.finish().unwrap();
}

/// Writes a `torch.save(tensor)` archive by hand: protocol-2 pickle of
/// `_rebuild_tensor_v2(persistent storage, offset, (510, 1, 256), stride, False, OrderedDict())`.
fn write_pt(path: &Path, storage: &[f32], offset: usize, shape: &[usize], stride: &[usize]) {
    let mut p = vec![0x80, 2];
    let text = |p: &mut Vec<u8>, s: &str| {
        p.push(b'X');
        p.extend_from_slice(&(s.len() as u32).to_le_bytes());
        p.extend_from_slice(s.as_bytes());
    };
    let int = |p: &mut Vec<u8>, v: usize| {
        p.push(b'J');
        p.extend_from_slice(&(v as i32).to_le_bytes());
    };
    p.extend_from_slice(b"ctorch._utils\n_rebuild_tensor_v2\nq\x00(");
    p.push(b'(');
    text(&mut p, "storage");
    p.extend_from_slice(b"ctorch\nFloatStorage\nq\x01");
    text(&mut p, "0");
    text(&mut p, "cpu");
    int(&mut p, storage.len());
    p.extend_from_slice(b"tQ");
    int(&mut p, offset);
    p.push(b'(');
    shape.iter().for_each(|&d| int(&mut p, d));
    p.push(b't');
    p.push(b'(');
    stride.iter().for_each(|&d| int(&mut p, d));
    p.push(b't');
    p.extend_from_slice(b"\x89ccollections\nOrderedDict\nq\x02)RtR.");
    let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, bytes) in [
        ("data.pkl", p),
        ("byteorder", b"little".to_vec()),
        ("data/0", storage.iter().flat_map(|x| x.to_le_bytes()).collect()),
        ("version", b"3\n".to_vec()),
    ] {
        zip.start_file(format!("{stem}/{name}"), options).unwrap();
        zip.write_all(&bytes).unwrap();
    }
    zip.finish().unwrap();
}

#[test]
fn all_54_raw_bin_voices_load_with_the_reference_rows() {
    let library = VoiceLibrary::load(&model_dir().join("voices")).unwrap();
    assert_eq!(library.names(), V1_0_VOICES.to_vec());
    let heart = library.get("af_heart").unwrap();
    let raw = raw_f32(&model_dir().join("voices/af_heart.bin"));
    assert_eq!(heart.as_slice(), raw.as_slice());
    // Row n-1 for n phonemes, like KPipeline's pack[len(ps)-1].
    assert_eq!(heart.style_for(1).unwrap().to_vec(), raw[..STYLE_DIM].to_vec());
    assert_eq!(heart.style_for(42).unwrap().to_vec(), raw[41 * STYLE_DIM..42 * STYLE_DIM].to_vec());
    assert_eq!(heart.style_for(PACK_ROWS).unwrap().to_vec(), raw[PACK_LEN - STYLE_DIM..].to_vec());
    // Known statistics of af_heart (docs/kokoro-architecture.md §6).
    let (min, max) = raw.iter().fold((f32::MAX, f32::MIN), |(a, b), &x| (a.min(x), b.max(x)));
    assert!((min + 1.5098).abs() < 1e-3 && (max - 1.7566).abs() < 1e-3, "{min} {max}");
}

#[test]
fn npz_voices_are_bit_identical_to_the_bin_ones() {
    let npz = VoiceLibrary::load(&model_dir().join("voices_ja.npz")).unwrap();
    assert_eq!(npz.names(), JA_VOICES.to_vec());
    let bins = VoiceLibrary::load(&model_dir().join("voices")).unwrap();
    for name in JA_VOICES {
        let a = npz.get(name).unwrap().as_slice();
        let b = bins.get(name).unwrap().as_slice();
        assert!(a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()), "{name} differs");
    }
}

#[test]
fn kokoro_onnx_voices_bin_is_recognised_as_npz_by_content() {
    let dir = scratch_dir("voices-v1.0");
    let path = dir.join("voices-v1.0.bin");
    std::fs::copy(model_dir().join("voices_ja.npz"), &path).unwrap();
    let library = VoiceLibrary::load(&path).unwrap();
    assert_eq!(library.names(), JA_VOICES.to_vec());
    // Compressed npz (np.savez_compressed) and (510, 256) arrays work too.
    let data = raw_f32(&model_dir().join("voices/jm_kumo.bin"));
    write_npz(&dir.join("compressed.npz"), &[("jm_kumo", vec![510, 256], &data)], true);
    let compressed = VoiceLibrary::load(&dir.join("compressed.npz")).unwrap();
    assert_eq!(compressed.get("jm_kumo").unwrap().as_slice(), data.as_slice());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_folder_mixing_formats_dedupes_identical_voices_and_rejects_conflicts() {
    let dir = scratch_dir("mixed");
    std::fs::copy(model_dir().join("voices_ja.npz"), dir.join("voices_ja.npz")).unwrap();
    std::fs::copy(model_dir().join("voices/jf_alpha.bin"), dir.join("jf_alpha.bin")).unwrap();
    std::fs::copy(model_dir().join("voices/af_heart.bin"), dir.join("af_heart.bin")).unwrap();
    std::fs::write(dir.join("README.txt"), b"not a voice").unwrap();
    let library = VoiceLibrary::load(&dir).unwrap();
    assert_eq!(library.len(), 6);
    // A different jm_kumo in another file is a conflict naming both files.
    let mut other = raw_f32(&model_dir().join("voices/jm_kumo.bin"));
    other[0] += 1.0;
    std::fs::write(dir.join("jm_kumo.bin"), other.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>()).unwrap();
    let err = VoiceLibrary::load(&dir).unwrap_err();
    assert!(matches!(&err, SpeakerError::DuplicateVoice { name, .. } if name == "jm_kumo"), "{err}");
    assert!(err.to_string().contains("jm_kumo.bin") && err.to_string().contains("voices_ja.npz"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn hf_pt_voice_loads_including_strided_views() {
    let dir = scratch_dir("pt");
    let data = raw_f32(&model_dir().join("voices/af_bella.bin"));
    write_pt(&dir.join("af_bella.pt"), &data, 0, &[510, 1, 256], &[256, 256, 1]);
    let library = VoiceLibrary::load(&dir.join("af_bella.pt")).unwrap();
    assert_eq!(library.names(), vec!["af_bella"]);
    assert_eq!(library.get("af_bella").unwrap().as_slice(), data.as_slice());
    // The same values as a transposed view [256, 510] → .T, at an offset in a larger storage.
    let mut storage = vec![-7.0f32; 3];
    let mut transposed = vec![0f32; PACK_LEN];
    for r in 0..PACK_ROWS {
        for c in 0..STYLE_DIM {
            transposed[c * PACK_ROWS + r] = data[r * STYLE_DIM + c];
        }
    }
    storage.extend(transposed);
    write_pt(&dir.join("viewed.pt"), &storage, 3, &[510, 256], &[1, 510]);
    let viewed = VoiceLibrary::load(&dir.join("viewed.pt")).unwrap();
    assert_eq!(viewed.get("viewed").unwrap().as_slice(), data.as_slice());
    // A .pt whose root is not a tensor (e.g. a state dict) is refused.
    let pickle_is_dict = dir.join("dict.pt");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&pickle_is_dict).unwrap());
    zip.start_file("dict/data.pkl", zip::write::SimpleFileOptions::default()).unwrap();
    zip.write_all(b"\x80\x02}q\x00.").unwrap();
    zip.finish().unwrap();
    let err = VoiceLibrary::load(&pickle_is_dict).unwrap_err().to_string();
    assert!(err.contains("not a tensor"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn blends_are_normalised_weighted_means() {
    let library = VoiceLibrary::load(&model_dir().join("voices")).unwrap();
    let a = library.get("jf_alpha").unwrap().as_slice().to_vec();
    let b = library.get("jm_kumo").unwrap().as_slice().to_vec();
    let check = |spec: &str, wa: f32, wb: f32| {
        let mixed = library.resolve(spec).unwrap();
        for i in (0..PACK_LEN).step_by(97) {
            let expected = wa * a[i] + wb * b[i];
            assert!((mixed.as_slice()[i] - expected).abs() < 1e-6, "{spec} [{i}]");
        }
        mixed
    };
    let weighted = check("jf_alpha:0.7,jm_kumo:0.3", 0.7, 0.3);
    assert_eq!(weighted.name(), "jf_alpha:0.7,jm_kumo:0.3");
    check("jf_alpha:2, jm_kumo:1", 2.0 / 3.0, 1.0 / 3.0);
    check("jf_alpha,jm_kumo", 0.5, 0.5);
    check("jf_alpha,jf_alpha,jm_kumo", 2.0 / 3.0, 1.0 / 3.0);
    check("jf_alpha:1,jm_kumo:0", 1.0, 0.0);
    let single = library.resolve("af_heart").unwrap();
    assert_eq!(&single, library.get("af_heart").unwrap());
    // A blend's style rows are the blend of the rows.
    let mean = library.resolve("jf_alpha,jm_kumo").unwrap().style_for(10).unwrap();
    assert!((mean[5] - 0.5 * (a[9 * STYLE_DIM + 5] + b[9 * STYLE_DIM + 5])).abs() < 1e-6);
}

#[test]
fn bad_specs_and_unknown_voices_are_clear_errors() {
    let library = VoiceLibrary::load(&model_dir().join("voices")).unwrap();
    let err = library.get("af_haert").unwrap_err().to_string();
    assert!(err.contains("did you mean \"af_heart\"") && err.contains("zm_yunyang"), "{err}");
    let err = library.resolve("af_heart:0.5,nobody:0.5").unwrap_err();
    assert!(matches!(&err, SpeakerError::UnknownVoice { name, .. } if name == "nobody"), "{err}");
    for spec in [
        "",
        "af_heart,,af_bella",
        "af_heart:-1",
        "af_heart:x",
        "af_heart:0,af_bella:0",
        "af_heart:0.5,af_bella",
        ":1",
        "af_heart:inf",
    ] {
        let err = library.resolve(spec).unwrap_err();
        assert!(matches!(err, SpeakerError::BadSpec { .. }), "{spec:?}: {err}");
    }
    let heart = library.get("af_heart").unwrap();
    assert!(matches!(heart.style_for(0), Err(SpeakerError::PhonemeCount { n_phonemes: 0, .. })));
    assert!(matches!(heart.style_for(511), Err(SpeakerError::PhonemeCount { n_phonemes: 511, .. })));
}

#[test]
fn wrong_sizes_and_damaged_files_name_the_file_and_the_shapes() {
    let dir = scratch_dir("bad");
    let short = dir.join("short.bin");
    std::fs::write(&short, vec![0u8; 1000]).unwrap();
    let err = VoiceLibrary::load(&short).unwrap_err().to_string();
    assert!(err.contains("short.bin") && err.contains("1000 bytes") && err.contains("522240"), "{err}");

    let bad_shape = dir.join("bad_shape.npz");
    write_npz(&bad_shape, &[("v", vec![509, 1, 256], &vec![0.0; 509 * 256])], false);
    let err = VoiceLibrary::load(&bad_shape).unwrap_err().to_string();
    assert!(err.contains("bad_shape.npz") && err.contains("[509, 1, 256]") && err.contains("[510, 1, 256]"), "{err}");

    let good = std::fs::read(model_dir().join("voices_ja.npz")).unwrap();
    for cut in [4, 100, good.len() / 2, good.len() - 30] {
        let truncated = dir.join("truncated.npz");
        std::fs::write(&truncated, &good[..cut]).unwrap();
        let result = std::panic::catch_unwind(|| VoiceLibrary::load(&truncated));
        let err = result.expect("no panic").expect_err("truncated npz must fail");
        assert!(err.to_string().contains("truncated.npz"), "{err}");
    }

    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    assert!(matches!(VoiceLibrary::load(&empty), Err(SpeakerError::NoVoices { .. })));
    let err = VoiceLibrary::load(Path::new("/no/such/voices")).unwrap_err();
    assert!(matches!(err, SpeakerError::NotFound { .. }) && err.to_string().contains("/no/such/voices"));
    assert!(VoicePack::new("x", vec![0.0; 3]).is_err());
    std::fs::remove_dir_all(dir).unwrap();
}
