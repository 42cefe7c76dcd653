//! Builds small ONNX models in memory with the crate's own wire-format writer.

use warble_weights::protobuf::write::{bytes_field, f32_field, varint_field};

pub const FLOAT: u64 = 1;
pub const UINT8: u64 = 2;
pub const INT8: u64 = 3;
pub const INT64: u64 = 7;
pub const FLOAT16: u64 = 10;

#[derive(Default)]
pub struct GraphBuilder {
    nodes: Vec<Vec<u8>>,
    initializers: Vec<Vec<u8>>,
}

pub enum Attr<'a> {
    Int(&'a str, i64),
    Float(&'a str, f32),
    Str(&'a str, &'a str),
}

impl GraphBuilder {
    /// Adds a float32 initializer (`raw_data`).
    pub fn f32(&mut self, name: &str, dims: &[usize], values: &[f32]) -> &mut Self {
        let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.raw(name, dims, FLOAT, &raw)
    }

    /// Adds a float32 initializer stored in `float_data` instead of `raw_data`.
    pub fn f32_field(&mut self, name: &str, dims: &[usize], values: &[f32]) -> &mut Self {
        let mut t = Vec::new();
        for &d in dims {
            varint_field(&mut t, 1, d as u64);
        }
        varint_field(&mut t, 2, FLOAT);
        let packed: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        bytes_field(&mut t, 4, &packed);
        bytes_field(&mut t, 8, name.as_bytes());
        self.initializers.push(t);
        self
    }

    /// Adds a float16 initializer.
    pub fn f16(&mut self, name: &str, dims: &[usize], values: &[f32]) -> &mut Self {
        let raw: Vec<u8> = values.iter().flat_map(|&v| half::f16::from_f32(v).to_le_bytes()).collect();
        self.raw(name, dims, FLOAT16, &raw)
    }

    pub fn i64(&mut self, name: &str, dims: &[usize], values: &[i64]) -> &mut Self {
        let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.raw(name, dims, INT64, &raw)
    }

    pub fn raw(&mut self, name: &str, dims: &[usize], data_type: u64, raw: &[u8]) -> &mut Self {
        let mut t = Vec::new();
        for &d in dims {
            varint_field(&mut t, 1, d as u64);
        }
        varint_field(&mut t, 2, data_type);
        bytes_field(&mut t, 8, name.as_bytes());
        bytes_field(&mut t, 9, raw);
        self.initializers.push(t);
        self
    }

    pub fn node(&mut self, op: &str, name: &str, inputs: &[&str], outputs: &[&str], attrs: &[Attr<'_>]) -> &mut Self {
        let mut n = Vec::new();
        for i in inputs {
            bytes_field(&mut n, 1, i.as_bytes());
        }
        for o in outputs {
            bytes_field(&mut n, 2, o.as_bytes());
        }
        bytes_field(&mut n, 3, name.as_bytes());
        bytes_field(&mut n, 4, op.as_bytes());
        for a in attrs {
            let mut m = Vec::new();
            match a {
                Attr::Int(k, v) => {
                    bytes_field(&mut m, 1, k.as_bytes());
                    varint_field(&mut m, 3, *v as u64);
                    varint_field(&mut m, 20, 2);
                }
                Attr::Float(k, v) => {
                    bytes_field(&mut m, 1, k.as_bytes());
                    f32_field(&mut m, 2, *v);
                    varint_field(&mut m, 20, 1);
                }
                Attr::Str(k, v) => {
                    bytes_field(&mut m, 1, k.as_bytes());
                    bytes_field(&mut m, 4, v.as_bytes());
                    varint_field(&mut m, 20, 3);
                }
            }
            bytes_field(&mut n, 5, &m);
        }
        self.nodes.push(n);
        self
    }

    /// Serializes a ModelProto (ir_version 8, opset 20) holding the graph.
    pub fn model_bytes(&self) -> Vec<u8> {
        let mut g = Vec::new();
        for n in &self.nodes {
            bytes_field(&mut g, 1, n);
        }
        bytes_field(&mut g, 2, b"test");
        for t in &self.initializers {
            bytes_field(&mut g, 5, t);
        }
        let mut m = Vec::new();
        varint_field(&mut m, 1, 8);
        bytes_field(&mut m, 2, b"warble-test");
        bytes_field(&mut m, 7, &g);
        let mut opset = Vec::new();
        varint_field(&mut opset, 2, 20);
        bytes_field(&mut m, 8, &opset);
        m
    }
}
