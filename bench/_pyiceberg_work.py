"""Bench helper: only PyIceberg's share of a target-iceberg run, in a process of its own.

Imports PyIceberg, opens the embedded SQLite catalog, creates a table and makes ``commits``
one-row appends: the fixed work target-iceberg does on top of target-parquet's parsing and
encoding. ``bench/target_iceberg.py --parts floor`` runs target-parquet beside it.

    python bench/_pyiceberg_work.py <warehouse> <commits>
"""

import sys
from pathlib import Path

import pyarrow as pa
from pyiceberg.catalog import load_catalog

warehouse, commits = Path(sys.argv[1]), int(sys.argv[2])
warehouse.mkdir(parents=True, exist_ok=True)
catalog = load_catalog(
    "floor", type="sql", uri=f"sqlite:///{warehouse / 'catalog.db'}", warehouse=str(warehouse)
)
catalog.create_namespace_if_not_exists("floor")
table = catalog.create_table("floor.t", schema=pa.schema([pa.field("id", pa.int64())]))
for i in range(commits):
    table.append(pa.table({"id": pa.array([i], pa.int64())}))
