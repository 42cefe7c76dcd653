//! The parts of `onnx.ModelProto` a weight loader needs, decoded from the wire format.
//!
//! Field numbers are those of `onnx/onnx.proto3` (stable since ONNX 1.0):
//! * `ModelProto`: `graph = 7`.
//! * `GraphProto`: `node = 1`, `initializer = 5`.
//! * `NodeProto`: `input = 1`, `output = 2`, `name = 3`, `op_type = 4`, `attribute = 5`, `domain = 7`.
//! * `AttributeProto`: `name = 1`, `f = 2`, `i = 3`, `s = 4`, `ints = 8`.
//! * `TensorProto`: `dims = 1`, `data_type = 2`, `float_data = 4`, `int32_data = 5`,
//!   `int64_data = 7`, `name = 8`, `raw_data = 9`, `double_data = 10`, `uint64_data = 11`,
//!   `external_data = 13`, `data_location = 14`.
//!
//! Everything else (doc strings, value infos, metadata, functions) is skipped. Initializer
//! payloads stay borrowed from the file buffer until a tensor is converted.

use super::super::protobuf::{FieldValue, MessageReader, WireError, packed_f32, packed_f64, packed_varints};

/// `TensorProto.DataType` values this loader understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataType {
    Float,
    Uint8,
    Int8,
    Uint16,
    Int16,
    Int32,
    Int64,
    Bool,
    Float16,
    Double,
    Uint32,
    Uint64,
    Bfloat16,
    /// Strings, complex numbers, 8/4-bit floats: never weights of this model.
    Other(i64),
}

impl DataType {
    fn from_code(code: i64) -> Self {
        match code {
            1 => Self::Float,
            2 => Self::Uint8,
            3 => Self::Int8,
            4 => Self::Uint16,
            5 => Self::Int16,
            6 => Self::Int32,
            7 => Self::Int64,
            9 => Self::Bool,
            10 => Self::Float16,
            11 => Self::Double,
            12 => Self::Uint32,
            13 => Self::Uint64,
            16 => Self::Bfloat16,
            other => Self::Other(other),
        }
    }

    /// Bytes per element in `raw_data`, where fixed.
    fn raw_size(self) -> Option<usize> {
        Some(match self {
            Self::Uint8 | Self::Int8 | Self::Bool => 1,
            Self::Uint16 | Self::Int16 | Self::Float16 | Self::Bfloat16 => 2,
            Self::Float | Self::Int32 | Self::Uint32 => 4,
            Self::Int64 | Self::Double | Self::Uint64 => 8,
            Self::Other(_) => return None,
        })
    }

    /// Whether the values are floating point (the float weights and scales).
    pub fn is_float(self) -> bool {
        matches!(self, Self::Float | Self::Float16 | Self::Bfloat16 | Self::Double)
    }
}

/// Where an initializer's values are stored inside the `TensorProto`.
#[derive(Debug, Clone)]
enum Payload<'a> {
    Raw(&'a [u8]),
    Floats(Vec<f32>),
    /// `int32_data`: also carries int8/uint8/int16/uint16/bool and the bit patterns of f16/bf16.
    Int32s(Vec<i64>),
    Int64s(Vec<i64>),
    Doubles(Vec<f64>),
    Uint64s(Vec<u64>),
    /// Stored in a separate file (`data_location = EXTERNAL`).
    External,
    Empty,
}

/// One graph initializer (a named constant tensor).
#[derive(Debug, Clone)]
pub struct Initializer<'a> {
    pub name: &'a str,
    pub dims: Vec<usize>,
    pub data_type: DataType,
    payload: Payload<'a>,
}

/// One graph node.
#[derive(Debug, Clone, Default)]
pub struct Node<'a> {
    pub name: &'a str,
    pub op_type: &'a str,
    pub domain: &'a str,
    /// Input names; an empty string is an omitted optional input.
    pub inputs: Vec<&'a str>,
    pub outputs: Vec<&'a str>,
    pub attributes: Vec<Attribute<'a>>,
}

/// A node attribute; only the scalar and list kinds weight mapping looks at are kept.
#[derive(Debug, Clone, Default)]
pub struct Attribute<'a> {
    pub name: &'a str,
    pub int: Option<i64>,
    pub float: Option<f32>,
    pub string: Option<&'a [u8]>,
    pub ints: Vec<i64>,
}

