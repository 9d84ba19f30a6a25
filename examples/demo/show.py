"""Print what the demo job landed: each Iceberg table, its rows and its location.

Reads the embedded SQLite catalog target-iceberg created under examples/demo/.dativo/warehouse.
"""

from __future__ import annotations

import sys
from pathlib import Path

WAREHOUSE = Path(__file__).resolve().parent / ".dativo" / "warehouse"
NAMESPACE = "demo"


def main() -> int:
    from pyiceberg.catalog.sql import SqlCatalog

    db = WAREHOUSE / "catalog.db"
    if not db.exists():
        print(f"no catalog at {db}: run the demo job first", file=sys.stderr)
        return 1
    catalog = SqlCatalog("dativo", uri=f"sqlite:///{db}", warehouse=WAREHOUSE.as_uri())
    print(f"Iceberg catalog: {db}")
    for identifier in sorted(catalog.list_tables(NAMESPACE)):
        table = catalog.load_table(identifier)
        rows = table.scan().to_arrow().num_rows
        columns = ", ".join(f.name for f in table.schema().fields)
        print(f"  {'.'.join(identifier)}: {rows} rows -> {table.location()}")
        print(f"    columns: {columns}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
