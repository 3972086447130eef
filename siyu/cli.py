"""The `siyu` command."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from siyu.core import migrations, security
from siyu.core.db import make_engine, make_session_factory, transaction
from siyu.core.errors import ConfigurationError, SiyuError
from siyu.core.settings import Settings, get_settings
from siyu.models.staff import Role
from siyu.staff import service as staff_service
from siyu.staff import tokens
from siyu.staff.principal import command_line_principal

app = typer.Typer(help="siyu 私域 — private-domain commerce operating system", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
staff_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
token_app = typer.Typer(help="API bearer tokens.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(staff_app, name="staff")
app.add_typer(token_app, name="token")


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
def demo(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Set up the embedded database and a demo admin, then serve the console."""
    from siyu.demo.setup import prepare_demo
    from siyu.server import run_server

    settings = _settings()
    login = prepare_demo(settings)
    typer.echo(
        f"\n  siyu 私域 console: http://{host}:{port}/console\n"
        f"  demo login:        {login.username} / {login.password}\n"
        f"  API docs:          http://{host}:{port}/docs\n"
    )
    run_server(settings, host=host, port=port)


def main() -> None:
    app()
