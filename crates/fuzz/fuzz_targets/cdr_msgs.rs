#![no_main]
//! The ROS 2 (CDR) decoders of the input types (Image, CompressedImage, CameraInfo, PointCloud2 in place
//! and owned, String, TFMessage, a header prefix) on arbitrary bytes: nothing may panic. And the ROS1 →
//! CDR conversion through a type's definition: a ROS1 body that decodes converts, and the CDR decodes to
//! the same message (its header `seq` aside, which ROS 2 does not carry).
use libfuzzer_sys::fuzz_target;
use sensorium_msgs::ros2::Ros2Type;
use sensorium_msgs::*;

fn roundtrip<T: RosMessage + CdrMessage + PartialEq + std::fmt::Debug>(data: &[u8], clear_seq: fn(&mut T)) {
    let _ = T::decode_cdr(data);
    if let Ok(mut m) = T::decode(data) {
        let ros1 = m.to_bytes();
        let t = Ros2Type::parse(T::DATATYPE, T::DEFINITION).expect("our own definitions parse");
        let cdr = t.to_cdr(&ros1).expect("a decoded ROS1 message converts");
        let mut back = T::decode_cdr(&cdr).expect("the converted CDR decodes");
        clear_seq(&mut m);
        clear_seq(&mut back);
        // canonical forms: invalid UTF-8 was replaced, bools are 0/1
        assert_eq!(back.to_bytes(), m.to_bytes());
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = Header::decode_prefix_cdr(data);
    let _ = pointcloud::decode_soa_cdr(data);
    roundtrip::<Image>(data, |m| m.header.seq = 0);
    roundtrip::<CompressedImage>(data, |m| m.header.seq = 0);
    roundtrip::<CameraInfo>(data, |m| m.header.seq = 0);
    roundtrip::<PointCloud2>(data, |m| m.header.seq = 0);
    roundtrip::<StringMsg>(data, |_| {});
    roundtrip::<TFMessage>(data, |m| m.transforms.iter_mut().for_each(|t| t.header.seq = 0));
});
