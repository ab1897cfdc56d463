//! Seeds for the `cloud_files` fuzz target (`crates/fuzz/corpus/cloud_files/`): tiny PCD files (ascii,
//! binary, binary_compressed), a KITTI `.bin`, an `.npy` and an LZF stream. `SENSORIUM_WRITE_FUZZ_SEEDS=1`
//! rewrites them; otherwise the test checks the committed seeds still parse to the points written.
//! (Real files — PCL's test PCDs, calibration files, the models' manifests — are added by scripts/fuzz.sh
//! at run time from ../shared/data and the repository, not committed twice.)

use npyz::WriterBuilder;
use sensorium_geometry::cloudfile::{lzf_decompress, parse_kitti_bin, parse_npy, parse_pcd};
use std::path::Path;

const PTS: [[f32; 4]; 3] = [
    [1.0, 2.0, 3.0, 0.5],
    [-4.0, 5.5, 0.25, 1.0],
    [10.0, -1.0, -2.0, 0.0],
];

fn header(data: &str) -> String {
    format!(
        "# .PCD v0.7 - Point Cloud Data file format\nVERSION 0.7\nFIELDS x y z intensity\nSIZE 4 4 4 4\n\
         TYPE F F F F\nCOUNT 1 1 1 1\nWIDTH 3\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS 3\nDATA {data}\n"
    )
}

/// liblzf's format with literal runs only (control byte n < 32: n + 1 literal bytes): valid, if not small.
fn lzf_literals(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for run in data.chunks(32) {
        out.push((run.len() - 1) as u8);
        out.extend_from_slice(run);
    }
    out
}

fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let le = |f: f32| f.to_le_bytes();
    let mut ascii = header("ascii").into_bytes();
    for p in PTS {
        ascii.extend_from_slice(format!("{} {} {} {}\n", p[0], p[1], p[2], p[3]).as_bytes());
    }
    let aos: Vec<u8> = PTS.iter().flat_map(|p| p.iter().flat_map(|v| le(*v))).collect();
    let mut binary = header("binary").into_bytes();
    binary.extend_from_slice(&aos);
    // binary_compressed stores fields one after another (x x x y y y …)
    let soa: Vec<u8> = (0..4)
        .flat_map(|f| PTS.iter().flat_map(move |p| le(p[f])))
        .collect();
    let packed = lzf_literals(&soa);
    let mut compressed = header("binary_compressed").into_bytes();
    compressed.extend_from_slice(&(packed.len() as u32).to_le_bytes());
    compressed.extend_from_slice(&(soa.len() as u32).to_le_bytes());
    compressed.extend_from_slice(&packed);
    let mut npy = Vec::new();
    {
        let mut w = npyz::WriteOptions::<f32>::new()
            .default_dtype()
            .shape(&[3, 4])
            .writer(&mut npy)
            .begin_nd()
            .unwrap();
        w.extend(PTS.iter().flatten().copied()).unwrap();
        w.finish().unwrap();
    }
    // the target's LZF input: u16 LE output length / 4, then the stream
    let mut lzf = ((soa.len() / 4) as u16).to_le_bytes().to_vec();
    lzf.extend_from_slice(&packed);
    vec![
        ("ascii.pcd", ascii),
        ("binary.pcd", binary),
        ("binary_compressed.pcd", compressed),
        ("kitti.bin", aos),
        ("cloud.npy", npy),
        ("stream.lzf", lzf),
    ]
}

#[test]
fn cloud_fuzz_seeds_are_valid() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/cloud_files");
    let write = std::env::var("SENSORIUM_WRITE_FUZZ_SEEDS").is_ok_and(|v| v == "1");
    for (name, bytes) in seeds() {
        let path = root.join(name);
        if write {
            std::fs::create_dir_all(&root).unwrap();
            std::fs::write(&path, &bytes).unwrap();
        }
        let on_disk = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let cloud = match name.rsplit('.').next().unwrap() {
            "pcd" => parse_pcd(&on_disk, &path).unwrap(),
            "bin" => parse_kitti_bin(&on_disk, &path).unwrap(),
            "npy" => parse_npy(&on_disk, &path).unwrap(),
            _ => {
                let n = usize::from(u16::from_le_bytes([on_disk[0], on_disk[1]])) * 4;
                let raw = lzf_decompress(&on_disk[2..], n).unwrap();
                assert_eq!(raw.len(), 48);
                continue;
            }
        };
        let got: Vec<[f32; 4]> = (0..cloud.x.len())
            .map(|i| [cloud.x[i], cloud.y[i], cloud.z[i], cloud.intensity[i]])
            .collect();
        assert_eq!(got, PTS, "{name}");
        assert!(on_disk.len() < 4096);
    }
}
