"""Sandbox carriers: rates, idempotent labels, voids, hand-over and tracking on a fake clock."""

from __future__ import annotations

import asyncio
import io
import re
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from integrations.carriers.errors import (
    CarrierUnavailable,
    InvalidAddress,
    InvalidParcel,
    LabelAlreadyUsed,
    LabelVoided,
    UnknownLabel,
    UnknownTracking,
)
from integrations.carriers.protocol import Address, Carrier, Label, Rate, RateRequest
from sandbox.carrier_tracking import luhn_digit, s10_digit
from sandbox.carriers import SandboxCarrier, sandbox_carriers
from sandbox.tables import SandboxLabel
from tests.sandbox.fakes import FakeClock

AUSTIN = Address(name="OMS Austin DC", line1="100 Congress Ave", city="Austin", region="TX",
                 postal_code="78701")  # fmt: skip


def _to(line1: str = "1 Main St", **changes: str) -> Address:
    fields = {"name": "Ann Lee", "line1": line1, "city": "New York", "region": "NY",
              "postal_code": "10001", "country": "US"} | changes  # fmt: skip
    return Address(**fields)


def _req(ship_to: Address | None = None, grams: int = 1200) -> RateRequest:
    return RateRequest(ship_from=AUSTIN, ship_to=ship_to or _to(), weight_grams=grams)


async def _buy(
    carrier: SandboxCarrier, req: RateRequest, key: str = "order-web-1:label:1"
) -> Label:
    rate = next(r for r in await carrier.rates(req) if r.service == "standard")
    return await carrier.buy_label(idempotency_key=key, rate=rate, req=req, reference="web-1")


def test_sandbox_carriers_satisfy_protocol(carriers: dict[str, SandboxCarrier]) -> None:
    typed: list[Carrier] = list(carriers.values())
    assert {c.name for c in typed} == {"parcelpoint", "swiftship"}


async def test_rate_shopping_prices_differ_per_carrier(
    carriers: dict[str, SandboxCarrier],
) -> None:
    quotes: dict[str, dict[str, Rate]] = {}
    for name, carrier in carriers.items():
        quotes[name] = {r.service: r for r in await carrier.rates(_req())}

    for rates in quotes.values():
        assert set(rates) == {"ground", "standard", "express", "overnight"}
        assert rates["ground"].amount < rates["standard"].amount < rates["express"].amount
        assert rates["express"].amount < rates["overnight"].amount
        assert rates["overnight"].transit_days == 1
    for service in ("ground", "standard", "express", "overnight"):
        assert quotes["parcelpoint"][service].amount != quotes["swiftship"][service].amount
    # Quoting twice gives the same rate ids (deterministic).
    again = await carriers["parcelpoint"].rates(_req())
    assert [r.rate_id for r in again] == [r.rate_id for r in quotes["parcelpoint"].values()]


async def test_price_grows_with_distance_and_weight(carriers: dict[str, SandboxCarrier]) -> None:
    carrier = carriers["parcelpoint"]

    async def ground(req: RateRequest) -> Rate:
        return next(r for r in await carrier.rates(req) if r.service == "ground")

    local = await ground(_req(_to(city="Houston", region="TX", postal_code="77002")))
    far = await ground(_req(_to(city="Seattle", region="WA", postal_code="98101")))
    heavy = await ground(_req(_to(city="Seattle", region="WA", postal_code="98101"), grams=9000))
    assert local.amount < far.amount < heavy.amount
    assert "zone 2" in local.description and "zone 7" in far.description


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"postal_code": ""}, "ship_to.postal_code"),
        ({"postal_code": "00000"}, "ship_to.postal_code"),
        ({"postal_code": "ABCDE"}, "ship_to.postal_code"),
        ({"country": "FR", "postal_code": "75001"}, "ship_to.country"),
        ({"line1": ""}, "ship_to.line1"),
    ],
)
async def test_invalid_addresses_are_refused(
    carriers: dict[str, SandboxCarrier], changes: dict[str, str], field: str
) -> None:
    with pytest.raises(InvalidAddress) as refused:
        await carriers["swiftship"].rates(_req(_to(**changes)))
    assert refused.value.field == field
    assert not refused.value.retryable


