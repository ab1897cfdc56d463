//! `sensorium config show|example`.

use crate::cli::ConfigCommand;
use crate::settings;
use anyhow::Result;

pub const EXAMPLE: &str = include_str!("../../sensorium.example.toml");

pub fn run(cmd: ConfigCommand) -> Result<i32> {
    match cmd {
        ConfigCommand::Show { config, json } => {
            let loaded = settings::load(config.as_deref(), &[])?;
            let rows = loaded.describe();
            if json {
                let obj: serde_json::Map<String, serde_json::Value> = rows
                    .iter()
                    .map(|(k, (v, o))| {
                        let value: serde_json::Value =
                            serde_json::from_str(v).unwrap_or_else(|_| serde_json::Value::String(v.clone()));
                        (k.clone(), serde_json::json!({"value": value, "source": o}))
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&obj)?);
            } else {
                let width = rows.keys().map(String::len).max().unwrap_or(0);
                for (k, (v, o)) in rows {
                    println!("{k:<width$} = {v}    # {o}");
                }
            }
            Ok(0)
        }
        ConfigCommand::Example => {
            print!("{EXAMPLE}");
            Ok(0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_config_is_complete_and_equals_defaults() {
        let mut f = tempfile::Builder::new().suffix(".toml").tempfile().expect("tmp");
        std::io::Write::write_all(&mut f, EXAMPLE.as_bytes()).expect("write");
        let loaded = settings::load(Some(f.path()), &[]).expect("example loads");
        assert_eq!(loaded.settings, settings::Settings::default());
        // every key is set by the file, so every origin names it
        for (key, (_, origin)) in loaded.describe() {
            assert!(
                origin.contains(&f.path().display().to_string()),
                "{key} not in example: {origin}"
            );
        }
    }
}
