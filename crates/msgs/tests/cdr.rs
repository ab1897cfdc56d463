//! ROS 2 (CDR) decoding of the input types against messages serialized by `rosbags` (its Jazzy type
//! store): `tests/fixtures/cdr/*.cdr`, made by `tests/python/cdr_fixtures.py` with the values below.

use sensorium_msgs::camera_info::CameraInfo;
use sensorium_msgs::image::{CompressedImage, Image};
use sensorium_msgs::pointcloud::{decode_soa_cdr, PointCloud2};
use sensorium_msgs::std_msgs::StringMsg;
use sensorium_msgs::tf::TFMessage;
use sensorium_msgs::{ros1_name, CdrMessage};

fn fixture(name: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/cdr/{name}.cdr"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn image_and_compressed_image() {
    let m = Image::decode_cdr(&fixture("image")).unwrap();
    assert_eq!(
        (m.height, m.width, m.step, m.encoding.as_str()),
        (2, 3, 9, "rgb8")
    );
    assert_eq!(m.data, (0..18).collect::<Vec<u8>>());
    assert_eq!((m.header.stamp.sec, m.header.stamp.nsec), (17, 250_000_000));
    assert_eq!((m.header.seq, m.header.frame_id.as_str()), (0, "cam_front"));
    let c = CompressedImage::decode_cdr(&fixture("compressed_image")).unwrap();
    assert_eq!(
        (c.format.as_str(), c.data.as_slice()),
        ("jpeg", &[255, 216, 255, 217][..])
    );
}

#[test]
fn camera_info_with_its_aligned_doubles() {
    let m = CameraInfo::decode_cdr(&fixture("camera_info")).unwrap();
    assert_eq!(
        (m.width, m.height, m.distortion_model.as_str()),
        (1280, 720, "plumb_bob")
    );
    assert_eq!(m.d, vec![0.1, -0.2, 0.001, 0.002, 0.05]);
    assert_eq!(m.k, [1000.0, 0.0, 640.0, 0.0, 1000.0, 360.0, 0.0, 0.0, 1.0]);
    assert_eq!(m.r, [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]);
    assert_eq!(m.p[2], 640.0);
    assert_eq!((m.binning_x, m.binning_y), (1, 2));
    assert_eq!(
        (
            m.roi.x_offset,
            m.roi.y_offset,
            m.roi.height,
            m.roi.width,
            m.roi.do_rectify
        ),
        (1, 2, 3, 4, true)
    );
}

#[test]
fn pointcloud2_in_place_and_owned() {
    let buf = fixture("pointcloud2");
    let soa = decode_soa_cdr(&buf).unwrap();
    assert_eq!(soa.x, vec![1.5, 10.0, -4.0]);
    assert_eq!(soa.y, vec![-2.0, 3.0, 0.5]);
    assert_eq!(soa.z, vec![0.25, -1.0, 2.0]);
    assert_eq!(soa.intensity, vec![0.5, 0.75, 0.125]);
    assert_eq!(soa.frame_id, "lidar_top");
    let m = PointCloud2::decode_cdr(&buf).unwrap();
    assert_eq!(
        m.fields.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
        ["x", "y", "z", "intensity"]
    );
    assert!(m.is_dense);
}

#[test]
fn string_and_tf() {
    let s = StringMsg::decode_cdr(&fixture("string")).unwrap();
    assert_eq!(s.data, "speed limit 30; crosswalk 12 m ahead");
    let tf = TFMessage::decode_cdr(&fixture("tf")).unwrap();
    assert_eq!(tf.transforms.len(), 2);
    let t = &tf.transforms[1];
    assert_eq!(
        (t.header.frame_id.as_str(), t.child_frame_id.as_str()),
        ("base_link", "lidar_top")
    );
    assert_eq!(t.transform.translation, [0.9, 0.0, 1.84]);
    assert_eq!(t.transform.rotation[3], std::f64::consts::FRAC_1_SQRT_2);
}

