"""docs/protocol.md stays in sync with the code it documents."""

from __future__ import annotations

import re
from pathlib import Path

from dativo_protocol.errors import ExitCode

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_exit_code_table_lists_every_exit_code() -> None:
    text = (DOCS / "protocol.md").read_text()
    rows = dict(re.findall(r"^\| (\d+) \| `([A-Z_]+)` \|", text, flags=re.MULTILINE))
    assert rows == {str(int(code)): code.name for code in ExitCode}


def test_protocol_doc_is_linked_from_the_index() -> None:
    assert "(protocol.md)" in (DOCS / "README.md").read_text()
