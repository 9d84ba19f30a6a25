"""Meltano (4.4.1 from PyPI) and Dativo share one local state backend, both ways."""

from __future__ import annotations

import pytest

from dativo_protocol import codec
from tests.fixtures.peers import meltano, run_meltano

STATE_ID = "dev:tap-a-to-target-b"


@pytest.mark.slow
@pytest.mark.peers
def test_state_written_by_either_tool_is_read_by_the_other(peer, run_cli, tmp_path):
    bin_dir = meltano(peer)
    shared = tmp_path / "shared-state"
    project = tmp_path / "project"
    project.mkdir()
    (project / "meltano.yml").write_text(
        "version: 1\ndefault_environment: dev\nproject_id: dativo-state-interop\n"
        f"environments:\n- name: dev\nstate_backend:\n  uri: {shared.as_uri()}\n"
    )
    meltano_state = {"bookmarks": {"a": {"replication_key_value": "2024-01-03"}}}
    done = run_meltano(
        bin_dir,
        project,
        "state",
        "set",
        "--force",
        STATE_ID,
        codec.dumps_str({"singer_state": meltano_state}),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    shown = run_cli("dativo", "state", "show", STATE_ID, "--backend", shared)
    assert shown.returncode == 0, shown.stderr
    assert codec.loads(shown.stdout) == {"singer_state": meltano_state}

    ours = {"bookmarks": {"a": {"replication_key_value": "2024-02-01"}}}
    stored = run_cli("dativo", "state", "set", STATE_ID, "--backend", shared, codec.dumps_str(ours))
    assert stored.returncode == 0, stored.stderr
    done = run_meltano(bin_dir, project, "state", "get", STATE_ID)
    assert done.returncode == 0, done.stderr[-2000:]
    assert codec.loads(done.stdout.strip().splitlines()[-1])["singer_state"] == ours
