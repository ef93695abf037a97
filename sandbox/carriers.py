"""Sandbox carriers (`parcelpoint`, `swiftship`): real rate tables, PDF labels, moving tracking.

As at a real carrier, tracking starts when the shipper hands the parcel over (`hand_over`, the
end-of-day manifest): until then a label is only a label, `track` shows no scans and voiding it
always works; from then on it cannot be voided and the journey runs on the service's schedule.

Markers in `ship_to.line1` script the unusual: "FAIL DELIVERY", "LOST PARCEL", "RETURN TO SENDER"
(see `carrier_tracking.py`) and "CARRIER OUTAGE", which fails the first `buy_label` attempt of
each idempotency key with `CarrierUnavailable` to exercise retries.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from datetime import datetime
from decimal import Decimal
from typing import cast

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.money import q
from integrations.carriers import labels
from integrations.carriers.errors import (
    CarrierUnavailable,
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
    TrackingInfo,
)
from sandbox.carrier_rates import (
    TARIFFS,
    billable_kg,
    quote,
    validate_destination,
    validate_origin,
    zone_between,
)
from sandbox.carrier_tracking import (
    first_scan_at,
    new_tracking_number,
    scenario_for,
    timeline,
)
from sandbox.clock import Clock, utc_now
from sandbox.tables import SandboxCarrierAttempt, SandboxLabel
from store.db import readers

log = structlog.get_logger(__name__)

OUTAGE_MARKER = "CARRIER OUTAGE"
SERVICES: tuple[Service, ...] = ("ground", "standard", "express", "overnight")
_MAX_INSERT_TRIES = 5


class SandboxCarrier:
    """One simulated carrier account; state (labels) lives in `sandbox_labels`.

    `auto_hand_over`: treat every label as handed over at purchase, as before hand-overs
    existed: tracking runs from the purchase and a void works until the pick-up scan.
    """

    def __init__(
        self,
        name: str,
        sessions: async_sessionmaker[AsyncSession],
        *,
        time_scale: float = 1.0,
        clock: Clock = utc_now,
        latency_s: float = 0.05,
        auto_hand_over: bool = False,
    ) -> None:
        self.name = name
        self._tariff = TARIFFS[name]
        self._sessions = sessions
        self._reads = readers(sessions)
        self._time_scale = time_scale
        self._clock = clock
        # Network latency is real time; it does not shrink with time_scale.
        self._latency_s = latency_s
        self.auto_hand_over = auto_hand_over

    async def rates(self, req: RateRequest) -> list[Rate]:
        """Quotes for every service, priced by zone and billable weight."""
        await self._network()
        return [self._rate(req, service) for service in SERVICES]

    async def buy_label(
        self, *, idempotency_key: str, rate: Rate, req: RateRequest, reference: str
    ) -> Label:
        """Buy a label for `rate.service`; the same key always returns the same label.

        The price is re-quoted from `req`, as a carrier bills what it carries: if the address
        changed since the quote, `Label.cost` says what was actually charged.
        """
        await self._network()
        if rate.carrier != self.name:
            raise ValueError(f"rate from {rate.carrier!r} bought at {self.name!r}")
        existing = await self._label_by_key(idempotency_key)
        if existing is not None:
            return _label(existing)
        priced = self._rate(req, rate.service)
        if OUTAGE_MARKER in req.ship_to.line1.upper():
            await self._first_attempt_fails(idempotency_key)
        for _ in range(_MAX_INSERT_TRIES):
            row = await asyncio.to_thread(self._render, idempotency_key, priced, req, reference)
            try:
                async with self._sessions() as session, session.begin():
                    session.add(row)
                log.info(
                    "label bought",
                    carrier=self.name,
                    tracking_number=row.tracking_number,
                    reference=reference,
                )
                return _label(row)
            except IntegrityError:
                # Either a concurrent twin with this key won (return its label) or, rarely,
                # the random tracking number collided (draw another).
                existing = await self._label_by_key(idempotency_key)
                if existing is not None:
                    return _label(existing)
        raise CarrierUnavailable("label_conflict", "Could not allocate a tracking number; retry.")

    async def void_label(self, *, label_id: str) -> LabelVoid:
        """Void a label the carrier does not have the parcel for; voiding twice returns the
        first void."""
        await self._network()
        async with self._sessions() as session, session.begin():
            row = await self._locked(session, label_id)
            if row.voided_at is None:
                now = self._clock()
                if row.handed_over_at is not None:
                    raise LabelAlreadyUsed(
                        "label_handed_over",
                        f"Label {label_id} was handed over to {self.name}; it cannot be voided.",
                    )
                service = cast(Service, row.service)
                if self.auto_hand_over and now >= first_scan_at(
                    row.created_at, service, self._time_scale
                ):
                    raise LabelAlreadyUsed(
                        "label_scanned", f"Label {label_id} was scanned; it cannot be voided."
                    )
                row.voided_at = now
            return LabelVoid(
                label_id=row.label_id,
                refund_amount=q(Decimal(row.cost_cents) / 100),
                voided_at=row.voided_at,
            )

    async def hand_over(self, *, label_id: str, idempotency_key: str) -> None:
        """Record that the parcel left the building on this label; the first hand-over counts.

        The key is accepted for the protocol's sake: the label itself makes a repeat harmless.
        """
        await self._network()
        async with self._sessions() as session, session.begin():
            row = await self._locked(session, label_id)
            if row.voided_at is not None:
                raise LabelVoided(
                    "label_voided", f"Label {label_id} was voided; it cannot be handed over."
                )
            if row.handed_over_at is not None:
                return
            row.handed_over_at = self._clock()
        log.info(
            "parcel handed over",
            carrier=self.name,
            tracking_number=row.tracking_number,
            reference=row.reference,
            idempotency_key=idempotency_key,
        )

    async def track(self, tracking_number: str) -> TrackingInfo:
        """Where the parcel is now, derived from the label and the clock."""
        await self._network()
        async with self._reads() as session:
            row = await session.scalar(
                select(SandboxLabel).where(
                    SandboxLabel.tracking_number == tracking_number,
                    SandboxLabel.carrier == self.name,
                )
            )
        if row is None:
            raise UnknownTracking("unknown_tracking", f"{self.name} has no {tracking_number}.")
        return timeline(
            tracking_number=row.tracking_number,
            carrier=self.name,
            service=cast(Service, row.service),
            scenario=row.scenario,
            started_at=self._journey_start(row),
            acceptance_scan=not self.auto_hand_over,
            now=self._clock(),
            time_scale=self._time_scale,
            origin=_place(row.ship_from),
            destination=_place(row.ship_to),
            voided_at=row.voided_at,
        )

    def _journey_start(self, row: SandboxLabel) -> datetime | None:
        """When tracking starts: the purchase under `auto_hand_over` (a later hand-over must
        not rewind a journey already under way), else the hand-over, if any."""
        return row.created_at if self.auto_hand_over else row.handed_over_at

    async def _locked(self, session: AsyncSession, label_id: str) -> SandboxLabel:
        """This carrier's label, locked for the transaction (`UnknownLabel` if not ours)."""
        row = await session.get(SandboxLabel, label_id, with_for_update=True)
        if row is None or row.carrier != self.name:
            raise UnknownLabel("unknown_label", f"No {self.name} label {label_id}.")
        return row

    def _rate(self, req: RateRequest, service: Service) -> Rate:
        validate_origin(req.ship_from, self._tariff.countries)
        validate_destination(req.ship_to, self._tariff.countries)
        zone = zone_between(req.ship_from, req.ship_to)
        kg = billable_kg(req, self._tariff)
        amount, days = quote(self._tariff, zone, kg, service)
        # Deterministic id: the same shipment quoted twice gets the same rate ids.
        digest = hashlib.sha256(f"{self.name}|{service}|{zone}|{kg}|{amount}".encode())
        return Rate(
            carrier=self.name,
            service=service,
            amount=amount,
            currency="USD",
            transit_days=days,
            rate_id=f"rate_{digest.hexdigest()[:20]}",
            description=f"{self._tariff.display_name} {service.title()} (zone {zone})",
        )

    def _render(self, key: str, rate: Rate, req: RateRequest, reference: str) -> SandboxLabel:
        """A new label row with its PDF and ZPL (CPU-bound: runs in a worker thread)."""
        now = self._clock()
        tracking = new_tracking_number(self._tariff)
        pdf = labels.label_pdf(
            carrier=self._tariff.display_name,
            service=rate.service,
            tracking_number=tracking,
            ship_from=req.ship_from,
            ship_to=req.ship_to,
            weight_grams=req.weight_grams,
            reference=reference,
            created_at=now,
        )
        zpl = labels.label_zpl(
            carrier=self._tariff.display_name,
            service=rate.service,
            tracking_number=tracking,
            ship_from=req.ship_from,
            ship_to=req.ship_to,
            weight_grams=req.weight_grams,
            reference=reference,
        )
        return SandboxLabel(
            label_id=f"lbl_{secrets.token_hex(12)}",
            idempotency_key=key,
            tracking_number=tracking,
            carrier=self.name,
            service=rate.service,
            rate_id=rate.rate_id,
            cost_cents=int(rate.amount * 100),
            currency=rate.currency,
            reference=reference,
            weight_grams=req.weight_grams,
            ship_from=req.ship_from.model_dump(),
            ship_to=req.ship_to.model_dump(),
            scenario=scenario_for(req.ship_to.line1),
            pdf=pdf,
            zpl=zpl,
            created_at=now,
        )

    async def _label_by_key(self, key: str) -> SandboxLabel | None:
        async with self._reads() as session:
            return await session.scalar(
                select(SandboxLabel).where(
                    SandboxLabel.carrier == self.name, SandboxLabel.idempotency_key == key
                )
            )

    async def _first_attempt_fails(self, key: str) -> None:
        """Count attempts durably, so the outage survives a worker restart between retries."""
        try:
            async with self._sessions() as session, session.begin():
                row = await session.get(
                    SandboxCarrierAttempt, (self.name, key), with_for_update=True
                )
                if row is None:
                    session.add(
                        SandboxCarrierAttempt(carrier=self.name, idempotency_key=key, attempts=1)
                    )
                else:
                    row.attempts += 1
        except IntegrityError:
            return  # a concurrent attempt recorded the first try; this one goes through
        if row is None:
            raise CarrierUnavailable("carrier_outage", f"{self.name} is not responding; retry.")

    async def _network(self) -> None:
        if self._latency_s > 0:
            await asyncio.sleep(self._latency_s)


def _label(row: SandboxLabel) -> Label:
    return Label(
        label_id=row.label_id,
        carrier=row.carrier,
        service=cast(Service, row.service),
        tracking_number=row.tracking_number,
        cost=q(Decimal(row.cost_cents) / 100),
        currency=row.currency,
        pdf=row.pdf,
        zpl=row.zpl,
        created_at=row.created_at,
        reference=row.reference,
    )


def _place(address: dict[str, str]) -> str:
    a = Address.model_validate(address)
    return ", ".join(p for p in (a.city.upper(), a.region.upper()) if p)


def sandbox_carriers(
    sessions: async_sessionmaker[AsyncSession],
    *,
    time_scale: float = 1.0,
    clock: Clock = utc_now,
    latency_s: float = 0.05,
    auto_hand_over: bool = False,
) -> dict[str, SandboxCarrier]:
    """Every sandbox carrier by name, ready for rate shopping."""
    return {
        name: SandboxCarrier(
            name,
            sessions,
            time_scale=time_scale,
            clock=clock,
            latency_s=latency_s,
            auto_hand_over=auto_hand_over,
        )
        for name in TARIFFS
    }
