//! One module per subcommand; each turns parsed arguments into library calls.

pub mod bag;
mod bench;
mod calib;
mod calib_check;
mod config;
mod eval;
mod models;
mod node;
mod recordings;
pub mod replay;
mod sim;
mod sync;

use crate::cli::Command;
use anyhow::Result;

/// Runs a subcommand; returns the process exit code.
pub fn dispatch(cmd: Command) -> Result<i32> {
    match cmd {
        Command::Config(c) => config::run(c),
        Command::Calib(c) => calib::run(c),
        Command::Replay(a) => replay::run(a),
        Command::Bag(c) => bag::run(c),
        Command::Sim(a) => sim::run(a),
        Command::Sync(a) => sync::run(a),
        Command::Models(c) => models::run(c),
        Command::Node(a) => node::run(a),
        Command::Bench(a) => bench::run(a),
        Command::Eval(a) => eval::run(a),
    }
}
