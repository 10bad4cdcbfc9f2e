"""The authorization matrix: every route, tried by every kind of visitor."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask

from tests.conftest import make_app
from tests.survey.accounts_helpers import build_access_world, log_in

PRINCIPALS = ["anonymous", "respondent", "coach_other", "coach_team", "admin_other", "admin"]
PUBLIC = {"system.healthz", "system.readyz", "auth.login", "static"}
RESPONDENT = {
    e for e in ("open_invitation", "landing", "start", "page", "review", "submit", "thanks")
}
# Team-scoped pages a coach of the team may see; everything else under admin is admin-only.
COACH_OF_TEAM: set[str] = set()
# Session kit routes (#16) tried with no form and no commitment: the team's coach gets a
# message (400) or "no such commitment" (404); everyone else is refused as on any coach page.
KIT_FORMS = {
    "coach.add_commitment": {400},
    "coach.edit_commitment": {404},
    "coach.delete_commitment": {404},
    "coach.worksheet_pdf": {400},
}
LOGGED_IN_ANY = {"coach.index", "auth.change_password", "auth.logout", "home.index"}
# Set-password links and the forgotten-password form, open to anyone: a link is traded
# for the session (303), the form without a link in the session is not found (404).
PASSWORD_LINKS = {
    "auth.open_link": {303},
    "auth.set_password": {404},
    "auth.forgot_password": {200, 400},
    # Single sign-on, open to anyone: the empty form is refused (400) or, logged in, sends
    # home (302); no organization of this world has a provider, so callbacks find none.
    "auth.sso_start": {302, 400},
    "auth.sso_callback": {404},
}


@pytest.fixture
def matrix_app(database_url: str, tmp_path: Path) -> Flask:
    return make_app(database_url, tmp_path, WTF_CSRF_ENABLED=False)


def url_for_rule(rule, world, principal: str) -> str:  # type: ignore[no-untyped-def]
    values = {
        "org_id": world.org_id,
        "team_id": world.team_id,
        "round_id": world.report_round_id if rule.endpoint.startswith("coach.") else world.round_id,
        "invitation_id": world.invitation_id,
        "user_id": world.coach_id,
        "participant_id": world.participant_id,
        "instrument_id": 1,
        "counterparty_id": 1,
        "commitment_id": 1,
        "number": 1,
        # The token is the respondent's credential: others try one that does not exist.
        "token": world.token if principal == "respondent" else "no-such-invitation-token-here",
        "filename": "docs.js" if rule.endpoint == "api_docs.static" else "negoscope.css",
        "token_id": 1,
        "endpoint_id": 1,
        "job_id": 1,
        "member_id": world.participant_id,
        "name": "swagger-ui.css",
        "kind": "blockers" if rule.endpoint == "coach.chart" else "reminders",
    }
    missing = set(rule.arguments) - set(values)
    assert not missing, f"teach the matrix test the argument(s) {missing} of {rule.endpoint}"
    url = rule.rule
    for name in rule.arguments:
        url = url.replace(f"<int:{name}>", str(values[name])).replace(
            f"<{name}>", str(values[name])
        )
        url = url.replace(f"<path:{name}>", str(values[name]))
        url = re.sub(rf"<any\([^)]*\):{name}>", str(values[name]), url)
    return url


#: Pages of a counterparty, or of a counterparty round, which the access world does not
#: have (counterparty 1, the coach's round R0): 404 for those who may look, the usual
#: refusal for everyone else (#16; tests/survey/test_counterparties.py has them with data).
NOT_IN_WORLD = {
    "coach.edit_counterparty",
    "coach.delete_counterparty",
    "coach.gap",
    "coach.gap_chart",
    "admin.edit_counterparty",
    "admin.delete_counterparty",
    # Job 1 does not exist in the access world (#17; tests/survey/test_jobs.py has jobs).
    "admin.job_status",
    "admin.job_download",
    # No webhook endpoint in the access world (#17; tests/api/test_webhooks.py has them).
    "admin.webhook_deliveries",
}

#: The JSON API (#17) takes bearer tokens only: a login cookie, whoever's, gets 401
#: (tests/api has the token matrix). Its document and docs page are public.
API_BLUEPRINTS = {"teams", "rounds", "results", "exports"}
API_PUBLIC = {"api-docs.openapi_json", "api_docs.page", "api_docs.asset", "api_docs.static"}

#: Coach pages that take a form: posted empty, the form is refused (#16).
COACH_FORMS = {"coach.create_counterparty", "coach.open_counterparty_round"}


def expected(endpoint: str, principal: str) -> set[int]:
    """The allowed status codes for one endpoint and one principal."""
    if endpoint == "auth.login":
        return {200, 302, 400}  # 400: the empty login form; 302: already logged in
    if endpoint == "language":
        return {302}  # the language picker, open to anyone: back to a page of this site
    if endpoint in PUBLIC or endpoint in API_PUBLIC:
        return {200}
    if endpoint in PASSWORD_LINKS:
        return PASSWORD_LINKS[endpoint]
    blueprint, _, view = endpoint.partition(".")
    if blueprint in API_BLUEPRINTS:
        return {401}
    if blueprint == "respond":
        return {200, 302, 400} if principal == "respondent" else {404}
    if principal in ("anonymous", "respondent"):
        return {302}  # to the login page
    if endpoint in LOGGED_IN_ANY:
        return {200, 302, 303, 400}
    if (
        endpoint in NOT_IN_WORLD
        and principal in ("coach_team", "admin")
        and not (blueprint == "admin" and principal == "coach_team")
    ):
        return {404}
    if endpoint in COACH_FORMS and principal in ("coach_team", "admin"):
        return {200, 400}  # 400: the empty form
    if blueprint == "coach":  # a team's dashboard, charts and report
        if principal in ("coach_team", "admin"):
            return KIT_FORMS.get(endpoint, {200})
        return {404} if principal == "admin_other" else {403}
    if blueprint == "admin":
        if principal == "admin":
            # 409: an action the round's state refuses (opening an open round)
            return {200, 303, 400, 409} if view != "index" else {302, 200}
        if principal == "admin_other":
            return {404} if view != "index" else {302, 200}
        if endpoint in COACH_OF_TEAM and principal == "coach_team":
            return {200}
        return {403}
    raise AssertionError(f"no rule in the matrix for {endpoint}: add it")


@pytest.mark.parametrize("principal", PRINCIPALS)
def test_every_route_answers_each_principal_correctly(matrix_app: Flask, principal: str):
    world = build_access_world(matrix_app)
    client = matrix_app.test_client()
    if principal == "respondent":
        client.get(f"/s/{world.token}")
    elif principal != "anonymous":
        log_in(client, world.emails[principal])
    failures = []
    rules = sorted(matrix_app.url_map.iter_rules(), key=lambda r: r.rule)
    for rule in rules:
        if rule.endpoint == "auth.logout":
            continue  # tried last: it ends the session the other checks need
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            url = url_for_rule(rule, world, principal)
            response = client.open(url, method=method)
            allowed = expected(rule.endpoint, principal)
            if response.status_code not in allowed:
                failures.append(
                    f"{method} {url} ({rule.endpoint}): {response.status_code}, want {allowed}"
                )
            if (
                response.status_code == 302
                and principal in ("anonymous", "respondent")
                and rule.endpoint not in (*PUBLIC, "language")
                and not rule.endpoint.startswith("respond.")
            ) and "/login" not in response.headers["Location"]:
                failures.append(f"{method} {url}: redirected to {response.headers['Location']}")
    assert not failures, "\n".join(failures)


def test_admin_of_another_org_sees_nothing_of_it(matrix_app: Flask):
    world = build_access_world(matrix_app)
    client = matrix_app.test_client()
    log_in(client, world.emails["admin_other"])
    page = client.get("/admin/", follow_redirects=True).get_data(as_text=True)
    assert "Org B" in page and "Org A" not in page and "Team One" not in page


def test_coach_home_lists_only_their_teams(matrix_app: Flask):
    world = build_access_world(matrix_app)
    client = matrix_app.test_client()
    log_in(client, world.emails["coach_team"])
    page = client.get("/coach/").get_data(as_text=True)
    assert "Team One" in page and "Team Two" not in page
    assert "0 of 1" in page  # completion counts only; no names of who answered
    assert "Pat" not in page
