"""Async engine and session factory for PostgreSQL (asyncpg) and SQLite (aiosqlite)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SQLITE_BUSY_TIMEOUT_MS = 30_000
# How long a SQLite writer waits for the engine's one connection before failing (and retrying).
POOL_WAIT_S = 60


def is_sqlite(url: str) -> bool:
    """True for a SQLite URL."""
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(
    url: str, *, pool_size: int = 10, echo: bool = False, for_reads: bool = False
) -> AsyncEngine:
    """Build an engine; SQLite gets WAL, a busy timeout and immediate write transactions.

    SQLite takes its write lock at the first write of a transaction, so two readers upgrading
    at once deadlock; `BEGIN IMMEDIATE` takes the lock up front and the busy timeout queues
    writers instead of failing them.

    A SQLite writer engine keeps a single connection: SQLite admits one writer at a time
    anyway, and waiting for the connection in the pool is a fair in-process queue, where
    waiting in SQLite's busy handler is sleep-and-retry with no order (seconds-long stalls of
    unlucky transactions under load). Other processes still queue through the busy timeout.
    """
    if is_sqlite(url):
        pool: dict[str, Any] = (
            {} if for_reads else {"pool_size": 1, "max_overflow": 0, "pool_timeout": POOL_WAIT_S}
        )
        engine = create_async_engine(
            url, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **pool
        )
        _install_sqlite_pragmas(engine, immediate=not for_reads)
        return engine
    return create_async_engine(
        url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
    )


def _install_sqlite_pragmas(engine: AsyncEngine, immediate: bool) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _: Any) -> None:
        # Let SQLAlchemy own transaction boundaries so BEGIN IMMEDIATE below is honoured.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Readers (for_reads) take no write lock: in WAL mode they never wait for writers.
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def session_factory(
    engine: AsyncEngine, reads: AsyncEngine | None = None
) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit; `readers()` of it reads from
    `reads` (the writer engine itself when not given)."""
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    sessions.reads = async_sessionmaker(reads or engine, expire_on_commit=False)  # type: ignore[attr-defined]
    return sessions


def readers(sessions: async_sessionmaker[AsyncSession]) -> async_sessionmaker[AsyncSession]:
    """Sessions for read-only work beside `sessions`.

    On SQLite they come from a second engine whose transactions take no write lock, so reads
    never queue for the one writer connection (in WAL mode they see the last commit).
    """
    return getattr(sessions, "reads", sessions)  # type: ignore[no-any-return]


class Database:
    """The engines of one database: a writer and, on SQLite, a separate reader."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.engine = create_engine(url, pool_size=pool_size)
        self.reader = (
            create_engine(url, pool_size=pool_size, for_reads=True) if is_sqlite(url) else None
        )
        self.sessions = session_factory(self.engine, self.reader)

    async def dispose(self) -> None:
        """Close every connection."""
        if self.reader is not None:
            await self.reader.dispose()
        await self.engine.dispose()
