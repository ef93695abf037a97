"""`Carrier` on EasyPost's REST API (v2) with httpx: shipments, rates, labels, refunds, trackers,
and ScanForms (EasyPost's manifest) for the hand-over.

EasyPost has no idempotency keys; a label is bought on a shipment, and buying again on the same
shipment is refused with SHIPMENT.POSTAGE.EXISTS, which we answer with the label it already has.
So the rate id carries its shipment id, and one shipment's label is bought at most once. Likewise
a shipment goes on at most one ScanForm, so a repeated hand-over is refused and we answer it from
the shipment's own `scan_form`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import structlog

from domain.money import q
from integrations.carriers.errors import (
    CarrierRequestError,
    CarrierUnavailable,
    InvalidAddress,
    LabelAlreadyUsed,
    LabelVoided,
    UnknownLabel,
    UnknownTracking,
)
from integrations.carriers.protocol import (
    Address,
    Label,
    LabelVoid,
    Rate,
    RateRequest,
    Service,
    TrackingEvent,
    TrackingInfo,
    TrackingStatus,
)

log = structlog.get_logger(__name__)

DEFAULT_BASE_URL = "https://api.easypost.com/v2"
GRAMS_PER_OUNCE = 28.349523125
CM_PER_INCH = 2.54

STATUSES: dict[str, TrackingStatus] = {
    "unknown": "label_created", "pre_transit": "label_created", "in_transit": "in_transit",
    "out_for_delivery": "out_for_delivery", "available_for_pickup": "out_for_delivery",
    "delivered": "delivered", "failure": "exception", "error": "exception",
    "cancelled": "exception", "return_to_sender": "returned_to_sender",
}  # fmt: skip
# Carrier service names we know; others are classed by their delivery days.
SERVICES: dict[str, Service] = {
    "Express": "overnight", "NextDayAir": "overnight", "NextDayAirSaver": "overnight",
    "NextDayAirEarlyAM": "overnight", "PRIORITY_OVERNIGHT": "overnight",
    "STANDARD_OVERNIGHT": "overnight", "FIRST_OVERNIGHT": "overnight",
    "Priority": "express", "2ndDayAir": "express", "2ndDayAirAM": "express",
    "FEDEX_2_DAY": "express", "FEDEX_2_DAY_AM": "express", "FEDEX_EXPRESS_SAVER": "express",
    "GroundAdvantage": "standard", "Ground": "standard", "FEDEX_GROUND": "standard",
    "GROUND_HOME_DELIVERY": "standard", "3DaySelect": "standard",
    "ParcelSelect": "ground", "MediaMail": "ground", "SMART_POST": "ground",
}  # fmt: skip
_FIELDS = {"to_address": "ship_to", "from_address": "ship_from", "zip": "postal_code",
           "street1": "line1", "street2": "line2", "state": "region"}  # fmt: skip


def _service(name: str, days: int | None) -> Service:
    if name in SERVICES:
        return SERVICES[name]
    if days is None or days > 5:
        return "ground"
    return "overnight" if days <= 1 else "express" if days == 2 else "standard"


def _address(a: Address) -> dict[str, str]:
    return {"name": a.name, "street1": a.line1, "street2": a.line2, "city": a.city,
            "state": a.region, "zip": a.postal_code, "country": a.country}  # fmt: skip


def _field(ep_field: str) -> str:
    """EasyPost's field path (to_address.zip) in our names (ship_to.postal_code)."""
    return ".".join(_FIELDS.get(part, part) for part in ep_field.split("."))


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


