"""``siyu warehouse sync|status``: export to the warehouse and show its freshness."""

from __future__ import annotations

import typer

from siyu.core import clock
from siyu.core.db import make_engine, make_session_factory, transaction
from siyu.core.settings import get_settings
from siyu.warehouse import export, hooks, service
from siyu.warehouse.engine import Warehouse

app = typer.Typer(help="The analytical warehouse (Parquet + DuckDB).", no_args_is_help=True)


@app.callback()
def main() -> None:
    """The analytical warehouse (Parquet + DuckDB)."""


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


@app.command("sync")
def sync(
    export_only: bool = typer.Option(
        False, "--export-only", help="Skip the after-sync hooks (audience refresh)."
    ),
) -> None:
    """Export what changed since the last sync (waits for a running sync to finish)."""
    settings = get_settings()
    engine = make_engine(settings.database_url)
    warehouse = Warehouse.from_settings(settings)
    try:
        result = export.sync(engine, warehouse, now=clock.now())
        failed: list[str] = []
        if not export_only and hooks.after_sync_hooks():
            with transaction(make_session_factory(engine)) as session:
                failed = hooks.run_after_sync(session, warehouse, result)
    finally:
        engine.dispose()
    total = sum(result.rows.values())
    for name, rows in result.rows.items():
        if rows:
            typer.echo(f"{name}: {rows:,}")
    rate = total / result.seconds if result.seconds > 0 else 0.0
    typer.echo(
        f"exported {total:,} rows in {result.seconds:.2f} s ({rate:,.0f} rows/s); "
        f"customers touched: {len(result.touched_customer_ids):,}"
    )
    if failed:
        typer.echo(f"after-sync hooks failed: {', '.join(failed)}", err=True)
        raise typer.Exit(1)


@app.command("status")
def status() -> None:
    """Rows stored and the age of the newest exported row, per table."""
    settings = get_settings()
    out = service.status(Warehouse.from_settings(settings), now=clock.now())
    typer.echo(f"root: {out.root}")
    typer.echo(f"last sync: {out.last_sync_at or 'never'}")
    for table in out.tables:
        typer.echo(f"{table.name:<12} {table.rows:>12,} rows  newest {_age(table.age_seconds)} ago")
