"""Changing an order after it was placed: partial line cancels and edits, previewed or made.

The request is checked against the stored order first (an unknown line or SKU is a 422 naming
the field); the running workflow then decides (its Update refuses with a 409 and the reason) and
applies it. A preview asks the workflow's query, which runs the very rules the Update runs. A
draft has no workflow: its stored document is changed (`services.drafts`).

An `Idempotency-Key` becomes the Update's id: Temporal answers a repeat of the same id with the
first answer and applies nothing twice.
"""

from __future__ import annotations

import structlog
from sqlalchemy import select
from temporalio.client import WorkflowQueryFailedError

from domain.errors import InvalidInput, NotFound, Refused
from domain.order_changes import (
    Actor,
    ChangeAnswer,
    ChangeInvalid,
    LineCancel,
    OrderChange,
    OrderEdit,
    from_cancel,
    from_edit,
)
from services.orders import Handle, OpsContext
from store.db import readers
from store.tables import Order, Sku
from workflows.order.workflow import OrderWorkflow

log = structlog.get_logger(__name__)
DRAFT = "draft"


async def cancel_lines(
    ctx: OpsContext,
    order_id: str,
    request: LineCancel,
    *,
    actor: Actor | None,
    idempotency_key: str | None = None,
) -> ChangeAnswer:
    """Take units of lines off the order (what has not shipped)."""
    row = await _order(ctx, order_id)
    try:
        change = from_cancel(request.model_copy(update={"actor": actor}), _ordered(row))
    except ChangeInvalid as err:
        raise InvalidInput(err.message, err.field) from err
    return await _change(ctx, row, change, preview=False, idempotency_key=idempotency_key)


async def edit(
    ctx: OpsContext,
    order_id: str,
    request: OrderEdit,
    *,
    actor: Actor | None,
    idempotency_key: str | None = None,
) -> ChangeAnswer:
    """Add lines, remove lines, set quantities or the service; with `preview` nothing changes."""
    row = await _order(ctx, order_id)
    try:
        change = from_edit(request.model_copy(update={"actor": actor}), _ordered(row))
    except ChangeInvalid as err:
        raise InvalidInput(err.message, err.field) from err
    if change.add:
        await _known_skus(ctx, change)
    return await _change(ctx, row, change, preview=request.preview, idempotency_key=idempotency_key)


async def _change(
    ctx: OpsContext,
    row: Order,
    change: OrderChange,
    *,
    preview: bool,
    idempotency_key: str | None,
) -> ChangeAnswer:
    if row.status == DRAFT:
        from services import drafts  # drafts build on this module's checks

        plan = await drafts.apply_change(ctx.sessions, row.order_id, change, preview=preview)
        return ChangeAnswer.of(plan, row.currency, preview=preview)
    if preview:
        answer = await ctx.send(row.order_id, lambda h: _preview(h, change))
        if answer.refusal:
            raise Refused(answer.refusal)
        return answer
    update_id = f"change:{idempotency_key}" if idempotency_key else None
    answer = await ctx.send(
        row.order_id,
        lambda h: h.execute_update(OrderWorkflow.change_lines, change, id=update_id),
    )
    log.info(
        "order changed",
        kind=change.kind,
        total_before=str(answer.before_total),
        total_after=str(answer.after_total),
        payment=answer.payment.action,
    )
    return answer


async def _preview(handle: Handle, change: OrderChange) -> ChangeAnswer:
    try:
        return await handle.query(OrderWorkflow.preview_change, change)
    except WorkflowQueryFailedError as err:
        raise Refused(f"the order cannot answer a preview now: {err}") from err


async def _order(ctx: OpsContext, order_id: str) -> Order:
    async with readers(ctx.sessions)() as session:
        row = await session.get(Order, order_id)
    if row is None:
        raise NotFound(f"no order {order_id!r}")
    return row


def _ordered(row: Order) -> dict[str, int]:
    """line_id -> units ordered now (a line a change removed whole has none)."""
    return {
        str(line["line_id"]): int(line["quantity"])
        for line in row.document.get("lines", [])
        if int(line["quantity"]) > 0
    }


async def _known_skus(ctx: OpsContext, change: OrderChange) -> None:
    wanted = {line.sku for line in change.add}
    async with readers(ctx.sessions)() as session:
        known = set((await session.scalars(select(Sku.sku).where(Sku.sku.in_(wanted)))).all())
    for i, line in enumerate(change.add):
        if line.sku not in known:
            raise InvalidInput(f"unknown SKU {line.sku!r}", f"add[{i}].sku", code="unknown_sku")
