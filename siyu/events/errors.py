"""Error codes of event tracking.

Per-event problems are not raised: they are reported in the batch response's
``rejected`` list with these codes. Whole-request problems are raised.
"""

from __future__ import annotations

from siyu.core.errors import PayloadTooLarge, TooManyRequests

INVALID_EVENT = "event.invalid"
INVALID_EVENT_ID = "event.invalid_event_id"
INVALID_TYPE = "event.invalid_type"
INVALID_OCCURRED_AT = "event.invalid_occurred_at"
OCCURRED_IN_FUTURE = "event.occurred_in_future"
OCCURRED_TOO_LONG_AGO = "event.occurred_too_long_ago"
INVALID_PROPERTIES = "event.invalid_properties"
INVALID_CONTEXT = "event.invalid_context"
INVALID_TOUCHPOINT = "event.invalid_touchpoint"
UNKNOWN_CHANNEL_CODE = "event.unknown_channel_code"
NO_IDENTITY = "event.no_identity"
ANONYMOUS_ONLY = "event.anonymous_only"
# Identity codes (customer.unknown_identity_kind, customer.invalid_identity,
# customer.invalid_phone) come from siyu.customers.kinds unchanged.


class BatchTooLarge(PayloadTooLarge):
    code = "event.batch_too_large"
    message = "A batch holds at most 1,000 events and 1 MB."


class TrackRateLimited(TooManyRequests):
    code = "event.rate_limited"
    message = "Too many anonymous tracking requests from this address; try again later."
