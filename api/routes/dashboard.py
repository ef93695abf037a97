"""The ops dashboard's pages and the analytics API, as one router the app already includes."""

from __future__ import annotations

from fastapi import APIRouter

from api.dashboard import (
    auth_pages,
    catalogue_pages,
    connection_pages,
    ops_pages,
    order_pages,
    static_files,
)
from api.routes import analytics

router = APIRouter()
for module in (
    auth_pages,
    order_pages,
    ops_pages,
    catalogue_pages,
    connection_pages,
    static_files,
    analytics,
):
    router.include_router(module.router)
