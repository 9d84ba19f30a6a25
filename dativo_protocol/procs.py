"""Whether a process still runs: what decides that a temporary folder left behind is stale."""

from __future__ import annotations

import os


def alive(pid: int) -> bool:
    """True while a process with this pid exists (also one of another user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
