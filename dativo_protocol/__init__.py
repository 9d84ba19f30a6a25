"""Dativo protocol core: Singer and Airbyte messages, catalogs, state, schema mapping and I/O.

This package is the bottom layer. It imports nothing from the runner, the CLI, connectors,
Docker or cloud libraries, and importing it loads no heavy module (pyarrow, pyiceberg, ...).
"""

from __future__ import annotations

from dativo_protocol.errors import DativoError, ExitCode

__all__ = ["DativoError", "ExitCode", "__version__"]

__version__ = "0.1.0"