impl Node<'_> {
    pub fn attribute(&self, name: &str) -> Option<&Attribute<'_>> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// Input `slot`, or `None` when absent or omitted (empty name).
    pub fn input(&self, slot: usize) -> Option<&str> {
        self.inputs.get(slot).copied().filter(|s| !s.is_empty())
    }
}

/// The decoded graph.
#[derive(Debug, Clone, Default)]
pub struct Graph<'a> {
    pub nodes: Vec<Node<'a>>,
    pub initializers: Vec<Initializer<'a>>,
}

fn utf8<'a>(bytes: &'a [u8], offset: usize, what: &str) -> Result<&'a str, WireError> {
    std::str::from_utf8(bytes).map_err(|_| WireError { offset, what: format!("{what} is not valid UTF-8") })
}

fn varint_list(value: FieldValue<'_>, offset: usize) -> Result<Vec<u64>, WireError> {
    match value {
        FieldValue::Varint(v) => Ok(vec![v]),
        FieldValue::Bytes(b) => packed_varints(b).map_err(|what| WireError { offset, what: what.into() }),
        _ => Err(WireError { offset, what: "expected an integer field".into() }),
    }
}

fn wrong_type(offset: usize, field: &str) -> WireError {
    WireError { offset, what: format!("field {field} has the wrong wire type") }
}

/// Decodes `ModelProto` bytes and returns its graph.
pub fn parse_model(bytes: &[u8]) -> Result<Graph<'_>, WireError> {
    let mut reader = MessageReader::new(bytes);
    let mut graph = None;
    while let Some((field, value, offset)) = reader.next_field()? {
        if field == 7 {
            let FieldValue::Bytes(b) = value else {
                return Err(wrong_type(offset, "ModelProto.graph"));
            };
            graph = Some(parse_graph(b, offset)?);
        }
    }
    graph.ok_or_else(|| WireError { offset: bytes.len(), what: "the model has no graph (field 7)".into() })
}

fn parse_graph(bytes: &[u8], base: usize) -> Result<Graph<'_>, WireError> {
    let mut reader = MessageReader::nested(bytes, base);
    let mut graph = Graph::default();
    while let Some((field, value, offset)) = reader.next_field()? {
        match (field, value) {
            (1, FieldValue::Bytes(b)) => graph.nodes.push(parse_node(b, offset)?),
            (5, FieldValue::Bytes(b)) => graph.initializers.push(parse_tensor(b, offset)?),
            (1 | 5, _) => return Err(wrong_type(offset, "GraphProto.node/initializer")),
            _ => {}
        }
    }
    Ok(graph)
}

fn parse_node<'a>(bytes: &'a [u8], base: usize) -> Result<Node<'a>, WireError> {
    let mut reader = MessageReader::nested(bytes, base);
    let mut node = Node::default();
    while let Some((field, value, offset)) = reader.next_field()? {
        let text = |v: FieldValue<'a>, what: &str| -> Result<&'a [u8], WireError> {
            match v {
                FieldValue::Bytes(b) => Ok(b),
                _ => Err(wrong_type(offset, what)),
            }
        };
        match field {
            1 => node.inputs.push(utf8(text(value, "NodeProto.input")?, offset, "node input")?),
            2 => node.outputs.push(utf8(text(value, "NodeProto.output")?, offset, "node output")?),
            3 => node.name = utf8(text(value, "NodeProto.name")?, offset, "node name")?,
            4 => node.op_type = utf8(text(value, "NodeProto.op_type")?, offset, "op type")?,
            5 => node.attributes.push(parse_attribute(text(value, "NodeProto.attribute")?, offset)?),
            7 => node.domain = utf8(text(value, "NodeProto.domain")?, offset, "node domain")?,
            _ => {}
        }
    }
    Ok(node)
}

