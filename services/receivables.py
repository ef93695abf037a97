"""Receivables of orders paid by invoice, for ops: what is owed, invoiced and credited."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import InvalidInput
from store import receivables
from store.receivables import ReceivableRow

STATUSES = ("open", "closed")


async def list_receivables(
    session: AsyncSession, statuses: Sequence[str], limit: int, before: datetime | None = None
) -> list[ReceivableRow]:
    """Receivables newest first (created before `before`), of the given statuses (all: none)."""
    wanted = [s.strip() for s in statuses if s.strip()]
    for s in wanted:
        if s not in STATUSES:
            raise InvalidInput(
                f"{s!r} is not a receivable status ({', '.join(STATUSES)})", "status"
            )
    return await receivables.list_receivables(session, wanted, limit, before)
