"""`siyu demo`: an embedded database with a demo admin and the demo brand, ready to explore."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from siyu.core import migrations, security
from siyu.core.db import make_engine, make_session_factory, transaction
from siyu.core.settings import Settings
from siyu.demo.brand import generator
from siyu.models.staff import Role
from siyu.staff import service as staff_service
from siyu.staff.principal import command_line_principal

if TYPE_CHECKING:
    from siyu.demo.offers import OffersSummary

Progress = generator.Progress

DEMO_USERNAME = "demo"
LOGIN_FILE = "demo-login.json"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str


def _stored_password(settings: Settings) -> str:
    # Generated once per data dir and kept, so every `make demo` prints the same login.
    path = settings.data_dir / LOGIN_FILE
    if path.exists():
        return str(json.loads(path.read_text())["password"])
    password = security.generate_password()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"username": DEMO_USERNAME, "password": password}) + "\n")
    path.chmod(0o600)
    return password


def prepare_demo(settings: Settings) -> DemoLogin:
    migrations.upgrade(settings.database_url)
    password = _stored_password(settings)
    actor = command_line_principal("demo-setup")
    engine = make_engine(settings.database_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            staff = staff_service.find_by_username(session, DEMO_USERNAME)
            if staff is None:
                staff_service.create_staff(
                    session,
                    actor,
                    username=DEMO_USERNAME,
                    password=password,
                    roles=[Role.ADMIN],
                    display_name="演示管理员",
                )
            else:
                # Someone changed or disabled the demo account: make the printed login true.
                if not security.verify_password(staff.password_hash, password):
                    staff_service.reset_password(session, actor, staff.id, new_password=password)
                if not staff.is_active:
                    staff_service.set_active(session, actor, staff.id, active=True)
    finally:
        engine.dispose()
    return DemoLogin(DEMO_USERNAME, password)


def build_demo_brand(
    settings: Settings,
    *,
    customers: int = generator.DEFAULT_CUSTOMERS,
    days: int = generator.DEFAULT_DAYS,
    seed: int = generator.DEFAULT_SEED,
    progress: generator.Progress | None = None,
) -> generator.DemoSummary | None:
    """Generate the demo brand in one transaction; None when a catalog already exists.

    The check and the generation share the transaction (on SQLite it holds the write
    lock from the start), so a second `siyu demo` never adds a second brand, and a
    failure part-way leaves nothing behind.
    """
    engine = make_engine(settings.database_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            if generator.has_catalog(session):
                return None
            return generator.generate(
                session,
                settings,
                customers=customers,
                days=days,
                seed=seed,
                progress=progress or generator.no_progress,
            )
    finally:
        engine.dispose()


def build_demo_offers(
    settings: Settings, *, seed: int = generator.DEFAULT_SEED, progress: Progress | None = None
) -> OffersSummary | None:
    """Tiers, points history, coupons and the points mall on the demo brand, through the
    real services; None when tiers already exist (a second run adds nothing)."""
    from siyu.demo import offers

    return offers.build_demo_offers(settings, progress or generator.no_progress, seed=seed)
