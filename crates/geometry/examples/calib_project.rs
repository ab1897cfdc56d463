//! `calib project` before the CLI wires it: `cargo run -p sensorium-geometry --example calib_project --
//! CALIB CLOUD IMAGE [CAMERA] [OUT.png] [UV.npy]` (use `-` to skip an optional argument).

use sensorium_geometry::{calib_project, ProjectOptions};
use std::path::PathBuf;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        eprintln!("usage: calib_project CALIB CLOUD IMAGE [CAMERA|-] [OUT.png|-] [UV.npy|-]");
        std::process::exit(2);
    }
    let opt = |i: usize| args.get(i).filter(|s| s.as_str() != "-").cloned();
    let opts = ProjectOptions {
        calib: PathBuf::from(&args[0]),
        cloud: PathBuf::from(&args[1]),
        image: PathBuf::from(&args[2]),
        camera: opt(3),
        out: opt(4).map(PathBuf::from),
        uv_out: opt(5).map(PathBuf::from),
    };
    match calib_project(&opts) {
        Ok(report) => {
            println!("{report}");
            println!("{}", serde_json::to_string(&report).unwrap_or_default());
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
