"""Named permissions and the roles that grant them.

Roles are fixed in code rather than editable in the database: every later issue
adds permissions here together with the code that checks them, and a reviewer sees
in one diff who may do what. Custom roles can come later without changing callers,
which only ever ask ``principal.has(Permission.X)``.
"""

from __future__ import annotations

from enum import StrEnum

from siyu.models.staff import Role


class Permission(StrEnum):
    CUSTOMERS_READ = "customers.read"
    CUSTOMERS_WRITE = "customers.write"
    CUSTOMERS_PII = "customers.pii"
    EVENTS_TRACK = "events.track"
    CATALOG_MANAGE = "catalog.manage"
    ORDERS_READ = "orders.read"
    ORDERS_MANAGE = "orders.manage"
    ORDERS_REFUND = "orders.refund"
    MEMBERS_MANAGE = "members.manage"
    # Manual points adjustments move value by hand: admins only unless granted.
    POINTS_ADJUST = "points.adjust"
    COUPONS_MANAGE = "coupons.manage"
    COUPONS_REDEEM = "coupons.redeem"
    CAMPAIGNS_MANAGE = "campaigns.manage"
    # Approving a promoter's withdrawal pays money out: admins only unless granted.
    REFERRAL_PAYOUT = "referral.payout"
    AUDIENCES_MANAGE = "audiences.manage"
    JOURNEYS_MANAGE = "journeys.manage"
    CHANNELS_MANAGE = "channels.manage"
    GUIDES_MANAGE = "guides.manage"
    ANALYTICS_READ = "analytics.read"
    STAFF_MANAGE = "staff.manage"
    AUDIT_READ = "audit.read"
    SYSTEM_MANAGE = "system.manage"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.OPERATOR: frozenset(
        {
            Permission.CUSTOMERS_READ,
            Permission.CUSTOMERS_WRITE,
            Permission.EVENTS_TRACK,
            Permission.CATALOG_MANAGE,
            Permission.ORDERS_READ,
            Permission.ORDERS_MANAGE,
            Permission.ORDERS_REFUND,
            Permission.MEMBERS_MANAGE,
            Permission.COUPONS_MANAGE,
            Permission.COUPONS_REDEEM,
            Permission.CAMPAIGNS_MANAGE,
            Permission.AUDIENCES_MANAGE,
            Permission.JOURNEYS_MANAGE,
            Permission.CHANNELS_MANAGE,
            Permission.GUIDES_MANAGE,
            Permission.ANALYTICS_READ,
        }
    ),
    Role.ANALYST: frozenset(
        {Permission.CUSTOMERS_READ, Permission.ORDERS_READ, Permission.ANALYTICS_READ}
    ),
    Role.STORE_MANAGER: frozenset(
        {
            Permission.CUSTOMERS_READ,
            Permission.CUSTOMERS_WRITE,
            Permission.ORDERS_READ,
            Permission.ORDERS_MANAGE,
            Permission.ORDERS_REFUND,
            Permission.COUPONS_REDEEM,
            Permission.GUIDES_MANAGE,
            Permission.ANALYTICS_READ,
        }
    ),
    # Server-to-server callers (the brand's mini-program backend, a POS, an ETL job):
    # they identify customers and send events, and read nothing back.
    Role.INTEGRATION: frozenset({Permission.CUSTOMERS_WRITE, Permission.EVENTS_TRACK}),
    Role.GUIDE: frozenset(
        {
            Permission.CUSTOMERS_READ,
            Permission.CUSTOMERS_WRITE,
            Permission.ORDERS_READ,
            Permission.COUPONS_REDEEM,
        }
    ),
}


def permissions_for(roles: frozenset[Role]) -> frozenset[Permission]:
    granted: set[Permission] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS[role]
    return frozenset(granted)
