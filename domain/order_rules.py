"""Whether an order can take an ops change or a warehouse report now: pure refusal rules.

Each function returns the reason to refuse, or None. The order workflow's Update validators
call them (so a refusal is a 409 with this text before anything changes), and its handlers
call them again once they hold the order's lock, since another change may have landed between.
"""

from __future__ import annotations

from domain.commands import FulfilmentEvent
from domain.order_state import OrderState
from domain.states import TERMINAL, OrderStatus

S = OrderStatus
AFTER_DELIVERY = (S.DELIVERED, S.COMPLETED, S.PARTIALLY_RETURNED)


def closed(state: OrderState, action: str) -> str | None:
    """Why no ops change at all is possible: the order ended, or a cancel is under way."""
    if state.status in TERMINAL or state.progress.finished:
        return f"cannot {action} an order that is {state.status.value}"
    if state.status in AFTER_DELIVERY:
        return f"cannot {action} an order that is {state.status.value}; start a return"
    if state.progress.cancel_requested:
        return "cancellation is in progress"
    if state.progress.change_pending:
        return "an order change is in progress"
    return None


def _nothing_open(state: OrderState) -> bool:
    return not state.open_shipments() and not state.open_lines()


def _shipped_ids(state: OrderState) -> str:
    return ", ".join(s.shipment_id for s in state.shipments if s.has_shipped)


def cancel_refusal(state: OrderState) -> str | None:
    """Cancel stops what has not shipped; refused when everything has."""
    why = closed(state, "cancel")
    if why:
        return why
    if state.any_shipped() and _nothing_open(state):
        return f"shipment {_shipped_ids(state)} has already shipped; start a return instead"
    return None


def hold_refusal(state: OrderState) -> str | None:
    """Hold pauses what has not shipped."""
    why = closed(state, "hold")
    if why:
        return why
    if state.on_hold:
        return "order is already on hold"
    if state.any_shipped() and _nothing_open(state):
        return f"order is {state.status.value}; nothing left to hold"
    return None


def release_refusal(state: OrderState) -> str | None:
    """Release resumes a held order."""
    if state.progress.finished or state.status in TERMINAL:
        return f"order is {state.status.value}; its process has ended"
    if not state.on_hold:
        return f"order is {state.status.value}, not on hold"
    return None


def reroute_refusal(state: OrderState) -> str | None:
    """Reroute moves what has not shipped to other locations."""
    why = closed(state, "reroute")
    if why:
        return why
    if state.on_hold:
        return "order is on hold; release it before rerouting"
    if state.progress.reroute_pending:
        return "a reroute is already in progress"
    if state.any_shipped() and _nothing_open(state):
        return f"shipment {_shipped_ids(state)} has already shipped; nothing left to reroute"
    return None


def change_refusal(state: OrderState) -> str | None:
    """Lines can be cancelled or edited while part of the order has not shipped."""
    why = closed(state, "change")
    if why:
        return why
    if not state.progress.confirmed:
        return "the order is still being taken in (payment, stock); change it once confirmed"
    if state.on_hold:
        return "order is on hold; release it before changing it"
    if state.progress.reroute_pending:
        return "a reroute is in progress"
    if state.status == S.AWAITING_PAYMENT:
        return "the shop has not been paid for the order yet; change it at the shop"
    if state.progress.fulfilment_over or (state.any_shipped() and _nothing_open(state)):
        return f"shipment {_shipped_ids(state)} has already shipped; start a return instead"
    return None


def address_refusal(state: OrderState) -> str | None:
    """The address can change until a label is bought."""
    why = closed(state, "change the address of")
    if why:
        return why
    labelled = state.any_label()
    if labelled:
        return (
            f"a label was already bought for shipment {labelled.shipment_id}; "
            "reroute or cancel instead"
        )
    return None


def fulfilment_refusal(state: OrderState, event: FulfilmentEvent) -> str | None:
    """Whether a warehouse report about one shipment can be taken.

    A `shipped` for a shipment whose release was withdrawn (or never made) is refused: the
    warehouse must stop the parcel, since the order no longer pays for it or holds its stock.
    A repeat of a report already taken is accepted (warehouses deliver at least once).
    """
    sh = state.shipment(event.shipment_id)
    if sh is None:
        return f"order {state.order_id} has no shipment {event.shipment_id}"
    if sh.has_shipped:
        return None
    if sh.status == "cancelled":
        reason = f" ({sh.cancel_reason})" if sh.cancel_reason else ""
        return f"shipment {sh.shipment_id} was cancelled{reason}; do not ship it"
    if state.progress.finished:
        return f"order is {state.status.value}; its process has ended"
    if not (sh.released or sh.releasing or sh.withdrawing):
        return f"shipment {sh.shipment_id} is not released to the warehouse; do not ship it"
    return None
