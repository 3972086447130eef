"""Who is acting: the authenticated caller every service receives."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from siyu.core.errors import PermissionDenied
from siyu.models.staff import Role, Staff
from siyu.staff.permissions import Permission, permissions_for


class AuthMethod(StrEnum):
    SESSION = "session"
    TOKEN = "token"
    CLI = "cli"
    SYSTEM = "system"


@dataclass(frozen=True)
class Principal:
    staff_id: int | None
    username: str
    roles: frozenset[Role]
    permissions: frozenset[Permission]
    store_id: int | None = None
    ip: str | None = None
    via: AuthMethod = AuthMethod.SYSTEM

    def has(self, permission: Permission) -> bool:
        return permission in self.permissions

    def require(self, permission: Permission) -> None:
        if permission not in self.permissions:
            raise PermissionDenied(data={"permission": str(permission)})


def principal_for_staff(staff: Staff, *, via: AuthMethod, ip: str | None) -> Principal:
    """Build a principal; ``staff.roles`` must have been loaded eagerly."""
    roles = frozenset(Role(link.role) for link in staff.roles)
    return Principal(
        staff_id=staff.id,
        username=staff.username,
        roles=roles,
        permissions=permissions_for(roles),
        store_id=staff.store_id,
        ip=ip,
        via=via,
    )


def command_line_principal(username: str = "cli") -> Principal:
    """The operator at the server's shell: it can already read the database, so it may do all."""
    return Principal(
        staff_id=None,
        username=username,
        roles=frozenset({Role.ADMIN}),
        permissions=frozenset(Permission),
        via=AuthMethod.CLI,
    )
