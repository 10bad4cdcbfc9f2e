"""The facilitator agenda page and the deal worksheet (page and PDF) (#16)."""

from __future__ import annotations

import io
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader
from sqlalchemy import select

from analytics.kit_schema import load_kit
from survey.extensions import db
from survey.models import AuditEvent, Disclosure, SurveyRound, Team
from survey.services import counterparties, team_reports
from tests.survey.accounts_helpers import log_in
from tests.survey.counterparty_helpers import build_world, rate
from tests.survey.kit_helpers import (
    add_commitment,
    base_url,
    coach_of_team_one,
    in_a_month,
    text_of,
)


def _pdf_text(data: bytes) -> str:
    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages).split())


def _context(app, team_id: int, round_id: int):  # type: ignore[no-untyped-def]
    with app.app_context():
        team = db.session.get(Team, team_id)
        survey_round = db.session.get(SurveyRound, round_id)
        return team_reports.team_context(survey_round, team, 5, date.today())


def test_the_agenda_page_shows_the_reports_agenda_built_from_the_dashboards_diagnosis(app):
    world, client = coach_of_team_one(app)
    add_commitment(
        client, world.team_id, world.report_round_id, "logrolling", "bid manager", in_a_month()
    )
    url = base_url(world.team_id, world.report_round_id) + "agenda"
    response = client.get(url)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    page = text_of(html)
    context = _context(app, world.team_id, world.report_round_id)
    agenda = context.agenda
    assert agenda is not None and 60 <= agenda.total_minutes <= 90
    assert f"{agenda.total_minutes} minutes" in page and "negoscope.css" in html
    for item in agenda.items:
        assert item.title in page and item.purpose in page
        for step in item.steps:
            assert step in page
    # the diagnosis the dashboard uses names the blockers (no second computation)
    focus = [i.ref for i in agenda.items if i.kind == "blocker"]
    assert tuple(focus) == context.diagnosis.top_blockers[: load_kit().session_kit.max_blockers]
    assert "Review: Logrolling (trading across issues), owned by the bid manager" in page
    dashboard = client.get(base_url(world.team_id, world.report_round_id)).get_data(as_text=True)
    assert url in dashboard
    pdf = client.get(base_url(world.team_id, world.report_round_id) + "report.pdf")
    text = _pdf_text(pdf.data)
    assert "Session agenda for the coach" in text and agenda.items[0].title in text


def test_agenda_and_worksheet_are_for_the_teams_coaches_and_admins_only(app):
    world = build_world(app, open_round=False)
    base = base_url(world.team_id, world.self_round_id)
    for who, status in (("coach_other", 403), ("admin_other", 404)):
        client = app.test_client()
        log_in(client, world.emails[who])
        assert client.get(base + "agenda").status_code == status
        assert (
            client.get(base + f"worksheet?counterparty={world.counterparty_id}").status_code
            == status
        )
        assert (
            client.get(base + f"worksheet.pdf?counterparty={world.counterparty_id}").status_code
            == status
        )
    anonymous = app.test_client()
    assert anonymous.get(base + "agenda").status_code in (302, 401)
    admin = app.test_client()
    log_in(admin, world.emails["admin"])
    assert admin.get(base + "agenda").status_code == 200
    small = base_url(world.other_team_id, world.self_round_id)  # Team Two: 2 responses
    refused = admin.get(small + "agenda")
    assert refused.status_code == 409 and "2 of the 5 responses needed" in refused.get_data(
        as_text=True
    )
    assert (
        admin.get(small + f"worksheet.pdf?counterparty={world.counterparty_id}").status_code == 409
    )


