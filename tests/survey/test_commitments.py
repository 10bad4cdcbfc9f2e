"""The action plan: commitments recorded on a team's dashboard, shown in the next round (#16)."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader
from sqlalchemy import func, select

from analytics.session_kit import related_blockers
from survey.extensions import db
from survey.models import AuditEvent, Commitment, SurveyRound, Team
from survey.services import commitments, team_reports
from tests.survey.accounts_helpers import build_access_world, log_in
from tests.survey.kit_helpers import (
    add_commitment,
    base_url,
    coach_of_team_one,
    in_a_month,
    post_form,
    released_round,
    text_of,
)
from tests.survey.respond_helpers import csrf_from


def _count(app, **where) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return int(
            db.session.scalar(select(func.count()).select_from(Commitment).filter_by(**where))
        )


def _actions(app) -> list[str]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.action.like("commitment_%"))
                .order_by(AuditEvent.id)
            )
        )


def test_coach_records_a_commitment_on_the_dashboard_and_it_is_audited(app):
    world, client = coach_of_team_one(app)
    base = base_url(world.team_id, world.report_round_id)
    page = text_of(client.get(base).get_data(as_text=True))
    assert "Action plan" in page and "No commitment recorded for this round yet." in page
    assert "not a person's name" in page
    due = in_a_month()
    response = add_commitment(
        client, world.team_id, world.report_round_id, "meso", "account lead", due
    )
    assert response.status_code == 303 and response.headers["Location"].endswith("#action-plan")
    page = text_of(client.get(base).get_data(as_text=True))
    assert "Multiple equivalent simultaneous offers (MESOs) account lead " + due.isoformat() in page
    assert _actions(app) == ["commitment_added"]
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).filter_by(action="commitment_added")).one()
        assert event.target == "Team One / R0" and "owner role account lead" in event.detail
        assert event.actor == world.emails["coach_team"]


def test_a_fourth_commitment_is_refused_with_a_message(app):
    world, client = coach_of_team_one(app)
    for play in ("meso", "logrolling", "objective_criteria"):
        response = add_commitment(
            client, world.team_id, world.report_round_id, play, "bid manager", in_a_month()
        )
        assert response.status_code == 303
    base = base_url(world.team_id, world.report_round_id)
    assert "the most it may" in text_of(client.get(base).get_data(as_text=True))
    refused = add_commitment(
        client, world.team_id, world.report_round_id, "contingent", "bid manager", in_a_month()
    )
    assert refused.status_code == 409
    assert "already has 3 commitments for R0" in text_of(refused.get_data(as_text=True))
    assert _count(app, team_id=world.team_id) == 3
    # the limit is per round: the service refuses a fourth whatever the page shows
    with app.app_context():
        team = db.session.get(Team, world.team_id)
        survey_round = db.session.get(SurveyRound, world.report_round_id)
        data = commitments.CommitmentInput("contingent", "bid manager", in_a_month())
        with pytest.raises(commitments.CommitmentRefused) as refused_error:
            commitments.add_commitment(team, survey_round, data, actor=None, today=date.today())
        assert refused_error.value.status == 409
        db.session.rollback()


def test_the_limit_is_the_framework_files(app, monkeypatch):
    """One fact, one place: the plan's size comes from session_kit.max_commitments."""
    assert commitments.max_commitments() == 3  # the shipped framework file's value
    monkeypatch.setattr(commitments, "max_commitments", lambda: 2)
    world, client = coach_of_team_one(app)
    day = in_a_month()
    for play in ("meso", "logrolling"):
        added = add_commitment(client, world.team_id, world.report_round_id, play, "lead", day)
        assert added.status_code == 303
    base = base_url(world.team_id, world.report_round_id)
    assert "the most it may" in text_of(client.get(base).get_data(as_text=True))
    refused = add_commitment(
        client, world.team_id, world.report_round_id, "contingent", "lead", day
    )
    assert refused.status_code == 409
    assert "already has 2 commitments for R0" in text_of(refused.get_data(as_text=True))


