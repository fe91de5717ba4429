"""Any text given as a rule file ends in a report (valid, or diagnostics with a place), never a
crash or a hang: random text, and the shipped examples mutated line by line."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mappings import EXAMPLES
from mappings.validate import validate

EXAMPLE_LINES = (EXAMPLES / "salesforce.yaml").read_text().splitlines()
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _reported(text: str) -> None:
    report = validate(text, "fuzz.yaml")
    assert report.ruleset is not None or report.errors
    for diagnostic in report.errors:
        assert diagnostic.message and diagnostic.position.line >= 1


@FUZZ
@given(st.text(max_size=400))
def test_any_text_is_a_report(text: str) -> None:
    _reported(text)


@FUZZ
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=len(EXAMPLE_LINES) - 1),
            st.sampled_from(["drop", "dup", "indent", "dedent", "garble", "colon"]),
            st.text(max_size=12),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_a_mutated_example_is_a_report(edits: list[tuple[int, str, str]]) -> None:
    lines = list(EXAMPLE_LINES)
    for index, how, noise in edits:
        index %= len(lines) or 1
        if not lines:
            break
        line = lines[index]
        lines[index : index + 1] = {
            "drop": [],
            "dup": [line, line],
            "indent": ["  " + line],
            "dedent": [line.lstrip()],
            "garble": [line[: len(line) // 2] + noise],
            "colon": [line.replace(":", noise, 1)],
        }[how]
    _reported("\n".join(lines))
