"""Every activity reference a workflow uses has an implementation of the same name and types."""

from __future__ import annotations

import inspect
import typing
from typing import Any

from activities import contracts
from config.settings import Settings
from workers.assembly import Integrations, activities_for


def _registered() -> dict[str, Any]:
    """The worker's activities by name (built with placeholders: nothing is called)."""
    fake: Any = object()
    integrations = Integrations(gateway=fake, carriers={}, warehouse=fake, email=fake)
    found = {}
    for fn in activities_for(Settings(), fake, integrations):
        definition = getattr(fn, "__temporal_activity_definition")
        found[definition.name] = fn
    return found


def test_every_reference_is_registered_under_its_name() -> None:
    registered = _registered()
    assert {ref.name for ref in contracts.ALL} == set(registered)


def test_references_and_implementations_take_and_return_the_same_types() -> None:
    registered = _registered()
    for ref in contracts.ALL:
        fn = registered[ref.name]
        hints = typing.get_type_hints(fn)
        [param] = [p for p in inspect.signature(fn).parameters if p != "self"]
        assert hints[param] is ref.input, ref.name
        assert hints["return"] == (type(None) if ref.output is None else ref.output), ref.name
