"""Stable error codes of segments (人群包)."""

from __future__ import annotations

from siyu.core.errors import Conflict, NotFound, PayloadTooLarge, ValidationFailed


class SegmentNotFound(NotFound):
    code = "audience.segment_not_found"
    message = "No such segment."


class SegmentExists(Conflict):
    code = "audience.segment_exists"
    message = "A segment with this name already exists."


class InvalidSegment(ValidationFailed):
    code = "audience.segment_invalid"
    message = "The segment is invalid."


class SegmentArchived(Conflict):
    code = "audience.segment_archived"
    message = "The segment is archived."


class WrongSegmentKind(Conflict):
    """Uploading ids into a rule segment, or refreshing a static list by rule."""

    code = "audience.segment_wrong_kind"
    message = "This does not apply to this kind of segment."


class StaticFileEmpty(ValidationFailed):
    code = "audience.static_empty"
    message = "The file holds no customer ids."


class StaticFileUnreadable(ValidationFailed):
    code = "audience.static_unreadable"
    message = "The file must be UTF-8 CSV text."


class StaticFileTooLarge(PayloadTooLarge):
    code = "audience.static_too_large"
    message = "The file holds too many rows."


class WarehouseNotSynced(Conflict):
    """Evaluating a rule on a warehouse that was never synced would find nobody and
    empty every segment (with an exit event per member): refused instead."""

    code = "audience.warehouse_not_synced"
    message = "The warehouse has not been synced yet; run `siyu warehouse sync` first."
