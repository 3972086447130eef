"""Customer merges: bargains, assists, helps and daily tallies follow the survivor,
one live bargain per deal per person is kept, and the audit still matches."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.campaigns import helping
from siyu.campaigns.assist import assists
from siyu.campaigns.bargain import bargains, plan_audit
from siyu.core.clock import FrozenClock
from siyu.core.crypto import PiiCipher
from siyu.core.settings import Settings
from siyu.customers.merge import merge_customers
from siyu.models.bargain import AssistHelp, Bargain, BargainHelp
from tests.campaigns.assist.factories import make_assist_deal
from tests.campaigns.bargain.factories import make_deal, make_helper
from tests.orders.factories import ADDRESS


def test_merge_moves_bargains_helps_and_tallies(
    session: Session, cipher: PiiCipher, settings: Settings, frozen_clock: FrozenClock
) -> None:
    made = make_deal(session, expected_helpers=5)
    other = make_deal(session, expected_helpers=5)
    assist_deal = make_assist_deal(session, required_assists=3)
    survivor = make_helper(session, cipher)
    merged = make_helper(session, cipher)
    # Both accounts started a bargain on the same deal; the merged one also one elsewhere.
    kept = bargains.start(session, made.campaign, made.deal, survivor.id)
    closed = bargains.start(session, made.campaign, made.deal, merged.id)
    moved = bargains.start(session, other.campaign, other.deal, merged.id)
    # Both helped one stranger's bargain; the merged account helped another one too.
    stranger = bargains.start(session, other.campaign, other.deal, make_helper(session, cipher).id)
    bargains.help_bargain(session, stranger, survivor.id)
    bargains.help_bargain(session, stranger, merged.id)
    bargains.help_bargain(session, kept, merged.id)
    assist = assists.start(
        session, assist_deal.campaign, assist_deal.deal, make_helper(session, cipher).id
    )
    assists.help_assist(session, assist, merged.id)

    merge_customers(session, "test", survivor.id, merged.id, "same person")
    session.expire_all()
    owners = {
        row.public_id: (row.customer_id, row.status) for row in session.scalars(select(Bargain))
    }
    assert owners[kept.public_id] == (survivor.id, "active")
    assert owners[closed.public_id] == (survivor.id, "expired")
    assert owners[moved.public_id] == (survivor.id, "active")
    helpers = session.execute(
        select(BargainHelp.bargain_id, BargainHelp.helper_customer_id).order_by(BargainHelp.id)
    ).all()
    # The help on the bargain both helped stays on the merged account (history).
    assert [tuple(row) for row in helpers] == [
        (stranger.id, survivor.id),
        (stranger.id, merged.id),
        (kept.id, survivor.id),
    ]
    assert session.scalar(select(AssistHelp.helper_customer_id)) == survivor.id
    # Helps a day count per person: 1 + 2 bargain helps, 1 assist.
    assert helping.helps_today(session, survivor.id, helping.BARGAIN) == 3
    assert helping.helps_today(session, survivor.id, helping.ASSIST) == 1
    assert helping.helps_today(session, merged.id, helping.BARGAIN) == 0
    assert plan_audit.audit(session, stranger).matches is True
    # The survivor buys the bargain the merged account started.
    order = bargains.buy(
        session, cipher, settings, moved, survivor.id, bargains.BuyRequest(address=ADDRESS)
    )
    assert order.customer_id == survivor.id
