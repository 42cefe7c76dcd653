//! Kokoro ONNX exports → canonical PyTorch weights, found through the graph.
//!
//! An ORT-optimized, dynamically quantized export no longer names most weights after their
//! module (`onnx::MatMul_6547_quantized`, `/encoder/F0.0/Mul_1_output_0_quantized`), stores
//! them transposed or in another gate order, and shares zero points between unrelated layers
//! (ORT merged identical initializers). Names alone are therefore not enough to find a weight,
//! its layout or its quantization parameters. This module walks the graph instead:
//!
//! 1. Every node that takes a weight in a known input slot is visited: `MatMulInteger`/`MatMul`/
//!    `Gemm` B, `ConvInteger`/`Conv`/`ConvTranspose` W, `DynamicQuantizeLSTM`/`LSTM` W, R, B and
//!    `Gather` tables (followed by `DequantizeLinear` when quantized). The quantized op and its
//!    float counterpart are handled by the same code, so int8, fp16 and fp32 exports map alike.
//! 2. The zero point and scale are the ones that node actually consumes: the zero point is an
//!    input of the integer op; the weight scale enters after it, in the `Mul` that rescales
//!    the integer result (`scales_mul = x_scale · w_scale`), which is found by following the
//!    op's output through `Cast`/`Add`/`Reshape`.
//! 3. The key comes from the consuming node's module scope, cross-checked against the
//!    initializer's own name where that is a parameter name; any disagreement is an error.
//! 4. The remaining float initializers with parameter names (biases, norms, Snake alphas, AdaIN
//!    `fc` biases) are weights if a node consumes them as such; Snake `1/alpha` constants are
//!    verified against their alpha; sliced tables are buffers; small leftovers are constants.
//!    Anything else makes the load fail: nothing is silently ignored.
//!
//! The result is an [`OnnxReport`] accounting for every initializer, next to the weights.

pub mod model;
pub mod naming;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::{Tensor, WeightMap, WeightsError};
use model::{DataType, Graph, Initializer, Node};

/// What one ONNX initializer is, once the graph has been walked.
#[derive(Debug, Clone, PartialEq)]
pub enum InitializerRole {
    /// A model weight, giving these PyTorch keys (an LSTM's B gives four).
    Weight { keys: Vec<String>, transform: &'static str },
    /// A scale or zero point, used to dequantize these weights.
    QuantParam { used_by: Vec<String> },
    /// A constant-folded `1/alpha` of this Snake alpha, checked numerically.
    DerivedReciprocal { of: String },
    /// A non-learned table that the graph slices (position ids, token-type ids, iSTFT buffers).
    Buffer { what: &'static str },
    /// A small graph constant (shapes, axes, epsilons, fixed ones/zeros).
    Constant,
}

impl InitializerRole {
    /// Short kind name: `weight`, `qparam`, `derived`, `buffer`, `const`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Weight { .. } => "weight",
            Self::QuantParam { .. } => "qparam",
            Self::DerivedReciprocal { .. } => "derived",
            Self::Buffer { .. } => "buffer",
            Self::Constant => "const",
        }
    }
}

/// One initializer and what it was found to be.
#[derive(Debug, Clone, PartialEq)]
pub struct InitializerAccount {
    pub name: String,
    pub shape: Vec<usize>,
    pub role: InitializerRole,
    /// `op_type:slot` of every node that reads it (looking through `Cast`).
    pub consumers: Vec<String>,
}

/// The accounting of every initializer of an ONNX file, in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OnnxReport {
    pub initializers: Vec<InitializerAccount>,
    pub node_count: usize,
}

impl OnnxReport {
    /// How many initializers have the given [`InitializerRole::kind`].
    pub fn count(&self, kind: &str) -> usize {
        self.initializers.iter().filter(|a| a.role.kind() == kind).count()
    }
}

/// Op types that consume a float parameter in the given input slot, used to accept
/// parameter-named initializers that are stored as-is.
const PARAMETER_SLOTS: &[(&str, &[usize])] = &[
    ("Add", &[0, 1]),
    ("Mul", &[0, 1]),
    // ConvInteger's float bias is re-quantized at run time: Div(bias, x_scale·w_scale).
    ("Div", &[0]),
    ("LayerNormalization", &[1, 2]),
    ("SkipLayerNormalization", &[2, 3, 4]),
    ("FastGelu", &[1]),
    ("BiasGelu", &[1]),
    ("Conv", &[2]),
    ("ConvTranspose", &[2]),
    ("Gemm", &[2]),
    ("InstanceNormalization", &[1, 2]),
];