async def test_origin_needs_only_a_zip_or_state(carriers: dict[str, SandboxCarrier]) -> None:
    # A location on file may lack street and city: the zone comes from its ZIP or state.
    bare = Address(name="Reno DC", region="NV", postal_code="89501")
    assert await carriers["parcelpoint"].rates(RateRequest(ship_from=bare, ship_to=_to(),
                                                           weight_grams=500))  # fmt: skip
    state_only = Address(region="NV")
    assert await carriers["parcelpoint"].rates(RateRequest(ship_from=state_only, ship_to=_to(),
                                                           weight_grams=500))  # fmt: skip
    for origin, field in ((Address(region="XX"), "ship_from.postal_code"),
                          (Address(postal_code="8950"), "ship_from.postal_code"),
                          (Address(region="NV", country="CA"), "ship_from.country")):  # fmt: skip
        with pytest.raises(InvalidAddress) as refused:
            await carriers["parcelpoint"].rates(_req().model_copy(update={"ship_from": origin}))
        assert refused.value.field == field


async def test_too_heavy_is_refused(carriers: dict[str, SandboxCarrier]) -> None:
    with pytest.raises(InvalidParcel):
        await carriers["parcelpoint"].rates(_req(grams=31_000))


async def test_buy_label_is_idempotent(
    carriers: dict[str, SandboxCarrier], sessions: async_sessionmaker[AsyncSession]
) -> None:
    carrier = carriers["parcelpoint"]
    labels = await asyncio.gather(*(_buy(carrier, _req()) for _ in range(10)))
    again = await _buy(carrier, _req())

    assert len({(x.label_id, x.tracking_number) for x in [*labels, again]}) == 1
    assert again.pdf == labels[0].pdf and again.zpl == labels[0].zpl
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(SandboxLabel)) == 1
    other = await _buy(carrier, _req(), key="order-web-1:label:2")
    assert other.tracking_number != again.tracking_number


async def test_label_documents_carry_the_tracking_number(
    carriers: dict[str, SandboxCarrier],
) -> None:
    label = await _buy(carriers["swiftship"], _req())

    page = PdfReader(io.BytesIO(label.pdf)).pages[0]
    text = page.extract_text()
    assert label.tracking_number in text and "ANN LEE" in text.upper()
    assert (float(page.mediabox.width), float(page.mediabox.height)) == (288, 432)
    assert f"^FD{label.tracking_number}^FS" in label.zpl
    assert Label.model_validate_json(label.model_dump_json()) == label


async def test_tracking_numbers_look_real(carriers: dict[str, SandboxCarrier]) -> None:
    pp = (await _buy(carriers["parcelpoint"], _req())).tracking_number
    sw = (await _buy(carriers["swiftship"], _req())).tracking_number

    assert re.fullmatch(r"PP\d{16}", pp) and luhn_digit(pp[2:-1]) == pp[-1]
    assert re.fullmatch(r"SW\d{9}US", sw) and s10_digit(sw[2:10]) == sw[10]


async def _hand_over(carrier: SandboxCarrier, label: Label) -> None:
    await carrier.hand_over(label_id=label.label_id, idempotency_key=f"{label.reference}:handover")


def _auto(sessions: async_sessionmaker[AsyncSession], clock: FakeClock) -> SandboxCarrier:
    """ParcelPoint treating every label as handed over at purchase (the pre-hand-over model)."""
    return SandboxCarrier("parcelpoint", sessions, clock=clock, latency_s=0, auto_hand_over=True)


