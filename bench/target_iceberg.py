"""target-iceberg throughput (append, upsert), against target-parquet and PyIceberg's upsert.

    python bench/target_iceberg.py                       # the standard 1M records, checkpoint 100k
    python bench/target_iceberg.py --records 100000 --checkpoint 10000 --commits 20   # dev size
    python bench/target_iceberg.py --parts latency --clock cpu     # one part; CPU time of the target

Prints, on the standard input of ``bench/generate.py``:

1. records/s of ``target-parquet`` and ``target-iceberg`` (append-only) on the same input, and the
   ratio (goal >= 0.8);
2. records/s of ``target-iceberg`` with ``load_method: upsert`` on the same input where 10% of
   the records update a key of an earlier checkpoint, and the ratio to append (goal >= 0.3);
3. the merge alone, in process, on the same Arrow batches: ours vs PyIceberg's
   ``Table.upsert`` (capped by ``--peer-records``, PyIceberg is slow), and the ratio;
4. commit latency and metadata.json size per commit over ``--commits`` checkpoints (from the
   target's log), with the last commit's latency against the 10th (goal <= 2x);
5. (``--parts floor``) target-parquet alone, and beside a process doing only PyIceberg's share
   of a run (import, catalog, table, one commit per checkpoint: ``_pyiceberg_work.py``): on
   this machine, the best any design that uses PyIceberg can do against target-parquet.

Everything runs the real console scripts from this environment on a local SQLite catalog.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from generate import DATA, SCHEMA, STREAM, ensure_input, record

BIN = Path(sys.executable).parent
UPDATE_SHARE = 10  # every 10th record updates an earlier key
_COMMIT_LINE = re.compile(rb"committed (\d+) rows to \S+ in (\d+) ms .*metadata (-?\d+) bytes")


# ------------------------------------------------------------------------------------ inputs
def upsert_messages(n: int, checkpoint: int) -> Iterator[dict[str, Any]]:
    """The standard stream, except every 10th record after the first checkpoint re-uses an
    earlier key (a deterministic one from an earlier checkpoint) with changed values."""
    yield {"type": "SCHEMA", "stream": STREAM, "schema": SCHEMA, "key_properties": ["id"]}
    for i in range(1, n + 1):
        rec = record(i)
        if i > checkpoint and i % UPDATE_SHARE == 0:
            earlier = (i // checkpoint) * checkpoint  # keys of earlier checkpoints: 1..earlier
            rec["id"] = (i * 7919) % earlier + 1
            rec["note"] = f"updated by {i}"
        yield {"type": "RECORD", "stream": STREAM, "record": rec}
        if i % 10_000 == 0 or i == n:
            yield {"type": "STATE", "value": {"bookmarks": {STREAM: {"id": i}}}}


def ensure_upsert_input(n: int, checkpoint: int) -> Path:
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"bench-upsert-{n}-{checkpoint}.jsonl"
    if not path.exists():
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        with open(tmp, "wb") as out:
            for msg in upsert_messages(n, checkpoint):
                out.write(orjson.dumps(msg, option=orjson.OPT_APPEND_NEWLINE))
        tmp.replace(path)
    return path


# --------------------------------------------------------------------------------- running
@dataclass(frozen=True)
class Timing:
    wall: float
    cpu: float  # user + system seconds of the target process (all its threads)

    def get(self, clock: str) -> float:
        return self.wall if clock == "wall" else self.cpu


def run_target(
    script: str, config: dict[str, Any], source: Path, workdir: Path
) -> tuple[Timing, bytes]:
    """Run a console script on ``source``; returns (timing, stderr). Fails loudly on error."""
    cfg = workdir / f"{script}.json"
    cfg.write_bytes(orjson.dumps(config))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with open(source, "rb") as stdin:
        proc = subprocess.run(
            [str(BIN / script), "--config", str(cfg)],
            stdin=stdin,
            capture_output=True,
            check=False,
        )
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        sys.stderr.buffer.write(proc.stderr[-4000:])
        raise SystemExit(f"{script} failed with exit code {proc.returncode}")
    if not proc.stdout.strip():
        raise SystemExit(f"{script} emitted no STATE")
    return Timing(elapsed, cpu), proc.stderr


def kit_config(checkpoint: int) -> dict[str, Any]:
    """Checkpoint every ``checkpoint`` records. The kit commits at input-chunk boundaries, so
    chunks are sized to ~1/8 of a checkpoint (about 400 bytes per record), 1-16 MiB."""
    chunk = min(16 << 20, max(1 << 20, checkpoint * 400 // 8))
    return {
        "flush_max_rows": checkpoint,
        "flush_max_bytes": 1 << 40,
        "flush_interval_seconds": 3600,
        "read_chunk_bytes": chunk,
        "log_level": "INFO",
        "metrics": False,
    }


def iceberg_config(workdir: Path, name: str, checkpoint: int, **extra: Any) -> dict[str, Any]:
    return {"warehouse": str(workdir / name), **kit_config(checkpoint), **extra}


def commit_log(stderr: bytes) -> list[tuple[int, int, int]]:
    """(rows, ms, metadata bytes) of every commit the target logged."""
    return [(int(m[1]), int(m[2]), int(m[3])) for m in _COMMIT_LINE.finditer(stderr)]


# ------------------------------------------------------------------------- merge vs PyIceberg
def merge_vs_pyiceberg(
    append_warehouse: Path, workdir: Path, records: int, checkpoint: int
) -> None:
    """Our merge and PyIceberg's ``Table.upsert`` on the same Arrow batches, in process."""
    import pyarrow as pa
    import pyarrow.compute as pc
    from dativo_targets.iceberg.catalog import open_catalog
    from dativo_targets.iceberg.merge import dedupe_last
    from dativo_targets.iceberg.settings import IcebergSettings
    from pyiceberg.catalog.sql import SqlCatalog

    source = open_catalog(IcebergSettings.from_config({"warehouse": str(append_warehouse)}))
    data = source.load_table(("singer", STREAM)).scan(limit=records).to_arrow()
    data = data.sort_by("id")
    batches = []
    for start in range(0, data.num_rows, checkpoint):
        chunk = data.slice(start, checkpoint)
        if start:
            ids = chunk.column("id").to_pylist()
            ids = [
                (i * 7919) % start + 1 if n % UPDATE_SHARE == 9 else i for n, i in enumerate(ids)
            ]
            chunk = chunk.set_column(0, "id", pa.array(ids, pa.int64()))
        batches.append(dedupe_last(chunk, ["id"]))

    results = {}
    for who in ("dativo", "pyiceberg"):
        wh = workdir / f"merge-{who}"
        wh.mkdir()
        catalog = SqlCatalog(who, uri=f"sqlite:///{wh / 'catalog.db'}", warehouse=wh.as_uri())
        catalog.create_namespace("ns")
        schema = data.schema
        fields = [pa.field(f.name, f.type, nullable=f.name != "id") for f in schema]
        table = catalog.create_table(("ns", "t"), schema=pa.schema(fields))
        with table.update_schema() as update:
            update.set_identifier_fields("id")
        started = time.perf_counter()
        for batch in batches:
            batch = batch.cast(table.schema().as_arrow())
            if who == "pyiceberg":
                table.upsert(batch, join_cols=["id"])
            else:
                _our_merge(table, batch)
            table = table.refresh()
        elapsed = time.perf_counter() - started
        rows = table.scan().to_arrow()
        assert rows.num_rows == pc.count_distinct(rows.column("id")).as_py(), "duplicate keys"
        results[who] = (elapsed, rows.num_rows)
    total = sum(b.num_rows for b in batches)
    ours, peer = results["dativo"][0], results["pyiceberg"][0]
    print(f"merge only, {total:,} rows in {len(batches)} checkpoints (in process, same batches):")
    print(f"  dativo merge        {total / ours:>12,.0f} rows/s  ({ours:.2f} s)")
    print(f"  PyIceberg upsert    {total / peer:>12,.0f} rows/s  ({peer:.2f} s)")
    print(f"  ratio dativo / PyIceberg: {peer / ours:.1f}x")


