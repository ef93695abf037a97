"""Fixtures for returns: a stack whose return window stays open for the whole test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.client import Client

from store.tables import StockLevel, StockMovement
from tests.conftest import Stack, canonical_order, running_stack
from tests.helpers import eventually

# 30 business days at the test time scale: minutes of real time, longer than any test here.
LONG_WINDOW_DAYS = 30.0


@pytest.fixture
async def returns_stack(temporal_client: Client, tmp_path: Path) -> AsyncIterator[Stack]:
    """The app and a worker on SQLite with a return window that outlasts the test."""
    async with running_stack(
        temporal_client,
        f"sqlite+aiosqlite:///{tmp_path / 'oms.db'}",
        return_window_days=LONG_WINDOW_DAYS,
    ) as stack:
        yield stack


async def delivered_order(stack: Stack, **overrides: Any) -> dict[str, Any]:
    """Create an order and wait until it is delivered (its return window then opens)."""
    response = await stack.post("/v1/orders", canonical_order(**overrides))
    assert response.status_code == 202, response.text
    return await stack.wait_for(response.json()["order_id"], "delivered")


async def on_hand(stack: Stack, sku: str, location_id: str) -> int:
    """Units on hand of `sku` at a location."""
    async with stack.sessions() as session:
        level = await session.get(StockLevel, (sku, location_id))
        return level.on_hand if level else 0


async def movements(stack: Stack, sku: str, location_id: str, kind: str) -> list[StockMovement]:
    """Stock movements of one kind for a SKU at a location."""
    async with stack.sessions() as session:
        rows = await session.scalars(
            select(StockMovement).where(
                StockMovement.sku == sku,
                StockMovement.location_id == location_id,
                StockMovement.kind == kind,
            )
        )
        return list(rows)


async def wait_rma(
    stack: Stack, rma_id: str, *statuses: str, timeout: float = 90
) -> dict[str, Any]:
    """Poll `GET /v1/returns/{rma_id}` until the RMA reaches one of `statuses`."""

    async def rma() -> dict[str, Any]:
        response = await stack.get(f"/v1/returns/{rma_id}")
        return response.json() if response.status_code == 200 else {}  # type: ignore[no-any-return]

    return await eventually(
        rma,
        until=lambda last: last.get("status") in statuses,
        timeout=timeout,
        message=lambda last: f"RMA {rma_id} stuck at {(last or {}).get('status')}",
    )
