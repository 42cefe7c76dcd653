//! The float path of the ONNX graph walk (fp32/fp16 exports: MatMul, Gemm, Conv, ConvTranspose,
//! LSTM, Gather instead of their quantized forms). No fp32/fp16 Kokoro export is available on
//! the test machines, so these tests build small ONNX graphs with the same node and
//! initializer naming as kokoro-onnx's export and check the mapping and every value.

mod support;

use std::path::Path;

use support::onnx_builder::{Attr, GraphBuilder};
use support::{assert_close, values};
use warble_weights::WeightsError;
use warble_weights::onnx::{InitializerRole, convert_bytes};

const H: usize = 2;
const IN: usize = 3;

/// ONNX gate blocks i, o, f, c → PyTorch i, f, g, o, rows of `cols` values.
fn reorder(m: &[f32], cols: usize) -> Vec<f32> {
    [0, 2, 3, 1].iter().flat_map(|&b| m[b * H * cols..(b + 1) * H * cols].to_vec()).collect()
}

fn transpose(m: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; m.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = m[r * cols + c];
        }
    }
    out
}

struct Sample {
    lstm_w: Vec<f32>,
    lstm_r: Vec<f32>,
    lstm_b: Vec<f32>,
    matmul_b: Vec<f32>,
    conv_w: Vec<f32>,
    ups_w: Vec<f32>,
    gemm_b: Vec<f32>,
    embedding: Vec<f32>,
    alpha: Vec<f32>,
}

