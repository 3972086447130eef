"""Stable error codes of coupon templates, issuing and redemption."""

from __future__ import annotations

from siyu.core.errors import (
    Conflict,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    ServiceUnavailable,
    ValidationFailed,
)


class TemplateNotFound(NotFound):
    code = "coupon.template_not_found"
    message = "No such coupon template."


class InvalidTemplate(ValidationFailed):
    """A template whose fields contradict its kind (a threshold below its discount …)."""

    code = "coupon.template_invalid"
    message = "The coupon template is invalid."


class TemplateLocked(Conflict):
    """Coupons were issued: what they promise (kind, amounts, scope) can no longer change."""

    code = "coupon.template_locked"
    message = "Coupons were issued from this template; this field can no longer change."


class TemplateStateConflict(Conflict):
    code = "coupon.template_invalid_transition"
    message = "The template's status does not allow this."


class CouponNotFound(NotFound):
    code = "coupon.not_found"
    message = "No such coupon."


class NotClaimable(Conflict):
    """The template is not active, outside its claim window or no longer valid."""

    code = "coupon.not_claimable"
    message = "This coupon cannot be claimed now."


class Exhausted(Conflict):
    code = "coupon.exhausted"
    message = "All coupons of this kind have been claimed."


class LimitReached(Conflict):
    code = "coupon.limit_reached"
    message = "You have claimed as many of these coupons as allowed."


class TierRequired(PermissionDenied):
    code = "coupon.tier_required"
    message = "This coupon is for members of a higher tier."


class AlreadyUsed(Conflict):
    code = "coupon.already_used"
    message = "This coupon has already been used."


class Expired(Conflict):
    code = "coupon.expired"
    message = "This coupon has expired."


class NotApplicable(ValidationFailed):
    """The coupon exists and is the buyer's, but not for this order (scope, threshold …)."""

    code = "coupon.not_applicable"
    message = "This coupon cannot be used for this order."


class NotStackable(Conflict):
    code = "coupon.not_stackable"
    message = "These coupons cannot be used together."


class StoreNotAllowed(PermissionDenied):
    code = "coupon.store_not_allowed"
    message = "You can only write off coupons at your own store."


class GrantTooLarge(PayloadTooLarge):
    code = "coupon.grant_too_large"
    message = "A grant holds too many rows."


class InvalidGrant(ValidationFailed):
    code = "coupon.grant_invalid"
    message = "The grant file could not be read."


class ClaimUnavailable(ServiceUnavailable):
    """The claim could not be written (the database refused it for a reason that is
    not a business rule); nothing was issued, and the claim can be retried."""

    code = "coupon.claim_unavailable"
    message = "The claim could not be recorded; please try again."