async def test_a_label_not_handed_over_never_moves_and_can_be_voided(
    carriers: dict[str, SandboxCarrier], clock: FakeClock
) -> None:
    carrier = carriers["parcelpoint"]
    label = await _buy(carrier, _req())
    clock.advance(days=3)

    info = await carrier.track(label.tracking_number)
    assert (info.status, info.events, info.delivered_at) == ("label_created", [], None)
    # Days after purchase the carrier still has nothing but the label: the void goes through.
    void = await carrier.void_label(label_id=label.label_id)
    assert void.refund_amount == label.cost


async def test_tracking_runs_from_the_hand_over(
    carriers: dict[str, SandboxCarrier], clock: FakeClock
) -> None:
    carrier = carriers["parcelpoint"]
    label = await _buy(carrier, _req())
    handed_over = clock.advance(hours=5)
    await _hand_over(carrier, label)
    seen = []
    for hours in (0, 1, 3.5, 6, 7):
        clock.now = handed_over + timedelta(hours=hours)
        seen.append((await carrier.track(label.tracking_number)).status)

    assert seen == ["in_transit", "in_transit", "in_transit", "out_for_delivery", "delivered"]
    info = await carrier.track(label.tracking_number)
    assert info.events[0].at == handed_over
    assert info.events[0].description == "Accepted by carrier"
    assert info.delivered_at == handed_over + timedelta(hours=7)
    assert info.estimated_delivery == info.delivered_at
    assert [e.at for e in info.events] == sorted(e.at for e in info.events)
    assert info.events[-1].location == "NEW YORK, NY"


async def test_hand_over_is_idempotent_and_durable(
    sessions: async_sessionmaker[AsyncSession],
    carriers: dict[str, SandboxCarrier],
    clock: FakeClock,
) -> None:
    carrier = carriers["parcelpoint"]
    label = await _buy(carrier, _req())
    first = clock.advance(hours=1)
    await _hand_over(carrier, label)
    clock.advance(hours=2)
    await _hand_over(carrier, label)  # a retried activity: the first hand-over counts

    async with sessions() as session:
        row = await session.get(SandboxLabel, label.label_id)
    assert row is not None and row.handed_over_at == first
    # A restarted worker (a new adapter on the same database) sees the same journey.
    again = sandbox_carriers(sessions, time_scale=1.0, clock=clock, latency_s=0)["parcelpoint"]
    assert (await again.track(label.tracking_number)).events[0].at == first


async def test_hand_over_refuses_unknown_and_voided_labels(
    carriers: dict[str, SandboxCarrier],
) -> None:
    carrier = carriers["parcelpoint"]
    label = await _buy(carrier, _req())
    with pytest.raises(UnknownLabel):
        await carrier.hand_over(label_id="lbl_missing", idempotency_key="k")
    with pytest.raises(UnknownLabel):  # another carrier's label
        await carriers["swiftship"].hand_over(label_id=label.label_id, idempotency_key="k")
    await carrier.void_label(label_id=label.label_id)
    with pytest.raises(LabelVoided):
        await _hand_over(carrier, label)
    assert (await carrier.track(label.tracking_number)).status == "label_created"


async def test_no_void_once_handed_over(
    carriers: dict[str, SandboxCarrier], clock: FakeClock
) -> None:
    carrier = carriers["parcelpoint"]
    label = await _buy(carrier, _req())
    await _hand_over(carrier, label)
    # Right away, before any scan: the parcel has left the building.
    with pytest.raises(LabelAlreadyUsed):
        await carrier.void_label(label_id=label.label_id)
    clock.advance(hours=2)
    with pytest.raises(LabelAlreadyUsed):
        await carrier.void_label(label_id=label.label_id)
    with pytest.raises(UnknownLabel):
        await carrier.void_label(label_id="lbl_missing")


