"""Example answers of the KPI endpoints, shown in the OpenAPI documentation (`/docs`).

Shortened from real answers over the demo history: one process, the first milestones.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BACKTEST",
    "FORECAST",
    "FUNNEL",
    "MOVEMENT",
    "OPPORTUNITIES",
    "OPPORTUNITY",
    "SCORECARD",
    "VELOCITY",
]

_FILTERS: dict[str, Any] = {
    "process": "smb_new_business",
    "segment": None,
    "owner": None,
    "team": None,
    "connection": None,
    "start": None,
    "end": None,
}
_AS_OF = "2025-07-01T00:00:00+00:00"
_DATA_AGE = 312.4

FUNNEL: dict[str, Any] = {
    "filters": _FILTERS,
    "as_of": _AS_OF,
    "as_of_source": "as_of is the data's own clock: the CRM's time when its last successful "
    "sync finished (the wall clock then for a live CRM, the history's time for a replayed one), "
    "unless MILESTONES_KPI_AS_OF sets it; data_age_seconds is how long ago that sync finished. "
    "At a past instant (MILESTONES_KPI_AS_OF, or the as_of parameter) the answer is what an "
    "export taken then would give.",
    "method": "aalen-johansen",
    "censoring": "Open opportunities are censored, not counted as failures: conversion is the "
    "plateau of an Aalen-Johansen cumulative incidence from the day each opportunity reached "
    "the milestone, reaching the target competing with closing without it.",
    "processes": [
        {
            "process": "smb_new_business",
            "name": "SMB new business",
            "ruleset_versions": [3, 4],
            "milestones": [
                {
                    "milestone": "created",
                    "name": "Opportunity created",
                    "position": 0,
                    "kind": None,
                    "reached": 1840,
                    "conversion_to_next": {
                        "estimate": 0.8123,
                        "cohort": 1840,
                        "converted": 1402,
                        "closed_without": 331,
                        "open_censored": 107,
                    },
                    "next_milestone": "customer_replied",
                    "conversion_to_won": {
                        "estimate": 0.2391,
                        "cohort": 1840,
                        "converted": 402,
                        "closed_without": 1251,
                        "open_censored": 187,
                    },
                },
                {
                    "milestone": "customer_replied",
                    "name": "Customer replied",
                    "position": 1,
                    "kind": "writes",
                    "reached": 1402,
                    "conversion_to_next": {
                        "estimate": 0.6604,
                        "cohort": 1402,
                        "converted": 861,
                        "closed_without": 447,
                        "open_censored": 94,
                    },
                    "next_milestone": "meeting_attended",
                    "conversion_to_won": {
                        "estimate": 0.3012,
                        "cohort": 1402,
                        "converted": 402,
                        "closed_without": 858,
                        "open_censored": 142,
                    },
                },
            ],
        }
    ],
    "data_age_seconds": _DATA_AGE,
}

MOVEMENT: dict[str, Any] = {
    "filters": _FILTERS,
    "by": "week",
    "start": "2025-05-12T00:00:00+00:00",
    "end": "2025-07-01T00:00:01+00:00",
    "as_of": _AS_OF,
    "progress_value": "sum over milestone advances of (P(win | new milestone) - "
    "P(win | previous milestone)) * amount, P(win | milestone) being the win probability "
    "on arrival, non-decreasing along the process (isotonic): a step forward never "
    "lowers it",
    "per_rep": [
        {
            "period": "2025-06-23",
            "rep": "0055g00000AbCdE",
            "advances": 7,
            "progress_value": 8431.5,
            "rep_name": "Dana Reyes",
        }
    ],
    "per_team": [
        {"period": "2025-06-23", "team": "SMB North", "advances": 19, "progress_value": 22010.0}
    ],
    "per_process": [
        {
            "period": "2025-06-23",
            "process": "smb_new_business",
            "advances": 41,
            "progress_value": 47288.25,
        }
    ],
    "data_age_seconds": _DATA_AGE,
}

VELOCITY: dict[str, Any] = {
    "filters": _FILTERS,
    "as_of": _AS_OF,
    "method": "Days from reaching a milestone to reaching a later one, among opportunities "
    "that advance: quantiles of the Aalen-Johansen cumulative incidence of advancing "
    "(closing without advancing competes; open opportunities are censored).",
    "processes": [
        {
            "process": "smb_new_business",
            "name": "SMB new business",
            "ruleset_versions": [3, 4],
            "steps": [
                {
                    "from": "created",
                    "to": "customer_replied",
                    "median_days": 3.25,
                    "p80_days": 9.5,
                    "sample": 1840,
                    "advanced": 1402,
                    "closed_without_advancing": 331,
                    "open_censored": 107,
                }
            ],
        }
    ],
    "data_age_seconds": _DATA_AGE,
}

OPPORTUNITY_ROW: dict[str, Any] = {
    "id": 4812,
    "external_id": "0065g00000XyZaB",
    "name": "Northwind - 40 seats",
    "connection": "acme",
    "process": "smb_new_business",
    "segment": "SMB",
    "owner": "0055g00000AbCdE",
    "owner_name": "Dana Reyes",
    "team": "SMB North",
    "outcome": "open",
    "amount": 12000.0,
    "milestone": "meeting_attended",
    "milestone_name": "Meeting attended",
    "position": 2,
    "days_at_milestone": 23.4,
    "forecast_close_month": "2025-09-01",
    "last_customer_action_at": "2025-06-07T14:30:00+00:00",
    "win_probability": 0.3817,
    "win_probability_based_on_deals": 412,
    "expected_value": 4580.4,
    "stalled": True,
    "stall_threshold_days": 18.0,
    "next_milestone": "requirements_sent",
    "guidance": "Ask for their requirements in writing; offer a template.",
}

OPPORTUNITIES: dict[str, Any] = {
    "data": [OPPORTUNITY_ROW],
    "count": 1,
    "total": 240,
    "next_cursor": "NDgxMg==",
    "as_of": _AS_OF,
    "data_age_seconds": _DATA_AGE,
}

OPPORTUNITY: dict[str, Any] = {
    **OPPORTUNITY_ROW,
    "as_of": _AS_OF,
    "timeline": [
        {
            "occurred_at": "2025-05-20T09:12:00+00:00",
            "milestone": "customer_replied",
            "name": "Customer replied",
            "kind": "writes",
            "rule": "inbound_email",
            "evidence": {
                "stream": "EmailMessage",
                "external_id": "02s5g00000QrStU",
                "url": "https://acme.my.salesforce.com/02s5g00000QrStU",
            },
        }
    ],
    "data_age_seconds": _DATA_AGE,
}

_CORRECTION: dict[str, Any] = {
    "horizon_months": 1,
    "cumulative": False,
    "part": "total",
    "scale": 1.21,
    "raw_scale": 1.37,
    "origins": 12,
    "past_coverage": 0.667,
    "prior_scale": 1.12,
}
"""One month's band correction, as the forecast and the backtest answer it."""