def test_bad_input_gets_a_message_a_4xx_and_keeps_what_was_typed(app):
    world, client = coach_of_team_one(app)
    with app.app_context():  # the round began a month ago
        survey_round = db.session.get(SurveyRound, world.report_round_id)
        survey_round.created_at = survey_round.created_at - timedelta(days=30)
        db.session.commit()
        started = (survey_round.created_at).date()
    today = date.today()
    cases = [
        ("bluffing", "account lead", in_a_month(), "Choose one of the framework's plays"),
        ("", "account lead", in_a_month(), "Choose one of the framework's plays"),
        ("meso", "   ", in_a_month(), "Owner role: say which role owns the commitment"),
        ("meso", "x" * 81, in_a_month(), "at most 80 characters; name a role, not a person"),
        ("meso", "account lead", "", "Due date: give the day the commitment is due"),
        ("meso", "account lead", "next friday", "Due date: give a date such as 2027-03-31."),
        ("meso", "account lead", "10000-01-01", "Due date"),
        ("meso", "account lead", today - timedelta(days=1), "has passed; choose today"),
        ("meso", "account lead", started - timedelta(days=1), "is before the round R0 began"),
        ("meso", "account lead", today + timedelta(days=800), "choose a day within two years"),
        ("meso", "lead\x07", in_a_month(), "control character"),
    ]
    for play, owner, due, message in cases:
        response = add_commitment(client, world.team_id, world.report_round_id, play, owner, due)
        assert response.status_code == 400, (play, owner, due)
        page = response.get_data(as_text=True)
        assert message in text_of(page), (message, text_of(page)[:600])
        if owner.strip() and "\x07" not in owner and len(owner) < 40:
            assert f'value="{owner}"' in page  # nothing typed is lost
    assert _count(app) == 0 and _actions(app) == []


def test_commitments_need_a_csrf_token(app):
    world, client = coach_of_team_one(app)
    base = base_url(world.team_id, world.report_round_id)
    data = {"play": "meso", "owner_role": "account lead", "due_on": in_a_month().isoformat()}
    assert client.post(base + "commitments", data=data).status_code == 400
    assert (
        client.post(base + "commitments", data={**data, "csrf_token": "forged"}).status_code == 400
    )
    assert _count(app) == 0


def test_only_the_teams_coaches_and_the_organizations_admins_may_record(app):
    world = build_access_world(app)
    base = base_url(world.team_id, world.report_round_id)
    anonymous = app.test_client()
    assert anonymous.get(base + "commitments").status_code in (302, 401)
    admin = app.test_client()
    log_in(admin, world.emails["admin"])
    added = add_commitment(
        admin, world.team_id, world.report_round_id, "meso", "account lead", in_a_month()
    )
    assert added.status_code == 303
    with app.app_context():
        commitment_id = db.session.scalars(select(Commitment.id)).one()
    data = {"play": "meso", "owner_role": "x", "due_on": in_a_month().isoformat()}
    for who, status in (("coach_other", 403), ("admin_other", 404)):
        other = app.test_client()
        log_in(other, world.emails[who])
        token = csrf_from(other.get("/coach/"))  # the navigation's log-out form has one
        assert other.get(base + "commitments").status_code == status
        assert other.get(base + f"commitments/{commitment_id}").status_code == status
        for path in (
            base + "commitments",
            base + f"commitments/{commitment_id}",
            base + f"commitments/{commitment_id}/delete",
        ):
            response = other.post(path, data={"csrf_token": token, **data})
            assert response.status_code == status, (who, path)
    assert _count(app) == 1
    with app.app_context():
        saved = db.session.get(Commitment, commitment_id)
        assert saved.owner_role == "account lead"


