//! Minimal `.npy` (format 1.0) writer for the training export: little-endian u8 / f32 arrays.

use std::io::Write;

/// Element types written here.
#[derive(Debug, Clone, Copy)]
pub enum Dtype {
    U8,
    F32,
}

/// Serialises a C-ordered array with the given shape.
pub fn npy_bytes(dtype: Dtype, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let descr = match dtype {
        Dtype::U8 => "|u1",
        Dtype::F32 => "<f4",
    };
    let dims = match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
        ),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {dims}, }}");
    // magic(6) + version(2) + len(2) + header + '\n' is a multiple of 64.
    let total = 10 + header.len() + 1;
    let pad = (64 - total % 64) % 64;
    header.push_str(&" ".repeat(pad));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + data.len());
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

pub fn f32_bytes(v: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len() * 4);
    for x in v {
        out.write_all(&x.to_le_bytes()).unwrap_or(());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_aligned_and_parsable() {
        let b = npy_bytes(Dtype::F32, &[2, 5], &f32_bytes(&[0.0; 10]));
        let hl = u16::from_le_bytes([b[8], b[9]]) as usize;
        assert_eq!((10 + hl) % 64, 0);
        let h = std::str::from_utf8(&b[10..10 + hl]).unwrap();
        assert!(h.contains("'shape': (2, 5)") && h.ends_with('\n'), "{h}");
        assert_eq!(b.len(), 10 + hl + 40);
    }
}
