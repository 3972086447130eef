"""Stable error codes of the audience engine (traits, RFM, lifecycle, tags, segments, rules)."""

from __future__ import annotations

from siyu.core.errors import BadRequest, ValidationFailed


class AudienceConfigInvalid(ValidationFailed):
    """The audience settings document failed validation (windows, thresholds …)."""

    code = "audience.config_invalid"
    message = "The audience settings are invalid."


class RuleInvalid(BadRequest):
    """A rule (siyu.audiences.rules) that cannot be compiled: ``data`` holds the JSON
    ``path`` of the offending part (``all[1].window.days``) and the ``reason``."""

    code = "audience.rule_invalid"
    message = "The audience rule is invalid."

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path or 'rule'}: {reason}", data={"path": path, "reason": reason})
