"""What the order tells the connected shop that sold it: each parcel's fulfilment with carrier
and tracking, the cancellation, units of lines cancelled, a note when a return is refunded.

Only orders that came through a connection (`OrderInput.connection_id`), in runs started after
`SHOP_LOOP`. Each push runs beside the order (a task), so a shop that is down delays nothing;
a push that still fails after its retries is on the timeline for ops, and the run waits for
its pushes before it ends.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities import contracts as act
    from activities import io
    from domain import timeline as tl
    from domain.order_state import ShipmentState
    from workflows import policies
    from workflows.order.context import OrderContext, reason_of

# Runs started after this tell their connected shop what happened to the order.
SHOP_LOOP = "shop-loop-20261202"


class ShopLink:
    """The order's line to its shop."""

    def __init__(self, ctx: OrderContext, connection_id: str | None) -> None:
        self._ctx, self._connection_id = ctx, connection_id
        self._enabled = False
        self._pushes: list[asyncio.Task[None]] = []
        # The last line cancel pushed: the next one waits for it (see `lines_cancelled`).
        self._lines_push: asyncio.Task[None] | None = None

    def decide(self) -> None:
        """Decide the patch (called before the run's first local activity, like every patch)."""
        self._enabled = workflow.patched(SHOP_LOOP) and self._connection_id is not None

    def _ref(self) -> dict[str, str]:
        ctx = self._ctx
        assert self._connection_id is not None
        return {
            "connection_id": self._connection_id,
            "order_id": ctx.order_id,
            "external_id": ctx.s.order.external_id,
        }

    def shipped(self, sh: ShipmentState, last_parcel: bool) -> None:
        """A parcel left: the shop records a fulfilment with its tracking."""
        if not self._enabled or not sh.carrier or not sh.tracking_number:
            return
        inp = io.ShopFulfilmentInput(
            **self._ref(),
            idempotency_key=self._ctx.key("shop-fulfil", sh.shipment_id),
            shipment_id=sh.shipment_id,
            carrier=sh.carrier,
            tracking_number=sh.tracking_number,
            tracking_url="",
            lines=[(x.line_id, x.quantity) for x in sh.lines],
            last_parcel=last_parcel,
        )
        self._push(act.confirm_shipment_at_shop, inp, "fulfilment", shipment_id=sh.shipment_id)

    def cancelled(self, reason: str) -> None:
        """We cancelled the order (nothing of it shipped): so does the shop."""
        if self._enabled:
            inp = io.ShopMessageInput(
                **self._ref(), idempotency_key=self._ctx.key("shop-cancel"), text=reason
            )
            self._push(act.cancel_at_shop, inp, "cancellation")

    def lines_cancelled(self, key: str, lines: list[tuple[str, int]], reason: str) -> None:
        """Units of some lines were cancelled and the order goes on: the shop takes them off
        its order. `key` names this cancel within the order; `lines` are (line id, units taken
        off). Each push waits for the one before it, because the shop works out what a line
        keeps from what the previous cancel left."""
        if not self._enabled or not any(units for _, units in lines):
            return
        inp = io.ShopLinesInput(
            **self._ref(),
            idempotency_key=self._ctx.key("shop-lines", key),
            lines=[(line_id, units) for line_id, units in lines],
            reason=reason,
        )
        self._lines_push = self._push(
            act.cancel_lines_at_shop,
            inp,
            "line cancel",
            after=self._lines_push,
            lines=[{"line_id": line_id, "quantity": units} for line_id, units in lines],
        )

    def noted(self, key: str, text: str) -> None:
        """A note on the shop's order (lines cancelled, a refund issued)."""
        if self._enabled:
            inp = io.ShopMessageInput(
                **self._ref(), idempotency_key=self._ctx.key("shop-note", key), text=text
            )
            self._push(act.note_at_shop, inp, "note")

    def refunded(self, rma_id: str, amount: Decimal) -> None:
        """A return was refunded."""
        currency = self._ctx.s.order.currency
        self.noted(rma_id, f"Refunded {amount} {currency} for return {rma_id}")

    def refund_due(self, rma_id: str, amount: Decimal) -> None:
        """A return came back for an order paid at the shop: the shop refunds the customer."""
        currency = self._ctx.s.order.currency
        self.noted(
            rma_id,
            f"Return {rma_id} received: refund {amount} {currency} to the customer "
            "(the order was paid on this shop)",
        )

    def _push(
        self,
        ref: act.ActivityRef[Any, Any],
        inp: Any,
        what: str,
        *,
        after: asyncio.Task[None] | None = None,
        **detail: Any,
    ) -> asyncio.Task[None]:
        """Run the push beside the order (after `after`, when given); the task."""

        async def push() -> None:
            if after is not None:
                await asyncio.gather(after, return_exceptions=True)
            try:
                await ref.run(inp, policies.SHOP)
            except ActivityError as err:
                self._ctx.event(tl.shop_update_failed(what, reason_of(err)))
            else:
                self._ctx.event(tl.shop_updated(what, **detail))
            await self._ctx.project()

        task = asyncio.create_task(push())
        self._pushes.append(task)
        return task

    async def settled(self) -> None:
        """Wait for every push started so far."""
        while self._pushes:
            pending, self._pushes = self._pushes, []
            await asyncio.gather(*pending)