/// Largest initializer accepted as a plain graph constant.
const MAX_CONSTANT_ELEMENTS: usize = 1024;

/// PyTorch LSTM gate order is i, f, g, o; ONNX stores i, o, f, c. Torch block `t` is ONNX block
/// `LSTM_GATE_SOURCE[t]`.
const LSTM_GATE_SOURCE: [usize; 4] = [0, 2, 3, 1];

/// A per-tensor (1 value) or per-channel (`n` values) parameter as `n` values.
fn broadcast<T: Copy>(values: &[T], n: usize) -> Vec<T> {
    if values.len() == 1 { vec![values[0]; n] } else { values.to_vec() }
}

/// Row-major `[rows, cols]` → `[cols, rows]`, in cache-friendly tiles.
fn transpose(m: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    const TILE: usize = 32;
    let mut out = vec![0f32; m.len()];
    for r0 in (0..rows).step_by(TILE) {
        for c0 in (0..cols).step_by(TILE) {
            for r in r0..(r0 + TILE).min(rows) {
                for c in c0..(c0 + TILE).min(cols) {
                    out[c * rows + r] = m[r * cols + c];
                }
            }
        }
    }
    out
}

/// Reads an ONNX file and converts its weights.
pub fn load_onnx(path: &Path) -> Result<(WeightMap, OnnxReport), WeightsError> {
    let bytes = std::fs::read(path).map_err(|e| WeightsError::io(path, e))?;
    convert_bytes(&bytes, path)
}

/// Converts an in-memory ONNX model; `path` is only used in messages.
pub fn convert_bytes(bytes: &[u8], path: &Path) -> Result<(WeightMap, OnnxReport), WeightsError> {
    let graph = model::parse_model(bytes).map_err(|e| WeightsError::Corrupt {
        path: path.to_path_buf(),
        format: "ONNX",
        detail: e.to_string(),
    })?;
    if graph.nodes.is_empty() && graph.initializers.is_empty() {
        return Err(WeightsError::Corrupt {
            path: path.to_path_buf(),
            format: "ONNX",
            detail: "the graph has no nodes and no initializers".into(),
        });
    }
    Walker::new(&graph, path).run()
}

/// Where a weight slot's value comes from: an initializer, possibly behind a `Cast`.
struct Source<'g, 'a> {
    init: &'g Initializer<'a>,
}

struct Walker<'g, 'a> {
    graph: &'g Graph<'a>,
    path: PathBuf,
    inits: HashMap<&'a str, usize>,
    producer: HashMap<&'a str, usize>,
    consumers: HashMap<&'a str, Vec<(usize, usize)>>,
    roles: HashMap<&'a str, InitializerRole>,
    weights: BTreeMap<String, (Tensor, &'a str)>,
}

fn tensor(shape: Vec<usize>, data: Vec<f32>) -> Tensor {
    Tensor { shape, data }
}

impl<'g, 'a> Walker<'g, 'a> {
    fn new(graph: &'g Graph<'a>, path: &Path) -> Self {
        let inits = graph.initializers.iter().enumerate().map(|(i, t)| (t.name, i)).collect();
        let mut producer = HashMap::new();
        let mut consumers: HashMap<&'a str, Vec<(usize, usize)>> = HashMap::new();
        for (n, node) in graph.nodes.iter().enumerate() {
            for &out in &node.outputs {
                producer.insert(out, n);
            }
            for (slot, &input) in node.inputs.iter().enumerate() {
                if !input.is_empty() {
                    consumers.entry(input).or_default().push((n, slot));
                }
            }
        }
        Self {
            graph,
            path: path.to_path_buf(),
            inits,
            producer,
            consumers,
            roles: HashMap::new(),
            weights: BTreeMap::new(),
        }
    }

    fn mapping_error(&self, detail: impl Into<String>) -> WeightsError {
        WeightsError::GraphMapping { path: self.path.clone(), detail: detail.into() }
    }

    fn corrupt(&self, init: &Initializer<'_>, err: model::ValueError) -> WeightsError {
        WeightsError::Corrupt {
            path: self.path.clone(),
            format: "ONNX",
            detail: format!("initializer {:?} (shape {:?}): {err}", init.name, init.dims),
        }
    }

    fn f32_values(&self, init: &Initializer<'_>) -> Result<Vec<f32>, WeightsError> {
        init.to_f32().map_err(|e| self.corrupt(init, e))
    }

