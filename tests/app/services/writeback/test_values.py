"""The values write-back writes, and the field set that names them: small hand-computed cases."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import pytest

from app.core.database import Database
from app.kpis.forecast import forecast_close_month
from app.kpis.history import DealHistory, days_between
from app.kpis.winmodel import WinModel, fit_win_model_histories
from app.services.kpis.queries import opportunity_row
from app.services.kpis.store import KpiStore
from app.services.writeback.fields import (
    WritebackSettings,
    crm_value,
    field_set,
    name_problems,
)
from app.services.writeback.values import (
    OpportunityValues,
    account_values,
    load_extras,
    opportunity_values,
)
from connectors.core.writes import FieldDefinition
from tests.support import kpi_world

AS_OF = datetime(2025, 1, 10, tzinfo=UTC)


def fit_model(deals: list[DealHistory], as_of: datetime) -> WinModel:
    """The forecast's model with every deal alike and no borrowing: the hand-computed months."""
    return fit_win_model_histories(deals, as_of.timestamp(), None, prior_deals=0.0)


def _deals(*outcomes: tuple[int, str, int]) -> list[DealHistory]:
    """`count` deals at position 1 from creation, each `outcome` after `days`."""
    deals: list[DealHistory] = []
    start = AS_OF - timedelta(days=500)
    for count, outcome, days in outcomes:
        for _ in range(count):
            created = start + timedelta(days=len(deals))
            deals.append(
                DealHistory(
                    len(deals),
                    process=1,
                    created_at=created,
                    reached=((1, created),),
                    outcome=outcome,
                    closed_at=created + timedelta(days=days),
                    amount=1000.0,
                )
            )
    return deals


@pytest.mark.parametrize(
    ("history", "month"),
    [
        # all won 40 days on: the month of as_of + 40 days
        (((40, "won", 40),), date(2025, 2, 1)),
        # half won, half lost, both after 10 days: the median of the won ones, 10 days on
        (((20, "won", 10), (20, "lost", 10)), date(2025, 1, 1)),
        # a third won after 10 days, two thirds after 70: half is passed only on day 70
        (((15, "won", 10), (30, "won", 70)), date(2025, 3, 1)),
        # never won
        (((40, "lost", 20),), None),
    ],
)
def test_forecast_close_month_is_the_median_month_of_winning(
    history: tuple[tuple[int, str, int], ...], month: date | None
) -> None:
    model = fit_model(_deals(*history), AS_OF)
    assert forecast_close_month(model, 1, 1, 0.0, AS_OF) == month


def test_no_history_no_forecast_month_and_none_beyond_the_horizon() -> None:
    assert forecast_close_month(fit_model([], AS_OF), 1, 1, 0.0, AS_OF) is None
    model = fit_model(_deals((40, "won", 400)), AS_OF + timedelta(days=400))
    assert forecast_close_month(model, 1, 1, 0.0, AS_OF, horizon_months=12) is None
    assert forecast_close_month(model, 1, 1, 0.0, AS_OF, horizon_months=24) == date(2026, 2, 1)


def test_opportunity_values_come_from_state_and_the_kpi_service(db: Database) -> None:
    ids = kpi_world.build(db)
    store = KpiStore(db)
    snapshot = store.snapshot()
    now = kpi_world.NOW
    extras = load_extras(db, ids["connection"], snapshot.versions.get(ids["connection"]))
    rows = {
        row.opportunity_id: row
        for row in opportunity_values(snapshot, ids["connection"], extras, now)
    }
    assert len(rows) == 120

    deal = snapshot.deals[120]  # open, at the proposal (position 3: i = 119, 119 % 5 = 4)
    info = snapshot.info[120]
    kpis = opportunity_row(snapshot, deal, info, snapshot.processes[ids["process"]], now)
    values = rows[120].values
    assert values["milestone_name"] == "Proposal" and values["milestone_number"] == 3
    assert values["last_customer_action_kind"] == "says"
    assert values["last_customer_action_date"] == deal.last_action_at.date().isoformat()  # type: ignore[union-attr]
    percent = round(kpis.win_probability * 100)
    assert values["win_probability"] == percent
    assert values["expected_value"] == round(deal.amount * percent / 100)
    assert values["days_at_milestone"] == math.floor(days_between(info.current_since, now))
    # a day counts once it has passed: 40.98 days at the milestone are 40 in the CRM, not 41
    assert info.current_since is not None
    late = info.current_since + timedelta(days=40, hours=23, minutes=30)
    [at_late] = [
        r for r in opportunity_values(snapshot, ids["connection"], extras, late)
        if r.opportunity_id == 120
    ]  # fmt: skip
    assert at_late.values["days_at_milestone"] == 40
    assert values["stalled"] is kpis.stalled
    assert values["next_step"] == "Next: get the proposal"

    won = rows[4].values  # i = 3: three milestones, 3 % 3 == 0: won 17 days after creation
    closed = snapshot.deals[4].closed_at
    assert closed is not None
    assert (won["win_probability"], won["stalled"], won["next_step"]) == (100, False, None)
    assert won["forecast_close_month"] == date(closed.year, closed.month, 1).isoformat()
    assert won["days_at_milestone"] == 5  # from the proposal to closing, not to now
    lost = rows[2].values  # i = 1: one milestone, lost
    assert (lost["win_probability"], lost["expected_value"], lost["forecast_close_month"]) == (
        0,
        0,
        None,
    )


