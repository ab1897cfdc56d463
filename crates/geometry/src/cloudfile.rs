//! Point-cloud files for `sensorium calib project`: KITTI `.bin`, PCD (ascii, binary, binary_compressed)
//! and `.npy` (N×3 or N×4, float32 or float64).
//!
//! Unlike PointCloud2 views, these loaders keep every point of the file, NaN ones included, so that row *i* of
//! a projection is point *i* of the file (a NaN point projects to a NaN row).

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

use crate::error::{GeometryError, Result};
use sensorium_core::PointsSoA;
use std::path::Path;

/// Load a cloud by extension: `.bin` (KITTI), `.pcd`, `.npy`.
pub fn load_cloud(path: &Path) -> Result<PointsSoA> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let bytes = std::fs::read(path).map_err(|e| GeometryError::io(path, e))?;
    match ext.as_str() {
        "bin" => parse_kitti_bin(&bytes, path),
        "pcd" => parse_pcd(&bytes, path),
        "npy" => parse_npy(&bytes, path),
        _ => Err(GeometryError::format(
            path,
            "(file name)",
            "unknown cloud format (expected .bin, .pcd or .npy)",
        )),
    }
}

/// KITTI velodyne `.bin`: little-endian float32 x, y, z, intensity per point.
pub fn parse_kitti_bin(bytes: &[u8], path: &Path) -> Result<PointsSoA> {
    let n = bytes.len() / 16;
    if n * 16 != bytes.len() {
        return Err(GeometryError::format(
            path,
            "(size)",
            format!(
                "{} bytes is not a multiple of 16 (4 float32 per point)",
                bytes.len()
            ),
        ));
    }
    let mut pts = PointsSoA::with_capacity(n);
    // 16-byte records: the conversion to an array always succeeds (and compiles away)
    for rec in bytes
        .chunks_exact(16)
        .filter_map(|r| <&[u8; 16]>::try_from(r).ok())
    {
        let [x0, x1, x2, x3, y0, y1, y2, y3, z0, z1, z2, z3, i0, i1, i2, i3] = *rec;
        pts.push(
            f32::from_le_bytes([x0, x1, x2, x3]),
            f32::from_le_bytes([y0, y1, y2, y3]),
            f32::from_le_bytes([z0, z1, z2, z3]),
            f32::from_le_bytes([i0, i1, i2, i3]),
        );
    }
    Ok(pts)
}

#[derive(Debug, Clone)]
struct PcdField {
    name: String,
    size: usize,
    ty: u8,
    count: usize,
}

/// Decode one scalar of a PCD field.
fn scalar(b: &[u8], ty: u8, size: usize) -> Option<f64> {
    let a = |n: usize| -> Option<&[u8]> { b.get(..n) };
    Some(match (ty, size) {
        (b'F', 4) => f32::from_le_bytes(a(4)?.try_into().ok()?) as f64,
        (b'F', 8) => f64::from_le_bytes(a(8)?.try_into().ok()?),
        (b'U', 1) => *b.first()? as f64,
        (b'I', 1) => *b.first()? as i8 as f64,
        (b'U', 2) => u16::from_le_bytes(a(2)?.try_into().ok()?) as f64,
        (b'I', 2) => i16::from_le_bytes(a(2)?.try_into().ok()?) as f64,
        (b'U', 4) => u32::from_le_bytes(a(4)?.try_into().ok()?) as f64,
        (b'I', 4) => i32::from_le_bytes(a(4)?.try_into().ok()?) as f64,
        (b'U', 8) => u64::from_le_bytes(a(8)?.try_into().ok()?) as f64,
        (b'I', 8) => i64::from_le_bytes(a(8)?.try_into().ok()?) as f64,
        _ => return None,
    })
}

/// LZF decompression (liblzf's format, as PCL's binary_compressed uses) into exactly `out_len` bytes.
pub fn lzf_decompress(input: &[u8], out_len: usize) -> std::result::Result<Vec<u8>, String> {
    let mut out: Vec<u8> = Vec::with_capacity(out_len);
    let mut i = 0usize;
    while let Some(&ctrl) = input.get(i) {
        let ctrl = ctrl as usize;
        i += 1;
        if ctrl < 32 {
            let len = ctrl + 1;
            let lit = input
                .get(i..i + len)
                .ok_or_else(|| format!("literal run of {len} past end at byte {i}"))?;
            if out.len() + len > out_len {
                return Err(format!("output exceeds declared size {out_len}"));
            }
            out.extend_from_slice(lit);
            i += len;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += *input.get(i).ok_or("truncated back-reference length")? as usize;
                i += 1;
            }
            len += 2;
            let lo = *input.get(i).ok_or("truncated back-reference offset")? as usize;
            i += 1;
            let back = ((ctrl & 0x1f) << 8) + lo + 1;
            if back > out.len() {
                return Err(format!(
                    "back-reference {back} bytes before start at output byte {}",
                    out.len()
                ));
            }
            if out.len() + len > out_len {
                return Err(format!("output exceeds declared size {out_len}"));
            }
            let start = out.len() - back;
            // byte by byte (the source may overlap what is being written): `k` < `out.len()` at every step
            for k in start..start + len {
                let b = out.get(k).copied().unwrap_or(0);
                out.push(b);
            }
        }
    }
    if out.len() != out_len {
        return Err(format!("decompressed {} bytes, header says {out_len}", out.len()));
    }
    Ok(out)
}