fn parse_attribute(bytes: &[u8], base: usize) -> Result<Attribute<'_>, WireError> {
    let mut reader = MessageReader::nested(bytes, base);
    let mut attr = Attribute::default();
    while let Some((field, value, offset)) = reader.next_field()? {
        match (field, value) {
            (1, FieldValue::Bytes(b)) => attr.name = utf8(b, offset, "attribute name")?,
            (2, FieldValue::Fixed32(bits)) => attr.float = Some(f32::from_bits(bits)),
            (3, FieldValue::Varint(v)) => attr.int = Some(v as i64),
            (4, FieldValue::Bytes(b)) => attr.string = Some(b),
            (8, v) => attr.ints.extend(varint_list(v, offset)?.into_iter().map(|x| x as i64)),
            (1..=4, _) => return Err(wrong_type(offset, "AttributeProto")),
            _ => {}
        }
    }
    Ok(attr)
}

fn parse_tensor(bytes: &[u8], base: usize) -> Result<Initializer<'_>, WireError> {
    let mut reader = MessageReader::nested(bytes, base);
    let mut name = "";
    let mut dims = Vec::new();
    let mut data_type = DataType::Other(0);
    let mut payload = Payload::Empty;
    let mut external = false;
    let mut int32s: Vec<i64> = Vec::new();
    let mut int64s: Vec<i64> = Vec::new();
    let mut floats: Vec<f32> = Vec::new();
    let mut doubles: Vec<f64> = Vec::new();
    let mut uint64s: Vec<u64> = Vec::new();
    while let Some((field, value, offset)) = reader.next_field()? {
        let err = |what: &'static str| WireError { offset, what: what.into() };
        match (field, value) {
            (1, v) => {
                for d in varint_list(v, offset)? {
                    let d = i64::try_from(d).ok().and_then(|d| usize::try_from(d).ok());
                    dims.push(d.ok_or_else(|| err("negative or huge tensor dimension"))?);
                }
            }
            (2, FieldValue::Varint(v)) => data_type = DataType::from_code(v as i64),
            (4, FieldValue::Bytes(b)) => floats.extend(packed_f32(b).map_err(err)?),
            (4, FieldValue::Fixed32(bits)) => floats.push(f32::from_bits(bits)),
            (5, v) => int32s.extend(varint_list(v, offset)?.into_iter().map(|x| x as i32 as i64)),
            (7, v) => int64s.extend(varint_list(v, offset)?.into_iter().map(|x| x as i64)),
            (8, FieldValue::Bytes(b)) => name = utf8(b, offset, "tensor name")?,
            (9, FieldValue::Bytes(b)) => payload = Payload::Raw(b),
            (10, FieldValue::Bytes(b)) => doubles.extend(packed_f64(b).map_err(err)?),
            (10, FieldValue::Fixed64(bits)) => doubles.push(f64::from_bits(bits)),
            (11, v) => uint64s.extend(varint_list(v, offset)?),
            (13, _) => external = true,
            (14, FieldValue::Varint(1)) => external = true,
            (2 | 4 | 8 | 9 | 10, _) => return Err(wrong_type(offset, "TensorProto")),
            _ => {}
        }
    }
    if external {
        payload = Payload::External;
    } else if matches!(payload, Payload::Empty) {
        payload = if !floats.is_empty() {
            Payload::Floats(floats)
        } else if !int32s.is_empty() {
            Payload::Int32s(int32s)
        } else if !int64s.is_empty() {
            Payload::Int64s(int64s)
        } else if !doubles.is_empty() {
            Payload::Doubles(doubles)
        } else if !uint64s.is_empty() {
            Payload::Uint64s(uint64s)
        } else {
            Payload::Empty
        };
    }
    Ok(Initializer { name, dims, data_type, payload })
}

/// Why an initializer's values cannot be produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueError {
    External,
    WrongType { wanted: &'static str, found: DataType },
    Length { expected: usize, found: usize },
}

impl std::fmt::Display for ValueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::External => write!(f, "its data is stored in an external file, which is not supported"),
            Self::WrongType { wanted, found } => {
                write!(f, "expected {wanted} data, found {found:?}")
            }
            Self::Length { expected, found } => {
                write!(f, "its shape needs {expected} values but the file holds {found} (truncated or corrupt)")
            }
        }
    }
}

