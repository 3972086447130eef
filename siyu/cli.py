"""The `siyu` command."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from sqlalchemy.orm import Session

from siyu.analytics import cli as analytics_cli
from siyu.audiences import cli as audiences_cli
from siyu.campaigns.flash_sale import cli as flash_sale_cli
from siyu.core import migrations, security
from siyu.core.db import make_engine, make_session_factory, transaction
from siyu.core.errors import ConfigurationError, SiyuError
from siyu.core.settings import Settings, get_settings
from siyu.models.staff import Role
from siyu.staff import service as staff_service
from siyu.staff import tokens
from siyu.staff.principal import command_line_principal
from siyu.warehouse import cli as warehouse_cli

if TYPE_CHECKING:
    from siyu.demo.analytics import AnalyticsSummary
    from siyu.demo.audiences import AudiencesSummary
    from siyu.demo.brand.generator import DemoSummary
    from siyu.demo.campaigns import CampaignsSummary
    from siyu.demo.offers import OffersSummary

app = typer.Typer(help="siyu 私域 — private-domain commerce operating system", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
staff_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
token_app = typer.Typer(help="API bearer tokens.", no_args_is_help=True)
PhaseT = TypeVar("PhaseT")
PhaseProgress = Callable[[str, int, int], None]
import_app = typer.Typer(help="Load data from other systems.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(staff_app, name="staff")
app.add_typer(token_app, name="token")
app.add_typer(import_app, name="import")
app.add_typer(flash_sale_cli.app, name="flash-sale")
app.add_typer(audiences_cli.app, name="audiences")
app.add_typer(warehouse_cli.app, name="warehouse")
app.add_typer(analytics_cli.app, name="analytics")
points_app = typer.Typer(help="Members' points ledger.", no_args_is_help=True)
app.add_typer(points_app, name="points")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=1)


@contextmanager
def _unit_of_work(settings: Settings) -> Iterator[Session]:
    engine = make_engine(settings.database_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            yield session
    except SiyuError as error:
        raise _fail(f"{error.code}: {error.message}") from error
    finally:
        engine.dispose()


def _shell_actor() -> str:
    return f"cli:{getpass.getuser()}"[:64]


def _settings() -> Settings:
    settings = get_settings()
    try:
        settings.resolved_secret_key()
    except ConfigurationError as error:
        raise _fail(str(error)) from error
    return settings


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    settings = _settings()
    migrations.upgrade(settings.database_url, revision)
    typer.echo(f"database at {migrations.head_revision(settings.database_url)}")


@db_app.command("current")
def db_current() -> None:
    """Print the database's revision and the latest one."""
    settings = _settings()
    engine = make_engine(settings.database_url)
    try:
        current = migrations.current_revision(engine)
    finally:
        engine.dispose()
    typer.echo(f"current: {current}\nhead:    {migrations.head_revision(settings.database_url)}")


@app.command("init")
def init(username: str = "admin") -> None:
    """Create the database and the first admin; the password is printed once."""
    settings = _settings()
    migrations.upgrade(settings.database_url)
    with _unit_of_work(settings) as session:
        if staff_service.count_staff(session) > 0:
            raise _fail("already initialised: staff accounts exist (use `siyu staff create`)")
        password = security.generate_password()
        staff_service.create_staff(
            session,
            command_line_principal(_shell_actor()),
            username=username,
            password=password,
            roles=[Role.ADMIN],
            display_name="Administrator",
        )
    typer.echo(f"admin user: {username}\npassword:   {password}\n(shown once; store it safely)")


