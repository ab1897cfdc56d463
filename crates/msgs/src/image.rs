//! `sensor_msgs/Image` and `sensor_msgs/CompressedImage`, and their conversion to 8-bit RGB.

use crate::defs;
use crate::std_msgs::Header;
use crate::wire::{Reader, Writer};
use crate::{MsgError, RosMessage};
use sensorium_core::RgbImage;

const IMG: &str = "sensor_msgs/Image";
const CIMG: &str = "sensor_msgs/CompressedImage";

/// Largest decoded image accepted from compressed data (pixels per side and bytes in all).
const MAX_SIDE: u32 = 16_384;
const MAX_DECODED_BYTES: u64 = 512 << 20;

/// `sensor_msgs/Image`: `height` rows of `step` bytes in `encoding`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Image {
    pub header: Header,
    pub height: u32,
    pub width: u32,
    pub encoding: String,
    pub is_bigendian: bool,
    pub step: u32,
    pub data: Vec<u8>,
}

impl RosMessage for Image {
    const DATATYPE: &'static str = IMG;
    const MD5SUM: &'static str = defs::SENSOR_MSGS_IMAGE_MD5;
    const DEFINITION: &'static str = defs::SENSOR_MSGS_IMAGE_DEF;
    fn decode(buf: &[u8]) -> Result<Self, MsgError> {
        Self::read_from(Reader::new(buf, IMG))
    }
    fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(self.data.len() + 64);
        self.header.write(out);
        out.put_u32(self.height);
        out.put_u32(self.width);
        out.put_str(&self.encoding);
        out.put_u8(u8::from(self.is_bigendian));
        out.put_u32(self.step);
        out.put_bytes(&self.data);
    }
}

/// How an encoding lays out one pixel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// 8-bit channels; indices of R, G, B within `n` channels.
    Rgb8 {
        n: usize,
        r: usize,
        g: usize,
        b: usize,
    },
    Mono8,
    /// 16-bit grey scaled by 255/65535 (as cv_bridge converts mono16 to 8 bit).
    Mono16,
    /// 16-bit unsigned (depth in mm): min–max of the image stretched to 0..255, 0 stays black.
    U16Stretch,
    /// 32-bit float (depth in m): min–max of the finite values stretched to 0..255, non-finite → 0.
    F32Stretch,
    /// Bayer mosaic; colour (0 R, 1 G, 2 B) at (even row, even col), (even, odd), (odd, even), (odd, odd).
    Bayer([usize; 4]),
    /// 4:2:2 with two pixels in 4 bytes; byte indices of Y0, U, Y1, V.
    Yuv422 {
        y0: usize,
        u: usize,
        y1: usize,
        v: usize,
    },
}

fn layout(encoding: &str) -> Option<(Layout, usize)> {
    Some(match encoding {
        "rgb8" | "8UC3" => (
            Layout::Rgb8 {
                n: 3,
                r: 0,
                g: 1,
                b: 2,
            },
            3,
        ),
        "bgr8" => (
            Layout::Rgb8 {
                n: 3,
                r: 2,
                g: 1,
                b: 0,
            },
            3,
        ),
        "rgba8" => (
            Layout::Rgb8 {
                n: 4,
                r: 0,
                g: 1,
                b: 2,
            },
            4,
        ),
        "bgra8" => (
            Layout::Rgb8 {
                n: 4,
                r: 2,
                g: 1,
                b: 0,
            },
            4,
        ),
        "mono8" | "8UC1" => (Layout::Mono8, 1),
        "mono16" => (Layout::Mono16, 2),
        "16UC1" => (Layout::U16Stretch, 2),
        "32FC1" => (Layout::F32Stretch, 4),
        "bayer_rggb8" => (Layout::Bayer([0, 1, 1, 2]), 1),
        "bayer_bggr8" => (Layout::Bayer([2, 1, 1, 0]), 1),
        "bayer_gbrg8" => (Layout::Bayer([1, 2, 0, 1]), 1),
        "bayer_grbg8" => (Layout::Bayer([1, 0, 2, 1]), 1),
        "yuv422" | "uyvy" | "UYVY" => (
            Layout::Yuv422 {
                y0: 1,
                u: 0,
                y1: 3,
                v: 2,
            },
            2,
        ),
        "yuyv" | "yuv422_yuy2" | "YUYV" => (
            Layout::Yuv422 {
                y0: 0,
                u: 1,
                y1: 2,
                v: 3,
            },
            2,
        ),
        _ => return None,
    })
}

