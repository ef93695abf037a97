"""`oms up` as a user runs it: everything answers, Ctrl-C/SIGTERM leaves no process behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

OMS = [sys.executable, "-m", "workers.cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def descendants(pid: int) -> set[int]:
    """Every live process whose ancestry reaches `pid` (children are in their own groups)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            parents[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        children = {p for p, parent in parents.items() if parent in frontier}
        found |= children
        frontier = children
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture
def up(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Start `oms up --demo` on free ports; yields (process, ports); always stops it."""
    ports = {"api": free_port(), "temporal": free_port(), "ui": free_port()}
    env = {**os.environ, "OMS_ADMIN_API_KEY": "oms_test_up_key", "OMS_LOG_FORMAT": "json"}
    env.pop("OMS_DATABASE_URL", None)
    env.pop("OMS_SANDBOX_DATABASE_URL", None)
    proc = subprocess.Popen(
        [
            *OMS,
            "up",
            "--demo",
            "--api-port",
            str(ports["api"]),
            "--temporal-port",
            str(ports["temporal"]),
            "--ui-port",
            str(ports["ui"]),
            "--data-dir",
            str(tmp_path / "data"),
            "--time-scale",
            "0.001",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        text=True,
    )
    try:
        yield proc, ports
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def wait_http(url: str, timeout: float = 60, headers: dict[str, str] | None = None) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return httpx.get(url, timeout=2, headers=headers).status_code
        except httpx.HTTPError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer in {timeout}s")


def test_up_serves_everything_and_stops_cleanly(up) -> None:  # type: ignore[no-untyped-def]
    proc, ports = up
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{ports['api']}/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert proc.poll() is None, proc.stdout.read()
        time.sleep(0.3)
    else:
        raise AssertionError("healthz never returned 200")
    health = httpx.get(f"http://127.0.0.1:{ports['api']}/healthz").json()
    assert health["checks"]["database"]["ok"] and health["checks"]["temporal"]["ok"]
    assert wait_http(f"http://127.0.0.1:{ports['ui']}/") == 200
    with socket.create_connection(("127.0.0.1", ports["temporal"]), timeout=2):
        pass
    # Demo data is there and the API key from the environment works.
    locations = httpx.get(
        f"http://127.0.0.1:{ports['api']}/v1/locations",
        headers={"Authorization": "Bearer oms_test_up_key"},
    )
    assert locations.status_code == 200 and len(locations.json()) >= 3

    children = descendants(proc.pid)
    assert len(children) >= 3  # temporal, worker, api
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    assert proc.returncode == 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(p) for p in children):
        time.sleep(0.2)
    assert not [p for p in children if alive(p)], "oms up left processes behind"


def test_up_fails_clearly_when_a_port_is_taken(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [
                *OMS,
                "up",
                "--api-port",
                str(port),
                "--temporal-port",
                str(free_port()),
                "--ui-port",
                str(free_port()),
                "--data-dir",
                str(tmp_path),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert f"port {port}" in result.stderr and "--api-port" in result.stderr
