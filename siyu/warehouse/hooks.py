"""After-sync hooks: work that follows each scheduled warehouse sync.

The ``warehouse.sync`` job runs :func:`siyu.warehouse.export.sync`, then every hook
registered here, in one transaction (the audiences register their incremental
refresh). Hooks register at import time of their module, like job tasks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from siyu.warehouse.engine import Warehouse
    from siyu.warehouse.export import SyncResult

AfterSyncHook = Callable[[Session, "Warehouse", "SyncResult"], None]

_hooks: list[AfterSyncHook] = []
logger = logging.getLogger("siyu.warehouse")


def register_after_sync(fn: AfterSyncHook) -> AfterSyncHook:
    """Run ``fn(session, warehouse, result)`` after every scheduled sync (idempotent)."""
    if fn not in _hooks:
        _hooks.append(fn)
    return fn


def after_sync_hooks() -> list[AfterSyncHook]:
    return list(_hooks)


def run_after_sync(session: Session, warehouse: Warehouse, result: SyncResult) -> list[str]:
    """Run every hook, each in a savepoint: a failing hook is logged and rolled back
    and the others still run. Returns the names of the hooks that failed."""
    failed = []
    for hook in after_sync_hooks():
        try:
            with session.begin_nested():
                hook(session, warehouse, result)
        except Exception:
            logger.exception("after-sync hook %r failed", hook)
            failed.append(getattr(hook, "__qualname__", repr(hook)))
    return failed
