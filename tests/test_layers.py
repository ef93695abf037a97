"""Layering (DESIGN.md): below the API nothing imports `api`."""

from __future__ import annotations

import grimp

LOWER = ("domain", "workflows", "activities", "services", "integrations", "store")
# The order intake moves from api/services/ to services/ on its own branch; until then
# channel ingest calls it where it is.
PENDING = {("services.channels", "api.services.orders")}


def test_nothing_below_the_api_imports_it() -> None:
    graph = grimp.build_graph("api", *LOWER)
    found = {
        (importer, imported)
        for package in LOWER
        for importer in graph.find_descendants(package) | {package}
        for imported in graph.find_modules_directly_imported_by(importer)
        if imported == "api" or imported.startswith("api.")
    }
    assert found == PENDING
