"""Invoice only what shipped: how much each shipment captures of the authorized total."""

from __future__ import annotations

from decimal import Decimal

from domain.models import CanonicalOrder
from domain.money import allocate, q
from domain.shipments import ShipmentLine


def capture_plan(
    order: CanonicalOrder,
    shipments: list[list[ShipmentLine]],
    *,
    planned_before: Decimal = Decimal("0"),
    completes_order: bool = True,
) -> list[Decimal]:
    """Amount to capture per shipment: its merchandise plus a share of shipping and tax.

    Shipping and tax are shared in proportion to merchandise over the whole order, so an order
    shipped in several passes (a backorder filled later) never captures more than its total.
    The pass that completes the order (`completes_order`) takes what is left of the total after
    `planned_before` (what earlier live shipments plan to capture), so every shipment together
    captures the total exactly; a single pass is the common case.
    """
    prices = {line.line_id: line.unit_price for line in order.lines}
    merchandise = [
        q(sum((prices[part.line_id] * part.quantity for part in parts), Decimal(0)))
        for parts in shipments
    ]
    if not merchandise:
        return []
    extras = order.shipping_price + order.tax_total
    if completes_order:
        budget = max(Decimal("0"), q(order.total - planned_before))
        left = budget - sum(merchandise, Decimal(0))
        if left < 0:
            # Earlier parcels already took more than their share (an order change lowered the
            # shipping or tax after they were invoiced): this pass takes only what the total
            # leaves, so the order never captures more than its total.
            return allocate(budget, merchandise)
        shares = allocate(left, merchandise)
    else:
        whole = order.merchandise_total
        shares = [q(extras * m / whole) if whole > 0 else Decimal("0.00") for m in merchandise]
    return [q(m + e) for m, e in zip(merchandise, shares, strict=True)]
