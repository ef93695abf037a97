"""Orders in the read model without workflows: through the real intake, then projected snapshots.

Search and tracking tests need many orders with known shipments; starting workflows for them
would take minutes. These helpers write exactly what production writes (the intake's row, the
projection's update) and nothing else.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config.settings import Settings
from domain.models import CanonicalOrder
from domain.order_state import OrderSnapshot
from integrations.channels import shopify
from services import orders as intake
from store import projections
from store.tables import Order
from tests.conftest import canonical_order

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
PAYLOADS = Path(__file__).parent / "integrations" / "channels" / "payloads"


class StubTemporal:
    """Takes the intake's workflow start and runs nothing."""

    def __init__(self) -> None:
        self.started: list[str] = []

    async def start_workflow(self, workflow: str, arg: Any, **options: Any) -> None:
        """Remember the workflow id."""
        self.started.append(options["id"])


class ReadModel:
    """Writes orders the way the intake and the projection do."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self.temporal = StubTemporal()

    async def submit(self, order: CanonicalOrder, minute: int) -> str:
        """Take the order in, created `minute` minutes after T0 (so list order is known)."""
        _, row = await intake.submit(self.sessions, self.temporal, Settings(), order)  # type: ignore[arg-type]
        async with self.sessions.begin() as session:
            await session.execute(
                update(Order)
                .where(Order.order_id == row.order_id)
                .values(created_at=T0 + timedelta(minutes=minute))
            )
        return row.order_id

    async def order(
        self,
        minute: int,
        *,
        location: str | None = None,
        tracking_number: str | None = None,
        **fields: Any,
    ) -> str:
        """A DESIGN.md example order (fields overridden), shipped from `location` if given."""
        body = canonical_order(fields.pop("external_id", f"EXT-{minute}"), **fields)
        order_id = await self.submit(CanonicalOrder.model_validate(body), minute)
        if location is not None:
            await self.ship(order_id, location, tracking_number)
        return order_id

    async def ship(
        self, order_id: str, location: str, tracking_number: str | None = None, version: int = 1
    ) -> None:
        """Project a snapshot in which the order has one shipment, from `location`."""
        shipment = {
            "shipment_id": f"{order_id}-S1",
            "location_id": location,
            "lines": [{"line_id": "1", "sku": "TSHIRT-M", "quantity": 2}],
            "status": "in_transit" if tracking_number else "released",
            "carrier": "ups" if tracking_number else None,
            "tracking_number": tracking_number,
        }
        await self.project(order_id, version, [shipment])

    async def project(self, order_id: str, version: int, shipments: list[dict[str, Any]]) -> None:
        """Write a snapshot through the projection, as the order workflow's activity does."""
        snapshot = OrderSnapshot(
            order_id=order_id,
            version=version,
            status="in_fulfillment",
            hold=False,
            failure_reason=None,
            shipments=shipments,
            payments=[],
            routing={},
        )
        async with self.sessions.begin() as session:
            await projections.apply(session, [snapshot])


def shopify_order() -> CanonicalOrder:
    """Shopify's documented orders/create payload, mapped (its `name` is "#9999")."""
    doc = json.loads((PAYLOADS / "shopify_orders_create.json").read_text())
    return shopify.to_canonical(doc)
