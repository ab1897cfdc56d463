//! Bad input is an `Err` naming the field and the numbers, never a panic, never a huge allocation.

use sensorium_core::{PointsSoA, Stamp};
use sensorium_msgs::*;

fn cloud(n: usize) -> PointCloud2 {
    let mut soa = PointsSoA::default();
    for i in 0..n {
        soa.push(i as f32, -(i as f32), 0.5, 7.0);
    }
    PointCloud2::from_soa(&soa, Header::new(Stamp::new(3, 4), "lidar"))
}

fn image(enc: &str, w: u32, h: u32, bpp: u32) -> Image {
    Image {
        header: Header::new(Stamp::new(1, 2), "cam"),
        height: h,
        width: w,
        encoding: enc.into(),
        is_bigendian: false,
        step: w * bpp,
        data: vec![9; (w * bpp * h) as usize],
    }
}

fn err_text<T: std::fmt::Debug>(r: Result<T, MsgError>) -> String {
    r.expect_err("expected an error").to_string()
}

/// The layout error of `c`, which the owned view and the in-place path (bytes → [`PointCloud2Ref`] →
/// view → SoA) must both give, word for word.
fn layout_err(c: &PointCloud2) -> String {
    let owned = err_text(PointCloud2View::new(c));
    let bytes = c.to_bytes();
    let borrowed = err_text(pointcloud::decode_soa(&bytes));
    assert_eq!(owned, borrowed, "owned and borrowed views disagree");
    let r = PointCloud2Ref::decode(&bytes).expect("structurally valid");
    assert_eq!(err_text(r.view()), owned);
    owned
}

