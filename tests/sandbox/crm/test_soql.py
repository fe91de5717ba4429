"""SOQL in the sandbox: the subset the connectors need, refusals worded as Salesforce words them."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.crm import Sandbox
from sandbox.crm.salesforce.soql import SoqlError, parse
from sandbox.crm.salesforce.soql_eval import compile_query
from tests.sandbox.crm.export_fixture import ACCOUNTS, NOW, OPPS, TASK_COUNT


def run(sandbox: Sandbox, text: str, include_deleted: bool = False) -> list[dict[str, Any]]:
    compiled = compile_query(text, sandbox.salesforce, NOW)
    return [compiled.render(row, "59.0") for row in compiled.run(include_deleted)]


def refusal(sandbox: Sandbox, text: str) -> SoqlError:
    with pytest.raises(SoqlError) as caught:
        compile_query(text, sandbox.salesforce, NOW)
    return caught.value


def test_field_lists_render_parent_fields_as_nested_records(sandbox: Sandbox) -> None:
    [opp] = run(
        sandbox, f"SELECT Name, Account.Name, Owner.Name FROM Opportunity WHERE Id = '{OPPS[0]}'"
    )
    assert opp["attributes"] == {
        "type": "Opportunity",
        "url": f"/services/data/v59.0/sobjects/Opportunity/{OPPS[0]}",
    }
    assert opp["Name"] == "Deal 0"
    assert opp["Account"]["Name"] == "Acme Corp"
    assert opp["Account"]["attributes"]["type"] == "Account"
    assert opp["Owner"]["Name"] == "Alice Adams"


def test_names_are_case_insensitive_and_answered_in_canonical_case(sandbox: Sandbox) -> None:
    [row] = run(sandbox, f"select name, account.name from opportunity where id = '{OPPS[1]}'")
    assert set(row) == {"attributes", "Name", "Account"}


def test_polymorphic_relationships_answer_name_fields_and_type(sandbox: Sandbox) -> None:
    rows = run(sandbox, "SELECT Who.Name, What.Type FROM Task WHERE Subject = 'Task 30'")
    assert rows[0]["Who"]["attributes"]["type"] == "Lead"
    assert rows[0]["Who"]["Name"] == "Lena Lead"
    assert rows[0]["What"]["Type"] == "Account"


def test_a_null_reference_renders_null(sandbox: Sandbox) -> None:
    rows = {r["Name"]: r for r in run(sandbox, "SELECT Name, Parent.Name FROM Account")}
    assert rows["Acme Corp"]["Parent"] is None
    assert rows["Initech's Labs"]["Parent"]["Name"] == "Acme Corp"


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Name = 'acme corp'", {"Acme Corp"}),
        ("Name != 'Acme Corp'", {"Globex", "Initech's Labs"}),
        ("Name = 'Initech\\'s Labs'", {"Initech's Labs"}),
        ("Name LIKE 'glo%'", {"Globex"}),
        ("Name LIKE '%o_p'", {"Acme Corp"}),
        ("Name IN ('Globex', 'ACME CORP')", {"Globex", "Acme Corp"}),
        ("Name NOT IN ('Globex')", {"Acme Corp", "Initech's Labs"}),
        ("AnnualRevenue > 60000", {"Acme Corp"}),
        ("AnnualRevenue = null", {"Globex"}),
        ("Industry != 'Energy'", {"Acme Corp", "Initech's Labs"}),
        ("NOT (Name = 'Globex' OR Name = 'Acme Corp')", {"Initech's Labs"}),
        ("(Name = 'Globex' OR Name = 'Acme Corp') AND AnnualRevenue != null", {"Acme Corp"}),
        ("CreatedDate > 2025-01-01T00:00:00Z", {"Globex", "Initech's Labs"}),
        ("CreatedDate >= 2024-12-31T12:00:00.000+00:00", {"Acme Corp", "Globex", "Initech's Labs"}),
        ("CreatedDate = LAST_N_DAYS:58", {"Initech's Labs"}),
        ("CreatedDate < LAST_N_DAYS:58", {"Acme Corp", "Globex"}),
        (f"Id IN ('{ACCOUNTS[0]}', '{ACCOUNTS[1][:15]}')", {"Acme Corp", "Globex"}),
    ],
)
def test_where_clauses_filter_as_salesforce_does(
    sandbox: Sandbox, where: str, expected: set[str]
) -> None:
    assert {r["Name"] for r in run(sandbox, f"SELECT Name FROM Account WHERE {where}")} == expected


def test_date_fields_compare_with_dates_and_date_literals(sandbox: Sandbox) -> None:
    rows = run(
        sandbox,
        "SELECT Name FROM Opportunity "
        "WHERE CloseDate >= 2025-03-20 AND CloseDate <= NEXT_N_DAYS:60",
    )
    assert {r["Name"] for r in rows} == {"Deal 0", "Deal 1", "Deal 2"}
    assert (
        run(sandbox, "SELECT Name FROM Opportunity WHERE CloseDate = THIS_MONTH")[0]["Name"]
        == "Deal 2"
    )


def test_order_by_limit_and_offset(sandbox: Sandbox) -> None:
    rows = run(
        sandbox, "SELECT Name FROM Account ORDER BY AnnualRevenue DESC NULLS LAST, Name LIMIT 2"
    )
    assert [r["Name"] for r in rows] == ["Acme Corp", "Initech's Labs"]
    rows = run(sandbox, "SELECT Name FROM Account ORDER BY AnnualRevenue ASC")
    assert rows[0]["Name"] == "Globex"  # nulls first when ascending
    rows = run(sandbox, "SELECT Name FROM Account ORDER BY Name DESC LIMIT 1 OFFSET 1")
    assert [r["Name"] for r in rows] == ["Globex"]


def test_query_skips_deleted_rows_and_query_all_keeps_them(sandbox: Sandbox) -> None:
    assert len(run(sandbox, "SELECT Id FROM Task")) == TASK_COUNT - 1
    deleted = run(
        sandbox, "SELECT Id, IsDeleted FROM Task WHERE IsDeleted = true", include_deleted=True
    )
    assert len(deleted) == 1 and deleted[0]["IsDeleted"] is True


def test_count_answers_the_size_only(sandbox: Sandbox) -> None:
    compiled = compile_query("SELECT COUNT() FROM Opportunity", sandbox.salesforce, NOW)
    assert compiled.is_count and len(compiled.run(False)) == 4


def test_mixing_and_with_or_needs_parentheses(sandbox: Sandbox) -> None:
    error = refusal(sandbox, "SELECT Id FROM Account WHERE Name = 'a' AND Name = 'b' OR Name = 'c'")
    assert error.code == "MALFORMED_QUERY"
    assert error.message.endswith("ERROR at Row:1:Column:56\nunexpected token: 'OR'")


@pytest.mark.parametrize(
    ("text", "code", "detail"),
    [
        ("SELECT Id FRO Account", "MALFORMED_QUERY", "unexpected token: 'Account'"),
        ("SELECT Id FROM", "MALFORMED_QUERY", "unexpected token: '<EOF>'"),
        (
            "SELECT Id, (SELECT Id FROM Contacts) FROM Account",
            "MALFORMED_QUERY",
            "unexpected token: '('",
        ),
        ("SELECT Id FROM Account GROUP BY Name", "MALFORMED_QUERY", "unexpected token: 'GROUP'"),
        ("SELECT Id FROM Acount", "INVALID_TYPE", "sObject type 'Acount' is not supported."),
        ("SELECT Nme FROM Account", "INVALID_FIELD", "No such column 'Nme' on entity 'Account'."),
        (
            "SELECT Acount.Name FROM Contact",
            "INVALID_FIELD",
            "Didn't understand relationship 'Acount' in field path.",
        ),
        (
            "SELECT Who.Industry FROM Task",
            "INVALID_FIELD",
            "No such column 'Industry' on entity 'Name'.",
        ),
        (
            "SELECT Id FROM Account WHERE CreatedDate > '2025-01-01'",
            "INVALID_FIELD",
            "must be of type dateTime and should not be enclosed in quotes",
        ),
        (
            "SELECT Id FROM Opportunity WHERE CloseDate > 2025-01-01T00:00:00Z",
            "INVALID_FIELD",
            "must be of type date and should not be enclosed in quotes",
        ),
        (
            "SELECT Id FROM Account WHERE Name = 5",
            "INVALID_FIELD",
            "must be of type string and should be enclosed in quotes",
        ),
        (
            "SELECT Id FROM Account WHERE Id = 'nope'",
            "INVALID_QUERY_FILTER_OPERATOR",
            "invalid ID field: nope",
        ),
        (
            "SELECT Id FROM EmailMessage WHERE TextBody = 'x'",
            "INVALID_FIELD",
            "field 'TextBody' can not be filtered in a query call",
        ),
        ("SELECT Id, Id FROM Account", "MALFORMED_QUERY", "duplicate field selected: Id"),
        (
            "SELECT Id FROM Account OFFSET 2001",
            "NUMBER_OUTSIDE_VALID_RANGE",
            "Maximum SOQL offset allowed is 2000",
        ),
    ],
)
def test_refusals_carry_salesforce_codes_and_messages(
    sandbox: Sandbox, text: str, code: str, detail: str
) -> None:
    error = refusal(sandbox, text)
    assert error.code == code
    assert detail in error.message


def test_error_messages_point_at_row_and_column() -> None:
    with pytest.raises(SoqlError) as caught:
        parse("SELECT Id\nFROM Account\nWHERE Name = 'x' Name")
    assert (
        caught.value.message == "\nWHERE Name = 'x' Name\n                 ^\n"
        "ERROR at Row:3:Column:18\nunexpected token: 'Name'"
    )
