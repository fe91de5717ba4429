"""Options become one validated parameter set; bad options name themselves."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sandbox.history import DEFAULT_NOW, SIZES, InvalidParameters, build_params


def test_sizes_are_documented_counts() -> None:
    assert SIZES == {"small": 300, "medium": 10_000, "large": 100_000}
    assert build_params(seed=1, size="medium").opportunities == 10_000


def test_explicit_counts_override_the_size() -> None:
    params = build_params(seed=1, size="large", opportunities=42)
    assert (params.opportunities, params.size) == (42, "custom")
    assert build_params(seed=1, opportunities=300).size == "small"


def test_now_defaults_to_a_fixed_date_not_the_wall_clock() -> None:
    params = build_params(seed=1)
    assert params.now == DEFAULT_NOW
    assert params.to_json()["now"] == "2025-07-01T00:00:00.000Z"
    assert params.to_json()["history_start"] == "2022-07-02T00:00:00.000Z"


def test_future_days_set_the_horizon() -> None:
    params = build_params(seed=1, future_days=30, now=datetime(2025, 1, 1, tzinfo=UTC))
    assert params.to_json()["future_until"] == "2025-01-31T00:00:00.000Z"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"size": "huge"}, "unknown size 'huge'"),
        ({"opportunities": -1}, "--opportunities must be >= 0"),
        ({"future_days": -3}, "--future-days must be >= 0"),
        ({"seed": -1}, "--seed must be >= 0"),
        ({"now": datetime(2025, 1, 1)}, "--now needs a time zone"),
    ],
)
def test_bad_options_are_refused_with_their_name(options: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidParameters, match=message):
        build_params(**{"seed": 1, **options})  # type: ignore[arg-type]


def test_every_parameter_is_in_the_json() -> None:
    data = build_params(seed=5).to_json()
    assert {"seed", "processes", "noise", "seasonality", "skill_effect", "stages"} <= set(data)
    enterprise = data["processes"][0]
    assert [step["key"] for step in enterprise["steps"]] == [
        "reply",
        "meeting_held",
        "requirements_sent",
        "proposal_requested",
        "verbal_yes",
        "signed",
    ]
    assert {"probability", "gap_median_days", "gap_sigma", "kind"} <= set(enterprise["steps"][0])
