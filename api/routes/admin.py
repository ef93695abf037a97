"""Placeholder router, filled in by its feature (kept so app wiring is stable)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
