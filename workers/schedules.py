"""Temporal Schedules of the OMS, created or brought up to date at worker start (idempotent)."""

from __future__ import annotations

from datetime import timedelta

import structlog
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)

from activities.io import SweepInput
from config.settings import Settings
from domain.forecast import ForecastParams
from services.schedules import ensure_schedule
from workflows.forecast import ForecastInput, ForecastWorkflow
from workflows.sweeper import OrderSweepWorkflow, sweep_schedule_id

log = structlog.get_logger(__name__)
FORECAST_SCHEDULE_ID = "oms-forecast"
FORECAST_WORKFLOW_ID = "oms-forecast-run"
FORECAST_EVERY = timedelta(days=1)
# Under a small --time-scale a day passes in seconds; never run more often than this.
MIN_INTERVAL = timedelta(minutes=1)
# Abandoned orders are looked for every few minutes (real time: held stock is lost sales).
SWEEP_EVERY = timedelta(minutes=5)


def forecast_interval(settings: Settings) -> timedelta:
    """One business day, scaled like every other business delay."""
    return max(MIN_INTERVAL, FORECAST_EVERY * settings.time_scale)


def forecast_schedule(settings: Settings, params: ForecastParams | None = None) -> Schedule:
    """The schedule that runs ForecastWorkflow daily on the OMS task queue."""
    return Schedule(
        action=ScheduleActionStartWorkflow(
            ForecastWorkflow.run,
            ForecastInput(params=params or ForecastParams()),
            id=FORECAST_WORKFLOW_ID,
            task_queue=settings.task_queue,
            execution_timeout=timedelta(hours=1),
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=forecast_interval(settings))]),
        # A run still going when the next is due means the last one is slow: do not pile up.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def ensure_forecast_schedule(
    client: Client, settings: Settings, params: ForecastParams | None = None
) -> str:
    """Create the forecast schedule, or update it to this version's definition; returns its id."""
    return await ensure_schedule(
        client, FORECAST_SCHEDULE_ID, forecast_schedule(settings, params), trigger=True
    )


def sweep_schedule(settings: Settings) -> Schedule:
    """The schedule that runs OrderSweepWorkflow every few minutes on the OMS task queue."""
    return Schedule(
        action=ScheduleActionStartWorkflow(
            OrderSweepWorkflow.run,
            SweepInput(task_queue=settings.task_queue),
            id=f"{sweep_schedule_id(settings.task_queue)}-run",
            task_queue=settings.task_queue,
            execution_timeout=timedelta(hours=1),
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=SWEEP_EVERY)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def ensure_sweep_schedule(client: Client, settings: Settings) -> str:
    """Create the sweeper's schedule, or update it to this version's definition."""
    return await ensure_schedule(
        client, sweep_schedule_id(settings.task_queue), sweep_schedule(settings)
    )