#[test]
fn truncated_payloads_of_every_type_are_errors() {
    type Decode = fn(&[u8]) -> Result<(), MsgError>;
    let mut payloads: Vec<(&str, Vec<u8>, Decode)> = vec![
        ("cloud", cloud(5).to_bytes(), |b| PointCloud2::decode(b).map(drop)),
        ("cloud_ref", cloud(5).to_bytes(), |b| {
            PointCloud2Ref::decode(b).map(drop)
        }),
        ("cloud_soa", cloud(5).to_bytes(), |b| {
            pointcloud::decode_soa(b).map(drop)
        }),
        ("image", image("rgb8", 4, 3, 3).to_bytes(), |b| {
            Image::decode(b).map(drop)
        }),
        (
            "compressed",
            CompressedImage {
                format: "png".into(),
                data: vec![1, 2, 3],
                ..Default::default()
            }
            .to_bytes(),
            |b| CompressedImage::decode(b).map(drop),
        ),
        (
            "camera_info",
            CameraInfo {
                d: vec![0.1; 5],
                ..Default::default()
            }
            .to_bytes(),
            |b| CameraInfo::decode(b).map(drop),
        ),
        ("string", StringMsg { data: "hello".into() }.to_bytes(), |b| {
            StringMsg::decode(b).map(drop)
        }),
        (
            "tf",
            TFMessage {
                transforms: vec![TransformStamped::default(); 2],
            }
            .to_bytes(),
            |b| TFMessage::decode(b).map(drop),
        ),
        (
            "marker_array",
            MarkerArray {
                markers: vec![Marker::default()],
            }
            .to_bytes(),
            |b| MarkerArray::decode(b).map(drop),
        ),
        (
            "diag",
            DiagnosticArray {
                status: vec![DiagnosticStatus {
                    values: vec![KeyValue {
                        key: "a".into(),
                        value: "b".into(),
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }
            .to_bytes(),
            |b| DiagnosticArray::decode(b).map(drop),
        ),
        (
            "grid",
            OccupancyGrid {
                data: vec![1, -1, 100],
                ..Default::default()
            }
            .to_bytes(),
            |b| OccupancyGrid::decode(b).map(drop),
        ),
    ];
    for (name, full, dec) in payloads.iter_mut() {
        dec(full).unwrap_or_else(|e| panic!("{name}: full payload must decode: {e}"));
        for cut in 0..full.len() {
            let e = dec(&full[..cut]).expect_err(name);
            assert!(e.to_string().contains("truncated"), "{name} cut at {cut}: {e}");
        }
        full.push(0);
        let e = dec(full).expect_err(name).to_string();
        assert!(e.contains("fields end at byte"), "{name}: {e}");
    }
}

#[test]
fn absurd_length_prefixes_do_not_allocate() {
    // A TFMessage claiming 4 billion transforms, a cloud claiming 1e9 fields, an image with 4 GB of data.
    let e = err_text(TFMessage::decode(&[0xff, 0xff, 0xff, 0xff, 0, 0]));
    assert!(e.contains("transforms") && e.contains("need"), "{e}");
    let mut b = Vec::new();
    Header::default().encode(&mut b);
    b.extend_from_slice(&1u32.to_le_bytes());
    b.extend_from_slice(&1u32.to_le_bytes());
    b.extend_from_slice(&1_000_000_000u32.to_le_bytes());
    let e = err_text(PointCloud2::decode(&b));
    assert!(e.contains("`fields`"), "{e}");
    let mut img = image("rgb8", 2, 2, 3).to_bytes();
    let n = img.len();
    img[n - 16..n - 12].copy_from_slice(&u32::MAX.to_le_bytes());
    let e = err_text(Image::decode(&img));
    assert!(e.contains("`data`") && e.contains("4294967295"), "{e}");
}

#[test]
fn inconsistent_clouds_name_field_and_numbers() {
    // data length disagrees with row_step * height
    let mut c = cloud(10);
    c.data.truncate(150);
    let e = layout_err(&c);
    assert!(
        e.contains("data") && e.contains("150") && e.contains("160"),
        "{e}"
    );
    // row_step smaller than width * point_step
    let mut c = cloud(10);
    c.row_step = 80;
    c.height = 2;
    let e = layout_err(&c);
    assert!(
        e.contains("row_step") && e.contains("80") && e.contains("160"),
        "{e}"
    );
    // field running past point_step
    let mut c = cloud(10);
    c.fields[3].offset = 14;
    let e = layout_err(&c);
    assert!(
        e.contains("intensity") && e.contains("14") && e.contains("point_step 16"),
        "{e}"
    );
    // absurd sizes: width * height would be 1.8e19 points, with 16 bytes of data
    let mut c = cloud(1);
    c.width = u32::MAX;
    c.height = u32::MAX;
    c.row_step = 16;
    assert!(!layout_err(&c).is_empty());
    let mut c = cloud(1);
    c.width = u32::MAX;
    let e = layout_err(&c);
    assert!(e.contains("row_step"), "{e}");
    // unknown datatype of a used field; missing x
    let mut c = cloud(3);
    c.fields[1].datatype = 42;
    let e = layout_err(&c);
    assert!(e.contains("\"y\"") && e.contains("42"), "{e}");
    let mut c = cloud(3);
    c.fields.remove(0);
    let e = layout_err(&c);
    assert!(e.contains("no `x` field"), "{e}");
    // zero point_step with points
    let mut c = cloud(3);
    c.point_step = 0;
    c.row_step = 48;
    assert!(layout_err(&c).contains("point_step"));
    // empty clouds are fine
    let c = cloud(0);
    assert_eq!(PointCloud2View::new(&c).unwrap().to_soa().len(), 0);
}

#[test]
fn inconsistent_images_name_field_and_numbers() {
    let mut i = image("rgb8", 4, 3, 3);
    i.data.pop();
    let e = err_text(i.to_rgb());
    assert!(e.contains("data") && e.contains("35") && e.contains("36"), "{e}");
    let mut i = image("rgb8", 4, 3, 3);
    i.step = 10;
    i.data = vec![0; 30];
    let e = err_text(i.to_rgb());
    assert!(e.contains("step") && e.contains("10") && e.contains("12"), "{e}");
    let e = err_text(image("rgb16", 4, 3, 6).to_rgb());
    assert!(e.contains("rgb16"), "{e}");
    let e = err_text(image("yuv422", 3, 2, 2).to_rgb());
    assert!(e.contains("odd"), "{e}");
    // absurd: 65535 x 65535 rgb8 with a few bytes of data
    let mut i = image("rgb8", 1, 1, 3);
    i.width = 65_535;
    i.height = 65_535;
    i.step = 65_535 * 3;
    assert!(err_text(i.to_rgb()).contains("data"));
    let mut i = image("mono8", 1, 1, 1);
    i.width = u32::MAX;
    i.height = u32::MAX;
    i.step = u32::MAX;
    assert!(i.to_rgb().is_err());
}

#[test]
fn corrupt_and_mislabelled_compressed_images_are_errors() {
    let mut png = Vec::new();
    ::image::RgbImage::from_pixel(8, 4, ::image::Rgb([1, 2, 3]))
        .write_to(&mut std::io::Cursor::new(&mut png), ::image::ImageFormat::Png)
        .unwrap();
    let ok = CompressedImage {
        format: "bgr8; png compressed bgr8".into(),
        data: png.clone(),
        ..Default::default()
    };
    let rgb = ok.to_rgb().unwrap();
    assert_eq!((rgb.width, rgb.height, rgb.pixel(7, 3)), (8, 4, Some([1, 2, 3])));

    let mut jpg = Vec::new();
    ::image::RgbImage::from_pixel(16, 16, ::image::Rgb([200, 100, 50]))
        .write_to(&mut std::io::Cursor::new(&mut jpg), ::image::ImageFormat::Jpeg)
        .unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("jpeg", jpg[..jpg.len() / 2].to_vec(), "cannot decode"),
        (
            "jpeg",
            {
                let mut j = jpg.clone();
                for b in j.iter_mut().skip(20).take(200) {
                    *b = 0xff;
                }
                j
            },
            "cannot decode",
        ),
        ("jpeg", vec![0xff, 0xd8, 0xff], "cannot decode"),
        ("jpeg", png.clone(), "format string says"),
        ("png", png[..png.len() - 20].to_vec(), "cannot decode"),
        ("png", Vec::new(), "cannot decode"),
        ("16UC1; compressedDepth", png.clone(), "unsupported encoding"),
        ("tiff", png.clone(), "unsupported encoding"),
    ];
    for (format, data, want) in cases {
        let m = CompressedImage {
            format: format.into(),
            data,
            ..Default::default()
        };
        match m.to_rgb() {
            Err(e) => assert!(e.to_string().contains(want), "{format}: {e}"),
            // A decoder may recover from garbage inside the entropy-coded data; it must still be sane.
            Ok(img) => assert_eq!(
                img.data.len(),
                img.width as usize * img.height as usize * 3,
                "{format}"
            ),
        }
    }
    // A PNG header claiming 100000 x 100000 pixels is refused by the decode limits.
    let mut huge = png.clone();
    huge[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    huge[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let m = CompressedImage {
        format: "png".into(),
        data: huge,
        ..Default::default()
    };
    assert!(m.to_rgb().is_err());
}

#[test]
fn round_trips_and_header_stamp() {
    let info = CameraInfo {
        header: Header {
            seq: 4,
            stamp: Stamp::new(10, 20),
            frame_id: "cam_optical".into(),
        },
        height: 375,
        width: 1242,
        distortion_model: "plumb_bob".into(),
        d: vec![-0.1, 0.01, 0.0, 0.0, 0.0],
        k: [721.5, 0.0, 609.5, 0.0, 721.5, 172.8, 0.0, 0.0, 1.0],
        r: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
        p: [
            721.5, 0.0, 609.5, 44.8, 0.0, 721.5, 172.8, 0.2, 0.0, 0.0, 1.0, 0.003,
        ],
        binning_x: 1,
        binning_y: 2,
        roi: RegionOfInterest {
            x_offset: 1,
            y_offset: 2,
            height: 3,
            width: 4,
            do_rectify: true,
        },
    };
    let b = info.to_bytes();
    assert_eq!(CameraInfo::decode(&b).unwrap(), info);
    assert_eq!(header_stamp(&b).unwrap(), Stamp::new(10, 20));
    assert!(header_stamp(&b[..8]).is_err());

    let tf = TFMessage {
        transforms: vec![TransformStamped {
            header: Header::new(Stamp::new(1, 2), "base_link"),
            child_frame_id: "lidar_top".into(),
            transform: Transform {
                translation: [1.0, 2.0, 3.0],
                rotation: [0.0, 0.0, 0.0, 1.0],
            },
        }],
    };
    let b = tf.to_bytes();
    assert_eq!(TFMessage::decode(&b).unwrap(), tf);
    assert_eq!(TFMessage::decode_any("tf/tfMessage", &b).unwrap(), tf);
    assert!(TFMessage::decode_any("std_msgs/String", &b).is_err());

    let soa_in = {
        let mut s = PointsSoA::default();
        s.push(1.0, 2.0, 3.0, 4.0);
        s.push(f32::NAN, 2.0, 3.0, 4.0);
        s.push(5.0, 6.0, 7.0, 8.0);
        s.ring = Some(vec![1, 2, 3]);
        s.time = Some(vec![0.01, 0.02, 0.03]);
        s
    };
    let c = PointCloud2::from_soa(&soa_in, Header::new(Stamp::new(5, 0), "lidar"));
    assert_eq!(c.point_step, 22);
    assert!(!c.is_dense);
    let c2 = PointCloud2::decode(&c.to_bytes()).unwrap();
    let out = PointCloud2View::new(&c2).unwrap().to_soa();
    assert_eq!(out.x, vec![1.0, 5.0]);
    assert_eq!(out.intensity, vec![4.0, 8.0]);
    assert_eq!(out.ring, Some(vec![1, 3]));
    assert_eq!(out.time, Some(vec![0.01, 0.03]));
    assert_eq!(out.frame_id, "lidar");

    let m = Marker {
        ns: "boxes".into(),
        id: 3,
        kind: 1,
        points: vec![[1.0, 2.0, 3.0]],
        colors: vec![[1.0, 0.0, 0.0, 1.0]],
        text: "car".into(),
        ..Default::default()
    };
    let arr = MarkerArray {
        markers: vec![m.clone(), m],
    };
    assert_eq!(MarkerArray::decode(&arr.to_bytes()).unwrap(), arr);
    let g = OccupancyGrid {
        data: vec![-1, 0, 100],
        ..Default::default()
    };
    assert_eq!(OccupancyGrid::decode(&g.to_bytes()).unwrap(), g);
    let s = StringMsg {
        data: "ünïcode".into(),
    };
    assert_eq!(StringMsg::decode(&s.to_bytes()).unwrap(), s);
}
