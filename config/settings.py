"""One settings object for every process, read from `OMS_*` environment variables."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal, get_args

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from domain.dispositions import DispositionRules
from domain.models import ShippingService
from domain.timings import Timings

MIB = 1024 * 1024


SERVICES: tuple[ShippingService, ...] = get_args(ShippingService)
SyncChannel = Literal["amazon", "ebay", "etsy", "walmart"]
SYNC_CHANNELS: tuple[SyncChannel, ...] = get_args(SyncChannel)
# Platforms that accept (and charge for) an order before the OMS hears of it.
CHANNELS_THAT_TAKE_ORDERS = (*SYNC_CHANNELS, "shopify", "woocommerce")


class Settings(BaseSettings):
    """Configuration of the API, the worker and the embedded stack.

    Code receives a `Settings`; it never reads the environment itself. Every field has a default
    that suits `oms up` on one machine.
    """

    model_config = SettingsConfigDict(env_prefix="OMS_", extra="ignore")

    data_dir: Path = Path("./var")
    # Empty means: SQLite in the data dir (see `database_url_resolved`).
    database_url: str = ""
    database_pool_size: int = 10
    # The simulators' own database; empty means a SQLite file in the data dir.
    sandbox_database_url: str = ""

    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    task_queue: str = "oms-orders"
    temporal_ui_url: str = "http://127.0.0.1:8233"

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    public_url: str = ""

    admin_api_key: SecretStr | None = None
    shopify_webhook_secret: SecretStr | None = None
    shopify_webhook_secret_previous: SecretStr | None = None
    woocommerce_webhook_secret: SecretStr | None = None
    payload_key: SecretStr | None = None
    # The dated Shopify GraphQL Admin API version connections use (a connection may override).
    shopify_api_version: str = Field(default="2026-10", pattern=r"^\d{4}-(01|04|07|10)$")

    # Multiplies every business delay: warehouse and carrier progress, tracking polls, windows.
    time_scale: float = Field(default=1.0, gt=0)
    return_window_days: float = Field(default=30.0, ge=0)
    backorder_deadline_hours: float = Field(default=168.0, gt=0)
    # An order its shop has not been paid for is cancelled after this long.
    unpaid_order_hours: float = Field(default=168.0, gt=0)
    # A draft order (`"draft": true`) not confirmed within this long expires (business seconds:
    # scaled like every business delay; the sweeper marks it `expired`).
    draft_ttl_s: float = Field(default=7 * 86400.0, gt=0)
    # The sandbox warehouse sends picked/packed/shipped by itself (a real WMS would call the API).
    sandbox_warehouse: bool = True
    # Where and how the business ships: an order outside these is refused before payment.
    # `OMS_SHIP_TO_COUNTRIES=US,CA`; `OMS_SHIPPING_SERVICES=standard,express`.
    ship_to_countries: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["US"], min_length=1
    )
    shipping_services: Annotated[list[ShippingService], NoDecode] = Field(
        default_factory=lambda: list(SERVICES), min_length=1
    )
    # A returned unit the customer calls faulty goes to inspection (or straight to write-off).
    return_defective_disposition: Literal["inspect", "write_off"] = "inspect"
    payment_gateway: Literal["sandbox", "stripe"] = "sandbox"
    stripe_api_key: SecretStr | None = None

    smtp_host: str = ""
    smtp_port: int = 25
    mail_from: str = "orders@oms.example"

    log_level: str = "INFO"
    log_format: Literal["auto", "json", "console"] = "auto"

    # Worker tuning.
    max_concurrent_activities: int = 200
    max_concurrent_workflow_tasks: int = 100

    # ---- HTTP edge (api/middleware.py) ----
    rate_limit_enabled: bool = True
    # Per API key (or client IP without one): sustained requests per second and burst size.
    rate_limit_rps: float = Field(default=50.0, gt=0)
    rate_limit_burst: int = Field(default=200, ge=1)
    # Channel webhooks carry no API key: limited per client IP.
    webhook_rate_limit_rps: float = Field(default=50.0, gt=0)
    webhook_rate_limit_burst: int = Field(default=200, ge=1)
    # Only behind a proxy that sets X-Forwarded-For; otherwise clients could pick their bucket.
    trust_forwarded_for: bool = False
    max_body_bytes: int = Field(default=1 * MIB, ge=1)
    # The Temporal UI decodes whole pages of history in one request.
    codec_max_body_bytes: int = Field(default=8 * MIB, ge=1)

    # ---- ops dashboard (api/dashboard) ----
    # Without OMS_SESSION_SECRET each process signs with its own random secret: sign-ins do not
    # survive a restart and do not work across API replicas, which is only right for `oms up`.
    session_secret: SecretStr = Field(default_factory=lambda: SecretStr(secrets.token_urlsafe(32)))
    session_max_age_s: int = Field(default=8 * 3600, ge=60)
    session_https_only: bool = False
    # Exceptions queue thresholds, in business hours (scaled by OMS_TIME_SCALE).
    backorder_alert_hours: float = Field(default=48.0, gt=0)
    stuck_after_hours: float = Field(default=24.0, gt=0)
    exceptions_lookback_days: float = Field(default=14.0, gt=0)
    # A location's available units at or under this are flagged low (absent a forecast).
    low_stock_units: int = Field(default=10, ge=0)

    # ---- stock at the channels ----
    # Take each order's demand off network ATP in the transaction that records it
    # (store/demand.py); off, ATP drops only when the order's workflow reserves its stock.
    intake_reservation: bool = True
    # Marketplaces whose listings get ATP pushes (`OMS_SYNC_CHANNELS=amazon,ebay`, empty for
    # none); connected shops always get theirs.
    sync_channels: Annotated[list[SyncChannel], NoDecode] = Field(
        default_factory=lambda: list(SYNC_CHANNELS)
    )
    # Below this many units per selling channel, a SKU's ATP is shared out between the channels
    # instead of shown whole to each, so together they cannot sell more than exists (each
    # platform counts its own sales down). 0 never shares.
    atp_share_below: int = Field(default=0, ge=0)
    # Channels whose orders are refused (409, nothing recorded) when intake cannot cover every
    # line, instead of backordered: a web checkout or a call centre can tell the buyer now.
    # Not the marketplaces or shops: they took the order (and payment) before we heard of it.
    refuse_short_channels: Annotated[list[str], NoDecode] = Field(default_factory=list)

    def database_url_resolved(self) -> str:
        """The database URL, defaulting to a SQLite file in the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'oms.sqlite3').resolve()}"

    def sandbox_database_url_resolved(self) -> str:
        """The sandbox database URL, defaulting to a SQLite file in the data dir."""
        if self.sandbox_database_url:
            return self.sandbox_database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'sandbox.sqlite3').resolve()}"

    def timings(self) -> Timings:
        """Business delays handed to each new order workflow (fixed for its lifetime)."""
        return Timings(
            time_scale=self.time_scale,
            return_window_s=self.return_window_days * 86400,
            backorder_deadline_s=self.backorder_deadline_hours * 3600,
            unpaid_deadline_s=self.unpaid_order_hours * 3600,
        )

    def return_rules(self) -> DispositionRules:
        """Disposition rules handed to each new order (fixed for its lifetime)."""
        return DispositionRules(defective=self.return_defective_disposition)

    @field_validator(
        "ship_to_countries",
        "shipping_services",
        "sync_channels",
        "refuse_short_channels",
        mode="before",
    )
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("refuse_short_channels")
    @classmethod
    def _refusable(cls, value: list[str]) -> list[str]:
        taken = sorted(set(value) & set(CHANNELS_THAT_TAKE_ORDERS))
        if taken:
            raise ValueError(
                f"{', '.join(taken)} took the order before the OMS heard of it: it can be "
                "backordered or cancelled, not refused"
            )
        return value

    @field_validator("ship_to_countries")
    @classmethod
    def _country_codes(cls, value: list[str]) -> list[str]:
        return [code.upper() for code in value]

    def public_base_url(self) -> str:
        """Where customers and ops reach the API (used in label and tracking links)."""
        return self.public_url.rstrip("/") or f"http://{self.api_host}:{self.api_port}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
