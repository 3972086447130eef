"""Stable error codes of analytics."""

from __future__ import annotations

from siyu.core.errors import BadRequest, NotFound


class InvalidPeriod(BadRequest):
    """A date range that is empty, reversed or longer than analytics allows."""

    code = "analytics.invalid_period"
    message = "The date range is invalid."


class InvalidSlice(BadRequest):
    """A slice dimension, attribution model, grain or filter that is not known here."""

    code = "analytics.invalid_slice"
    message = "The slice is not known."


class InvalidAnalyticsRequest(BadRequest):
    """Anything else a view cannot compute from what was asked (funnel steps, goal plan …)."""

    code = "analytics.invalid_request"
    message = "The analytics request is invalid."


class NotEnoughData(BadRequest):
    """A model cannot be fitted or a comparison made on the data there is."""

    code = "analytics.not_enough_data"
    message = "There is not enough data for this analysis."


class AnalyticsObjectNotFound(NotFound):
    code = "analytics.not_found"
    message = "The goal, fit or campaign was not found."
