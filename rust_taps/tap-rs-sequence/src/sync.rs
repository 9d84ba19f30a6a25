//! Discovery, stream selection, bookmarks and the record generator.

use std::io::{self, Write};

use serde_json::{json, Map, Value};

use crate::config::Config;

/// The replication key of every stream (an integer, increasing).
pub const REPLICATION_KEY: &str = "id";

/// JSON Schema of every stream's records.
pub fn stream_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "amount": {"type": "number"},
            "active": {"type": "boolean"},
            "created_at": {"type": "string", "format": "date-time"},
            "note": {"type": ["null", "string"]}
        },
        "required": ["id"]
    })
}

/// The Singer catalog (`--discover`): every stream selected by default, incremental on `id`.
pub fn catalog(cfg: &Config) -> Value {
    let schema = stream_schema();
    let streams: Vec<Value> = cfg
        .streams
        .iter()
        .map(|name| {
            let mut metadata = vec![json!({"breadcrumb": [], "metadata": {
                "inclusion": "available",
                "selected-by-default": true,
                "table-key-properties": [REPLICATION_KEY],
                "valid-replication-keys": [REPLICATION_KEY],
                "replication-method": "INCREMENTAL",
                "replication-key": REPLICATION_KEY
            }})];
            for prop in schema["properties"]
                .as_object()
                .into_iter()
                .flat_map(|p| p.keys())
            {
                let inclusion = if prop == REPLICATION_KEY {
                    "automatic"
                } else {
                    "available"
                };
                metadata.push(json!({"breadcrumb": ["properties", prop],
                                     "metadata": {"inclusion": inclusion}}));
            }
            json!({"tap_stream_id": name, "stream": name, "schema": schema,
                   "key_properties": [REPLICATION_KEY], "replication_key": REPLICATION_KEY,
                   "metadata": metadata})
        })
        .collect();
    json!({"streams": streams})
}

/// One stream to sync and whether its bookmark applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selected {
    pub name: String,
    pub incremental: bool,
}

/// Streams to sync: all (no catalog), or those the catalog selects, in config order.
/// Selection follows Singer: `selected` on the stream's metadata (breadcrumb `[]`), else
/// `selected-by-default`; `replication-method: FULL_TABLE` ignores the bookmark.
pub fn select(cfg: &Config, catalog: Option<&Value>) -> Result<Vec<Selected>, String> {
    let Some(catalog) = catalog else {
        return Ok(cfg
            .streams
            .iter()
            .map(|name| Selected {
                name: name.clone(),
                incremental: true,
            })
            .collect());
    };
    let entries = catalog
        .get("streams")
        .and_then(Value::as_array)
        .ok_or("catalog: 'streams' must be a list")?;
    let mut chosen = Vec::new();
    for name in &cfg.streams {
        let Some(entry) = entries.iter().find(|e| {
            e.get("tap_stream_id")
                .or_else(|| e.get("stream"))
                .and_then(Value::as_str)
                == Some(name.as_str())
        }) else {
            continue;
        };
        let empty = Map::new();
        let meta = entry
            .get("metadata")
            .and_then(Value::as_array)
            .and_then(|items| {
                items.iter().find(|m| {
                    m.get("breadcrumb")
                        .and_then(Value::as_array)
                        .is_some_and(|b| b.is_empty())
                })
            })
            .and_then(|m| m.get("metadata"))
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let flag = |key: &str| meta.get(key).and_then(Value::as_bool);
        let selected = flag("selected")
            .or_else(|| entry.get("selected").and_then(Value::as_bool))
            .or_else(|| flag("selected-by-default"))
            .unwrap_or(false);
        if selected {
            let full = meta.get("replication-method").and_then(Value::as_str) == Some("FULL_TABLE");
            chosen.push(Selected {
                name: name.clone(),
                incremental: !full,
            });
        }
    }
    Ok(chosen)
}

