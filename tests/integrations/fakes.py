"""Test doubles for adapter tests: a tiny local Stripe API server."""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class StripeRequest:
    """One request the fake Stripe received."""

    method: str
    path: str
    form: dict[str, str]
    headers: dict[str, str]
    query: dict[str, str] = field(default_factory=dict)


DECLINES = {
    "tok_chargeDeclined": ("card_declined", "generic_decline", "Your card was declined."),
    "tok_chargeDeclinedInsufficientFunds": (
        "card_declined", "insufficient_funds", "Your card has insufficient funds."),
    "tok_insufficientFunds": (
        "card_declined", "insufficient_funds", "Your card has insufficient funds."),
    "tok_chargeDeclinedExpiredCard": ("expired_card", None, "Your card has expired."),
}  # fmt: skip


def _error(status: int, kind: str, code: str, message: str, **extra: Any) -> tuple[int, dict]:
    return status, {"error": {"type": kind, "code": code, "message": message, **extra}}


class FakeStripe:
    """Stripe's wire format for PaymentIntents (manual capture, multicapture), cancel, refunds.

    Form-encoded requests, JSON responses, Bearer auth and Idempotency-Key replay, as documented.
    """

    def __init__(self) -> None:
        self.requests: list[StripeRequest] = []
        self.intents: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self._replies: dict[str, tuple[str, int, dict[str, Any]]] = {}
        # Whether the "card network" grants multicapture when it is requested.
        self.multicapture = True
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake._serve(self, "GET")

            def do_POST(self) -> None:
                fake._serve(self, "POST")

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # A short poll interval keeps shutdown (every test's teardown) quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        """Base URL to give the SDK as `api_base`."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeStripe:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _serve(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length).decode() if length else ""
        form = dict(parse_qsl(body, keep_blank_values=True))
        request = StripeRequest(
            method, parts.path, form, dict(handler.headers.items()), dict(parse_qsl(parts.query))
        )
        with self._lock:
            self.requests.append(request)
            status, reply, replayed = self._handle(request)
        payload = json.dumps(reply).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.send_header("Request-Id", f"req_{secrets.token_hex(6)}")
        if replayed:
            handler.send_header("Idempotent-Replayed", "true")
        handler.end_headers()
        handler.wfile.write(payload)

    def _handle(self, req: StripeRequest) -> tuple[int, dict[str, Any], bool]:
        if not req.headers.get("Authorization", "").startswith("Bearer sk_test_"):
            return *_error(401, "invalid_request_error", "api_key_invalid", "Bad key."), False
        key = req.headers.get("Idempotency-Key")
        digest = json.dumps([req.path, sorted(req.form.items())])
        if req.method == "POST" and key in self._replies:
            seen, status, reply = self._replies[key]
            if seen != digest:
                return (
                    *_error(400, "idempotency_error", "idempotency_key_in_use",
                            "Keys for idempotent requests can only be used with the same "
                            "parameters they were first used with."),
                    False,
                )  # fmt: skip
            return status, reply, True
        status, reply = self._route(req)
        if req.method == "POST" and key:
            self._replies[key] = (digest, status, reply)
        return status, reply, False

    def _route(self, req: StripeRequest) -> tuple[int, dict[str, Any]]:
        segments = req.path.strip("/").split("/")
        if segments[:2] == ["v1", "payment_intents"] and len(segments) == 2:
            return self._create(req.form)
        if segments[:2] == ["v1", "refunds"]:
            return self._refund(req.form)
        if segments[:2] == ["v1", "payment_intents"] and len(segments) >= 3:
            intent = self.intents.get(segments[2])
            if intent is None:
                return _error(404, "invalid_request_error", "resource_missing",
                              f"No such payment_intent: '{segments[2]}'")  # fmt: skip
            if len(segments) == 3 and req.method == "GET":
                return 200, self._expanded(intent, req.query)
            if segments[3:] == ["capture"]:
                return self._capture(intent, req.form)
            if segments[3:] == ["cancel"]:
                return self._cancel(intent)
        return _error(404, "invalid_request_error", "unknown_route", f"No route {req.path}")

    def _create(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        token = form.get("payment_method_data[card][token]") or form.get("payment_method", "")
        intent_id = f"pi_{secrets.token_hex(8)}"
        intent: dict[str, Any] = {
            "id": intent_id, "object": "payment_intent", "amount": int(form["amount"]),
            "amount_capturable": 0, "amount_received": 0, "currency": form["currency"],
            "capture_method": form.get("capture_method", "automatic"),
            "status": "requires_payment_method", "latest_charge": None,
            "description": form.get("description"),
            "metadata": {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[")},
            "amount_refunded": 0,
            "multicapture": "available" if self.multicapture and form.get(
                "payment_method_options[card][request_multicapture]") == "if_available"
                else "unavailable",
        }  # fmt: skip
        self.intents[intent_id] = intent
        if token in DECLINES:
            code, decline, message = DECLINES[token]
            return _error(402, "card_error", code, message, decline_code=decline,
                          payment_intent=dict(intent))  # fmt: skip
        intent |= {"status": "requires_capture", "amount_capturable": intent["amount"],
                   "latest_charge": f"ch_{secrets.token_hex(8)}"}  # fmt: skip
        return 200, self._public(intent)

    def _capture(self, intent: dict[str, Any], form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if intent["status"] != "requires_capture":
            return _error(400, "invalid_request_error", "payment_intent_unexpected_state",
                          f"This PaymentIntent's status is {intent['status']}.")  # fmt: skip
        amount = int(form.get("amount_to_capture", intent["amount_capturable"]))
        if amount > intent["amount_capturable"]:
            return _error(400, "invalid_request_error", "amount_too_large",
                          "Amount to capture exceeds the capturable amount.")  # fmt: skip
        intent["amount_received"] += amount
        intent["amount_capturable"] -= amount
        if form.get("final_capture", "true") == "true" or intent["amount_capturable"] == 0:
            intent["amount_capturable"] = 0
            intent["status"] = "succeeded"
        return 200, self._public(intent)

    def _cancel(self, intent: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if intent["status"] not in ("requires_capture", "requires_payment_method"):
            state = intent["status"]
            return _error(
                400,
                "invalid_request_error",
                "payment_intent_unexpected_state",
                f"You cannot cancel this PaymentIntent ({state}).",
            )
        intent |= {"status": "canceled", "amount_capturable": 0}
        return 200, self._public(intent)

    def _refund(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        intent = self.intents.get(form.get("payment_intent", ""))
        if intent is None:
            return _error(404, "invalid_request_error", "resource_missing", "No such intent.")
        refundable = intent["amount_received"] - intent["amount_refunded"]
        amount = int(form.get("amount", refundable))
        if amount > refundable or refundable == 0:
            return _error(400, "invalid_request_error", "amount_too_large",
                          "Refund amount is greater than the unrefunded amount.")  # fmt: skip
        intent["amount_refunded"] += amount
        refund = {"id": f"re_{secrets.token_hex(8)}", "object": "refund", "amount": amount,
                  "currency": intent["currency"], "payment_intent": intent["id"],
                  "charge": intent["latest_charge"], "status": "succeeded"}  # fmt: skip
        self.refunds[refund["id"]] = refund
        return 200, refund

    def _public(self, intent: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in intent.items() if k not in ("amount_refunded", "multicapture")}

    def _expanded(self, intent: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
        public = self._public(intent)
        if "latest_charge" in query.values() and intent["latest_charge"]:
            public["latest_charge"] = {
                "id": intent["latest_charge"], "object": "charge", "amount": intent["amount"],
                "amount_captured": intent["amount_received"],
                "amount_refunded": intent["amount_refunded"], "payment_intent": intent["id"],
                "payment_method_details": {"type": "card", "card": {
                    "multicapture": {"status": intent["multicapture"]}}},
            }  # fmt: skip
        return public
