"""docker-compose.yml: valid per the Compose Specification, pinned, wired to what the code reads.

Offline, static checks only: no Docker engine runs here.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from workflows.search_attributes import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """The compose file as data (YAML anchors and merge keys resolved)."""
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    """The services section."""
    return compose["services"]


def _environment(service: dict[str, Any]) -> dict[str, Any]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.partition("=")[::2] for item in env)
    return env


def _seconds(duration: str) -> int:
    units = {"h": 3600, "m": 60, "s": 1}
    parts = re.findall(r"(\d+)([hms])", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, duration
    return sum(int(n) * units[u] for n, u in parts)


def test_matches_the_compose_specification() -> None:
    """check-jsonschema's vendored compose-spec schema, no network needed."""
    tool = Path(sys.executable).parent / "check-jsonschema"
    result = subprocess.run(
        [str(tool), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_image_is_pinned(services: dict[str, Any], kustomize: ModuleType) -> None:
    """No `latest`, no bare names; the deprecated auto-setup image is not used."""
    for name, service in services.items():
        image = service.get("image")
        assert image, f"{name} has no image (built services need a tag too)"
        image = re.sub(r"\$\{OMS_IMAGE:-([^}]+)\}", r"\1", image)
        assert kustomize.is_pinned(image), f"{name}: {image}"
        assert "auto-setup" not in image


def test_oms_env_names_are_settings_fields(
    services: dict[str, Any], settings_env_names: set[str]
) -> None:
    """A typo in an OMS_* name would be ignored silently by pydantic-settings (extra=ignore)."""
    used = {key for s in services.values() for key in _environment(s) if key.startswith("OMS_")}
    assert used, "no OMS_ settings found"
    assert used <= settings_env_names, used - settings_env_names


def test_startup_order(services: dict[str, Any]) -> None:
    """Schema before server, namespace and migrations before the OMS processes."""
    completed = "service_completed_successfully"
    assert services["temporal"]["depends_on"]["temporal-schema"]["condition"] == completed
    assert services["temporal-namespace"]["depends_on"]["temporal"]["condition"] == (
        "service_healthy"
    )
    for name in ("api", "worker"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == completed, name
        assert depends["temporal-namespace"]["condition"] == completed, name
    assert services["migrate"]["command"] == ["migrate"]
    assert services["api"]["command"] == ["api"]
    assert services["worker"]["command"] == ["worker"]


def test_health_checks(services: dict[str, Any]) -> None:
    """Postgres, Temporal and the API report health; the API's check is /healthz."""
    for name in ("postgres", "temporal", "api"):
        assert services[name].get("healthcheck", {}).get("test"), name
    assert any("/healthz" in part for part in services["api"]["healthcheck"]["test"])


def test_worker_scale_and_drain(services: dict[str, Any], graceful_shutdown_seconds: int) -> None:
    """Two workers, each given more time to stop than its drain takes."""
    worker = services["worker"]
    assert worker["deploy"]["replicas"] == 2
    assert _seconds(worker["stop_grace_period"]) > graceful_shutdown_seconds


def test_temporal_ui_uses_the_codec(services: dict[str, Any]) -> None:
    """The UI decodes payloads through the OMS API's /codec/{encode,decode}."""
    endpoint = services["temporal-ui"]["environment"]["TEMPORAL_CODEC_ENDPOINT"]
    assert re.fullmatch(r"https?://[^/]+/codec", endpoint), endpoint


def test_mounted_helpers_exist(services: dict[str, Any]) -> None:
    """Every bind-mounted file is in the repo."""
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (ROOT / source).is_file(), f"{name}: {source}"


def test_namespace_setup_matches_the_code() -> None:
    """Explicit retention; search attributes exactly those the workflows upsert."""
    script = (ROOT / "deploy/compose/temporal-namespace.sh").read_text()
    assert re.search(r'RETENTION="\$\{TEMPORAL_RETENTION:-\d+h\}"', script)
    assert "--retention" in script
    assert _search_attributes(script) == REGISTRY


def test_schema_job_migrates_both_databases() -> None:
    """temporal-sql-tool creates/sets up/updates `temporal` and `temporal_visibility`."""
    script = (ROOT / "deploy/compose/temporal-setup.sh").read_text()
    for step in ("create", "setup-schema -v 0.0", "update-schema -d"):
        assert step in script, step
    assert "migrate temporal temporal" in script
    assert "migrate temporal_visibility visibility" in script


def _search_attributes(script: str) -> dict[str, str]:
    match = re.search(r"SEARCH_ATTRIBUTES=\(([^)]*)\)", script)
    assert match, "SEARCH_ATTRIBUTES=(...) not found"
    return dict(entry.split("=", 1) for entry in match.group(1).split())
