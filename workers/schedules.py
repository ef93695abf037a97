"""Temporal Schedules of the OMS, created or brought up to date at worker start (idempotent)."""

from __future__ import annotations

from datetime import timedelta

import structlog
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from config.settings import Settings
from domain.forecast import ForecastParams
from workflows.forecast import ForecastInput, ForecastWorkflow

log = structlog.get_logger(__name__)
FORECAST_SCHEDULE_ID = "oms-forecast"
FORECAST_WORKFLOW_ID = "oms-forecast-run"
FORECAST_EVERY = timedelta(days=1)
# Under a small --time-scale a day passes in seconds; never run more often than this.
MIN_INTERVAL = timedelta(minutes=1)


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
    schedule = forecast_schedule(settings, params)
    try:
        await client.create_schedule(FORECAST_SCHEDULE_ID, schedule, trigger_immediately=True)
        log.info("forecast schedule created", schedule_id=FORECAST_SCHEDULE_ID)
    except ScheduleAlreadyRunningError:

        def replace(current: ScheduleUpdateInput) -> ScheduleUpdate:
            # Keep the live state: a schedule ops paused stays paused across deploys.
            schedule.state = current.description.schedule.state
            return ScheduleUpdate(schedule=schedule)

        await client.get_schedule_handle(FORECAST_SCHEDULE_ID).update(replace)
        log.info("forecast schedule updated", schedule_id=FORECAST_SCHEDULE_ID)
    return FORECAST_SCHEDULE_ID
