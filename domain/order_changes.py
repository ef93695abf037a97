"""Changing a confirmed order: partial line cancels and edits, as pure rules.

A change arrives as a `LineCancel` or an `OrderEdit` and becomes one `OrderChange`: the new
ordered quantity of each line it touches, the lines it adds, and the new shipping and tax.
`plan_change` works out, from what the order knows, whether the change can be made and what it
does: the order after it, the totals before and after, and what the payment must do. The
workflow's preview query and its Update both call it on the same state, so a preview is exactly
what the confirmed change then does. Drafts (no workflow yet) use `changed_order` alone.

Money: only the difference is paid. A higher total needs the difference authorized on top of
what the card holds; a lower one captures less (the rest is released when the order ends), or,
when more was already captured than the new total, refunds the excess. Tax follows the
merchandise in proportion unless the edit states it.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from domain.commands import Actor
from domain.models import CanonicalOrder, OrderLine, PositiveMoney, ShippingService
from domain.money import q
from domain.shipments import ShipmentState, units_by_line

PaymentAction = Literal[
    "none", "authorize", "capture_less", "refund", "collected_by_channel", "invoice"
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class LineQuantity(_Body):
    """A line and a number of units."""

    line_id: str = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=0, le=10_000)


class LineCancel(_Body):
    """`POST /v1/orders/{id}/lines/cancel`: take units of lines off the order."""

    lines: list[LineQuantity] = Field(min_length=1, max_length=500)
    reason: str = Field(default="", max_length=500)
    # Set by the API from the caller's key (what a client sends here is replaced).
    actor: SkipJsonSchema[Actor | None] = None


class OrderEdit(_Body):
    """`POST /v1/orders/{id}/edit`: add lines, remove lines, set quantities, change service."""

    add: list[OrderLine] = Field(default_factory=list, max_length=500)
    remove: list[str] = Field(default_factory=list, max_length=500)
    quantities: list[LineQuantity] = Field(default_factory=list, max_length=500)
    shipping_service: ShippingService | None = None
    shipping_price: PositiveMoney | None = None
    tax_total: PositiveMoney | None = None
    reason: str = Field(default="", max_length=500)
    preview: bool = False
    # Set by the API from the caller's key (what a client sends here is replaced).
    actor: SkipJsonSchema[Actor | None] = None


class ChangeInvalid(ValueError):
    """The change does not fit the order at all (a 422 naming `field`)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


class OrderChange(BaseModel):
    """One change in a single shape: the new ordered quantity of the lines it touches."""

    kind: Literal["line_cancel", "edit"]
    # line_id -> the line's new ordered quantity (an edit) ...
    quantities: dict[str, int] = Field(default_factory=dict)
    # ... or units to take off it (a line cancel: relative, so it never acts on a stale count).
    cancel: dict[str, int] = Field(default_factory=dict)
    add: list[OrderLine] = Field(default_factory=list)
    shipping_service: ShippingService | None = None
    shipping_price: Decimal | None = None
    tax_total: Decimal | None = None
    reason: str = ""
    actor: Actor | None = None


class PaymentPlan(BaseModel):
    """What the payment does for a change."""

    action: PaymentAction
    amount: Decimal = Decimal("0.00")


class LineDelta(BaseModel):
    """How one line's ordered quantity moves."""

    line_id: str
    sku: str
    before: int
    after: int


class ChangePlan(BaseModel):
    """What a change does: the order after it, the totals, the money, the lines that move."""

    order: CanonicalOrder
    before_total: Decimal
    after_total: Decimal
    payment: PaymentPlan
    lines: list[LineDelta]

    @property
    def reduced(self) -> dict[str, int]:
        """line_id -> units taken off."""
        return {d.line_id: d.before - d.after for d in self.lines if d.after < d.before}

    @property
    def increased(self) -> dict[str, int]:
        """line_id -> units added (new lines included)."""
        return {d.line_id: d.after - d.before for d in self.lines if d.after > d.before}


class Holdings(BaseModel):
    """What the payment holds when a change is planned (from the order's payment state)."""

    kind: Literal["card", "channel", "invoice", "free"]
    authorized: Decimal = Decimal("0")
    captured: Decimal = Decimal("0")
    voided: bool = False
    # Refunded because of earlier changes (returns are refunded for units still ordered).
    change_refunds: Decimal = Decimal("0")


