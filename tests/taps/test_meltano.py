"""A real `meltano run` (Meltano 4 from PyPI) with tap-csv declared as a custom plugin.

Uses the example project shipped in docs/meltano/. The second run shows that the state
Meltano persisted from the first run drives an incremental read: only the new file.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.fixtures.peers import REPO, meltano, run_meltano

pytestmark = [pytest.mark.peers, pytest.mark.slow]


def output_ids(project: Path) -> list[int]:
    rows = [
        r
        for f in sorted((project / "output").rglob("*.parquet"))
        for r in pq.read_table(f).to_pylist()
    ]
    return sorted(r["id"] for r in rows)


def test_meltano_run_twice_is_incremental(peer, tmp_path):
    bin_dir = meltano(peer)
    project = tmp_path / "project"
    shutil.copytree(REPO / "docs" / "meltano", project)
    yml = project / "meltano.yml"
    yml.write_text(yml.read_text().replace("-e ../..[", f"-e {REPO}["))

    installed = run_meltano(bin_dir, project, "install", "tap-csv", "target-parquet")
    assert installed.returncode == 0, installed.stderr[-3000:]

    first = run_meltano(bin_dir, project, "run", "tap-csv", "target-parquet")
    assert first.returncode == 0, first.stderr[-3000:]
    assert output_ids(project) == [1, 2]
    state = run_meltano(bin_dir, project, "state", "get", "dev:tap-csv-to-target-parquet")
    assert "people-2024-01.csv" in state.stdout

    (project / "data" / "people-2024-02.csv").write_text("id,name,joined\n3,Linus,2024-03-01\n")
    second = run_meltano(bin_dir, project, "run", "tap-csv", "target-parquet")
    assert second.returncode == 0, second.stderr[-3000:]
    assert output_ids(project) == [1, 2, 3]  # the first file was not read (and loaded) again
