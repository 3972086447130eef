"""Customer factories shared by every customer-related test module (keyword-only, typed)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from siyu.core import clock
from siyu.core.crypto import PiiCipher
from siyu.customers.identify import IdentityInput
from siyu.customers.kinds import normalise
from siyu.models.customer import Customer, CustomerIdentity

TEST_SECRET_KEY = "test-secret-key-" + "x" * 32


def make_cipher() -> PiiCipher:
    """The cipher the `api` fixture's app uses (same secret as `test_settings`)."""
    return PiiCipher(TEST_SECRET_KEY)


def make_customer(
    session: Session,
    cipher: PiiCipher,
    *,
    identities: Sequence[IdentityInput] = (),
    guide_id: int | None = None,
    store_id: int | None = None,
    name: str | None = None,
    created_at: datetime | None = None,
) -> Customer:
    """A live customer owning ``identities`` (written directly, no identify logic)."""
    now = clock.now()
    customer = Customer(
        name=name,
        guide_id=guide_id,
        store_id=store_id,
        consent={},
        created_at=created_at or now,
        updated_at=created_at or now,
    )
    session.add(customer)
    session.flush()
    for item in identities:
        normalised = normalise(cipher, item.kind, item.value, item.namespace)
        session.add(
            CustomerIdentity(
                customer_id=customer.id,
                kind=normalised.key.kind.value,
                namespace=normalised.key.namespace,
                lookup_key=normalised.key.lookup_key,
                value=normalised.value,
                encrypted_value=normalised.encrypted_value,
                created_at=now,
                last_seen_at=now,
            )
        )
    session.flush()
    return customer
