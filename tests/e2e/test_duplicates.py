"""A thousand deliveries of the same order: one order, one reservation, one authorization."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from temporalio.client import Client

from sandbox.tables import SandboxPaymentAuthorization
from store.tables import Order, Reservation
from tests.conftest import Stack, canonical_order, security_stack

DELIVERIES = 1000
CONCURRENCY = 50


@pytest.fixture
async def busy_stack(
    no_rate_limit: None, temporal_client: Client, tmp_path: Path
) -> AsyncIterator[Stack]:
    """A full stack that does not throttle (the point here is concurrency, not limits)."""
    async with security_stack(temporal_client, f"sqlite+aiosqlite:///{tmp_path / 'oms.db'}") as s:
        yield s


async def test_duplicate_deliveries_make_one_order(busy_stack: Stack) -> None:
    body = canonical_order()
    gate = asyncio.Semaphore(CONCURRENCY)

    async def deliver() -> tuple[int, str]:
        async with gate:
            response = await busy_stack.post("/v1/orders", body)
            return response.status_code, response.json().get("order_id", response.text)

    answers = await asyncio.gather(*(deliver() for _ in range(DELIVERIES)))
    statuses = Counter(status for status, _ in answers)
    assert set(statuses) <= {200, 202}, statuses
    assert statuses[202] == 1, statuses
    order_ids = {order_id for _, order_id in answers}
    assert len(order_ids) == 1
    [order_id] = order_ids

    await busy_stack.wait_for(order_id, "delivered", "completed", timeout=120)
    async with busy_stack.sessions() as session:
        orders = await session.scalar(
            select(func.count()).select_from(Order).where(Order.external_id == body["external_id"])
        )
        reservations = (
            await session.scalars(select(Reservation).where(Reservation.order_id == order_id))
        ).all()
    async with busy_stack.sandbox_sessions() as session:
        authorizations = await session.scalar(
            select(func.count())
            .select_from(SandboxPaymentAuthorization)
            .where(SandboxPaymentAuthorization.reference == order_id)
        )
    assert orders == 1
    # One line of the order: one reservation row (a split would show several locations).
    assert len(reservations) == 1, [(r.line_id, r.location_id) for r in reservations]
    assert reservations[0].quantity == body["lines"][0]["quantity"]
    assert authorizations == 1
