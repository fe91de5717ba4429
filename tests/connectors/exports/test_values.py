"""Export cells become the values the CRM's API would have sent."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.exports.values import CellError, cell_instant, hs_datetime, to_sf_value

MOMENT = datetime(2025, 3, 4, 10, 15, 0, 123000, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "2025-03-04T10:15:00.123Z",
        "2025-03-04T10:15:00.123+0000",
        "2025-03-04T12:15:00.123+02:00",
        "2025-03-04 10:15:00.123",
        "1741083300123",
    ],
)
def test_instants_in_every_export_form(text: str) -> None:
    assert cell_instant(text) == MOMENT


def test_a_bare_date_is_midnight_utc_and_nonsense_is_refused() -> None:
    assert cell_instant("2025-03-04") == datetime(2025, 3, 4, tzinfo=UTC)
    with pytest.raises(CellError, match="is not a date and time"):
        cell_instant("next week")


@pytest.mark.parametrize(
    ("sf_type", "cell", "value"),
    [
        ("boolean", "true", True),
        ("boolean", "0", False),
        ("boolean", "", None),
        ("datetime", "2025-03-04 10:15:00", "2025-03-04T10:15:00.000+0000"),
        ("date", "2025-03-04", "2025-03-04"),
        ("int", "42", 42),
        ("currency", "48500", 48500.0),
        ("percent", "12.5", 12.5),
        ("double", "1,234.5", 1234.5),
        ("picklist", "Closed Won", "Closed Won"),
        ("string", "", None),
    ],
)
def test_salesforce_values_take_the_rest_apis_json_types(
    sf_type: str, cell: str, value: object
) -> None:
    converted = to_sf_value(sf_type, cell)
    assert converted == value and type(converted) is type(value)


@pytest.mark.parametrize(
    ("sf_type", "cell"), [("boolean", "maybe"), ("int", "4.5"), ("currency", "lots")]
)
def test_cells_that_do_not_fit_their_type_are_refused(sf_type: str, cell: str) -> None:
    with pytest.raises(CellError):
        to_sf_value(sf_type, cell)


def test_hubspot_instants_have_milliseconds_and_a_z() -> None:
    assert hs_datetime(MOMENT) == "2025-03-04T10:15:00.123Z"
