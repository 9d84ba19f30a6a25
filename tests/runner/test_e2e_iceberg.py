"""`dativo run` into Apache Iceberg with the real connectors: the demo job (tap-csv ->
target-iceberg on the embedded SQLite catalog, what `make demo` runs) and a SIGKILL of the real
target followed by a re-run (keyed upsert: every key exactly once).

target-iceberg lands on main from its own branch; until its console script is installed these
tests are skipped (they were run green against branch target-iceberg merged with this one).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.fixtures.cli import BIN, script
from tests.fixtures.peers import REPO
from tests.runner.test_e2e_parquet import _csv
from tests.runner.test_faults import _children_named

pytestmark = pytest.mark.skipif(
    not (BIN / "target-iceberg").exists(),
    reason="target-iceberg is not installed (not on main yet)",
)


def _iceberg_ids(warehouse: Path, table: str) -> list[int]:
    from pyiceberg.catalog.sql import SqlCatalog

    catalog = SqlCatalog(
        "dativo", uri=f"sqlite:///{warehouse / 'catalog.db'}", warehouse=warehouse.as_uri()
    )
    return sorted(catalog.load_table(("demo", table)).scan().to_arrow().column(0).to_pylist())


@pytest.mark.slow
def test_the_demo_job_lands_iceberg_tables_and_prints_them(tmp_path):
    demo = tmp_path / "demo"
    shutil.copytree(REPO / "examples" / "demo", demo, ignore=shutil.ignore_patterns(".dativo"))
    env = {**os.environ, "PATH": f"{Path(script('dativo')).parent}{os.pathsep}{os.environ['PATH']}"}
    for _ in range(2):  # the second run upserts the same keys: nothing doubles
        proc = subprocess.run(
            [script("dativo"), "run", str(demo / "job.yaml")],
            capture_output=True,
            env=env,
            timeout=600,
        )
        assert proc.returncode == 0, proc.stderr.decode()[-3000:]
        assert b"stream orders: extracted 40, loaded 40" in proc.stdout
    shown = subprocess.run(
        [str(Path(script("dativo")).parent / "python"), str(demo / "show.py")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shown.returncode == 0, shown.stderr
    assert "demo.customers: 16 rows" in shown.stdout
    assert "demo.orders: 40 rows" in shown.stdout
    assert "demo.products: 8 rows" in shown.stdout
    assert f"{(demo / '.dativo' / 'warehouse').as_uri()}/demo/orders" in shown.stdout
    assert _iceberg_ids(demo / ".dativo" / "warehouse", "customers") == list(range(1, 17))


@pytest.mark.slow
def test_sigkill_real_target_iceberg_then_rerun_gives_every_key_once(tmp_path):
    rows = 60000  # enough that the target is still loading when it is killed, even on a quiet box
    data = tmp_path / "data"
    data.mkdir()
    for part in range(4):
        _csv(data / f"part-{part}.csv", part * rows // 4 + 1, (part + 1) * rows // 4 + 1)
    job = tmp_path / "job.yaml"
    job.write_text(
        yaml.safe_dump(
            {
                "source": {
                    "connector": "tap-csv",
                    "config": {"files": [{"entity": "items", "path": "data", "keys": ["id"]}]},
                },
                "target": {
                    "connector": "target-iceberg",
                    "config": {
                        "warehouse": "wh",
                        "namespace": "demo",
                        "load_method": "upsert",
                        "flush_max_rows": 2000,
                    },
                },
            }
        )
    )
    rng = random.Random()
    runner = subprocess.Popen(
        [script("dativo"), "run", str(job)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 60
    pids: dict[str, int] = {}
    while time.monotonic() < deadline and "target-iceberg" not in pids:
        pids = _children_named(runner.pid)
        time.sleep(0.05)
    assert "target-iceberg" in pids, "the runner did not start target-iceberg"
    time.sleep(rng.uniform(0.2, 1.0))
    os.kill(pids["target-iceberg"], signal.SIGKILL)
    _, err = runner.communicate(timeout=120)
    assert runner.returncode == 8, err.decode()[-2000:]
    assert b"target 'target-iceberg' was killed by SIGKILL" in err
    proc = subprocess.run([script("dativo"), "run", str(job)], capture_output=True, timeout=600)
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    ids = _iceberg_ids(tmp_path / "wh", "items")
    assert ids == list(range(1, rows + 1))  # every key, exactly once (keyed upsert)