impl Initializer<'_> {
    /// Number of elements; `usize::MAX` when the dims overflow (reported as a length error).
    pub fn numel(&self) -> usize {
        self.dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)).unwrap_or(usize::MAX)
    }

    fn check_len(&self, found: usize) -> Result<(), ValueError> {
        let expected = self.numel();
        if found == expected { Ok(()) } else { Err(ValueError::Length { expected, found }) }
    }

    fn raw_elements<'b>(&self, raw: &'b [u8]) -> Result<std::slice::ChunksExact<'b, u8>, ValueError> {
        let size =
            self.data_type.raw_size().ok_or(ValueError::WrongType { wanted: "numeric", found: self.data_type })?;
        if !raw.len().is_multiple_of(size) {
            return Err(ValueError::Length { expected: self.numel(), found: raw.len() / size });
        }
        self.check_len(raw.len() / size)?;
        Ok(raw.chunks_exact(size))
    }

    /// The values as `f32` (float, double, float16 and bfloat16 tensors).
    pub fn to_f32(&self) -> Result<Vec<f32>, ValueError> {
        let wrong = ValueError::WrongType { wanted: "floating-point", found: self.data_type };
        let out: Vec<f32> = match (&self.payload, self.data_type) {
            (Payload::External, _) => return Err(ValueError::External),
            (Payload::Raw(raw), DataType::Float) => {
                self.raw_elements(raw)?.map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
            }
            (Payload::Raw(raw), DataType::Float16) => {
                self.raw_elements(raw)?.map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32()).collect()
            }
            (Payload::Raw(raw), DataType::Bfloat16) => {
                self.raw_elements(raw)?.map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32()).collect()
            }
            (Payload::Raw(raw), DataType::Double) => {
                self.raw_elements(raw)?.map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")) as f32).collect()
            }
            (Payload::Floats(v), DataType::Float) => v.clone(),
            (Payload::Doubles(v), DataType::Double) => v.iter().map(|&x| x as f32).collect(),
            (Payload::Int32s(v), DataType::Float16) => {
                v.iter().map(|&x| half::f16::from_bits(x as u16).to_f32()).collect()
            }
            (Payload::Int32s(v), DataType::Bfloat16) => {
                v.iter().map(|&x| half::bf16::from_bits(x as u16).to_f32()).collect()
            }
            (Payload::Empty, t) if t.is_float() => Vec::new(),
            _ => return Err(wrong),
        };
        self.check_len(out.len())?;
        Ok(out)
    }

    /// The values as `i64` (all integer and bool tensors).
    pub fn to_i64(&self) -> Result<Vec<i64>, ValueError> {
        let wrong = ValueError::WrongType { wanted: "integer", found: self.data_type };
        let out: Vec<i64> = match (&self.payload, self.data_type) {
            (Payload::External, _) => return Err(ValueError::External),
            (Payload::Raw(raw), t) => {
                let elements = self.raw_elements(raw)?;
                match t {
                    DataType::Int8 => elements.map(|c| i64::from(c[0] as i8)).collect(),
                    DataType::Uint8 | DataType::Bool => elements.map(|c| i64::from(c[0])).collect(),
                    DataType::Int16 => elements.map(|c| i64::from(i16::from_le_bytes([c[0], c[1]]))).collect(),
                    DataType::Uint16 => elements.map(|c| i64::from(u16::from_le_bytes([c[0], c[1]]))).collect(),
                    DataType::Int32 => {
                        elements.map(|c| i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]]))).collect()
                    }
                    DataType::Uint32 => {
                        elements.map(|c| i64::from(u32::from_le_bytes([c[0], c[1], c[2], c[3]]))).collect()
                    }
                    DataType::Int64 => elements.map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes"))).collect(),
                    DataType::Uint64 => {
                        elements.map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")) as i64).collect()
                    }
                    _ => return Err(wrong),
                }
            }
            (Payload::Int32s(v), t) if !t.is_float() && t != DataType::Int64 => {
                // int32_data holds int8/uint8/... values; uint8 is stored unsigned, int8 signed.
                v.clone()
            }
            (Payload::Int64s(v), DataType::Int64) => v.clone(),
            (Payload::Uint64s(v), DataType::Uint64 | DataType::Uint32) => v.iter().map(|&x| x as i64).collect(),
            (Payload::Empty, t) if !t.is_float() => Vec::new(),
            _ => return Err(wrong),
        };
        self.check_len(out.len())?;
        Ok(out)
    }
}
