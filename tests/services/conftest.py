"""Service tests: a migrated, seeded database of each kind, orders written without workflows."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from store.db import session_factory
from tests.read_model import ReadModel
from workers.seed import seed_demo


@pytest.fixture
async def read_model(migrated_engine: AsyncEngine) -> ReadModel:
    """The demo catalogue on SQLite and PostgreSQL, ready for orders."""
    sessions = session_factory(migrated_engine)
    await seed_demo(sessions)
    return ReadModel(sessions)
