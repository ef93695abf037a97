"""EasyPost API v2 answered in-process (for httpx.MockTransport), in its documented JSON shapes.

Where each shape comes from: tests/integrations/fixtures/README.md.
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass
from typing import Any

import httpx

API_KEY = "EZTK_test_key"
FILES = "https://files.easypost.test"
RATES = [  # carrier, service, rate, delivery_days
    ("USPS", "GroundAdvantage", "7.58", 3),
    ("USPS", "Priority", "9.10", 2),
    ("USPS", "Express", "31.25", 1),
    ("UPS", "Ground", "11.40", 4),
    ("UPS", "NextDayAir", "45.10", 1),
]
# EasyPost's test tracking codes and the status each one reaches.
TEST_TRACKERS = {
    "EZ1000000001": "pre_transit",
    "EZ2000000002": "in_transit",
    "EZ3000000003": "out_for_delivery",
    "EZ4000000004": "delivered",
    "EZ5000000005": "return_to_sender",
    "EZ6000000006": "failure",
}
PROGRESS = ["pre_transit", "in_transit", "out_for_delivery"]


@dataclass
class Seen:
    """One request the fake received."""

    method: str
    url: httpx.URL
    body: dict[str, Any] | None
    authorization: str | None


def _error(status: int, code: str, message: str, errors: list[Any] | None = None) -> httpx.Response:
    return httpx.Response(
        status, json={"error": {"code": code, "message": message, "errors": errors or []}}
    )


class FakeEasyPost:
    """Shipments with rates, buy, label conversion, refunds, ScanForms and trackers."""

    def __init__(self) -> None:
        self.requests: list[Seen] = []
        self.shipments: dict[str, dict[str, Any]] = {}
        self.scan_forms: dict[str, dict[str, Any]] = {}
        self.scanned: set[str] = set()
        self.down = False

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        self.requests.append(
            Seen(request.method, request.url, body, request.headers.get("Authorization"))
        )
        if self.down:
            return _error(503, "SERVICE.UNAVAILABLE", "Service temporarily unavailable")
        if str(request.url).startswith(FILES):
            kind = request.url.path.rsplit(".", 1)[-1]
            return httpx.Response(200, content=b"%PDF-1.4 fake" if kind == "pdf" else b"^XA^XZ")
        expected = "Basic " + base64.b64encode(f"{API_KEY}:".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return _error(401, "APIKEY.INACTIVE", "Invalid API key")
        parts = request.url.path.removeprefix("/v2/").split("/")
        if parts == ["shipments"] and request.method == "POST":
            return self._create(body or {})
        if parts == ["scan_forms"] and request.method == "POST":
            return self._scan_form(body or {})
        if parts == ["trackers"] and request.method == "POST":
            return self._tracker((body or {})["tracker"]["tracking_code"])
        shipment = self.shipments.get(parts[1]) if len(parts) > 1 else None
        if shipment is None:
            return _error(404, "NOT_FOUND", "The requested resource could not be found.")
        action = parts[2] if len(parts) > 2 else None
        if action == "buy":
            return self._buy(shipment, (body or {})["rate"]["id"])
        if action == "label":
            fmt = request.url.params["file_format"].lower()
            shipment["postage_label"][f"label_{fmt}_url"] = f"{FILES}/label.{fmt}"
        if action == "refund":
            return self._refund(shipment)
        return httpx.Response(200, json=shipment)

    def _create(self, body: dict[str, Any]) -> httpx.Response:
        shipment = body["shipment"]
        if shipment["to_address"]["zip"] == "00000":
            return _error(422, "ADDRESS.VERIFY.FAILURE", "Address not found",
                          [{"field": "to_address.zip", "message": "Invalid ZIP code",
                            "suggestion": None}])  # fmt: skip
        shipment_id = f"shp_{secrets.token_hex(8)}"
        self.shipments[shipment_id] = {
            "id": shipment_id, "object": "Shipment", "mode": "test",
            "created_at": "2025-03-03T09:00:00Z", **shipment, "messages": [],
            "rates": [{"id": f"rate_{secrets.token_hex(8)}", "object": "Rate", "carrier": c,
                       "service": s, "rate": r, "currency": "USD", "delivery_days": d,
                       "shipment_id": shipment_id} for c, s, r, d in RATES],
            "selected_rate": None, "postage_label": None, "tracking_code": None,
            "refund_status": None, "scan_form": None,
        }  # fmt: skip
        return httpx.Response(201, json=self.shipments[shipment_id])

    def _buy(self, shipment: dict[str, Any], rate_id: str) -> httpx.Response:
        if shipment["postage_label"] is not None:
            return _error(422, "SHIPMENT.POSTAGE.EXISTS", "Shipment already has postage.")
        rate = next(r for r in shipment["rates"] if r["id"] == rate_id)
        shipment |= {
            "selected_rate": rate, "tracking_code": f"9400{secrets.randbelow(10**18):018d}",
            "postage_label": {"object": "PostageLabel", "label_date": "2025-03-03T09:05:00Z",
                              "label_url": f"{FILES}/label.png", "label_file_type": "image/png",
                              "label_pdf_url": f"{FILES}/label.pdf", "label_zpl_url": None},
        }  # fmt: skip
        return httpx.Response(200, json=shipment)

    def _refund(self, shipment: dict[str, Any]) -> httpx.Response:
        if shipment["refund_status"] is not None:
            return _error(422, "SHIPMENT.REFUND.UNAVAILABLE", "Refund already requested.")
        scanned = shipment["tracking_code"] in self.scanned
        shipment["refund_status"] = "rejected" if scanned else "submitted"
        return httpx.Response(200, json=shipment)

    def _scan_form(self, body: dict[str, Any]) -> httpx.Response:
        """POST /v2/scan_forms `{"shipments": [{"id": ...}]}`, under EasyPost's documented rules:
        bought, unrefunded shipments, each on at most one ScanForm."""
        ids = [s.get("id") for s in body.get("shipments") or [] if isinstance(s, dict)]
        if not ids:
            return _error(422, "SCAN_FORM.SHIPMENTS.REQUIRED", "Shipments are required.")
        missing = [i for i in ids if i not in self.shipments]
        if missing:
            return _error(422, "SCAN_FORM.CREATE.FAILURE", "Unable to create manifest. "
                          f"{len(missing)} of the specified shipments were not found: "
                          f"{', '.join(missing)}")  # fmt: skip
        shipments = [self.shipments[i] for i in ids]
        for shipment in shipments:
            problem = (
                "has no postage" if shipment["postage_label"] is None
                else "was refunded" if shipment["refund_status"] is not None
                else "is already on a ScanForm" if shipment["scan_form"] is not None
                else None
            )  # fmt: skip
            if problem:
                message = f"Unable to create manifest. {shipment['id']} {problem}."
                return _error(422, "SCAN_FORM.CREATE.FAILURE", message)
        form_id = f"sf_{secrets.token_hex(16)}"
        form = {
            "id": form_id, "object": "ScanForm", "created_at": "2025-03-03T17:00:00Z",
            "updated_at": "2025-03-03T17:00:01Z",
            "tracking_codes": [s["tracking_code"] for s in shipments],
            "address": {"object": "Address", **shipments[0]["from_address"]},
            "status": "created", "message": None,
            "form_url": f"{FILES}/scan_form/{form_id}.pdf", "form_file_type": None,
            "batch_id": f"batch_{secrets.token_hex(16)}", "confirmation": None,
        }  # fmt: skip
        self.scan_forms[form_id] = form
        for shipment in shipments:
            shipment["scan_form"] = form
        return httpx.Response(200, json=form)

    def _tracker(self, code: str) -> httpx.Response:
        status = TEST_TRACKERS.get(code)
        if status is None:
            return _error(404, "TRACKER.NOT_FOUND", f"No tracker for {code}")
        if status in PROGRESS:
            steps = PROGRESS[: PROGRESS.index(status) + 1]
        else:
            steps = [*PROGRESS, status]
        details = [{"object": "TrackingDetail", "message": f"Scan: {step}", "status": step,
                    "status_detail": "status_update", "datetime": f"2025-03-0{3 + i}T12:00:00Z",
                    "source": "USPS", "tracking_location": {"object": "TrackingLocation",
                    "city": "AUSTIN", "state": "TX", "country": "US", "zip": "78701"}}
                   for i, step in enumerate(steps)]  # fmt: skip
        return httpx.Response(200, json={
            "id": f"trk_{secrets.token_hex(8)}", "object": "Tracker", "mode": "test",
            "tracking_code": code, "status": status, "carrier": "USPS",
            "status_detail": "arrived_at_destination" if status == "delivered" else "unknown",
            "est_delivery_date": "2025-03-08T15:00:00Z", "tracking_details": details,
        })  # fmt: skip