def _our_merge(table: Any, batch: Any) -> None:
    from dativo_targets.iceberg.files import commit_files
    from dativo_targets.iceberg.merge import merge_changes
    from dativo_targets.iceberg.txn import MemoTransaction

    txn = MemoTransaction(table)
    changes = merge_changes(table, batch, ["id"])
    commit_files(txn, changes, {})
    txn.commit_transaction()


# -------------------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--checkpoint", type=int, default=100_000)
    parser.add_argument("--commits", type=int, default=100, help="checkpoints of the latency run")
    parser.add_argument(
        "--peer-records", type=int, default=200_000, help="cap for PyIceberg's upsert (slow)"
    )
    parser.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="rates from wall time, or from the target's CPU time (shared machines)",
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of each throughput target; the fastest counts"
    )
    parser.add_argument(
        "--parts",
        default="throughput,merge,latency",
        help="comma-separated subset of: throughput, merge, latency, floor (not by default)",
    )
    args = parser.parse_args()
    n, checkpoint, clock = args.records, args.checkpoint, args.clock
    parts = set(args.parts.split(","))

    standard = ensure_input(n).jsonl
    workdir = Path(tempfile.mkdtemp(prefix="bench-iceberg-"))
    try:
        if "throughput" in parts or "merge" in parts:
            show = "throughput" in parts
            throughput(n, checkpoint, clock, standard, workdir, show, args.repeat)
        if "merge" in parts:
            merge_vs_pyiceberg(workdir / "append", workdir, min(n, args.peer_records), checkpoint)
        if "latency" in parts:
            per_commit = max(1, n // args.commits)
            _, latency_log = run_target(
                "target-iceberg", iceberg_config(workdir, "latency", per_commit), standard, workdir
            )
            report_latency(commit_log(latency_log), per_commit)
        if "floor" in parts:
            floor(n, checkpoint, standard, workdir, args.repeat)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def best_of(
    repeat: int, clock: str, script: str, config: dict[str, Any], source: Path, workdir: Path
) -> tuple[Timing, bytes]:
    """The fastest of ``repeat`` runs, each on a fresh destination."""
    best: tuple[Timing, bytes] | None = None
    for _ in range(repeat):
        for key in ("warehouse", "destination_path"):
            if key in config:
                shutil.rmtree(config[key], ignore_errors=True)
        run = run_target(script, config, source, workdir)
        if best is None or run[0].get(clock) < best[0].get(clock):
            best = run
    assert best is not None
    return best


def startup_input(workdir: Path, standard: Path) -> Path:
    """The standard input's SCHEMA and first RECORD, then a STATE: a run that is all start-up."""
    with open(standard, "rb") as src:
        head = src.readline() + src.readline()
    path = workdir / "one-record.jsonl"
    path.write_bytes(head + b'{"type":"STATE","value":{"bookmarks":{}}}\n')
    return path


def throughput(
    n: int, checkpoint: int, clock: str, standard: Path, workdir: Path, show: bool, repeat: int
) -> None:
    """target-parquet, target-iceberg append and upsert on the same input (leaves the append
    warehouse in ``workdir / "append"`` for the merge comparison)."""
    append_cfg = iceberg_config(workdir, "append", checkpoint)
    t_append, append_log = best_of(repeat, clock, "target-iceberg", append_cfg, standard, workdir)
    if not show:
        return
    upserts = ensure_upsert_input(n, checkpoint)
    parquet_cfg = {"destination_path": str(workdir / "parquet"), **kit_config(checkpoint)}
    t_parquet, _ = best_of(repeat, clock, "target-parquet", parquet_cfg, standard, workdir)
    upsert_cfg = iceberg_config(workdir, "upsert", checkpoint, load_method="upsert")
    t_upsert, upsert_log = best_of(repeat, clock, "target-iceberg", upsert_cfg, upserts, workdir)
    one = startup_input(workdir, standard)
    start_cfgs = {
        "target-parquet": {"destination_path": str(workdir / "start-parquet")},
        "target-iceberg": {"warehouse": str(workdir / "start-iceberg")},
    }
    start = {
        script: best_of(max(3, repeat), clock, script, cfg, one, workdir)[0]
        for script, cfg in start_cfgs.items()
    }
    print(f"input: {n:,} records, a checkpoint every {checkpoint:,} records; {clock} clock")
    for label, timing in (
        ("target-parquet", t_parquet),
        ("target-iceberg append", t_append),
        ("target-iceberg upsert", t_upsert),
    ):
        secs = timing.get(clock)
        print(
            f"  {label:<24}{n / secs:>10,.0f} rec/s  "
            f"({timing.wall:.2f} s wall, {timing.cpu:.2f} s cpu)"
        )
    print("  (upsert input: every 10th record after the first checkpoint updates an earlier key)")
    ratio_append = t_parquet.get(clock) / t_append.get(clock)
    ratio_upsert = t_append.get(clock) / t_upsert.get(clock)
    print(f"  ratio append / parquet: {ratio_append:.2f}  (goal >= 0.8)")
    print(f"  ratio upsert / append:  {ratio_upsert:.2f}  (goal >= 0.3)")
    s_parquet, s_iceberg = start["target-parquet"], start["target-iceberg"]
    print(
        f"  start-up (one record, new table): target-parquet {s_parquet.wall:.2f} s wall "
        f"({s_parquet.cpu:.2f} s cpu), target-iceberg {s_iceberg.wall:.2f} s wall "
        f"({s_iceberg.cpu:.2f} s cpu)"
    )
    print(f"  append commits (ms): {[ms for _, ms, _ in commit_log(append_log)]}")
    print(f"  upsert commits (ms): {[ms for _, ms, _ in commit_log(upsert_log)]}")


def floor(n: int, checkpoint: int, standard: Path, workdir: Path, repeat: int) -> None:
    """target-parquet alone, then beside ``_pyiceberg_work.py`` started at the same moment."""
    config = {"destination_path": str(workdir / "floor-parquet"), **kit_config(checkpoint)}
    commits = max(1, n // checkpoint)
    alone, beside, work = [], [], []
    for i in range(max(2, repeat)):
        alone.append(run_target("target-parquet", config, standard, workdir)[0].wall)
        shutil.rmtree(config["destination_path"], ignore_errors=True)
        started = time.perf_counter()
        helper = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("_pyiceberg_work.py")),
             str(workdir / f"floor-{i}"), str(commits)]
        )  # fmt: skip
        beside.append(run_target("target-parquet", config, standard, workdir)[0].wall)
        if helper.wait() != 0:
            raise SystemExit("_pyiceberg_work.py failed")
        work.append(time.perf_counter() - started)
        shutil.rmtree(config["destination_path"], ignore_errors=True)
    best_alone, best_beside = min(alone), min(beside)
    print(f"floor: {n:,} records; PyIceberg's share ({commits} commits) in a separate process")
    print(f"  target-parquet alone               {best_alone:.2f} s")
    print(
        f"  target-parquet beside it           {best_beside:.2f} s "
        f"(both processes done after {min(work):.2f} s)"
    )
    end = max(best_beside, min(work))
    print(f"  best possible append / parquet:    {best_alone / end:.2f}  (goal >= 0.8)")


def report_latency(commits: list[tuple[int, int, int]], per_commit: int) -> None:
    print(f"{len(commits)} commits of ~{per_commit:,} records (append):")
    if len(commits) < 10:
        print("  fewer than 10 commits: raise --records or --commits")
        return
    ms = [c[1] for c in commits]
    for i in sorted({0, 9, len(commits) // 2, len(commits) - 1}):
        _rows, lat, meta = commits[i]
        print(f"  commit {i + 1:>4}: {lat:>5} ms, metadata.json {meta:>8,} bytes")
    early = statistics.median(ms[5:15])
    late = statistics.median(ms[-10:])
    print(
        f"  median of commits 6-15: {early:.0f} ms; of the last 10: {late:.0f} ms; "
        f"ratio {late / early:.2f}  (goal <= 2)"
    )


if __name__ == "__main__":
    main()