fn kokoro_like_float_graph(fp16: bool) -> (GraphBuilder, Sample) {
    let s = Sample {
        lstm_w: values(2 * 4 * H * IN, 1),
        lstm_r: values(2 * 4 * H * H, 2),
        lstm_b: values(2 * 8 * H, 3),
        matmul_b: values(IN * 2, 4),
        conv_w: values(2 * 2 * 3, 5),
        ups_w: values(2 * 4, 6),
        gemm_b: values(4 * 2, 7),
        embedding: values(5 * 3, 8),
        alpha: vec![0.5, 2.0],
    };
    let mut g = GraphBuilder::default();
    let float = |g: &mut GraphBuilder, name: &str, dims: &[usize], v: &[f32]| {
        if fp16 {
            g.f16(name, dims, v)
        } else {
            g.f32(name, dims, v)
        };
    };
    // Standard ONNX LSTM, W [D,4H,in], R [D,4H,H], B [D,8H], named like the export.
    float(&mut g, "onnx::LSTM_6931", &[2, 4 * H, IN], &s.lstm_w);
    float(&mut g, "onnx::LSTM_6932", &[2, 4 * H, H], &s.lstm_r);
    float(&mut g, "onnx::LSTM_6930", &[2, 8 * H], &s.lstm_b);
    g.node(
        "LSTM",
        "/encoder/text_encoder/lstm/LSTM",
        &["x", "onnx::LSTM_6931", "onnx::LSTM_6932", "onnx::LSTM_6930"],
        &["lstm_y"],
        &[Attr::Str("direction", "bidirectional"), Attr::Int("hidden_size", H as i64)],
    );
    // Linear as MatMul(x, B [in,out]) + Add(bias).
    float(&mut g, "onnx::MatMul_6704", &[IN, 2], &s.matmul_b);
    g.f32("encoder.bert_encoder.bias", &[2], &[0.25, -0.5]);
    g.node("MatMul", "/encoder/bert_encoder/MatMul", &["x", "onnx::MatMul_6704"], &["mm"], &[]);
    g.node("Add", "/encoder/bert_encoder/Add", &["encoder.bert_encoder.bias", "mm"], &["mm_b"], &[]);
    // Weight-norm-folded Conv1d, stored fp16 and cast to float before use (fp16 exports).
    g.f16("/encoder/text_encoder/cnn.0/Mul_output_0", &[2, 2, 3], &s.conv_w);
    g.node(
        "Cast",
        "/encoder/text_encoder/cnn.0/Cast",
        &["/encoder/text_encoder/cnn.0/Mul_output_0"],
        &["w_cast"],
        &[Attr::Int("to", 1)],
    );
    g.f32_field("encoder.text_encoder.cnn.0.0.bias", &[2], &[1.0, -1.0]);
    g.node(
        "Conv",
        "/encoder/text_encoder/cnn.0/cnn.0.0/Conv",
        &["x", "w_cast", "encoder.text_encoder.cnn.0.0.bias"],
        &["conv"],
        &[],
    );
    // ConvTranspose1d [in, out/groups, k].
    float(&mut g, "/decoder/decoder/generator/Mul_output_0", &[2, 1, 4], &s.ups_w);
    g.f32("decoder.decoder.generator.ups.0.bias", &[1], &[0.125]);
    g.node(
        "ConvTranspose",
        "/decoder/decoder/generator/ups.0/ConvTranspose",
        &["conv", "/decoder/decoder/generator/Mul_output_0", "decoder.decoder.generator.ups.0.bias"],
        &["ups"],
        &[],
    );
    // AdaIN fc as Gemm with transB = 1 (B already [out,in]).
    float(&mut g, "encoder.predictor.F0.0.norm1.fc.weight", &[4, 2], &s.gemm_b);
    g.f32("encoder.predictor.F0.0.norm1.fc.bias", &[4], &[0.0, 1.0, 2.0, 3.0]);
    g.node(
        "Gemm",
        "/encoder/F0.0/norm1/fc/Gemm",
        &["style", "encoder.predictor.F0.0.norm1.fc.weight", "encoder.predictor.F0.0.norm1.fc.bias"],
        &["fc"],
        &[Attr::Int("transB", 1), Attr::Float("alpha", 1.0)],
    );
    // Embedding table.
    float(&mut g, "encoder.text_encoder.embedding.weight", &[5, 3], &s.embedding);
    g.node(
        "Gather",
        "/encoder/text_encoder/embedding/Gather",
        &["encoder.text_encoder.embedding.weight", "tokens"],
        &["emb"],
        &[],
    );
    // Snake alpha and its constant-folded reciprocal.
    g.f32("decoder.decoder.generator.resblocks.0.alpha1.0", &[1, 2, 1], &s.alpha);
    g.f32("/decoder/decoder/generator/resblocks.0/Reciprocal_output_0", &[1, 2, 1], &[2.0, 0.5]);
    g.node(
        "Mul",
        "/decoder/decoder/generator/resblocks.0/Mul",
        &["decoder.decoder.generator.resblocks.0.alpha1.0", "ups"],
        &["ax"],
        &[],
    );
    g.node(
        "Mul",
        "/decoder/decoder/generator/resblocks.0/Mul_1",
        &["/decoder/decoder/generator/resblocks.0/Reciprocal_output_0", "ax"],
        &["snake"],
        &[],
    );
    // A shape constant, a sliced buffer and the export-only iSTFT basis.
    g.i64("/encoder/Constant_output_0", &[2], &[1, -1]);
    g.node("Reshape", "/encoder/Reshape", &["snake", "/encoder/Constant_output_0"], &["r"], &[]);
    g.i64("onnx::Slice_579", &[1, 8], &[0, 1, 2, 3, 4, 5, 6, 7]);
    g.node("Slice", "/encoder/bert/Slice", &["onnx::Slice_579", "a", "b"], &["pos"], &[]);
    g.f32("decoder.decoder.generator.stft.istft.stft.inverse_basis", &[2, 1, 4], &[0.0; 8]);
    g.node(
        "ConvTranspose",
        "/decoder/decoder/generator/istft/stft/ConvTranspose",
        &["r", "decoder.decoder.generator.stft.istft.stft.inverse_basis"],
        &["audio"],
        &[],
    );
    (g, s)
}

