"""`oms up`'s options, whose defaults are `Settings`' own: each value is written once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from config.settings import Settings

# The declared defaults, not the environment's values: `oms up` flags override the environment
# (they always have), so `oms up --help` shows the same defaults wherever it runs.
DEFAULTS = Settings.model_construct()


def port_of(address: str) -> int:
    """The port of `HOST:PORT` or of a URL."""
    port = urlsplit(address if "//" in address else f"//{address}").port
    if port is None:
        raise ValueError(f"{address!r} names no port")
    return port


@dataclass
class UpOptions:
    """Flags of `oms up`: the embedded servers listen where the default settings point."""

    demo: bool = False
    api_port: int = DEFAULTS.api_port
    temporal_port: int = port_of(DEFAULTS.temporal_address)
    ui_port: int = port_of(DEFAULTS.temporal_ui_url)
    data_dir: Path = DEFAULTS.data_dir
    time_scale: float = DEFAULTS.time_scale
    temporal_address: str | None = None
    host: str = DEFAULTS.api_host

    def shop_ports(self) -> tuple[int, int]:
        """(WooCommerce, Shopify) ports of the demo's sandbox shops, beside the API's."""
        return self.api_port + 102, self.api_port + 101

    def api_url(self) -> str:
        """Where the API of these options answers."""
        return f"http://{self.host}:{self.api_port}"
