"""Live pages in Debian's Chromium: a page says how old its data is and, when a pipeline pass
completes, draws itself again at the new generation without the reader reloading it.
(A module of its own: its pass moves its world's data clock.)"""

from __future__ import annotations

from typing import Any

import pytest

from tests.app.web.conftest import LiveServer
from tests.app.web.test_browser import browse  # noqa: F401  (the fixture)
from tests.support.waiting import HANG_GUARD

pytestmark = pytest.mark.browser


def test_a_page_refreshes_itself_when_a_pipeline_pass_completes(
    live_server: LiveServer,
    browse: Any,  # noqa: F811
) -> None:
    page = browse("manager")
    page.goto("/")
    page.wait_for_function("document.body.dataset.generation !== ''")
    drawn = page.evaluate("document.body.dataset.generation")
    assert "CRM data synced" in page.locator(".freshness").inner_text()
    assert page.locator("#data-age").inner_text().endswith("ago")
    page.evaluate("window.drawnBefore = true")  # gone once the page is drawn again

    live_server.web.world.sync()  # a pipeline pass: sync, mapping, opportunity state

    page.wait_for_function(
        "generation => document.body && document.body.dataset.generation !== generation",
        arg=drawn,
        timeout=HANG_GUARD * 1000,
    )
    assert page.evaluate("window.drawnBefore === undefined")  # reloaded by itself
    assert "Reached" in page.locator("main").inner_text()