fn check_float_graph(fp16: bool) {
    let (g, s) = kokoro_like_float_graph(fp16);
    let (map, report) = convert_bytes(&g.model_bytes(), Path::new("tiny.onnx")).expect("tiny graph converts");
    let tol = if fp16 { 1e-3 } else { 0.0 };
    let get = |k: &str| map.get(k).unwrap_or_else(|e| panic!("{e}"));
    let dir = |m: &[f32], d: usize, n: usize| m[d * n..(d + 1) * n].to_vec();
    for (d, suffix) in ["", "_reverse"].iter().enumerate() {
        let w = get(&format!("text_encoder.lstm.weight_ih_l0{suffix}"));
        assert_eq!(w.shape, vec![4 * H, IN]);
        assert_close(&w.data, &reorder(&dir(&s.lstm_w, d, 4 * H * IN), IN), tol, "weight_ih");
        let r = get(&format!("text_encoder.lstm.weight_hh_l0{suffix}"));
        assert_eq!(r.shape, vec![4 * H, H]);
        assert_close(&r.data, &reorder(&dir(&s.lstm_r, d, 4 * H * H), H), tol, "weight_hh");
        let b = dir(&s.lstm_b, d, 8 * H);
        assert_close(
            &get(&format!("text_encoder.lstm.bias_ih_l0{suffix}")).data,
            &reorder(&b[..4 * H], 1),
            tol,
            "bias_ih",
        );
        assert_close(
            &get(&format!("text_encoder.lstm.bias_hh_l0{suffix}")).data,
            &reorder(&b[4 * H..], 1),
            tol,
            "bias_hh",
        );
    }
    let linear = get("bert_encoder.weight");
    assert_eq!(linear.shape, vec![2, IN]);
    assert_close(&linear.data, &transpose(&s.matmul_b, IN, 2), tol, "MatMul B transposed");
    assert_eq!(get("bert_encoder.bias").data, vec![0.25, -0.5]);
    assert_eq!(get("text_encoder.cnn.0.0.weight").shape, vec![2, 2, 3]);
    assert_close(&get("text_encoder.cnn.0.0.weight").data, &s.conv_w, 1e-3, "fp16 conv");
    assert_eq!(get("text_encoder.cnn.0.0.bias").data, vec![1.0, -1.0]);
    assert_eq!(get("decoder.generator.ups.0.weight").shape, vec![2, 1, 4]);
    assert_close(&get("decoder.generator.ups.0.weight").data, &s.ups_w, tol, "ConvTranspose");
    assert_close(&get("predictor.F0.0.norm1.fc.weight").data, &s.gemm_b, tol, "Gemm transB");
    assert_eq!(get("predictor.F0.0.norm1.fc.weight").shape, vec![4, 2]);
    assert_close(&get("text_encoder.embedding.weight").data, &s.embedding, tol, "embedding");
    assert_eq!(get("decoder.generator.resblocks.0.alpha1.0").data, s.alpha);
    assert_eq!(map.len(), 18);

    let kinds: Vec<(&str, &str)> = report.initializers.iter().map(|a| (a.name.as_str(), a.role.kind())).collect();
    assert_eq!(report.count("weight"), 13, "{kinds:?}");
    assert_eq!(report.count("derived"), 1);
    assert_eq!(report.count("buffer"), 2);
    assert_eq!(report.count("const"), 1);
    assert_eq!(report.count("qparam"), 0);
    let lstm_b = report.initializers.iter().find(|a| a.name == "onnx::LSTM_6930").unwrap();
    assert!(matches!(&lstm_b.role, InitializerRole::Weight { keys, .. } if keys.len() == 4));
}

#[test]
fn fp32_graph_maps_like_the_int8_one() {
    check_float_graph(false);
}

#[test]
fn fp16_graph_maps_like_the_int8_one() {
    check_float_graph(true);
}

