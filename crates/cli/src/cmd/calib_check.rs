//! `sensorium calib check`.

use crate::cli::CalibCheckArgs;
use anyhow::{bail, Result};

pub fn run(a: CalibCheckArgs) -> Result<i32> {
    bail!("calib check {}: not available in this build yet", a.bag.display())
}