/// The bookmark (last emitted id) of `stream` in a Singer state
/// `{"bookmarks": {stream: {"replication_key_value": N}}}` (a `{"value": ...}` wrapper is accepted).
pub fn bookmark(state: &Value, stream: &str) -> Result<u64, String> {
    let state = state
        .get("value")
        .filter(|v| v.is_object())
        .unwrap_or(state);
    let Some(entry) = state.get("bookmarks").and_then(|b| b.get(stream)) else {
        return Ok(0);
    };
    match entry.get("replication_key_value") {
        None | Some(Value::Null) => Ok(0),
        Some(v) => v.as_u64().ok_or_else(|| {
            format!("state: bookmark of stream '{stream}' must be a non-negative integer")
        }),
    }
}

/// `2024-01-01T00:00:00Z` plus `minutes`, as RFC 3339.
pub fn timestamp(minutes: u64) -> String {
    const BASE_DAYS: i64 = 19_723; // 2024-01-01 since 1970-01-01
    let days = BASE_DAYS + (minutes / 1440) as i64;
    let rem = minutes % 1440;
    // civil_from_days (H. Hinnant)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:00Z",
        rem / 60,
        rem % 60
    )
}

/// Write one RECORD line for id `n` of the stream whose JSON-quoted name is `quoted`.
pub fn write_record<W: Write>(out: &mut W, quoted: &str, n: u64) -> io::Result<()> {
    let amount = n as f64 * 0.25;
    let active = n.is_multiple_of(2);
    let created = timestamp(n);
    if n.is_multiple_of(5) {
        writeln!(
            out,
            "{{\"type\":\"RECORD\",\"stream\":{quoted},\"record\":{{\"id\":{n},\"name\":\"item-{n}\",\"amount\":{amount:.2},\"active\":{active},\"created_at\":\"{created}\",\"note\":null}}}}"
        )
    } else {
        writeln!(
            out,
            "{{\"type\":\"RECORD\",\"stream\":{quoted},\"record\":{{\"id\":{n},\"name\":\"item-{n}\",\"amount\":{amount:.2},\"active\":{active},\"created_at\":\"{created}\",\"note\":\"note {n}\"}}}}"
        )
    }
}

/// Write one STATE line with every bookmark so far.
pub fn write_state<W: Write>(out: &mut W, bookmarks: &Map<String, Value>) -> io::Result<()> {
    let msg = json!({"type": "STATE", "value": {"bookmarks": bookmarks}});
    serde_json::to_writer(&mut *out, &msg)?;
    out.write_all(b"\n")
}

