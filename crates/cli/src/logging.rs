//! tracing setup: human format by default, `--log-format json` (or `log.format`) for machines.
//! `RUST_LOG` (EnvFilter syntax) selects what is shown; default `info` (the DDS stack, `rustdds` and
//! `ros2_client`, from `warn`).

use tracing_subscriber::{fmt, EnvFilter};

/// Nothing to hold today; returned so a future non-blocking writer can flush on drop.
pub struct Guard;

pub fn init(format: Option<&str>, verbose: u8) -> Guard {
    let format = format
        .map(str::to_string)
        .or_else(|| std::env::var("SENSORIUM__LOG__FORMAT").ok())
        .unwrap_or_else(|| "human".to_string());
    let default_level = match verbose {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    // the DDS stack logs every discovery step at info: its warnings are what a user needs
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(format!(
            "{default_level},rustdds=warn,rustdds::network::udp_sender=error,ros2_client=warn"
        ))
    });
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if format == "json" {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder.with_target(false).compact().try_init()
    };
    Guard
}