def from_cancel(request: LineCancel, known: Mapping[str, int]) -> OrderChange:
    """A line cancel as a change (`known`: line_id -> units ordered, to name a bad field)."""
    cancel: dict[str, int] = {}
    for i, part in enumerate(request.lines):
        if part.line_id not in known:
            raise ChangeInvalid(f"lines[{i}].line_id", f"the order has no line {part.line_id!r}")
        if part.quantity <= 0:
            raise ChangeInvalid(f"lines[{i}].quantity", "must be at least 1")
        if part.line_id in cancel:
            raise ChangeInvalid(f"lines[{i}].line_id", f"line {part.line_id!r} is named twice")
        if part.quantity > known[part.line_id]:
            raise ChangeInvalid(
                f"lines[{i}].quantity",
                f"{part.quantity} is more than the {known[part.line_id]} ordered",
            )
        cancel[part.line_id] = part.quantity
    return OrderChange(
        kind="line_cancel",
        cancel=cancel,
        reason=request.reason or "lines cancelled",
        actor=request.actor,
    )


def from_edit(edit: OrderEdit, known: Mapping[str, int]) -> OrderChange:
    """An edit as a change; a line named twice, or unknown, is refused naming its field."""
    quantities: dict[str, int] = {}
    for i, line_id in enumerate(edit.remove):
        if line_id not in known:
            raise ChangeInvalid(f"remove[{i}]", f"the order has no line {line_id!r}")
        if line_id in quantities:
            raise ChangeInvalid(f"remove[{i}]", f"line {line_id!r} is named twice")
        quantities[line_id] = 0
    for i, part in enumerate(edit.quantities):
        if part.line_id not in known:
            raise ChangeInvalid(
                f"quantities[{i}].line_id", f"the order has no line {part.line_id!r}"
            )
        if part.line_id in quantities:
            raise ChangeInvalid(f"quantities[{i}].line_id", f"line {part.line_id!r} is named twice")
        quantities[part.line_id] = part.quantity
    seen = set(known)
    for i, line in enumerate(edit.add):
        if line.line_id in seen:
            raise ChangeInvalid(
                f"add[{i}].line_id", f"line {line.line_id!r} exists; set its quantity instead"
            )
        seen.add(line.line_id)
    touches_money = edit.shipping_price is not None or edit.tax_total is not None
    if not (quantities or edit.add or edit.shipping_service or touches_money):
        raise ChangeInvalid("add", "the edit changes nothing")
    return OrderChange(
        kind="edit",
        quantities=quantities,
        add=list(edit.add),
        shipping_service=edit.shipping_service,
        shipping_price=edit.shipping_price,
        tax_total=edit.tax_total,
        reason=edit.reason or "order edited",
        actor=edit.actor,
    )


def new_quantities(order: CanonicalOrder, change: OrderChange) -> dict[str, int]:
    """line_id -> ordered units after the change, for the lines it touches (never below 0)."""
    current = {line.line_id: line.quantity for line in order.lines}
    out = {k: v for k, v in change.quantities.items() if k in current}
    for line_id, units in change.cancel.items():
        if line_id in current:
            out[line_id] = max(0, out.get(line_id, current[line_id]) - units)
    return out


def changed_order(order: CanonicalOrder, change: OrderChange) -> CanonicalOrder:
    """The order after the change: lines at zero go, new lines come, tax follows merchandise."""
    after = new_quantities(order, change)
    lines: list[OrderLine] = []
    for line in order.lines:
        quantity = after.get(line.line_id, line.quantity)
        if quantity > 0:
            lines.append(line.model_copy(update={"quantity": quantity}))
    lines.extend(change.add)
    merchandise = q(sum((x.amount for x in lines), Decimal(0)))
    if change.tax_total is not None:
        tax = q(change.tax_total)
    elif order.merchandise_total > 0:
        tax = q(order.tax_total * merchandise / order.merchandise_total)
    else:
        tax = order.tax_total
    shipping = order.shipping_price if change.shipping_price is None else q(change.shipping_price)
    if not lines:
        shipping, tax = Decimal("0.00"), Decimal("0.00")  # nothing left: nothing to pay
    return order.model_copy(
        update={
            "lines": lines,
            "shipping_service": change.shipping_service or order.shipping_service,
            "shipping_price": shipping,
            "tax_total": tax,
        }
    )


