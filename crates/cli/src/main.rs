//! `sensorium`: edge perception runtime for camera, LiDAR and map text.

mod cli;
mod cmd;
mod logging;
mod paths;
mod settings;

use clap::Parser;

fn main() {
    let args = cli::Cli::parse();
    let _guard = logging::init(args.log_format.as_deref(), args.verbose);
    let code = match cmd::dispatch(args.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    };
    std::process::exit(code);
}