/// Parse a PCD file (v0.6/v0.7): fields by name, size, type and count; x, y, z required; `intensity` (or `i`)
/// and `ring` kept when present.
pub fn parse_pcd(bytes: &[u8], path: &Path) -> Result<PointsSoA> {
    let bad = |key: &str, problem: String| GeometryError::format(path, key, problem);
    // Header: text lines up to and including the DATA line.
    let mut pos = 0usize;
    let mut names: Vec<String> = Vec::new();
    let mut sizes: Vec<usize> = Vec::new();
    let mut types: Vec<u8> = Vec::new();
    let mut counts: Vec<usize> = Vec::new();
    let (mut width, mut height, mut points): (Option<usize>, usize, Option<usize>) = (None, 1, None);
    let data_kind;
    loop {
        let Some(raw) = bytes
            .get(pos..)
            .and_then(|b| b.get(..b.iter().position(|&c| c == b'\n')?))
        else {
            return Err(bad("DATA", "header ends without a DATA line".into()));
        };
        let line = String::from_utf8_lossy(raw).trim().to_string();
        pos += raw.len() + 1;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut toks = line.split_whitespace();
        let key = toks.next().unwrap_or_default().to_ascii_uppercase();
        let rest: Vec<&str> = toks.collect();
        let nums = |k: &str| -> Result<Vec<usize>> {
            rest.iter()
                .map(|t| {
                    t.parse::<usize>()
                        .map_err(|_| bad(k, format!("`{t}` is not a non-negative integer")))
                })
                .collect()
        };
        match key.as_str() {
            "VERSION" | "VIEWPOINT" => {}
            "FIELDS" | "COLUMNS" => names = rest.iter().map(|s| s.to_string()).collect(),
            "SIZE" => sizes = nums("SIZE")?,
            "TYPE" => {
                types = rest
                    .iter()
                    .map(|t| t.as_bytes().first().copied().unwrap_or(b'?'))
                    .collect()
            }
            "COUNT" => counts = nums("COUNT")?,
            "WIDTH" => width = nums("WIDTH")?.first().copied(),
            "HEIGHT" => height = nums("HEIGHT")?.first().copied().unwrap_or(1),
            "POINTS" => points = nums("POINTS")?.first().copied(),
            "DATA" => {
                data_kind = rest.first().map(|s| s.to_ascii_lowercase()).unwrap_or_default();
                break;
            }
            other => return Err(bad(other, "unknown header line".into())),
        }
    }
    if names.is_empty() {
        return Err(bad("FIELDS", "missing".into()));
    }
    if counts.is_empty() {
        counts = vec![1; names.len()];
    }
    if sizes.len() != names.len() || types.len() != names.len() || counts.len() != names.len() {
        return Err(bad(
            "SIZE/TYPE/COUNT",
            format!(
                "{} fields but {} sizes, {} types, {} counts",
                names.len(),
                sizes.len(),
                types.len(),
                counts.len()
            ),
        ));
    }
    let fields: Vec<PcdField> = names
        .iter()
        .zip(&sizes)
        .zip(&types)
        .zip(&counts)
        .map(|(((name, &size), &ty), &count)| PcdField {
            name: name.clone(),
            size,
            ty,
            count,
        })
        .collect();
    for f in &fields {
        if scalar(&[0u8; 8], f.ty, f.size).is_none() {
            return Err(bad(
                "TYPE",
                format!(
                    "field `{}`: type {} size {} unsupported",
                    f.name, f.ty as char, f.size
                ),
            ));
        }
    }
    let n = match (points, width) {
        (Some(p), _) => p,
        (None, Some(w)) => w.saturating_mul(height),
        (None, None) => return Err(bad("POINTS", "missing (and no WIDTH)".into())),
    };
    let find = |cands: &[&str]| fields.iter().position(|f| cands.contains(&f.name.as_str()));
    let (Some(ix), Some(iy), Some(iz)) = (find(&["x"]), find(&["y"]), find(&["z"])) else {
        return Err(bad("FIELDS", format!("need x, y and z, got {}", names.join(" "))));
    };
    let ii = find(&["intensity", "i"]);
    let ir = find(&["ring"]);
    // Byte offset of each field within a point, and the point size.
    let mut offsets = Vec::with_capacity(fields.len());
    let mut step = 0usize;
    for f in &fields {
        offsets.push(step);
        step += f.size * f.count;
    }
    let data = bytes.get(pos..).unwrap_or_default();
    // Per point, per wanted field: value getter by (point, field index).
    let wanted: Vec<Option<usize>> = vec![Some(ix), Some(iy), Some(iz), ii, ir];
    let cols: Vec<Vec<f64>>;
    match data_kind.as_str() {
        "ascii" => {
            // Token index of each field's first element.
            let mut tok_index = Vec::with_capacity(fields.len());
            let mut t = 0usize;
            for f in &fields {
                tok_index.push(t);
                t += f.count;
            }
            let text = String::from_utf8_lossy(data);
            let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
            if lines.len() < n {
                return Err(bad(
                    "DATA",
                    format!("POINTS says {n} but only {} data lines", lines.len()),
                ));
            }
            let mut acc = vec![Vec::with_capacity(n); wanted.len()];
            for (li, line) in lines.iter().take(n).enumerate() {
                let toks: Vec<&str> = line.split_whitespace().collect();
                if toks.len() < t {
                    return Err(bad(
                        "DATA",
                        format!("point {li}: {} values, expected {t}", toks.len()),
                    ));
                }
                for (col, w) in acc.iter_mut().zip(&wanted) {
                    // field indices come from `fields`, token indices are < t <= toks.len() (checked above)
                    let v = match w.and_then(|fi| Some((*toks.get(*tok_index.get(fi)?)?, fields.get(fi)?))) {
                        Some((tok, f)) => tok.parse::<f64>().map_err(|_| {
                            bad(
                                "DATA",
                                format!("point {li}, field {}: `{tok}` is not a number", f.name),
                            )
                        })?,
                        None => 0.0,
                    };
                    col.push(v);
                }
            }
            cols = acc;
        }
        "binary" | "binary_compressed" => {
            let owned;
            let (buf, field_major): (&[u8], bool) = if data_kind == "binary" {
                let need = n
                    .checked_mul(step)
                    .ok_or_else(|| bad("POINTS", "size overflows".into()))?;
                if data.len() < need {
                    return Err(bad(
                        "DATA",
                        format!(
                            "{n} points × {step} bytes need {need} bytes, file has {}",
                            data.len()
                        ),
                    ));
                }
                (data, false)
            } else {
                let word = |o: usize| {
                    data.get(o..)
                        .and_then(<[u8]>::first_chunk::<4>)
                        .map(|b| u32::from_le_bytes(*b) as usize)
                };
                let (Some(csize), Some(usize_)) = (word(0), word(4)) else {
                    return Err(bad(
                        "DATA",
                        "binary_compressed data shorter than its 8-byte size header".into(),
                    ));
                };
                let need = n
                    .checked_mul(step)
                    .ok_or_else(|| bad("POINTS", "size overflows".into()))?;
                if usize_ != need {
                    return Err(bad(
                        "DATA",
                        format!("uncompressed size {usize_} ≠ {n} points × {step} bytes"),
                    ));
                }
                // LZF expands at most ~100× (a 3-byte back-reference yields 264 bytes).
                if usize_ > csize.saturating_mul(100).saturating_add(1024) {
                    return Err(bad(
                        "DATA",
                        format!("uncompressed size {usize_} implausible for {csize} compressed bytes"),
                    ));
                }
                let comp = data.get(8..8 + csize).ok_or_else(|| {
                    bad(
                        "DATA",
                        format!(
                            "compressed size {csize} exceeds the {} bytes left",
                            data.len().saturating_sub(8)
                        ),
                    )
                })?;
                owned = lzf_decompress(comp, usize_).map_err(|p| bad("DATA", format!("LZF: {p}")))?;
                (&owned[..], true)
            };
            let mut acc = vec![Vec::with_capacity(n); wanted.len()];
            for (col, w) in acc.iter_mut().zip(&wanted) {
                // field indices come from `fields`, which `offsets` parallels
                let (Some(f), Some(&offset)) =
                    (w.and_then(|fi| fields.get(fi)), w.and_then(|fi| offsets.get(fi)))
                else {
                    col.resize(n, 0.0);
                    continue;
                };
                let (base, stride) = if field_major {
                    (offset * n, f.size * f.count)
                } else {
                    (offset, step)
                };
                for p in 0..n {
                    let o = base + p * stride;
                    let v = buf.get(o..o + f.size).and_then(|b| scalar(b, f.ty, f.size));
                    col.push(
                        v.ok_or_else(|| bad("DATA", format!("point {p}: field {} out of range", f.name)))?,
                    );
                }
            }
            cols = acc;
        }
        other => {
            return Err(bad(
                "DATA",
                format!("`{other}`: expected ascii, binary or binary_compressed"),
            ))
        }
    }
    let col = |c: usize| -> Vec<f32> {
        cols.get(c)
            .map(|v| v.iter().map(|x| *x as f32).collect())
            .unwrap_or_default()
    };
    let mut pts = PointsSoA {
        x: col(0),
        y: col(1),
        z: col(2),
        intensity: col(3),
        ..Default::default()
    };
    if ir.is_some() {
        pts.ring = cols.get(4).map(|v| v.iter().map(|x| *x as u16).collect());
    }
    Ok(pts)
}