def shipped_units(shipments: list[ShipmentState]) -> dict[str, int]:
    """line_id -> units that left (they can be returned, never cancelled)."""
    return units_by_line(s for s in shipments if s.has_shipped)


def plan_change(
    order: CanonicalOrder,
    change: OrderChange,
    shipments: list[ShipmentState],
    holdings: Holdings,
    *,
    gone: dict[str, int] | None = None,
) -> ChangePlan | str:
    """What the change does to this order now, or why it cannot be made (a 409's reason).

    `gone`: units of each line taken off earlier without a change (a cancel after part had
    shipped, a backorder deadline); they are neither open nor shipped.
    """
    shipped, gone = shipped_units(shipments), gone or {}
    current = {line.line_id: line for line in order.lines}
    deltas: list[LineDelta] = []
    for line_id, units in change.cancel.items():
        line = current.get(line_id)
        if line is not None and units > line.quantity:
            return f"line {line_id}: {units} to cancel but only {line.quantity} ordered"
    for line_id in [*change.quantities, *change.cancel]:
        if line_id not in current:
            return f"the order has no line {line_id!r}"
    for line_id, after in new_quantities(order, change).items():
        line = current.get(line_id)
        if line is None:
            return f"the order has no line {line_id!r}"
        floor = shipped.get(line_id, 0) + gone.get(line_id, 0)
        if after < floor:
            open_units = line.quantity - floor
            return (
                f"line {line_id}: {line.quantity - after} to take off but only {open_units} "
                f"not shipped ({shipped.get(line_id, 0)} shipped)"
            )
        if after != line.quantity:
            deltas.append(
                LineDelta(line_id=line_id, sku=line.sku, before=line.quantity, after=after)
            )
    deltas.extend(
        LineDelta(line_id=x.line_id, sku=x.sku, before=0, after=x.quantity) for x in change.add
    )
    new = changed_order(order, change)
    if not deltas and new.total == order.total and new.shipping_service == order.shipping_service:
        return "the change changes nothing"
    payment = plan_payment(order.total, new.total, holdings)
    if isinstance(payment, str):
        return payment
    return ChangePlan(
        order=new,
        before_total=order.total,
        after_total=new.total,
        payment=payment,
        lines=deltas,
    )


def plan_payment(before: Decimal, after: Decimal, h: Holdings) -> PaymentPlan | str:
    """What the payment does when the total goes from `before` to `after`."""
    if h.kind == "channel":
        if after > before:
            return "the channel collected the payment; it can only take lines off"
        return PaymentPlan(action="collected_by_channel", amount=q(before - after))
    if h.kind == "invoice":
        return PaymentPlan(
            action="invoice" if after != before else "none", amount=q(after - before)
        )
    kept = q(h.captured - h.change_refunds)  # what the customer has paid for good so far
    if after < kept:
        return PaymentPlan(action="refund", amount=q(kept - after))
    holds = h.captured if h.voided else max(h.authorized, h.captured)
    need = after + h.change_refunds  # what the order captures in all, refunds given back
    if need > holds:
        if h.voided:
            return (
                "the payment's authorization was already released; "
                "take the new lines in a new order"
            )
        return PaymentPlan(action="authorize", amount=q(need - holds))
    if after < before:
        return PaymentPlan(action="capture_less", amount=q(before - after))
    return PaymentPlan(action="none")


class ChangeAnswer(BaseModel):
    """What a change did (or, previewed, would do); `refusal` says why it cannot be made."""

    preview: bool = False
    refusal: str | None = None
    currency: str = ""
    before_total: Decimal = Decimal("0.00")
    after_total: Decimal = Decimal("0.00")
    payment: PaymentPlan = Field(default_factory=lambda: PaymentPlan(action="none"))
    lines: list[LineDelta] = Field(default_factory=list)
    # Shipments taken back and planned again because their contents changed.
    replanned: list[str] = Field(default_factory=list)

    @classmethod
    def of(cls, plan: ChangePlan | str, currency: str, *, preview: bool) -> ChangeAnswer:
        """The answer for a plan, or for the reason there is none."""
        if isinstance(plan, str):
            return cls(preview=preview, refusal=plan, currency=currency)
        return cls(
            preview=preview,
            currency=currency,
            before_total=plan.before_total,
            after_total=plan.after_total,
            payment=plan.payment,
            lines=plan.lines,
        )
