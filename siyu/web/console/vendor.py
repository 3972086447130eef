"""htmx and ECharts served from the npm install on this host: the console uses no CDN."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

from siyu.core.http import SettingsDep

logger = logging.getLogger("siyu.web")

router = APIRouter(include_in_schema=False)

# Public name → file inside settings.vendor_dir (node_modules). A fixed table, so a
# request can never name any other file on disk.
VENDOR_FILES = {
    "htmx.min.js": Path("htmx.org/dist/htmx.min.js"),
    "echarts.min.js": Path("echarts/dist/echarts.min.js"),
}


def missing_vendor_files(vendor_dir: Path) -> list[str]:
    return [
        name for name, relative in VENDOR_FILES.items() if not (vendor_dir / relative).is_file()
    ]


def warn_if_missing(vendor_dir: Path) -> None:
    missing = missing_vendor_files(vendor_dir)
    if missing:
        logger.warning(
            "console scripts missing from %s (%s): run `npm install` in the checkout; "
            "the console works without them, but shows no charts",
            vendor_dir,
            ", ".join(missing),
        )


@router.get("/static/vendor/{name}")
def vendor_file(name: str, settings: SettingsDep) -> FileResponse:
    relative = VENDOR_FILES.get(name)
    if relative is None or not (settings.vendor_dir / relative).is_file():
        raise HTTPException(status_code=404)
    return FileResponse(
        settings.vendor_dir / relative,
        media_type="text/javascript",
        # The npm lock pins the version; a day's caching spares the 1 MB ECharts file.
        headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )
