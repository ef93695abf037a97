"""Ops pages: the exceptions queue, inventory with forecasts, and the KPI scorecard."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.dashboard import charts
from api.dashboard.web import PageKey, can, render
from api.deps import SessionDep, SettingsDep
from api.routes.analytics import compute_kpis, window
from domain.kpis import EXCEPTION_EVENTS, StockFact
from store import analytics

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Queue:
    """One section of the exceptions queue and what ops should do about it."""

    key: str
    title: str
    action: str
    rows: list[Any]


@router.get("/exceptions", response_class=HTMLResponse)
async def exceptions(
    request: Request,
    key: PageKey,
    session: SessionDep,
    settings: SettingsDep,
    backorder_hours: Annotated[float | None, Query(gt=0, le=24 * 365)] = None,
    stuck_hours: Annotated[float | None, Query(gt=0, le=24 * 365)] = None,
) -> Response:
    """Orders that need a person: long backorders, failures, delivery problems, stuck runs."""
    now = datetime.now(UTC)
    # Thresholds are business hours; under --time-scale the business clock runs faster.
    backorder_h = backorder_hours or settings.backorder_alert_hours
    stuck_h = stuck_hours or settings.stuck_after_hours
    scale = settings.time_scale
    lookback = now - timedelta(days=settings.exceptions_lookback_days * scale)
    queues = [
        Queue(
            "backordered",
            f"Backordered for more than {backorder_h:g} h",
            "Receive or transfer stock for the SKU (an adjustment wakes the order), or cancel.",
            await analytics.backordered_before(session, now - timedelta(hours=backorder_h * scale)),
        ),
        Queue(
            "payment",
            "Payment failures",
            "Contact the customer for another payment method; the channel must resubmit.",
            await analytics.failed_orders(session, lookback),
        ),
        Queue(
            "delivery",
            "Delivery exceptions",
            "Open a carrier claim, then reship or refund; tell the customer.",
            await analytics.delivery_exceptions(session, sorted(EXCEPTION_EVENTS), lookback),
        ),
        Queue(
            "stuck",
            f"No progress for more than {stuck_h:g} h",
            "Open the run in the Temporal UI: look for a failing activity or a missing signal.",
            await analytics.stuck_orders(session, now - timedelta(hours=stuck_h * scale)),
        ),
        Queue(
            "dead_letters",
            "Channel dead letters",
            "Fix the mapping or the catalogue, then replay the message from the channel.",
            await analytics.dead_letters(session),
        ),
    ]
    ui = f"{settings.temporal_ui_url.rstrip('/')}/namespaces/{settings.temporal_namespace}"
    return render(
        request,
        key,
        "exceptions.html",
        queues=queues,
        temporal_ui=ui,
        backorder_h=backorder_h,
        stuck_h=stuck_h,
        time_scale=scale,
    )


def _flag(level: StockFact, low_units: int) -> str:
    if level.available <= 0:
        return "out"
    return "low" if level.available <= max(low_units, level.safety_stock) else ""


@router.get("/inventory", response_class=HTMLResponse)
async def inventory(
    request: Request, key: PageKey, session: SessionDep, settings: SettingsDep
) -> Response:
    """Stock per SKU and location, low-stock flags and the latest demand forecast."""
    if not can(key, "inventory:read"):
        return render(request, key, "not_found.html", 403, message="inventory:read required")
    levels = await analytics.stock_facts(session)
    names = await analytics.sku_names(session)
    forecasts = await analytics.forecasts(session)
    by_sku: dict[str, list[tuple[StockFact, str]]] = defaultdict(list)
    for level in levels:
        by_sku[level.sku].append((level, _flag(level, settings.low_stock_units)))
    totals = {
        sku: {
            "on_hand": sum(r.on_hand for r, _ in rows),
            "reserved": sum(r.reserved for r, _ in rows),
            "available": sum(r.available for r, _ in rows),
            "inbound": sum(r.inbound for r, _ in rows),
        }
        for sku, rows in by_sku.items()
    }
    return render(
        request,
        key,
        "inventory.html",
        by_sku=dict(sorted(by_sku.items())),
        totals=totals,
        names=names,
        forecasts=forecasts,
        low_units=settings.low_stock_units,
    )


@router.get("/kpis", response_class=HTMLResponse)
async def kpi_page(
    request: Request,
    key: PageKey,
    session: SessionDep,
    settings: SettingsDep,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
) -> Response:
    """The scorecard with charts; the same numbers as GET /v1/analytics/kpis."""
    if not can(key, "analytics:read"):
        return render(request, key, "not_found.html", 403, message="analytics:read required")
    since, until = window(days, None, None)
    k = await compute_kpis(session, settings, since, until)
    return render(
        request,
        key,
        "kpis.html",
        k=k,
        days=days,
        channel_chart=charts.stacked_days(k.orders_by_channel),
        returns_chart=charts.hbars(k.return_rate_by_reason),
        rates_chart=charts.hbars(
            {
                label: value
                for label, value in (
                    ("Perfect order", k.perfect_order_rate),
                    ("Backorder", k.backorder_rate),
                    ("Split shipment", k.split_shipment_rate),
                    ("Reroute", k.reroute_rate),
                    ("Stockout (SKUs)", k.stockout_rate),
                )
                if value is not None
            }
        ),
    )