def test_edit_and_delete_are_audited_and_stay_within_the_team_and_round(app):
    world, client = coach_of_team_one(app)
    base = base_url(world.team_id, world.report_round_id)
    add_commitment(
        client, world.team_id, world.report_round_id, "meso", "account lead", in_a_month()
    )
    with app.app_context():
        commitment_id = db.session.scalars(select(Commitment.id)).one()
    edit = base + f"commitments/{commitment_id}"
    form = client.get(edit)
    assert form.status_code == 200 and 'value="account lead"' in form.get_data(as_text=True)
    later = in_a_month() + timedelta(days=7)
    response = post_form(
        client,
        edit,
        edit,
        {"play": "logrolling", "owner_role": "deal desk lead", "due_on": later.isoformat()},
    )
    assert response.status_code == 303
    unchanged = post_form(
        client,
        edit,
        edit,
        {"play": "logrolling", "owner_role": "deal desk lead", "due_on": later.isoformat()},
    )
    assert unchanged.status_code == 303
    bad = post_form(
        client, edit, edit, {"play": "logrolling", "owner_role": "", "due_on": later.isoformat()}
    )
    assert bad.status_code == 400 and "Owner role" in text_of(bad.get_data(as_text=True))
    with app.app_context():
        saved = db.session.get(Commitment, commitment_id)
        assert (saved.play_id, saved.owner_role, saved.due_on) == (
            "logrolling",
            "deal desk lead",
            later,
        )
    # the same commitment under another round of the team is not found
    assert client.get(
        base_url(world.team_id, world.round_id) + f"commitments/{commitment_id}"
    ).status_code in (404, 409)
    deleted = post_form(client, base, base + f"commitments/{commitment_id}/delete", {})
    assert deleted.status_code == 303 and _count(app) == 0
    assert _actions(app) == ["commitment_added", "commitment_edited", "commitment_deleted"]
    assert client.get(edit).status_code == 404


def test_a_passed_due_date_may_stay_when_the_commitment_is_edited(app):
    world, client = coach_of_team_one(app)
    today = date.today()
    due = today + timedelta(days=1)
    add_commitment(client, world.team_id, world.report_round_id, "meso", "account lead", due)
    with app.app_context():
        commitment = db.session.scalars(select(Commitment)).one()
        later = today + timedelta(days=2)  # the due date has passed by then
        kept = commitments.CommitmentInput("meso", "sales lead", due)
        assert commitments.update_commitment(commitment, kept, actor=None, today=later)
        moved = commitments.CommitmentInput("meso", "sales lead", today)
        with pytest.raises(commitments.CommitmentRefused, match="has passed"):
            commitments.update_commitment(commitment, moved, actor=None, today=later)
        db.session.rollback()


def test_a_team_without_released_results_gets_no_commitments(app):
    world = build_access_world(app)
    client = app.test_client()
    log_in(client, world.emails["admin"])
    base = base_url(world.other_team_id, world.report_round_id)  # Team Two: 2 responses
    page = client.get(base + "commitments")
    assert page.status_code == 409 and "2 of the 5 responses needed" in page.get_data(as_text=True)
    with app.app_context():
        team = db.session.get(Team, world.other_team_id)
        survey_round = db.session.get(SurveyRound, world.round_id)  # open, nothing released
        data = commitments.CommitmentInput("meso", "lead", in_a_month())
        with pytest.raises(commitments.CommitmentRefused, match="no released results") as refused:
            commitments.add_commitment(team, survey_round, data, actor=None, today=date.today())
        assert refused.value.status == 409


