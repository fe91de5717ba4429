"""The web app over HTTP: sign-in per role, every page with a generated history, rep scoping,
CSRF, session expiry, the rules workbench and the offline API docs."""

from __future__ import annotations

import time
from datetime import datetime

import pytest
from fastapi.testclient import TestClient

from app.web.session import COOKIE, SessionCodec, WebSession
from tests.app.services.mapping.mapping_world import SALESFORCE_RULES
from tests.app.web.conftest import SignIn, WebWorld, csrf_of

KPI_PAGES = ["/", "/forecast", "/stalled", "/reps"]
OPS_PAGES = ["/ops/connections", "/ops/rules"]


def test_a_page_without_a_session_sends_the_browser_to_sign_in(web: WebWorld) -> None:
    client = TestClient(web.app, follow_redirects=False)
    response = client.get("/stalled?team=North")
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=/stalled%3Fteam%3DNorth"


def test_the_session_cookie_is_signed_http_only_same_site_and_never_holds_the_key(
    web: WebWorld,
) -> None:
    client = TestClient(web.app, follow_redirects=False)
    token = csrf_of(client.get("/sign-in").text)
    response = client.post("/sign-in", data={"key": web.keys["manager"], "csrf_token": token})
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie
    assert "SameSite=lax" in cookie and "Max-Age=43200" in cookie
    assert web.keys["manager"] not in cookie
    assert response.headers["location"] == "/"
    stranger = TestClient(web.app, follow_redirects=False)
    token = csrf_of(stranger.get("/sign-in").text)
    wrong = stranger.post("/sign-in", data={"key": "msk_nope", "csrf_token": token})
    assert wrong.status_code == 401 and "not a valid API key" in wrong.text


@pytest.mark.parametrize(
    ("role", "allowed", "refused"),
    [
        ("admin", KPI_PAGES + OPS_PAGES, []),
        ("manager", KPI_PAGES, OPS_PAGES),
        ("rep", KPI_PAGES, OPS_PAGES),
        ("ops", OPS_PAGES, ["/forecast", "/stalled"]),
    ],
)
def test_each_role_sees_its_pages_with_data(
    sign_in: SignIn, role: str, allowed: list[str], refused: list[str]
) -> None:
    client = sign_in(role)
    for path in allowed:
        response = client.get(path, follow_redirects=True)
        assert response.status_code == 200, (path, response.text[:500])
        assert "Sign out" in response.text
    for path in refused:
        response = client.get(path)
        assert response.status_code == 403, path
        assert "cannot open this page" in response.text
    landing = client.get("/")
    if role == "ops":
        assert landing.headers["location"] == "/ops/connections"
    else:
        assert landing.status_code == 200 and "Reached" in landing.text


def test_pipeline_filters_live_in_the_url_and_a_rep_is_found_by_name_or_email(
    web: WebWorld, sign_in: SignIn
) -> None:
    client = sign_in("manager")
    rep = web.reps["rep"]
    by_id = client.get(f"/?rep={rep}&period=90d")
    assert by_id.status_code == 200
    assert f"({rep})" in by_id.text and 'value="90d" selected' in by_id.text
    with web.db.sessions() as session:
        from sqlalchemy import select

        from app.models import CrmOwner

        owner = session.scalars(select(CrmOwner).where(CrmOwner.external_id == rep)).first()
        assert owner is not None
        name, email = owner.name, owner.email
    assert client.get("/", params={"rep": name}).text.count(f"({rep})") == 1
    if email:
        assert f"({rep})" in client.get("/", params={"rep": email.upper()}).text
        found = client.get("/reps/find", params={"who": email})
        assert found.headers["location"] == f"/reps/{rep}"
    assert client.get("/", params={"rep": "nobody at all"}).status_code == 404
    assert client.get("/", params={"period": "2y"}).status_code == 422