    fn int_values(&self, init: &Initializer<'_>) -> Result<Vec<i64>, WeightsError> {
        init.to_i64().map_err(|e| self.corrupt(init, e))
    }

    /// The initializer behind a value: the value itself, or the input of the `Cast`/`Identity`
    /// that produces it (fp16 exports may cast weights before use).
    fn source(&self, value: Option<&str>) -> Option<Source<'g, 'a>> {
        let mut value = value?;
        for _ in 0..3 {
            if let Some(&i) = self.inits.get(value) {
                return Some(Source { init: &self.graph.initializers[i] });
            }
            let node = &self.graph.nodes[*self.producer.get(value)?];
            if !matches!(node.op_type, "Cast" | "Identity") {
                return None;
            }
            value = node.input(0)?;
        }
        None
    }

    /// `(node index, slot)` of every consumer of a value, looking through `Cast`/`Identity`.
    fn consumers_of(&self, value: &str) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut stack = vec![(value.to_string(), 0)];
        while let Some((v, depth)) = stack.pop() {
            for &(n, slot) in self.consumers.get(v.as_str()).map(Vec::as_slice).unwrap_or(&[]) {
                let node = &self.graph.nodes[n];
                if matches!(node.op_type, "Cast" | "Identity") && depth < 3 {
                    for &o in &node.outputs {
                        stack.push((o.to_string(), depth + 1));
                    }
                } else {
                    out.push((n, slot));
                }
            }
        }
        out
    }

    fn set_role(&mut self, name: &'a str, role: InitializerRole) -> Result<(), WeightsError> {
        match (self.roles.get_mut(name), role) {
            (None, role) => {
                self.roles.insert(name, role);
            }
            (Some(InitializerRole::QuantParam { used_by }), InitializerRole::QuantParam { used_by: more }) => {
                for k in more {
                    if !used_by.contains(&k) {
                        used_by.push(k);
                    }
                }
            }
            (Some(existing), role) if *existing == role => {}
            (Some(existing), role) => {
                let detail = format!("initializer {name:?} is used both as {existing:?} and as {role:?}");
                return Err(self.mapping_error(detail));
            }
        }
        Ok(())
    }

    fn add_weight(&mut self, key: String, t: Tensor, source: &'a str) -> Result<(), WeightsError> {
        if let Some((_, other)) = self.weights.get(&key) {
            if *other == source {
                return Ok(()); // the same shared weight reached through another call site
            }
            return Err(
                self.mapping_error(format!("key {key:?} is produced by two initializers, {other:?} and {source:?}"))
            );
        }
        self.weights.insert(key, (t, source));
        Ok(())
    }

    /// The key of the parameter in `suffix` position of the module `node` belongs to. Both the
    /// node's scope and a parameter-style initializer name are consulted; they must agree.
    fn key_for(&self, node: &Node<'a>, init_name: &str, param: &str) -> Result<String, WeightsError> {
        let from_scope = naming::module_of_node(node.name).map(|m| format!("{m}.{param}"));
        let from_name = naming::key_from_initializer_name(init_name);
        match (from_scope, from_name) {
            (Some(a), Some(b)) if a != b => Err(self.mapping_error(format!(
                "node {:?} places initializer {init_name:?} at {a:?}, but the initializer's name says {b:?}",
                node.name
            ))),
            (Some(k), _) | (None, Some(k)) => Ok(k),
            (None, None) => Err(self.mapping_error(format!(
                "initializer {init_name:?} feeds {} node {:?}, whose name carries no module scope",
                node.op_type, node.name
            ))),
        }
    }

    /// Whether the node belongs to the export-only STFT/iSTFT module, whose conv kernels are
    /// fixed Fourier bases rather than learned weights.
    fn is_stft_node(node: &Node<'_>) -> bool {
        node.name.split('/').any(|seg| seg == "stft" || seg == "istft")
    }

