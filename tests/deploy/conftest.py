"""Fixtures for the deployment checks: the Settings env names and the kustomize helper."""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
# These checks read the checkout (compose file, manifests, Settings), so they must also run
# where the project is not installed into the venv yet, e.g. a CI lint stage.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from config.settings import Settings  # noqa: E402


@pytest.fixture(scope="session")
def kustomize() -> ModuleType:
    """tests/deploy/kustomize.py, loaded by path so it works under any pytest import mode."""
    spec = importlib.util.spec_from_file_location(
        "oms_deploy_kustomize", Path(__file__).with_name("kustomize.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def settings_env_names() -> set[str]:
    """Every environment variable name `Settings` reads (prefix + upper-cased field name)."""
    prefix = Settings.model_config.get("env_prefix", "")
    return {f"{prefix}{name}".upper() for name in Settings.model_fields}


@pytest.fixture(scope="session")
def graceful_shutdown_seconds() -> int:
    """The worker's drain budget, `GRACEFUL_SHUTDOWN = timedelta(seconds=N)` in workers/worker.py.

    Read from the source rather than imported, so a broken import elsewhere in the worker does
    not fail the deployment checks.
    """
    tree = ast.parse((ROOT / "workers" / "worker.py").read_text())
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "GRACEFUL_SHUTDOWN" for t in node.targets)
            and isinstance(node.value, ast.Call)
        ):
            for keyword in node.value.keywords:
                value = keyword.value
                if keyword.arg == "seconds" and isinstance(value, ast.Constant):
                    assert isinstance(value.value, int), "GRACEFUL_SHUTDOWN seconds not an int"
                    return value.value
    raise AssertionError("GRACEFUL_SHUTDOWN = timedelta(seconds=N) not found in workers/worker.py")
