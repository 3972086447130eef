"""The warehouse: Parquet snapshots of the OLTP data queried with DuckDB (docs/warehouse.md)."""
