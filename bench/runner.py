"""The runner's overhead over a plain shell pipe, and the state store's cost per STATE.

    .venv/bin/python bench/runner.py                       # 100k records, the null target
    .venv/bin/python bench/runner.py --records 1000000 --target target-parquet
    .venv/bin/python bench/runner.py --relay-only --records 1000000 --repeat 3

Part 1 runs the same tap and target, as ``tap | target`` in a shell and through ``dativo run``
(inline form), interleaved ``--repeat`` times, and prints medians: records/s and the throughput
loss of the tap+target phase (``pipeline_s`` of the run summary: from starting both processes
to reaping them, the same span the shell pipe measures). The runner's fixed cost (interpreter
start, registry, discovery, state read) is printed apart. CPU seconds are printed too (each
command with every process it waited for, and the runner process's own): on a loaded machine
they are steadier than wall time.

Part 2 runs the relay alone (``dativo_protocol.runner.relay.relay`` in this process, between a
``cat`` of the input and a ``cat`` into /dev/null) and prints its thread's CPU time: the
runner's per-byte cost with nothing else in the measurement. ``--relay-only`` runs just this
part; ``--relay-input FILE`` feeds it another Singer file, such as ``generate.py``'s.

Part 3 times ``put`` on each state backend (local folder with fsync, fsspec memory://, and
PostgreSQL when DATIVO_BENCH_PG holds a URL).
"""

from __future__ import annotations

import argparse
import os
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from dativo_protocol import codec
from dativo_protocol.runner.relay import Scan, enlarge_pipe, relay

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent


def make_input(path: Path, records: int, state_every: int, state_column: bool = False) -> None:
    properties: dict[str, object] = {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "amount": {"type": "number"},
        "ts": {"type": "string", "format": "date-time"},
        "tags": {"type": "array", "items": {"type": "string"}},
    }
    if state_column:
        properties["state"] = properties["STATE_CODE"] = {"type": "string"}
    with path.open("wb") as out:
        out.write(
            codec.dumps_line(
                {
                    "type": "SCHEMA",
                    "stream": "bench",
                    "key_properties": ["id"],
                    "schema": {"type": "object", "properties": properties},
                }
            )
        )
        for i in range(1, records + 1):
            rec = {
                "id": i,
                "name": f"customer-{i:08d}",
                "amount": i * 0.25,
                "ts": "2024-05-01T12:00:00Z",
                "tags": ["a", "b"],
            }
            if state_column:  # address data: what a scan for STATE lines must not trip over
                rec["state"] = rec["STATE_CODE"] = "CA"
            out.write(codec.dumps_line({"type": "RECORD", "stream": "bench", "record": rec}))
            if i % state_every == 0 or i == records:
                out.write(
                    codec.dumps_line(
                        {"type": "STATE", "value": {"bookmarks": {"bench": {"id": i}}}}
                    )
                )


_OWN_CPU = """
import atexit, resource, sys
from pathlib import Path
out = Path(sys.argv.pop(1))
def _own() -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out.write_text(str(usage.ru_utime + usage.ru_stime))
atexit.register(_own)
from dativo_protocol.runner.cli import main
sys.exit(main())
"""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float, bytes]:
    """Wall seconds, CPU seconds (the command and every process it waited for), stdout."""
    cpu = _children_cpu()
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"command failed ({proc.returncode}): {argv}\n{proc.stderr.decode()[-2000:]}")
    return elapsed, _children_cpu() - cpu, proc.stdout


def bench_pipe(args: argparse.Namespace, work: Path) -> None:
    data = work / "input.jsonl"
    make_input(data, args.records, args.state_every, args.state_column)
    tap = f"{shlex.quote(sys.executable)} {shlex.quote(str(HERE / '_replay_tap.py'))}"
    target = (
        args.target or f"{shlex.quote(sys.executable)} {shlex.quote(str(HERE / '_null_target.py'))}"
    )
    target_config = work / "target.json"
    target_config.write_bytes(codec.dumps(args.target_config or {}))
    (work / "tap.json").write_bytes(b"{}")
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "DATIVO_BENCH_INPUT": str(data),
    }
    shell = f"{tap} --config {work / 'tap.json'} | {target} --config {shlex.quote(str(target_config))} > /dev/null"

    def dativo(run: int) -> tuple[float, float, float, float]:
        own = work / f"own-cpu-{run}"
        wall, cpu, out = timed(
            # the console script's two lines, plus: write this process's own CPU when it exits
            [sys.executable, "-c", _OWN_CPU, str(own), "run", "--json", "--tap", tap, "--tap-config", str(work / "tap.json"),
             "--target", target, "--target-config", str(target_config),
             "--state-backend", str(work / f"state-{run}"), "--full-refresh"],
            env,
        )  # fmt: skip
        summary = codec.loads(out)["runs"][0]
        if summary["messages"] != args.records + 1 + args.records // args.state_every + (
            args.records % args.state_every > 0
        ):
            sys.exit(f"the runner moved {summary['messages']} messages, not the whole input")
        return wall, cpu, float(summary["pipeline_s"]), float(own.read_text())

    size_mb = data.stat().st_size / 1e6
    print(f"input: {args.records:,} records, {size_mb:,.1f} MB; target: {target.split()[-1]}")
    shell_times, shell_cpus, walls, cpus, pipes, owns = [], [], [], [], [], []
    for run in range(args.repeat):  # interleaved, so machine load hits both sides alike
        wall, cpu, _ = timed(["bash", "-c", shell], env)
        shell_times.append(wall)
        shell_cpus.append(cpu)
        wall, cpu, pipe, own = dativo(run)
        walls.append(wall)
        cpus.append(cpu)
        pipes.append(pipe)
        owns.append(own)
    shell_t = statistics.median(shell_times)
    pipe_t = statistics.median(pipes)
    wall_t = statistics.median(walls)
    shell_c = statistics.median(shell_cpus)
    cpu_t = statistics.median(cpus)
    n = args.records
    print(f"shell pipe (tap | target):       {shell_t:7.3f} s  {n / shell_t:12,.0f} rec/s")
    print(f"dativo run, tap+target phase:    {pipe_t:7.3f} s  {n / pipe_t:12,.0f} rec/s")
    print(
        f"dativo run, whole command:       {wall_t:7.3f} s  {n / wall_t:12,.0f} rec/s"
        f"  (+{wall_t - pipe_t:.2f} s fixed: interpreter, registry, discovery, state)"
    )
    print(
        f"throughput loss of the tap+target phase vs the shell pipe: {1 - shell_t / pipe_t:6.1%} (goal < 3%)"
    )
    print(f"ratio dativo/shell (tap+target phase): {pipe_t / shell_t:.3f}")
    print(
        f"CPU: shell pipe {shell_c:.3f} s, dativo run {cpu_t:.3f} s"
        f" (+{cpu_t - shell_c:.3f} s: the runner, start-up included);"
        f" the runner process's own CPU: {statistics.median(owns):.3f} s"
    )


