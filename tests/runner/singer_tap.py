"""A tiny Singer tap for the runner's tests (standard library only, started as a process).

Config: rows (per stream), streams, state_every, sleep (seconds per record), die_after (records,
then SIGKILL itself), exit_code (at the end), log_secret (print config["password"] on stderr),
spaces (pretty JSON like singer-python). Supports --discover, --catalog (selection) and --state
(bookmark: last id per stream).
"""

import argparse
import json  # noqa: TID251 - a stand-alone test script
import os
import signal
import sys
import time
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    parser.add_argument("--catalog")
    parser.add_argument("--properties")
    parser.add_argument("--state")
    parser.add_argument("--discover", action="store_true")
    args = parser.parse_args()
    with open(args.config) as fh:
        config = json.load(fh)
    streams = config.get("streams", ["items"])
    schema = {
        "type": "object",
        "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
    }
    if args.discover:
        catalog = {
            "streams": [
                {
                    "tap_stream_id": s,
                    "stream": s,
                    "schema": schema,
                    "metadata": [{"breadcrumb": [], "metadata": {"inclusion": "available"}}],
                }
                for s in streams
            ]
        }
        print(json.dumps(catalog))
        return
    if args.catalog or args.properties:
        with open(args.catalog or args.properties) as fh:
            catalog = json.load(fh)
        chosen = [
            s["tap_stream_id"]
            for s in catalog["streams"]
            if any(m["breadcrumb"] == [] and m["metadata"].get("selected") for m in s["metadata"])
        ]
    else:
        chosen = streams
    state: dict[str, Any] = {"bookmarks": {}}
    if args.state:
        with open(args.state) as fh:
            state = json.load(fh)
    if config.get("log_secret"):
        print(f"connecting with password {config.get('password')}", file=sys.stderr, flush=True)
    rows = int(config.get("rows", 10))
    every = int(config.get("state_every", 5))
    sleep = float(config.get("sleep", 0))
    die_after = config.get("die_after")
    sep = (", ", ": ") if config.get("spaces") else (",", ":")
    out = sys.stdout
    emitted = 0
    flag = config.get("fail_once_file")
    if flag and not os.path.exists(flag):
        rows = rows // 2  # the first attempt stops half-way with a transient error
    for stream in chosen:
        out.write(
            json.dumps(
                {"type": "SCHEMA", "stream": stream, "schema": schema, "key_properties": ["id"]},
                separators=sep,
            )
            + "\n"
        )
        start = state["bookmarks"].get(stream, {}).get("id", 0)
        count = 0
        for i in range(start + 1, rows + 1):
            out.write(
                json.dumps(
                    {
                        "type": "RECORD",
                        "stream": stream,
                        "record": {"id": i, "name": f"{stream}-{i}"},
                    },
                    separators=sep,
                )
                + "\n"
            )
            count += 1
            emitted += 1
            if die_after is not None and emitted >= die_after:
                out.flush()
                os.kill(os.getpid(), signal.SIGKILL)
            if i % every == 0 or i == rows:
                state["bookmarks"][stream] = {"id": i}
                out.write(json.dumps({"type": "STATE", "value": state}, separators=sep) + "\n")
            if sleep:
                out.flush()
                time.sleep(sleep)
        out.flush()
        metric = {
            "type": "counter",
            "metric": "record_count",
            "value": count,
            "tags": {"stream": stream},
        }
        print(f"INFO METRIC: {json.dumps(metric)}", file=sys.stderr, flush=True)
    out.flush()
    flag = config.get("fail_once_file")
    if flag and not os.path.exists(flag):
        open(flag, "w").close()
        sys.exit(7)
    sys.exit(int(config.get("exit_code", 0)))


if __name__ == "__main__":
    main()
