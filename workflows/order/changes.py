"""Order changes after confirmation: partial line cancels and edits, one at a time.

An Update asks (`make`); the process applies (`apply`) once the shipments whose contents change
are back from their way out, the way a reroute does, so nothing is taken off a parcel that is
leaving. Only the difference moves: shipments a change does not touch go on; the touched ones
are cancelled (release withdrawn, label voided, holds released) and what is left of them is
routed again with the added lines, so their label is bought again for the new contents.

Money: a higher total is authorized before anything changes (a decline refuses the change);
the capture plan of the open shipments is worked out again for the new total; more captured
than the new total is refunded. One email per change; the shop hears of the lines cancelled.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from decimal import Decimal

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities import contracts as act
    from activities import io
    from domain import order_rules as rules
    from domain import timeline as tl
    from domain.billing import capture_plan
    from domain.order_changes import ChangeAnswer, ChangePlan, OrderChange, plan_change
    from domain.shipments import units_by_line, units_of
    from domain.states import OrderStatus
    from domain.timeline import EventType as E
    from workflows import policies
    from workflows.order.compensation import Compensation
    from workflows.order.context import OrderContext, reason_of, refuse
    from workflows.order.ledger import PaymentLedger
    from workflows.order.shipping import Shipping
    from workflows.order.shop import ShopLink

S = OrderStatus


@dataclass
class _Pending:
    seq: int
    change: OrderChange
    plan: ChangePlan
    recalled: list[str]


class ChangeDesk:
    """Takes order changes one at a time and applies them between shipping steps."""

    def __init__(
        self,
        ctx: OrderContext,
        money: PaymentLedger,
        shipping: Shipping,
        undo: Compensation,
        shop: ShopLink,
    ) -> None:
        self._ctx, self._money, self._shipping = ctx, money, shipping
        self._undo, self._shop = undo, shop
        self._lock = asyncio.Lock()
        self._pending: _Pending | None = None
        self._answers: dict[int, ChangeAnswer] = {}

    @property
    def pending(self) -> bool:
        """A change waits for the process to apply it."""
        return self._pending is not None

    def plan(self, change: OrderChange) -> ChangePlan | str:
        """What the change would do now, or why it cannot be made."""
        s = self._ctx.s
        why = rules.change_refusal(s)
        if why:
            return why
        gone = units_of(s.cancelled_lines)
        return plan_change(s.order, change, s.shipments, self._money.holdings(), gone=gone)

    def refusal(self, change: OrderChange) -> str | None:
        """The Update validator's answer: why the change is refused, or None."""
        plan = self.plan(change)
        return plan if isinstance(plan, str) else None

    def preview(self, change: OrderChange) -> ChangeAnswer:
        """The answer a confirmed change would give now (nothing changes)."""
        return ChangeAnswer.of(self.plan(change), self._ctx.s.order.currency, preview=True)

    # ---- the Update's side ------------------------------------------------------------------

    async def make(self, change: OrderChange) -> ChangeAnswer:
        """Apply a change; answers once it took effect and the new plan holds stock."""
        ctx, s = self._ctx, self._ctx.s
        progress = s.progress
        async with self._lock:
            plan = self.plan(change)
            if isinstance(plan, str):
                refuse(plan)
            progress.change_seq += 1
            seq = progress.change_seq
            key = f"change-{seq}"
            if plan.payment.action == "authorize":
                try:
                    await self._money.raise_to(plan.after_total + s.payment.change_refunds, key)
                except ActivityError as err:
                    why = f"the payment for the new total was declined ({reason_of(err)})"
                    ctx.event(tl.by(tl.with_reason(E.CHANGE_REFUSED, why), change.actor))
                    await ctx.project()
                    refuse(why)
            progress.change_pending = True
            recalled = self._touched(plan, change)
            self._shipping.recall(recalled)
            self._pending = _Pending(seq, change, plan, recalled)
            await workflow.wait_condition(lambda: seq in self._answers or progress.finished)
            answer = self._answers.get(seq)
            if answer is None:
                refuse("the order ended before the change took effect")
            if answer.refusal:
                refuse(answer.refusal)
            passes = progress.routing_passes
            if progress.cancel_requested:  # nothing was left open: the order cancels
                await workflow.wait_condition(lambda: progress.finished or s.status == S.CANCELLED)
            else:
                await workflow.wait_condition(
                    lambda: (
                        progress.finished or not s.open_lines() or progress.routing_passes > passes
                    )
                )
            await ctx.project()  # the answer shows the new plan
            return answer

    def _touched(self, plan: ChangePlan, change: OrderChange) -> list[str]:
        """Open shipments whose contents (or service) the change alters."""
        s = self._ctx.s
        reduced = plan.reduced
        new_service = change.shipping_service not in (None, s.order.shipping_service)
        return [
            sh.shipment_id
            for sh in s.open_shipments()
            if new_service or any(x.line_id in reduced for x in sh.lines)
        ]

    # ---- the process's side -----------------------------------------------------------------

    async def apply(self) -> None:
        """Apply the pending change (the process calls this when `pending`)."""
        p = self._pending
        assert p is not None
        s = self._ctx.s
        # Shipments planned since the change was asked for may hold its lines too.
        late = [sid for sid in self._touched(p.plan, p.change) if sid not in p.recalled]
        self._shipping.recall(late)
        recalled = p.recalled + late
        await workflow.wait_condition(lambda: self._shipping.settled_for(recalled))
        left = [sid for sid in recalled if (sh := s.shipment(sid)) and sh.has_shipped]
        if left:
            answer = self._refused(p, recalled, left)
        else:
            answer = await self._take_effect(p, recalled)
        self._answers[p.seq] = answer
        self._pending = None
        s.progress.change_pending = False

    def _refused(self, p: _Pending, recalled: list[str], left: list[str]) -> ChangeAnswer:
        ctx = self._ctx
        self._shipping.resume([sid for sid in recalled if sid not in left])
        why = (
            f"shipment {', '.join(left)} shipped before the change took effect; "
            "start a return for its units instead"
        )
        ctx.event(tl.by(tl.with_reason(E.CHANGE_REFUSED, why), p.change.actor))
        return ChangeAnswer(refusal=why)

    async def _take_effect(self, p: _Pending, recalled: list[str]) -> ChangeAnswer:
        ctx, s, plan, change = self._ctx, self._ctx.s, p.plan, p.change
        key = f"change-{p.seq}"
        fulfilments = [self._shipping.fulfilments[sid] for sid in recalled]
        taken = await self._undo.take_back(fulfilments, change.reason)
        cancelled = [sh for sh in s.shipments if sh.shipment_id in taken]
        await self._undo.release_stock(cancelled, change.reason, leave_queue=False)
        s.order = plan.order
        s.version += 1
        await self._trim_waiting(plan, change.reason)
        open_now = {x.line_id: x.quantity for x in s.open_lines()}
        s.short_lines = [
            x.model_copy(update={"quantity": min(x.quantity, open_now[x.line_id])})
            for x in s.short_lines
            if open_now.get(x.line_id)
        ]
        # More captured than the new total (checked now: a parcel may have been invoiced since
        # the change was asked for) is given back.
        refunded = await self._money.true_up(plan.after_total, key)
        await self._money.reinvoice(plan.after_total + s.payment.change_refunds, key)
        self._replan_captures()
        s.progress.changes_applied += 1
        payment = {"action": plan.payment.action, "amount": str(plan.payment.amount)}
        kind = E.LINES_CANCELLED if change.kind == "line_cancel" else E.ORDER_EDITED
        lines = [d.model_dump() for d in plan.lines]
        entry = tl.order_changed(
            kind, change.reason, lines, (plan.before_total, plan.after_total), payment, taken
        )
        ended = not s.open_lines() and not s.open_shipments()
        if ended and not s.any_shipped():
            # Nothing is left: the whole order cancels (its own email says so).
            ctx.event(tl.by(entry, change.actor))
            s.cancel_reason = change.reason
            s.progress.cancel_requested = True
        else:
            if ended and s.all_shipped():
                ctx.set_status(S.SHIPPED, tl.by(entry, change.actor))
            else:
                ctx.event(tl.by(entry, change.actor))
            context = {
                "reason": change.reason,
                "lines": lines,
                "total_before": str(plan.before_total),
                "total_after": str(plan.after_total),
                "refunded": str(refunded) if refunded > 0 else "",
                "currency": s.order.currency,
            }
            await ctx.notify("order_changed", context, key)
        if plan.reduced:
            self._shop.lines_cancelled(key, sorted(plan.reduced.items()), change.reason)
        await ctx.project()
        return ChangeAnswer.of(plan, s.order.currency, preview=False).model_copy(
            update={"replanned": taken}
        )

    async def _trim_waiting(self, plan: ChangePlan, reason: str) -> None:
        """Reduced lines give back what they held or claimed while waiting for stock."""
        s = self._ctx.s
        if not plan.reduced:
            return
        placed = units_by_line(sh for sh in s.shipments if sh.status != "cancelled")
        gone = units_of(s.cancelled_lines)
        ordered = {line.line_id: line.quantity for line in s.order.lines}
        keep = {
            line_id: max(0, ordered.get(line_id, 0) - placed.get(line_id, 0) - gone.get(line_id, 0))
            for line_id in plan.reduced
        }
        await act.trim_open_lines.run(
            io.TrimLinesInput(order_id=s.order_id, keep=keep, reason=reason), policies.UNDO
        )

    def _replan_captures(self) -> None:
        """Open shipments capture their share of the new total (left ones keep theirs)."""
        s = self._ctx.s
        live = [sh for sh in s.shipments if sh.status != "cancelled"]
        fixed = [sh for sh in live if not sh.is_open]
        still = [sh for sh in live if sh.is_open]
        if not still:
            return
        amounts = capture_plan(
            s.order,
            [sh.lines for sh in still],
            planned_before=sum((sh.capture_amount for sh in fixed), Decimal(0))
            - s.payment.change_refunds,
            completes_order=not s.open_lines(),
        )
        for sh, amount in zip(still, amounts, strict=True):
            sh.capture_amount = amount
