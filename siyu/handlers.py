"""Where domain event handlers and job tasks are registered.

Handlers and tasks register when their module is imported. The worker must see
every one of them before it starts: a dispatcher that does not know a handler
marks the event done without running it. Each domain that reacts to events or runs
jobs adds its ``tasks`` module here (for example ``"siyu.members.tasks"``).
"""

from __future__ import annotations

import importlib

DOMAIN_TASK_MODULES: tuple[str, ...] = (
    "siyu.core.maintenance",
    "siyu.customers.merge",
    "siyu.orders.tasks",
    "siyu.coupons.tasks",
    "siyu.members.benefits_tasks",
    "siyu.members.tasks",
    "siyu.campaigns.tasks",
    "siyu.warehouse.tasks",
    "siyu.audiences.merge",
    "siyu.audiences.profile",
    "siyu.audiences.tasks",
)


def load_all() -> None:
    for module in DOMAIN_TASK_MODULES:
        importlib.import_module(module)
