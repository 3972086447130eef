"""Route parameters shared by the catalog's routers (API, storefront, console)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from siyu.catalog.schemas import MAX_ID

# Bounded so an absurd id is a 422, not a driver error on an out-of-range integer.
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
RequiredQueryId = Annotated[int, Query(ge=1, le=MAX_ID)]
