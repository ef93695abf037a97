"""The forecast Schedule runs ForecastWorkflow on a real Temporal server and fills the table."""

from __future__ import annotations

import uuid

from temporalio.worker import Worker

from activities.forecasting import ForecastingActivities
from store import analytics
from tests.api.dashboard.conftest import Web
from tests.helpers import eventually
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

            async def written() -> dict[str, object]:
                async with stack.sessions() as session:
                    return dict(await analytics.forecasts(session))

            rows = await eventually(
                written, timeout=30, message="the scheduled run did not write forecasts"
            )
            assert len(rows) == 12, rows
        finally:
            await stack.client.get_schedule_handle(FORECAST_SCHEDULE_ID).delete()