def test_account_values_add_up_the_open_opportunities() -> None:
    def row(
        key: int, account: str | None, is_open: bool, position: int, **values: object
    ) -> OpportunityValues:
        base = {"expected_value": 100, "stalled": False, "milestone_name": f"M{position}"}
        return OpportunityValues(key, f"006{key}", account, is_open, position, {**base, **values})

    accounts = account_values(
        [
            row(1, "001A", True, 2, stalled=True),
            row(2, "001A", True, 4, expected_value=250),
            row(3, "001A", False, 5, expected_value=999),
            row(4, "001B", False, 1),
            row(5, None, True, 3),
        ]
    )
    assert accounts == {
        "001A": {
            "account_open_opportunities": 2,
            "account_expected_value": 350,
            "account_stalled_opportunities": 1,
            "account_furthest_milestone": "M4",
        },
        "001B": {
            "account_open_opportunities": 0,
            "account_expected_value": 0,
            "account_stalled_opportunities": 0,
            "account_furthest_milestone": None,
        },
    }


def test_the_field_set_per_crm_with_renamed_disabled_and_account_fields() -> None:
    defaults = field_set("salesforce", WritebackSettings())
    assert defaults.account is None
    assert [f.definition.name for f in defaults.opportunity.fields][:3] == [
        "Milestone__c",
        "Milestone_Number__c",
        "Last_Customer_Action__c",
    ]
    assert len(defaults.opportunity.fields) == 10
    chosen = WritebackSettings.model_validate(
        {
            "fields": {"stalled": {"name": "ms_deal_stalled"}, "next_step": {"enabled": False}},
            "account_fields": True,
            "account": {"account_furthest_milestone": {"enabled": False}},
        }
    )
    hubspot = field_set("hubspot", chosen)
    names = {f.key: f.definition.name for f in hubspot.opportunity.fields}
    assert names["stalled"] == "ms_deal_stalled" and "next_step" not in names
    assert hubspot.account is not None and hubspot.account.object_type == "companies"
    assert [f.key for f in hubspot.account.fields] == [
        "account_open_opportunities",
        "account_expected_value",
        "account_stalled_opportunities",
    ]


def test_names_the_crm_would_refuse_are_named() -> None:
    bad = WritebackSettings.model_validate(
        {
            "fields": {
                "stalled": {"name": "Stalled__Flag__c"},
                "milestone_name": {"name": "Stalled__c"},
            }
        }
    )
    assert name_problems("salesforce", bad) == [
        "writeback.stalled: 'Stalled__Flag__c' is not a Salesforce custom field API name "
        "(letters, digits, single underscores, ending __c)",
    ]
    clash = WritebackSettings.model_validate({"fields": {"stalled": {"name": "Milestone__c"}}})
    assert name_problems("salesforce", clash) == [
        "writeback.stalled: 'Milestone__c' is also the name of milestone_name"
    ]
    assert name_problems("hubspot", WritebackSettings()) == []
    upper = WritebackSettings.model_validate({"fields": {"stalled": {"name": "MS_Stalled"}}})
    assert "is not a HubSpot internal name" in name_problems("hubspot", upper)[0]


def test_values_as_each_crm_takes_them() -> None:
    text = FieldDefinition("x", "X", "text", length=5)
    flag = FieldDefinition("y", "Y", "checkbox")
    assert crm_value("salesforce", text, "abcdefgh") == "abcde"
    assert crm_value("salesforce", flag, True) is True
    assert crm_value("salesforce", text, None) is None
    assert crm_value("hubspot", flag, False) == "false"
    assert crm_value("hubspot", text, None) == ""
    assert crm_value("hubspot", FieldDefinition("z", "Z", "number"), 42) == "42"
