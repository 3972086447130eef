"""Assist tests share the members' settings and cipher fixtures and the frozen clock."""

from __future__ import annotations

from tests.members.mall_factories import cipher, settings

__all__ = ["cipher", "settings"]
