"""Customer notifications, sent once per event even when the activity is retried."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities import io
from integrations.email.sender import EmailSender
from integrations.email.templates import render
from store.db import readers
from store.dialect import insert_for
from store.tables import Notification

log = structlog.get_logger(__name__)


class NotificationActivities:
    """Renders and sends customer email."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        sender: EmailSender,
        mail_from: str,
        public_url: str,
    ) -> None:
        self._sessions, self._sender = sessions, sender
        self._reads = readers(sessions)
        self._from, self._public_url = mail_from, public_url

    @activity.defn
    async def send_notification(self, inp: io.NotifyInput) -> str:
        """Send the message for this event unless it was already sent; returns its status."""
        async with self._reads() as session:
            done = await session.scalar(
                select(Notification.status).where(
                    Notification.idempotency_key == inp.idempotency_key,
                    Notification.status.in_(("sent", "logged")),
                )
            )
        if done is not None:
            return done
        context = {
            "order_ref": inp.order_id,
            "name": inp.context.get("name", "there"),
            "tracking_url": f"{self._public_url}/track/{inp.context.get('tracking_number', '')}",
            **inp.context,
        }
        message = render(inp.kind, context)
        digest = hashlib.sha256(inp.idempotency_key.encode()).hexdigest()[:32]
        status = await self._sender.send(
            to=inp.to, sender=self._from, message=message, message_id=f"{digest}@oms"
        )
        sent_at = datetime.now(UTC)
        async with self._sessions.begin() as session:
            insert = insert_for(session)
            await session.execute(
                insert(Notification)
                .values(
                    idempotency_key=inp.idempotency_key,
                    order_id=inp.order_id,
                    kind=inp.kind,
                    recipient=inp.to,
                    subject=message.subject,
                    status=status,
                    sent_at=sent_at,
                )
                .on_conflict_do_update(
                    index_elements=["idempotency_key"], set_={"status": status, "sent_at": sent_at}
                )
            )
        log.info("notification sent", order_id=inp.order_id, kind=inp.kind, status=status)
        return status
