"""The pure return rules: returnable quantities, refund policy, dispositions as data."""

from __future__ import annotations

from decimal import Decimal

from domain.models import CanonicalOrder
from domain.order_state import ShipmentLine
from domain.returns import (
    DISPOSITIONS,
    ReturnLineRequest,
    ReturnRequest,
    RmaLine,
    delivered_quantities,
    exchange_difference,
    exchange_refusal,
    refund_amount,
    refusal,
    returnable,
)
from tests.conftest import canonical_order


def order(**overrides: object) -> CanonicalOrder:
    fields: dict[str, object] = {
        "lines": [
            {"line_id": "1", "sku": "TSHIRT-M", "quantity": 2, "unit_price": "19.99"},
            {"line_id": "2", "sku": "MUG-12OZ", "quantity": 1, "unit_price": "16.00"},
        ],
        "shipping_price": "5.00",
        "tax_total": "4.48",
    }
    body = canonical_order(**{**fields, **overrides})
    return CanonicalOrder.model_validate(body)


def test_only_delivered_units_not_yet_claimed_are_returnable() -> None:
    delivered = delivered_quantities(
        [
            ("delivered", [ShipmentLine(line_id="1", sku="TSHIRT-M", quantity=2)]),
            ("in_transit", [ShipmentLine(line_id="2", sku="MUG-12OZ", quantity=1)]),
        ]
    )
    assert delivered == {"1": 2}
    assert returnable(delivered, {"1": 1}) == {"1": 1}


def test_refusals_name_the_field() -> None:
    o = order()
    left = {"1": 1, "2": 0}

    def ask(line_id: str, quantity: int, exchange: str | None = None) -> str | None:
        line = ReturnLineRequest(line_id=line_id, quantity=quantity, exchange_sku=exchange)
        return refusal(ReturnRequest(lines=[line]), o, left)

    assert ask("1", 1) is None
    assert (ask("1", 2) or "").startswith("lines[0].quantity: only 1 unit(s)")
    assert (ask("2", 1) or "").startswith("lines[0].quantity: only 0 unit(s)")
    assert (ask("9", 1) or "").startswith("lines[0].line_id: order has no line")
    assert (ask("1", 1, "TSHIRT-M") or "").startswith("lines[0].exchange_sku")


def test_partial_refund_is_the_line_share_with_tax_and_no_shipping() -> None:
    o = order()  # merchandise 55.98, tax 4.48, shipping 5.00, total 65.46
    assert refund_amount(o, {"1": 1}, whole_order=False, refunded_before=Decimal(0)) == Decimal(
        "21.59"
    )  # 19.99 + 4.48 * 19.99 / 55.98 = 19.99 + 1.60


def test_the_return_completing_the_order_refunds_the_rest_of_the_total() -> None:
    o = order()
    first = refund_amount(o, {"1": 1}, whole_order=False, refunded_before=Decimal(0))
    rest = refund_amount(o, {"1": 1, "2": 1}, whole_order=True, refunded_before=first)
    assert first + rest == o.total == Decimal("65.46")


def test_exchanges_refund_only_a_cheaper_difference() -> None:
    o = order(tax_total="0")
    line = RmaLine(
        line_id="1",
        sku="HOODIE-M",
        quantity=1,
        reason="style",
        unit_price=Decimal("54.00"),
        exchange_sku="TSHIRT-M",
        exchange_unit_price=Decimal("19.99"),
        received=1,
    )
    assert exchange_difference(o, [line]) == Decimal("34.01")
    same = line.model_copy(update={"exchange_unit_price": Decimal("54.00")})
    assert exchange_difference(o, [same]) == Decimal("0.00")
    dearer = line.model_copy(update={"exchange_unit_price": Decimal("129.00")})
    assert "costs 129.00" in (exchange_refusal(dearer) or "")
    unknown = line.model_copy(update={"exchange_unit_price": None})
    assert "unknown exchange SKU" in (exchange_refusal(unknown) or "")


def test_dispositions_cover_every_condition() -> None:
    assert DISPOSITIONS == {
        "new": "restock",
        "unopened": "restock",
        "opened": "refurbish",
        "used": "refurbish",
        "damaged": "write_off",
    }
