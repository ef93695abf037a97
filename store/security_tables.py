"""Tables of a feature (placeholder until the feature adds them; imported by migrations)."""

from __future__ import annotations

from store.tables import Base

__all__ = ["Base"]
