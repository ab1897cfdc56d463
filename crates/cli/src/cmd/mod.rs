//! One module per subcommand; each turns parsed arguments into library calls.

mod calib;
mod calib_check;
mod config;

use crate::cli::Command;
use anyhow::{bail, Result};

/// Runs a subcommand; returns the process exit code.
pub fn dispatch(cmd: Command) -> Result<i32> {
    match cmd {
        Command::Config(c) => config::run(c),
        Command::Calib(c) => calib::run(c),
        other => bail!("{other:?}: not available in this build yet"),
    }
}
