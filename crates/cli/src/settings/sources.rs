//! The layers as `config` sources: file, environment and flag values, each tagged with where it came from;
//! unknown keys named with the nearest known one.

use super::*;

/// A configuration source that stamps each value with a precise origin
/// (`env SENSORIUM__ENGINE__THREADS`, `flag --rate`).
#[derive(Debug, Clone)]
pub(super) struct Tagged {
    pub(super) entries: Vec<(String, ValueKind, String)>, // (dotted key, value, origin)
}

impl Source for Tagged {
    fn clone_into_box(&self) -> Box<dyn Source + Send + Sync> {
        Box::new(self.clone())
    }

    fn collect(&self) -> Result<Map<String, Value>, config::ConfigError> {
        let mut root: Map<String, Value> = Map::new();
        for (key, kind, origin) in &self.entries {
            let value = Value::new(Some(origin), kind.clone());
            insert_dotted(&mut root, key, value, origin);
        }
        Ok(root)
    }
}

pub(super) fn insert_dotted(root: &mut Map<String, Value>, key: &str, value: Value, origin: &str) {
    let mut parts: Vec<&str> = key.split('.').collect();
    let last = parts.pop().unwrap_or_default().to_string();
    let mut table = root;
    for p in parts {
        let entry = table
            .entry(p.to_string())
            .or_insert_with(|| Value::new(Some(&origin.to_string()), ValueKind::Table(Map::new())));
        if !matches!(entry.kind, ValueKind::Table(_)) {
            *entry = Value::new(Some(&origin.to_string()), ValueKind::Table(Map::new()));
        }
        table = match &mut entry.kind {
            ValueKind::Table(t) => t,
            _ => return,
        };
    }
    table.insert(last, value);
}

/// Environment/flag strings: a TOML literal when they parse as one (numbers, booleans,
/// `["a", "b"]` lists), else a plain string.
pub(super) fn parse_scalar(raw: &str) -> ValueKind {
    let doc = format!("v = {raw}");
    match doc.parse::<toml::Table>().ok().and_then(|mut t| t.remove("v")) {
        Some(v) => toml_to_kind(v),
        None => ValueKind::String(raw.to_string()),
    }
}

pub(super) fn toml_to_kind(v: toml::Value) -> ValueKind {
    match v {
        toml::Value::String(s) => ValueKind::String(s),
        toml::Value::Integer(i) => ValueKind::I64(i),
        toml::Value::Float(f) => ValueKind::Float(f),
        toml::Value::Boolean(b) => ValueKind::Boolean(b),
        toml::Value::Datetime(d) => ValueKind::String(d.to_string()),
        toml::Value::Array(a) => {
            ValueKind::Array(a.into_iter().map(|x| Value::new(None, toml_to_kind(x))).collect())
        }
        toml::Value::Table(t) => ValueKind::Table(
            t.into_iter()
                .map(|(k, x)| (k, Value::new(None, toml_to_kind(x))))
                .collect(),
        ),
    }
}

/// Reads a TOML/YAML/JSON file into (dotted key, value, "file PATH") entries.
pub(super) fn read_file(path: &Path) -> Result<Vec<(String, ValueKind, String)>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("config file {}", path.display()))?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let tree: serde_json::Value = match ext.as_str() {
        "toml" => toml::from_str(&text).map_err(|e| anyhow!("config file {}: {e}", path.display()))?,
        "yaml" | "yml" => {
            serde_yaml::from_str(&text).map_err(|e| anyhow!("config file {}: {e}", path.display()))?
        }
        "json" => serde_json::from_str(&text).map_err(|e| anyhow!("config file {}: {e}", path.display()))?,
        other => bail!(
            "config file {}: unknown extension {other:?} (use .toml, .yaml or .json)",
            path.display()
        ),
    };
    if !tree.is_object() && !tree.is_null() {
        bail!(
            "config file {}: top level must be a table of sections",
            path.display()
        );
    }
    let origin = format!("file {}", path.display());
    let mut out = Vec::new();
    flatten_tree("", &tree, &origin, &mut out);
    Ok(out)
}

pub(super) fn flatten_tree(
    prefix: &str,
    v: &serde_json::Value,
    origin: &str,
    out: &mut Vec<(String, ValueKind, String)>,
) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten_tree(&key, x, origin, out);
            }
        }
        other => out.push((prefix.to_string(), json_to_kind(other), origin.to_string())),
    }
}

pub(super) fn json_to_kind(v: &serde_json::Value) -> ValueKind {
    match v {
        serde_json::Value::Null => ValueKind::Nil,
        serde_json::Value::Bool(b) => ValueKind::Boolean(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => ValueKind::I64(i),
            None => ValueKind::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => ValueKind::String(s.clone()),
        serde_json::Value::Array(a) => {
            ValueKind::Array(a.iter().map(|x| Value::new(None, json_to_kind(x))).collect())
        }
        serde_json::Value::Object(m) => ValueKind::Table(
            m.iter()
                .map(|(k, x)| (k.clone(), Value::new(None, json_to_kind(x))))
                .collect(),
        ),
    }
}

pub(super) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

pub(super) fn known_keys() -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(v) = serde_json::to_value(Settings::default()) {
        flatten_json("", &v, &mut out);
    }
    out
}

pub(super) fn flatten_json(prefix: &str, v: &serde_json::Value, out: &mut Vec<String>) {
    if let serde_json::Value::Object(m) = v {
        for (k, x) in m {
            let key = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            if x.is_object() {
                flatten_json(&key, x, out);
            } else {
                out.push(key);
            }
        }
    }
}

pub(super) fn flatten_value(prefix: &str, v: &Value, out: &mut Vec<(String, Value)>) {
    match &v.kind {
        ValueKind::Table(t) => {
            for (k, x) in t {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten_value(&key, x, out);
            }
        }
        _ => out.push((prefix.to_string(), v.clone())),
    }
}

pub(super) fn origin_of(v: &Value) -> String {
    v.origin()
        .map(str::to_string)
        .unwrap_or_else(|| "built-in default".to_string())
}

pub(super) fn check_unknown_keys(merged: &Value) -> Result<()> {
    let known = known_keys();
    let mut leaves = Vec::new();
    flatten_value("", merged, &mut leaves);
    for (key, v) in leaves {
        if !known.iter().any(|k| k == &key) {
            let (section, leaf) = key.rsplit_once('.').unwrap_or(("", key.as_str()));
            let close = known.iter().find(|k| {
                let (ks, kl) = k.rsplit_once('.').unwrap_or(("", k.as_str()));
                (ks == section || kl == leaf)
                    && (kl.contains(leaf) || leaf.contains(kl) || edit_distance(kl, leaf) <= 2)
            });
            let hint = close
                .map(|k| format!(" (did you mean `{k}`?)"))
                .unwrap_or_default();
            bail!(
                "unknown configuration key `{key}` = {} from {}{hint}",
                show_value(&v),
                origin_of(&v)
            );
        }
    }
    Ok(())
}

pub(super) fn show_value(v: &Value) -> String {
    match &v.kind {
        ValueKind::String(s) => format!("{s:?}"),
        ValueKind::Array(a) => format!("[{}]", a.iter().map(show_value).collect::<Vec<_>>().join(", ")),
        other => other.to_string(),
    }
}
