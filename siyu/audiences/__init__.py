"""Audiences: warehouse-backed traits, tags, the rule language, segments (人群包), RFM and
lifecycle stages (docs/audiences.md)."""