class EasyPostCarrier:
    """EasyPost as one `Carrier` named `easypost`; its rates span the account's carriers."""

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        name: str = "easypost",
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.name = name
        self._auth = httpx.BasicAuth(api_key, "")
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/", timeout=timeout, transport=transport
        )

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    async def rates(self, req: RateRequest) -> list[Rate]:
        """Create a shipment and return its rates (the rate ids carry the shipment id)."""
        parcel: dict[str, float] = {"weight": round(req.weight_grams / GRAMS_PER_OUNCE, 1)}
        if req.parcel is not None:
            parcel |= {"length": round(req.parcel.length_cm / CM_PER_INCH, 1),
                       "width": round(req.parcel.width_cm / CM_PER_INCH, 1),
                       "height": round(req.parcel.height_cm / CM_PER_INCH, 1)}  # fmt: skip
        shipment = await self._api(
            "POST",
            "shipments",
            json={
                "shipment": {
                    "to_address": _address(req.ship_to),
                    "from_address": _address(req.ship_from),
                    "parcel": parcel,
                    "options": {"label_format": "PDF"},
                }
            },
        )
        return [self._rate(shipment["id"], r) for r in shipment.get("rates") or []]

    async def buy_label(
        self, *, idempotency_key: str, rate: Rate, req: RateRequest, reference: str
    ) -> Label:
        """Buy the rate on its shipment; buying twice returns the label already bought."""
        shipment_id, rate_id = rate.rate_id.split(":", 1)
        try:
            shipment = await self._api(
                "POST", f"shipments/{shipment_id}/buy", json={"rate": {"id": rate_id}}
            )
        except CarrierRequestError as exc:
            if exc.code != "SHIPMENT.POSTAGE.EXISTS":
                raise
            shipment = await self._api("GET", f"shipments/{shipment_id}")
        selected = shipment["selected_rate"]
        label = shipment.get("postage_label") or {}
        pdf_url = label.get("label_pdf_url") or await self._converted(shipment_id, "PDF")
        zpl_url = label.get("label_zpl_url") or await self._converted(shipment_id, "ZPL")
        return Label(
            label_id=shipment["id"],
            carrier=self.name,
            service=_service(selected["service"], selected.get("delivery_days")),
            tracking_number=shipment["tracking_code"],
            cost=q(Decimal(selected["rate"])),
            currency=selected.get("currency") or "USD",
            pdf=await self._download(pdf_url),
            zpl=(await self._download(zpl_url)).decode(),
            created_at=_when(label.get("label_date") or shipment.get("created_at"))
            or datetime.now(UTC),
            reference=reference,
        )

    async def void_label(self, *, label_id: str) -> LabelVoid:
        """Ask for the postage back; refused once the carrier has scanned the parcel."""
        try:
            shipment = await self._api("POST", f"shipments/{label_id}/refund", missing=UnknownLabel)
        except CarrierRequestError as exc:
            # Refunding twice is refused; if a refund is already under way, that is our answer.
            shipment = await self._api("GET", f"shipments/{label_id}", missing=UnknownLabel)
            if shipment.get("refund_status") not in ("submitted", "refunded"):
                raise LabelAlreadyUsed(exc.code, exc.message) from exc
        status = shipment.get("refund_status")
        if status == "rejected":
            raise LabelAlreadyUsed("refund_rejected", f"EasyPost refused to refund {label_id}.")
        cost = (shipment.get("selected_rate") or {}).get("rate") or "0"
        # not_applicable: bill-on-scan carriers never charged an unused label.
        refund = Decimal("0") if status == "not_applicable" else Decimal(cost)
        return LabelVoid(label_id=label_id, refund_amount=q(refund), voided_at=datetime.now(UTC))

    async def hand_over(self, *, label_id: str, idempotency_key: str) -> None:
        """Put the shipment on a ScanForm; one already on a ScanForm is handed over already.

        EasyPost takes no idempotency key here (`idempotency_key` is for the protocol): a refused
        ScanForm is checked against the shipment, so a retry after a lost answer succeeds.
        """
        try:
            form = await self._api("POST", "scan_forms", json={"shipments": [{"id": label_id}]})
        except CarrierRequestError as exc:
            shipment = await self._api("GET", f"shipments/{label_id}", missing=UnknownLabel)
            if shipment.get("scan_form"):
                return
            if shipment.get("refund_status") in ("submitted", "refunded"):
                raise LabelVoided(exc.code, f"{label_id} was refunded: {exc.message}") from exc
            raise
        if form.get("status") == "failed":
            raise CarrierRequestError("SCAN_FORM.FAILURE", form.get("message") or "failed")
        log.info("scan form created", scan_form=form.get("id"), shipment=label_id)

    async def track(self, tracking_number: str) -> TrackingInfo:
        """Create (or fetch: EasyPost dedupes by code) the tracker and map its history."""
        tracker = await self._api(
            "POST",
            "trackers",
            json={"tracker": {"tracking_code": tracking_number}},
            missing=UnknownTracking,
        )
        events = [
            TrackingEvent(
                at=_when(d.get("datetime")) or datetime.now(UTC),
                status=STATUSES.get(d.get("status") or "unknown", "in_transit"),
                description=d.get("message") or d.get("description") or "",
                location=", ".join(
                    str(v)
                    for v in (
                        (d.get("tracking_location") or {}).get("city"),
                        (d.get("tracking_location") or {}).get("state"),
                    )
                    if v
                ),
            )
            for d in tracker.get("tracking_details") or []
        ]
        status = STATUSES.get(tracker.get("status") or "unknown", "in_transit")
        delivered = [e.at for e in events if e.status == "delivered"]
        return TrackingInfo(
            tracking_number=tracker["tracking_code"],
            carrier=self.name,
            status=status,
            events=sorted(events, key=lambda e: e.at),
            estimated_delivery=_when(tracker.get("est_delivery_date")),
            delivered_at=delivered[-1] if status == "delivered" and delivered else None,
            exception_reason=tracker.get("status_detail") if status == "exception" else None,
        )

    def _rate(self, shipment_id: str, r: dict[str, Any]) -> Rate:
        days = r.get("delivery_days") or r.get("est_delivery_days")
        service = _service(r["service"], days)
        return Rate(
            carrier=self.name,
            service=service,
            amount=q(Decimal(r["rate"])),
            currency=r.get("currency") or "USD",
            transit_days=days or {"overnight": 1, "express": 2, "standard": 4}.get(service, 6),
            rate_id=f"{shipment_id}:{r['id']}",
            description=f"{r['carrier']} {r['service']}",
        )

    async def _converted(self, shipment_id: str, file_format: str) -> str:
        shipment = await self._api(
            "GET", f"shipments/{shipment_id}/label", params={"file_format": file_format}
        )
        return str(shipment["postage_label"][f"label_{file_format.lower()}_url"])

    async def _download(self, url: str) -> bytes:
        # Label files live on a CDN: never send the API key there.
        try:
            response = await self._client.get(url, auth=None)
        except httpx.TransportError as exc:
            raise CarrierUnavailable("network", str(exc)) from exc
        if response.status_code >= 400:
            raise CarrierUnavailable("label_download", f"{url}: HTTP {response.status_code}")
        return response.content

    async def _api(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        missing: type[UnknownLabel] | type[UnknownTracking] | None = None,
    ) -> dict[str, Any]:
        """One API call; HTTP failures become typed carrier errors."""
        try:
            response = await self._client.request(
                method, path, json=json, params=params, auth=self._auth
            )
        except httpx.TransportError as exc:
            raise CarrierUnavailable("network", str(exc)) from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise CarrierUnavailable(f"http_{response.status_code}", response.text[:200])
        body: dict[str, Any] = response.json() if response.content else {}
        if response.status_code < 400:
            return body
        error = body.get("error") or {}
        code, message = error.get("code") or f"http_{response.status_code}", error.get("message")
        message = message or response.text[:200]
        unknown = response.status_code == 404 or "NOT_FOUND" in code or code.startswith("TRACKER.")
        if missing is not None and unknown:
            raise missing(code, message)
        fields = [e for e in error.get("errors") or [] if isinstance(e, dict) and e.get("field")]
        if code.startswith("ADDRESS") or any("address" in e["field"] for e in fields):
            field = _field(fields[0]["field"]) if fields else "ship_to"
            raise InvalidAddress(field, fields[0].get("message", message) if fields else message)
        raise CarrierRequestError(code, message)
