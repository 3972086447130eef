"""The audience rule language (docs/rules.md): a JSON rule tree over traits,
attributes, tags, identities and tracked events, checked by ``parse``, shown by
``describe``, compiled to DuckDB SQL by ``compile_rule`` and run by ``members``."""

from __future__ import annotations

from siyu.audiences.rules.compile import CompiledRule, compile_rule
from siyu.audiences.rules.context import (
    members,
    open_context,
    register_customer_tags,
    register_oltp_tables,
)
from siyu.audiences.rules.describe import describe
from siyu.audiences.rules.model import Rule
from siyu.audiences.rules.parse import iter_conditions, parse, referenced_tag_ids
from siyu.audiences.rules.preview import preview

__all__ = [
    "CompiledRule",
    "Rule",
    "compile_rule",
    "describe",
    "iter_conditions",
    "members",
    "open_context",
    "parse",
    "preview",
    "referenced_tag_ids",
    "register_customer_tags",
    "register_oltp_tables",
]