/// `.npy` of shape N×3 (x, y, z) or N×4 (x, y, z, intensity), float32 or float64, C or Fortran order.
pub fn parse_npy(bytes: &[u8], path: &Path) -> Result<PointsSoA> {
    let bad = |key: &str, problem: String| GeometryError::format(path, key, problem);
    // npyz allocates the header length the file claims before reading it: check it against the file first
    // (magic, major version, minor version, then a u16 header length in v1, u32 in v2 and v3).
    let header_end = match bytes {
        [0x93, b'N', b'U', b'M', b'P', b'Y', 1, _, a, b, ..] => {
            10 + usize::from(u16::from_le_bytes([*a, *b]))
        }
        [0x93, b'N', b'U', b'M', b'P', b'Y', 2 | 3, _, a, b, c, d, ..] => {
            12usize.saturating_add(u32::from_le_bytes([*a, *b, *c, *d]) as usize)
        }
        _ => {
            return Err(bad(
                "header",
                "not a .npy file (magic \\x93NUMPY and version 1–3)".into(),
            ))
        }
    };
    if header_end > bytes.len() {
        return Err(bad(
            "header",
            format!("header claims {header_end} bytes, the file has {}", bytes.len()),
        ));
    }
    // npyz's header parser backtracks exponentially on deeply nested brackets (a 300-byte file took
    // minutes); a real header is one dict holding one tuple: refuse nesting deeper than 3.
    let mut depth = 0usize;
    let mut quote = None;
    for &c in bytes.get(..header_end).unwrap_or_default() {
        match (quote, c) {
            (Some(q), _) if c == q => quote = None,
            (Some(_), _) => {}
            (None, b'\'' | b'"') => quote = Some(c),
            (None, b'{' | b'(' | b'[') => {
                depth += 1;
                if depth > 3 {
                    return Err(bad("header", "brackets nested deeper than 3".into()));
                }
            }
            (None, b'}' | b')' | b']') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    let npy = npyz::NpyFile::new(bytes).map_err(|e| bad("header", e.to_string()))?;
    let shape = npy.shape().to_vec();
    let (n, cols) = match shape.as_slice() {
        [n, c] if *c == 3 || *c == 4 => (*n as usize, *c as usize),
        _ => return Err(bad("shape", format!("{shape:?}: expected N×3 or N×4"))),
    };
    // nor may the shape claim more values than the file holds (float32 at least: 4 bytes each)
    let room = bytes.len().saturating_sub(header_end);
    if n.checked_mul(cols)
        .and_then(|v| v.checked_mul(4))
        .is_none_or(|b| b > room)
    {
        return Err(bad(
            "shape",
            format!("{shape:?} needs more than the {room} data bytes the file holds"),
        ));
    }
    let fortran = matches!(npy.order(), npyz::Order::Fortran);
    let dtype = match npy.dtype() {
        npyz::DType::Plain(t) => t.to_string(),
        other => return Err(bad("descr", format!("{other:?}: expected float32 or float64"))),
    };
    let data: Vec<f64> = if dtype.ends_with("f4") {
        npy.into_vec::<f32>()
            .map_err(|e| bad("data", e.to_string()))?
            .into_iter()
            .map(f64::from)
            .collect()
    } else if dtype.ends_with("f8") {
        npy.into_vec::<f64>().map_err(|e| bad("data", e.to_string()))?
    } else {
        return Err(bad(
            "descr",
            format!("`{dtype}`: expected float32 (<f4) or float64 (<f8)"),
        ));
    };
    if n.checked_mul(cols) != Some(data.len()) {
        return Err(bad("data", format!("{} values for shape {n}×{cols}", data.len())));
    }
    // p < n and c < cols, so the index is < n × cols = data.len(): `get` always hits
    let at = |p: usize, c: usize| {
        let k = if fortran { c * n + p } else { p * cols + c };
        data.get(k).copied().unwrap_or(f64::NAN)
    };
    let mut pts = PointsSoA::with_capacity(n);
    for p in 0..n {
        let i = if cols == 4 { at(p, 3) as f32 } else { 0.0 };
        pts.push(at(p, 0) as f32, at(p, 1) as f32, at(p, 2) as f32, i);
    }
    Ok(pts)
}

/// Write (u, v, depth) rows as a float64 `.npy` of shape N×3 (C order, little-endian, format 1.0).
pub fn write_uv_npy(path: &Path, uvd: &[(f64, f64, f64)]) -> Result<()> {
    let mut header = format!(
        "{{'descr': '<f8', 'fortran_order': False, 'shape': ({}, 3), }}",
        uvd.len()
    );
    // Magic (6) + version (2) + header length (2) + header, padded with spaces to a multiple of 64, ending in \n.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + uvd.len() * 24);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for &(u, v, d) in uvd {
        out.extend_from_slice(&u.to_le_bytes());
        out.extend_from_slice(&v.to_le_bytes());
        out.extend_from_slice(&d.to_le_bytes());
    }
    std::fs::write(path, out).map_err(|e| GeometryError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lzf_known_stream() {
        // "abcabcabcabc": 3 literals then a back-reference of 9 bytes at distance 3.
        let stream = [2u8, b'a', b'b', b'c', (7 << 5) as u8, 0, 2];
        assert_eq!(lzf_decompress(&stream, 12).unwrap(), b"abcabcabcabc");
        assert!(lzf_decompress(&stream, 11).is_err());
        assert!(lzf_decompress(&[0x20, 5], 4)
            .unwrap_err()
            .contains("before start"));
    }

    #[test]
    fn pcd_errors_name_key() {
        let p = Path::new("x.pcd");
        let base = "VERSION 0.7\nFIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nCOUNT 1 1 1\nWIDTH 2\nHEIGHT 1\nPOINTS 2\nDATA ascii\n1 2 3\n4 5 6\n";
        let pts = parse_pcd(base.as_bytes(), p).unwrap();
        assert_eq!((pts.x.clone(), pts.z.clone()), (vec![1.0, 4.0], vec![3.0, 6.0]));
        let e = parse_pcd(base.replace("POINTS 2", "POINTS 3").as_bytes(), p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("x.pcd: DATA: POINTS says 3 but only 2"), "{e}");
        let e = parse_pcd(base.replace("FIELDS x y z", "FIELDS x y w").as_bytes(), p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("FIELDS: need x, y and z"), "{e}");
        let e = parse_pcd(base.replace("SIZE 4 4 4", "SIZE 4 4").as_bytes(), p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("SIZE/TYPE/COUNT: 3 fields but 2 sizes"), "{e}");
        let bin = base.replace("DATA ascii\n1 2 3\n4 5 6\n", "DATA binary\n");
        let e = parse_pcd(bin.as_bytes(), p).unwrap_err().to_string();
        assert!(e.contains("need 24 bytes, file has 0"), "{e}");
        let e = parse_pcd(
            base.replace("DATA ascii", "DATA binary_compressed")
                .replace("1 2 3\n4 5 6\n", "")
                .as_bytes(),
            p,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("8-byte size header"), "{e}");
        let e = parse_kitti_bin(&[0u8; 17], Path::new("a.bin"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("a.bin") && e.contains("17 bytes"), "{e}");
    }

    #[test]
    fn npy_round_trip_through_writer() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("uv.npy");
        write_uv_npy(&f, &[(1.0, 2.0, 3.0), (f64::NAN, f64::NAN, -1.0)]).unwrap();
        let pts = load_cloud(&f).unwrap();
        assert_eq!(pts.len(), 2);
        assert_eq!((pts.x[0], pts.y[0], pts.z[0]), (1.0, 2.0, 3.0));
        assert!(pts.x[1].is_nan() && pts.z[1] == -1.0);
        let e = parse_npy(b"\x93NUMPY\x01\x00garbage", Path::new("b.npy"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("b.npy: header"), "{e}");
    }
}
