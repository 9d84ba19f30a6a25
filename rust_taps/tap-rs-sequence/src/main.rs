//! tap-rs-sequence: a Singer tap written in Rust (docs/taps/rust.md).
//!
//! Singer CLI: `--config FILE [--catalog FILE] [--state FILE]`, `--discover`, `--about
//! [--format json]`. Stdout carries SCHEMA/RECORD/STATE only; logs go to stderr. Exit codes
//! follow dativo_protocol/errors.py: 0 ok, 1 internal/I-O, 2 usage, 3 config (bad config,
//! catalog or state file). Error messages never contain config values.

mod config;
mod sync;

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::{json, Value};

const NAME: &str = "tap-rs-sequence";
const EXIT_INTERNAL: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_CONFIG: u8 = 3;

/// A failure with its exit code; the message is safe to print.
struct Failure(u8, String);

#[derive(Default)]
struct Args {
    config: Option<PathBuf>,
    catalog: Option<PathBuf>,
    state: Option<PathBuf>,
    discover: bool,
    about: bool,
    format: Option<String>,
}

fn usage(msg: &str) -> Failure {
    Failure(
        EXIT_USAGE,
        format!(
            "{msg} (usage: {NAME} --config FILE [--catalog FILE] [--state FILE] | --discover | --about)"
        ),
    )
}

fn parse_args(raw: impl IntoIterator<Item = String>) -> Result<Args, Failure> {
    let mut args = Args::default();
    let mut it = raw.into_iter();
    while let Some(flag) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .ok_or_else(|| usage(&format!("{name} needs a value")))
        };
        match flag.as_str() {
            "--config" => args.config = Some(value("--config")?.into()),
            "--catalog" | "--properties" => args.catalog = Some(value("--catalog")?.into()),
            "--state" => args.state = Some(value("--state")?.into()),
            "--format" => args.format = Some(value("--format")?),
            "--discover" => args.discover = true,
            "--about" => args.about = true,
            other => {
                let shown: String = other.chars().take(40).collect();
                return Err(usage(&format!("unknown argument '{shown}'")));
            }
        }
    }
    Ok(args)
}

/// Read a JSON file; errors name the file's role, never its content.
fn read_json(path: &PathBuf, what: &str) -> Result<Value, Failure> {
    let bytes = std::fs::read(path).map_err(|e| {
        Failure(
            EXIT_CONFIG,
            format!("{what} file {}: {}", path.display(), e.kind()),
        )
    })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        // line/column only: serde's message may quote the content
        Failure(
            EXIT_CONFIG,
            format!(
                "{what} file {} is not valid JSON (line {}, column {})",
                path.display(),
                e.line(),
                e.column()
            ),
        )
    })
}

fn about() -> Value {
    json!({
        "name": NAME,
        "version": env!("CARGO_PKG_VERSION"),
        "description": env!("CARGO_PKG_DESCRIPTION"),
        "capabilities": ["catalog", "discover", "state", "about"],
        "settings": config::settings_schema(),
        "secret_fields": config::SECRET_FIELDS,
    })
}

fn print_json(doc: &Value) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, doc)
        .map_err(io::Error::from)
        .and_then(|()| writeln!(out))
        .map_err(|e| Failure(EXIT_INTERNAL, format!("writing stdout: {}", e.kind())))
}

fn run(args: Args) -> Result<(), Failure> {
    if args.about {
        if let Some(fmt) = args.format.as_deref().filter(|f| *f != "json") {
            let shown: String = fmt.chars().take(20).collect();
            return Err(usage(&format!(
                "--format '{shown}' is not supported (json only)"
            )));
        }
        return print_json(&about());
    }
    let path = args
        .config
        .as_ref()
        .ok_or_else(|| usage("--config is required"))?;
    let cfg = config::parse(&read_json(path, "config")?)
        .map_err(|msg| Failure(EXIT_CONFIG, format!("config: {msg}")))?;
    if args.discover {
        return print_json(&sync::catalog(&cfg));
    }
    let catalog = args
        .catalog
        .as_ref()
        .map(|p| read_json(p, "catalog"))
        .transpose()?;
    let state = args
        .state
        .as_ref()
        .map(|p| read_json(p, "state"))
        .transpose()?;
    let streams = sync::select(&cfg, catalog.as_ref()).map_err(|m| Failure(EXIT_CONFIG, m))?;
    if streams.is_empty() {
        eprintln!("WARNING {NAME}: no stream selected");
    }
    let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    let counts = sync::sync(&mut out, &cfg, &streams, state.as_ref()).map_err(|e| match e {
        sync::SyncError::Config(m) => Failure(EXIT_CONFIG, m),
        sync::SyncError::Io(e) => Failure(EXIT_INTERNAL, format!("writing stdout: {}", e.kind())),
    })?;
    for (stream, n) in counts {
        eprintln!(
            "METRIC: {}",
            json!({"type": "counter", "metric": "record_count", "value": n, "tags": {"stream": stream}})
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let result = parse_args(std::env::args().skip(1)).and_then(run);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(code, msg)) => {
            eprintln!("ERROR {NAME}: {msg}");
            ExitCode::from(code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Args, Failure> {
        parse_args(list.iter().map(|s| s.to_string()))
    }

    #[test]
    fn singer_flags() {
        let a = args(&[
            "--config",
            "c.json",
            "--properties",
            "p.json",
            "--state",
            "s.json",
        ])
        .ok()
        .unwrap();
        assert_eq!(a.catalog, Some(PathBuf::from("p.json")));
        assert!(matches!(args(&["--config"]), Err(Failure(EXIT_USAGE, _))));
        assert!(matches!(args(&["--nope"]), Err(Failure(EXIT_USAGE, _))));
    }

    #[test]
    fn about_lists_settings_and_secrets() {
        let doc = about();
        assert_eq!(doc["settings"]["required"][0], "records");
        assert_eq!(doc["secret_fields"][0], "api_key");
    }
}