def test_a_rep_sees_only_their_own_deals(web: WebWorld, sign_in: SignIn) -> None:
    client = sign_in("rep")
    mine, theirs = web.deal_of(web.reps["rep"]), web.deal_of(web.reps["other_rep"])
    assert client.get(f"/opportunities/{mine}").status_code == 200
    other = client.get(f"/opportunities/{theirs}")
    assert other.status_code == 404 and "no opportunity" in other.text
    assert client.get(f"/reps/{web.reps['other_rep']}").status_code == 403
    assert client.get(f"/?rep={web.reps['other_rep']}").status_code == 403
    own = client.get("/reps/me", follow_redirects=True)
    assert own.status_code == 200 and web.reps["rep"] in own.text
    assert client.get("/forecast/backtest").status_code == 403


def test_pages_show_the_opportunity_story_and_stalled_deals_by_value(
    web: WebWorld, sign_in: SignIn
) -> None:
    client = sign_in("manager")
    deal = client.get(f"/opportunities/{web.deal_of(web.reps['rep'])}")
    assert deal.status_code == 200
    assert "Win probability over time" in deal.text and "Evidence:" in deal.text
    assert "/lightning/r/" in deal.text  # evidence and the deal open in the CRM
    stalled = client.get("/stalled")
    assert stalled.status_code == 200 and "Open in CRM" in stalled.text
    backtest = client.get("/forecast/backtest")
    assert backtest.status_code == 200 and "Backtest" in backtest.text
    forecast = client.get("/forecast")
    assert "each process by its own half-life" in forecast.text
    assert "365 days (the default)" in forecast.text


def test_the_backtest_is_computed_off_the_request_and_is_the_answer_the_api_gives(
    web: WebWorld, sign_in: SignIn
) -> None:
    from app.api.deps import keeper_of
    from app.services.kpis.backtest import BacktestReport, kept_backtest
    from tests.support.waiting import wait_for

    client = sign_in("manager")
    first = client.get("/forecast/backtest").text  # never waits for the computation
    assert "being computed" in first or "Computed for the KPIs as of" in first

    def shown() -> bool:
        return "Computed for the KPIs as of" in client.get("/forecast/backtest").text

    assert wait_for(shown)
    api = TestClient(web.app).get(
        "/api/v1/backtest", headers={"Authorization": f"Bearer {web.keys['manager']}"}
    )
    assert api.status_code == 200 and api.headers["X-KPI-Current"] == "true"
    kept = kept_backtest(keeper_of(web.app), web.db, months=12, wait=False)
    assert kept is not None  # one computation for both: the page's and the API's
    report = kept.value
    assert isinstance(report, BacktestReport)
    assert datetime.fromisoformat(api.json()["computed_at"]) == report.computed_at


def test_no_activity_count_appears_anywhere(web: WebWorld, sign_in: SignIn) -> None:
    client = sign_in("manager")
    for path in [*KPI_PAGES, f"/reps/{web.reps['rep']}"]:
        text = client.get(path).text.lower()
        for word in ("calls made", "emails sent", "e-mails sent", "activities"):
            assert word not in text, (path, word)


def test_a_form_without_its_csrf_token_is_refused(web: WebWorld, sign_in: SignIn) -> None:
    client = sign_in("ops")
    refused = client.post("/ops/connections/acme/sync", data={})
    assert refused.status_code == 403 and "security token" in refused.text
    forged = client.post("/ops/connections/acme/sync", data={"csrf_token": "guess"})
    assert forged.status_code == 403
    out = client.post("/sign-out")
    assert out.status_code == 403  # signing out is a state change too
    page = client.get("/ops/connections")
    queued = client.post("/ops/connections/acme/sync", data={"csrf_token": csrf_of(page.text)})
    assert queued.status_code == 303 and "queued=acme" in queued.headers["location"]
    assert "A sync of acme is queued" in client.get(queued.headers["location"]).text


def test_sign_out_and_expiry_end_the_session(web: WebWorld, sign_in: SignIn) -> None:
    client = sign_in("manager")
    page = client.get("/")
    assert client.post("/sign-out", data={"csrf_token": csrf_of(page.text)}).status_code == 303
    assert client.get("/").status_code == 303
    codec: SessionCodec = web.app.state.web_sessions
    stale = WebSession(csrf="x", key_id=1, role="admin", issued=time.time() - codec.max_age - 5)
    assert codec.loads(codec.dumps(stale)) is None
    expired = TestClient(web.app, follow_redirects=False, cookies={COOKIE: codec.dumps(stale)})
    assert expired.get("/").status_code == 303


