//! Writes `torch.save`-style checkpoints by hand: a zip archive with `archive/data.pkl` (a
//! protocol-2 pickle of nested dicts whose tensors are `torch._utils._rebuild_tensor_v2` calls
//! on persistent-id storages) and one `archive/data/<key>` file per storage.

use std::io::Write;
use std::path::Path;

/// A pickled value.
pub enum Value {
    /// A plain `dict`.
    Dict(Vec<(String, Value)>),
    /// A `collections.OrderedDict` (what `state_dict()` returns).
    OrderedDict(Vec<(String, Value)>),
    /// A float32 tensor stored in storage `storage`, at `offset` with `shape` (contiguous).
    Tensor { storage: usize, offset: usize, shape: Vec<usize> },
}

fn unicode(out: &mut Vec<u8>, s: &str) {
    out.push(b'X');
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn binint(out: &mut Vec<u8>, v: i64) {
    out.push(b'J');
    out.extend_from_slice(&(v as i32).to_le_bytes());
}

fn global(out: &mut Vec<u8>, module: &str, name: &str) {
    out.push(b'c');
    out.extend_from_slice(format!("{module}\n{name}\n").as_bytes());
}

fn empty_ordered_dict(out: &mut Vec<u8>) {
    global(out, "collections", "OrderedDict");
    out.push(b')'); // EMPTY_TUPLE
    out.push(b'R'); // REDUCE
}

fn int_tuple(out: &mut Vec<u8>, items: &[usize]) {
    out.push(b'(');
    for &i in items {
        binint(out, i as i64);
    }
    out.push(b't');
}

fn write_value(out: &mut Vec<u8>, value: &Value, storages: &[Vec<f32>]) {
    match value {
        Value::Dict(items) | Value::OrderedDict(items) => {
            if matches!(value, Value::Dict(_)) {
                out.push(b'}'); // EMPTY_DICT
            } else {
                empty_ordered_dict(out);
            }
            out.push(b'(');
            for (k, v) in items {
                unicode(out, k);
                write_value(out, v, storages);
            }
            out.push(b'u'); // SETITEMS
        }
        Value::Tensor { storage, offset, shape } => {
            global(out, "torch._utils", "_rebuild_tensor_v2");
            out.push(b'(');
            // persistent id: ('storage', FloatStorage, key, location, numel)
            out.push(b'(');
            unicode(out, "storage");
            global(out, "torch", "FloatStorage");
            unicode(out, &storage.to_string());
            unicode(out, "cpu");
            binint(out, storages[*storage].len() as i64);
            out.push(b't');
            out.push(b'Q'); // BINPERSID
            binint(out, *offset as i64);
            int_tuple(out, shape);
            let mut strides = vec![1usize; shape.len()];
            for i in (0..shape.len().saturating_sub(1)).rev() {
                strides[i] = strides[i + 1] * shape[i + 1];
            }
            int_tuple(out, &strides);
            out.push(0x89); // NEWFALSE: requires_grad
            empty_ordered_dict(out); // backward hooks
            out.push(b't');
            out.push(b'R');
        }
    }
}

/// Writes `root` and its storages as a torch zip archive at `path`.
pub fn write(path: &Path, root: &Value, storages: &[Vec<f32>]) {
    let mut pickle = vec![0x80, 2];
    write_value(&mut pickle, root, storages);
    pickle.push(b'.');
    let file = std::fs::File::create(path).expect("create checkpoint");
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut put = |name: &str, bytes: &[u8]| {
        zip.start_file(format!("archive/{name}"), options).expect("zip entry");
        zip.write_all(bytes).expect("zip write");
    };
    put("data.pkl", &pickle);
    put("byteorder", b"little");
    for (i, s) in storages.iter().enumerate() {
        let bytes: Vec<u8> = s.iter().flat_map(|x| x.to_le_bytes()).collect();
        put(&format!("data/{i}"), &bytes);
    }
    put("version", b"3\n");
    zip.finish().expect("zip finish");
}
