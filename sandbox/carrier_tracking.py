"""Sandbox tracking: numbers in each carrier's format, and scans as a pure function of time.

A label's history depends only on when its journey started (the hand-over, or the purchase for a
carrier that treats labels as handed over at once), its service, scenario and the clock.

Nothing is stored per scan: the same inputs always give the same history, so a restarted worker
sees exactly what it saw before, and a test moves a fake clock to walk through the states.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from integrations.carriers.protocol import Service, TrackingEvent, TrackingInfo, TrackingStatus
from sandbox.carrier_rates import REDELIVERY, SCHEDULES, CarrierTariff
from sandbox.clock import scaled

# Markers in ship_to.line1 that script a delivery problem, for tests and demos.
SCENARIO_MARKERS = {
    "FAIL DELIVERY": "fail_delivery",
    "LOST PARCEL": "lost",
    "RETURN TO SENDER": "return_to_sender",
}


def scenario_for(line1: str) -> str:
    """The scripted scenario an address asks for (`normal` when none)."""
    upper = line1.upper()
    return next((name for marker, name in SCENARIO_MARKERS.items() if marker in upper), "normal")


def _planned(
    service: Service, scenario: str, origin: str, destination: str, *, acceptance_scan: bool
) -> list[tuple[float, TrackingStatus, str, str]]:
    """Every scan the parcel will get: (business seconds after the start, status, text, where).

    With `acceptance_scan` the start is the hand-over and the carrier scans the parcel in right
    then; without, the start is the purchase and the parcel is picked up on the schedule.
    """
    s = SCHEDULES[service]
    transit, out, done = s["in_transit"], s["out_for_delivery"], s["delivered"]
    first: list[tuple[float, TrackingStatus, str, str]] = (
        [
            (0.0, "in_transit", "Accepted by carrier", origin),
            (transit, "in_transit", "Departed origin facility", origin),
        ]
        if acceptance_scan
        else [
            (0.0, "label_created", "Shipping label created, awaiting item", origin),
            (transit, "in_transit", "Picked up by carrier", origin),
        ]
    )
    plan = [
        *first,
        ((transit + out) / 2, "in_transit", "Arrived at destination facility", destination),
    ]
    if scenario == "lost":
        return [*plan, (out, "exception", "Package lost in transit; investigation opened", "")]
    plan.append((out, "out_for_delivery", "Out for delivery", destination))
    if scenario == "return_to_sender":
        return [*plan, (done, "returned_to_sender", "Refused by recipient; returning", destination)]
    if scenario == "fail_delivery":
        return [
            *plan,
            (done, "exception", "Delivery attempted: no access to delivery location", destination),
            (done + REDELIVERY["out_for_delivery"], "out_for_delivery", "Out for delivery "
             "(second attempt)", destination),
            (done + REDELIVERY["delivered"], "delivered", "Delivered, front door", destination),
        ]  # fmt: skip
    return [*plan, (done, "delivered", "Delivered, front door", destination)]


def timeline(
    *,
    tracking_number: str,
    carrier: str,
    service: Service,
    scenario: str,
    started_at: datetime | None,
    acceptance_scan: bool,
    now: datetime,
    time_scale: float,
    origin: str,
    destination: str,
    voided_at: datetime | None = None,
) -> TrackingInfo:
    """The tracking a customer would see at `now` (a voided label never moves again).

    `started_at` None: the parcel was never handed over, so the carrier has only the label.
    """
    if started_at is None:
        return TrackingInfo(
            tracking_number=tracking_number, carrier=carrier, status="label_created", events=[]
        )
    until = min(now, voided_at) if voided_at is not None else now
    plan = [
        TrackingEvent(
            at=started_at + scaled(offset, time_scale),
            status=status,
            description=text,
            location=where,
        )
        for offset, status, text, where in _planned(
            service, scenario, origin, destination, acceptance_scan=acceptance_scan
        )
    ]
    seen = [event for event in plan if event.at <= until]
    if not seen:
        # Voided before the journey's first event (a hand-over is refused once voided).
        return TrackingInfo(
            tracking_number=tracking_number, carrier=carrier, status="label_created", events=[]
        )
    last = seen[-1]
    delivered = next((e.at for e in seen if e.status == "delivered"), None)
    reason = None
    if last.status == "exception":
        reason = "lost" if scenario == "lost" else "failed_attempt"
    # The estimate only reveals what the carrier would know by now, not the scripted ending.
    estimate: datetime | None = started_at + scaled(SCHEDULES[service]["delivered"], time_scale)
    if delivered is not None:
        estimate = delivered
    elif reason == "failed_attempt":
        estimate = plan[-1].at
    elif last.status in ("exception", "returned_to_sender"):
        estimate = None
    return TrackingInfo(
        tracking_number=tracking_number,
        carrier=carrier,
        status=last.status,
        events=seen,
        estimated_delivery=estimate,
        delivered_at=delivered,
        exception_reason=reason,
    )


def first_scan_at(created_at: datetime, service: Service, time_scale: float) -> datetime:
    """When a label treated as handed over at purchase is picked up (and can't be voided)."""
    return created_at + scaled(SCHEDULES[service]["in_transit"], time_scale)


def luhn_digit(digits: str) -> str:
    """The Luhn (mod 10) check digit for a string of digits."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


def s10_digit(digits: str) -> str:
    """The UPU S10 check digit for 8 serial digits (weights 8 6 4 2 3 5 9 7)."""
    total = sum(int(d) * w for d, w in zip(digits, (8, 6, 4, 2, 3, 5, 9, 7), strict=True))
    check = 11 - total % 11
    return {10: "0", 11: "5"}.get(check, str(check))


def new_tracking_number(tariff: CarrierTariff) -> str:
    """A tracking number in the carrier's format: PP + 16 digits, or S10 style for SwiftShip."""
    if tariff.name == "swiftship":
        serial = f"{secrets.randbelow(10**8):08d}"
        return f"{tariff.tracking_prefix}{serial}{s10_digit(serial)}US"
    body = f"{secrets.randbelow(10**15):015d}"
    return f"{tariff.tracking_prefix}{body}{luhn_digit(body)}"
