"""``flash-sale audit <session>``: the stock invariant of a session, from a shell.

Runnable on its own (``python -m siyu.campaigns.flash_sale.cli audit fss_…``) and
meant to be mounted on the ``siyu`` command as ``siyu flash-sale``. Exits 1 when a
session does not balance, so a cron job or a deploy check can alert on it.
"""

from __future__ import annotations

import redis
import typer

from siyu.campaigns.flash_sale import audit, service
from siyu.campaigns.flash_sale.engines import RedisStock
from siyu.core.db import make_engine, make_session_factory, transaction
from siyu.core.settings import get_settings

app = typer.Typer(help="Flash sales (秒杀).", no_args_is_help=True)


@app.callback()
def main() -> None:
    """Flash sales (秒杀)."""


@app.command("audit")
def audit_session(session_id: str) -> None:
    """Check stock left + sold + reserved == starting stock for every item."""
    settings = get_settings()
    engine = make_engine(settings.database_url)
    client = redis.Redis.from_url(settings.redis_url) if settings.redis_url else None
    try:
        with transaction(make_session_factory(engine)) as session:
            row = service.get_session(session, session_id)
            report = audit.check(session, row, RedisStock(client) if client else None)
    finally:
        if client is not None:
            client.close()
        engine.dispose()
    for item in report.items:
        redis_part = "" if item.redis_stock is None else f" redis={item.redis_stock}"
        typer.echo(
            f"{item.item_id}: start={item.starting_stock} left={item.stock_left} "
            f"sold={item.sold} reserved={item.reserved} queued={item.queued} "
            f"pending_returns={item.pending_returns}{redis_part} "
            f"{'balanced' if item.balanced else 'NOT BALANCED'}"
        )
    typer.echo(
        f"session {report.session_id} ({report.engine}): "
        f"{'balanced' if report.balanced else 'NOT BALANCED'}"
    )
    if not report.balanced:
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