impl Image {
    /// Checks `step`, `data` length and the encoding; returns (layout, bytes per pixel).
    fn check(&self) -> Result<(Layout, usize), MsgError> {
        let (lay, bpp) = layout(&self.encoding).ok_or_else(|| MsgError::UnknownEncoding {
            msg: IMG,
            encoding: self.encoding.clone(),
        })?;
        let (w, h, step) = (
            u64::from(self.width),
            u64::from(self.height),
            u64::from(self.step),
        );
        let row = w * bpp as u64;
        if step < row {
            return Err(MsgError::invalid(
                IMG,
                "step",
                format!(
                    "{step} < width {w} * {bpp} bytes per pixel ({}) = {row}",
                    self.encoding
                ),
            ));
        }
        if step * h != self.data.len() as u64 {
            return Err(MsgError::invalid(
                IMG,
                "data",
                format!(
                    "length {} != step {step} * height {h} = {}",
                    self.data.len(),
                    step * h
                ),
            ));
        }
        if matches!(lay, Layout::Yuv422 { .. }) && w % 2 != 0 {
            return Err(MsgError::invalid(
                IMG,
                "width",
                format!("{w} is odd for 4:2:2 encoding {}", self.encoding),
            ));
        }
        Ok((lay, bpp))
    }

    /// Converts to packed 8-bit RGB, honouring `step` padding and `is_bigendian` for 16/32-bit encodings.
    pub fn to_rgb(&self) -> Result<RgbImage, MsgError> {
        let (lay, bpp) = self.check()?;
        let (w, h, step) = (self.width as usize, self.height as usize, self.step as usize);
        let mut out = Vec::with_capacity(w * h * 3);
        let rows = (0..h).filter_map(|y| self.data.get(y * step..y * step + w * bpp));
        let be = self.is_bigendian;
        let u16_at = |p: [u8; 2]| {
            if be {
                u16::from_be_bytes(p)
            } else {
                u16::from_le_bytes(p)
            }
        };
        let f32_at = |b: [u8; 4]| {
            if be {
                f32::from_be_bytes(b)
            } else {
                f32::from_le_bytes(b)
            }
        };
        match lay {
            Layout::Rgb8 { n, r, g, b } => {
                // justified: r, g, b < n (the layout table) and every chunk is n bytes, so p[r], p[g], p[b]
                // cannot panic; their checks are hoisted out of the loop, `get` variants measured ~20% slower
                #[allow(clippy::indexing_slicing)]
                for row in rows {
                    for p in row.chunks_exact(n) {
                        out.extend_from_slice(&[p[r], p[g], p[b]]);
                    }
                }
            }
            Layout::Mono8 => {
                for row in rows {
                    for &v in row {
                        out.extend_from_slice(&[v, v, v]);
                    }
                }
            }
            Layout::Mono16 => {
                for row in rows {
                    for p in pieces::<2>(row) {
                        let v = ((u32::from(u16_at(p)) * 255 + 32767) / 65535) as u8;
                        out.extend_from_slice(&[v, v, v]);
                    }
                }
            }
            Layout::U16Stretch => {
                let vals: Vec<f32> = rows
                    .flat_map(|r| pieces::<2>(r).map(|p| f32::from(u16_at(p))))
                    .collect();
                stretch(&vals, |v| v > 0.0, &mut out);
            }
            Layout::F32Stretch => {
                let vals: Vec<f32> = rows.flat_map(|r| pieces::<4>(r).map(f32_at)).collect();
                stretch(&vals, f32::is_finite, &mut out);
            }
            Layout::Bayer(cfa) => demosaic_bilinear(&self.data, w, h, step, cfa, &mut out),
            Layout::Yuv422 { y0, u, y1, v } => {
                // byte indices < 4 (the layout table; clamped so the compiler sees it): `get` always hits
                let (y0, u, y1, v) = (y0.min(3), u.min(3), y1.min(3), v.min(3));
                for row in rows {
                    for p in pieces::<4>(row) {
                        let at = |i: usize| p.get(i).copied().unwrap_or(0);
                        let (cu, cv) = (at(u), at(v));
                        out.extend_from_slice(&yuv_to_rgb(at(y0), cu, cv));
                        out.extend_from_slice(&yuv_to_rgb(at(y1), cu, cv));
                    }
                }
            }
        }
        if out.len() != w * h * 3 {
            return Err(MsgError::invalid(
                IMG,
                "data",
                format!("converted {} bytes, expected {}", out.len(), w * h * 3),
            ));
        }
        Ok(RgbImage {
            stamp: self.header.stamp,
            frame_id: self.header.frame_id.clone(),
            width: self.width,
            height: self.height,
            data: out,
        })
    }