/// Sync the selected streams: SCHEMA, the RECORDs after each bookmark, STATE checkpoints.
/// Returns (stream, records emitted) per stream.
pub fn sync<W: Write>(
    out: &mut W,
    cfg: &Config,
    streams: &[Selected],
    state: Option<&Value>,
) -> Result<Vec<(String, u64)>, SyncError> {
    let mut bookmarks: Map<String, Value> = state
        .map(|s| s.get("value").filter(|v| v.is_object()).unwrap_or(s))
        .and_then(|s| s.get("bookmarks"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut counts = Vec::new();
    for stream in streams {
        let start = match (stream.incremental, state) {
            (true, Some(s)) => bookmark(s, &stream.name).map_err(SyncError::Config)?,
            _ => 0,
        };
        let schema = json!({"type": "SCHEMA", "stream": stream.name, "schema": stream_schema(),
                            "key_properties": [REPLICATION_KEY],
                            "bookmark_properties": [REPLICATION_KEY]});
        serde_json::to_writer(&mut *out, &schema).map_err(|e| SyncError::Io(e.into()))?;
        out.write_all(b"\n")?;
        let quoted = Value::from(stream.name.as_str()).to_string();
        let mut emitted = 0u64;
        let mark = |bookmarks: &mut Map<String, Value>, n: u64| {
            bookmarks.insert(
                stream.name.clone(),
                json!({"replication_key": REPLICATION_KEY, "replication_key_value": n}),
            );
        };
        for n in start.saturating_add(1)..=cfg.records {
            write_record(out, &quoted, n)?;
            emitted += 1;
            if emitted.is_multiple_of(cfg.state_every) {
                mark(&mut bookmarks, n);
                write_state(out, &bookmarks)?;
            }
        }
        mark(&mut bookmarks, start.max(cfg.records));
        write_state(out, &bookmarks)?;
        counts.push((stream.name.clone(), emitted));
    }
    out.flush()?;
    Ok(counts)
}

/// Why a sync stopped.
#[derive(Debug)]
pub enum SyncError {
    Config(String),
    Io(io::Error),
}

impl From<io::Error> for SyncError {
    fn from(e: io::Error) -> Self {
        SyncError::Io(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;

    fn cfg(records: u64) -> Config {
        config::parse(&json!({"records": records, "streams": ["a", "b"], "state_every": 2}))
            .unwrap()
    }

    fn lines(out: &[u8]) -> Vec<Value> {
        out.split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect()
    }

    #[test]
    fn timestamps() {
        assert_eq!(timestamp(0), "2024-01-01T00:00:00Z");
        assert_eq!(timestamp(61), "2024-01-01T01:01:00Z");
        assert_eq!(timestamp(60 * 24 * 60), "2024-03-01T00:00:00Z"); // 2024 is a leap year
        assert_eq!(timestamp(60 * 24 * 366), "2025-01-01T00:00:00Z");
    }

    #[test]
    fn records_are_valid_json_of_the_schema_types() {
        let mut out = Vec::new();
        write_record(&mut out, "\"s\"", 5).unwrap();
        write_record(&mut out, "\"s\"", 6).unwrap();
        let msgs = lines(&out);
        assert_eq!(msgs[0]["record"]["note"], Value::Null);
        assert_eq!(msgs[1]["record"]["amount"].as_f64(), Some(1.5));
        assert_eq!(msgs[1]["record"]["active"], Value::Bool(true));
    }

    #[test]
    fn resumes_after_the_bookmark_with_checkpoints() {
        let cfg = cfg(5);
        let state =
            json!({"bookmarks": {"a": {"replication_key": "id", "replication_key_value": 3}}});
        let streams = select(&cfg, None).unwrap();
        let mut out = Vec::new();
        let counts = sync(&mut out, &cfg, &streams, Some(&state)).unwrap();
        assert_eq!(counts, vec![("a".to_string(), 2), ("b".to_string(), 5)]);
        let msgs = lines(&out);
        let ids_a: Vec<u64> = msgs
            .iter()
            .filter(|m| m["type"] == "RECORD" && m["stream"] == "a")
            .map(|m| m["record"]["id"].as_u64().unwrap())
            .collect();
        assert_eq!(ids_a, vec![4, 5]);
        let last = msgs.last().unwrap();
        assert_eq!(last["value"]["bookmarks"]["a"]["replication_key_value"], 5);
        assert_eq!(last["value"]["bookmarks"]["b"]["replication_key_value"], 5);
        assert_eq!(
            msgs.iter().filter(|m| m["type"] == "STATE").count(),
            1 + 3 + 1
        );
    }

    #[test]
    fn catalog_selects_streams() {
        let cfg = cfg(1);
        let mut cat = catalog(&cfg);
        cat["streams"][0]["metadata"][0]["metadata"]["selected"] = json!(false);
        cat["streams"][1]["metadata"][0]["metadata"]["replication-method"] = json!("FULL_TABLE");
        let chosen = select(&cfg, Some(&cat)).unwrap();
        assert_eq!(
            chosen,
            vec![Selected {
                name: "b".into(),
                incremental: false
            }]
        );
        assert!(bookmark(
            &json!({"bookmarks": {"a": {"replication_key_value": "x"}}}),
            "a"
        )
        .is_err());
    }
}