@staff_app.command("create")
def staff_create(
    username: str,
    role: Annotated[list[Role], typer.Option("--role", help="Repeat for several roles.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    display_name: str = "",
    store_id: int | None = None,
) -> None:
    """Create a staff account."""
    settings = _settings()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        generated = False
    else:
        password = security.generate_password()
        generated = True
    with _unit_of_work(settings) as session:
        staff = staff_service.create_staff(
            session,
            command_line_principal(_shell_actor()),
            username=username,
            password=password,
            roles=role,
            display_name=display_name,
            store_id=store_id,
        )
        staff_id = staff.id
    typer.echo(f"created staff {staff_id} ({staff.username})")
    if generated:
        typer.echo(f"password: {password}")


@token_app.command("create")
def token_create(
    username: str,
    name: str = "",
    expires_days: Annotated[int | None, typer.Option(min=1, max=tokens.MAX_EXPIRY_DAYS)] = None,
) -> None:
    """Create an API token for USERNAME; prints only the token (shown once)."""
    settings = _settings()
    with _unit_of_work(settings) as session:
        staff = staff_service.find_by_username(session, username)
        if staff is None:
            raise _fail(f"staff.not_found: no staff member named {username!r}")
        raw, _token = tokens.create_token(
            session,
            command_line_principal(_shell_actor()),
            staff.id,
            name=name,
            expires_days=expires_days,
        )
    typer.echo(raw)


@token_app.command("revoke")
def token_revoke(token_id: int) -> None:
    """Revoke the token with id TOKEN_ID."""
    settings = _settings()
    with _unit_of_work(settings) as session:
        tokens.revoke_token(session, command_line_principal(_shell_actor()), token_id)
    typer.echo(f"revoked token {token_id}")


@app.command("serve")
def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the API and console, with a job worker in the same process."""
    from siyu.server import run_server

    run_server(_settings(), host=host, port=port)


@app.command("worker")
def worker() -> None:
    """Run an extra job and outbox worker (safe to run several on PostgreSQL)."""
    from siyu.server import run_worker

    run_worker(_settings())


@app.command("demo")
def demo(
    host: str = "127.0.0.1",
    port: int = 8000,
    customers: Annotated[int, typer.Option(min=1, help="Customers to generate.")] = 50_000,
    days: Annotated[int, typer.Option(min=1, max=3650, help="Days of history.")] = 180,
    seed: Annotated[int, typer.Option(help="Same seed, same brand.")] = 42,
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Only build the data; do not serve.")
    ] = False,
) -> None:
    """Set up the embedded database, a demo admin and the demo brand, then serve the console.

    The brand is generated only when the database has no catalog yet; running the
    command again keeps the data and just serves.
    """
    from siyu.demo.setup import prepare_demo

    settings = _settings()
    login = prepare_demo(settings)
    summary = _build_brand_with_progress(settings, customers=customers, days=days, seed=seed)
    if summary is None:
        typer.echo("demo brand already present: generation skipped")
    else:
        typer.echo(
            f"demo brand: {summary.customers:,} customers, {summary.orders:,} orders "
            f"in {summary.seconds:.1f} s"
        )
    offers = _build_offers_with_progress(settings, seed=seed)
    if offers is None:
        typer.echo("demo member program already present: offers skipped")
    else:
        typer.echo(
            f"demo offers: {sum(offers.tiers.values()):,} members in {len(offers.tiers)} tiers, "
            f"{offers.events_replayed:,} order events replayed, "
            f"{offers.coupons_issued:,} coupons ({offers.coupons_used_on_orders:,} on orders, "
            f"{offers.coupons_written_off:,} written off), {offers.checkouts:,} checkouts, "
            f"{offers.exchanges:,} points exchanges in {offers.seconds:.1f} s "
            f"(replay {offers.replay_seconds:.1f} s)"
        )
    campaigns = _build_campaigns_with_progress(settings, seed=seed)
    if campaigns is None:
        typer.echo("demo campaigns already present: campaigns skipped")
    else:
        figures = ", ".join(f"{key} {value:,}" for key, value in sorted(campaigns.counts.items()))
        typer.echo(
            f"demo campaigns: {campaigns.campaigns} campaigns of every mechanic "
            f"in {campaigns.seconds:.1f} s ({figures})"
        )
    audiences = _build_audiences_with_progress(settings, seed=seed)
    if audiences is None:
        typer.echo("demo audiences already present: audiences skipped")
    else:
        typer.echo(_audiences_line(audiences))
    analytics = _build_analytics_with_progress(settings, seed=seed)
    if analytics is None:
        typer.echo("demo analytics already present: analytics skipped")
    else:
        from siyu.demo.analytics import summary_lines

        for line in summary_lines(analytics):
            typer.echo(line)
    if no_serve:
        return
    from siyu.server import run_server

    # The embedded demo has no mini program: the storefront signs in named demo shoppers.
    settings = settings.model_copy(update={"shop_demo_login": True})
    typer.echo(
        f"\n  siyu 私域 console: http://{host}:{port}/console\n"
        f"  demo login:        {login.username} / {login.password}\n"
        f"  storefront (H5):   http://{host}:{port}/shop  (sign in as any demo shopper name)\n"
        f"  API docs:          http://{host}:{port}/docs\n"
    )
    run_server(settings, host=host, port=port)


def _build_brand_with_progress(
    settings: Settings, *, customers: int, days: int, seed: int
) -> DemoSummary | None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from siyu.demo.setup import build_demo_brand

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=False,
    ) as progress:
        tasks: dict[str, int] = {}
        labels = {
            "catalog": "stores and catalog",
            "customers": "customers",
            "orders": "orders",
            "done": "stock levels",
        }

        def report(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = int(progress.add_task(labels.get(phase, phase), total=total))
            progress.update(tasks[phase], completed=done, total=total)  # type: ignore[arg-type]

        return build_demo_brand(
            settings, customers=customers, days=days, seed=seed, progress=report
        )


def _phase_with_progress(label: str, build: Callable[[PhaseProgress], PhaseT]) -> PhaseT:
    """Run one demo phase under a Rich progress bar fed by the phase's own reports."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=False,
    ) as progress:
        task: list[int] = []

        def report(_phase: str, done: int, total: int) -> None:
            if not task:
                task.append(int(progress.add_task(label, total=total)))
            progress.update(task[0], completed=done, total=total)  # type: ignore[arg-type]

        return build(report)


def _build_offers_with_progress(settings: Settings, *, seed: int) -> OffersSummary | None:
    from siyu.demo.setup import build_demo_offers

    return _phase_with_progress(
        "members, points and coupons",
        lambda report: build_demo_offers(settings, seed=seed, progress=report),
    )


def _build_campaigns_with_progress(settings: Settings, *, seed: int) -> CampaignsSummary | None:
    from siyu.demo.campaigns import build_demo_campaigns

    return _phase_with_progress(
        "campaigns", lambda report: build_demo_campaigns(settings, seed=seed, progress=report)
    )


def _build_audiences_with_progress(settings: Settings, *, seed: int) -> AudiencesSummary | None:
    from siyu.demo.audiences import build_demo_audiences

    return _phase_with_progress(
        "audiences", lambda report: build_demo_audiences(settings, seed=seed, progress=report)
    )


def _build_analytics_with_progress(settings: Settings, *, seed: int) -> AnalyticsSummary | None:
    from siyu.demo.analytics import build_demo_analytics

    return _phase_with_progress(
        "analytics", lambda report: build_demo_analytics(settings, seed=seed, progress=report)
    )


def _audiences_line(summary: AudiencesSummary) -> str:
    fresh = summary.freshness
    freshness = f"; freshness {fresh.seconds:.1f} s (event tracked → in segment)" if fresh else ""
    return (
        f"demo audiences: {len(summary.tagged)} manual tags "
        f"({sum(summary.tagged.values()):,} given), {len(summary.rfm_groups)} RFM groups, "
        f"{len(summary.ops_stages)} lifecycle stages, {len(summary.segments)} segments "
        f"({min(summary.segments.values(), default=0):,}–"
        f"{max(summary.segments.values(), default=0):,} members), "
        f"{summary.tracked.get('events', 0):,} events tracked, "
        f"{summary.exported_rows:,} rows exported; full refresh {summary.refresh_seconds:.1f} s"
        f"{freshness}; in {summary.seconds:.1f} s"
    )


@import_app.command("transactions")
def import_transactions(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    file_format: Annotated[str, typer.Option("--format", help="cdnow or csv.")] = "csv",
    platform: Annotated[
        str | None, typer.Option(help="Namespace of the customer ids (default: cdnow / csv).")
    ] = None,
) -> None:
    """Import customers and completed orders from a purchase history (docs/import.md)."""
    from siyu.orders import imports
    from siyu.orders.import_formats import ImportFormat, ImportRejected, describe, read_file

    try:
        chosen = ImportFormat(file_format)
    except ValueError as error:
        raise _fail("--format must be cdnow or csv") from error
    namespace = platform or chosen.value
    settings = _settings()
    engine = make_engine(settings.database_url)
    try:
        orders = read_file(file, chosen, namespace)
        # Parsed and checked in full before this transaction; references to stores and
        # channel codes are checked inside it, and any failure rolls everything back.
        with transaction(make_session_factory(engine)) as session:
            result = imports.import_orders(session, orders, platform=namespace)
    except ImportRejected as error:
        for line in describe(error):
            typer.echo(line, err=True)
        raise typer.Exit(code=1) from error
    except SiyuError as error:
        raise _fail(f"{error.code}: {error.message}") from error
    finally:
        engine.dispose()
    typer.echo(
        f"orders: {result.orders_created:,} imported, {result.orders_skipped:,} already there\n"
        f"customers: {result.customers_created:,} new, {result.customers_reused:,} existing\n"
        f"time: {result.seconds:.1f} s"
    )


@points_app.command("audit")
def points_audit() -> None:
    """Replay every member's ledgers; print each mismatch; exit 1 on any."""
    from siyu.members import audit as points_ledger_audit

    with _unit_of_work(_settings()) as session:
        report = points_ledger_audit.run(session)
    for m in report.mismatches:
        typer.echo(f"customer {m.customer_id}: {m.check} ledger={m.ledger} balance={m.balance}")
    typer.echo(f"memberships: {report.memberships:,}, mismatches: {len(report.mismatches):,}")
    if not report.ok:
        raise typer.Exit(code=1)


coupons_app = typer.Typer(help="Coupons.", no_args_is_help=True)
app.add_typer(coupons_app, name="coupons")


@coupons_app.command("expire")
def coupons_expire() -> None:
    """Expire coupons past their end and send due reminders now; (re)start the daily jobs."""
    from siyu.coupons import expiry

    with _unit_of_work(_settings()) as session:
        expired = expiry.expire_due(session)
        reminded = expiry.remind_due(session)
        expiry.schedule(session)
    typer.echo(f"expired: {expired:,}, reminded: {reminded:,}")


def main() -> None:
    app()
