"""`negoscope erase-participant` and the admin erase button."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import (
    Answer,
    AuditEvent,
    ContextAnswer,
    Invitation,
    Participant,
    Response,
    SurveyRound,
)
from survey.services import rounds
from tests.conftest import make_app
from tests.survey.accounts_helpers import log_in
from tests.survey.respond_helpers import csrf_from
from tests.survey.test_export import build_export_world, cli, read_csv_zip, run_export


@pytest.fixture
def lite(tmp_path: Path) -> Iterator[Flask]:
    """The app on SQLite only, for behaviour that does not depend on the database."""
    application = make_app(f"sqlite:///{tmp_path / 'lite.sqlite3'}", tmp_path)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def _erase(app, email: str, org: str = "Export Org"):  # type: ignore[no-untyped-def]
    return cli(app).invoke(args=["erase-participant", email, "--org", org, "--yes"])


def _add_draft(app, world, index: int) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    """A draft of member ``index`` in a second, open confidential round; (response id, token)."""
    from survey.dbtypes import utcnow

    with app.app_context():
        first = db.session.get(SurveyRound, world.round_id)
        person = db.session.get(Participant, world.participant_ids[index])
        second = rounds.create_round(
            first.organization, "Autumn", first.instrument, [person.team], status="open",
            closes_at=utcnow() + timedelta(days=5),
        )  # fmt: skip
        invitation, token = rounds.issue_invitation(second, person, utcnow(), timedelta(days=9))
        draft = Response(
            round_id=second.id,
            team_id=person.team_id,
            instrument_id=first.instrument_id,
            invitation_id=invitation.id,
            status="draft",
        )
        db.session.add(draft)
        db.session.flush()
        db.session.add(Answer(response_id=draft.id, item_id="TR1", value=3))
        db.session.add(ContextAnswer(response_id=draft.id, question_id="role", value="sales"))
        db.session.commit()
        return draft.id, token


def test_erasure_in_a_confidential_round_removes_identity_answers_and_links(app, client):
    world = build_export_world(app)
    draft_id, draft_token = _add_draft(app, world, 0)
    person_id = world.participant_ids[0]
    with app.app_context():
        submitted = db.session.scalar(
            select(Response.id)
            .join(Invitation, Invitation.id == Response.invitation_id)
            .where(Invitation.participant_id == person_id, Response.status == "submitted")
        )
        assert submitted is not None
        total = db.session.scalar(select(func.count()).select_from(Response))
    result = _erase(app, world.emails[0].upper())
    assert result.exit_code == 0, result.output
    assert "Erased 1 participant" in result.output
    assert "Deleted 1 submitted response(s) and 1 draft(s) in 2 confidential round(s)" in (
        result.output
    )
    with app.app_context():
        person = db.session.get(Participant, person_id)
        assert person.name is None and person.email is None and person.erased_at is not None
        assert db.session.get(Response, submitted) is None
        assert db.session.get(Response, draft_id) is None
        for response_id in (submitted, draft_id):
            for model in (Answer, ContextAnswer):
                assert not db.session.scalars(
                    select(model).where(model.response_id == response_id)
                ).all()
        assert db.session.scalar(select(func.count()).select_from(Response)) == total - 2
        invitations = db.session.scalars(
            select(Invitation).where(Invitation.participant_id == person_id)
        ).all()
        assert len(invitations) == 2 and all(i.revoked_at is not None for i in invitations)
        assert world.token_hashes[0] not in {i.token_hash for i in invitations}
        events = db.session.scalars(select(AuditEvent)).all()
        erased = [e for e in events if e.action == "participant_erased"]
        assert len(erased) == 1 and erased[0].actor == "cli"
        assert f"#{person_id}" in erased[0].target and "1 participant" in erased[0].target
        for event in events:
            text = f"{event.target} {event.detail}".lower()
            assert world.emails[0] not in text and world.people[0].lower() not in text
    for token in (world.tokens[0], draft_token):
        assert client.get(f"/s/{token}").status_code not in (200, 302)


def test_erasure_in_an_anonymous_round_says_there_is_nothing_to_link(lite):
    world = build_export_world(lite, mode="anonymous")
    with lite.app_context():
        before = db.session.scalar(select(func.count()).select_from(Response))
    result = _erase(lite, world.emails[3])
    assert result.exit_code == 0, result.output
    assert "1 anonymous round(s)" in result.output and "nothing to link" in result.output
    assert "No answers in confidential rounds are linked" in result.output
    with lite.app_context():
        assert db.session.scalar(select(func.count()).select_from(Response)) == before
        person = db.session.get(Participant, world.participant_ids[3])
        assert person.erased_at is not None and person.email is None


def test_unknown_email_and_organization_are_reported(lite):
    build_export_world(lite)
    missing = _erase(lite, "nobody@people.example")
    assert missing.exit_code != 0 and "No member with that email" in missing.output
    wrong_org = _erase(lite, "nobody@people.example", org="Nope")
    assert wrong_org.exit_code != 0 and "No organization called 'Nope'" in wrong_org.output


def test_the_command_asks_before_erasing(lite):
    world = build_export_world(lite)
    answer_no = cli(lite).invoke(
        args=["erase-participant", world.emails[0], "--org", "Export Org"], input="n\n"
    )
    assert answer_no.exit_code != 0 and "This erases 1 participant" in answer_no.output
    with lite.app_context():
        assert db.session.get(Participant, world.participant_ids[0]).email == world.emails[0]


def test_a_later_export_leaves_the_erased_person_out(lite, tmp_path):
    """After an erasure the person's team is withheld until its next release.

    Exporting the team one row short would show, by comparison with the earlier
    export, which row was the erased person's.
    """
    world = build_export_world(lite)
    run_export(lite, world, tmp_path / "before.zip", "csv")
    assert _erase(lite, world.emails[0]).exit_code == 0
    run_export(lite, world, tmp_path / "after.zip", "csv")
    before, _, _ = read_csv_zip(tmp_path / "before.zip")
    after, _, manifest = read_csv_zip(tmp_path / "after.zip")
    # Alpha (14), the second team (9) and Gamma (7) are released; Delta (3) never is.
    assert len(before) == 30
    assert len(after) == 16 and manifest["snapshot"]["teams_withheld"] == 1
    assert not set(before["respondent_id"]) & set(after["respondent_id"])


def test_admin_erases_from_the_web_after_confirming(app, client):
    world = build_export_world(app)
    person_id = world.participant_ids[1]
    url = f"/admin/{world.org_id}/participants/{person_id}/erase"
    log_in(client, world.admin_email)
    page = client.get(url)
    assert page.status_code == 200
    assert world.people[1] in page.get_data(as_text=True)
    assert "1 submitted response(s)" in page.get_data(as_text=True)
    token = csrf_from(page)
    unconfirmed = client.post(url, data={"csrf_token": token})
    assert unconfirmed.status_code == 400
    with app.app_context():
        assert db.session.get(Participant, person_id).erased_at is None
    done = client.post(url, data={"csrf_token": token, "confirm": "y"})
    assert done.status_code == 303 and "/teams/" in done.headers["Location"]
    with app.app_context():
        person = db.session.get(Participant, person_id)
        assert person.erased_at is not None and person.name is None
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "participant_erased")
        ).one()
        assert event.actor == world.admin_email and world.emails[1] not in event.detail
    again = client.post(url, data={"csrf_token": token, "confirm": "y"})
    assert again.status_code == 303
    assert "already been erased" in client.get(url).get_data(as_text=True)


def test_erasing_is_admin_only_and_stays_in_the_organization(lite):
    world = build_export_world(lite)
    other = build_export_world(lite, org_name="Other Org", teams={"X": 5})
    url = f"/admin/{world.org_id}/participants/{world.participant_ids[0]}/erase"
    coach = lite.test_client()
    log_in(coach, world.coach_email)
    assert coach.get(url).status_code == 403
    stranger = lite.test_client()
    log_in(stranger, other.admin_email)
    assert stranger.get(url).status_code == 404
    admin = lite.test_client()
    log_in(admin, world.admin_email)
    foreign = f"/admin/{world.org_id}/participants/{other.participant_ids[0]}/erase"
    assert admin.get(foreign).status_code == 404
    assert admin.get(f"/admin/{world.org_id}/participants/999999/erase").status_code == 404
