"""An identify that keeps losing races ends in a clean 409, never a 500."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from siyu.customers import identify
from siyu.customers.errors import IdentifyContention
from siyu.customers.identify import IdentityInput
from siyu.models.customer import Customer
from tests.customers.factories import make_cipher


def test_exhausted_retries_raise_contention(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []

    def always_races(*_args: object, **_kwargs: object) -> None:
        calls.append(1)
        raise IntegrityError("INSERT", {}, Exception("duplicate key"))

    monkeypatch.setattr(identify, "_identify_once", always_races)
    before = session.scalar(select(func.count()).select_from(Customer))
    with pytest.raises(IdentifyContention) as raised:
        identify.identify(
            session,
            make_cipher(),
            None,
            [IdentityInput("unionid", "u-race")],
            None,
            source="test",
        )
    assert raised.value.status == 409
    assert raised.value.code == "customer.identify_contention"
    assert len(calls) == identify.MAX_ATTEMPTS
    assert session.scalar(select(func.count()).select_from(Customer)) == before
