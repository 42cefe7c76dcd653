//! Turning ONNX names into PyTorch state-dict keys.
//!
//! The kokoro-onnx export keeps PyTorch module scopes in two places:
//! * **initializer names** of parameters that were exported as-is
//!   (`encoder.predictor.F0.0.norm1.fc.bias`, `decoder.decoder.generator.resblocks.3.alpha2.1`);
//! * **node names**, which carry the module scope of the op that consumes a tensor
//!   (`/encoder/predictor/text_encoder/lstms.0/LSTM_quant`), and which are the only source of
//!   the key for initializers named after graph values (`onnx::MatMul_6547`,
//!   `/decoder/decoder/generator/Mul_output_0`).
//!
//! The export wrapper has two top-level modules, `encoder` and `decoder`, that map onto KModel's
//! five sub-modules as below (`F0Ntrain` was inlined, so some predictor modules sit directly
//! under `/encoder/`).

/// Modules of `ProsodyPredictor` that the export placed directly under the `encoder` scope.
const PREDICTOR_MODULES_AT_ENCODER_SCOPE: &[&str] = &["F0", "N", "F0_proj", "N_proj", "shared"];

/// Maps scope segments (already cleaned) to a dotted KModel module path.
fn map_prefix(segments: &[&str]) -> Option<String> {
    let (first, rest) = segments.split_first()?;
    let joined = |prefix: &str, tail: &[&str]| {
        if tail.is_empty() { prefix.to_string() } else { format!("{prefix}.{}", tail.join(".")) }
    };
    match *first {
        "decoder" => match rest.split_first() {
            Some((&"decoder", tail)) => Some(joined("decoder", tail)),
            _ => None,
        },
        "encoder" => {
            let (module, tail) = rest.split_first()?;
            match *module {
                "bert" | "bert_encoder" | "text_encoder" | "predictor" => Some(joined(module, tail)),
                m if PREDICTOR_MODULES_AT_ENCODER_SCOPE.contains(&m.split('.').next().unwrap_or(m)) => {
                    Some(joined("predictor", &[&[*module], tail].concat()))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// Strips the `_k` call-count suffix the exporter appends when one module is called several
/// times (ALBERT's shared layer: `attention_3`, `query_3`, `ffn_output_11`).
fn strip_call_count(segment: &str) -> &str {
    match segment.rsplit_once('_') {
        Some((base, count)) if !base.is_empty() && !count.is_empty() && count.bytes().all(|b| b.is_ascii_digit()) => {
            base
        }
        _ => segment,
    }
}

/// The module path of the op a node belongs to, from its name
/// (`/decoder/decoder/generator/resblocks.0/convs1.1/Conv_quant` →
/// `decoder.generator.resblocks.0.convs1.1`). `None` when the name carries no recognised scope.
pub fn module_of_node(node_name: &str) -> Option<String> {
    let path = node_name.strip_prefix('/')?;
    let mut segments: Vec<&str> = path.split('/').collect();
    segments.pop(); // the op's own name
    if segments.len() < 2 {
        return None;
    }
    let segments: Vec<&str> = segments.into_iter().map(strip_call_count).collect();
    // Container scopes repeat their child's prefix: `cnn.0/cnn.0.0` → `cnn.0.0`,
    // `asr_res/asr_res.0` → `asr_res.0`.
    let mut collapsed: Vec<&str> = Vec::with_capacity(segments.len());
    for (i, seg) in segments.iter().enumerate() {
        let swallowed_by_next = segments
            .get(i + 1)
            .is_some_and(|next| next.len() > seg.len() && next.starts_with(seg) && next.as_bytes()[seg.len()] == b'.');
        if !swallowed_by_next {
            collapsed.push(seg);
        }
    }
    map_prefix(&collapsed)
}

/// The state-dict key an initializer name spells, for names exported from module parameters
/// (`encoder.X` → `X`, `decoder.decoder.X` → `decoder.X`, minus the quantizer's `_quantized`
/// suffix). `None` for names of graph values (`onnx::…`, `/scope/…`).
pub fn key_from_initializer_name(name: &str) -> Option<String> {
    let name = name.strip_suffix("_quantized").unwrap_or(name);
    if let Some(rest) = name.strip_prefix("decoder.decoder.") {
        return Some(format!("decoder.{rest}"));
    }
    let rest = name.strip_prefix("encoder.")?;
    let module = rest.split('.').next().unwrap_or("");
    if ["bert", "bert_encoder", "text_encoder", "predictor"].contains(&module) { Some(rest.to_string()) } else { None }
}

/// For a Snake `1/alpha` constant named `/<scope>/Reciprocal[_j]_output_0`, the alpha it was
/// folded from: the generator's `AdaINResBlock1` computes `1/alpha1[j]` then `1/alpha2[j]` for
/// j = 0, 1, 2, so the j-th Reciprocal is `alpha{1 + j%2}.{j/2}`. The caller verifies the values.
pub fn alpha_of_reciprocal(name: &str) -> Option<String> {
    let (scope, last) = name.rsplit_once('/')?;
    let index = match last.strip_prefix("Reciprocal")?.strip_suffix("_output_0")? {
        "" => 0,
        n => n.strip_prefix('_')?.parse::<usize>().ok()?,
    };
    let module = module_of_node(&format!("{scope}/Reciprocal"))?;
    Some(format!("{module}.alpha{}.{}", 1 + index % 2, index / 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_scopes_map_to_modules() {
        let cases = [
            ("/encoder/text_encoder/cnn.0/cnn.0.0/Conv_quant", "text_encoder.cnn.0.0"),
            ("/decoder/decoder/asr_res/asr_res.0/Conv_quant", "decoder.asr_res.0"),
            ("/decoder/decoder/generator/resblocks.0/convs1.1/Conv_quant", "decoder.generator.resblocks.0.convs1.1"),
            ("/encoder/F0.0/conv2/Conv_quant", "predictor.F0.0.conv2"),
            ("/encoder/shared/LSTM_quant", "predictor.shared"),
            ("/encoder/predictor/text_encoder/lstms.0/LSTM_quant", "predictor.text_encoder.lstms.0"),
            (
                "/encoder/bert/encoder/albert_layer_groups.0/albert_layers.0/attention/query_3/MatMul_quant",
                "bert.encoder.albert_layer_groups.0.albert_layers.0.attention.query",
            ),
            (
                "/encoder/bert/encoder/albert_layer_groups.0/albert_layers.0/ffn_output_11/MatMul_quant",
                "bert.encoder.albert_layer_groups.0.albert_layers.0.ffn_output",
            ),
            ("/encoder/bert_encoder/MatMul_quant", "bert_encoder"),
            ("/decoder/decoder/generator/ups.0/ConvTranspose", "decoder.generator.ups.0"),
            ("/decoder/decoder/generator/m_source/l_linear/MatMul", "decoder.generator.m_source.l_linear"),
        ];
        for (node, module) in cases {
            assert_eq!(module_of_node(node).as_deref(), Some(module), "{node}");
        }
        assert_eq!(module_of_node("MatMul_12"), None);
        assert_eq!(module_of_node("/encoder/Mul"), None);
        assert_eq!(module_of_node("/other/thing/Conv"), None);
    }

    #[test]
    fn initializer_names_map_to_keys() {
        assert_eq!(
            key_from_initializer_name("encoder.predictor.F0.0.norm1.fc.bias").as_deref(),
            Some("predictor.F0.0.norm1.fc.bias")
        );
        assert_eq!(
            key_from_initializer_name("decoder.decoder.generator.resblocks.4.adain2.2.fc.weight_quantized").as_deref(),
            Some("decoder.generator.resblocks.4.adain2.2.fc.weight")
        );
        assert_eq!(key_from_initializer_name("onnx::MatMul_6547_quantized"), None);
        assert_eq!(key_from_initializer_name("/decoder/decoder/Mul_output_0"), None);
    }

    #[test]
    fn reciprocal_names_map_to_alphas() {
        assert_eq!(
            alpha_of_reciprocal("/decoder/decoder/generator/resblocks.3/Reciprocal_output_0").as_deref(),
            Some("decoder.generator.resblocks.3.alpha1.0")
        );
        assert_eq!(
            alpha_of_reciprocal("/decoder/decoder/generator/noise_res.1/Reciprocal_5_output_0").as_deref(),
            Some("decoder.generator.noise_res.1.alpha2.2")
        );
        assert_eq!(alpha_of_reciprocal("/decoder/decoder/generator/Mul_output_0"), None);
    }
}
