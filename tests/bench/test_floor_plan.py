"""The floors' plans are read off recorded order histories (pure parsing, no server)."""

from __future__ import annotations

import json
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory

from bench.floor import plan_of, signal_senders
from bench.throughput import chain

HISTORIES = Path(__file__).resolve().parents[1] / "histories"


def history(name: str) -> WorkflowHistory:
    recorded = json.loads((HISTORIES / f"{name}.json").read_text())
    return WorkflowHistory.from_json(recorded["workflow_id"], recorded["history"])


def test_a_delivered_order_and_its_tracking_child_become_one_plan() -> None:
    order, child = history("order_delivered"), history("tracking_delivered")
    plan = plan_of(order, child)
    events = [e.event_type for e in order.events] + [e.event_type for e in child.events]
    scheduled = events.count(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
    locals_ = sum(
        e.marker_recorded_event_attributes.marker_name == "core_local_activity"
        for e in order.events
    )
    assert plan.activities == scheduled + locals_
    # The warehouse's three events arrive after the release (picked and packed as signals, the
    # shipped that can be refused as an Update); one child tracks the parcel.
    assert "SSR" in plan.steps and plan.steps.count("C") == 1
    assert plan.child_steps.count("A") >= 1 and "X" in plan.child_steps
    assert chain(plan).steps == "A" * plan.activities


def test_outside_signals_are_sent_by_the_activity_before_them() -> None:
    assert signal_senders("ULALSSRLA") == {2: "SSR"}
    assert signal_senders("SAS") == {1: "S"}  # a signal before any activity has no sender