#[test]
fn damaged_cdr_is_an_error_naming_the_type() {
    let buf = fixture("camera_info");
    for cut in [0, 3, 4, 40, buf.len() - 20] {
        let e = CameraInfo::decode_cdr(&buf[..cut]).unwrap_err().to_string();
        assert!(e.contains("sensor_msgs/CameraInfo"), "cut at {cut}: {e}");
    }
    let mut be = buf.clone();
    be[1] = 0x00; // big-endian CDR
    let e = CameraInfo::decode_cdr(&be).unwrap_err().to_string();
    assert!(e.contains("little-endian"), "{e}");
    let mut long = fixture("string");
    long.extend_from_slice(&[0u8; 16]);
    assert!(
        StringMsg::decode_cdr(&long).is_err(),
        "16 bytes left over is not padding"
    );
    assert_eq!(
        ros1_name("sensor_msgs/msg/PointCloud2").as_deref(),
        Some("sensor_msgs/PointCloud2")
    );
    assert_eq!(ros1_name("sensor_msgs/PointCloud2"), None);
}

/// The ROS1 encoders of this crate, transcoded to CDR through their ROS1 definitions, give the bytes
/// `rosbags` serializes for the same values.
#[test]
fn ros1_bodies_transcode_to_the_cdr_rosbags_writes() {
    use sensorium_msgs::ros2::Ros2Type;
    use sensorium_msgs::RosMessage;
    fn check<M: RosMessage + CdrMessage + PartialEq + std::fmt::Debug>(name: &str) {
        let cdr = fixture(name);
        let m = M::decode_cdr(&cdr).unwrap();
        // ROS1 has a header seq that ROS 2 drops: any value transcodes to the same bytes
        let ros1 = m.to_bytes();
        let t = Ros2Type::parse(M::DATATYPE, M::DEFINITION).unwrap();
        assert_eq!(t.ros2_name(), M::ROS2_TYPE);
        assert_eq!(t.to_cdr(&ros1).unwrap(), cdr, "{name}");
    }
    check::<Image>("image");
    check::<CompressedImage>("compressed_image");
    check::<CameraInfo>("camera_info");
    check::<PointCloud2>("pointcloud2");
    check::<StringMsg>("string");
    check::<TFMessage>("tf");
    let t = Ros2Type::parse(CameraInfo::DATATYPE, CameraInfo::DEFINITION).unwrap();
    let def = t.ros2msg();
    assert!(def.starts_with("std_msgs/Header header\n"), "{def}");
    assert!(
        def.contains("MSG: std_msgs/msg/Header\nbuiltin_interfaces/Time stamp\nstring frame_id\n"),
        "{def}"
    );
    assert!(
        def.contains("MSG: builtin_interfaces/msg/Time\nint32 sec\nuint32 nanosec\n"),
        "{def}"
    );
    assert!(!def.contains("seq"), "{def}");
    assert!(t.to_cdr(&[1, 2, 3]).is_err());
}

/// The `cdr_msgs` fuzz seeds (`crates/fuzz/corpus/cdr_msgs`) are these fixtures
/// (`SENSORIUM_WRITE_FUZZ_SEEDS=1` copies them there).
#[test]
fn cdr_fuzz_seeds_are_the_fixtures() {
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/cdr_msgs");
    let write = std::env::var("SENSORIUM_WRITE_FUZZ_SEEDS").is_ok_and(|v| v == "1");
    for name in [
        "image",
        "compressed_image",
        "camera_info",
        "pointcloud2",
        "string",
        "tf",
    ] {
        let seed = corpus.join(format!("{name}.cdr"));
        if write {
            std::fs::create_dir_all(&corpus).unwrap();
            std::fs::write(&seed, fixture(name)).unwrap();
        }
        assert_eq!(std::fs::read(&seed).unwrap(), fixture(name), "{}", seed.display());
    }
}
