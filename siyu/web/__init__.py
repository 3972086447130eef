"""Web front ends: the operators' console (and, in later issues, the storefront)."""

from __future__ import annotations

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Mount static files and the console routes on ``app``."""
