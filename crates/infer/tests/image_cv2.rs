//! Image preprocessing against OpenCV (`/usr/bin/python3`, cv2): bilinear and area,
//! stretch / letterbox / crop, up and down.

use std::path::Path;
use std::process::Command;

use sensorium_core::RgbImage;
use sensorium_infer::image::preprocess;
use sensorium_infer::manifest::{ChannelOrder, ImagePre, Interpolation, ResizeMode};
use sensorium_testkit::testdata::{require, ros_python};

fn test_image(w: u32, h: u32, seed: u64) -> RgbImage {
    // smooth gradients + hash noise: both edges and flat regions
    let mut s = seed;
    let data = (0..w * h * 3)
        .map(|i| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let (x, y, c) = ((i / 3) % w, (i / 3) / w, i % 3);
            let base = (x * 255 / w.max(1) + y * 97 / h.max(1) + c * 40) % 256;
            ((base as u64 + (s >> 60)) % 256) as u8
        })
        .collect();
    RgbImage {
        width: w,
        height: h,
        data,
        ..Default::default()
    }
}

fn pre(w: u32, h: u32, interp: Interpolation, resize: ResizeMode) -> ImagePre {
    ImagePre {
        width: w,
        height: h,
        resize,
        interpolation: interp,
        mean: [0.0; 3],
        std: [1.0; 3],
        channel_order: ChannelOrder::Rgb,
        input: sensorium_infer::DType::F32,
        pad: 0.0,
    }
}

fn read_f32(p: &Path) -> Vec<f32> {
    std::fs::read(p)
        .unwrap()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// Returns (max |ours - cv2 float| / 255, max |ours - cv2 u8| / 255).
fn compare(img: &RgbImage, p: &ImagePre) -> (f32, f32) {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("in.rgb");
    std::fs::write(&src, &img.data).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/cv2_resize.py");
    let interp = match p.interpolation {
        Interpolation::Bilinear => "linear",
        Interpolation::Area => "area",
    };
    let mode = match p.resize {
        ResizeMode::Stretch => "stretch",
        ResizeMode::Letterbox => "letterbox",
        ResizeMode::Crop => "crop",
    };
    let out = dir.path().join("out");
    let st = Command::new(ros_python())
        .arg(&script)
        .arg(&src)
        .args([img.width, img.height, p.width, p.height].map(|v| v.to_string()))
        .args([interp, mode])
        .arg(&out)
        .status()
        .unwrap();
    assert!(st.success());
    let ours = preprocess(img, p).unwrap();
    let (w, h) = (p.width as usize, p.height as usize);
    let mut worst = [0.0f32; 2];
    for (k, kind) in ["f32", "u8"].iter().enumerate() {
        let cv = read_f32(&dir.path().join(format!("out.{kind}.bin")));
        assert_eq!(cv.len(), 3 * w * h);
        for y in 0..h {
            for x in 0..w {
                for c in 0..3 {
                    let a = ours[c * w * h + y * w + x];
                    let b = cv[(y * w + x) * 3 + c] / 255.0;
                    worst[k] = worst[k].max((a - b).abs());
                }
            }
        }
    }
    (worst[0], worst[1])
}

fn have_cv2() -> bool {
    let ok = Command::new(ros_python())
        .args(["-c", "import cv2"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    require("python3 with cv2 (OpenCV)", ok)
}

#[test]
fn matches_opencv_float_within_1e3_and_u8_within_one_level() {
    if !have_cv2() {
        return;
    }
    use Interpolation::*;
    use ResizeMode::*;
    let cases = [
        (1280, 720, 320, 192, Bilinear, Stretch),
        (100, 60, 320, 192, Bilinear, Stretch),
        (333, 517, 320, 192, Bilinear, Stretch),
        (1000, 700, 320, 192, Area, Stretch),
        (640, 384, 320, 192, Area, Stretch),
        (160, 96, 320, 192, Area, Stretch),
        (1280, 720, 320, 192, Bilinear, Letterbox),
        (700, 1000, 320, 192, Bilinear, Letterbox),
        (1280, 720, 320, 192, Bilinear, Crop),
        (1000, 700, 320, 192, Area, Crop),
    ];
    for (i, &(sw, sh, w, h, interp, mode)) in cases.iter().enumerate() {
        let img = test_image(sw, sh, i as u64 + 1);
        let (f, u) = compare(&img, &pre(w, h, interp, mode));
        eprintln!(
            "{sw}x{sh} -> {w}x{h} {interp:?} {mode:?}: max err vs cv2 float {f:.2e}, vs cv2 u8 {u:.2e}"
        );
        assert!(f <= 1e-3, "case {i}: {f} vs cv2 float32 path");
        assert!(u <= 1.0 / 255.0 + 1e-4, "case {i}: {u} vs cv2 uint8 path");
    }
}

#[test]
fn normalisation_and_channel_order() {
    // 1x1 image: every output pixel is the pixel itself
    let img = RgbImage {
        width: 1,
        height: 1,
        data: vec![255, 0, 51],
        ..Default::default()
    };
    let mut p = pre(4, 2, Interpolation::Bilinear, ResizeMode::Stretch);
    p.mean = [0.5, 0.25, 0.0];
    p.std = [0.5, 0.25, 2.0];
    let out = preprocess(&img, &p).unwrap();
    let plane = 8;
    assert!(out[..plane].iter().all(|v| (v - 1.0).abs() < 1e-6));
    assert!(out[plane..2 * plane].iter().all(|v| (v + 1.0).abs() < 1e-6));
    assert!(out[2 * plane..].iter().all(|v| (v - 0.1).abs() < 1e-6));
    p.channel_order = ChannelOrder::Bgr;
    let out = preprocess(&img, &p).unwrap();
    assert!((out[0] - (0.2 - 0.5) / 0.5).abs() < 1e-6, "{}", out[0]);
    assert!((out[2 * plane] - 0.5).abs() < 1e-6, "{}", out[2 * plane]);
}

#[test]
fn rejects_inconsistent_images() {
    let img = RgbImage {
        width: 4,
        height: 4,
        data: vec![0; 10],
        ..Default::default()
    };
    let e = preprocess(&img, &pre(2, 2, Interpolation::Bilinear, ResizeMode::Stretch)).unwrap_err();
    assert!(e.to_string().contains("10 bytes"), "{e}");
    let img = RgbImage {
        width: 0,
        height: 4,
        data: vec![],
        ..Default::default()
    };
    assert!(preprocess(&img, &pre(2, 2, Interpolation::Area, ResizeMode::Crop)).is_err());
}
