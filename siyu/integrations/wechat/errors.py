"""Stable error codes for calls to WeChat (mini program) and WeChat Pay notifications.

The mini-program codes are what the storefront shows a shopper whose sign-in failed:
a used or invalid ``wx.login`` code means "log in again" (401), WeChat's rate limit or
a busy WeChat means "try again later", anything unknown is a bad gateway.
"""

from __future__ import annotations

from siyu.core.errors import ServiceUnavailable, SiyuError, TooManyRequests, ValidationFailed
from siyu.orders.payments.provider import NotificationInvalid


class WechatError(SiyuError):
    """WeChat answered with an error siyu has no specific meaning for."""

    status = 502
    code = "wechat.error"
    message = "WeChat returned an error."


class WechatCodeInvalid(SiyuError):
    status = 401
    code = "wechat.code_invalid"
    message = "The WeChat login code is invalid; call wx.login again."


class WechatCodeUsed(SiyuError):
    status = 401
    code = "wechat.code_used"
    message = "The WeChat login code was already used; call wx.login again."


class WechatRateLimited(TooManyRequests):
    code = "wechat.rate_limited"
    message = "WeChat is limiting sign-ins right now; try again later."


class WechatUserHighRisk(SiyuError):
    status = 403
    code = "wechat.user_high_risk"
    message = "WeChat flagged this account as high risk; sign-in is refused."


class WechatBusy(ServiceUnavailable):
    code = "wechat.busy"
    message = "WeChat is busy; try again shortly."


class WechatUnavailable(ServiceUnavailable):
    """WeChat could not be reached in time (timeout, refused connection)."""

    code = "wechat.unavailable"
    message = "WeChat could not be reached; try again shortly."


class WechatNotConfigured(ServiceUnavailable):
    code = "wechat.not_configured"
    message = "WeChat sign-in is not configured on this server."


class PayerOpenidRequired(ValidationFailed):
    code = "payment.payer_openid_required"
    message = "WeChat Pay in a mini program needs the payer's openid."


class NotificationUnsupported(NotificationInvalid):
    """A verified notification of an event type siyu does not handle here."""

    status = 400
    code = "payment.notification_unsupported"
    message = "This payment notification type is not supported."