    /// An `rgb8` image from a packed RGB buffer (for publishing and tests).
    pub fn from_rgb(img: &RgbImage, header: Header) -> Image {
        Image {
            header,
            height: img.height,
            width: img.width,
            encoding: "rgb8".into(),
            is_bigendian: false,
            step: img.width.saturating_mul(3),
            data: img.data.clone(),
        }
    }
}

/// `s` in whole `N`-byte pieces (a trailing partial piece is skipped, as with `chunks_exact`).
fn pieces<const N: usize>(s: &[u8]) -> impl Iterator<Item = [u8; N]> + '_ {
    s.chunks_exact(N).filter_map(|p| p.try_into().ok())
}

/// Stretches the values passing `valid` from their min..max to 0..255; others become 0.
fn stretch(vals: &[f32], valid: impl Fn(f32) -> bool, out: &mut Vec<u8>) {
    let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
    for &v in vals.iter().filter(|v| valid(**v)) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    let scale = if hi > lo { 255.0 / (hi - lo) } else { 0.0 };
    for &v in vals {
        let g = if valid(v) {
            ((v - lo) * scale).round().clamp(0.0, 255.0) as u8
        } else {
            0
        };
        out.extend_from_slice(&[g, g, g]);
    }
}

/// BT.601 limited-range YUV to RGB (the conversion OpenCV's `COLOR_YUV2RGB_UYVY` uses).
fn yuv_to_rgb(y: u8, u: u8, v: u8) -> [u8; 3] {
    let c = (f32::from(y) - 16.0).max(0.0) * 1.164;
    let d = f32::from(u) - 128.0;
    let e = f32::from(v) - 128.0;
    let q = |x: f32| x.round().clamp(0.0, 255.0) as u8;
    [q(c + 1.596 * e), q(c - 0.391 * d - 0.813 * e), q(c + 2.018 * d)]
}

/// Bilinear demosaic: a pixel keeps its own colour; each missing colour is the mean of the neighbours of
/// that colour in its 3x3 neighbourhood (2 or 4 of them inside the image, fewer at the border).
fn demosaic_bilinear(data: &[u8], w: usize, h: usize, step: usize, cfa: [usize; 4], out: &mut Vec<u8>) {
    // the index is at most 3: `get` always hits (and compiles to a plain load)
    let colour = |x: usize, y: usize| cfa.get((y & 1) * 2 + (x & 1)).copied().unwrap_or(0);
    let at = |x: usize, y: usize| data.get(y * step + x).copied().unwrap_or(0);
    for y in 0..h {
        for x in 0..w {
            let own = colour(x, y);
            let mut px = [0u8; 3];
            let mut sum = [0u32; 3];
            let mut cnt = [0u32; 3];
            for yy in y.saturating_sub(1)..=(y + 1).min(h - 1) {
                for xx in x.saturating_sub(1)..=(x + 1).min(w - 1) {
                    if xx == x && yy == y {
                        continue;
                    }
                    // colours are 0..3 (the layout table)
                    let c = colour(xx, yy);
                    if let (Some(s), Some(n)) = (sum.get_mut(c), cnt.get_mut(c)) {
                        *s += u32::from(at(xx, yy));
                        *n += 1;
                    }
                }
            }
            for (c, ((p, s), n)) in px.iter_mut().zip(sum).zip(cnt).enumerate() {
                *p = if c == own {
                    at(x, y)
                } else {
                    (s + n / 2).checked_div(n).unwrap_or(0) as u8
                };
            }
            out.extend_from_slice(&px);
        }
    }
}

/// `sensor_msgs/CompressedImage`: `format` as image_transport writes it (`jpeg`, `png`,
/// `rgb8; jpeg compressed bgr8`, ...), `data` the encoded file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompressedImage {
    pub header: Header,
    pub format: String,
    pub data: Vec<u8>,
}