FORECAST: dict[str, Any] = {
    "filters": _FILTERS,
    "as_of": _AS_OF,
    "open_opportunities": 187,
    "includes_new_pipeline": True,
    "method": "Sum over open opportunities of amount * P(won in the month | milestone, days "
    "at it, deal size), from history (won and lost competing; recent deals weigh more, thin "
    "cells borrow from the same milestone a few days earlier); plus expected wins of "
    "opportunities not yet created at the recent creation rate (recent weeks weigh most). "
    "Band P10-P90: each deal's outcome, the estimated rates' uncertainty and the arrival "
    "noise of new pipeline, widened or narrowed per month ahead so that it would have held "
    "80 % of the outcomes at the backtest's past origins (band_calibration). No close dates, "
    "no stage probabilities.",
    "baseline_method": "CRM weighted pipeline: amount * stage probability of open "
    "opportunities whose close date falls in the month.",
    "months": [
        {
            "month": "2025-07",
            "expected_amount": 182400.0,
            "expected_count": 14.2,
            "p10_amount": 131020.5,
            "p90_amount": 233779.5,
            "p10_count": 9.6,
            "p90_count": 18.8,
            "new_pipeline_amount": 20110.0,
            "baseline_weighted_pipeline": 251300.0,
            "band_scale": 1.21,
        }
    ],
    "by_milestone": [
        {
            "process": "smb_new_business",
            "process_name": "SMB new business",
            "milestone": "proposal_requested",
            "name": "Customer asked for a proposal",
            "position": 3,
            "deals": 21,
            "amounts": [96150.0],
        }
    ],
    "too_little_history": None,
    "closed_deals_needed": 240,
    "half_lives": [
        {"process": "smb_new_business", "version": 3, "half_life_days": 180.0, "why": "auto"}
    ],
    "band_calibration": {
        "state": "calibrated",
        "note": "each month's band is widened or narrowed so that it would have held 80 % of "
        "the outcomes of the backtest's past origins (12 for this month, fewer further "
        "ahead), the correction shrunk towards what every horizon's errors ask together "
        "when few origins speak",
        "corrections": [_CORRECTION],
    },
    "data_age_seconds": _DATA_AGE,
}

