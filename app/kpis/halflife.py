"""Which recency half-life each process's forecast uses, and why.

Ops set it per process in the ruleset (`half_life_days`: days, `none` for every deal alike,
or `auto`); a process without one takes `recency.DEFAULT_HALF_LIFE_DAYS`. With `auto` the
half-life is the one a backtest of the process's own deals, on what was known strictly
before the as-of, preferred (`backtest.choose_half_life`, given here as `choose`). Every
forecast and backtest answer says which half-life each process used and why.

    setting = parse_half_life("auto")                   # "auto"
    resolve(setting, lambda: choose_half_life(...))     # HalfLife(days=180.0, why="auto")
    resolve(None, ...)                                  # HalfLife(365.0, "default")
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from app.kpis.recency import DEFAULT_HALF_LIFE_DAYS

__all__ = ["HalfLife", "Setting", "Why", "parse_half_life", "resolve"]

Setting = float | Literal["auto", "none"] | None
"""What ops set for a process: days, "none", "auto"; None when they set nothing."""
Why = Literal["set", "auto", "default"]


@dataclass(frozen=True, slots=True)
class HalfLife:
    """The half-life a process's model used (None: every deal alike) and why: set by ops,
    chosen by backtest (auto), or the default."""

    days: float | None
    why: Why


def parse_half_life(text: str) -> float | Literal["auto", "none"]:
    """Days above 0, "none" or "auto", as ops write it (ValueError saying what is allowed)."""
    word = text.strip().lower()
    if word in ("auto", "none"):
        return "auto" if word == "auto" else "none"
    try:
        days = float(word)
    except ValueError:
        days = float("nan")
    if not 0 < days < 1e6:
        raise ValueError(
            f"half-life {text!r}: a number of days above 0 (365: a deal a year old counts "
            "half), none (every deal alike) or auto (chosen by a backtest)"
        )
    return days


def resolve(setting: Setting, choose: Callable[[], float | None]) -> HalfLife:
    """The half-life `setting` stands for; `choose` is called only for "auto"."""
    if setting is None:
        return HalfLife(DEFAULT_HALF_LIFE_DAYS, "default")
    if setting == "auto":
        return HalfLife(choose(), "auto")
    return HalfLife(None if setting == "none" else float(setting), "set")
