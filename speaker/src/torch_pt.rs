//! Hugging Face voice files (`voices/<name>.pt`): `torch.save(tensor)` archives.
//!
//! A `.pt` voice is a zip holding `<name>/data.pkl` (a pickle whose root is one tensor),
//! `<name>/data/0` (the raw storage) and `<name>/byteorder`. General checkpoint readers such as
//! `pytorch-reader` expect a dict at the root and refuse a bare tensor, so this module runs a
//! small pickle interpreter that understands just what `torch.save` emits for a tensor:
//! globals, tuples, ints, strings, memo ops, `BINPERSID` storage references and
//! `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, …)`. Anything else becomes
//! an opaque value, and a root that is not a tensor is an error, never a guess.

use std::collections::HashMap;

/// What the pickle says about the tensor at its root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorRef {
    /// Storage class, e.g. `FloatStorage`.
    pub storage_type: String,
    /// Storage file name under `data/`.
    pub storage_key: String,
    /// Offset into the storage, in elements.
    pub offset: usize,
    pub shape: Vec<usize>,
    pub stride: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq)]
enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Dict(Vec<(Value, Value)>),
    Global(String, String),
    Storage { storage_type: String, key: String },
    Tensor(TensorRef),
    Mark,
    Opaque(String),
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| format!("pickle truncated at byte {}", self.pos))?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<usize, String> {
        let b = self.take(2)?;
        Ok(usize::from(u16::from_le_bytes([b[0], b[1]])))
    }
    fn u32(&mut self) -> Result<usize, String> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }
    fn u64(&mut self) -> Result<usize, String> {
        let b = self.take(8)?;
        usize::try_from(u64::from_le_bytes(b.try_into().expect("8 bytes"))).map_err(|_| "length too large".to_string())
    }
    fn line(&mut self) -> Result<String, String> {
        let rest = &self.bytes[self.pos..];
        let end = rest.iter().position(|&b| b == b'\n').ok_or("unterminated text line in pickle")?;
        self.pos += end + 1;
        String::from_utf8(rest[..end].to_vec()).map_err(|_| "non-UTF-8 text in pickle".to_string())
    }
    fn text(&mut self, n: usize) -> Result<String, String> {
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| "non-UTF-8 string in pickle".to_string())
    }
}

fn as_usize(v: &Value) -> Option<usize> {
    match v {
        Value::Int(i) => usize::try_from(*i).ok(),
        _ => None,
    }
}

fn as_usize_list(v: &Value) -> Option<Vec<usize>> {
    match v {
        Value::Tuple(items) | Value::List(items) => items.iter().map(as_usize).collect(),
        _ => None,
    }
}

/// Applies `callable(*args)` for the few callables torch.save uses.
fn reduce(callable: Value, args: Value) -> Value {
    let Value::Global(module, name) = &callable else {
        return Value::Opaque("call".into());
    };
    let Value::Tuple(args) = args else {
        return Value::Opaque(format!("{module}.{name}"));
    };
    match (module.as_str(), name.as_str()) {
        ("torch._utils", "_rebuild_tensor_v2" | "_rebuild_tensor") => {
            if let (Some(Value::Storage { storage_type, key }), Some(offset), Some(shape), Some(stride)) = (
                args.first(),
                args.get(1).and_then(as_usize),
                args.get(2).and_then(as_usize_list),
                args.get(3).and_then(as_usize_list),
            ) {
                return Value::Tensor(TensorRef {
                    storage_type: storage_type.clone(),
                    storage_key: key.clone(),
                    offset,
                    shape,
                    stride,
                });
            }
            Value::Opaque("malformed tensor".into())
        }
        ("collections", "OrderedDict") => Value::Dict(Vec::new()),
        _ => Value::Opaque(format!("{module}.{name}")),
    }
}

