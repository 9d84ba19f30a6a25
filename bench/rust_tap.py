"""Benchmark: the Rust Singer tap tap-rs-sequence vs the same tap written with singer-sdk.

    .venv/bin/python bench/rust_tap.py --records 100000      # dev: small
    .venv/bin/python bench/rust_tap.py --records 1000000     # the lead's full run

Both taps generate the same stream: ids 1..N with a name, an amount, a boolean, an RFC 3339
timestamp and a nullable note, one STATE every 10,000 records. The Rust tap is built by the
runner (``dativo install tap-rs-sequence``, cargo, cached in ``.cache/rust-home``); the peer is
the smallest singer-sdk 0.54 tap doing the same (source below), in a cached virtualenv. Each tap
writes to a file; the script checks both emitted N records and prints records/s (wall, start-up
included, and CPU) and the ratio.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
from pathlib import Path

from dativo_protocol import codec
from taps import BIN, REPO, best, peer_venv, print_results, write_config

SDK_SEQUENCE_TAP = """
from datetime import datetime, timedelta, timezone
from singer_sdk import Stream, Tap
from singer_sdk import typing as th

BASE = datetime(2024, 1, 1, tzinfo=timezone.utc)


class Sequence(Stream):
    name = "sequence"
    primary_keys = ("id",)
    replication_key = "id"
    is_sorted = True
    STATE_MSG_FREQUENCY = 10000
    schema = th.PropertiesList(
        th.Property("id", th.IntegerType, required=True),
        th.Property("name", th.StringType),
        th.Property("amount", th.NumberType),
        th.Property("active", th.BooleanType),
        th.Property("created_at", th.DateTimeType),
        th.Property("note", th.StringType),
    ).to_dict()

    def get_records(self, context):
        start = self.get_starting_replication_key_value(context) or 0
        for n in range(start + 1, self.config["records"] + 1):
            yield {
                "id": n,
                "name": f"item-{n}",
                "amount": n * 0.25,
                "active": n % 2 == 0,
                "created_at": (BASE + timedelta(minutes=n)).isoformat(),
                "note": None if n % 5 == 0 else f"note {n}",
            }


class SequenceTap(Tap):
    name = "tap-sdk-sequence"
    config_jsonschema = th.PropertiesList(th.Property("records", th.IntegerType)).to_dict()

    def discover_streams(self):
        return [Sequence(self)]


SequenceTap.cli()
"""


def rust_binary() -> str:
    env = {**os.environ, "DATIVO_HOME": str(REPO / ".cache" / "rust-home")}
    done = subprocess.run(
        [str(BIN / "dativo"), "install", "tap-rs-sequence", "--json"],
        capture_output=True,
        env=env,
        check=True,
    )
    path: str = codec.loads(done.stdout)["executable"]
    return path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=1, help="runs per tap; the best is kept")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="dativo-bench-rust-tap-") as tmp_name:
        tmp = Path(tmp_name)
        sdk_bin = peer_venv("singer-sdk-0.54", ["singer-sdk==0.54.9"])
        script = write_config(tmp / "sdk_tap.py", SDK_SEQUENCE_TAP)
        cfg_rust = write_config(tmp / "rust.json", f'{{"records": {args.records}}}')
        cfg_sdk = write_config(tmp / "sdk.json", f'{{"records": {args.records}}}')
        runs = [
            ("tap-rs-sequence (Rust)", [rust_binary(), "--config", str(cfg_rust)]),
            (
                "singer-sdk 0.54 sequence tap",
                [str(sdk_bin / "python"), str(script), "--config", str(cfg_sdk)],
            ),
        ]
        results = [best(name, cmd, tmp / "out.jsonl", args.repeat) for name, cmd in runs]

    print_results(results, 32)
    if {r.records for r in results} != {args.records}:
        raise SystemExit(
            f"record counts differ from {args.records}: {[r.records for r in results]}"
        )
    ours, peer = results
    print(
        f"ratio tap-rs-sequence / singer-sdk: {peer.seconds / ours.seconds:.1f}x wall, "
        f"{peer.cpu / max(ours.cpu, 1e-3):.1f}x cpu"
    )


if __name__ == "__main__":
    main()
