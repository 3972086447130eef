"""Stable error codes of the warehouse."""

from __future__ import annotations

from siyu.core.errors import Conflict, ValidationFailed


class InvalidDerivedName(ValidationFailed):
    code = "warehouse.derived_name_invalid"
    message = "A derived table name must be a lower-case identifier that is not a view name."


class SyncBusy(Conflict):
    """Another sync holds the warehouse's lock (one sync at a time)."""

    code = "warehouse.sync_busy"
    message = "A warehouse sync is already running; try again shortly."
