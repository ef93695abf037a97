"""The `oms` command: `up`, `worker`, `api`, `migrate`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from config.logging import configure_logging
from config.settings import Settings
from workers.options import UpOptions


def _shown(path: Path) -> str:
    """A relative path as a shell user writes it (`./var`, not `var`)."""
    return str(path) if path.is_absolute() else f"./{path}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="oms", description="Order management on Temporal.")
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="run the whole stack on this machine")
    default = UpOptions()
    up.add_argument("--demo", action="store_true", help="seed locations, SKUs and stock")
    up.add_argument(
        "--api-port", type=int, default=default.api_port, help="API port (default: %(default)s)"
    )
    up.add_argument(
        "--temporal-port",
        type=int,
        default=default.temporal_port,
        help="embedded Temporal server port (default: %(default)s)",
    )
    up.add_argument(
        "--ui-port",
        type=int,
        default=default.ui_port,
        help="Temporal UI port (default: %(default)s)",
    )
    up.add_argument(
        "--data-dir",
        type=Path,
        default=default.data_dir,
        help=f"databases, keys and logs (default: {_shown(default.data_dir)})",
    )
    up.add_argument(
        "--time-scale",
        type=float,
        default=default.time_scale,
        help="multiply every business delay (0.001 plays a week in minutes; default: %(default)s)",
    )
    up.add_argument(
        "--temporal-address",
        default=None,
        help="use an existing Temporal server (HOST:PORT) instead of starting one",
    )
    up.add_argument(
        "--host", default=default.host, help="interface to listen on (default: %(default)s)"
    )

    sub.add_parser("worker", help="run a Temporal worker (configured by OMS_* variables)")
    sub.add_parser("api", help="run the HTTP API (configured by OMS_* variables)")
    sub.add_parser("migrate", help="bring the database schema up to date")

    shops = sub.add_parser("sandbox-shops", help="serve the demo's sandbox Shopify and Woo shops")
    shops.add_argument("--host", default=default.host)
    shops.add_argument("--woocommerce-port", type=int, default=default.shop_ports()[0])
    shops.add_argument("--shopify-port", type=int, default=default.shop_ports()[1])
    shops.add_argument("--state-dir", type=Path, default=default.data_dir / "shops")

    sub.add_parser("bench", help="benchmarks: ratios vs the Temporal floor and raw SQL")
    sim = sub.add_parser("simulate", help="send signed, real-format channel webhooks to the API")
    sim.add_argument("--orders", type=int, default=100)
    sim.add_argument("--rate", type=float, default=10.0, help="deliveries per second")
    sim.add_argument("--channel", choices=["shopify", "woocommerce", "mixed"], default="mixed")
    sim.add_argument("--duplicates", type=float, default=0.1, help="share of deliveries resent")
    sim.add_argument("--api", default=default.api_url(), help="the OMS API (default: %(default)s)")
    sim.add_argument("--key", default=None, help="ops API key: also report open dead letters")
    sim.add_argument("--seed", type=int, default=None)
    sim.add_argument("--shopify-secret", default=None)
    sim.add_argument("--woocommerce-secret", default=None)
    flash = sim.add_argument_group(
        "flash sale",
        "--flash-sale: buyers at marketplaces with tracked inventory (each sells only while the "
        "quantity the OMS last pushed it, counted down by its own sales, is above zero); "
        "--rate is buyers per second; needs --key; prints a JSON report",
    )
    flash.add_argument("--flash-sale", action="store_true", help="run a flash sale instead")
    flash.add_argument("--sku", default=None, help="the SKU on sale (stocked, synced)")
    flash.add_argument("--buyers", type=int, default=600)
    flash.add_argument(
        "--channels", default="amazon,ebay,walmart", help="comma-separated marketplaces"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["bench"]:  # its own flags pass through untouched
        from bench.cli import main as bench_main

        return bench_main(argv[1:])
    args = _parser().parse_args(argv)
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    if args.command == "up":
        from workers.embedded import run_up

        if args.time_scale <= 0:
            print("oms up: --time-scale must be greater than 0", file=sys.stderr)
            return 2
        opts = UpOptions(
            demo=args.demo,
            api_port=args.api_port,
            temporal_port=args.temporal_port,
            ui_port=args.ui_port,
            data_dir=args.data_dir,
            time_scale=args.time_scale,
            temporal_address=args.temporal_address,
            host=args.host,
        )
        return asyncio.run(run_up(opts, settings))
    if args.command == "simulate" and args.flash_sale:
        from workers.flash_sale import main as flash_main

        return flash_main(args, settings)
    if args.command == "simulate":
        from workers.simulate import main as simulate_main

        return int(simulate_main(args) or 0)
    if args.command == "worker":
        from workers.worker import run_worker

        asyncio.run(run_worker(settings))
        return 0
    if args.command == "api":
        import uvicorn

        from api.app import create_app

        uvicorn.run(
            create_app(settings),
            host=settings.api_host,
            port=settings.api_port,
            log_config=None,
            access_log=False,
        )
        return 0
    if args.command == "sandbox-shops":
        from sandbox.demo_shops import DemoShops, run_demo_shops
        from workers.seed import SKUS

        where = DemoShops(args.host, args.woocommerce_port, args.shopify_port)
        secret = settings.shopify_webhook_secret
        catalogue = [(sku, name, price) for sku, name, _, price in SKUS]
        asyncio.run(
            run_demo_shops(
                where, args.state_dir, catalogue, secret.get_secret_value() if secret else ""
            )
        )
        return 0
    if args.command == "migrate":
        from store import migrate
        from store.db import create_engine

        async def _migrate() -> None:
            engine = create_engine(settings.database_url_resolved())
            await migrate.upgrade(engine)
            await engine.dispose()

        asyncio.run(_migrate())
        print("database is at the latest schema")
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
