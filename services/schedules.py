"""Creating a Temporal Schedule idempotently: the one rule every schedule of the OMS follows."""

from __future__ import annotations

import structlog
from temporalio.client import (
    Client,
    Schedule,
    ScheduleAlreadyRunningError,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

log = structlog.get_logger(__name__)


async def ensure_schedule(
    client: Client, schedule_id: str, schedule: Schedule, *, trigger: bool = False
) -> str:
    """Create a schedule, or update it in place (a schedule ops paused stays paused)."""
    try:
        await client.create_schedule(schedule_id, schedule, trigger_immediately=trigger)
        log.info("schedule created", schedule_id=schedule_id)
    except ScheduleAlreadyRunningError:

        def replace(current: ScheduleUpdateInput) -> ScheduleUpdate:
            schedule.state = current.description.schedule.state
            return ScheduleUpdate(schedule=schedule)

        await client.get_schedule_handle(schedule_id).update(replace)
        log.info("schedule updated", schedule_id=schedule_id)
    return schedule_id