def _relay_once(data: Path) -> tuple[float, Scan]:
    """The relay's thread CPU moving ``data`` from a ``cat`` to a ``cat`` into /dev/null."""
    src_r, src_w = os.pipe2(os.O_CLOEXEC)
    dst_r, dst_w = os.pipe2(os.O_CLOEXEC)
    enlarge_pipe(src_w)
    enlarge_pipe(dst_w)
    source = subprocess.Popen(["cat", str(data)], stdout=src_w)
    sink = subprocess.Popen(["cat"], stdin=dst_r, stdout=subprocess.DEVNULL)
    os.close(src_w)
    os.close(dst_r)
    scan = Scan()
    used: list[float] = []

    def run() -> None:
        start = time.thread_time()
        relay(src_r, dst_w, scan)
        used.append(time.thread_time() - start)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    source.wait()
    sink.wait()
    if scan.byte_count != data.stat().st_size or scan.last_state is None:
        sys.exit(f"the relay moved {scan.byte_count} bytes and saw state {scan.last_state}")
    return used[0], scan


def bench_relay(args: argparse.Namespace, work: Path) -> None:
    data = args.relay_input or work / "input.jsonl"
    if not data.exists():
        make_input(data, args.records, args.state_every, args.state_column)
    runs = [_relay_once(data) for _ in range(args.repeat)]
    cpu = statistics.median(cpu for cpu, _ in runs)
    lines = runs[0][1].lines
    print(
        f"relay alone ({data.name}, {data.stat().st_size / 1e6:,.0f} MB, {lines:,} lines):"
        f" {cpu:.3f} s CPU (median of {args.repeat}), {cpu / lines * 1e6:.3f} s per 1M lines"
    )


def bench_state(args: argparse.Namespace, work: Path) -> None:
    from dativo_protocol.runner.state_store import open_store

    value = {
        "bookmarks": {
            f"stream_{i}": {"replication_key_value": f"2024-05-01T12:00:{i:02d}Z"}
            for i in range(10)
        }
    }
    backends = [
        ("local folder (fsync)", str(work / "state")),
        ("fsspec memory://", "memory://dativo-bench"),
    ]
    if os.environ.get("DATIVO_BENCH_PG"):
        backends.append(("postgresql", os.environ["DATIVO_BENCH_PG"]))
    print(f"state store, {args.puts} puts of a {len(codec.dumps(value))}-byte state:")
    for label, url in backends:
        store = open_store(url)
        store.put("bench", value)
        start = time.perf_counter()
        for _ in range(args.puts):
            store.put("bench", value)
        per = (time.perf_counter() - start) / args.puts
        store.close()
        print(f"  {label:22s} {per * 1e6:9.1f} us per STATE")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--state-every", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--target", help="target command (default: a null Python target)")
    parser.add_argument("--target-config", type=codec.loads, help="target config as JSON")
    parser.add_argument("--puts", type=int, default=200)
    parser.add_argument("--relay-only", action="store_true", help="run only the relay part")
    parser.add_argument(
        "--state-column",
        action="store_true",
        help="records carry 'state' and 'STATE_CODE' fields (not to be taken for STATE lines)",
    )
    parser.add_argument(
        "--relay-input", type=Path, help="a Singer file for the relay part (e.g. generate.py's)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dativo-bench-") as tmp:
        work = Path(tmp)
        if not args.relay_only:
            bench_pipe(args, work)
        bench_relay(args, work)
        if not args.relay_only:
            bench_state(args, work)


if __name__ == "__main__":
    main()
