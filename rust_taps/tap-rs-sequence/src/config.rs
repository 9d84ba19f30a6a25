//! The tap's config: validated by hand from a `serde_json::Value`, so that no error message
//! ever contains a config value (serde's own messages quote the offending value, which may be
//! a secret). Messages name keys only.

use serde_json::{json, Map, Value};

/// Config keys whose values are secret: never printed, redacted by the runner.
pub const SECRET_FIELDS: &[&str] = &["api_key"];

const DEFAULT_STREAM: &str = "sequence";
const DEFAULT_STATE_EVERY: u64 = 10_000;

/// A validated config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Records per stream: ids 1..=records.
    pub records: u64,
    /// Stream names, unique, `[A-Za-z0-9_]+`.
    pub streams: Vec<String>,
    /// Emit a STATE every this many records (and at the end of each stream).
    pub state_every: u64,
}

/// The JSON Schema of the config (`--about` settings; the runner's `dativo spec`).
pub fn settings_schema() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["records"],
        "properties": {
            "records": {"type": "integer", "minimum": 0,
                        "description": "records per stream (ids 1..=records)"},
            "streams": {"type": "array", "items": {"type": "string", "pattern": "^[A-Za-z0-9_]+$"},
                        "uniqueItems": true, "minItems": 1, "default": [DEFAULT_STREAM],
                        "description": "stream names"},
            "state_every": {"type": "integer", "minimum": 1, "default": DEFAULT_STATE_EVERY,
                            "description": "emit a STATE every this many records"},
            "api_key": {"type": "string", "writeOnly": true, "secret": true,
                        "description": "a secret: never printed (it shows secret handling)"}
        }
    })
}

fn non_negative(obj: &Map<String, Value>, key: &str) -> Result<Option<u64>, String> {
    match obj.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| format!("'{key}' must be a non-negative integer")),
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Validate a parsed config document. Errors name the key, never the value.
pub fn parse(doc: &Value) -> Result<Config, String> {
    let obj = doc.as_object().ok_or("must be a JSON object")?;
    for key in obj.keys() {
        if !["records", "streams", "state_every", "api_key"].contains(&key.as_str()) {
            let shown: String = key.chars().take(40).collect();
            return Err(format!(
                "unknown key '{shown}' (known: records, streams, state_every, api_key)"
            ));
        }
    }
    let records = non_negative(obj, "records")?.ok_or("'records' is required")?;
    let state_every = non_negative(obj, "state_every")?.unwrap_or(DEFAULT_STATE_EVERY);
    if state_every == 0 {
        return Err("'state_every' must be at least 1".into());
    }
    let streams = match obj.get("streams") {
        None => vec![DEFAULT_STREAM.to_string()],
        Some(Value::Array(items)) if !items.is_empty() => {
            let mut names: Vec<String> = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                match item.as_str() {
                    Some(name) if valid_name(name) && !names.iter().any(|n| n == name) => {
                        names.push(name.to_string())
                    }
                    Some(name) if valid_name(name) => {
                        return Err(format!("'streams' names '{name}' twice"))
                    }
                    _ => {
                        return Err(format!(
                            "'streams'[{i}] must be a name of letters, digits and _"
                        ))
                    }
                }
            }
            names
        }
        Some(_) => return Err("'streams' must be a non-empty list of names".into()),
    };
    if let Some(key) = obj.get("api_key") {
        if !key.is_string() {
            return Err("'api_key' must be a string".into());
        }
    }
    Ok(Config {
        records,
        streams,
        state_every,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let cfg = parse(&json!({"records": 3})).unwrap();
        assert_eq!(cfg.streams, vec!["sequence".to_string()]);
        assert_eq!(cfg.state_every, DEFAULT_STATE_EVERY);
    }

    #[test]
    fn errors_never_show_values() {
        let canary = "CANARY-s3cr3t";
        for doc in [
            json!({"records": canary, "api_key": canary}),
            json!({"records": 1, "api_key": [canary]}),
            json!({"records": 1, "streams": [canary, canary]}),
            json!({"records": 1, "streams": ["ok", "bad name"], "api_key": canary}),
        ] {
            let err = parse(&doc).unwrap_err();
            assert!(!err.contains("s3cr3t"), "{err}");
        }
    }

    #[test]
    fn rejects_unknown_keys_and_zero_state_every() {
        assert!(parse(&json!({"records": 1, "recods": 2}))
            .unwrap_err()
            .contains("unknown key 'recods'"));
        assert!(parse(&json!({"records": 1, "state_every": 0})).is_err());
        assert!(parse(&json!({"records": -1})).is_err());
    }
}
