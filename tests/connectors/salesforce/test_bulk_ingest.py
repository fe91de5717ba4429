"""Bulk API 2.0 CSV cells and errors, as the write-back path formats and reads them."""

from __future__ import annotations

import pytest

from connectors.salesforce.bulk_ingest import csv_cell, error_text


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (None, "#N/A"),  # an empty cell would leave the old value in place
        ("", "#N/A"),
        (True, "true"),
        (False, "false"),
        (42, "42"),
        (12.5, "12.5"),
        (1e21, "1000000000000000000000"),  # never exponent notation
        (0.0001, "0.0001"),
        ("2025-07-01", "2025-07-01"),
        ("Send the proposal", "Send the proposal"),
    ],
)
def test_values_become_cells_salesforce_reads_as_meant(value: object, cell: str) -> None:
    assert csv_cell(value) == cell


def test_errors_read_as_an_sobject_collections_save_result_would_say_them() -> None:
    assert error_text("ENTITY_IS_DELETED:entity is deleted: --") == (
        "ENTITY_IS_DELETED: entity is deleted"
    )
    assert error_text(
        "FIELD_CUSTOM_VALIDATION_EXCEPTION:Stalled deals need a reason:Stalled__c --"
    ) == ("FIELD_CUSTOM_VALIDATION_EXCEPTION: Stalled deals need a reason [Stalled__c]")
    assert error_text("REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --") == (
        "REQUIRED_FIELD_MISSING: Required fields are missing: [Name] [Name]"
    )
    assert error_text("").startswith("NO_RESULT:")
