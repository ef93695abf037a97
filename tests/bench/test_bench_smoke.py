"""`oms bench --tiny --json` runs every phase end to end; no timing assertions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KEYS = {
    "pipeline_vs_floor",
    "shape_vs_floor",
    "pipeline_vs_shape",
    "plan",
    "shape",
    "ingest_vs_raw",
    "reservation_vs_raw",
    "oversold",
    "floor",
    "pipeline",
    "ingest",
    "reservations",
    "routing",
    "flash_sale",
    "channel_lag",
    "channel_sale",
    "channel_oversold",
    "channel_oversold_without_intake",
    "channel_oversold_without_shares",
    "atp_lag_p99_s",
    "intake_to_reserved_p99_s",
}


def test_tiny_bench_reports_every_key_and_never_oversells() -> None:
    """The last stdout line is one JSON object with the headline keys; nothing oversold."""
    argv = [sys.executable, "-m", "bench.cli", "--tiny", "--json"]
    postgres = os.environ.get("OMS_TEST_POSTGRES_URL")
    argv += ["--postgres-url", postgres] if postgres else ["--no-postgres"]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert KEYS <= result.keys()
    assert result["oversold"] == 0
    assert result["pipeline"]["completed"] == result["pipeline"]["orders"]
    # The floor runs as many plain activities as the measured order ran, the shape its plan.
    plan = result["plan"]
    assert plan["activities"] == len(result["floor"]["steps"]) > 0
    assert set(result["floor"]["steps"]) == {"A"}
    assert result["shape"]["steps"] == plan["steps"] and "C" in plan["steps"]
    assert result["flash_sale"]["settled"] == result["flash_sale"]["orders"]
    # Every buyer was either sold to or turned away; what was sold reached the OMS once.
    for side in result["channel_sale"].values():
        assert sum(side["accepted"].values()) + sum(side["refused"].values()) == side["buyers"]
        assert sum(side["statuses"].values()) == sum(side["accepted"].values())
    assert result["channel_oversold"] == 0
    for db in result["reservations"]["databases"].values():
        assert db.get("oversold", 0) == 0
