"""Timeouts and retry policies of the order process, named once and used by every workflow."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

from domain.errors import NON_RETRYABLE

_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    non_retryable_error_types=NON_RETRYABLE,
)

# Database steps and sandbox calls: short attempts, retried until they succeed or a business
# error says no (compensations rely on this: they must eventually happen).
QUICK = workflow.ActivityConfig(start_to_close_timeout=timedelta(seconds=30), retry_policy=_RETRY)
# Steps that only touch our own database, run as local activities: same retries, no server
# round trip per step (the workflow task waits for them instead).
LOCAL_DB = workflow.LocalActivityConfig(
    start_to_close_timeout=timedelta(seconds=30), retry_policy=_RETRY
)
# Gateways: a slow network call; give up on the order after an hour of outage.
PAYMENT = workflow.ActivityConfig(
    start_to_close_timeout=timedelta(seconds=60),
    schedule_to_close_timeout=timedelta(hours=1),
    retry_policy=_RETRY,
)
CARRIER = PAYMENT
# Undoing never gives up: a void or a release that stops retrying leaks money or stock.
UNDO = workflow.ActivityConfig(
    start_to_close_timeout=timedelta(seconds=60),
    retry_policy=RetryPolicy(
        initial_interval=timedelta(milliseconds=200),
        maximum_interval=timedelta(minutes=2),
        non_retryable_error_types=NON_RETRYABLE,
    ),
)
TRACKING = workflow.ActivityConfig(
    start_to_close_timeout=timedelta(seconds=60),
    retry_policy=RetryPolicy(
        initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5)
    ),
)
# Email is best effort but must not block the order for long.
NOTIFY = workflow.ActivityConfig(
    start_to_close_timeout=timedelta(seconds=30),
    schedule_to_close_timeout=timedelta(hours=6),
    retry_policy=_RETRY,
)
PROJECTION = workflow.LocalActivityConfig(
    start_to_close_timeout=timedelta(seconds=15),
    retry_policy=RetryPolicy(
        initial_interval=timedelta(milliseconds=100), maximum_interval=timedelta(seconds=5)
    ),
)

# Telling a connected shop: retried with backoff for about an hour (a shop's Retry-After is
# honoured by the activity); after that the order records the failure and goes on.
SHOP = workflow.ActivityConfig(
    start_to_close_timeout=timedelta(seconds=60),
    schedule_to_close_timeout=timedelta(hours=1),
    retry_policy=RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=5),
        non_retryable_error_types=[*NON_RETRYABLE, "ShopRefused", "ConnectionGone"],
    ),
)