/// Runs the pickle and returns the tensor at its root.
pub fn parse_tensor_pickle(bytes: &[u8]) -> Result<TensorRef, String> {
    let mut r = Reader { bytes, pos: 0 };
    let mut stack: Vec<Value> = Vec::new();
    let mut memo: HashMap<usize, Value> = HashMap::new();
    let pop = |stack: &mut Vec<Value>| stack.pop().ok_or_else(|| "pickle stack underflow".to_string());
    let pop_mark = |stack: &mut Vec<Value>| -> Result<Vec<Value>, String> {
        let at = stack.iter().rposition(|v| *v == Value::Mark).ok_or("pickle MARK missing")?;
        let items = stack.split_off(at + 1);
        stack.pop();
        Ok(items)
    };
    loop {
        let op = r.u8()?;
        match op {
            0x80 => {
                r.u8()?; // PROTO
            }
            0x95 => {
                r.take(8)?; // FRAME
            }
            b'.' => break,
            b'(' => stack.push(Value::Mark),
            b'N' => stack.push(Value::None),
            0x88 => stack.push(Value::Bool(true)),
            0x89 => stack.push(Value::Bool(false)),
            b'K' => stack.push(Value::Int(i64::from(r.u8()?))),
            b'M' => stack.push(Value::Int(r.u16()? as i64)),
            b'J' => {
                let b = r.take(4)?;
                stack.push(Value::Int(i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))));
            }
            0x8a => {
                // LONG1: little-endian two's complement of n bytes.
                let n = usize::from(r.u8()?);
                let b = r.take(n)?;
                if n > 8 {
                    stack.push(Value::Opaque("big int".into()));
                } else {
                    let mut v: i64 = 0;
                    for (i, &byte) in b.iter().enumerate() {
                        v |= i64::from(byte) << (8 * i);
                    }
                    if n > 0 && n < 8 && b[n - 1] & 0x80 != 0 {
                        v -= 1i64 << (8 * n);
                    }
                    stack.push(Value::Int(v));
                }
            }
            b'G' => {
                let b = r.take(8)?;
                stack.push(Value::Float(f64::from_be_bytes(b.try_into().expect("8 bytes"))));
            }
            b'X' => {
                let n = r.u32()?;
                stack.push(Value::Str(r.text(n)?));
            }
            0x8c => {
                let n = usize::from(r.u8()?);
                stack.push(Value::Str(r.text(n)?));
            }
            0x8d => {
                let n = r.u64()?;
                stack.push(Value::Str(r.text(n)?));
            }
            b'T' | b'B' => {
                let n = r.u32()?;
                r.take(n)?;
                stack.push(Value::Opaque("bytes".into()));
            }
            b'U' | b'C' => {
                let n = usize::from(r.u8()?);
                r.take(n)?;
                stack.push(Value::Opaque("bytes".into()));
            }
            b'c' => {
                let module = r.line()?;
                let name = r.line()?;
                stack.push(Value::Global(module, name));
            }
            0x93 => {
                let name = pop(&mut stack)?;
                let module = pop(&mut stack)?;
                match (module, name) {
                    (Value::Str(m), Value::Str(n)) => stack.push(Value::Global(m, n)),
                    _ => return Err("STACK_GLOBAL without two strings".into()),
                }
            }
            b')' => stack.push(Value::Tuple(Vec::new())),
            b't' => {
                let items = pop_mark(&mut stack)?;
                stack.push(Value::Tuple(items));
            }
            0x85..=0x87 => {
                let n = usize::from(op - 0x84);
                if stack.len() < n {
                    return Err("pickle stack underflow".into());
                }
                let items = stack.split_off(stack.len() - n);
                stack.push(Value::Tuple(items));
            }
            b']' => stack.push(Value::List(Vec::new())),
            b'}' => stack.push(Value::Dict(Vec::new())),
            b'a' => {
                let item = pop(&mut stack)?;
                if let Some(Value::List(list)) = stack.last_mut() {
                    list.push(item);
                }
            }
            b'e' => {
                let items = pop_mark(&mut stack)?;
                if let Some(Value::List(list)) = stack.last_mut() {
                    list.extend(items);
                }
            }
            b's' => {
                let v = pop(&mut stack)?;
                let k = pop(&mut stack)?;
                if let Some(Value::Dict(d)) = stack.last_mut() {
                    d.push((k, v));
                }
            }
            b'u' => {
                let items = pop_mark(&mut stack)?;
                if let Some(Value::Dict(d)) = stack.last_mut() {
                    let mut it = items.into_iter();
                    while let (Some(k), Some(v)) = (it.next(), it.next()) {
                        d.push((k, v));
                    }
                }
            }
            b'q' => {
                let i = usize::from(r.u8()?);
                memo.insert(i, stack.last().cloned().ok_or("memo of empty stack")?);
            }
            b'r' => {
                let i = r.u32()?;
                memo.insert(i, stack.last().cloned().ok_or("memo of empty stack")?);
            }
            0x94 => {
                let i = memo.len();
                memo.insert(i, stack.last().cloned().ok_or("memo of empty stack")?);
            }
            b'h' | b'j' => {
                let i = if op == b'h' { usize::from(r.u8()?) } else { r.u32()? };
                stack.push(memo.get(&i).cloned().ok_or_else(|| format!("pickle memo {i} missing"))?);
            }
            b'0' => {
                pop(&mut stack)?;
            }
            b'1' => {
                pop_mark(&mut stack)?;
            }
            b'2' => {
                let top = stack.last().cloned().ok_or("DUP of empty stack")?;
                stack.push(top);
            }
            b'Q' => {
                // BINPERSID: ('storage', StorageClass, key, location, numel)
                let pid = pop(&mut stack)?;
                let storage = match &pid {
                    Value::Tuple(items) if items.len() >= 3 => match (&items[0], &items[1], &items[2]) {
                        (Value::Str(tag), Value::Global(_, class), Value::Str(key)) if tag == "storage" => {
                            Value::Storage { storage_type: class.clone(), key: key.clone() }
                        }
                        _ => Value::Opaque("persistent id".into()),
                    },
                    _ => Value::Opaque("persistent id".into()),
                };
                stack.push(storage);
            }
            b'R' => {
                let args = pop(&mut stack)?;
                let callable = pop(&mut stack)?;
                stack.push(reduce(callable, args));
            }
            b'b' => {
                pop(&mut stack)?; // BUILD: state is irrelevant for tensors
            }
            other => {
                return Err(format!("unsupported pickle opcode 0x{other:02x} at byte {}", r.pos - 1));
            }
        }
    }
    match stack.pop() {
        Some(Value::Tensor(t)) => Ok(t),
        Some(other) => Err(format!("the pickle's root is {}, not a tensor", describe(&other))),
        None => Err("empty pickle".into()),
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::Dict(_) => "a dict".into(),
        Value::List(_) => "a list".into(),
        Value::Tuple(_) => "a tuple".into(),
        Value::Opaque(what) => format!("an object ({what})"),
        Value::None => "None".into(),
        Value::Bool(_) | Value::Int(_) | Value::Float(_) => "a number".into(),
        Value::Str(_) => "a string".into(),
        Value::Global(m, n) => format!("{m}.{n}"),
        Value::Storage { .. } => "a storage".into(),
        Value::Tensor(_) => "a tensor".into(),
        Value::Mark => "a mark".into(),
    }
}

