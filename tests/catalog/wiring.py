"""Mount the catalog routers on an app the lead has not wired them into yet.

Added at the front, so the console's "arrives with issue 4" page for /console/catalog
does not shadow the real one. Once ``create_app`` includes them, nothing is added.
"""

from __future__ import annotations

from fastapi import FastAPI

from siyu.catalog import api as catalog_api
from siyu.catalog import shop_api
from siyu.web.console import catalog_pages


def has_catalog(app: FastAPI) -> bool:
    paths = {getattr(route, "path", None) for route in app.router.routes}
    return "/api/v1/catalog/products" in paths and "/console/catalog/products/new" in paths


def mount_catalog(app: FastAPI) -> None:
    if has_catalog(app):
        return
    before = len(app.router.routes)
    app.include_router(catalog_api.router)
    app.include_router(shop_api.router)
    app.include_router(catalog_pages.router)
    added = app.router.routes[before:]
    del app.router.routes[before:]
    app.router.routes[0:0] = added
