"""Dialect-specific statements, chosen from the session's bind."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession


def insert_for(session: AsyncSession) -> Any:
    """`insert` with `on_conflict_do_nothing` for the session's database."""
    bind = session.get_bind()
    return pg_insert if bind.dialect.name == "postgresql" else sqlite_insert


def at_least_zero(session: AsyncSession, value: Any) -> Any:
    """max(value, 0) per row: SQLite's two-argument max, PostgreSQL's greatest."""
    if session.get_bind().dialect.name == "sqlite":
        return func.max(value, 0)
    return func.greatest(value, 0)
