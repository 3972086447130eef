"""Error codes of the staff domain."""

from __future__ import annotations

from siyu.core.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    TooManyRequests,
    Unauthorized,
    ValidationFailed,
)


class UsernameTaken(Conflict):
    code = "staff.username_taken"
    message = "That username is already taken."


class StaffNotFound(NotFound):
    code = "staff.not_found"
    message = "No such staff member."


class InvalidCredentials(Unauthorized):
    # One message for an unknown user and a wrong password: never reveal which.
    code = "auth.invalid_credentials"
    message = "Invalid username or password."


class LoginLocked(TooManyRequests):
    code = "auth.locked"
    message = "Too many failed logins; try again later."


class InvalidToken(Unauthorized):
    code = "auth.invalid_token"
    message = "The token is invalid, expired or revoked."


class TokenNotFound(NotFound):
    code = "token.not_found"
    message = "No such token."


class WeakPassword(ValidationFailed):
    code = "staff.weak_password"


class InvalidUsername(ValidationFailed):
    code = "staff.invalid_username"


class LastAdmin(Conflict):
    code = "staff.last_admin"
    message = "At least one active admin must remain."


class SelfLockout(PermissionDenied):
    code = "staff.cannot_disable_self"
    message = "You cannot disable your own account."
