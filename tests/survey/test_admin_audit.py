"""The audit log names people and things, keeps members as numbers, and exports as CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from survey.extensions import db
from survey.models import AuditEvent, Organization, Participant, User
from tests.survey.accounts_helpers import AccessWorld, build_access_world, log_in
from tests.survey.respond_helpers import csrf_from


def _admin(app: Flask, client: FlaskClient) -> tuple[AccessWorld, str]:
    world = build_access_world(app)
    log_in(client, world.emails["admin"])
    return world, csrf_from(client.get(f"/admin/{world.org_id}/"))


def _rows(response) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_events_show_names_but_store_member_numbers(app: Flask, client: FlaskClient) -> None:
    world, token = _admin(app, client)
    team_url = f"/admin/{world.org_id}/teams/{world.team_id}"
    added = client.post(
        f"{team_url}/members", data={"csrf_token": token, "name": "Nova", "email": "nova@a.example"}
    )
    assert added.status_code == 303
    round_url = f"/admin/{world.org_id}/rounds/{world.round_id}"
    revoke = f"{round_url}/invitations/{world.invitation_id}/revoke"
    assert client.post(revoke, data={"csrf_token": token, "confirm": "y"}).status_code == 303
    with app.app_context():
        nova = db.session.scalar(select(Participant).filter_by(email="nova@a.example"))
        # An event written before members were recorded by number.
        db.session.add(
            AuditEvent(
                action="invitations_issued",
                actor="admin@a.example",
                organization_id=world.org_id,
                target="R1",
                detail=f"1 link (re-issued invitation {world.invitation_id})",
            )
        )
        admin = db.session.scalar(select(User).filter_by(email=world.emails["admin"]))
        stored = {
            e.action: f"{e.target} {e.detail}" for e in db.session.scalars(select(AuditEvent))
        }
        admin.email = "chief@a.example"  # the log shows who it is now
        db.session.commit()
        nova_id = nova.id
    assert stored["members_added"] == f"Team One 1 member (member #{nova_id})"
    assert stored["invitation_revoked"] == f"R1 member #{world.participant_id}"
    assert "Nova" not in " ".join(stored.values()) and "Pat" not in " ".join(stored.values())

    page = client.get(f"/admin/{world.org_id}/audit").get_data(as_text=True)
    assert "1 member (Nova (Team One))" in page
    assert "<td>R1</td><td>Pat (Team One)</td>" in page
    assert "1 link (re-issued the link of Pat in R1)" in page
    assert "chief@a.example" in page

    erase = f"/admin/{world.org_id}/participants/{nova_id}/erase"
    erased = client.post(erase, data={"csrf_token": csrf_from(client.get(erase)), "confirm": "y"})
    assert erased.status_code == 303
    page = client.get(f"/admin/{world.org_id}/audit").get_data(as_text=True)
    assert "Nova" not in page and f"1 member (member #{nova_id})" in page


def test_the_filtered_log_exports_as_safe_csv(app: Flask, client: FlaskClient) -> None:
    world, _ = _admin(app, client)
    with app.app_context():
        db.session.get(Organization, world.org_id).timezone = "Asia/Tokyo"
        db.session.add_all(
            [
                AuditEvent(
                    action="team_created",
                    actor="=cmd|' /C calc'!A0",
                    organization_id=world.org_id,
                    target='=HYPERLINK("http://x.example","click")',
                    at=datetime(2030, 1, 1, 20, 0, tzinfo=UTC),
                ),
                AuditEvent(
                    action="team_renamed",
                    actor="admin@a.example",
                    organization_id=world.org_id,
                    target="member #1 -> +SUM(1)",
                    at=datetime(2030, 1, 3, 9, 0, tzinfo=UTC),
                ),
                AuditEvent(
                    action="team_created",
                    actor="admin@b.example",
                    organization_id=world.other_org_id,
                    target="Elsewhere",
                ),
            ]
        )
        db.session.commit()
    page = client.get(f"/admin/{world.org_id}/audit?action=team_created&since=2030-01-02")
    assert "audit.csv?action=team_created&amp;since=2030-01-02" in page.get_data(as_text=True)

    export = client.get(f"/admin/{world.org_id}/audit.csv?since=2030-01-02")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    assert export.headers["Content-Disposition"].startswith('attachment; filename="audit-log-')
    rows = _rows(export)
    assert [r["action"] for r in rows] == ["team_renamed", "team_created"]
    renamed, created = rows
    assert renamed["what"] == "member #1 -> +SUM(1)", "a team rename is not a member"
    assert renamed["when"] == "2030-01-03 18:00:00+09:00"
    assert created["when"] == "2030-01-02 05:00:00+09:00"
    assert created["who"] == "'=cmd|' /C calc'!A0"
    assert created["what"] == '\'=HYPERLINK("http://x.example","click")'
    assert "Elsewhere" not in export.get_data(as_text=True)

    only = _rows(client.get(f"/admin/{world.org_id}/audit.csv?action=team_renamed"))
    assert [r["action"] for r in only] == ["team_renamed"]
    assert client.get(f"/admin/{world.org_id}/audit.csv?action=nope").status_code == 400
    assert client.get(f"/admin/{world.other_org_id}/audit.csv").status_code == 404
    everything = _rows(client.get(f"/admin/{world.org_id}/audit.csv"))
    exported = [r for r in everything if r["action"] == "audit_exported"]
    assert exported and exported[0]["detail"].startswith("all actions")
    assert any("from 2030-01-02" in r["detail"] for r in exported)