    /// The weight scale of an integer MatMul/Conv: the initializer factor of the `Mul` that
    /// rescales the op's integer output, directly or through `scales_mul = x_scale · w_scale`.
    fn output_scale(&self, node_index: usize) -> Result<&'g Initializer<'a>, WeightsError> {
        let node = &self.graph.nodes[node_index];
        let mut frontier: Vec<&str> = node.outputs.clone();
        for _ in 0..6 {
            let mut next = Vec::new();
            for value in frontier {
                for &(n, _) in self.consumers.get(value).map(Vec::as_slice).unwrap_or(&[]) {
                    let consumer = &self.graph.nodes[n];
                    match consumer.op_type {
                        "Cast" | "Add" | "Reshape" | "Identity" => next.extend(consumer.outputs.iter().copied()),
                        "Mul" => {
                            let other = consumer.inputs.iter().copied().find(|&i| i != value && !i.is_empty());
                            if let Some(s) = self.source(other) {
                                return Ok(s.init);
                            }
                            if let Some(&p) = other.and_then(|o| self.producer.get(o)) {
                                let factors: Vec<_> = self.graph.nodes[p]
                                    .inputs
                                    .iter()
                                    .filter_map(|&i| self.source(Some(i)))
                                    .filter(|s| s.init.data_type.is_float())
                                    .collect();
                                if self.graph.nodes[p].op_type == "Mul" && factors.len() == 1 {
                                    return Ok(factors[0].init);
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
            frontier = next;
        }
        Err(self.mapping_error(format!(
            "could not find the weight scale applied to the output of {} node {:?}",
            node.op_type, node.name
        )))
    }

    /// Reads a per-tensor or per-channel quantization parameter of `channels` channels.
    fn qparam_f32(&self, init: &Initializer<'_>, channels: usize, what: &str) -> Result<Vec<f32>, WeightsError> {
        let v = self.f32_values(init)?;
        if v.len() == 1 || v.len() == channels {
            Ok(v)
        } else {
            Err(self.mapping_error(format!("{what} {:?} has {} values; expected 1 or {channels}", init.name, v.len())))
        }
    }

    fn qparam_int(
        &self,
        init: Option<&Initializer<'_>>,
        channels: usize,
        what: &str,
    ) -> Result<Vec<i64>, WeightsError> {
        let Some(init) = init else { return Ok(vec![0]) };
        let v = self.int_values(init)?;
        if v.len() == 1 || v.len() == channels {
            Ok(v)
        } else {
            Err(self.mapping_error(format!("{what} {:?} has {} values; expected 1 or {channels}", init.name, v.len())))
        }
    }

    fn run(mut self) -> Result<(WeightMap, OnnxReport), WeightsError> {
        for n in 0..self.graph.nodes.len() {
            let node = &self.graph.nodes[n];
            match node.op_type {
                "MatMulInteger" | "MatMul" | "Gemm" => self.visit_matmul(n)?,
                "ConvInteger" | "Conv" | "ConvTranspose" => self.visit_conv(n)?,
                "DynamicQuantizeLSTM" | "LSTM" => self.visit_lstm(n)?,
                "Gather" => self.visit_gather(n)?,
                _ => {}
            }
        }
        self.classify_remaining()?;
        let report = self.report();
        let mut map = WeightMap::default();
        for (key, (t, _)) in std::mem::take(&mut self.weights) {
            map.insert(key, t);
        }
        Ok((map, report))
    }

    fn visit_matmul(&mut self, n: usize) -> Result<(), WeightsError> {
        let graph = self.graph;
        let node = &graph.nodes[n];
        let Some(b) = self.source(node.input(1)) else {
            return Ok(());
        };
        let b = b.init;
        if b.dims.len() != 2 {
            return Err(self.mapping_error(format!(
                "{} node {:?} multiplies by initializer {:?} of shape {:?}; only 2-D weights are supported",
                node.op_type, node.name, b.name, b.dims
            )));
        }
        let key = self.key_for(node, b.name, "weight")?;
        let (rows, cols) = (b.dims[0], b.dims[1]);
        if rows == 0 || cols == 0 {
            return Err(
                self.mapping_error(format!("weight {:?} of node {:?} is empty ({:?})", b.name, node.name, b.dims))
            );
        }
        let (weight, transform) = if node.op_type == "MatMulInteger" {
            // B is [in, out]; scale and zero point are per output column (or per tensor).
            let zp_init = self.source(node.input(3)).map(|s| s.init);
            let scale_init = self.output_scale(n)?;
            let q = self.int_values(b)?;
            let zp = self.qparam_int(zp_init, cols, "zero point")?;
            let scale = self.qparam_f32(scale_init, cols, "scale")?;
            let (zp, scale) = (broadcast(&zp, cols), broadcast(&scale, cols));
            let mut dequantized = Vec::with_capacity(rows * cols);
            for row in q.chunks_exact(cols) {
                dequantized.extend(row.iter().zip(&zp).zip(&scale).map(|((&v, &z), &s)| (v - z) as f32 * s));
            }
            let out = transpose(&dequantized, rows, cols);
            let role = InitializerRole::QuantParam { used_by: vec![key.clone()] };
            self.set_role(scale_init.name, role.clone())?;
            if let Some(z) = zp_init {
                self.set_role(z.name, role)?;
            }
            (tensor(vec![cols, rows], out), "int8 [in,out], (q - zp[out]) * scale[out], transposed to [out,in]")
        } else {
            let values = self.f32_values(b)?;
            let trans_b = node.op_type == "Gemm" && node.attribute("transB").and_then(|a| a.int).unwrap_or(0) != 0;
            if node.op_type == "Gemm" {
                let alpha = node.attribute("alpha").and_then(|a| a.float).unwrap_or(1.0);
                let trans_a = node.attribute("transA").and_then(|a| a.int).unwrap_or(0);
                if alpha != 1.0 || trans_a != 0 {
                    return Err(self.mapping_error(format!(
                        "Gemm node {:?} has alpha {alpha} / transA {trans_a}; only plain x·W(ᵀ) + b is supported",
                        node.name
                    )));
                }
            }
            if trans_b {
                (tensor(vec![rows, cols], values), "float [out,in] as stored (Gemm transB=1)")
            } else {
                (tensor(vec![cols, rows], transpose(&values, rows, cols)), "float [in,out] transposed to [out,in]")
            }
        };
        let b_name = b.name;
        self.set_role(b_name, InitializerRole::Weight { keys: vec![key.clone()], transform })?;
        self.add_weight(key, weight, b_name)
    }

    fn visit_conv(&mut self, n: usize) -> Result<(), WeightsError> {
        let graph = self.graph;
        let node = &graph.nodes[n];
        let Some(w) = self.source(node.input(1)) else {
            return Ok(());
        };
        let w = w.init;
        if Self::is_stft_node(node) {
            return self.set_role(w.name, InitializerRole::Buffer { what: "fixed (i)STFT Fourier basis" });
        }
        let key = self.key_for(node, w.name, "weight")?;
        let (weight, transform) = if node.op_type == "ConvInteger" {
            let out_channels = w.dims.first().copied().unwrap_or(0);
            let zp_init = self.source(node.input(3)).map(|s| s.init);
            let scale_init = self.output_scale(n)?;
            let q = self.int_values(w)?;
            let zp = self.qparam_int(zp_init, out_channels, "zero point")?;
            let scale = self.qparam_f32(scale_init, out_channels, "scale")?;
            let per_channel = (q.len() / out_channels.max(1)).max(1);
            let (zp, scale) = (broadcast(&zp, out_channels), broadcast(&scale, out_channels));
            let mut data = Vec::with_capacity(q.len());
            for ((channel, &z), &s) in q.chunks(per_channel).zip(&zp).zip(&scale) {
                data.extend(channel.iter().map(|&v| (v - z) as f32 * s));
            }
            let role = InitializerRole::QuantParam { used_by: vec![key.clone()] };
            self.set_role(scale_init.name, role.clone())?;
            if let Some(z) = zp_init {
                self.set_role(z.name, role)?;
            }
            (tensor(w.dims.clone(), data), "uint8 [out,in/g,k], (q - zp) * scale, layout unchanged")
        } else {
            let transform = if node.op_type == "ConvTranspose" {
                "float [in,out/g,k] as stored (ConvTranspose1d layout = PyTorch)"
            } else {
                "float [out,in/g,k] as stored"
            };
            (tensor(w.dims.clone(), self.f32_values(w)?), transform)
        };
        let name = w.name;
        self.set_role(name, InitializerRole::Weight { keys: vec![key.clone()], transform })?;
        self.add_weight(key, weight, name)
    }

    fn visit_gather(&mut self, n: usize) -> Result<(), WeightsError> {
        let graph = self.graph;
        let node = &graph.nodes[n];
        let Some(table) = self.source(node.input(0)) else {
            return Ok(());
        };
        let table = table.init;
        let is_table = table.data_type.is_float() || matches!(table.data_type, DataType::Int8 | DataType::Uint8);
        if table.dims.len() != 2 || !is_table {
            return Ok(()); // a shape or index table, classified later
        }
        let key = self.key_for(node, table.name, "weight")?;
        let (weight, transform) = if table.data_type.is_float() {
            (tensor(table.dims.clone(), self.f32_values(table)?), "float [vocab,dim] as stored")
        } else {
            // Quantized embedding: Gather(int8 table) → DequantizeLinear(·, scale, zero point).
            let dequant = node
                .outputs
                .first()
                .map(|o| self.consumers_of(o))
                .unwrap_or_default()
                .into_iter()
                .map(|(c, _)| &self.graph.nodes[c])
                .find(|c| c.op_type == "DequantizeLinear")
                .ok_or_else(|| {
                    self.mapping_error(format!(
                        "integer embedding {:?} gathered by {:?} is not followed by DequantizeLinear",
                        table.name, node.name
                    ))
                })?;
            let scale_init = self
                .source(dequant.input(1))
                .ok_or_else(|| {
                    self.mapping_error(format!("DequantizeLinear {:?} has no constant scale", dequant.name))
                })?
                .init;
            let zp_init = self.source(dequant.input(2)).map(|s| s.init);
            let scale = self.qparam_f32(scale_init, 1, "scale")?;
            let zp = self.qparam_int(zp_init, 1, "zero point")?;
            let data = self.int_values(table)?.iter().map(|&q| (q - zp[0]) as f32 * scale[0]).collect();
            let role = InitializerRole::QuantParam { used_by: vec![key.clone()] };
            self.set_role(scale_init.name, role.clone())?;
            if let Some(z) = zp_init {
                self.set_role(z.name, role)?;
            }
            (tensor(table.dims.clone(), data), "int8 [vocab,dim], (q - zp) * scale")
        };
        let name = table.name;
        self.set_role(name, InitializerRole::Weight { keys: vec![key.clone()], transform })?;
        self.add_weight(key, weight, name)
    }

    fn visit_lstm(&mut self, n: usize) -> Result<(), WeightsError> {
        let graph = self.graph;
        let node = &graph.nodes[n];
        let quantized = node.op_type == "DynamicQuantizeLSTM";
        let (Some(w), Some(r)) = (self.source(node.input(1)), self.source(node.input(2))) else {
            return Err(self.mapping_error(format!("{} node {:?} has non-constant W or R", node.op_type, node.name)));
        };
        let (w, r) = (w.init, r.init);
        let b = self.source(node.input(3)).map(|s| s.init);
        // LSTM initializers are named after graph values (`onnx::LSTM_6930`), so the module
        // comes from the node's scope alone.
        let module = naming::module_of_node(node.name).ok_or_else(|| {
            self.mapping_error(format!("{} node {:?} carries no module scope in its name", node.op_type, node.name))
        })?;
        let directions: &[&str] = match node.attribute("direction").and_then(|a| a.string) {
            None | Some(b"forward") => &[""],
            Some(b"bidirectional") => &["", "_reverse"],
            Some(other) => {
                return Err(self.mapping_error(format!(
                    "LSTM {:?} has direction {:?}, which PyTorch nn.LSTM cannot express",
                    node.name,
                    String::from_utf8_lossy(other)
                )));
            }
        };
        if node.input(7).is_some() || node.attribute("input_forget").and_then(|a| a.int).unwrap_or(0) != 0 {
            return Err(self.mapping_error(format!("LSTM {:?} uses peepholes or input_forget", node.name)));
        }
        let d = directions.len();
        let hidden = node
            .attribute("hidden_size")
            .and_then(|a| a.int)
            .and_then(|h| usize::try_from(h).ok())
            .or_else(|| r.dims.get(1 + usize::from(quantized)).copied().map(|g| if quantized { g / 4 } else { g }))
            .unwrap_or(0);
        let Some(gates) = hidden.checked_mul(4) else {
            return Err(self.mapping_error(format!("LSTM {:?}: hidden_size {hidden} is out of range", node.name)));
        };
        // W: quantized [D, in, 4H] (transposed), float [D, 4H, in]. R likewise with in = H.
        let check = |t: &Initializer<'_>| -> Result<usize, WeightsError> {
            let bad = || {
                self.mapping_error(format!(
                    "LSTM {:?}: tensor {:?} has shape {:?}, expected {} directions and {gates} gate rows",
                    node.name, t.name, t.dims, d
                ))
            };
            if t.dims.len() != 3 || t.dims[0] != d || hidden == 0 {
                return Err(bad());
            }
            let (g, x) = if quantized { (t.dims[2], t.dims[1]) } else { (t.dims[1], t.dims[2]) };
            if g != gates { Err(bad()) } else { Ok(x) }
        };
        let input_size = check(w)?;
        if check(r)? != hidden {
            return Err(self.mapping_error(format!("LSTM {:?}: R has shape {:?}", node.name, r.dims)));
        }

        let key_names = |param: &str| directions.iter().map(|s| format!("{module}.{param}{s}")).collect::<Vec<_>>();
        let w_keys = key_names("weight_ih_l0");
        let r_keys = key_names("weight_hh_l0");
        let bias_ih = key_names("bias_ih_l0");
        let bias_hh = key_names("bias_hh_l0");

        let per_direction =
            |t: &Initializer<'_>, cols: usize, scale_slot: usize| -> Result<Vec<Vec<f32>>, WeightsError> {
                // Returns, per direction, the [4H, cols] matrix in ONNX gate order.
                let mut out = Vec::with_capacity(d);
                if quantized {
                    let scale_init = self
                        .source(node.input(scale_slot))
                        .ok_or_else(|| {
                            self.mapping_error(format!("LSTM {:?}: missing scale input {scale_slot}", node.name))
                        })?
                        .init;
                    let zp_init = self.source(node.input(scale_slot + 1)).map(|s| s.init);
                    let scale = self
                        .qparam_f32(scale_init, d, "LSTM scale")
                        .or_else(|_| self.qparam_f32(scale_init, d * gates, "LSTM scale"))?;
                    let zp = self
                        .qparam_int(zp_init, d, "LSTM zero point")
                        .or_else(|_| self.qparam_int(zp_init, d * gates, "LSTM zero point"))?;
                    let pick = |v: usize, dir: usize, g: usize| {
                        if v == 1 {
                            0
                        } else if v == d {
                            dir
                        } else {
                            dir * gates + g
                        }
                    };
                    let q = self.int_values(t)?;
                    for dir in 0..d {
                        let mut m = vec![0f32; gates * cols];
                        for c in 0..cols {
                            for g in 0..gates {
                                let qv = q[(dir * cols + c) * gates + g];
                                let z = zp[pick(zp.len(), dir, g)];
                                let s = scale[pick(scale.len(), dir, g)];
                                m[g * cols + c] = (qv - z) as f32 * s;
                            }
                        }
                        out.push(m);
                    }
                } else {
                    let v = self.f32_values(t)?;
                    for dir in 0..d {
                        out.push(v[dir * gates * cols..(dir + 1) * gates * cols].to_vec());
                    }
                }
                Ok(out)
            };
        let reorder = |m: &[f32], cols: usize| -> Vec<f32> {
            let block = hidden * cols;
            LSTM_GATE_SOURCE.iter().flat_map(|&src| m[src * block..(src + 1) * block].iter().copied()).collect()
        };

        let w_dirs = per_direction(w, input_size, 8)?;
        let r_dirs = per_direction(r, hidden, 10)?;
        let b_values = match b {
            Some(b) => {
                if b.dims != [d, 2 * gates] {
                    return Err(self.mapping_error(format!("LSTM {:?}: B has shape {:?}", node.name, b.dims)));
                }
                self.f32_values(b)?
            }
            None => vec![0f32; d * 2 * gates],
        };

        let mut new_weights = Vec::new();
        for dir in 0..d {
            new_weights.push((
                w_keys[dir].clone(),
                tensor(vec![gates, input_size], reorder(&w_dirs[dir], input_size)),
                w.name,
            ));
            new_weights.push((r_keys[dir].clone(), tensor(vec![gates, hidden], reorder(&r_dirs[dir], hidden)), r.name));
            let row = &b_values[dir * 2 * gates..(dir + 1) * 2 * gates];
            let b_name = b.map_or("", |b| b.name);
            new_weights.push((bias_ih[dir].clone(), tensor(vec![gates], reorder(&row[..gates], 1)), b_name));
            new_weights.push((bias_hh[dir].clone(), tensor(vec![gates], reorder(&row[gates..], 1)), b_name));
        }
        let (w_name, r_name) = (w.name, r.name);
        let transform_w = if quantized {
            "int8 [D,in,4H], (q - zp[d]) * scale[d], transposed to [4H,in], gates iofc → ifgo"
        } else {
            "float [D,4H,in], gates iofc → ifgo"
        };
        self.set_role(w_name, InitializerRole::Weight { keys: w_keys.clone(), transform: transform_w })?;
        self.set_role(r_name, InitializerRole::Weight { keys: r_keys.clone(), transform: transform_w })?;
        if let Some(b) = b {
            let keys: Vec<String> = bias_ih.iter().zip(&bias_hh).flat_map(|(a, b)| [a.clone(), b.clone()]).collect();
            self.set_role(
                b.name,
                InitializerRole::Weight {
                    keys,
                    transform: "float [D,8H] split into bias_ih/bias_hh, gates iofc → ifgo",
                },
            )?;
        }
        if quantized {
            for slot in 8..12 {
                if let Some(s) = self.source(node.input(slot)) {
                    let used_by = if slot < 10 { w_keys.clone() } else { r_keys.clone() };
                    self.set_role(s.init.name, InitializerRole::QuantParam { used_by })?;
                }
            }
        }
        for (key, t, source) in new_weights {
            // An omitted B means zero biases (ONNX LSTM spec).
            let source = if source.is_empty() { "<omitted LSTM B: zeros>" } else { source };
            self.add_weight(key, t, source)?;
        }
        Ok(())
    }

    /// Classifies the initializers no weight-consuming node claimed.
    fn classify_remaining(&mut self) -> Result<(), WeightsError> {
        let graph = self.graph;
        let mut unexplained = Vec::new();
        let mut reciprocals = Vec::new();
        for init in &graph.initializers {
            if self.roles.contains_key(init.name) {
                continue;
            }
            let consumers = self.consumers_of(init.name);
            let consumed_as = |op: &str, slots: &[usize]| {
                consumers.iter().any(|&(n, s)| graph.nodes[n].op_type == op && slots.contains(&s))
            };
            let parameter_key = naming::key_from_initializer_name(init.name);
            let is_parameter_slot = PARAMETER_SLOTS.iter().any(|(op, slots)| consumed_as(op, slots));
            let in_slice = consumed_as("Slice", &[0]);
            if let (true, Some(key), true) = (init.data_type.is_float(), parameter_key.clone(), is_parameter_slot) {
                let t = tensor(init.dims.clone(), self.f32_values(init)?);
                self.add_weight(key.clone(), t, init.name)?;
                self.roles.insert(init.name, InitializerRole::Weight { keys: vec![key], transform: "float as stored" });
            } else if in_slice {
                self.roles.insert(init.name, InitializerRole::Buffer { what: "constant table the graph slices" });
            } else if let Some(alpha) = naming::alpha_of_reciprocal(init.name).filter(|_| init.data_type.is_float()) {
                reciprocals.push((init, alpha));
            } else if init.numel() <= MAX_CONSTANT_ELEMENTS && (parameter_key.is_none() || !init.data_type.is_float()) {
                self.roles.insert(init.name, InitializerRole::Constant);
            } else {
                unexplained.push(format!("{:?} {:?} {:?}", init.name, init.data_type, init.dims));
            }
        }
        // Snake 1/alpha constants: accepted only if they really are 1/alpha.
        for (init, alpha) in reciprocals {
            let verified = match self.weights.get(&alpha) {
                Some((alpha_tensor, _)) => {
                    let values = self.f32_values(init)?;
                    values.len() == alpha_tensor.data.len()
                        && values.iter().zip(&alpha_tensor.data).all(|(&r, &a)| ((r * a) - 1.0).abs() <= 1e-5)
                }
                None => false,
            };
            if verified {
                self.roles.insert(init.name, InitializerRole::DerivedReciprocal { of: alpha });
            } else {
                unexplained.push(format!("{:?} (looks like 1/{alpha} but does not match it)", init.name));
            }
        }
        if unexplained.is_empty() {
            Ok(())
        } else {
            let shown: Vec<_> = unexplained.iter().take(12).cloned().collect();
            Err(self.mapping_error(format!(
                "{} initializer(s) are neither a recognised weight, quantization parameter, buffer nor small constant: {}{}",
                unexplained.len(),
                shown.join(", "),
                if unexplained.len() > shown.len() { ", …" } else { "" }
            )))
        }
    }

    fn report(&self) -> OnnxReport {
        let initializers = self
            .graph
            .initializers
            .iter()
            .map(|init| InitializerAccount {
                name: init.name.to_string(),
                shape: init.dims.clone(),
                role: self.roles.get(init.name).cloned().unwrap_or(InitializerRole::Constant),
                consumers: self
                    .consumers_of(init.name)
                    .into_iter()
                    .map(|(n, s)| format!("{}:{s}", self.graph.nodes[n].op_type))
                    .collect(),
            })
            .collect();
        OnnxReport { initializers, node_count: self.graph.nodes.len() }
    }
}

/// Element type names for messages.
impl std::fmt::Display for DataType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}
