"""Stable error codes of the identity graph (identify, merge, conflicts).

The identifier errors (unknown kind, malformed value or phone) live next to the
normalisation rules in ``siyu.customers.kinds``; they are re-exported here so callers
have one place to look.
"""

from __future__ import annotations

from siyu.core.errors import Conflict, NotFound, ValidationFailed
from siyu.customers.kinds import InvalidIdentity, InvalidPhone, UnknownIdentityKind

__all__ = [
    "ConflictClosed",
    "ConflictNotFound",
    "CustomerErased",
    "CustomerNotFound",
    "IdentityConflictError",
    "InvalidIdentity",
    "InvalidMerge",
    "InvalidPhone",
    "InvalidTraits",
    "NoIdentities",
    "UnknownIdentityKind",
]


class NoIdentities(ValidationFailed):
    code = "customer.no_identities"
    message = "At least one identity is required."


class InvalidTraits(ValidationFailed):
    code = "customer.invalid_traits"


class IdentityConflictError(Conflict):
    """Two different values of a single-valued kind would end on one customer."""

    code = "customer.identity_conflict"
    message = "These identities belong to different people; an operator must review them."


class CustomerErased(Conflict):
    code = "customer.erased"
    message = "This identity belongs to an erased customer."


class CustomerNotFound(NotFound):
    code = "customer.not_found"
    message = "Customer not found."


class InvalidMerge(Conflict):
    code = "customer.invalid_merge"


class ConflictNotFound(NotFound):
    code = "customer.conflict_not_found"
    message = "Identity conflict not found."


class ConflictClosed(Conflict):
    code = "customer.conflict_closed"
    message = "This identity conflict is already closed."


class IdentifyContention(Conflict):
    code = "customer.identify_contention"
    message = "Other requests were changing the same identities; retry the call."
