"""`oms bench`: ratios against the Temporal floor and raw SQL, measured side by side in one run."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys

from bench.experiments import NAMES
from bench.params import PRESETS
from bench.runner import PHASES, RunOptions
from bench.stack import SIMULATOR_POLL_S, StackOptions

DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


def parser() -> argparse.ArgumentParser:
    """The flags of `oms bench`."""
    p = argparse.ArgumentParser(prog="oms bench", description=__doc__)
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="finishes in < 5 min on 2 cores")
    size.add_argument("--tiny", action="store_true", help="smoke-test sizes (< 60 s)")
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    p.add_argument("--temporal-address", help="use this Temporal server instead of our own")
    p.add_argument("--database-url", help="OMS database for the stack (default: temp SQLite)")
    p.add_argument(
        "--postgres-url",
        default=os.environ.get("OMS_BENCH_POSTGRES_URL", DEFAULT_POSTGRES),
        help="a PostgreSQL URL whose server gets a throwaway database for reservations",
    )
    p.add_argument("--no-postgres", action="store_true", help="reservations on SQLite only")
    p.add_argument("--phases", default=",".join(PHASES), help=f"subset of {','.join(PHASES)}")
    p.add_argument("--orders", type=int, help="orders for floor and pipeline (overrides preset)")
    p.add_argument("--concurrency", type=int, help="requests/starts in flight")
    p.add_argument("--seed", type=int)
    p.add_argument(
        "--experiment", action="append", default=[], choices=NAMES, help="prototype a change"
    )
    p.add_argument("--no-chart", action="store_true", help="skip the PNG")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 on success, 1 when something oversold."""
    from bench.chart import write_chart
    from bench.report import table
    from bench.runner import run_all
    from config.logging import configure_logging

    args = parser().parse_args(argv)
    # Warnings only, on stderr: stdout carries the table or the JSON line.
    configure_logging("WARNING", "json")
    preset = "tiny" if args.tiny else "quick" if args.quick else "full"
    params = PRESETS[preset].with_overrides(
        floor_n=args.orders,
        pipeline_n=args.orders,
        concurrency=args.concurrency,
        seed=args.seed,
        experiments=tuple(args.experiment) or None,
    )
    phases = tuple(x.strip() for x in args.phases.split(",") if x.strip())
    if unknown := set(phases) - set(PHASES):
        print(f"oms bench: unknown phase(s) {sorted(unknown)}", file=sys.stderr)
        return 2
    opts = RunOptions(
        stack=StackOptions(
            temporal_address=args.temporal_address,
            database_url=args.database_url,
            simulator_poll_s=0.01 if "fast-warehouse" in params.experiments else SIMULATOR_POLL_S,
        ),
        postgres_admin_url=None if args.no_postgres else args.postgres_url,
        phases=phases,
    )
    results = asyncio.run(run_all(params, opts))
    results["params"]["preset"] = preset
    if args.json:
        print(json.dumps(results, separators=(",", ":"), default=str))
    else:
        print(table(results))
        if not args.no_chart:
            path = write_chart(results)
            print(f"chart: {path}" if path else "chart: matplotlib not installed, skipped")
    return 1 if results.get("oversold") else 0


if __name__ == "__main__":
    sys.exit(main())