def test_the_next_rounds_report_shows_commitments_beside_the_change_in_their_blockers(app):
    world, client = coach_of_team_one(app)
    due = in_a_month()
    add_commitment(client, world.team_id, world.report_round_id, "meso", "account lead", due)
    add_commitment(
        client, world.team_id, world.report_round_id, "objective_criteria", "bid manager", due
    )
    first = text_of(
        client.get(base_url(world.team_id, world.report_round_id)).get_data(as_text=True)
    )
    assert "Commitments from the last round" not in first  # shown in the next round, not this one
    next_id = released_round(app, world.org_id, "R2", {world.team_id: 7}, seed=5, shift=-1)
    page = text_of(client.get(base_url(world.team_id, next_id)).get_data(as_text=True))
    assert "Commitments from the last round" in page
    assert (
        f"Multiple equivalent simultaneous offers (MESOs) · account lead, due {due.isoformat()}"
        in page
    )
    with app.app_context():
        team = db.session.get(Team, world.team_id)
        survey_round = db.session.get(SurveyRound, next_id)
        context = team_reports.team_context(survey_round, team, 5, date.today())
        assert context.change is not None and context.change.previous_round == "R0"
        by_dim = {row.dimension: row for row in context.change.rows}
        assert [f.commitment.play_id for f in context.followups] == ["meso", "objective_criteria"]
        for followup in context.followups:
            assert followup.blockers == related_blockers(followup.commitment.play_id)
            assert followup.commitment.round_label == "R0"
            for blocker, change in zip(followup.blockers, followup.changes, strict=True):
                row = by_dim[blocker]
                # the report's own change between the two released snapshots, not a new one
                assert change is not None and change.change == row.change
                assert (change.ci_low, change.ci_high) == (row.ci_low, row.ci_high)
            assert followup.sentence in page
    pdf = client.get(base_url(world.team_id, next_id) + "report.pdf")
    text = " ".join(
        " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages).split()
    )
    assert "Commitments from the last round" in text and "account lead" in text


def test_a_follow_up_says_not_measured_where_the_change_is_withheld(app):
    from reports.context import ChangeRow, ChangeSinceLast

    world, client = coach_of_team_one(app)
    add_commitment(
        client, world.team_id, world.report_round_id, "meso", "account lead", in_a_month()
    )
    with app.app_context():
        team = db.session.get(Team, world.team_id)
        earlier = db.session.get(SurveyRound, world.report_round_id)
        rows = tuple(
            ChangeRow(b, None, None, None, None, None, 4, 6, True) for b in related_blockers("meso")
        )
        followups = commitments.followups(earlier, team, ChangeSinceLast("R0", rows), {})
        assert len(followups) == 1 and all(c is None for c in followups[0].changes)
        assert "was not measured in both rounds" in followups[0].sentence
        assert commitments.followups(None, team, None) == ()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    play=st.text(max_size=60),
    owner=st.text(max_size=200),
    due=st.one_of(
        st.text(max_size=20),
        st.dates().map(date.isoformat),
        st.sampled_from(["2027-02-30", "0000-00-00", "99999-01-01", "-1", "2027-1-1"]),
    ),
)
def test_no_commitment_input_gives_a_server_error(app, play: str, owner: str, due: str) -> None:
    """Whatever is posted, the answer is a redirect (saved) or a 4xx with a message."""
    if not hasattr(app, "_kit_world"):
        app._kit_world = coach_of_team_one(app)  # type: ignore[attr-defined]
    world, client = app._kit_world  # type: ignore[attr-defined]
    base = base_url(world.team_id, world.report_round_id)
    token = csrf_from(client.get("/coach/"))
    data = {"csrf_token": token, "play": play, "owner_role": owner, "due_on": due}
    response = client.post(base + "commitments", data=data)
    assert response.status_code in (303, 400, 409), response.status_code
    if response.status_code == 303:
        with app.app_context():
            db.session.execute(db.delete(Commitment))  # keep room under the limit
            db.session.commit()


def test_a_round_where_the_team_was_not_released_is_skipped_by_the_follow_up(app):
    """R0 (released) -> "Small" (3 answers, never released) -> R2: R2 follows up R0's
    commitments, beside the change since R0."""
    world, client = coach_of_team_one(app)
    add_commitment(
        client, world.team_id, world.report_round_id, "meso", "account lead", in_a_month()
    )
    released_round(app, world.org_id, "Small", {world.team_id: 3}, seed=3)
    later = released_round(app, world.org_id, "R2", {world.team_id: 6}, seed=4)
    with app.app_context():
        team = db.session.get(Team, world.team_id)
        survey_round = db.session.get(SurveyRound, later)
        context = team_reports.team_context(survey_round, team, 5, date.today())
    assert context.change is not None and context.change.previous_round == "R0"
    assert [f.commitment.round_label for f in context.followups] == ["R0"]
