"""The forecast Schedule runs ForecastWorkflow on a real Temporal server and fills the table."""

from __future__ import annotations

import asyncio
import uuid

from temporalio.worker import Worker

from activities.forecasting import ForecastingActivities
from store import analytics
from tests.dashboard.conftest import Web
from workers.schedules import FORECAST_SCHEDULE_ID, ensure_forecast_schedule
from workflows.forecast import ForecastWorkflow


async def test_schedule_is_idempotent_and_runs_the_forecast(web: Web) -> None:
    stack = web.stack
    settings = stack.settings.model_copy(update={"task_queue": f"fc-{uuid.uuid4().hex[:8]}"})
    worker = Worker(
        stack.client,
        task_queue=settings.task_queue,
        workflows=[ForecastWorkflow],
        activities=[ForecastingActivities(stack.sessions).compute_forecasts],
    )
    async with worker:
        assert await ensure_forecast_schedule(stack.client, settings) == FORECAST_SCHEDULE_ID
        try:
            # Created with an immediate run; a second call updates instead of failing.
            assert await ensure_forecast_schedule(stack.client, settings) == FORECAST_SCHEDULE_ID
            handle = stack.client.get_schedule_handle(FORECAST_SCHEDULE_ID)
            described = await handle.describe()
            assert described.schedule.action.task_queue == settings.task_queue  # type: ignore[attr-defined]
            rows: dict[str, object] = {}
            for _ in range(300):
                async with stack.sessions() as session:
                    rows = dict(await analytics.forecasts(session))
                if rows:
                    break
                await asyncio.sleep(0.1)
            assert len(rows) == 12, "the scheduled run did not write forecasts"
        finally:
            await stack.client.get_schedule_handle(FORECAST_SCHEDULE_ID).delete()
