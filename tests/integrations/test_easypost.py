"""`EasyPostCarrier` against EasyPost's documented JSON, through httpx.MockTransport."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from integrations.carriers.easypost import EasyPostCarrier
from integrations.carriers.errors import (
    CarrierRequestError,
    CarrierUnavailable,
    InvalidAddress,
    LabelAlreadyUsed,
    LabelVoided,
    UnknownLabel,
    UnknownTracking,
)
from integrations.carriers.protocol import Address, Carrier, Label, Parcel, RateRequest
from tests.integrations.fake_easypost import FakeEasyPost

REQ = RateRequest(
    ship_from=Address(name="OMS Austin DC", line1="100 Congress Ave", city="Austin", region="TX",
                      postal_code="78701"),
    ship_to=Address(name="Ann Lee", line1="1 Main St", line2="Apt 4", city="New York",
                    region="NY", postal_code="10001"),
    weight_grams=1000,
    parcel=Parcel(length_cm=30, width_cm=20, height_cm=10),
)  # fmt: skip


async def _buy(easypost: EasyPostCarrier, service: str = "express") -> Label:
    rate = next(r for r in await easypost.rates(REQ) if r.service == service)
    return await easypost.buy_label(idempotency_key="k1", rate=rate, req=REQ, reference="web-1")


async def test_rates_create_a_shipment(
    easypost: EasyPostCarrier, fake_easypost: FakeEasyPost
) -> None:
    checked: Carrier = easypost
    rates = await checked.rates(REQ)

    create = fake_easypost.requests[0]
    assert (create.method, create.url.path) == ("POST", "/v2/shipments")
    assert create.authorization and create.authorization.startswith("Basic ")
    shipment = (create.body or {})["shipment"]
    assert shipment["to_address"] == {"name": "Ann Lee", "street1": "1 Main St",
                                      "street2": "Apt 4", "city": "New York", "state": "NY",
                                      "zip": "10001", "country": "US"}  # fmt: skip
    assert shipment["parcel"] == {"weight": 35.3, "length": 11.8, "width": 7.9, "height": 3.9}
    assert {(r.description, r.service, r.amount, r.transit_days) for r in rates} == {
        ("USPS GroundAdvantage", "standard", Decimal("7.58"), 3),
        ("USPS Priority", "express", Decimal("9.10"), 2),
        ("USPS Express", "overnight", Decimal("31.25"), 1),
        ("UPS Ground", "standard", Decimal("11.40"), 4),
        ("UPS NextDayAir", "overnight", Decimal("45.10"), 1),
    }
    [shipment_id] = fake_easypost.shipments
    assert all(r.rate_id.startswith(f"{shipment_id}:rate_") and r.carrier == "easypost"
               for r in rates)  # fmt: skip


async def test_buy_label_downloads_pdf_and_zpl(
    easypost: EasyPostCarrier, fake_easypost: FakeEasyPost
) -> None:
    label = await _buy(easypost)

    [shipment] = fake_easypost.shipments.values()
    assert label.label_id == shipment["id"]
    assert label.tracking_number == shipment["tracking_code"]
    assert (label.service, label.cost) == ("express", Decimal("9.10"))
    assert label.pdf == b"%PDF-1.4 fake" and label.zpl == "^XA^XZ"
    buy = next(r for r in fake_easypost.requests if r.url.path.endswith("/buy"))
    assert buy.body == {"rate": {"id": shipment["selected_rate"]["id"]}}
    convert = next(r for r in fake_easypost.requests if r.url.path.endswith("/label"))
    assert convert.url.params["file_format"] == "ZPL"
    downloads = [r for r in fake_easypost.requests if r.url.host == "files.easypost.test"]
    assert len(downloads) == 2 and all(r.authorization is None for r in downloads)


async def test_buying_twice_returns_the_same_label(easypost: EasyPostCarrier) -> None:
    first = await _buy(easypost)
    rate_id = f"{first.label_id}:rate_other"
    again = await easypost.buy_label(
        idempotency_key="k1",
        rate=(await easypost.rates(REQ))[0].model_copy(update={"rate_id": rate_id}),
        req=REQ,
        reference="web-1",
    )
    assert (again.label_id, again.tracking_number) == (first.label_id, first.tracking_number)


async def test_void_label(easypost: EasyPostCarrier, fake_easypost: FakeEasyPost) -> None:
    unused = await _buy(easypost)
    void = await easypost.void_label(label_id=unused.label_id)
    assert void.refund_amount == Decimal("9.10")
    # A second void finds the refund already submitted.
    assert (await easypost.void_label(label_id=unused.label_id)).label_id == unused.label_id

    scanned = await _buy(easypost)
    fake_easypost.scanned.add(scanned.tracking_number)
    with pytest.raises(LabelAlreadyUsed):
        await easypost.void_label(label_id=scanned.label_id)


@pytest.mark.parametrize(
    ("code", "status", "delivered"),
    [
        ("EZ1000000001", "label_created", False),
        ("EZ2000000002", "in_transit", False),
        ("EZ3000000003", "out_for_delivery", False),
        ("EZ4000000004", "delivered", True),
        ("EZ5000000005", "returned_to_sender", False),
        ("EZ6000000006", "exception", False),
    ],
)
async def test_tracking_statuses_map(
    easypost: EasyPostCarrier, code: str, status: str, delivered: bool
) -> None:
    info = await easypost.track(code)

    assert (info.tracking_number, info.status) == (code, status)
    assert info.events[0].status == "label_created"
    assert info.events[-1].location == "AUSTIN, TX"
    assert (info.delivered_at is not None) == delivered
    assert info.estimated_delivery is not None


async def test_errors_are_typed(easypost: EasyPostCarrier, fake_easypost: FakeEasyPost) -> None:
    bad = REQ.model_copy(
        update={"ship_to": REQ.ship_to.model_copy(update={"postal_code": "00000"})}
    )
    with pytest.raises(InvalidAddress) as invalid:
        await easypost.rates(bad)
    assert invalid.value.field == "ship_to.postal_code"
    with pytest.raises(UnknownTracking):
        await easypost.track("EZ0000000000")
    fake_easypost.down = True
    with pytest.raises(CarrierUnavailable) as down:
        await easypost.rates(REQ)
    assert down.value.retryable


async def test_network_errors_are_transient() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    carrier = EasyPostCarrier("k", transport=httpx.MockTransport(refuse))
    with pytest.raises(CarrierUnavailable):
        await carrier.track("EZ1000000001")
    await carrier.aclose()


async def test_hand_over_puts_the_shipment_on_a_scan_form(
    easypost: EasyPostCarrier, fake_easypost: FakeEasyPost
) -> None:
    label = await _buy(easypost)
    checked: Carrier = easypost
    await checked.hand_over(label_id=label.label_id, idempotency_key="web-1:handover")

    request = fake_easypost.requests[-1]
    assert (request.method, request.url.path) == ("POST", "/v2/scan_forms")
    assert request.body == {"shipments": [{"id": label.label_id}]}
    assert request.authorization and request.authorization.startswith("Basic ")
    [form] = fake_easypost.scan_forms.values()
    assert form["id"].startswith("sf_") and form["tracking_codes"] == [label.tracking_number]
    assert fake_easypost.shipments[label.label_id]["scan_form"] == form


async def test_hand_over_twice_is_one_scan_form(
    easypost: EasyPostCarrier, fake_easypost: FakeEasyPost
) -> None:
    label = await _buy(easypost)
    await easypost.hand_over(label_id=label.label_id, idempotency_key="k")
    # A retry (say the first answer was lost): EasyPost refuses a second ScanForm for the
    # shipment, and the adapter finds it already on one.
    await easypost.hand_over(label_id=label.label_id, idempotency_key="k")

    assert len(fake_easypost.scan_forms) == 1
    refused = [r for r in fake_easypost.requests if r.url.path == "/v2/scan_forms"][-1]
    assert refused.body == {"shipments": [{"id": label.label_id}]}
    assert fake_easypost.requests[-1].url.path == f"/v2/shipments/{label.label_id}"


async def test_hand_over_refusals_are_typed(
    easypost: EasyPostCarrier, fake_easypost: FakeEasyPost
) -> None:
    with pytest.raises(UnknownLabel):
        await easypost.hand_over(label_id="shp_missing", idempotency_key="k")
    refunded = await _buy(easypost)
    await easypost.void_label(label_id=refunded.label_id)
    with pytest.raises(LabelVoided):
        await easypost.hand_over(label_id=refunded.label_id, idempotency_key="k")
    unbought = (await easypost.rates(REQ))[0].rate_id.split(":")[0]
    with pytest.raises(CarrierRequestError) as refused:
        await easypost.hand_over(label_id=unbought, idempotency_key="k")
    assert refused.value.code == "SCAN_FORM.CREATE.FAILURE"
    assert fake_easypost.scan_forms == {}
    fake_easypost.down = True
    with pytest.raises(CarrierUnavailable):
        await easypost.hand_over(label_id=refunded.label_id, idempotency_key="k")
