"""The pure rules of order changes: what a change does to lines, totals and the payment."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.models import CanonicalOrder
from domain.order_changes import (
    ChangeInvalid,
    Holdings,
    LineCancel,
    LineQuantity,
    OrderEdit,
    changed_order,
    from_cancel,
    from_edit,
    plan_change,
    plan_payment,
)
from domain.shipments import ShipmentLine, ShipmentState
from tests.conftest import canonical_order

D = Decimal


def order(**extra: object) -> CanonicalOrder:
    body = canonical_order(
        lines=[
            {"line_id": "1", "sku": "A", "quantity": 3, "unit_price": "20.00"},
            {"line_id": "2", "sku": "B", "quantity": 1, "unit_price": "16.00"},
        ],
        shipping_price="5.00",
        tax_total="7.60",
        **extra,
    )
    return CanonicalOrder.model_validate(body)


CARD = Holdings(kind="card", authorized=D("88.60"))


def test_a_cancel_takes_units_off_and_tax_follows_the_merchandise() -> None:
    o = order()
    change = from_cancel(LineCancel(lines=[LineQuantity(line_id="1", quantity=1)]), {"1": 3})
    plan = plan_change(o, change, [], CARD)
    assert not isinstance(plan, str)
    assert (plan.before_total, plan.after_total) == (D("88.60"), D("66.60"))
    assert plan.order.tax_total == D("5.60")  # 7.60 x 56 / 76
    assert plan.payment.action == "capture_less" and plan.payment.amount == D("22.00")
    assert plan.reduced == {"1": 1}


def test_units_that_shipped_cannot_be_taken_off() -> None:
    o = order()
    shipped = ShipmentState(
        shipment_id="S1",
        location_id="L",
        lines=[ShipmentLine(line_id="1", sku="A", quantity=3)],
        status="shipped",
    )
    change = from_edit(OrderEdit(quantities=[LineQuantity(line_id="1", quantity=2)]), {"1": 3})
    why = plan_change(o, change, [shipped], CARD)
    assert isinstance(why, str) and "3 shipped" in why


def test_an_increase_authorizes_only_the_difference_on_top() -> None:
    add = {"line_id": "3", "sku": "C", "quantity": 1, "unit_price": "10.00"}
    change = from_edit(OrderEdit.model_validate({"add": [add]}), {"1": 3, "2": 1})
    plan = plan_change(order(), change, [], CARD)
    assert not isinstance(plan, str)
    assert plan.after_total == D("99.60")  # 86 merchandise + 5 + 7.60 x 86 / 76 = 8.60
    assert plan.payment.action == "authorize" and plan.payment.amount == D("11.00")


def test_money_when_the_total_moves() -> None:
    assert plan_payment(D("50"), D("60"), CARD).action == "none"  # the hold covers it
    less = plan_payment(D("50"), D("40"), Holdings(kind="card", authorized=D("50")))
    assert not isinstance(less, str) and (less.action, less.amount) == ("capture_less", D("10.00"))
    refund = plan_payment(
        D("50"), D("30"), Holdings(kind="card", authorized=D("50"), captured=D("45"))
    )
    assert not isinstance(refund, str) and (refund.action, refund.amount) == ("refund", D("15.00"))
    voided = Holdings(kind="card", authorized=D("50"), captured=D("20"), voided=True)
    assert isinstance(plan_payment(D("50"), D("60"), voided), str)
    assert isinstance(plan_payment(D("50"), D("60"), Holdings(kind="channel")), str)
    channel = plan_payment(D("50"), D("40"), Holdings(kind="channel"))
    assert not isinstance(channel, str) and channel.action == "collected_by_channel"


def test_removing_every_line_leaves_nothing_to_pay() -> None:
    change = from_edit(OrderEdit(remove=["1", "2"]), {"1": 3, "2": 1})
    after = changed_order(order(), change)
    assert after.lines == [] and after.total == D("0.00")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"remove": ["9"]}, "remove[0]"),
        ({"remove": ["1", "1"]}, "remove[1]"),
        ({"quantities": [{"line_id": "9", "quantity": 1}]}, "quantities[0].line_id"),
        (
            {"add": [{"line_id": "2", "sku": "X", "quantity": 1, "unit_price": "1"}]},
            "add[0].line_id",
        ),
        ({}, "add"),
    ],
)
def test_a_bad_edit_names_its_field(body: dict[str, object], field: str) -> None:
    with pytest.raises(ChangeInvalid) as err:
        from_edit(OrderEdit.model_validate(body), {"1": 3, "2": 1})
    assert err.value.field == field


def test_a_bad_cancel_names_its_field() -> None:
    with pytest.raises(ChangeInvalid) as err:
        from_cancel(LineCancel(lines=[LineQuantity(line_id="1", quantity=4)]), {"1": 3})
    assert err.value.field == "lines[0].quantity"


def test_a_completing_parcel_never_captures_beyond_the_total() -> None:
    """Earlier parcels took more than their share (the tax was lowered after they shipped):
    the last pass takes only what the total leaves."""
    from domain.billing import capture_plan

    lowered = order().model_copy(update={"tax_total": D("0.00")})  # total 81.00
    parts = [[ShipmentLine(line_id="1", sku="A", quantity=3)]]
    assert capture_plan(lowered, parts, planned_before=D("30.00")) == [D("51.00")]
    assert capture_plan(lowered, parts, planned_before=D("40.00")) == [D("41.00")]
