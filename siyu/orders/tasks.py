"""Everything the orders domain runs in the background, registered on import.

Jobs: ``order.expire``, ``order.auto_complete``, ``order.finalise`` (lifecycle),
``payment.close`` (payments), ``refund.submit`` (refunds). Merges: orders and cart
items follow a merged customer to the survivor (``siyu.orders.merge``).
"""

from __future__ import annotations

from siyu.orders import lifecycle, merge, refunds
from siyu.orders.payments import service as payment_service

__all__ = ["lifecycle", "merge", "payment_service", "refunds"]
