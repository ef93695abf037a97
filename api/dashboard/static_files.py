"""The dashboard's CSS and JS, served from the package (no CDN: installs may be offline)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response

from api.dashboard.web import HERE

router = APIRouter(include_in_schema=False)
STATIC = HERE / "static"
TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
# Only files that ship in the package, looked up by name: no path from the URL reaches the disk.
FILES = {p.name: p for p in STATIC.iterdir() if p.suffix in TYPES}


@router.get("/static/dashboard/{name}")
async def static_file(name: str) -> Response:
    """A packaged asset, cached for an hour (names are stable within a release)."""
    path = FILES.get(name)
    if path is None:
        return Response(status_code=404)
    return FileResponse(
        path, media_type=TYPES[path.suffix], headers={"Cache-Control": "public, max-age=3600"}
    )
