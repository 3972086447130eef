"""The ``clv`` section of the customer 360 profile (``siyu.customers.profile_sections``).

One primary-key read of ``customer_value`` (the latest scoring run); a customer
never scored (no paid order yet, or no run since) has an empty section.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from siyu.customers import profile_sections
from siyu.models.analytics import CustomerValue

SECTION = "clv"


def clv_section(session: Session, customer_id: int) -> dict[str, Any]:
    row = session.get(CustomerValue, customer_id)
    if row is None:
        return {}
    return {
        # Rounded for reading: the models are not more precise than this.
        "probability_alive": round(row.probability_alive, 4),
        "expected_purchases_90d": round(row.expected_purchases_90d, 3),
        "expected_purchases_365d": round(row.expected_purchases_365d, 3),
        "expected_order_value": row.expected_order_value,
        "expected_value_90d": row.expected_value_90d,
        "expected_value_365d": row.expected_value_365d,
        "fit_id": row.fit_id,
        "computed_at": row.computed_at,
    }


profile_sections.register(SECTION, clv_section)
