"""CSRF is enforced on every state-changing request, taken from the URL map."""

from __future__ import annotations

from sqlalchemy import func, select

from survey.extensions import db
from survey.models import AuditEvent, Team
from tests.survey.accounts_helpers import build_access_world, log_in
from tests.survey.test_authorization import url_for_rule


def test_every_post_without_a_token_is_refused_and_changes_nothing(app, client):
    world = build_access_world(app)
    log_in(client, world.emails["admin"])
    with app.app_context():
        events = db.session.scalar(select(func.count()).select_from(AuditEvent))
        teams = db.session.scalar(select(func.count()).select_from(Team))
    posts = [r for r in app.url_map.iter_rules() if "POST" in r.methods]
    assert len(posts) > 10
    for rule in posts:
        response = client.post(url_for_rule(rule, world, "admin"), data={"name": "X"})
        if rule.rule.startswith("/api/"):
            # The JSON API takes bearer tokens, not cookies, so it has no CSRF check: the
            # admin's login cookie is simply not a credential there (#17).
            assert response.status_code == 401, rule.endpoint
            continue
        assert response.status_code == 400, rule.endpoint
        assert "Reload the page" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == events
        assert db.session.scalar(select(func.count()).select_from(Team)) == teams


def test_state_changes_are_never_gets(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[-1] in {
            "logout",
            "submit",
            "start",
            "open_round",
            "close_round",
        }:
            assert "GET" not in rule.methods, rule.endpoint
