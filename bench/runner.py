"""Runs the phases in an order that keeps them from disturbing each other, and sums up."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.channel_lag import run_channel_lag, settle
from bench.channel_sale import CHANNELS, run_channel_sale
from bench.experiments import apply_before
from bench.flash_sale import run_flash_sale
from bench.ingest import run_ingest
from bench.params import Params
from bench.reservations import run_reservations
from bench.routing_bench import run_routing
from bench.stack import StackOptions, open_stack
from bench.stats import ratio
from bench.throughput import chain, order_plan, run_floor, run_pipeline

# Units per selling channel under which the OMS shares a SKU out (OMS_ATP_SHARE_BELOW).
SHARE_BELOW = 50
PHASES = ("routing", "reservations", "floor", "shape", "pipeline", "ingest", "flash", "sale")


@dataclass
class RunOptions:
    """Where to run and what."""

    stack: StackOptions
    postgres_admin_url: str | None
    phases: tuple[str, ...] = PHASES


async def run_all(params: Params, opts: RunOptions) -> dict[str, Any]:
    """Every selected phase; pure and separate-database phases first, background load last."""
    apply_before(params.experiments)
    started = time.perf_counter()
    results: dict[str, Any] = {"params": {"experiments": list(params.experiments)}}
    want = set(opts.phases)
    if "routing" in want:
        results["routing"] = run_routing(
            params.routing_lines, params.routing_locations, params.routing_reps, params.seed
        )
    if "reservations" in want:
        with tempfile.TemporaryDirectory(prefix="oms-bench-res-") as tmp:
            results["reservations"] = await run_reservations(
                Path(tmp),
                opts.postgres_admin_url,
                params.reserve_attempts,
                params.reserve_stock,
                params.reserve_clients,
            )
    if want & {"floor", "shape", "pipeline", "ingest", "flash", "sale"}:
        # The sale's marketplaces are the ones pushed to; a SKU under SHARE_BELOW units per
        # channel is shared out between them (no phase but the sale has so little stock).
        async with open_stack(
            opts.stack, sync_channels=list(CHANNELS), atp_share_below=SHARE_BELOW
        ) as stack:
            c = params.concurrency
            # One real order first: it warms every cache and its history gives the plans.
            plan = await order_plan(stack)
            await settle(stack)
            results["plan"] = {
                "steps": plan.steps,
                "child_steps": plan.child_steps,
                "activities": plan.activities,
            }
            if "floor" in want:
                results["floor"] = await run_floor(stack, params.floor_n, c, chain(plan))
            if "shape" in want:
                results["shape"] = await run_floor(stack, params.floor_n, c, plan, "shape")
            if "pipeline" in want:
                results["pipeline"] = await run_pipeline(
                    stack, params.pipeline_n, c, params.timeout_s
                )
                results["channel_lag"] = await run_channel_lag(stack)
            if "ingest" in want:
                await settle(stack)
                results["ingest"] = await run_ingest(stack, params.ingest_n, c)
            if "flash" in want:
                await settle(stack)
                results["flash_sale"] = await run_flash_sale(
                    stack, params.flash_n, params.flash_stock, c, params.timeout_s
                )
            if "sale" in want:
                await settle(stack, timeout_s=params.timeout_s, orders=True)
                results["channel_sale"] = await run_channel_sale(
                    stack,
                    params.sale_buyers,
                    params.sale_rate,
                    params.sale_units,
                    params.timeout_s,
                    params.seed,
                )
    results["elapsed_s"] = round(time.perf_counter() - started, 1)
    return summarize(results)


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    """Add the headline ratios and the oversold total at the top level."""
    floor, pipeline = results.get("floor"), results.get("pipeline")
    shape = results.get("shape")
    ingest, res = results.get("ingest"), results.get("reservations")
    flash = results.get("flash_sale")
    sale = (results.get("channel_sale") or {}).get("with_intake")
    sale_off = (results.get("channel_sale") or {}).get("without_intake")
    sale_bare = (results.get("channel_sale") or {}).get("without_intake_or_shares")
    headline: dict[str, Any] = {
        "pipeline_vs_floor": _ratio_of(pipeline, floor),
        # pipeline_vs_floor = shape_vs_floor x pipeline_vs_shape: Temporal's charge for the
        # order's shape over a plain chain, times the OMS's own work over that shape.
        "shape_vs_floor": _ratio_of(shape, floor),
        "pipeline_vs_shape": _ratio_of(pipeline, shape),
        "ingest_vs_raw": ratio(ingest["api"]["per_s"], ingest["raw"]["per_s"]) if ingest else None,
        "reservation_vs_raw": res["reservation_vs_raw"] if res else None,
        "reservation_vs_raw_by_db": {
            db: v.get("reservation_vs_raw") for db, v in res["databases"].items()
        }
        if res
        else {},
        "oversold": (res["oversold"] if res else 0) + (flash["oversold"] if flash else 0),
        # Orders the channels accepted that the OMS could not cover, and the same sale with
        # intake reservation off, then with shares off too; how long a stock change took to
        # reach the channels.
        "channel_oversold": sale["channel_oversold"] if sale else 0,
        "channel_oversold_without_intake": sale_off["channel_oversold"] if sale_off else None,
        "channel_oversold_without_shares": sale_bare["channel_oversold"] if sale_bare else None,
        "atp_lag_p50_s": sale["atp_lag_p50_s"] if sale else None,
        "atp_lag_p99_s": sale["atp_lag_p99_s"] if sale else None,
        "intake_to_reserved_p99_s": sale["intake_to_reserved_p99_s"] if sale else None,
        "floor_per_s": floor["per_s"] if floor else None,
        "shape_per_s": shape["per_s"] if shape else None,
        "pipeline_per_s": pipeline["per_s"] if pipeline else None,
    }
    return {**headline, **results}


def _ratio_of(top: dict[str, Any] | None, bottom: dict[str, Any] | None) -> float | None:
    return ratio(top["per_s"], bottom["per_s"]) if top and bottom else None
