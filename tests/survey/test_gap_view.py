"""The coach's gap view: suppression, content, release stability (an attack), ledger, PDF."""

from __future__ import annotations

import io
import re

from pypdf import PdfReader
from sqlalchemy import select

from survey.extensions import db
from survey.models import Disclosure
from tests.survey.counterparty_helpers import build_world, logged_in, rate


def _figures(html: str) -> str:
    """The page's figures: everything from the findings to the method section."""
    start, end = html.index("What the comparison finds"), html.index("How agreement is measured")
    return html[start:end]


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_below_the_threshold_the_page_says_how_many_ratings_and_shows_no_figure(app):
    world = build_world(app)
    for token in world.tokens[:4]:
        rate(app, token, "4")
    client = logged_in(app, world.emails["coach_team"])
    base = f"/coach/teams/{world.team_id}/rounds/{world.round_id}/"
    page = client.get(base + "gap/")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Not enough ratings yet (4 of 5)" in text
    assert "<img" not in text and "What the comparison finds" not in text
    assert not re.search(r"\d\.\d \(", text)  # no mean with an interval anywhere
    assert client.get(base + "gap.svg").status_code == 404
    report = client.get(f"/coach/teams/{world.team_id}/rounds/{world.self_round_id}/report.pdf")
    assert report.status_code == 200 and "Us and Globex" not in _pdf_text(report.data)
    with app.app_context():
        assert db.session.scalar(select(Disclosure).filter_by(round_id=world.round_id)) is None


def test_the_gap_page_pairs_the_teams_profile_with_its_rating_and_records_both(app):
    world = build_world(app)
    for token in world.tokens[:5]:
        rate(app, token, "4")
    client = logged_in(app, world.emails["coach_team"])
    base = f"/coach/teams/{world.team_id}/rounds/{world.round_id}/"
    text = client.get(base + "gap/").get_data(as_text=True)
    assert "Us and Globex" in text and "how 5 members of your team rated Globex" in text
    assert "a customer; deal: Renewal 2027" in text
    assert "The team's own profile comes from R0." in text
    for blocker in ("Guarded information", "Deadline pressure", "Fixed-pie thinking"):
        assert blocker in text
    assert "Plays that fit the pair" in text and "Agreement about them" in text
    assert "sees the other side in much the same way" in text  # everyone rated alike
    assert base + "gap.svg" in text
    chart = client.get(base + "gap.svg")
    assert chart.status_code == 200 and chart.mimetype == "image/svg+xml"
    assert b"Globex" in chart.data and b"<script" not in chart.data
    with app.app_context():
        entries = db.session.scalars(select(Disclosure).where(Disclosure.kind == "dashboard")).all()
        shown = {(e.round_id, e.group_name, e.n) for e in entries}
    assert (world.round_id, "Team One", 5) in shown
    assert (world.self_round_id, "Team One", 6) in shown
    home = client.get("/coach/").get_data(as_text=True)
    assert base + "gap/" in home and f"/coach/teams/{world.team_id}/counterparties/" in home


def test_one_more_rating_changes_no_figure_until_the_next_release(app):
    """The differencing attack: compare the views before and after one more rating."""
    world = build_world(app)
    for token in world.tokens[:5]:
        rate(app, token, "4")
    client = logged_in(app, world.emails["coach_team"])
    base = f"/coach/teams/{world.team_id}/rounds/{world.round_id}/"
    report_url = f"/coach/teams/{world.team_id}/rounds/{world.self_round_id}/report.pdf"
    before = _figures(client.get(base + "gap/").get_data(as_text=True))
    chart_before = client.get(base + "gap.svg").data
    pdf_before = _pdf_text(client.get(report_url).data)
    for index in (5, 6):  # two more ratings, far from the others: fewer than the step of 3
        rate(app, world.tokens[index], "1")
        page = client.get(base + "gap/").get_data(as_text=True)
        assert _figures(page) == before
        assert "how 5 members of your team rated Globex" in page
        assert client.get(base + "gap.svg").data == chart_before
        assert _pdf_text(client.get(report_url).data) == pdf_before
    rate(app, world.tokens[7], "1")  # the third change: a new release of all 8
    after = client.get(base + "gap/").get_data(as_text=True)
    assert "how 8 members of your team rated Globex" in after
    assert _figures(after) != before
    assert client.get(base + "gap.svg").data != chart_before


def test_the_team_report_carries_the_counterparty_page_and_records_it(app):
    world = build_world(app)
    for token in world.tokens[:5]:
        rate(app, token, "4")
    client = logged_in(app, world.emails["coach_team"])
    response = client.get(f"/coach/teams/{world.team_id}/rounds/{world.self_round_id}/report.pdf")
    assert response.status_code == 200
    text = _pdf_text(response.data)
    assert "Us and Globex" in text and "Renewal 2027" in text
    with app.app_context():
        kinds = {
            (e.round_id, e.kind)
            for e in db.session.scalars(select(Disclosure).where(Disclosure.kind == "report"))
        }
    assert kinds == {(world.round_id, "report"), (world.self_round_id, "report")}


def test_the_gap_page_is_only_for_the_teams_coaches_and_admins(app):
    world = build_world(app)
    for token in world.tokens[:5]:
        rate(app, token, "4")
    base = f"/coach/teams/{world.team_id}/rounds/{world.round_id}/"
    for who, status in (("admin", 200), ("coach_other", 403), ("admin_other", 404)):
        client = logged_in(app, world.emails[who])
        assert client.get(base + "gap/").status_code == status, who
        assert client.get(base + "gap.svg").status_code == status, who
    respondent = app.test_client()
    assert respondent.get(f"/s/{world.tokens[0]}").status_code == 302  # a respondent session
    assert respondent.get(base + "gap/").status_code == 302  # to the login page
    coach = logged_in(app, world.emails["coach_team"])
    self_round_gap = f"/coach/teams/{world.team_id}/rounds/{world.self_round_id}/gap/"
    assert coach.get(self_round_gap).status_code == 404  # not a counterparty round
