"""The API description is true: for every operation, with a key of each role, generated
requests get answers the OpenAPI document describes (status, content type, headers, body),
and never a server error; malformed requests are refused (schemathesis with every check, valid
and invalid data, a bounded number of examples per operation). Every failure is reported, not
only the first."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from app.api.main import create_app
from app.core.database import Database
from app.core.settings import Settings
from tests.app.api.conftest import Auth
from tests.support.kpi_world import build

EXAMPLES = 8
CONFIG = schemathesis.config.SchemathesisConfig.from_dict(
    {
        # a well-formed value can still break a rule the schema cannot say (an `as_of` after
        # the data clock, a period that ends before it starts): such answers are 422s
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "422"]
            }
        }
    }
)


@pytest.mark.parametrize("role", ["admin", "ops", "manager", "rep"])
def test_every_operation_answers_as_described(db: Database, auth: Auth, role: str) -> None:
    build(db, deals=40)
    headers = auth(role, "005A" if role == "rep" else None)
    schema = schemathesis.openapi.from_asgi(
        "/openapi.json", create_app(Settings(log_level="WARNING"), db), config=CONFIG
    )
    failures: list[str] = []
    cases = [
        (found.ok(), mode)
        for found in schema.get_all_operations()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    ]
    for operation, mode in cases:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers)

        try:
            check()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE, operation.label  # nothing there to break
        except (
            Exception,
            BaseExceptionGroup,
        ) as failure:  # every operation's failure, then one assertion
            failures.append(f"{operation.label} ({mode.value} data): {failure}")
    assert not failures, "\n\n".join(failures)
