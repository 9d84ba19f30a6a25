"""Benchmark: tap-csv (Dativo) vs plain singer-sdk CSV taps, on the same CSV input.

    .venv/bin/python bench/taps.py --records 100000       # dev: small
    .venv/bin/python bench/taps.py --records 1000000      # the lead's full run
    .venv/bin/python bench/taps.py --input other.csv      # any CSV with a header row

The input is the standard benchmark CSV (``generate.ensure_input(N).csv``: 12 columns of
ints, floats, strings, timestamps with offsets, a boolean, a JSON string, some empty cells).

Peers, each in its own cached virtualenv (uv), with default settings:

* ``tap-csv-folder`` (MeltanoLabs, from PyPI): singer-sdk's FolderTap/FileStream reading CSV.
* ``plain singer-sdk tap``: the smallest singer-sdk 0.54 tap that does what MeltanoLabs
  tap-csv does (csv.reader, one dict per row, every column a string). MeltanoLabs tap-csv
  itself is not published on PyPI, so this stands in for it; its source is written below.

Every tap writes its Singer stream to a file; the script checks each emitted the same number
of RECORD messages and prints records/s (wall time, start-up included) and the ratios.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from generate import ensure_input

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CACHE = Path(os.environ.get("DATIVO_PEER_CACHE", REPO / ".cache" / "peers"))

PLAIN_SDK_TAP = """
import csv, sys
from singer_sdk import Stream, Tap
from singer_sdk import typing as th


class CSVStream(Stream):
    def __init__(self, tap, path):
        self.path = path
        with open(path, newline="") as f:
            self.header = next(csv.reader(f))
        schema = th.PropertiesList(*(th.Property(c, th.StringType) for c in self.header))
        super().__init__(tap, schema=schema.to_dict(), name="bench")

    def get_records(self, context):
        with open(self.path, newline="") as f:
            rows = csv.reader(f)
            next(rows)
            for row in rows:
                yield dict(zip(self.header, row))


class PlainCSVTap(Tap):
    name = "tap-plain-csv"
    config_jsonschema = th.PropertiesList(th.Property("path", th.StringType)).to_dict()

    def discover_streams(self):
        return [CSVStream(self, self.config["path"])]


PlainCSVTap.cli()
"""


@dataclass
class Result:
    name: str
    seconds: float  # wall clock, start-up included
    cpu: float  # user + system CPU of the tap process (steadier on a shared machine)
    records: int


def peer_venv(name: str, specs: list[str]) -> Path:
    key = hashlib.sha256("\n".join([sys.version, *specs]).encode()).hexdigest()[:12]
    venv = CACHE / f"{name}-{key}"
    if not (venv / ".complete").exists():
        uv = BIN / "uv"
        subprocess.run(
            [str(uv), "venv", "-q", "--clear", "--python", sys.executable, str(venv)], check=True
        )
        subprocess.run(
            [str(uv), "pip", "install", "-q", "--python", str(venv / "bin" / "python"), *specs],
            check=True,
        )
        (venv / ".complete").touch()
    return venv / "bin"


def write_config(path: Path, data: str) -> Path:
    path.write_text(data)
    return path


def timed(name: str, cmd: list[str], out: Path) -> Result:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with out.open("wb") as sink:
        done = subprocess.run(cmd, stdout=sink, stderr=subprocess.PIPE, check=False)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        sys.stderr.write(done.stderr.decode()[-3000:])
        raise SystemExit(f"{name} failed with exit code {done.returncode}")
    with out.open("rb") as f:
        records = sum(
            1
            for line in f
            if line.startswith(b'{"type":"RECORD"') or line.startswith(b'{"type": "RECORD"')
        )
    return Result(name, seconds, cpu, records)


def best(name: str, cmd: list[str], out: Path, repeat: int) -> Result:
    runs = [timed(name, cmd, out) for _ in range(repeat)]
    return min(runs, key=lambda r: r.cpu)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument(
        "--input", type=Path, help="a CSV file with a header row (default: generated)"
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per tap; the best is kept")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="dativo-bench-taps-") as tmp_name:
        tmp = Path(tmp_name)
        folder = tmp / "in"
        folder.mkdir()
        source = folder / "bench.csv"
        original = args.input or ensure_input(args.records).csv
        os.symlink(original.resolve(), source)
        rows = sum(1 for _ in source.open("rb")) - 1
        print(f"input: {original} ({rows} rows, {source.stat().st_size / 1e6:.1f} MB)")

        folder_bin = peer_venv("tap-csv-folder", ["tap-csv-folder==0.0.1a1"])
        plain_bin = peer_venv("singer-sdk-0.54", ["singer-sdk==0.54.9"])
        plain_script = write_config(tmp / "plain_tap.py", PLAIN_SDK_TAP)

        cfg_ours = write_config(
            tmp / "ours.json", f'{{"files": [{{"entity": "bench", "path": "{source}"}}]}}'
        )
        cfg_str = write_config(
            tmp / "ours-str.json",
            f'{{"files": [{{"entity": "bench", "path": "{source}"}}], "infer_types": false}}',
        )
        cfg_folder = write_config(
            tmp / "folder.json", f'{{"path": "{folder}", "read_mode": "one_stream_per_file"}}'
        )
        cfg_plain = write_config(tmp / "plain.json", f'{{"path": "{source}"}}')

        runs = [
            ("dativo tap-csv (inferred types)", [str(BIN / "tap-csv"), "--config", str(cfg_ours)]),
            ("dativo tap-csv (all strings)", [str(BIN / "tap-csv"), "--config", str(cfg_str)]),
            (
                "tap-csv-folder 0.0.1a1 (singer-sdk 0.41)",
                [str(folder_bin / "tap-csv-folder"), "--config", str(cfg_folder)],
            ),
            (
                "plain singer-sdk 0.54 tap",
                [str(plain_bin / "python"), str(plain_script), "--config", str(cfg_plain)],
            ),
        ]
        results = [best(name, cmd, tmp / "out.jsonl", args.repeat) for name, cmd in runs]

    print_results(results, 42)
    counts = {r.records for r in results}
    if counts != {rows}:
        raise SystemExit(f"record counts differ from the {rows} input rows: {sorted(counts)}")
    ours = results[0]
    for peer in results[2:]:
        print(
            f"ratio dativo tap-csv / {peer.name}: {peer.seconds / ours.seconds:.2f}x wall, "
            f"{peer.cpu / ours.cpu:.2f}x cpu"
        )


def print_results(results: list[Result], width: int) -> None:
    """One line per tap: records, wall seconds and rate, CPU seconds and rate."""
    print(
        f"{'tap':{width}s} {'records':>8s} {'wall s':>7s} {'rec/s wall':>11s} {'cpu s':>7s} "
        f"{'rec/s cpu':>10s}"
    )
    for r in results:
        print(
            f"{r.name:{width}s} {r.records:8d} {r.seconds:7.2f} {r.records / r.seconds:11.0f} "
            f"{r.cpu:7.2f} {r.records / max(r.cpu, 1e-3):10.0f}"
        )


if __name__ == "__main__":
    main()