SCORECARD: dict[str, Any] = {
    "rep": "0055g00000AbCdE",
    "as_of": _AS_OF,
    "rep_name": "Dana Reyes",
    "progress_value_week": 8431.5,
    "advances_week": 7,
    "progress_value_month": 30120.0,
    "advances_month": 26,
    "open_opportunities": 31,
    "expected_value_open": 96210.4,
    "stalled": [OPPORTUNITY_ROW],
    "data_age_seconds": _DATA_AGE,
}

_SCORE = {"wape": 0.253, "bias": 0.041, "coverage_p10_p90": 0.75, "pinball": 0.098}
_POINT_SCORE = {"wape": 0.554, "bias": 0.31, "coverage_p10_p90": None, "pinball": 0.277}
BACKTEST: dict[str, Any] = {
    "history_until": _AS_OF,
    "as_of": _AS_OF,
    "computed_at": "2025-07-01T00:00:05+00:00",
    "filters": {
        "process": None,
        "segment": None,
        "owner": None,
        "team": None,
        "connection": None,
        "start": None,
        "end": None,
    },
    "every": "month",
    "origins": ["2024-04-01", "2024-05-01"],
    "skipped": [
        {
            "origin": "2022-09-01",
            "reason": "66 closed opportunities (7 won) over 58 days before it; the forecast "
            "needs at least 100 closed (20 won) over 180 days",
        }
    ],
    "history_needed": {"closed": 100, "won": 20, "days": 180},
    "baseline_values": "CRM field history as of each origin",
    "method": "As-of replay: at each origin (midnight UTC) the model is fitted only on what "
    "was known strictly before it; ...",
    "reading": "WAPE = sum|actual - forecast| / sum actual over the origins: lower is better "
    "(0 is perfect). ...",
    "cells": [
        {
            "horizon_months": 1,
            "cumulative": False,
            "part": "total",
            "origins": 12,
            "actual_won": 2410000.0,
            "milestones": _SCORE,
            "milestone_free": {**_SCORE, "wape": 0.281},
            "weighted_pipeline": _POINT_SCORE,
            "naive_run_rate": {**_POINT_SCORE, "wape": 0.36, "pinball": 0.18},
        }
    ],
    "points": [
        {
            "origin": "2024-04-01",
            "horizon_months": 1,
            "cumulative": False,
            "part": "total",
            "month": "2024-04",
            "actual": 201000.0,
            "forecast": 187500.0,
            "p10": 140200.0,
            "p90": 234800.0,
            "milestone_free": 176000.0,
            "milestone_free_p10": 128000.0,
            "milestone_free_p90": 224000.0,
            "weighted_pipeline": 310400.0,
            "naive_run_rate": 176300.0,
        }
    ],
    "band_calibration": [_CORRECTION],
    "half_lives": [
        {
            "process": "smb_new_business",
            "version": 3,
            "why": "auto",
            "half_life_days": 180.0,
            "chosen": [365.0, 180.0, 180.0],
        }
    ],
    "data_age_seconds": _DATA_AGE,
}
