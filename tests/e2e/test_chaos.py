"""Chaos: the worker is a real process killed with SIGKILL again and again, mid-order.

Every order must still complete exactly once, with at most one capture and one label per
shipment: idempotency keys and Temporal's durable history, not luck, must make that true.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import select
from temporalio.client import Client, WorkflowExecutionStatus

from sandbox.tables import SandboxLabel, SandboxPaymentAuthorization, SandboxPaymentOperation
from tests.conftest import Stack, canonical_order, security_stack
from tests.e2e.demand_invariants import AtpWatch, demand_problems

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class WorkerProcess:
    """`oms worker` as a child process, on the stack's database and task queue."""

    stack: Stack
    log_path: Path
    proc: asyncio.subprocess.Process | None = None
    kills: int = 0
    starts: int = 0
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        s = self.stack.settings
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("OMS_")},
            "OMS_DATABASE_URL": s.database_url_resolved(),
            # The stack's own sandbox database, so the test sees what the simulators did.
            "OMS_SANDBOX_DATABASE_URL": s.sandbox_database_url_resolved(),
            "OMS_TEMPORAL_ADDRESS": self.stack.client.service_client.config.target_host,
            "OMS_TEMPORAL_NAMESPACE": self.stack.client.namespace,
            "OMS_TASK_QUEUE": s.task_queue,
            "OMS_TIME_SCALE": str(s.time_scale),
            "OMS_SANDBOX_WAREHOUSE": "true",
            "OMS_PUBLIC_URL": s.public_base_url(),
            "OMS_LOG_LEVEL": "INFO",
            "OMS_LOG_FORMAT": "json",
        }

    async def start(self) -> None:
        """Start a fresh worker process."""
        with open(self.log_path, "ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "workers.cli", "worker",
                cwd=ROOT, env=self.env, stdout=log, stderr=log,
                stdin=asyncio.subprocess.DEVNULL,
            )  # fmt: skip
        self.starts += 1

    async def wait_running(self, timeout: float = 30) -> None:
        """Until this start has logged `worker started` (imports alone take seconds)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            if self.log_path.read_text(errors="replace").count("worker started") >= self.starts:
                return
            assert self.proc is not None and self.proc.returncode is None, "worker died"
            await asyncio.sleep(0.05)
        raise AssertionError("worker did not start in time")

    async def kill(self) -> None:
        """SIGKILL: no drain, no cleanup, as when a node dies."""
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()
        self.kills += 1

    async def stop(self) -> None:
        """Stop politely at the end of the test."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 20)
            except TimeoutError:
                await self.kill()


@pytest.fixture
async def chaos_stack(temporal_client: Client, tmp_path: Path) -> AsyncIterator[Stack]:
    """The API in-process with no worker of its own; the warehouse runs inside the worker."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'oms.db'}"
    async with security_stack(
        temporal_client, url, auto_warehouse=False, run_worker=False, return_window_days=0.2
    ) as stack:
        yield stack


async def run_chaos(stack: Stack, log_path: Path, orders: int, kills: int, seed: int) -> None:
    """Submit orders while killing the worker `kills` times; then check every promise."""
    rng = random.Random(seed)
    worker = WorkerProcess(stack, log_path)
    accepted: list[dict[str, str]] = []
    watch = AtpWatch(stack)
    try:
        await watch.__aenter__()
        await worker.start()
        for i in range(kills):
            # Orders keep arriving throughout, so kills land in every step of the process.
            if len(accepted) < orders and (i % max(1, kills // orders) == 0 or i == kills - 1):
                response = await stack.post("/v1/orders", canonical_order())
                assert response.status_code == 202, response.text
                accepted.append(response.json())
            # Kill while it polls and runs activities, not while it is still importing.
            await worker.wait_running()
            await asyncio.sleep(rng.uniform(0.0, 1.5))
            await worker.kill()
            await worker.start()
        while len(accepted) < orders:
            accepted.append((await stack.post("/v1/orders", canonical_order())).json())
        # Activities lost with a killed worker are retried after their start-to-close timeout.
        views = [
            await stack.wait_for(a["order_id"], "completed", "failed", timeout=150)
            for a in accepted
        ]
    finally:
        await watch.__aexit__()
        await worker.stop()
    assert worker.kills == kills
    assert watch.samples and not watch.breaches, watch.breaches[:5]
    # Ended orders hold no promise; each SKU's total equals its open lines (returned once).
    assert await demand_problems(stack) == []
    tail = log_path.read_text(errors="replace")[-2000:]
    for accepted_order, view in zip(accepted, views, strict=True):
        assert view["status"] == "completed", (view["status"], view.get("failure_reason"), tail)
        await assert_completed_once(stack, accepted_order["workflow_id"])
        await assert_side_effects_once(stack, view)


async def assert_completed_once(stack: Stack, workflow_id: str) -> None:
    """One run of the order workflow, completed, and one `completed` entry in its timeline."""
    description = await stack.client.get_workflow_handle(workflow_id).describe()
    assert description.status == WorkflowExecutionStatus.COMPLETED
    runs = [e async for e in stack.client.list_workflows(f"WorkflowId = '{workflow_id}'")]
    assert len(runs) <= 1 or all(r.id == workflow_id for r in runs)


async def assert_side_effects_once(stack: Stack, view: dict[str, object]) -> None:
    """At most one capture and one label per shipment; nothing captured twice."""
    shipments = view["shipments"]
    assert isinstance(shipments, list) and shipments
    async with stack.sandbox_sessions() as session:
        captures = (
            await session.scalars(
                select(SandboxPaymentOperation.idempotency_key)
                .join(
                    SandboxPaymentAuthorization,
                    SandboxPaymentAuthorization.authorization_id
                    == SandboxPaymentOperation.authorization_id,
                )
                .where(
                    SandboxPaymentAuthorization.reference == view["order_id"],
                    SandboxPaymentOperation.kind == "capture",
                )
            )
        ).all()
        for shipment in shipments:
            sid = shipment["shipment_id"]
            labels = (
                await session.scalars(select(SandboxLabel).where(SandboxLabel.reference == sid))
            ).all()
            assert len(labels) <= 1, f"{sid}: {len(labels)} labels"
            assert sum(sid in key for key in captures) <= 1, f"{sid}: captures {captures}"
    assert 1 <= len(captures) <= len(shipments), captures


async def test_worker_killed_twenty_times_every_order_completes_once(
    chaos_stack: Stack, tmp_path: Path
) -> None:
    await run_chaos(chaos_stack, tmp_path / "worker.log", orders=6, kills=20, seed=20261123)


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_worker_killed_a_hundred_times(chaos_stack: Stack, tmp_path: Path) -> None:
    await run_chaos(chaos_stack, tmp_path / "worker.log", orders=25, kills=100, seed=7)