def test_a_typo_in_a_rule_file_is_shown_at_its_line_and_column(
    web: WebWorld, sign_in: SignIn
) -> None:
    client = sign_in("ops")
    page = client.get("/ops/rules")
    assert page.status_code == 200 and "Active on acme: version 1" in page.text
    broken = SALESFORCE_RULES.replace("stream: Event", "stream: Meetings", 1)
    answer = client.post(
        "/ops/rules/validate",
        json={"rules": broken, "connection": "acme"},
        headers={"X-CSRF-Token": csrf_of(page.text)},
    ).json()
    assert answer["ok"] is False
    assert [(e["line"], e["column"]) for e in answer["errors"]] == [(57, 21)]
    without = client.post("/ops/rules/validate", json={"rules": broken})
    assert without.status_code == 403
    form = client.post(
        "/ops/rules/check",
        data={"rules": broken, "connection": "acme", "csrf_token": csrf_of(page.text)},
    )
    assert "Line 57, column 21: unknown stream" in form.text


def test_the_api_docs_render_from_assets_the_app_serves(web: WebWorld) -> None:
    client = TestClient(web.app)
    docs = client.get("/docs").text
    assert "cdn" not in docs.lower()
    assert "/static/docs/swagger-ui-bundle.js" in docs
    asset = client.get("/static/docs/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.content) > 100_000
    assert client.get("/redoc").status_code == 200


def test_the_pipeline_page_shows_what_the_api_answers_for_the_same_filters(
    web: WebWorld, sign_in: SignIn
) -> None:
    import re

    from app.api.deps import kpi_store_of
    from app.web.filters import PageFilters

    client = sign_in("manager")
    page = client.get("/?period=365d").text
    shown = [int(n) for n in re.findall(r'<dd class="big">(\d+)</dd>', page)]
    start, end = PageFilters(period="365d").window(kpi_store_of(web.app).snapshot().as_of)
    api = TestClient(web.app).get(
        "/api/v1/funnel",
        params={"start": start.isoformat(), "end": end.isoformat()},
        headers={"Authorization": f"Bearer {web.keys['manager']}"},
    )
    assert api.status_code == 200, api.text
    answered = [m["reached"] for p in api.json()["processes"] for m in p["milestones"]]
    assert shown == answered and sum(shown) > 0


def test_live_tells_a_page_the_view_generation_and_the_data_age(
    web: WebWorld, sign_in: SignIn
) -> None:
    assert TestClient(web.app).get("/live").status_code == 401
    client = sign_in("rep")
    client.get("/")  # the view is loaded
    state = client.get("/live").json()
    assert state["signed_in"] is True and state["generation"] >= 1
    assert state["data_age_seconds"] is not None
    page = client.get("/").text
    assert f'data-generation="{state["generation"]}"' in page and 'data-live="on"' in page


def test_behind_https_the_cookie_is_secure(web: WebWorld) -> None:
    client = TestClient(web.app, base_url="https://milestones.example", follow_redirects=False)
    token = csrf_of(client.get("/sign-in").text)
    response = client.post("/sign-in", data={"key": web.keys["manager"], "csrf_token": token})
    assert "Secure" in response.headers["set-cookie"]


def test_revoking_the_key_signs_its_web_sessions_out(web: WebWorld, sign_in: SignIn) -> None:
    from app.services.access.api_keys import create_key, revoke_key

    with web.db.session() as session:
        row, key = create_key(session, "short-lived", "manager")
        prefix = row.prefix
    web.keys["short"] = key
    client = sign_in("short")
    assert client.get("/").status_code == 200
    with web.db.session() as session:
        revoke_key(session, prefix)
    assert client.get("/").headers["location"] == "/sign-in?next=/"


def test_targets_of_the_period_show_on_the_pipeline_and_the_reps_own_page(
    web: WebWorld, sign_in: SignIn
) -> None:
    from app.services.kpis.store import KpiStore
    from app.services.targets.periods import Period
    from app.services.targets.public import TargetSet
    from app.services.targets.records import remove_target, set_target

    now = KpiStore(web.db).snapshot().as_of
    quarter = Period.containing("quarter", now).label
    process = "smb_new_business"
    rep, other = web.reps["rep"], web.reps["other_rep"]
    manager = sign_in("manager")
    assert 'class="target"' not in manager.get("/").text  # kept for this generation ...
    with web.db.session() as session:
        made = [
            set_target(session, TargetSet(process=process, period=quarter, amount=250_000))[0],
            set_target(
                session, TargetSet(process=process, period=quarter, amount=40_000, owner=rep)
            )[0],
            set_target(
                session, TargetSet(process=process, period=quarter, amount=30_000, owner=other)
            )[0],
        ]
    try:
        page = manager.get("/").text  # ... yet targets set since show at once
        assert "Targets this period" in page and page.count('class="target"') == 3
        assert "Reached since the period began" in page
        mine = sign_in("rep").get("/").text  # a rep sees their own target only
        assert mine.count('class="target"') == 1 and f"rep {rep}" in mine
        assert f"rep {other}" not in mine
        own_page = sign_in("rep").get("/reps/me", follow_redirects=True).text
        assert own_page.count('class="target"') == 1 and f"rep {rep}" in own_page
    finally:
        with web.db.session() as session:
            for target in made:
                remove_target(session, target.id)


def test_a_manager_sets_and_removes_a_target_on_the_pipeline_page(
    web: WebWorld, sign_in: SignIn
) -> None:
    from app.services.kpis.store import KpiStore
    from app.services.targets.periods import Period

    quarter = Period.containing("quarter", KpiStore(web.db).snapshot().as_of).label
    manager = sign_in("manager")
    page = manager.get("/").text
    assert 'aria-label="Set a target"' in page
    form = {"process": "smb_new_business", "period": quarter, "amount": "90000"}
    refused = manager.post("/targets", data=form, follow_redirects=False)
    assert refused.status_code == 403  # without its CSRF token
    token = csrf_of(page)
    made = manager.post("/targets", data={**form, "csrf_token": token}, follow_redirects=True)
    assert made.status_code == 200 and made.text.count('class="target"') == 1
    wrong = manager.post(
        "/targets", data={**form, "amount": "", "csrf_token": token}, follow_redirects=False
    )
    assert wrong.status_code == 422 and "give either amount or deals" in wrong.text
    rep = sign_in("rep")
    assert (
        rep.post("/targets", data={**form, "csrf_token": csrf_of(rep.get("/").text)}).status_code
        == 403
    )
    target_id = made.text.split('action="/targets/')[1].split("/remove")[0]
    gone = manager.post(
        f"/targets/{target_id}/remove", data={"csrf_token": token}, follow_redirects=True
    )
    assert gone.status_code == 200 and 'class="target"' not in gone.text


def test_the_pages_a_manager_opens_first_are_drawn_ahead_for_each_generation(
    web: WebWorld,
) -> None:
    from app.api.deps import keeper_of, kpi_store_of
    from app.services.kpis.backtest import kept_calibration
    from app.web.filters import PageFilters
    from app.web.views import page_key
    from tests.support.waiting import wait_for

    store = kpi_store_of(web.app)
    store.snapshot()  # loaded: the warmers run as each generation is published
    everyone = PageFilters()

    def drawn() -> bool:
        now = store.snapshot()
        keys = [("pipeline", everyone), ("reps", everyone)]
        if not all(store.remembered(page_key(now, key)) is not None for key in keys):
            return False
        # the forecast with the band calibration kept when the generation was published: the
        # model's own band while the first backtest is computed, or that backtest's
        known, _ = kept_calibration(
            keeper_of(web.app), web.app.state.database, everyone.kpi(), wait=False
        )
        drawn_with = [("forecast", everyone, "being computed"), ("forecast", everyone, *known)]
        return any(store.remembered(page_key(now, key)) is not None for key in drawn_with)

    assert wait_for(drawn)


def test_the_connections_page_shows_the_crms_daily_api_quota(sign_in: SignIn) -> None:
    import re

    page = sign_in("ops").get("/ops/connections").text
    assert "CRM daily API quota" in page
    assert re.search(r"[\d,]+ of [\d,]+ calls used, every client of the CRM included", page)


def test_process_health_shows_what_the_api_answers(web: WebWorld, sign_in: SignIn) -> None:
    from tests.support.waiting import wait_for

    client = sign_in("ops")
    page = client.get("/ops/health")
    assert page.status_code == 200, page.text[:500]
    for heading in ("Drift", "Milestone value", "Candidate milestones"):
        assert f">{heading}</h2>" in page.text
    assert 'href="/ops/health" aria-current="page"' in page.text
    bearer = {"Authorization": f"Bearer {web.keys['ops']}"}
    api = client.get("/api/v1/health/value", headers=bearer).json()
    assert api["milestones"]
    for milestone in api["milestones"]:
        assert f"{milestone['previous_name']} → {milestone['name']}</th>" in page.text
    drift = client.get("/api/v1/health/drift", headers=bearer).json()
    inflow = [s for s in drift["steps"] if s["metric"] == "created"]
    assert inflow and "<td>new deals</td>" in page.text
    assert f"{inflow[0]['baseline']['value']:.1f} a week" in page.text
    process = api["milestones"][0]["process"]
    narrowed = client.get("/ops/health", params={"process": process})
    assert narrowed.status_code == 200
    assert f'data-fragment="/ops/health/candidates?process={process}"' in narrowed.text
    found = client.get("/ops/health/candidates", params={"process": process})
    # computed off the page: the panel says so and asks again until they are ready
    assert found.status_code == 200 and "data-pending" in found.text
    assert "are being computed" in found.text
    assert f'data-fragment="/ops/health/candidates?process={process}"' in found.text

    def ready() -> bool:
        nonlocal found
        found = client.get("/ops/health/candidates", params={"process": process})
        return "data-pending" not in found.text

    assert wait_for(ready)
    assert found.status_code == 200 and "data-fragment-content" in found.text
    scanned = client.get("/api/v1/health/candidates", params={"process": process}, headers=bearer)
    assert f"over {scanned.json()['records_scanned']} records" in found.text
    assert sign_in("manager").get("/ops/health").status_code == 200
    assert sign_in("rep").get("/ops/health").status_code == 403


def test_ops_see_how_the_forecast_would_do_with_a_file_before_activating_it(
    web: WebWorld, sign_in: SignIn
) -> None:
    client = sign_in("ops")
    token = csrf_of(client.get("/ops/rules").text)
    form = {"rules": SALESFORCE_RULES, "connection": "acme", "csrf_token": token}
    preview = client.post("/ops/rules/preview", data=form)
    assert preview.status_code == 200 and 'action="/ops/rules/compare"' in preview.text
    page = client.post("/ops/rules/compare", data=form)
    assert page.status_code == 200, page.text[:500]
    bearer = {"Authorization": f"Bearer {web.keys['ops']}"}
    api = client.post(
        "/api/v1/health/compare",
        json={"rules": SALESFORCE_RULES, "connection": "acme"},
        headers=bearer,
    ).json()
    assert api["verdict"].capitalize() in page.text  # the same comparison as the API's
    assert api["better"] == "same", "the active file against itself"
    scored = [c for c in api["cells"] if c["active_wape"] is not None]
    assert scored, "a backtest to compare"
    for cell in scored:
        assert f"{cell['active_wape']:.3f}" in page.text
    broken = SALESFORCE_RULES.replace("stream: Event", "stream: Meetings", 1)
    rejected = client.post("/ops/rules/compare", data={**form, "rules": broken})
    assert rejected.status_code == 422 and "Line 57, column 21: unknown stream" in rejected.text
    assert sign_in("manager").post("/ops/rules/compare", data=form).status_code == 403
