"""Ops change the rules in the browser: preview against the stored records, see how the
forecast would have done with the file, activate after confirming what changes, and the
pipeline page shows the new version; then roll back.
(A module of its own: it changes its world's active version.)"""

from __future__ import annotations

from typing import Any

import pytest

from tests.app.services.mapping.mapping_world import SALESFORCE_RULES
from tests.app.web.conftest import LiveServer
from tests.app.web.test_browser import _serious, browse  # noqa: F401  (the fixture)
from tests.support.waiting import wait_for

pytestmark = pytest.mark.browser


def _shows(page: Any, text: str) -> bool:
    page.reload()
    return text in page.locator("main").inner_text()


def test_preview_then_activate_changes_the_pipeline_page(
    live_server: LiveServer,
    browse: Any,  # noqa: F811
) -> None:
    manager = browse("manager")
    manager.goto("/")
    assert "Meeting held" in manager.locator("main").inner_text()

    ops = browse("ops")
    ops.goto("/ops/rules")
    renamed = SALESFORCE_RULES.replace("name: Meeting held", "name: Meeting attended", 1)
    ops.get_by_label("Rule file (YAML)").fill(renamed)
    ops.get_by_role("button", name="Preview against the stored records").click()
    ops.wait_for_load_state()
    assert ops.locator("h1").inner_text().startswith("Preview:")
    assert ops.get_by_role("heading", name="What changes").is_visible()
    assert _serious(ops) == []
    ops.get_by_role("button", name="Forecast with this file").click()
    ops.wait_for_load_state()
    assert ops.locator("h1").inner_text().startswith("Forecast with this file")
    assert "Lower WAPE is better" in ops.locator("main").inner_text()
    assert _serious(ops) == []
    ops.get_by_role("button", name="Back to the preview").click()
    ops.wait_for_load_state()
    assert ops.locator("h1").inner_text().startswith("Preview:")
    ops.get_by_role("button", name="Activate").click()  # refused: not confirmed yet
    assert "/ops/rules/preview" in ops.url or ops.locator("#confirm").is_visible()
    ops.get_by_label("I have looked at the changes above", exact=False).check()
    ops.get_by_role("button", name="Activate").click()
    ops.wait_for_load_state()
    assert "Version 2 is active on acme." in ops.locator("main").inner_text()

    assert wait_for(lambda: _shows(manager, "Meeting attended"), step=0.5)

    ops.get_by_role("button", name="Roll acme back to the version it had before").click()
    ops.wait_for_load_state()
    assert "Version 1 is active on acme." in ops.locator("main").inner_text()
    assert wait_for(lambda: _shows(manager, "Meeting held"), step=0.5)
    ops.goto("/ops/rules/versions/2/diff?against=1&connection=acme")
    assert "Meeting attended" in ops.locator(".diff").inner_text()
