"""Customer email through a real SMTP server (aiosmtpd): each event once, even under retry."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

from activities import io
from activities.notifications import NotificationActivities
from tests.conftest import canonical_order, running_stack
from tests.workflows.test_order_workflow import ops
from workers.assembly import activities_for
from workers.worker import WORKFLOWS


class Inbox:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.messages]


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def body_text(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode()
    return ""


async def test_each_notification_once_even_when_retried(
    smtp: tuple[Inbox, int], temporal_client: Client, tmp_path: Path
) -> None:
    inbox, port = smtp
    url = f"sqlite+aiosqlite:///{tmp_path / 'oms.db'}"
    async with running_stack(
        temporal_client, url, run_worker=False, smtp_host="127.0.0.1", smtp_port=port
    ) as stack:
        real = NotificationActivities(
            stack.sessions, stack.integrations.email, stack.settings.mail_from, "http://oms.test"
        )

        @activity.defn(name="send_notification")
        async def send_then_crash(inp: io.NotifyInput) -> str:
            status = await real.send_notification(inp)
            if activity.info().attempt == 1:
                raise RuntimeError("worker lost after the email went out")
            return status

        acts = [
            a
            for a in activities_for(stack.settings, stack.sessions, stack.integrations)
            if getattr(a, "__name__", "") != "send_notification"
        ]
        worker = Worker(
            temporal_client,
            task_queue=stack.settings.task_queue,
            workflows=list(WORKFLOWS),
            activities=[*acts, send_then_crash],
        )
        async with worker:
            response = await stack.post("/v1/orders", canonical_order())
            order = await stack.wait_for(response.json()["order_id"], "delivered", "completed")
        subjects = inbox.subjects()
        for kind in ("We have your order", "has shipped", "was delivered"):
            assert sum(kind in s for s in subjects) == 1, subjects
        shipped = next(m for m in inbox.messages if "has shipped" in str(m["Subject"]))
        tracking = order["shipments"][0]["tracking_number"]
        assert tracking in body_text(shipped)
        assert shipped["To"] == "ann@example.com"
        assert any(p.get_content_type() == "text/html" for p in shipped.walk())


async def test_lost_parcel_alerts_refunds_and_tells_the_customer(
    smtp: tuple[Inbox, int], temporal_client: Client, tmp_path: Path
) -> None:
    inbox, port = smtp
    url = f"sqlite+aiosqlite:///{tmp_path / 'oms.db'}"
    async with running_stack(temporal_client, url, smtp_host="127.0.0.1", smtp_port=port) as stack:
        body = canonical_order()
        body["ship_to"]["line1"] = "1 LOST PARCEL Rd"
        response = await stack.post("/v1/orders", body)
        order = await stack.wait_for(response.json()["order_id"], "failed", timeout=120)
        types = [e["type"] for e in order["events"]]
        assert "delivery_exception" in types and "payment_refunded" in types
        alert = next(e for e in order["events"] if e["type"] == "delivery_exception")
        assert alert["detail"]["alert"] is True
        assert await ops(stack, order["order_id"]) == ["authorize", "capture", "refund"]
        assert any("problem with the delivery" in s for s in inbox.subjects())
        assert any("Refund" in s for s in inbox.subjects())
