"""Sizes of each benchmark phase: `tiny` (smoke test), `quick` (< 5 min on 2 cores), `full`."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class Params:
    """How much work each phase does; every phase reads only its own fields."""

    floor_n: int
    pipeline_n: int
    ingest_n: int
    concurrency: int
    reserve_attempts: int
    reserve_stock: int
    reserve_clients: int
    routing_reps: int
    flash_n: int
    flash_stock: int
    timeout_s: float
    # The channel sale: buyers at `sale_rate` per second over three marketplaces.
    sale_buyers: int = 600
    sale_rate: float = 50.0
    sale_units: int = 100
    routing_lines: tuple[int, ...] = (1, 5, 20)
    routing_locations: tuple[int, ...] = (10, 100, 500)
    seed: int = 7
    experiments: tuple[str, ...] = field(default_factory=tuple)

    def with_overrides(self, **changes: Any) -> Params:
        """A copy with the non-None `changes` applied."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


PRESETS: dict[str, Params] = {
    "tiny": Params(
        floor_n=4,
        pipeline_n=4,
        ingest_n=6,
        concurrency=4,
        reserve_attempts=30,
        reserve_stock=10,
        reserve_clients=4,
        routing_reps=2,
        flash_n=8,
        flash_stock=2,
        timeout_s=40,
        sale_buyers=30,
        sale_rate=20.0,
        sale_units=6,
        routing_lines=(1, 5),
        routing_locations=(10, 100),
    ),
    "quick": Params(
        floor_n=80,
        pipeline_n=80,
        ingest_n=150,
        concurrency=16,
        reserve_attempts=600,
        reserve_stock=200,
        reserve_clients=16,
        routing_reps=30,
        flash_n=80,
        flash_stock=15,
        timeout_s=120,
    ),
    "full": Params(
        floor_n=500,
        pipeline_n=500,
        ingest_n=1000,
        concurrency=32,
        reserve_attempts=3000,
        reserve_stock=1000,
        reserve_clients=32,
        routing_reps=200,
        flash_n=500,
        flash_stock=100,
        timeout_s=600,
    ),
}
