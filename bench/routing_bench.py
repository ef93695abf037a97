"""Routing latency: `domain.routing.route` on synthetic, seeded-random networks and orders."""

from __future__ import annotations

import random
import time
from typing import Any

from bench.progress import Bar
from bench.stats import latency_ms
from domain.geo import GeoPoint
from domain.routing import RoutingLine, RoutingLocation, route

KINDS = ("warehouse", "warehouse", "store", "3pl")
SKU_POOL = 200


def _network(rng: random.Random, n: int) -> list[RoutingLocation]:
    return [
        RoutingLocation(
            location_id=f"L{i:04d}",
            kind=rng.choice(KINDS),  # type: ignore[arg-type]
            lat=rng.uniform(26.0, 48.0),
            lon=rng.uniform(-122.0, -71.0),
            daily_capacity=rng.randint(50, 2000),
            used_capacity=rng.randint(0, 50),
        )
        for i in range(n)
    ]


def _order(rng: random.Random, lines: int) -> list[RoutingLine]:
    skus = rng.sample(range(SKU_POOL), lines)
    return [
        RoutingLine(
            line_id=str(i + 1),
            sku=f"SKU-{sku:04d}",
            quantity=rng.randint(1, 4),
            weight_grams=rng.randint(100, 2000),
        )
        for i, sku in enumerate(skus)
    ]


def _stock(
    rng: random.Random, lines: list[RoutingLine], locations: list[RoutingLocation]
) -> dict[tuple[str, str], int]:
    """ATP of the ordered SKUs only, as the route_order activity reads it."""
    return {
        (line.sku, loc.location_id): rng.randint(0, 20)
        for line in lines
        for loc in locations
        if rng.random() < 0.6
    }


def run_routing(
    line_counts: tuple[int, ...], location_counts: tuple[int, ...], reps: int, seed: int
) -> dict[str, Any]:
    """p50/p99 of `route()` per (lines, locations) cell, `reps` fresh orders per cell."""
    rng = random.Random(seed)
    cells: dict[str, Any] = {}
    with Bar("routing", len(line_counts) * len(location_counts) * reps) as bar:
        for n_locations in location_counts:
            locations = _network(rng, n_locations)
            for n_lines in line_counts:
                durations: list[float] = []
                for _ in range(reps):
                    lines = _order(rng, n_lines)
                    stock = _stock(rng, lines, locations)
                    to = GeoPoint(lat=rng.uniform(26.0, 48.0), lon=rng.uniform(-122.0, -71.0))
                    started = time.perf_counter()
                    route(lines, to, locations, stock)
                    durations.append(time.perf_counter() - started)
                    bar.update()
                cells[f"{n_lines}x{n_locations}"] = latency_ms(durations)
    return cells
