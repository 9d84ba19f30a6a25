"""What one refused line costs: the kit's loop with the native decoder stopping at that line
(the lines before it stay native, the line alone takes the line path, the decoder goes on)
against the previous behaviour (the whole piece to pyarrow.json, grouped, then line by line).

    python bench/native_stops.py --records 100000 [--odd-every 20000] [--freeform] [--repeat 3]

The standard input (bench/generate.py) with every ``--odd-every``-th record's ``amount``
written as ``-0``: the row path reads it (the integer 0, then 0.0), the native decoder refuses
it (serde reads ``-0`` as -0.0, so it cannot tell). ``--freeform`` declares ``meta`` free-form
(JSON text), a stream pyarrow.json cannot read: there the previous behaviour is the row path.
Runs ``run_target`` in this process with a sink that drops the batches (no Parquet encoding):
``stops`` (the kit now, at most ``loop.MAX_STOPS`` stops per block), ``whole piece``
(``MAX_STOPS = 0``: what a refused line did before) and the bare orjson loop; best of
``--repeat``, CPU seconds, and the ratios.
"""

from __future__ import annotations

import argparse
import io
import resource
import time
from collections.abc import Callable, Mapping
from typing import Any

import orjson
import pyarrow as pa
from dativo_targets.kit import loop
from dativo_targets.kit.settings import KitSettings
from dativo_targets.kit.sink import StreamSchema
from generate import ensure_input


class DropSink:
    """Counts rows, keeps nothing."""

    def __init__(self) -> None:
        self.rows = 0

    def open_stream(self, stream: str, schema: StreamSchema) -> None:
        pass

    def write(self, stream: str, batch: pa.RecordBatch) -> None:
        self.rows += batch.num_rows

    def activate_version(self, stream: str, version: int) -> None:
        pass

    def commit(self, state: Mapping[str, Any] | None) -> None:
        pass

    def abort(self) -> None:
        pass

    def close(self) -> None:
        pass


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def odd_input(records: int, every: int, freeform: bool) -> bytes:
    lines = ensure_input(records).jsonl.read_bytes().split(b"\n")
    head = orjson.loads(lines[0])
    if freeform:
        head["schema"]["properties"]["meta"] = {"type": ["object", "null"]}
    lines[0] = orjson.dumps(head)
    n = 0
    for i, text in enumerate(lines):
        if text.startswith(b'{"type":"RECORD"'):
            n += 1
            if n % every == 0:
                msg = orjson.loads(text)
                msg["record"]["amount"] = 0
                lines[i] = orjson.dumps(msg).replace(b'"amount":0,', b'"amount":-0,')
    return b"\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--odd-every", type=int, default=20_000)
    parser.add_argument("--freeform", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = odd_input(args.records, args.odd_every, args.freeform)

    def target(stops: int) -> Callable[[], int]:
        def go() -> int:
            loop.MAX_STOPS = stops
            sink = DropSink()
            loop.run_target(io.BytesIO(data), io.BytesIO(), sink, KitSettings())
            return sink.rows

        return go

    def orjson_loop() -> int:
        for line in data.splitlines():
            orjson.loads(line)
        return int(args.records)

    default = loop.MAX_STOPS
    cases = {"orjson loop": orjson_loop, "stops": target(default), "whole piece": target(0)}
    best: dict[str, tuple[float, float]] = {}
    for _ in range(args.repeat):  # rounds interleave the cases: a load change hits all alike
        for name, fn in cases.items():
            w, c = time.perf_counter(), _cpu()
            rows = fn()
            assert rows == args.records, (name, rows)
            wall, cpu = time.perf_counter() - w, _cpu() - c
            best[name] = min(best.get(name, (wall, cpu)), (wall, cpu), key=lambda x: x[1])
    loop.MAX_STOPS = default
    odd = args.records // args.odd_every
    print(f"{args.records:,} records, {odd} refused lines, {len(data) / 2**20:.0f} MiB")
    for name, (wall, cpu) in best.items():
        print(f"{name:12} {wall:7.3f} s wall {cpu:7.3f} s cpu")
    floor, stops, whole = best["orjson loop"][1], best["stops"][1], best["whole piece"][1]
    print(
        f"stops / whole piece: {whole / stops:.2f}x cpu; orjson loop / stops: {floor / stops:.2f}x"
    )


if __name__ == "__main__":
    main()
