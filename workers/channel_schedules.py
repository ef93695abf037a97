"""Temporal Schedules that poll each marketplace account: one ChannelPullWorkflow per tick."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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

from activities.io import PullInput
from config.settings import Settings
from services.schedules import ensure_schedule
from workflows.channel_pull import ChannelPullWorkflow

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ChannelAccount:
    """A marketplace account to poll, and how often."""

    channel: str
    account: str = "default"
    every: timedelta = timedelta(minutes=2)


def schedule_id(account: ChannelAccount) -> str:
    """Stable id, so `ensure_pull_schedules` is idempotent."""
    return f"channel-pull-{account.channel}-{account.account}"


def _schedule(settings: Settings, account: ChannelAccount) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            ChannelPullWorkflow.run,
            PullInput(channel=account.channel, account=account.account),
            id=schedule_id(account),
            task_queue=settings.task_queue,
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=account.every)]),
        # A slow poll must not overlap the next: both would read the same cursor.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def ensure_pull_schedules(
    client: Client, settings: Settings, accounts: Sequence[ChannelAccount]
) -> list[str]:
    """Create each account's schedule, or bring an existing one up to date; returns the ids."""
    ids: list[str] = []
    for account in accounts:
        ids.append(
            await ensure_schedule(client, schedule_id(account), _schedule(settings, account))
        )
    return ids
