"""target-parquet vs a bare orjson parse loop vs singer-sdk targets, on the same input.

    python bench/target_parquet.py --records 100000 [--skip-peers] [--validation fast]
    python bench/target_parquet.py --records 100000 --skip-peers --freeform

Every contender runs as its own process with the standard input (bench/generate.py) on stdin,
as in ``tap | target``; wall time includes process start-up. Prints records/s, ratios and peak
RSS, and checks the goals of issue 3: target-parquet >= 0.9x the orjson loop, >= 30x
meltanolabs-target-csv (default settings), peak RSS < 1 GB.

- ``orjson loop``: ``for line in sys.stdin.buffer: orjson.loads(line)`` in a fresh interpreter;
- ``target-parquet``: this repository's console script (zstd Parquet on local disk);
- ``meltanolabs-target-csv`` and ``target-jsonl``: from PyPI, each in its own cached venv
  (tests/fixtures/peers.py ``install_peer``).

``--freeform``: the same records, but the SCHEMA declares ``meta`` as a free-form object
(``{"type": ["object", "null"]}``: stored as JSON text), as many real taps do; adds
``target-parquet (no native)``, the same script with ``DATIVO_NATIVE=0``: the row path, which
is what such a stream took before the native decoder read free-form fields.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import orjson
from generate import ensure_input

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.fixtures.peers import install_peer  # noqa: E402

PEERS = {
    "meltanolabs-target-csv": (["meltanolabs-target-csv==0.5.0"], "target-csv", "output_path"),
    "target-jsonl": (["target-jsonl==0.1.4"], "target-jsonl", "destination_path"),
}
ORJSON_LOOP = "import sys, orjson\nfor line in sys.stdin.buffer:\n    orjson.loads(line)\n"


@dataclass(frozen=True)
class Result:
    name: str
    seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    states_out: int


def run(
    name: str, cmd: list[str], src: Path, cwd: Path, env: dict[str, str] | None = None
) -> Result:
    with open(src, "rb") as stdin, tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        full_env = {**os.environ, **(env or {})}
        proc = subprocess.Popen(cmd, stdin=stdin, stdout=out, stderr=err, cwd=cwd, env=full_env)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            tail = err.read()[-2000:].decode(errors="replace")
            raise SystemExit(f"{name} failed with exit {proc.returncode}:\n{tail}")
        out.seek(0)
        states = sum(1 for line in out if line.strip())
    return Result(name, elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, states)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--skip-peers", action="store_true", help="only ours and the orjson loop")
    parser.add_argument("--validation", default="fast", choices=["off", "fast", "strict"])
    parser.add_argument(
        "--freeform", action="store_true", help="meta as a free-form object (JSON text column)"
    )
    args = parser.parse_args()
    src = ensure_input(args.records).jsonl
    if args.freeform:
        src = freeform_input(src)
    size = src.stat().st_size / 1e6
    print(f"input: {src.name} ({args.records} records, {size:.1f} MB), cpus={os.cpu_count()}")
    work = Path(tempfile.mkdtemp(prefix="bench-target-parquet-"))
    results: list[Result] = []
    try:
        py = sys.executable
        results.append(run("orjson loop", [py, "-c", ORJSON_LOOP], src, work))
        ours = str(Path(py).parent / "target-parquet")
        variants: list[tuple[str, dict[str, str]]] = [("target-parquet", {})]
        if args.freeform:
            variants.append(("target-parquet (no native)", {"DATIVO_NATIVE": "0"}))
        for name, env in variants:
            config = work / f"{len(results)}.json"
            dest = work / f"parquet-{len(results)}"
            config.write_bytes(
                orjson.dumps({"destination_path": str(dest), "validation": args.validation})
            )
            results.append(run(name, [ours, "--config", str(config)], src, work, env))
            rows = _count_rows(dest)
            if rows != args.records:
                raise SystemExit(f"{name} wrote {rows} rows, expected {args.records}")
        if not args.skip_peers:
            for name, (specs, exe, key) in PEERS.items():
                bin_dir = install_peer(name, specs)
                out_dir = work / name
                out_dir.mkdir()
                cfg = work / f"{name}.json"
                cfg.write_bytes(orjson.dumps({key: str(out_dir)}))
                results.append(run(name, [str(bin_dir / exe), "--config", str(cfg)], src, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(results, args.records)


def freeform_input(standard: Path) -> Path:
    """The standard input with ``meta`` declared free-form (cached next to it)."""
    path = standard.with_name(standard.stem + "-freeform.jsonl")
    if not path.exists():
        with open(standard, "rb") as src:
            head = orjson.loads(src.readline())
            head["schema"]["properties"]["meta"] = {"type": ["object", "null"]}
            tmp = path.with_suffix(f".tmp{os.getpid()}")
            with open(tmp, "wb") as out:
                out.write(orjson.dumps(head) + b"\n")
                shutil.copyfileobj(src, out)
            tmp.replace(path)
    return path


def _count_rows(dest: Path) -> int:
    import pyarrow.parquet as pq

    return sum(pq.read_metadata(p).num_rows for p in dest.rglob("*.parquet"))


def report(results: list[Result], records: int) -> None:
    by = {r.name: r for r in results}
    ours = by["target-parquet"]
    print(
        f"{'':26}{'seconds':>9}{'records/s':>12}{'cpu s':>8}{'peak RSS MB':>13}"
        f"{'STATE out':>11}{'x/ours':>9}"
    )
    for r in results:
        ratio = r.seconds / ours.seconds
        print(
            f"{r.name:26}{r.seconds:9.2f}{records / r.seconds:12,.0f}{r.cpu_seconds:8.2f}"
            f"{r.peak_rss_mb:13.0f}{r.states_out:11}{ratio:9.2f}"
        )
    floor = by["orjson loop"].seconds / ours.seconds
    print(f"target-parquet / orjson loop: {floor:.2f}x (goal >= 0.9)")
    pure = by.get("target-parquet (no native)")
    if pure is not None:
        print(
            f"target-parquet / its row path (DATIVO_NATIVE=0): {pure.seconds / ours.seconds:.1f}x"
            f" wall, {pure.cpu_seconds / ours.cpu_seconds:.1f}x cpu"
        )
    if "meltanolabs-target-csv" in by:
        csv = by["meltanolabs-target-csv"].seconds / ours.seconds
        print(f"target-parquet / meltanolabs-target-csv: {csv:.1f}x (goal >= 30)")
    if "target-jsonl" in by:
        print(f"target-parquet / target-jsonl: {by['target-jsonl'].seconds / ours.seconds:.1f}x")
    print(f"target-parquet peak RSS: {ours.peak_rss_mb:.0f} MB (goal < 1024)")


if __name__ == "__main__":
    main()
