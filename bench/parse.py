"""Reading a Singer stream: dativo's reader vs a bare orjson loop vs singer-sdk's reader.

    python bench/parse.py --records 100000 [--repeat 3]

Same input for everyone (bench/generate.py, cached in bench/data/). Prints records/s for:

- ``orjson loop``: ``for line in f: orjson.loads(line)``, the parse floor;
- ``dativo MessageReader``: dativo_protocol.jsonl.MessageReader (line numbers, type checks,
  upper-cased types, size limit, truncation detection);
- ``dativo validate (lib)``: validate_stream in-process (the reader + envelope, schema and key
  checks for every record);
- ``dativo validate (cli)``: the ``dativo validate FILE`` console script, wall time including
  process start-up;
- ``singer-sdk reader``: SimpleSingerReader.process_lines, the path an SDK target reads messages
  with, with no-op handlers (no sink work, no record validation);
- ``singer-sdk reader+valid.``: the same plus the per-record JSON Schema validation an SDK sink
  does by default (JSONSchemaValidator, formats not checked), to compare with ``dativo validate``;

and the ratios against the orjson loop and against singer-sdk. Best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from generate import ensure_input

from dativo_protocol.jsonl import MessageReader
from dativo_protocol.validate import validate_stream


def bare_loop(path: Path) -> int:
    n = 0
    loads = orjson.loads
    with open(path, "rb") as f:
        for line in f:
            loads(line)
            n += 1
    return n


def dativo_reader(path: Path) -> int:
    n = 0
    with open(path, "rb") as f:
        for _msg in MessageReader(f):
            n += 1
    return n


def dativo_validate_lib(path: Path) -> int:
    with open(path, "rb") as f:
        report = validate_stream(f)
    if not report.ok:
        raise SystemExit(f"benchmark input is invalid: {report.violations[0].error}")
    return report.messages


def dativo_validate_cli(path: Path) -> int:
    exe = Path(sys.executable).parent / "dativo"
    res = subprocess.run([str(exe), "validate", str(path)], capture_output=True, check=False)
    if res.returncode != 0:
        raise SystemExit(f"dativo validate failed: {res.stderr.decode(errors='replace')}")
    return int(res.stdout.split()[3])  # "valid: L lines, M messages, ..."


def sdk_reader(path: Path) -> int:
    from singer_sdk.io_base import SingerMessageType, SingerReader

    class NoOpReader(SingerReader):
        """The SDK's message reading path with handlers that do nothing."""

    def ignore(_msg: dict[Any, Any]) -> None:
        return None

    callbacks: dict[str, Callable[[dict[Any, Any]], None]] = {
        kind.value: ignore for kind in SingerMessageType
    }
    with open(path, encoding="utf-8") as f:
        stats = NoOpReader().process_lines(f, callbacks)
    return sum(stats.values())


def sdk_reader_validating(path: Path) -> int:
    """The SDK reader plus the record validation an SDK sink does by default (formats off)."""
    from singer_sdk.io_base import SingerReader
    from singer_sdk.sinks.core import JSONSchemaValidator

    validators: dict[str, JSONSchemaValidator] = {}

    def on_schema(msg: dict[Any, Any]) -> None:
        validators[msg["stream"]] = JSONSchemaValidator(msg["schema"])

    def on_record(msg: dict[Any, Any]) -> None:
        validators[msg["stream"]].validate(msg["record"])

    def ignore(_msg: dict[Any, Any]) -> None:
        return None

    callbacks: dict[str, Callable[[dict[Any, Any]], None]] = {
        "SCHEMA": on_schema,
        "RECORD": on_record,
        "STATE": ignore,
    }
    with open(path, encoding="utf-8") as f:
        stats = SingerReader().process_lines(f, callbacks)
    return sum(stats.values())


CASES: list[tuple[str, Callable[[Path], int]]] = [
    ("orjson loop", bare_loop),
    ("dativo MessageReader", dativo_reader),
    ("dativo validate (lib)", dativo_validate_lib),
    ("dativo validate (cli)", dativo_validate_cli),
    ("singer-sdk reader", sdk_reader),
    ("singer-sdk reader+valid.", sdk_reader_validating),
]


#: cases run in the first round only (about 10k records/s: 1M records take minutes)
SLOW_CASES = frozenset({"singer-sdk reader+valid."})


def run_once(func: Callable[[Path], int], path: Path, clock: str) -> float:
    """Seconds for one run: wall time, or CPU time of this process and its children."""
    if clock == "wall":
        start = time.perf_counter()
        func(path)
        return time.perf_counter() - start
    cpu, children = time.process_time(), os.times()
    func(path)
    after = os.times()
    child_cpu = (after.children_user + after.children_system) - (
        children.children_user + children.children_system
    )
    return time.process_time() - cpu + child_cpu


def best_rates(
    cases: list[tuple[str, Callable[[Path], int]]],
    path: Path,
    records: int,
    repeat: int,
    clock: str,
) -> dict[str, float]:
    """Best records/s per case; rounds interleave the cases so load changes hit all alike."""
    best: dict[str, float] = {}
    for round_no in range(repeat):
        for name, func in cases:
            if round_no and name in SLOW_CASES:
                continue  # an order of magnitude slower: one round says enough
            rate = records / run_once(func, path, clock)
            best[name] = max(best.get(name, 0.0), rate)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description="dativo reader vs orjson loop vs singer-sdk")
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-sdk", action="store_true", help="do not run singer-sdk")
    parser.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="wall time (default) or CPU time (steadier on a busy machine)",
    )
    args = parser.parse_args()
    inputs = ensure_input(args.records)
    size = inputs.jsonl.stat().st_size / 1e6
    print(
        f"input: {inputs.jsonl} ({args.records} records, {size:.1f} MB), best of {args.repeat} interleaved rounds, {args.clock} clock"
    )
    cases = [c for c in CASES if not (args.skip_sdk and c[0].startswith("singer-sdk"))]
    rates = best_rates(cases, inputs.jsonl, args.records, args.repeat, args.clock)
    floor = rates["orjson loop"]
    sdk = rates.get("singer-sdk reader")
    print(f"{'reader':<26}{'records/s':>12}{'vs orjson':>11}{'vs sdk':>9}")
    for name, rate in rates.items():
        vs_sdk = f"{rate / sdk:>8.1f}x" if sdk else ""
        print(f"{name:<26}{rate:>12,.0f}{rate / floor:>10.1%}{vs_sdk}")
    sdk_valid = rates.get("singer-sdk reader+valid.")
    if sdk_valid:
        print(
            f"RESULT dativo validate (lib) = {rates['dativo validate (lib)'] / sdk_valid:.1f}x "
            "singer-sdk reader+validation"
        )
    print(
        f"RESULT dativo MessageReader = {rates['dativo MessageReader'] / floor:.1%} of the "
        "orjson loop (target >= 80%)"
    )


if __name__ == "__main__":
    main()
