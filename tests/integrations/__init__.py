"""Tests of clients for outside platforms, against local fakes (tests/fakes)."""
