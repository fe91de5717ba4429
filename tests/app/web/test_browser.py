"""The web app in Debian's Chromium: each role signs in through the form and opens every
page of theirs at 1280x800 and at phone width; no page has a serious or critical axe-core
violation; the rule editor shows a typo at its line as it is typed; a form stripped of its
CSRF token is refused; a rep cannot open another rep's deal by its URL.

With `MILESTONES_SCREENSHOTS=docs/screenshots` each page is saved there (the README shows them).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.app.services.mapping.mapping_world import SALESFORCE_RULES
from tests.app.web.conftest import LiveServer

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SCREENSHOTS = os.environ.get("MILESTONES_SCREENSHOTS")
AXE = Axe()


@pytest.fixture
def browse(live_server: LiveServer, chromium: Any) -> Iterator[Any]:
    """`browse(role, viewport)`: a page signed in through the sign-in form."""
    contexts: list[Any] = []

    def open_as(role: str, viewport: dict[str, int] = DESKTOP) -> Any:
        context = chromium.new_context(viewport=viewport, base_url=live_server.url)
        contexts.append(context)
        page = context.new_page()
        page.goto("/")
        assert "/sign-in" in page.url
        page.get_by_label("API key").fill(live_server.web.keys[role])
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        assert "/sign-in" not in page.url, page.content()[:500]
        return page

    yield open_as
    for context in contexts:
        context.close()


def _serious(page: Any) -> list[str]:
    found = AXE.run(page).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes'][:3]]}"
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


def _shot(page: Any, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=False)


def _fits(page: Any) -> bool:
    """Nothing wider than the screen but the tables' own scrolling regions."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


def _pages(server: LiveServer) -> dict[str, list[tuple[str, str]]]:
    web = server.web
    mine = web.deal_of(web.reps["rep"])
    kpi = [
        ("/", "pipeline"),
        ("/forecast", "forecast"),
        ("/stalled", "stalled"),
        (f"/opportunities/{mine}", "opportunity"),
    ]
    return {
        "manager": [
            *kpi,
            ("/reps", "reps"),
            (f"/reps/{web.reps['rep']}", "rep"),
            ("/ops/health", "health-manager"),
        ],
        "rep": [*kpi, ("/reps/me", "rep-own")],
        "ops": [
            ("/ops/connections", "connections"),
            ("/ops/rules", "rules"),
            ("/ops/health", "health"),
            ("/ops/health/candidates", "health-candidates"),
        ],
        "admin": [("/", "pipeline-admin"), ("/ops/rules", "rules-admin")],
    }


@pytest.mark.parametrize("role", ["manager", "rep", "ops", "admin"])
def test_every_page_renders_for_each_role_with_no_serious_accessibility_violation(
    live_server: LiveServer, browse: Any, role: str
) -> None:
    page = browse(role)
    for path, name in _pages(live_server)[role]:
        response = page.goto(path)
        assert response is not None and response.status == 200, (path, response)
        page.wait_for_load_state("networkidle")
        assert page.locator("h1").first.is_visible(), path
        assert page.get_by_role("button", name="Sign out").is_visible()
        assert _serious(page) == [], path
        if role in ("manager", "ops"):
            _shot(page, name)
    phone = browse(role, PHONE)
    for path, name in _pages(live_server)[role]:
        phone.goto(path)
        phone.wait_for_load_state("networkidle")
        assert _fits(phone), f"{path} is wider than a phone"
        assert _serious(phone) == [], path
        if role == "manager" and name == "pipeline":
            _shot(phone, "pipeline-phone")


def test_keyboard_reaches_the_content_and_the_navigation(browse: Any) -> None:
    page = browse("manager")
    page.goto("/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.closest('main') !== null")
    assert focused


def test_the_rule_editor_shows_a_typo_at_its_line_while_typing(browse: Any) -> None:
    page = browse("ops")
    page.goto("/ops/rules")
    editor = page.get_by_label("Rule file (YAML)")
    broken = SALESFORCE_RULES.replace("stream: Event", "stream: Meetings", 1)
    editor.fill(broken)
    editor.press("End")  # an input event, as typing makes
    error = page.locator("#diagnostics li.error").first
    error.wait_for()
    assert "Line 57, column 21" in error.inner_text()
    assert "unknown stream" in error.inner_text()
    assert page.locator("#highlight .y-err").count() == 1
    editor.fill(SALESFORCE_RULES)
    editor.press("End")
    page.locator("#diagnostics-status.ok").wait_for()


def test_a_form_stripped_of_its_csrf_token_is_refused(browse: Any) -> None:
    page = browse("ops")
    page.goto("/ops/connections")
    page.evaluate("document.querySelectorAll('input[name=csrf_token]').forEach(e => e.remove())")
    page.get_by_role("button", name="Sync acme now").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Form refused"
    assert "security token" in page.content()


def test_a_rep_cannot_open_another_reps_deal_by_its_url(
    live_server: LiveServer, browse: Any
) -> None:
    web = live_server.web
    page = browse("rep")
    theirs = web.deal_of(web.reps["other_rep"])
    response = page.goto(f"/opportunities/{theirs}")
    assert response is not None and response.status == 404
    assert page.locator("h1").inner_text() == "Not found"
