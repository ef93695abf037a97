"""API tests without Temporal: the app on a migrated database of each kind, orders written
through the intake and the projection (tests/read_model.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from config.settings import Settings
from store.db import session_factory
from tests.conftest import ADMIN_KEY
from tests.read_model import ReadModel
from workers.seed import seed_demo


@dataclass
class ReadApi:
    """An HTTP client of the app (admin key sent) and the read model it serves."""

    http: httpx.AsyncClient
    orders: ReadModel


@pytest.fixture
async def read_api(migrated_engine: AsyncEngine) -> AsyncIterator[ReadApi]:
    """The app over a seeded database; reads need no Temporal, which it never reaches."""
    url = migrated_engine.url.render_as_string(hide_password=False)
    sessions = session_factory(migrated_engine)
    await seed_demo(sessions)
    settings = Settings(
        database_url=url, admin_api_key=SecretStr(ADMIN_KEY), temporal_address="127.0.0.1:1"
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://oms.test", headers=headers
        ) as http:
            yield ReadApi(http, ReadModel(sessions))
