"""Temporal floors for the pipeline, both derived from a real order's history in the same run.

- The **floor** (the issue's definition): a bare workflow running, one after the other, as many
  no-op activities as one delivered order executes (its activities and local activities, and
  those of its tracking child). Every step is a regular activity: the floor is what the
  order's steps would cost as the plainest Temporal chain, however the order implements them.
- The **shape**: a replica of the order's exact Temporal shape with no-op bodies: the same
  sequence of activities and local activities, search-attribute upserts, timers, the
  warehouse's signals (sent from outside after the release, as the WMS does) and a child
  workflow with the tracking child's steps and its signal to the parent. What separates the
  pipeline from the shape is the OMS's own work; what separates the shape from the floor is
  what Temporal charges for the order's shape (signals, a child, upserts) over a plain chain.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory

with workflow.unsafe.imports_passed_through():
    from workflows.search_attributes import ORDER_STATUS

STEP_TIMEOUT = timedelta(seconds=30)
TIMER = timedelta(milliseconds=1)
# Plan letters: A activity, L local activity, U search-attribute upsert, T timer, S wait for an
# outside signal and R for an outside Update (sent after the preceding activity completes: the
# warehouse's picked/packed signals and its shipped Update), X signal the parent, C child.
ACTIVITY, LOCAL, UPSERT, TIMER_STEP, SIGNAL, REPORT, TO_PARENT, CHILD = "ALUTSRXC"
# Signals the order gets from its own child: the child's X, not an outside S.
CHILD_SIGNALS = {"tracking_update"}


@dataclass(frozen=True)
class Plan:
    """An order's shape: its steps and its child's, as plan letters."""

    steps: str
    child_steps: str = ""

    @property
    def activities(self) -> int:
        """Activities and local activities of the order and its child (the floor's length)."""
        return sum(self.steps.count(x) + self.child_steps.count(x) for x in (ACTIVITY, LOCAL))


def plan_of(history: WorkflowHistory, child: WorkflowHistory | None = None) -> Plan:
    """The plan of a recorded order run (and of its tracking child)."""
    return Plan(_letters(history.events), _letters(child.events) if child else "")


def _letters(events: Iterable[Any]) -> str:
    out: list[str] = []
    for event in events:
        kind = event.event_type
        if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            out.append(ACTIVITY)
        elif kind == EventType.EVENT_TYPE_MARKER_RECORDED:
            if event.marker_recorded_event_attributes.marker_name == "core_local_activity":
                out.append(LOCAL)
        elif kind == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            out.append(UPSERT)
        elif kind == EventType.EVENT_TYPE_TIMER_STARTED:
            out.append(TIMER_STEP)
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            name = event.workflow_execution_signaled_event_attributes.signal_name
            if name not in CHILD_SIGNALS:
                out.append(SIGNAL)
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            out.append(REPORT)
        elif kind == EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
            out.append(TO_PARENT)
        elif kind == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
            out.append(CHILD)
    return "".join(out)


def signal_senders(steps: str) -> dict[int, str]:
    """Activity index -> the outside events that follow it, as S and R letters in order (the
    WMS reports after the release)."""
    senders: dict[int, str] = {}
    last = -1
    for i, step in enumerate(steps):
        if step == ACTIVITY:
            last = i
        elif step in (SIGNAL, REPORT) and last >= 0:
            senders[last] = senders.get(last, "") + step
    return senders


class FloorInput(BaseModel):
    """The steps to run, and the child's for a `C` step."""

    steps: str
    child_steps: str = ""
    parent_id: str = ""


class NoopInput(BaseModel):
    """Which workflow to report to afterwards, and how (S signal, R Update: the WMS's events)."""

    workflow_id: str = ""
    reports: str = ""


@activity.defn(name="bench_noop")
async def noop(inp: NoopInput) -> None:
    """Does nothing; then, like a warehouse, reports its events a moment later."""
    if inp.reports:
        client = activity.client()
        task = asyncio.get_running_loop().create_task(_signal(client, inp))
        _PENDING.add(task)
        task.add_done_callback(_PENDING.discard)


_PENDING: set[asyncio.Task[None]] = set()


async def _signal(client: Any, inp: NoopInput) -> None:
    handle = client.get_workflow_handle(inp.workflow_id)
    for kind in inp.reports:
        if kind == REPORT:
            await handle.execute_update("bench_report")
        else:
            await handle.signal("bench_event")


@workflow.defn(name="BenchFloorWorkflow")
class FloorWorkflow:
    """Runs a plan with no-op bodies; returns the number of steps."""

    def __init__(self) -> None:
        self._events = 0

    @workflow.signal
    def bench_event(self) -> None:
        """An outside event (or the child's report)."""
        self._events += 1

    @workflow.update
    def bench_report(self) -> None:
        """An outside event that waits for its answer (the warehouse's `shipped`)."""
        self._events += 1

    @workflow.run
    async def run(self, inp: FloorInput) -> int:
        """Execute each step in order."""
        me = workflow.info().workflow_id
        steps = inp.steps
        senders = signal_senders(steps)
        expected = 0
        for i, step in enumerate(steps):
            if step == ACTIVITY:
                await workflow.execute_activity(
                    noop,
                    NoopInput(workflow_id=me, reports=senders.get(i, "")),
                    start_to_close_timeout=STEP_TIMEOUT,
                )
            elif step == LOCAL:
                await workflow.execute_local_activity(
                    noop, NoopInput(), start_to_close_timeout=STEP_TIMEOUT
                )
            elif step == UPSERT:
                workflow.upsert_search_attributes([ORDER_STATUS.value_set(f"step-{i}")])
            elif step == TIMER_STEP:
                await workflow.sleep(TIMER)
            elif step in (SIGNAL, REPORT):
                expected += 1
                await workflow.wait_condition(lambda n=expected: self._events >= n)  # type: ignore[misc]
            elif step == TO_PARENT and inp.parent_id:
                await workflow.get_external_workflow_handle(inp.parent_id).signal("bench_event")
            elif step == CHILD:
                expected += inp.child_steps.count(TO_PARENT)
                await workflow.execute_child_workflow(
                    FloorWorkflow.run,
                    FloorInput(steps=inp.child_steps, parent_id=me),
                    id=f"{me}-child-{i}",
                )
        await workflow.wait_condition(lambda: self._events >= expected)
        return len(steps)
