"""The promoter centre in a real (mobile-sized) browser against a live server: a
shopper applies (auto-approved) and sees their code and link; a friend opening the
link is bound; settled commission is withdrawn and shows as waiting for review; an
amount over the balance is refused with the reason."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from siyu.app import create_app
from siyu.campaigns.referral import accounts
from siyu.campaigns.referral.accounts import Deltas
from siyu.core.db import make_engine, make_session_factory, transaction
from siyu.core.migrations import upgrade
from siyu.core.settings import Settings
from siyu.models.referral import LedgerKind, Promoter, ReferralBinding, ReferralWithdrawal
from siyu.models.staff import Role
from tests.campaigns.referral.factories import make_programme
from tests.factories import make_staff
from tests.live import serve

pytestmark = pytest.mark.e2e
ADMIN, PASSWORD = "referral-admin", "referral-admin-password"


@dataclass(frozen=True)
class Shop:
    base_url: str
    factory: sessionmaker[Session]

    def url(self, path: str) -> str:
        return self.base_url + path


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    data_dir: Path = tmp_path_factory.mktemp("referral")
    database_url = f"sqlite:///{data_dir / 'siyu.db'}"
    upgrade(database_url)
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        make_programme(session, min_withdrawal_amount=500)
        make_staff(session, username=ADMIN, password=PASSWORD, roles=[Role.ADMIN])
    settings = Settings(
        database_url=database_url,
        data_dir=data_dir,
        secret_key="e2e-referral-" + "k" * 40,
        run_worker=False,
        shop_demo_login=True,
    )
    try:
        with serve(create_app(settings, start_worker=False), name="siyu-referral-server") as url:
            yield Shop(url, factory)
    finally:
        engine.dispose()


def _sign_in(page: Any, shop: Shop, shopper: str, path: str) -> None:
    if page.url.startswith("http"):
        page.evaluate("window.localStorage.clear()")  # sign the last shopper out
    page.goto(shop.url(path))
    page.wait_for_url("**/shop/login?next=*")
    page.wait_for_selector("#demo-login-form")
    page.fill("#demo-login-form input[name=shopper]", shopper)
    page.click("#demo-login-submit")
    page.wait_for_url(f"**{path}")


def test_apply_share_bind_and_withdraw(page: Any, shop: Shop) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.set_default_timeout(8000)
    _sign_in(page, shop, "promoter-amy", "/shop/promoter")
    page.wait_for_selector("#promoter-apply:not([hidden])")
    page.fill("#apply-form input[name=display_name]", "Amy")
    page.click("#apply-submit")
    page.wait_for_selector("#promoter-centre:not([hidden])")
    code = page.text_content("#promoter-code")
    assert code
    assert len(code) == 8
    assert page.input_value("#promoter-link").endswith(f"/shop?ref={code}")
    assert page.text_content("[data-balance=withdrawable]") == "¥0.00"

    # A friend opens the share link (here: the centre with ?ref=) and signs in.
    _sign_in(page, shop, "friend-bob", f"/shop/promoter?ref={code}")
    page.wait_for_selector("#promoter-apply:not([hidden])")
    with shop.factory() as session:
        promoter = session.scalars(select(Promoter).where(Promoter.code == code)).one()
        bound = session.scalars(select(ReferralBinding)).all()
        assert [row.promoter_id for row in bound] == [promoter.id]
    with transaction(shop.factory) as session:
        accounts.move(session, promoter.id, LedgerKind.COMMISSION, "e2e", Deltas(frozen=3000))
        accounts.move(
            session,
            promoter.id,
            LedgerKind.SETTLE,
            "e2e:settle",
            Deltas(frozen=-3000, withdrawable=3000),
        )

    _sign_in(page, shop, "promoter-amy", "/shop/promoter")
    page.wait_for_selector("#promoter-centre:not([hidden])")
    assert page.text_content("[data-balance=withdrawable]") == "¥30.00"
    page.fill("#withdraw-amount", "40")
    page.click("#withdraw-submit")
    page.wait_for_selector("#shop-flash:not([hidden])")
    assert "不能超过" in page.text_content("#shop-flash")
    page.fill("#withdraw-amount", "20")
    page.click("#withdraw-submit")
    page.wait_for_selector("#promoter-withdrawals li [data-status=requested]")
    assert page.text_content("[data-balance=withdrawable]") == "¥10.00"
    assert page.text_content("[data-balance=withdrawing]") == "¥20.00"
    with shop.factory() as session:
        rows = session.scalars(select(ReferralWithdrawal)).all()
        assert [(row.amount, row.status) for row in rows] == [(2000, "requested")]


def test_the_console_reviews_and_pays_the_withdrawal(page: Any, shop: Shop) -> None:
    """Runs after the storefront test (same module server): its withdrawal is waiting."""
    page.goto(shop.url("/console/login"))
    page.fill("input[name=username]", ADMIN)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(shop.url("/console"))
    page.goto(shop.url("/console/campaigns/referral"))
    page.wait_for_selector("#programmes [data-counter], #programmes tr[data-programme]")
    page.click("#programmes tr[data-programme] a")
    page.wait_for_selector("#referral-counters")
    assert page.text_content("#referral-counters [data-counter=withdrawals_pending] strong") == "1"
    page.goto(shop.url("/console/campaigns/referral/withdrawals"))
    row = page.locator("tr[data-withdrawal][data-status=requested]")
    row.locator("button[data-action=approve]").click()
    page.wait_for_selector("#referral-flash")
    row = page.locator("tr[data-withdrawal][data-status=approved]")
    row.locator("input[name=payout_reference]").fill("WXPAY-0001")
    row.locator("button[data-action=pay]").click()
    page.wait_for_selector("tr[data-withdrawal][data-status=paid]")
    assert "WXPAY-0001" in page.text_content("tr[data-withdrawal][data-status=paid]")
    with shop.factory() as session:
        promoter = session.scalars(select(Promoter)).one()
        assert (promoter.withdrawing_amount, promoter.withdrawn_amount) == (0, 2000)
