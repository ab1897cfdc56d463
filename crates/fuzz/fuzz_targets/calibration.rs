#![no_main]
//! Every calibration loader on the same text: ROS camera_info YAML, KITTI calib.txt (object/raw/OpenCalib
//! K/D/T), the sensorium extrinsics YAML, OpenCalib intrinsic + extrinsic JSON. What parses is then used
//! as the pipeline uses it: camera lookup, LiDAR → camera transform, projection of a few points.
use libfuzzer_sys::fuzz_target;
use sensorium_core::{PointsSoA, Stamp};
use sensorium_geometry::{camera_info, extrinsics, kitti, opencalib, CameraModel, ImageKind, Projector, VehicleCalib};
use std::path::Path;

fn points() -> PointsSoA {
    let mut p = PointsSoA::default();
    p.stamp = Stamp::ZERO;
    for (x, y, z) in [(10.0, 0.0, 0.0), (5.0, -2.0, 1.0), (-3.0, 1.0, 0.5), (0.0, 0.0, 0.0), (1e30, -1e30, f32::NAN)] {
        p.x.push(x);
        p.y.push(y);
        p.z.push(z);
        p.intensity.push(0.0);
    }
    p
}

fn use_model(m: &CameraModel) {
    let _ = Projector::new(&nalgebra::Matrix4::identity(), m, ImageKind::Raw).project(&points());
    let _ = Projector::new(&nalgebra::Matrix4::identity(), m, ImageKind::Rectified).project(&points());
}

fn use_vehicle(v: &VehicleCalib) {
    for c in &v.cameras {
        if let Ok(p) = v.projector(c) {
            let _ = p.project(&points());
        }
    }
    let _ = v.camera(None);
    let _ = v.camera(Some("cam2"));
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let path = Path::new("fuzz");
    if let Ok((_, m)) = camera_info::parse_camera_info_yaml(&text, path) {
        use_model(&m);
        let yaml = camera_info::to_camera_info_yaml("fuzz", &m);
        let (_, again) = camera_info::parse_camera_info_yaml(&yaml, path).expect("our own camera_info YAML");
        assert_eq!(again.width, m.width);
    }
    if let Ok(k) = kitti::parse_kitti_calib(&text, path) {
        for cam in 0..4 {
            let _ = k.velo_to_image(cam);
        }
        if let Ok(v) = k.vehicle() {
            use_vehicle(&v);
        }
    }
    if let Ok(v) = extrinsics::parse_extrinsics_yaml(&text, path) {
        use_vehicle(&v);
    }
    if let Ok((_, m)) = opencalib::parse_opencalib_intrinsic(&text, path) {
        use_model(&m);
    }
    let _ = opencalib::parse_opencalib_extrinsic(&text, path);
    if let Ok(v) = opencalib::parse_opencalib_vehicle((&text, path), (&text, path)) {
        use_vehicle(&v);
    }
});