async def test_time_scale_delivers_standard_in_seconds(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    fast = sandbox_carriers(sessions, time_scale=0.001, clock=clock, latency_s=0)["swiftship"]
    label = await _buy(fast, _req())
    clock.advance(seconds=40)
    assert (await fast.track(label.tracking_number)).status == "label_created"
    handed_over = clock.now
    await _hand_over(fast, label)

    clock.now = handed_over + timedelta(seconds=4)
    assert (await fast.track(label.tracking_number)).status == "in_transit"
    clock.now = handed_over + timedelta(seconds=29)
    assert (await fast.track(label.tracking_number)).status == "delivered"


@pytest.mark.parametrize(
    ("marker", "at_hours", "status", "reason"),
    [
        ("FAIL DELIVERY", 7, "exception", "failed_attempt"),
        ("FAIL DELIVERY", 7.5, "out_for_delivery", None),
        ("FAIL DELIVERY", 8, "delivered", None),
        ("LOST PARCEL", 6, "exception", "lost"),
        ("LOST PARCEL", 500, "exception", "lost"),
        ("RETURN TO SENDER", 7, "returned_to_sender", None),
    ],
)
async def test_exception_markers_run_from_the_hand_over(
    carriers: dict[str, SandboxCarrier],
    clock: FakeClock,
    marker: str,
    at_hours: float,
    status: str,
    reason: str | None,
) -> None:
    carrier = carriers["parcelpoint"]
    label = await _buy(carrier, _req(_to(line1=f"12 Elm St {marker}")))
    handed_over = clock.advance(hours=10)
    assert (await carrier.track(label.tracking_number)).status == "label_created"
    await _hand_over(carrier, label)
    clock.now = handed_over + timedelta(hours=at_hours)

    info = await carrier.track(label.tracking_number)
    assert (info.status, info.exception_reason) == (status, reason)
    if status == "delivered":
        assert any(e.status == "exception" for e in info.events)


async def test_auto_hand_over_tracks_from_purchase(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    carrier = _auto(sessions, clock)
    label = await _buy(carrier, _req())
    seen = []
    for hours in (0, 1, 3.5, 6, 7):
        clock.now = label.created_at + timedelta(hours=hours)
        seen.append((await carrier.track(label.tracking_number)).status)

    assert seen == ["label_created", "in_transit", "in_transit", "out_for_delivery", "delivered"]
    # A hand-over reported later is recorded but does not rewind the journey under way.
    await _hand_over(carrier, label)
    info = await carrier.track(label.tracking_number)
    assert info.delivered_at == label.created_at + timedelta(hours=7)


async def test_auto_hand_over_voids_before_the_first_scan_and_not_after(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    carrier = _auto(sessions, clock)
    unused = await _buy(carrier, _req(), key="k-unused")
    scanned = await _buy(carrier, _req(), key="k-scanned")

    first = await carrier.void_label(label_id=unused.label_id)
    clock.advance(hours=2)
    assert await carrier.void_label(label_id=unused.label_id) == first
    assert first.refund_amount == unused.cost
    with pytest.raises(LabelAlreadyUsed):
        await carrier.void_label(label_id=scanned.label_id)
    # A voided label never moves.
    assert (await carrier.track(unused.tracking_number)).status == "label_created"


async def test_unknown_tracking(carriers: dict[str, SandboxCarrier]) -> None:
    label = await _buy(carriers["parcelpoint"], _req())
    with pytest.raises(UnknownTracking):
        await carriers["parcelpoint"].track("PP0000000000000000")
    with pytest.raises(UnknownTracking):
        await carriers["swiftship"].track(label.tracking_number)


async def test_outage_marker_fails_the_first_attempt_only(
    carriers: dict[str, SandboxCarrier],
) -> None:
    req = _req(_to(line1="5 Oak Rd CARRIER OUTAGE"))
    with pytest.raises(CarrierUnavailable) as outage:
        await _buy(carriers["swiftship"], req)
    assert outage.value.retryable
    label = await _buy(carriers["swiftship"], req)
    assert label == await _buy(carriers["swiftship"], req)
