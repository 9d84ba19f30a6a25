"""`dativo run` with Dativo's real connectors: tap-csv -> target-parquet."""

from __future__ import annotations

from pathlib import Path

import yaml

from dativo_protocol import codec


def _csv(path: Path, start: int, stop: int) -> None:
    lines = ["id,name,amount"] + [f"{i},name-{i},{i * 1.5}" for i in range(start, stop)]
    path.write_text("\n".join(lines) + "\n")


def _parquet_ids(folder: Path) -> list[int]:
    import pyarrow.dataset as ds

    table = ds.dataset(folder, format="parquet").to_table(columns=["id"])
    return sorted(table.column("id").to_pylist())


def test_tap_csv_to_target_parquet(run_cli, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    _csv(data / "people.csv", 1, 501)
    job = tmp_path / "job.yaml"
    job.write_text(
        yaml.safe_dump(
            {
                "source": {
                    "connector": "tap-csv",
                    "config": {
                        "files": [{"entity": "people", "path": "data/people.csv", "keys": ["id"]}]
                    },
                },
                "target": {"connector": "target-parquet", "config": {"destination_path": "lake"}},
            }
        )
    )
    proc = run_cli("dativo", "run", job, "--json")
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    run = codec.loads(proc.stdout)["runs"][0]
    assert run["streams"]["people"] == {"extracted": 500, "loaded": 500}
    assert _parquet_ids(tmp_path / "lake") == list(range(1, 501))
    assert (tmp_path / ".dativo" / "state" / "dativo:job" / "state.json").exists()