#[test]
fn unexplained_initializer_is_an_error_naming_it() {
    let (mut g, _) = kokoro_like_float_graph(false);
    g.f32("onnx::Mystery_1", &[40, 40], &[0.5; 1600]);
    g.node("Foo", "/encoder/Foo", &["x", "onnx::Mystery_1"], &["foo"], &[]);
    let err = convert_bytes(&g.model_bytes(), Path::new("tiny.onnx")).unwrap_err();
    assert!(matches!(err, WeightsError::GraphMapping { .. }));
    assert!(err.to_string().contains("onnx::Mystery_1"), "{err}");
}

#[test]
fn node_scope_and_initializer_name_must_agree() {
    let mut g = GraphBuilder::default();
    g.f32("encoder.text_encoder.fc.weight", &[2, 2], &[1.0; 4]);
    g.node("MatMul", "/encoder/bert_encoder/MatMul", &["x", "encoder.text_encoder.fc.weight"], &["y"], &[]);
    let err = convert_bytes(&g.model_bytes(), Path::new("tiny.onnx")).unwrap_err().to_string();
    assert!(err.contains("bert_encoder.weight") && err.contains("text_encoder.fc.weight"), "{err}");
}

#[test]
fn a_wrong_reciprocal_is_not_silently_accepted() {
    let (g, _) = kokoro_like_float_graph(false);
    let mut bytes = g.model_bytes();
    // Replace 1/alpha = [2.0, 0.5] by [2.0, 0.25] in the raw data.
    let pattern: Vec<u8> = [2.0f32, 0.5].iter().flat_map(|v| v.to_le_bytes()).collect();
    let at = bytes.windows(8).position(|w| w == pattern.as_slice()).expect("reciprocal bytes");
    bytes[at + 4..at + 8].copy_from_slice(&0.25f32.to_le_bytes());
    let err = convert_bytes(&bytes, Path::new("tiny.onnx")).unwrap_err().to_string();
    assert!(err.contains("Reciprocal_output_0"), "{err}");
}

#[test]
fn external_data_is_reported_not_misread() {
    use warble_weights::protobuf::write::{bytes_field, varint_field};
    let mut t = Vec::new();
    varint_field(&mut t, 1, 2);
    varint_field(&mut t, 1, 2);
    varint_field(&mut t, 2, 1);
    bytes_field(&mut t, 8, b"onnx::MatMul_1");
    varint_field(&mut t, 14, 1); // data_location = EXTERNAL
    let mut node = Vec::new();
    for i in ["x", "onnx::MatMul_1"] {
        bytes_field(&mut node, 1, i.as_bytes());
    }
    bytes_field(&mut node, 2, b"y");
    bytes_field(&mut node, 3, b"/encoder/bert_encoder/MatMul");
    bytes_field(&mut node, 4, b"MatMul");
    let mut graph = Vec::new();
    bytes_field(&mut graph, 1, &node);
    bytes_field(&mut graph, 5, &t);
    let mut model = Vec::new();
    bytes_field(&mut model, 7, &graph);
    let err = convert_bytes(&model, Path::new("ext.onnx")).unwrap_err().to_string();
    assert!(err.contains("external"), "{err}");
}

#[test]
fn mutated_models_never_panic() {
    let (g, _) = kokoro_like_float_graph(false);
    let bytes = g.model_bytes();
    let mut loaded = 0;
    for i in 0..bytes.len() {
        for v in [0x00, 0xff, 0x80, 0x7f, bytes[i] ^ 0x01, bytes[i].wrapping_add(7)] {
            let mut mutated = bytes.clone();
            mutated[i] = v;
            let result = std::panic::catch_unwind(|| convert_bytes(&mutated, Path::new("mutated.onnx")));
            match result {
                Ok(Ok(_)) => loaded += 1, // e.g. a changed float value: still a valid model
                Ok(Err(_)) => {}
                Err(_) => panic!("panic with byte {i} set to {v:#04x}"),
            }
        }
    }
    assert!(loaded > 0);
}
