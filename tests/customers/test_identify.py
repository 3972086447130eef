"""identify(): create, link, merge, weak identities, traits, validation, last_seen."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.core import clock
from siyu.customers.errors import InvalidTraits, NoIdentities
from siyu.customers.identify import (
    IdentityInput,
    Resolution,
    Traits,
    identify,
    link_staff,
    resolve_batch,
    resolve_customer_id,
    validate_identities,
)
from siyu.customers.kinds import InvalidIdentity, InvalidPhone, UnknownIdentityKind
from siyu.models.customer import Customer, CustomerIdentity, CustomerStaffLink, CustomerStatus
from tests.customers.factories import make_cipher, make_customer
from tests.factories import make_staff

cipher = make_cipher()
UNION = IdentityInput("unionid", "o6_union_1")
OPENID = IdentityInput("oa_openid", "oXy_open_1", "wx123")
PHONE = IdentityInput("phone", "+86 138-0013-5678")


def _count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _identities_of(session: Session, customer_id: int) -> set[tuple[str, str]]:
    rows = session.execute(
        select(CustomerIdentity.kind, CustomerIdentity.namespace).where(
            CustomerIdentity.customer_id == customer_id
        )
    )
    return {(row.kind, row.namespace) for row in rows}


def test_first_call_creates_and_repeat_resolves(session: Session) -> None:
    first = identify(session, cipher, None, [UNION, OPENID], None, source="test")
    again = identify(session, cipher, None, [OPENID], None, source="test")
    assert first.created is True
    assert first.merged_customer_ids == []
    assert again.created is False
    assert again.customer_id == first.customer_id
    assert _identities_of(session, first.customer_id) == {("unionid", ""), ("oa_openid", "wx123")}


def test_new_identity_links_to_existing_customer(session: Session) -> None:
    customer = make_customer(session, cipher, identities=[UNION])
    result = identify(session, cipher, None, [UNION, PHONE], None, source="test")
    assert (result.customer_id, result.created) == (customer.id, False)
    phone_row = session.scalars(
        select(CustomerIdentity).where(CustomerIdentity.kind == "phone")
    ).one()
    # Stored encrypted with a keyed hash; never in clear.
    assert phone_row.value is None
    assert phone_row.lookup_key != "13800135678"
    assert phone_row.encrypted_value is not None
    assert cipher.decrypt(phone_row.encrypted_value, context="phone") == "13800135678"
    # Another spelling of the same number finds the same customer.
    again = identify(
        session, cipher, None, [IdentityInput("phone", "13800135678")], None, source="t"
    )
    assert again.customer_id == customer.id


def test_strong_identities_of_two_customers_merge_into_oldest(session: Session) -> None:
    now = clock.now()
    older = make_customer(session, cipher, identities=[OPENID], created_at=now - timedelta(days=2))
    newer = make_customer(session, cipher, identities=[UNION], created_at=now - timedelta(days=1))
    result = identify(session, cipher, None, [UNION, OPENID], None, source="test")
    assert result.customer_id == older.id
    assert result.merged_customer_ids == [newer.id]
    assert result.created is False
    session.expire_all()
    merged = session.get(Customer, newer.id)
    assert merged is not None
    assert (merged.status, merged.merged_into_id) == (CustomerStatus.MERGED, older.id)
    assert _identities_of(session, older.id) == {("unionid", ""), ("oa_openid", "wx123")}
    assert resolve_customer_id(session, newer.id) == older.id
    assert resolve_customer_id(session, older.id) == older.id
    assert resolve_customer_id(session, 10**9) is None


def test_anonymous_history_is_stitched_into_strong_customer(session: Session) -> None:
    now = clock.now()
    anonymous = make_customer(
        session,
        cipher,
        identities=[IdentityInput("anonymous_id", "device-1")],
        created_at=now - timedelta(days=5),
    )
    strong = make_customer(session, cipher, identities=[UNION], created_at=now)
    result = identify(
        session,
        cipher,
        None,
        [UNION, IdentityInput("anonymous_id", "device-1")],
        None,
        source="test",
    )
    # The strong customer survives even though the anonymous one is older.
    assert result.customer_id == strong.id
    assert result.merged_customer_ids == [anonymous.id]
    assert _identities_of(session, strong.id) == {("unionid", ""), ("anonymous_id", "")}


def test_shared_device_is_not_a_reason_to_merge(session: Session) -> None:
    device = IdentityInput("anonymous_id", "family-ipad")
    first = make_customer(session, cipher, identities=[UNION, device])
    other = IdentityInput("unionid", "o6_union_2")
    result = identify(session, cipher, None, [other, device], None, source="test")
    assert result.created is True
    assert result.merged_customer_ids == []
    assert result.customer_id != first.id
    # The weak identity stays where it was.
    assert _identities_of(session, first.id) == {("unionid", ""), ("anonymous_id", "")}
    assert _identities_of(session, result.customer_id) == {("unionid", "")}
    # Alone, the device still resolves to its owner.
    alone = identify(session, cipher, None, [device], None, source="test")
    assert alone.customer_id == first.id


@pytest.mark.parametrize(
    ("identity", "error"),
    [
        (IdentityInput("fax", "123"), UnknownIdentityKind),
        (IdentityInput("phone", "12345"), InvalidPhone),
        (IdentityInput("oa_openid", "oX"), InvalidIdentity),  # no app_id
        (IdentityInput("unionid", "  "), InvalidIdentity),
    ],
)
def test_bad_identity_writes_nothing(
    session: Session, identity: IdentityInput, error: type[Exception]
) -> None:
    with pytest.raises(error):
        identify(session, cipher, None, [UNION, identity], None, source="test")
    assert _count(session, Customer) == 0
    assert _count(session, CustomerIdentity) == 0


def test_no_identities_is_refused(session: Session) -> None:
    with pytest.raises(NoIdentities):
        identify(session, cipher, None, [], None, source="test")


def test_traits_overwrite_clear_and_merge_consent(session: Session) -> None:
    created = identify(
        session,
        cipher,
        None,
        [UNION],
        Traits.of(
            name=" 小红 ",
            gender="female",
            birthday=date(1998, 5, 2),
            city="杭州",
            consent={"marketing": True},
        ),
        source="test",
    )
    identify(
        session,
        cipher,
        None,
        [UNION],
        Traits.of(city=None, consent={"analytics": False}),
        source="test",
    )
    customer = session.get(Customer, created.customer_id)
    assert customer is not None
    session.refresh(customer)
    assert (customer.name, customer.gender, customer.birthday) == (
        "小红",
        "female",
        date(1998, 5, 2),
    )
    assert customer.city is None  # explicit null clears
    assert customer.consent == {"marketing": True, "analytics": False}


@pytest.mark.parametrize(
    "traits",
    [
        Traits.of(gender="robot"),
        Traits.of(birthday=date(2999, 1, 1)),
        Traits.of(name=""),
        Traits.of(consent=None),
    ],
)
def test_invalid_traits_are_422_and_write_nothing(session: Session, traits: Traits) -> None:
    with pytest.raises(InvalidTraits) as caught:
        identify(session, cipher, None, [UNION], traits, source="test")
    assert caught.value.status == 422
    assert caught.value.code == "customer.invalid_traits"
    assert _count(session, Customer) == 0


def test_last_seen_is_written_at_most_once_a_minute(
    session: Session, frozen_clock: clock.FrozenClock
) -> None:
    start = clock.now()
    created = identify(session, cipher, None, [UNION], None, source="test")
    frozen_clock.advance(timedelta(seconds=30))
    identify(session, cipher, None, [UNION], None, source="test")
    row = session.scalars(select(CustomerIdentity)).one()
    session.refresh(row)
    assert row.last_seen_at == start
    frozen_clock.advance(timedelta(seconds=31))
    identify(session, cipher, None, [UNION], None, source="test")
    session.refresh(row)
    assert row.last_seen_at == start + timedelta(seconds=61)
    customer = session.get(Customer, created.customer_id)
    assert customer is not None
    session.refresh(customer)
    assert customer.last_seen_at == start + timedelta(seconds=61)


def test_link_staff_is_idempotent_and_keeps_earliest(session: Session) -> None:
    guide = make_staff(session)
    customer = make_customer(session, cipher, identities=[UNION])
    later = clock.now()
    earlier = later - timedelta(days=1)
    link_staff(
        session,
        customer.id,
        guide.id,
        corp_id="ww1",
        external_userid="wm1",
        state="c1",
        added_at=later,
    )
    link = link_staff(
        session,
        customer.id,
        guide.id,
        corp_id="ww1",
        external_userid="wm1",
        state="c0",
        added_at=earlier,
    )
    assert _count(session, CustomerStaffLink) == 1
    assert (link.added_at, link.state, link.corp_id) == (earlier, "c0", "ww1")


def test_resolve_batch_looks_up_creates_and_merges_in_input_order(session: Session) -> None:
    known = make_customer(session, cipher, identities=[IdentityInput("anonymous_id", "known")])
    other = make_customer(session, cipher, identities=[IdentityInput("unionid", "u-other")])
    sets = [
        [IdentityInput("anonymous_id", "known")],
        [IdentityInput("anonymous_id", "fresh")],
        [IdentityInput("anonymous_id", "fresh")],
        # Several identities: the full identify (here: a merge of two customers).
        [IdentityInput("unionid", "u-other"), IdentityInput("anonymous_id", "known")],
        [IdentityInput("phone", "13800135678")],
    ]
    results = resolve_batch(session, cipher, sets, source="ingest")
    fresh = results[1].customer_id
    phone_owner = results[4].customer_id
    assert results == [
        Resolution(other.id, False),  # "known" was stitched into `other` by set 4
        Resolution(fresh, True),
        Resolution(fresh, False),
        Resolution(other.id, False),
        Resolution(phone_owner, True),
    ]
    assert len({fresh, phone_owner, other.id, known.id}) == 4
    assert resolve_customer_id(session, known.id) == other.id
    assert _count(session, CustomerIdentity) == 4
    again = resolve_batch(session, cipher, [[IdentityInput("phone", "138 0013 5678")]], source="x")
    assert again == [Resolution(phone_owner, False)]


def test_validate_identities_raises_the_first_error() -> None:
    with pytest.raises(UnknownIdentityKind):
        validate_identities(cipher, [UNION, IdentityInput("fax", "1"), IdentityInput("phone", "1")])
    assert [item.key.kind.value for item in validate_identities(cipher, [UNION, PHONE])] == [
        "unionid",
        "phone",
    ]
