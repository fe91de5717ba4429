"""The connectors read, and the mapping rules know, the same fields of every stream."""

from __future__ import annotations

import pytest

from connectors.core import StreamSpec
from connectors.hubspot.streams import HUBSPOT_STREAMS
from connectors.salesforce.streams import SALESFORCE_STREAMS
from crm.hubspot import HUBSPOT_PROPERTIES
from crm.salesforce import SALESFORCE_OBJECTS, SYSTEM_FIELDS
from mappings.catalog import HUBSPOT, SALESFORCE, stream_info

HUBSPOT_OBJECTS = [spec for spec in HUBSPOT_STREAMS if spec.name in HUBSPOT_PROPERTIES]
"""The CRM objects a sync reads by their properties (form submissions are read whole)."""


@pytest.mark.parametrize("spec", SALESFORCE_STREAMS, ids=lambda spec: spec.name)
def test_every_salesforce_field_a_sync_reads_is_one_the_rules_know(spec: StreamSpec) -> None:
    info = stream_info(SALESFORCE, spec.name)
    assert info is not None
    assert spec.fields == SALESFORCE_OBJECTS[spec.name].read
    assert spec.fields[: len(SYSTEM_FIELDS)] == SYSTEM_FIELDS
    assert set(spec.fields) <= info.fields
    assert spec.cursor_field in spec.fields


@pytest.mark.parametrize("spec", HUBSPOT_OBJECTS, ids=lambda spec: spec.name)
def test_hubspot_rules_know_exactly_the_properties_a_sync_reads(spec: StreamSpec) -> None:
    info = stream_info(HUBSPOT, spec.name)
    assert info is not None
    assert spec.fields == HUBSPOT_PROPERTIES[spec.name]
    assert info.fields - info.top_level == set(spec.fields)
    assert {spec.cursor_field, *spec.required_fields} <= set(spec.fields)


def test_both_sides_cover_the_same_streams() -> None:
    assert {spec.name for spec in SALESFORCE_STREAMS} == set(SALESFORCE_OBJECTS)
    assert set(HUBSPOT_PROPERTIES) <= {spec.name for spec in HUBSPOT_STREAMS}
    # every other incremental stream is read whole, and the rules know it as such
    for spec in HUBSPOT_STREAMS:
        if spec.mode == "incremental" and spec.name not in HUBSPOT_PROPERTIES:
            info = stream_info(HUBSPOT, spec.name)
            assert info is not None and not info.properties and not spec.fields, spec.name
            assert spec.cursor_field in info.fields, spec.name
