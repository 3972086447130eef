"""The customer 360 services, one module per use case, gathered for callers.

``from siyu.customers import service as customer_service`` then
``customer_service.get_profile(...)``, ``.search(...)``, ``.timeline(...)``,
``.export_customer(...)``, ``.erase_customer(...)``.
"""

from __future__ import annotations

from siyu.customers.errors import CustomerNotFound
from siyu.customers.privacy import AlreadyErased, ReasonRequired, erase_customer, export_customer
from siyu.customers.profile import find_customer, get_profile, may_see_pii
from siyu.customers.search import CustomerFilter, search
from siyu.customers.timeline import InvalidCursor, InvalidLimit, timeline

__all__ = [
    "AlreadyErased",
    "CustomerFilter",
    "CustomerNotFound",
    "InvalidCursor",
    "InvalidLimit",
    "ReasonRequired",
    "erase_customer",
    "export_customer",
    "find_customer",
    "get_profile",
    "may_see_pii",
    "search",
    "timeline",
]