/// Decodes one little-endian element of a storage.
pub type ElementDecoder = fn(&[u8]) -> f32;

/// Element size and decoder for a storage class.
pub fn storage_element(storage_type: &str) -> Option<(usize, ElementDecoder)> {
    Some(match storage_type {
        "FloatStorage" => (4, |c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        "HalfStorage" => (2, |c| half::f16::from_le_bytes([c[0], c[1]]).to_f32()),
        "BFloat16Storage" => (2, |c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32()),
        "DoubleStorage" => (8, |c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32),
        _ => return None,
    })
}

/// Gathers a strided view out of a storage's elements (row-major result).
pub fn gather(storage: &[f32], t: &TensorRef) -> Result<Vec<f32>, String> {
    if t.shape.len() != t.stride.len() {
        return Err("shape and stride lengths differ".into());
    }
    let count = t.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).ok_or("shape too large")?;
    if count == 0 {
        return Ok(Vec::new());
    }
    let last = t
        .shape
        .iter()
        .zip(&t.stride)
        .try_fold(t.offset, |a, (&d, &s)| (d - 1).checked_mul(s).and_then(|x| a.checked_add(x)))
        .ok_or("stride overflow")?;
    if last >= storage.len() {
        return Err(format!("tensor reaches element {last} of a storage of {}", storage.len()));
    }
    let mut out = Vec::with_capacity(count);
    let mut index = vec![0usize; t.shape.len()];
    for _ in 0..count {
        let at = t.offset + index.iter().zip(&t.stride).map(|(i, s)| i * s).sum::<usize>();
        out.push(storage[at]);
        for dim in (0..index.len()).rev() {
            index[dim] += 1;
            if index[dim] < t.shape[dim] {
                break;
            }
            index[dim] = 0;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `torch.save(t)` pickle for a [2, 3] float tensor at offset 1 of storage "0".
    fn sample_pickle() -> Vec<u8> {
        let mut p = vec![0x80, 2];
        p.extend_from_slice(b"ctorch._utils\n_rebuild_tensor_v2\nq\x00((X\x07\x00\x00\x00storage");
        p.extend_from_slice(b"ctorch\nFloatStorage\nq\x01X\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x07tQK\x01K\x02K\x03\x86q\x02K\x03K\x01\x86\x89ccollections\nOrderedDict\n)RtR.");
        p
    }

    #[test]
    fn parses_rebuild_tensor_v2() {
        let t = parse_tensor_pickle(&sample_pickle()).unwrap();
        assert_eq!(
            t,
            TensorRef {
                storage_type: "FloatStorage".into(),
                storage_key: "0".into(),
                offset: 1,
                shape: vec![2, 3],
                stride: vec![3, 1]
            }
        );
        let storage: Vec<f32> = (0..7).map(|i| i as f32).collect();
        assert_eq!(gather(&storage, &t).unwrap(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let too_far = TensorRef { offset: 2, ..t };
        assert!(gather(&storage, &too_far).is_err());
    }

    #[test]
    fn mutated_pickles_never_panic() {
        let p = sample_pickle();
        for i in 0..p.len() {
            for v in [0u8, 0xff, 0x80, b'(', b't', b'R', b'Q', b'h', p[i] ^ 1] {
                let mut m = p.clone();
                m[i] = v;
                if let Ok(t) = parse_tensor_pickle(&m) {
                    let _ = gather(&[0.0; 7], &t);
                }
            }
            let _ = parse_tensor_pickle(&p[..i]);
        }
    }
}