impl RosMessage for CompressedImage {
    const DATATYPE: &'static str = CIMG;
    const MD5SUM: &'static str = defs::SENSOR_MSGS_COMPRESSEDIMAGE_MD5;
    const DEFINITION: &'static str = defs::SENSOR_MSGS_COMPRESSEDIMAGE_DEF;
    fn decode(buf: &[u8]) -> Result<Self, MsgError> {
        Self::read_from(Reader::new(buf, CIMG))
    }
    fn encode(&self, out: &mut Vec<u8>) {
        self.header.write(out);
        out.put_str(&self.format);
        out.put_bytes(&self.data);
    }
}

/// The codec named by a CompressedImage format string: `jpeg`/`png`, or `<enc>; <codec> compressed <enc>`.
pub fn codec_of_format(format: &str) -> Option<image::ImageFormat> {
    let f = format.to_ascii_lowercase();
    if f.contains("compresseddepth") {
        return None;
    }
    let word = f
        .split(';')
        .next_back()
        .unwrap_or("")
        .split_whitespace()
        .next()
        .unwrap_or("");
    match word {
        "jpeg" | "jpg" => Some(image::ImageFormat::Jpeg),
        "png" => Some(image::ImageFormat::Png),
        _ if f.is_empty() => None,
        _ => None,
    }
}

impl CompressedImage {
    /// Decodes the JPEG/PNG data to 8-bit RGB. The container is recognised from the data itself (the
    /// format string names the codec; a mismatch is an error), with decode limits of 16384 px per side
    /// and 512 MiB.
    pub fn to_rgb(&self) -> Result<RgbImage, MsgError> {
        let named = codec_of_format(&self.format).ok_or_else(|| MsgError::UnknownEncoding {
            msg: CIMG,
            encoding: self.format.clone(),
        })?;
        let codec_err = |detail: String| MsgError::Codec {
            msg: CIMG,
            format: self.format.clone(),
            len: self.data.len(),
            detail,
        };
        let sniffed = image::guess_format(&self.data).map_err(|e| codec_err(e.to_string()))?;
        if sniffed != named {
            return Err(codec_err(format!(
                "data is {sniffed:?}, format string says {named:?}"
            )));
        }
        let mut reader = image::ImageReader::with_format(std::io::Cursor::new(&self.data[..]), sniffed);
        let mut limits = image::Limits::default();
        limits.max_image_width = Some(MAX_SIDE);
        limits.max_image_height = Some(MAX_SIDE);
        limits.max_alloc = Some(MAX_DECODED_BYTES);
        reader.limits(limits);
        let img = reader.decode().map_err(|e| codec_err(e.to_string()))?;
        let rgb = img.into_rgb8();
        Ok(RgbImage {
            stamp: self.header.stamp,
            frame_id: self.header.frame_id.clone(),
            width: rgb.width(),
            height: rgb.height(),
            data: rgb.into_raw(),
        })
    }
}

impl Image {
    fn read_from(mut r: Reader<'_>) -> Result<Self, MsgError> {
        let v = Image {
            header: Header::read(&mut r)?,
            height: r.u32("height")?,
            width: r.u32("width")?,
            encoding: r.string("encoding")?,
            is_bigendian: r.bool("is_bigendian")?,
            step: r.u32("step")?,
            data: r.bytes("data")?.to_vec(),
        };
        r.finish()?;
        Ok(v)
    }
}

impl crate::CdrMessage for Image {
    const ROS2_TYPE: &'static str = "sensor_msgs/msg/Image";
    fn decode_cdr(buf: &[u8]) -> Result<Self, MsgError> {
        Self::read_from(Reader::cdr(buf, IMG)?)
    }
}

impl CompressedImage {
    fn read_from(mut r: Reader<'_>) -> Result<Self, MsgError> {
        let v = CompressedImage {
            header: Header::read(&mut r)?,
            format: r.string("format")?,
            data: r.bytes("data")?.to_vec(),
        };
        r.finish()?;
        Ok(v)
    }
}

impl crate::CdrMessage for CompressedImage {
    const ROS2_TYPE: &'static str = "sensor_msgs/msg/CompressedImage";
    fn decode_cdr(buf: &[u8]) -> Result<Self, MsgError> {
        Self::read_from(Reader::cdr(buf, CIMG)?)
    }
}
