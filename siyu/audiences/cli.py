"""``siyu audiences refresh [--full]`` and ``siyu audiences segments`` from a shell.

``refresh`` exports what changed to the warehouse first (``warehouse.export.sync``),
then refreshes traits, rule tags and rule segments: only the customers the export
touched, or everyone with ``--full``.
"""

from __future__ import annotations

import typer

from siyu.core import clock
from siyu.core.db import make_engine, make_session_factory, transaction
from siyu.core.errors import SiyuError
from siyu.core.settings import get_settings

app = typer.Typer(help="Audiences: traits, tags, segments (人群包).", no_args_is_help=True)


@app.callback()
def main() -> None:
    """Audiences: traits, tags, segments (人群包)."""


@app.command("refresh")
def refresh_command(
    full: bool = typer.Option(False, "--full", help="Re-evaluate every customer."),
) -> None:
    """Sync the warehouse, then refresh traits, rule tags and rule segments."""
    from siyu.audiences import refresh
    from siyu.warehouse import export
    from siyu.warehouse.engine import Warehouse

    settings = get_settings()
    engine = make_engine(settings.database_url)
    wh = Warehouse.from_settings(settings)
    try:
        now = clock.now()
        synced = export.sync(engine, wh, now=now)
        typer.echo(
            f"warehouse: {sum(synced.rows.values())} rows in {synced.seconds:.2f}s, "
            f"{len(synced.touched_customer_ids)} customers touched"
        )
        with transaction(make_session_factory(engine)) as session:
            summary = refresh.refresh_all(
                session,
                wh,
                now=now,
                customer_ids=None if full else synced.touched_customer_ids,
            )
    except SiyuError as error:
        typer.echo(f"error: {error.code}: {error.message}", err=True)
        raise typer.Exit(code=1) from error
    finally:
        engine.dispose()
    scope = "all customers" if summary.customers is None else f"{summary.customers} customers"
    typer.echo(f"refreshed {scope} in {summary.seconds:.2f}s {summary.stages}")
    typer.echo(f"traits changed: {summary.traits_changed}")
    for tag_id, (added, removed) in sorted(summary.tags.items()):
        typer.echo(f"tag {tag_id}: +{added} -{removed}")
    for tag_id, error_text in sorted(summary.tag_errors.items()):
        typer.echo(f"tag {tag_id}: FAILED {error_text}")
    failed = 0
    for result in summary.segments:
        if result.ok:
            typer.echo(
                f"segment {result.segment_id}: {result.member_count} members "
                f"(+{result.entered} -{result.exited}) in {result.seconds:.2f}s"
            )
        else:
            failed += 1
            typer.echo(f"segment {result.segment_id}: FAILED {result.error}")
    if failed or summary.tag_errors:
        raise typer.Exit(code=1)


@app.command("segments")
def segments_command(
    archived: bool = typer.Option(False, "--archived", help="Include archived segments."),
) -> None:
    """List segments with their sizes and last refresh."""
    from siyu.audiences.segments import service as segments

    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            rows = segments.list_segments(session, include_archived=archived)
            lines = [
                f"{row.id:>6}  {row.kind:<6}  {row.status:<8}  {row.member_count:>10}  "
                f"{row.refreshed_at.isoformat() if row.refreshed_at else '-':<32}  {row.name}"
                + (f"  [error: {row.last_error.splitlines()[0]}]" if row.last_error else "")
                for row in rows
            ]
    finally:
        engine.dispose()
    typer.echo(f"{'id':>6}  {'kind':<6}  {'status':<8}  {'members':>10}  {'refreshed':<32}  name")
    for line in lines:
        typer.echo(line)
