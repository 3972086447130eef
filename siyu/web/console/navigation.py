"""The console's side navigation: one entry per domain of DESIGN.md's layout.

Sections that later issues build are listed already, so operators see the whole map;
their pages say what the section will do and which issue brings it, never sample data.
"""

from __future__ import annotations

from dataclasses import dataclass

from siyu.staff.permissions import Permission
from siyu.staff.principal import Principal


@dataclass(frozen=True)
class Section:
    slug: str
    group: str
    # Who may open it; None means every signed-in member of staff.
    permission: Permission | None
    # Built sections have their own routes; the others render the "arrives with" page.
    built: bool = False
    # The issue that brings an unbuilt section; None means a later, unnumbered issue.
    issue: int | None = None

    @property
    def path(self) -> str:
        return "/console" if self.slug == "dashboard" else f"/console/{self.slug}"

    @property
    def title_key(self) -> str:
        return f"nav.{self.slug}"


SECTIONS: tuple[Section, ...] = (
    Section("dashboard", "overview", None, built=True),
    Section("customers", "people", Permission.CUSTOMERS_READ, built=True),
    Section("events", "people", Permission.ANALYTICS_READ, built=True),
    Section("catalog", "trade", Permission.CATALOG_MANAGE, built=True),
    Section("orders", "trade", Permission.ORDERS_READ, built=True),
    Section("members", "marketing", Permission.MEMBERS_MANAGE, built=True),
    Section("coupons", "marketing", Permission.COUPONS_MANAGE, built=True),
    Section("campaigns", "marketing", Permission.CAMPAIGNS_MANAGE, built=True),
    Section("channel-codes", "marketing", Permission.CUSTOMERS_READ, built=True),
    Section("audiences", "engagement", Permission.AUDIENCES_MANAGE, built=True),
    Section("journeys", "engagement", Permission.JOURNEYS_MANAGE),
    Section("channels", "engagement", Permission.CHANNELS_MANAGE),
    Section("guides", "engagement", Permission.GUIDES_MANAGE),
    # Community groups are run by guides, so the guide permission opens them.
    Section("community", "engagement", Permission.GUIDES_MANAGE),
    Section("analytics", "data", Permission.ANALYTICS_READ, built=True),
    Section("warehouse", "data", Permission.ANALYTICS_READ, built=True),
    Section("staff", "settings", Permission.STAFF_MANAGE, built=True),
    Section("audit", "settings", Permission.AUDIT_READ, built=True),
    Section("system", "settings", Permission.SYSTEM_MANAGE, built=True),
)

GROUPS: tuple[str, ...] = (
    "overview",
    "people",
    "trade",
    "marketing",
    "engagement",
    "data",
    "settings",
)

SECTIONS_BY_SLUG = {section.slug: section for section in SECTIONS}


def may_open(principal: Principal, section: Section) -> bool:
    return section.permission is None or principal.has(section.permission)


@dataclass(frozen=True)
class NavGroup:
    key: str
    sections: list[Section]


def navigation_for(principal: Principal) -> list[NavGroup]:
    """Groups with the sections ``principal`` may open; empty groups are left out."""
    groups = []
    for group in GROUPS:
        visible = [s for s in SECTIONS if s.group == group and may_open(principal, s)]
        if visible:
            groups.append(NavGroup(group, visible))
    return groups
