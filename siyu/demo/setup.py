"""`siyu demo`: an embedded database with a demo admin, ready to explore."""

from __future__ import annotations

import json
from dataclasses import dataclass

from siyu.core import migrations, security
from siyu.core.db import make_engine, make_session_factory, transaction
from siyu.core.settings import Settings
from siyu.models.staff import Role
from siyu.staff import service as staff_service
from siyu.staff.principal import command_line_principal

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
