//! NumPy `.npy` arrays (and through them `.npz`, a zip of `.npy` files).
//!
//! Only what voice packs need: little-endian float arrays in C order. The header is a Python
//! dict literal, e.g. `{'descr': '<f4', 'fortran_order': False, 'shape': (510, 1, 256), }`,
//! which is parsed with plain string handling rather than a Python-literal parser because
//! NumPy always writes these three keys in this form.

/// A decoded float array.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

const MAGIC: &[u8] = b"\x93NUMPY";

/// Value of `'key': <value>` in the header dict, up to the next top-level comma.
fn header_value<'h>(header: &'h str, key: &str) -> Option<&'h str> {
    let start = header.find(&format!("'{key}'"))? + key.len() + 2;
    let rest = header[start..].trim_start().strip_prefix(':')?.trim_start();
    if let Some(tuple) = rest.strip_prefix('(') {
        return Some(&tuple[..tuple.find(')')?]);
    }
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    Some(rest[..end].trim())
}

/// Decodes one `.npy` file; the error says what is wrong in words.
pub fn parse(bytes: &[u8]) -> Result<NpyArray, String> {
    if !bytes.starts_with(MAGIC) || bytes.len() < 10 {
        return Err("missing the \\x93NUMPY magic (not an .npy array)".into());
    }
    let major = bytes[6];
    let (header_len, header_start) = match major {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 => {
            let b = bytes.get(8..12).ok_or("header length truncated")?;
            (u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize, 12)
        }
        v => return Err(format!("unsupported .npy format version {v}")),
    };
    let header = bytes.get(header_start..header_start + header_len).ok_or("header truncated")?;
    let header = std::str::from_utf8(header).map_err(|_| "header is not text")?;
    let descr = header_value(header, "descr").ok_or("header has no 'descr'")?.trim_matches(['\'', '"']);
    let fortran = header_value(header, "fortran_order").ok_or("header has no 'fortran_order'")?;
    let shape: Vec<usize> = header_value(header, "shape")
        .ok_or("header has no 'shape'")?
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('L').parse::<usize>().map_err(|_| format!("bad dimension {s:?} in shape")))
        .collect::<Result<_, _>>()?;
    if fortran != "False" && shape.iter().filter(|&&d| d > 1).count() > 1 {
        return Err("Fortran-ordered arrays are not supported".into());
    }
    let body = &bytes[header_start + header_len..];
    let count = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)).ok_or("shape is too large")?;
    let (size, convert): (usize, fn(&[u8]) -> f32) = match descr {
        "<f4" | "=f4" | "f4" => (4, |c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        "<f2" | "=f2" | "f2" => (2, |c| half::f16::from_le_bytes([c[0], c[1]]).to_f32()),
        "<f8" | "=f8" | "f8" => (8, |c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32),
        other => {
            return Err(format!("element type {other:?} is not a little-endian float"));
        }
    };
    let needed = count.checked_mul(size).ok_or("shape is too large")?;
    if body.len() != needed {
        return Err(format!(
            "shape {shape:?} of {descr} needs {needed} data bytes but {} are present (truncated?)",
            body.len()
        ));
    }
    Ok(NpyArray { shape, data: body.chunks_exact(size).map(convert).collect() })
}

/// Encodes a float32 array as `.npy` (version 1.0), as `np.save` does. Used by tests and
/// tools that write voice packs.
pub fn encode_f32(shape: &[usize], data: &[f32]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let shape_text = if dims.len() == 1 { format!("({},)", dims[0]) } else { format!("({})", dims.join(", ")) };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape_text}, }}");
    // Pad so that the data starts on a 64-byte boundary, ending with a newline.
    while !(MAGIC.len() + 4 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut out = Vec::with_capacity(MAGIC.len() + 4 + header.len() + data.len() * 4);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend(data.iter().flat_map(|x| x.to_le_bytes()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let data: Vec<f32> = (0..6).map(|i| i as f32 * 0.5).collect();
        let bytes = encode_f32(&[2, 1, 3], &data);
        assert_eq!(parse(&bytes).unwrap(), NpyArray { shape: vec![2, 1, 3], data: data.clone() });
        assert!(parse(&bytes[..bytes.len() - 1]).unwrap_err().contains("truncated"));
        assert!(parse(b"not numpy").is_err());
        for cut in 0..bytes.len() {
            let _ = parse(&bytes[..cut]); // never panics
        }
        let mut f8 = bytes.clone();
        let at = f8.windows(3).position(|w| w == b"<f4").unwrap();
        f8[at..at + 3].copy_from_slice(b"<i4");
        assert!(parse(&f8).unwrap_err().contains("<i4"));
    }
}
