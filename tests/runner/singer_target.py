"""A tiny Singer target for the runner's tests (standard library only, started as a process).

Appends records to <path>/<stream>.jsonl, fsyncs them when a STATE arrives, then prints the
state value (committed-then-acknowledged, like a real target). Config: path, fail_after
(records, then exit 1), drop_final_state (never echo the last state: a bad target),
stop_reading_after (records, then exit 0 without reading the rest), exit_code.
"""

import argparse
import json  # noqa: TID251 - a stand-alone test script
import os
import sys
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    args = parser.parse_args()
    with open(args.config) as fh:
        config = json.load(fh)
    root = config["path"]
    os.makedirs(root, exist_ok=True)
    files: dict[str, Any] = {}
    pending_state = None
    records = 0
    counts: dict[str, int] = {}

    def recover(path: str) -> None:
        """Drop a torn last line left by a kill (records after the last fsync are not committed)."""
        if not os.path.exists(path):
            return
        with open(path, "rb+") as fh:
            data = fh.read()
            fh.truncate(data.rfind(b"\n") + 1)

    def commit() -> None:
        for fh in files.values():
            fh.flush()
            os.fsync(fh.fileno())

    for line in sys.stdin:
        msg = json.loads(line)
        kind = msg["type"].upper()
        if kind == "RECORD":
            stream = msg["stream"]
            if stream not in files:
                recover(os.path.join(root, f"{stream}.jsonl"))
                files[stream] = open(os.path.join(root, f"{stream}.jsonl"), "a")  # noqa: SIM115
            files[stream].write(json.dumps(msg["record"]) + "\n")
            records += 1
            counts[stream] = counts.get(stream, 0) + 1
            if config.get("fail_after") and records >= config["fail_after"]:
                print("target: giving up", file=sys.stderr, flush=True)
                sys.exit(1)
            if config.get("stop_reading_after") and records >= config["stop_reading_after"]:
                commit()
                sys.exit(0)
        elif kind == "STATE":
            commit()
            pending_state = msg["value"]
            if not config.get("drop_final_state"):
                print(json.dumps(pending_state), flush=True)
                pending_state = None
    commit()
    if pending_state is not None and not config.get("drop_final_state"):
        print(json.dumps(pending_state), flush=True)
    for stream, n in counts.items():
        metric = {
            "type": "counter",
            "metric": "record_count",
            "value": n,
            "tags": {"stream": stream},
        }
        print(f"INFO METRIC: {json.dumps(metric)}", file=sys.stderr, flush=True)
    sys.exit(int(config.get("exit_code", 0)))


if __name__ == "__main__":
    main()
