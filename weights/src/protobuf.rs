//! A minimal reader for the protocol-buffers wire format.
//!
//! ONNX files are serialized `onnx.ModelProto` messages. The usual Rust routes to them
//! (`prost` + `protoc`-generated code, or a crate that vendors generated code) either need a
//! `protoc` build step or pull a large generated API for the ~15 fields we actually read. The
//! wire format itself is small: every field is a varint key `(field_number << 3) | wire_type`
//! followed by a varint, a fixed 4/8-byte value, or a length-delimited byte string (nested
//! messages, strings and packed repeated scalars). This module decodes exactly that, without
//! copying: length-delimited values are sub-slices of the input buffer.
//!
//! Every read is bounds-checked and reports the byte offset of the problem, so a truncated or
//! corrupt file becomes an error, never a panic.

use std::fmt;

/// Why the bytes are not a well-formed protobuf message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError {
    /// Offset from the start of the message being decoded.
    pub offset: usize,
    pub what: String,
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.what, self.offset)
    }
}

impl std::error::Error for WireError {}

/// One decoded field value. Group wire types (3 and 4) are deprecated and never used by ONNX,
/// so they are reported as errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldValue<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
}

/// Iterates over the fields of one message.
pub struct MessageReader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Offset of `buf` within the outermost buffer, for error messages.
    base: usize,
}

impl<'a> MessageReader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0, base: 0 }
    }

    /// A reader for a nested message whose bytes start at `base` in the outer buffer.
    pub fn nested(buf: &'a [u8], base: usize) -> Self {
        Self { buf, pos: 0, base }
    }

    /// Absolute offset of the next unread byte.
    pub fn offset(&self) -> usize {
        self.base + self.pos
    }

    fn error(&self, what: impl Into<String>) -> WireError {
        WireError { offset: self.offset(), what: what.into() }
    }

    fn read_varint(&mut self) -> Result<u64, WireError> {
        let (value, used) = decode_varint(&self.buf[self.pos..]).map_err(|what| self.error(what))?;
        self.pos += used;
        Ok(value)
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], WireError> {
        let remaining = self.buf.len() - self.pos;
        if len > remaining {
            return Err(self.error(format!("field needs {len} bytes but only {remaining} remain (file truncated?)")));
        }
        let slice = &self.buf[self.pos..self.pos + len];
        self.pos += len;
        Ok(slice)
    }

    /// The next `(field_number, value, absolute_offset_of_value)`, or `None` at the end.
    pub fn next_field(&mut self) -> Result<Option<(u32, FieldValue<'a>, usize)>, WireError> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let key = self.read_varint()?;
        let field = u32::try_from(key >> 3).map_err(|_| self.error("field number out of range"))?;
        if field == 0 {
            return Err(self.error("field number 0 is invalid"));
        }
        let value_offset = self.offset();
        let value = match key & 7 {
            0 => FieldValue::Varint(self.read_varint()?),
            1 => {
                let b = self.take(8)?;
                FieldValue::Fixed64(u64::from_le_bytes(b.try_into().expect("8 bytes")))
            }
            2 => {
                let len = self.read_varint()?;
                let len = usize::try_from(len).map_err(|_| self.error("length out of range"))?;
                FieldValue::Bytes(self.take(len)?)
            }
            5 => {
                let b = self.take(4)?;
                FieldValue::Fixed32(u32::from_le_bytes(b.try_into().expect("4 bytes")))
            }
            other => return Err(self.error(format!("unsupported wire type {other}"))),
        };
        Ok(Some((field, value, value_offset)))
    }
}

/// Decodes one varint, returning it and the number of bytes used.
pub fn decode_varint(bytes: &[u8]) -> Result<(u64, usize), &'static str> {
    let mut value: u64 = 0;
    for (i, &byte) in bytes.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok((value, i + 1));
        }
    }
    if bytes.len() < 10 {
        Err("varint runs past the end of the data (file truncated?)")
    } else {
        Err("varint longer than 10 bytes")
    }
}

/// Decodes a packed run of varints (`repeated int64/int32 [packed=true]`).
pub fn packed_varints(mut bytes: &[u8]) -> Result<Vec<u64>, &'static str> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (v, used) = decode_varint(bytes)?;
        out.push(v);
        bytes = &bytes[used..];
    }
    Ok(out)
}

/// Decodes a packed run of little-endian `f32`.
pub fn packed_f32(bytes: &[u8]) -> Result<Vec<f32>, &'static str> {
    if !bytes.len().is_multiple_of(4) {
        return Err("packed float field length is not a multiple of 4");
    }
    Ok(bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
}

/// Decodes a packed run of little-endian `f64`.
pub fn packed_f64(bytes: &[u8]) -> Result<Vec<f64>, &'static str> {
    if !bytes.len().is_multiple_of(8) {
        return Err("packed double field length is not a multiple of 8");
    }
    Ok(bytes.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes"))).collect())
}

/// Writes the wire format. Used by the tests (which build small ONNX files) and kept here so
/// that the reader and writer live side by side.
pub mod write {
    /// Appends a varint.
    pub fn varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    /// Appends a varint field.
    pub fn varint_field(out: &mut Vec<u8>, field: u32, v: u64) {
        varint(out, u64::from(field) << 3);
        varint(out, v);
    }

    /// Appends a length-delimited field (bytes, string or nested message).
    pub fn bytes_field(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
        varint(out, (u64::from(field) << 3) | 2);
        varint(out, bytes.len() as u64);
        out.extend_from_slice(bytes);
    }

    /// Appends a fixed32 field holding an `f32`.
    pub fn f32_field(out: &mut Vec<u8>, field: u32, v: f32) {
        varint(out, (u64::from(field) << 3) | 5);
        out.extend_from_slice(&v.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_round_trip() {
        for v in [0u64, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            let mut buf = Vec::new();
            write::varint(&mut buf, v);
            assert_eq!(decode_varint(&buf), Ok((v, buf.len())));
        }
    }

    #[test]
    fn truncated_varint_is_an_error() {
        assert!(decode_varint(&[0x80, 0x80]).is_err());
        assert!(decode_varint(&[0xff; 11]).is_err());
    }

    #[test]
    fn fields_are_decoded_and_truncation_detected() {
        let mut msg = Vec::new();
        write::varint_field(&mut msg, 1, 42);
        write::bytes_field(&mut msg, 2, b"hello");
        write::f32_field(&mut msg, 3, 1.5);
        let mut r = MessageReader::new(&msg);
        assert_eq!(r.next_field().unwrap().map(|f| (f.0, f.1)), Some((1, FieldValue::Varint(42))));
        assert_eq!(r.next_field().unwrap().map(|f| (f.0, f.1)), Some((2, FieldValue::Bytes(b"hello"))));
        assert_eq!(r.next_field().unwrap().map(|f| (f.0, f.1)), Some((3, FieldValue::Fixed32(1.5f32.to_bits()))));
        assert_eq!(r.next_field().unwrap(), None);
        for cut in 1..msg.len() {
            let mut r = MessageReader::new(&msg[..cut]);
            let mut result = Ok(());
            loop {
                match r.next_field() {
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
            }
            // Some cuts fall on a field boundary and are valid shorter messages.
            if ![2usize, 9].contains(&cut) {
                assert!(result.is_err(), "cut at {cut} should fail");
            }
        }
    }
}
