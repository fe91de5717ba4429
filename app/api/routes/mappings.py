"""Mapping rules over the API: validate, preview and activate a ruleset (for ops)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/mappings", tags=["mappings"])
