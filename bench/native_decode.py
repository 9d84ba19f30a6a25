"""The native decoder vs pyarrow.json vs a bare orjson loop, on the same buffer in memory.

    python bench/native_decode.py --records 100000 [--repeat 3] [--freeform]

The standard input (bench/generate.py) without its SCHEMA line, read into memory once, then
(best of ``--repeat``, wall and CPU seconds):

- ``orjson loop``: ``for line in buf.splitlines(): orjson.loads(line)``, the parse floor the
  target-parquet goal is measured against (no Arrow at all);
- ``pyarrow.json``: the kit's previous fast path (``fast_records`` with the native decoder
  off): read_json on 4 MiB blocks, threads, type checks and conversion to the stream schema;
- ``native 1 thread`` / ``native 2 threads``: ``dativo_targets.kit.native.decode`` (the kit's
  fast path now), JSON to Arrow batches of the stream schema, split at a newline into two parts
  decoded on two threads or not split;

and each one's ratio to the orjson loop (time of the loop / time of the path: > 1 is faster).

``--freeform`` declares ``meta`` a free-form object (stored as JSON text): pyarrow.json cannot
read such a stream, so its case is replaced by ``row path`` (orjson per line and
``rows_to_batch`` per 50,000 records, as the kit's line path does), the path such streams took
before the native decoder read free-form fields.
"""

from __future__ import annotations

import argparse
import resource
import time
from collections.abc import Callable

import orjson
from dativo_targets.kit import native
from dativo_targets.kit.decode import fast_records, rows_to_batch
from dativo_targets.kit.loop import ROW_BATCH
from dativo_targets.kit.streams import build_stream
from generate import SCHEMA, STREAM, ensure_input


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def timed(fn: Callable[[], int], repeat: int) -> tuple[float, float, int]:
    best = (float("inf"), 0.0, 0)
    for _ in range(repeat):
        w, c = time.perf_counter(), _cpu()
        n = fn()
        best = min(best, (time.perf_counter() - w, _cpu() - c, n))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--freeform", action="store_true", help="meta as a free-form object")
    args = parser.parse_args()
    path = ensure_input(args.records).jsonl
    data = path.read_bytes()
    data = data[data.index(b"\n") + 1 :]  # the SCHEMA line
    lines = data.count(b"\n")
    schema = SCHEMA
    if args.freeform:
        meta = {"meta": {"type": ["object", "null"]}}
        schema = {**SCHEMA, "properties": {**SCHEMA["properties"], **meta}}
    st = build_stream(STREAM, schema, ("id",), (), "fast")
    assert st.native is not None, "dativo_native is not installed (make install-dev)"
    decoder = st.native

    def orjson_loop() -> int:
        loads = orjson.loads
        n = 0
        for line in data.splitlines():
            loads(line)
            n += 1
        return n

    def pyarrow_json() -> int:
        st.native = None
        try:
            run = fast_records(data, lines, st)
        finally:
            st.native = decoder
        assert run is not None
        return sum(b.num_rows for b in run.batches)

    def native_run(split: int) -> Callable[[], int]:
        def go() -> int:
            run = native.decode(decoder, data, lines, STREAM, split)
            assert run is not None, "the native decoder rejected the benchmark input"
            return sum(b.num_rows for b in run.batches)

        return go

    def row_path() -> int:
        loads = orjson.loads
        n, rows = 0, []
        for line in data.splitlines():
            msg = loads(line)
            if msg["type"] == "RECORD":
                rows.append(msg["record"])
            if len(rows) == ROW_BATCH:
                n += rows_to_batch(rows, st, range(len(rows))).num_rows
                rows.clear()
        return n + (rows_to_batch(rows, st, range(len(rows))).num_rows if rows else 0)

    cases = {
        "orjson loop": orjson_loop,
        **({"row path": row_path} if args.freeform else {"pyarrow.json": pyarrow_json}),
        "native 1 thread": native_run(len(data) + 1),
        "native 2 threads": native_run(1),
    }
    print(f"{lines:,} lines, {len(data) / 2**20:.0f} MiB, best of {args.repeat}")
    results = {name: timed(fn, args.repeat) for name, fn in cases.items()}
    floor = results["orjson loop"][0]
    for name, (wall, cpu, n) in results.items():
        print(
            f"{name:18} {wall:7.3f} s wall {cpu:7.3f} s cpu {n / wall:>12,.0f} rec/s "
            f"{floor / wall:6.2f}x the orjson loop"
        )


if __name__ == "__main__":
    main()
