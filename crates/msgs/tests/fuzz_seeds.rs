//! The fuzz seed corpus (`crates/fuzz/corpus/<target>/`): valid messages of each kind. With
//! `SENSORIUM_WRITE_FUZZ_SEEDS=1` this rewrites them; otherwise it checks the committed seeds still decode.

use sensorium_core::{PointsSoA, Stamp};
use sensorium_msgs::*;
use std::path::Path;

fn seeds() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let mut soa = PointsSoA::default();
    for i in 0..4 {
        soa.push(i as f32, 1.0, f32::NAN, 2.0);
    }
    soa.ring = Some(vec![0, 1, 2, 3]);
    soa.time = Some(vec![0.0, 0.1, 0.2, 0.3]);
    let cloud = PointCloud2::from_soa(&soa, Header::new(Stamp::new(1, 2), "l"));
    let mut be = cloud.clone();
    be.is_bigendian = true;
    be.height = 2;
    be.width = 2;
    be.row_step = 2 * be.point_step;
    let img = |enc: &str, w: u32, bpp: u32| Image {
        header: Header::new(Stamp::new(1, 2), "c"),
        height: 2,
        width: w,
        encoding: enc.into(),
        is_bigendian: false,
        step: w * bpp + 1,
        data: (0..2 * (w * bpp + 1)).map(|v| v as u8).collect(),
    };
    let mut png = Vec::new();
    ::image::RgbImage::from_pixel(3, 2, ::image::Rgb([1, 2, 3]))
        .write_to(&mut std::io::Cursor::new(&mut png), ::image::ImageFormat::Png)
        .unwrap();
    let mut jpg = Vec::new();
    ::image::RgbImage::from_pixel(8, 8, ::image::Rgb([9, 99, 199]))
        .write_to(&mut std::io::Cursor::new(&mut jpg), ::image::ImageFormat::Jpeg)
        .unwrap();
    let tf = TFMessage {
        transforms: vec![TransformStamped {
            header: Header::new(Stamp::new(1, 0), "base_link"),
            child_frame_id: "lidar".into(),
            transform: Transform {
                translation: [1.0, 0.0, 2.0],
                rotation: [0.0, 0.0, 0.0, 1.0],
            },
        }],
    };
    vec![
        ("pointcloud2", "xyzi_ring_time", cloud.to_bytes()),
        ("pointcloud2", "bigendian_organized", be.to_bytes()),
        ("image", "rgb8", img("rgb8", 3, 3).to_bytes()),
        ("image", "mono16", img("mono16", 3, 2).to_bytes()),
        ("image", "bayer_rggb8", img("bayer_rggb8", 4, 1).to_bytes()),
        ("image", "yuv422", img("yuv422", 4, 2).to_bytes()),
        ("image", "32FC1", img("32FC1", 2, 4).to_bytes()),
        (
            "compressed_image",
            "png",
            CompressedImage {
                format: "png".into(),
                data: png,
                ..Default::default()
            }
            .to_bytes(),
        ),
        (
            "compressed_image",
            "jpeg",
            CompressedImage {
                format: "rgb8; jpeg compressed bgr8".into(),
                data: jpg,
                ..Default::default()
            }
            .to_bytes(),
        ),
        ("small_msgs", "tf", tf.to_bytes()),
        (
            "small_msgs",
            "camera_info",
            CameraInfo {
                d: vec![0.0; 5],
                ..Default::default()
            }
            .to_bytes(),
        ),
        (
            "small_msgs",
            "map_text",
            StringMsg {
                data: r#"{"annotations":[{"text":"stop","position":[1,2,0]}]}"#.into(),
            }
            .to_bytes(),
        ),
    ]
}

#[test]
fn fuzz_seed_corpus_is_valid() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    let write = std::env::var("SENSORIUM_WRITE_FUZZ_SEEDS").is_ok_and(|v| v == "1");
    for (target, name, bytes) in seeds() {
        let path = root.join(target).join(name);
        if write {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &bytes).unwrap();
        }
        let on_disk = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        match target {
            "pointcloud2" => {
                let c = PointCloud2::decode(&on_disk).unwrap();
                PointCloud2View::new(&c).unwrap();
            }
            "image" => {
                Image::decode(&on_disk).unwrap().to_rgb().unwrap();
            }
            "compressed_image" => {
                CompressedImage::decode(&on_disk).unwrap().to_rgb().unwrap();
            }
            _ => assert!(
                TFMessage::decode(&on_disk).is_ok()
                    || CameraInfo::decode(&on_disk).is_ok()
                    || StringMsg::decode(&on_disk).is_ok()
            ),
        }
        assert!(on_disk.len() < 4096, "{}: keep seeds small", path.display());
    }
}
