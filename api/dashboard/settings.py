"""Dashboard settings (`OMS_SESSION_SECRET`, queue thresholds), read once per process."""

from __future__ import annotations

import secrets
from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class DashboardSettings(BaseSettings):
    """What only the dashboard needs; kept apart so `config.settings` stays the core's."""

    model_config = SettingsConfigDict(env_prefix="OMS_", extra="ignore")

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


@lru_cache(maxsize=1)
def dashboard_settings() -> DashboardSettings:
    """The process-wide dashboard settings."""
    return DashboardSettings()
