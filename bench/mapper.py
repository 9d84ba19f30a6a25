"""Stream maps in the pipe: `dativo map` vs meltano-map-transform on the same input.

    python bench/mapper.py --records 100000 [--repeat 1]

Both are singer-sdk's PluginMapper underneath; `dativo map` moves the messages with orjson and
copies unmapped streams and STATE byte for byte, meltano-map-transform goes through
singer-sdk's reader/writer. Two cases on the standard input (bench/generate.py):

- transform: hash a column (sha256), drop a column, filter, rename the stream;
- passthrough: maps only for another stream (the cost of having the mapper in the pipe).

Prints wall time with start-up, records/s, the ratio, and whether both produced the same
records (the transform case).
"""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

PEER = ["meltano-map-transform==0.12.3"]
CASES: dict[str, dict[str, Any]] = {
    "transform": {
        "bench": {
            "__alias__": "bench_mapped",
            "name": "sha256(name)",
            "note": None,
            "__filter__": "active",
        }
    },
    "passthrough": {"some_other_stream": {"x": None}},
}


def run(argv: list[str], source: Path, out: Path) -> float:
    with source.open("rb") as stdin, out.open("wb") as stdout:
        start = time.perf_counter()
        subprocess.run(argv, stdin=stdin, stdout=stdout, stderr=subprocess.DEVNULL, check=True)
        return time.perf_counter() - start


def in_process(maps: dict[str, Any], source: Path) -> float:
    from dativo_protocol.runner.mapper import StreamMapper

    mapper = StreamMapper({"stream_maps": maps})
    sink: list[bytes] = []
    with source.open("rb") as fh:
        start = time.perf_counter()
        mapper.run(fh, sink.append, lambda: None)
        return time.perf_counter() - start


def records(path: Path) -> list[Any]:
    with path.open("rb") as fh:
        return [m["record"] for m in map(orjson.loads, fh) if m.get("type") == "RECORD"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()

    generate: Any = importlib.import_module("generate")
    peers: Any = importlib.import_module("tests.fixtures.peers")
    source = generate.ensure_input(args.records).jsonl
    peer_bin = peers.install_peer("map-transform", PEER)
    ours_bin = Path(sys.executable).parent / "dativo"

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for case, maps in CASES.items():
            config = work / f"{case}.json"
            config.write_bytes(orjson.dumps({"stream_maps": maps, "stream_map_config": {}}))
            ours_out, peer_out = work / f"{case}-ours.jsonl", work / f"{case}-peer.jsonl"
            ours = min(
                run([str(ours_bin), "map", "--config", str(config)], source, ours_out)
                for _ in range(args.repeat)
            )
            peer = min(
                run(
                    [str(peer_bin / "meltano-map-transform"), "--config", str(config)],
                    source,
                    peer_out,
                )
                for _ in range(args.repeat)
            )
            n = args.records
            inproc = min(in_process(maps, source) for _ in range(args.repeat))
            print(
                f"{case:12s} StreamMapper.run      {inproc:7.2f} s  {n / inproc:10,.0f} rec/s  (in process, no start-up)"
            )
            print(f"{case:12s} dativo map            {ours:7.2f} s  {n / ours:10,.0f} rec/s")
            print(f"{case:12s} meltano-map-transform {peer:7.2f} s  {n / peer:10,.0f} rec/s")
            same = "n/a"
            if case == "transform":
                same = "yes" if records(ours_out) == records(peer_out) else "NO"
            print(
                f"RESULT {case}: dativo map is {peer / ours:.1f}x meltano-map-transform (same records: {same})"
            )
            os.remove(ours_out)
            os.remove(peer_out)


if __name__ == "__main__":
    main()
