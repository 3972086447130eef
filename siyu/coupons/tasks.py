"""Everything the coupons domain runs in the background, registered on import.

Jobs: ``coupon.expire`` and ``coupon.remind`` (daily, ``siyu.coupons.expiry``).
Handlers: ``order.cancelled`` / ``order.refunded`` give coupons back
(``siyu.coupons.returns``, which also re-points coupons on a customer merge).
Importing ``pricing`` plugs the ``coupon`` step and the ``coupons.redeem`` placement
hook into checkout.
"""

from __future__ import annotations

from siyu.coupons import expiry, pricing, returns

__all__ = ["expiry", "pricing", "returns"]