def test_the_worksheet_page_and_pdf_word_the_same_worksheet(app):
    world = build_world(app, open_round=False)
    client = app.test_client()
    log_in(client, world.emails["coach_team"])
    base = base_url(world.team_id, world.self_round_id)
    chooser = client.get(base + "worksheet")
    assert chooser.status_code == 200 and "Globex" in chooser.get_data(as_text=True)
    page = client.get(base + f"worksheet?counterparty={world.counterparty_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'value="Renewal 2027"' in html  # the counterparty's deal
    shown = text_of(html)
    assert "Pre-negotiation worksheet: Renewal 2027" in shown
    assert "What does success mean for us in Renewal 2027, beyond price?" in shown
    no_rating = load_kit().worksheet.no_rating
    assert no_rating in shown  # no released rating of Globex yet
    pdf = client.get(base + f"worksheet.pdf?counterparty={world.counterparty_id}&deal=Renewal+2027")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert "attachment" in pdf.headers["Content-Disposition"]
    text = _pdf_text(pdf.data)
    for question in load_kit().worksheet.questions.values():
        wording = question.format(deal="Renewal 2027")
        assert wording in shown and wording in text
    assert no_rating in text
    with app.app_context():
        event = db.session.scalars(
            select(AuditEvent).filter_by(action="worksheet_downloaded")
        ).one()
        assert event.target == "Team One / R0" and "Renewal 2027" in event.detail
        kinds = db.session.scalars(select(Disclosure.kind).filter_by(round_id=world.self_round_id))
        assert "report" in list(kinds)
    renamed = client.get(base + f"worksheet?counterparty={world.counterparty_id}&deal=Pilot+2026")
    assert "What does success mean for us in Pilot 2026, beyond price?" in text_of(
        renamed.get_data(as_text=True)
    )


def test_with_a_released_rating_the_worksheet_has_prompts_about_their_side(app):
    world = build_world(app)
    for token in world.tokens[:5]:
        rate(app, token, "5")  # five raters agree: their side shows every blocker
    client = app.test_client()
    log_in(client, world.emails["coach_team"])
    base = base_url(world.team_id, world.self_round_id)
    shown = text_of(
        client.get(base + f"worksheet?counterparty={world.counterparty_id}").get_data(as_text=True)
    )
    kit = load_kit()
    assert kit.worksheet.no_rating not in shown
    their_lines = [line for lines in kit.worksheet.them.values() for line in lines.values()]
    assert any(line in shown for line in their_lines)
    text = _pdf_text(client.get(base + f"worksheet.pdf?counterparty={world.counterparty_id}").data)
    assert [line for line in their_lines if line in shown] == [
        line for line in their_lines if line in shown and line in text
    ]
    agenda = text_of(client.get(base + "agenda").get_data(as_text=True))
    context = _context(app, world.team_id, world.self_round_id)
    assert context.counterparty is not None and context.agenda is not None
    for item in context.agenda.items:
        assert item.title in agenda


def test_bad_worksheet_requests_get_a_message_and_a_400(app):
    world = build_world(app, open_round=False)
    with app.app_context():
        other = db.session.get(Team, world.team_id).organization
        bare = counterparties.create_counterparty(
            other, name="Initech", kind="supplier", actor=None
        )
        from survey.models import Organization

        elsewhere = counterparties.create_counterparty(
            db.session.get(Organization, world.other_org_id),
            name="Hooli",
            kind="partner",
            actor=None,
        )
        db.session.commit()
        bare_id, elsewhere_id = bare.id, elsewhere.id
    client = app.test_client()
    log_in(client, world.emails["coach_team"])
    base = base_url(world.team_id, world.self_round_id)
    cases = [
        (f"counterparty={elsewhere_id}", "Choose one of your organization's counterparties."),
        ("counterparty=abc", "Choose one of your organization's counterparties."),
        ("counterparty=999999", "Choose one of your organization's counterparties."),
        (
            f"counterparty={bare_id}",
            "Name the deal to prepare: Initech has no deal name on record.",
        ),
        (
            f"counterparty={world.counterparty_id}&deal=" + "x" * 201,
            "Deal name: at most 200 characters.",
        ),
        (f"counterparty={world.counterparty_id}&deal=a%07b", "Deal name"),
    ]
    for query, message in cases:
        for page in ("worksheet", "worksheet.pdf"):
            response = client.get(base + f"{page}?{query}")
            assert response.status_code == 400, (page, query)
            assert message in text_of(response.get_data(as_text=True)), (page, query)
    with app.app_context():
        assert (
            db.session.scalars(select(AuditEvent).filter_by(action="worksheet_downloaded")).all()
            == []
        )
    ok = client.get(base + f"worksheet.pdf?counterparty={bare_id}&deal=Office+supplies")
    assert ok.status_code == 200 and "Office supplies" in _pdf_text(ok.data)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    counterparty=st.one_of(st.text(max_size=12), st.integers().map(str)),
    deal=st.text(max_size=250),
    pdf=st.booleans(),
)
def test_no_worksheet_query_gives_a_server_error(app, counterparty: str, deal: str, pdf: bool):
    """Whatever the query string holds, the answer is the worksheet or a 4xx with a message."""
    if not hasattr(app, "_kit_world"):
        app._kit_world = coach_of_team_one(app)  # type: ignore[attr-defined]
    world, client = app._kit_world  # type: ignore[attr-defined]
    base = base_url(world.team_id, world.report_round_id)
    page = "worksheet.pdf" if pdf else "worksheet"
    response = client.get(base + page, query_string={"counterparty": counterparty, "deal": deal})
    assert response.status_code in (200, 400), response.status_code
