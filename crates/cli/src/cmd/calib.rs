//! `sensorium calib project|check`.

use crate::cli::{CalibCommand, CalibProjectArgs};
use anyhow::Result;
use sensorium_geometry::{calib_project, ProjectOptions};

pub fn run(cmd: CalibCommand) -> Result<i32> {
    match cmd {
        CalibCommand::Project(a) => project(a),
        CalibCommand::Check(a) => crate::cmd::calib_check::run(a),
    }
}

fn project(a: CalibProjectArgs) -> Result<i32> {
    let report = calib_project(&ProjectOptions {
        calib: a.calib,
        cloud: a.cloud,
        image: a.image,
        camera: a.camera,
        out: a.out.clone(),
        uv_out: a.uv_out.clone(),
    })?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{report}");
        if let Some(o) = a.out {
            println!("overlay: {}", o.display());
        }
        if let Some(o) = a.uv_out {
            println!("uv: {}", o.display());
        }
    }
    Ok(0)
}
