"""ForecastWorkflow: the scheduled demand forecast (one activity; the schedule repeats it)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities import contracts as act
    from activities.io import ComputeForecastsInput, ComputeForecastsResult
    from domain.forecast import ForecastParams

# Reads a few months of demand for the whole catalogue: minutes, not seconds, on a big one.
COMPUTE = workflow.ActivityConfig(
    start_to_close_timeout=timedelta(minutes=15),
    retry_policy=RetryPolicy(
        initial_interval=timedelta(seconds=5),
        maximum_interval=timedelta(minutes=2),
        maximum_attempts=5,
    ),
)


class ForecastInput(BaseModel):
    """Parameters of a scheduled run (defaults suit most catalogues)."""

    params: ForecastParams = Field(default_factory=ForecastParams)


@workflow.defn
class ForecastWorkflow:
    """Computes and stores per-SKU demand forecasts and reorder suggestions."""

    @workflow.run
    async def run(self, inp: ForecastInput) -> ComputeForecastsResult:
        """Forecast as of the workflow's start time."""
        return await act.compute_forecasts.run(
            ComputeForecastsInput(params=inp.params, as_of=workflow.now()), COMPUTE
        )
