"""The Dativo tap kit: what every Dativo Python tap adds on top of singer-sdk.

Import from here: ``DativoTap``, ``FastPathStream``, ``RateLimiter``, ``run`` and
``entry_point``. Importing this package imports singer-sdk (taps need it anyway).
"""

from __future__ import annotations

from dativo_taps.kit.cli import entry_point, run
from dativo_taps.kit.fastpath import FastPathStream
from dativo_taps.kit.ratelimit import RateLimiter, parse_retry_after
from dativo_taps.kit.tap import DativoTap

__all__ = [
    "DativoTap",
    "FastPathStream",
    "RateLimiter",
    "entry_point",
    "parse_retry_after",
    "run",
]
