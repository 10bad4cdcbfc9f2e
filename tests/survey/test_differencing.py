"""The differencing attacks of issue #13, replayed through the web app and the CLI.

Each attack compares two views the tool allows (before and after one
submission, before and after an erasure, a team before and after members of a
small team answer) and must learn nothing about one person: the published
figures do not move until a release, and a release moves by at least
RELEASE_STEP responses.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from analytics.instrument_parser import load_default_instrument
from survey.database import begin_write
from survey.dbtypes import utcnow
from survey.extensions import db
from survey.models import Disclosure, Participant, SurveyRound, TeamRelease
from survey.services import accounts, erasure, organizations, rounds
from survey.services.instruments import store_instrument
from tests.survey.accounts_helpers import PASSWORD, log_in
from tests.survey.respond_helpers import answer_everything, submit


class World:
    """One open round: Team A (10 invited), Team B (2 invited), a coach of A, an admin."""

    def __init__(self, app: Flask, mode: str = "confidential") -> None:
        self.app = app
        with app.app_context():
            instrument_row, _ = store_instrument(load_default_instrument())
            org, _ = organizations.get_or_create_organization("Acme")
            team_a = organizations.create_team(org, "Team A")
            team_b = organizations.create_team(org, "Team B")
            survey_round = rounds.create_round(
                org, "Spring", instrument_row, [team_a, team_b], mode=mode, status="open",
                opens_at=utcnow() - timedelta(days=1), closes_at=utcnow() + timedelta(days=9),
            )  # fmt: skip
            self.tokens: dict[str, list[str]] = {"A": [], "B": []}
            self.people: dict[str, list[int]] = {"A": [], "B": []}
            for key, team, size in (("A", team_a, 10), ("B", team_b, 2)):
                for index in range(size):
                    person = organizations.add_participant(
                        team, name=f"{key} member {index}", email=f"{key}{index}@acme.example"
                    )
                    _, token = rounds.issue_invitation(
                        survey_round, person, utcnow(), timedelta(days=30)
                    )
                    self.tokens[key].append(token)
                    self.people[key].append(person.id)
            coach = accounts.create_user("coach@acme.example", PASSWORD)
            accounts.set_role(coach, org, "coach")
            accounts.assign_coach(coach, team_a)
            admin = accounts.create_user("admin@acme.example", PASSWORD)
            accounts.set_role(admin, org, "admin")
            db.session.commit()
            self.org_id, self.round_id, self.team_a = org.id, survey_round.id, team_a.id
        self.answered = {"A": 0, "B": 0}

    def answer(self, key: str, value: str) -> None:
        """The next member of the team answers every item with ``value`` and submits."""
        client = self.app.test_client()
        answer_everything(client, self.tokens[key][self.answered[key]], value)
        assert submit(client).status_code == 302
        self.answered[key] += 1

    def erase(self, key: str, index: int) -> None:
        """Erase one member (their submitted answers are deleted)."""
        with self.app.app_context():
            begin_write()
            person = db.session.get(Participant, self.people[key][index])
            erasure.erase_participants([person], utcnow())
            db.session.commit()

    @property
    def dashboard(self) -> str:
        return f"/coach/teams/{self.team_a}/rounds/{self.round_id}/"

    def coach(self) -> object:
        client = self.app.test_client()
        log_in(client, "coach@acme.example")
        return client

    def figures(self, client) -> tuple[str, bytes, list[str]]:  # type: ignore[no-untyped-def]
        """What the coach sees: the page's figures, one chart, and the ledger's hashes."""
        page = client.get(self.dashboard)
        assert page.status_code == 200, page.get_data(as_text=True)
        chart = client.get(self.dashboard + "charts/blockers.svg")
        assert chart.status_code == 200
        with self.app.app_context():
            hashes = db.session.scalars(
                select(Disclosure.figures_hash)
                .where(Disclosure.kind == "dashboard")
                .order_by(Disclosure.id)
            ).all()
        text = page.get_data(as_text=True)
        main = text[text.index("<main") :]
        main = main.split('name="csrf_token"')[0]  # the logout form's token is per session
        return main, chart.data, list(hashes)

    def releases(self) -> list[tuple[int, int, int]]:
        with self.app.app_context():
            return [
                (r.n, r.added, r.removed)
                for r in db.session.scalars(
                    select(TeamRelease)
                    .where(TeamRelease.team_id == self.team_a)
                    .order_by(TeamRelease.id)
                )
            ]


def analyze_json(app: Flask, tmp_path: Path, name: str) -> dict:  # type: ignore[type-arg]
    out = tmp_path / f"{name}.json"
    result = app.test_cli_runner().invoke(
        args=["analyze", "--round", "Spring", "--org", "Acme", "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text(encoding="utf-8"))


def test_one_more_submission_or_one_erasure_changes_no_published_figure(app, tmp_path):
    world = World(app)
    for value in "12345":
        world.answer("A", value)
    assert world.releases() == [(5, 5, 0)]
    coach = world.coach()
    before = world.figures(coach)
    json_before = analyze_json(app, tmp_path, "before")

    world.answer("A", "1")  # 5 -> 6: the attack of the issue, 6*m6 - 5*m5
    after_submit = world.figures(coach)
    assert after_submit[0] == before[0] and after_submit[1] == before[1]
    assert after_submit[2] == before[2]  # the same figures: nothing new in the ledger
    assert analyze_json(app, tmp_path, "after-submit") == json_before

    world.erase("A", 0)  # erase one who was in the release: 6 -> 5 must not expose them
    after_erase = world.figures(coach)
    assert after_erase[:2] == before[:2]
    assert analyze_json(app, tmp_path, "after-erase") == json_before

    world.answer("A", "5")  # with the erasure, 3 changes since the release: due
    assert world.releases() == [(5, 5, 0), (6, 2, 1)]
    moved = world.figures(coach)
    assert moved[1] != before[1] and len(moved[2]) == 2
    assert analyze_json(app, tmp_path, "moved")["teams"]["Team A"]["n"] == 6


def test_answers_of_a_small_team_do_not_move_another_teams_percentiles(app, tmp_path):
    world = World(app)
    for value in "23434":
        world.answer("A", value)
    coach = world.coach()
    before = world.figures(coach)
    json_before = analyze_json(app, tmp_path, "before")
    world.answer("B", "1")
    world.answer("B", "5")  # Team B (2 members) can never be released
    assert world.figures(coach)[:2] == before[:2]
    after = analyze_json(app, tmp_path, "after")
    assert after == json_before
    assert after["teams"]["Team B"] == {"n": 0, "suppressed": True}  # never released


def test_pdf_report_follows_the_same_snapshot_as_the_dashboard(app):
    world = World(app)
    for value in "12345":
        world.answer("A", value)
    coach = world.coach()
    assert coach.get(world.dashboard).status_code == 200
    assert coach.get(world.dashboard + "report.pdf").status_code == 200
    world.answer("A", "2")
    assert coach.get(world.dashboard + "report.pdf").status_code == 200
    with app.app_context():
        rows = db.session.execute(
            select(
                Disclosure.kind, Disclosure.snapshot_id, Disclosure.n, Disclosure.figures_hash
            ).order_by(Disclosure.id)
        ).all()
    kinds = [row[0] for row in rows]
    assert kinds == ["dashboard", "report"]  # the second report showed the same figures
    assert len({(row[1], row[2], row[3]) for row in rows}) == 1 and rows[0][2] == 5


def test_nothing_is_released_before_the_threshold_and_the_page_says_so(app, tmp_path):
    world = World(app)
    for value in "1234":
        world.answer("A", value)
    coach = world.coach()
    page = coach.get(world.dashboard).get_data(as_text=True)
    assert "4 of the 5 responses needed" in page
    result = app.test_cli_runner().invoke(
        args=["analyze", "--round", "Spring", "--org", "Acme", "--json", str(tmp_path / "x")]
    )
    assert result.exit_code != 0 and "no released results yet" in result.output


def test_releases_can_wait_for_the_round_to_close(database_url, tmp_path):
    from tests.conftest import make_app

    app = make_app(database_url, tmp_path, RELEASE_WHILE_OPEN=False)
    world = World(app)
    for value in "123451":
        world.answer("A", value)
    assert world.releases() == []
    page = world.coach().get(world.dashboard).get_data(as_text=True)
    assert "Results are released when the round closes" in page
    with app.app_context():
        begin_write()
        rounds.close_round(db.session.get(SurveyRound, world.round_id), utcnow())
        db.session.commit()
    assert world.releases() == [(6, 6, 0)]
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize("action", ["revoke", "reissue"])
def test_in_an_anonymous_round_admins_see_counts_but_never_who_answered(app, action):
    world = World(app, mode="anonymous")
    for value in "123":
        world.answer("A", value)
    admin = app.test_client()
    log_in(admin, "admin@acme.example")
    page = admin.get(f"/admin/{world.org_id}/rounds/{world.round_id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "3 of 12 submitted" in text
    assert "A member 3" not in text and "B member 0" not in text  # nobody named as not answered
    from tests.survey.respond_helpers import csrf_from

    with app.app_context():
        from survey.models import Invitation

        ids = db.session.scalars(select(Invitation.id).order_by(Invitation.id)).all()
    token = csrf_from(page)
    statuses = set()
    for invitation_id in (ids[0], ids[5]):  # one answered, one not: the same answer for both
        url = f"/admin/{world.org_id}/rounds/{world.round_id}/invitations/{invitation_id}/{action}"
        statuses.add(admin.post(url, data={"csrf_token": token}).status_code)
    assert statuses == {409}
    reissue = admin.post(
        f"/admin/{world.org_id}/rounds/{world.round_id}/reissue.csv", data={"csrf_token": token}
    )
    assert reissue.status_code == 409 and reissue.mimetype != "text/csv"


def test_admins_read_the_anonymity_ledger(app):
    world = World(app)
    for value in "12345":
        world.answer("A", value)
    world.figures(world.coach())
    admin = app.test_client()
    log_in(admin, "admin@acme.example")
    page = admin.get(f"/admin/{world.org_id}/ledger")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "coach@acme.example" in text and "Team A" in text and "dashboard" in text
    coach = world.coach()
    assert coach.get(f"/admin/{world.org_id}/ledger").status_code == 403
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Disclosure)) == 1


def test_dashboard_and_pdf_say_which_release_they_show_and_when_it_changes(app):
    import io

    from pypdf import PdfReader

    world = World(app)
    for value in "12345":
        world.answer("A", value)
    coach = world.coach()
    page = coach.get(world.dashboard).get_data(as_text=True)
    assert "These results come from a release of the team&#39;s answers made on" in page
    assert "at least 3 answers have arrived or been erased" in page
    pdf = coach.get(world.dashboard + "report.pdf")
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    text = " ".join(text.split())
    assert "When results change" in text and "at least 3 answers have arrived" in text
    # Five people support one profile at most: the report says so instead of "not fitted".
    assert "No profile structure was found in this round" in text
