"""`siyu coupons expire`: expires what is due now and (re)starts the daily jobs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from siyu.cli import app
from siyu.core import clock
from siyu.core.db import make_engine, make_session_factory, transaction
from siyu.core.settings import get_settings
from siyu.models.coupon import Coupon, CouponStatus, ValidityKind
from siyu.models.job import Job
from tests.coupons.factories import give, make_template
from tests.customers.factories import make_cipher, make_customer


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("SIYU_DATABASE_URL", url)
    monkeypatch.setenv("SIYU_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_expire_command(database: str, frozen_clock: clock.FrozenClock) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    engine = make_engine(database)
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        customer = make_customer(session, make_cipher())
        template = make_template(session, validity=ValidityKind.RELATIVE, valid_days=1)
        coupon_id = give(session, template, customer.id).id
    frozen_clock.advance(timedelta(days=1, seconds=1))
    result = runner.invoke(app, ["coupons", "expire"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "expired: 1, reminded: 0"
    with factory() as session:
        assert session.get_one(Coupon, coupon_id).status == CouponStatus.EXPIRED
        tasks = sorted(session.scalars(select(Job.task)))
        assert tasks == ["coupon.expire", "coupon.remind"]
    engine.dispose()
