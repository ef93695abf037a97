"""Imports every module that defines tables, so `Base.metadata` is the whole schema."""

from __future__ import annotations

import store.analytics_tables
import store.channel_tables
import store.connection_tables
import store.demand_tables
import store.draft_tables
import store.receivable_tables
import store.returns_tables
import store.security_tables
import store.tables

__all__ = ["store"]
