"""Stream schemas: JSON Schema normalisation and a visitor (pure Python, imported here), plus
the Arrow side in submodules that import pyarrow only when used:

- :mod:`dativo_protocol.schema.arrow`: JSON Schema → Arrow schema with per-field notes;
- :mod:`dativo_protocol.schema.evolution`: compare and unify an old and a new Arrow schema;
- :mod:`dativo_protocol.schema.convert`: Python records → ``pyarrow.RecordBatch``, validated.

Rules: docs/schema-mapping.md.
"""

from __future__ import annotations

from dativo_protocol.schema.jsonschema import normalize
from dativo_protocol.schema.visitor import SchemaVisitor, visit

__all__ = ["SchemaVisitor", "normalize", "visit"]
