"""Milestone Sync: the service (API, CLI, sync orchestration, KPIs, write-back)."""

__version__ = "0.1.0"
