"""Web front ends: the operators' console (/console) and the H5 storefront (/shop)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from siyu.web.console import console_router, vendor
from siyu.web.console.errors import install_console_error_handlers
from siyu.web.storefront import storefront_router
from siyu.web.storefront.errors import install_storefront_error_handler

STATIC_DIR = Path(__file__).resolve().parent / "static"


def install(app: FastAPI) -> None:
    """Mount static files and the console routes on ``app``."""
    install_console_error_handlers(app)
    install_storefront_error_handler(app)
    app.include_router(console_router())
    app.include_router(storefront_router())
    # The vendor route must come before the /static mount, which would swallow it.
    app.include_router(vendor.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    vendor.warn_if_missing(app.state.settings.vendor_dir)
