"""Counterparties: who may manage them, what the forms refuse, and the audit log."""

from __future__ import annotations

from sqlalchemy import select

from survey.extensions import db
from survey.models import AuditEvent, Counterparty
from tests.survey.counterparty_helpers import build_world, logged_in, post_form


def _names(app) -> list[str]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return list(db.session.scalars(select(Counterparty.name).order_by(Counterparty.name)))


def test_a_coach_adds_a_counterparty_for_the_organization_and_it_is_audited(app):
    world = build_world(app, open_round=False)
    client = logged_in(app, world.emails["coach_team"])
    page = f"/coach/teams/{world.team_id}/counterparties/"
    response = post_form(
        client,
        page,
        f"/coach/teams/{world.team_id}/counterparties",
        {"name": "  Initech   Purchasing ", "kind": "supplier", "deal_name": ""},
    )
    assert response.status_code == 303
    listing = client.get(page).get_data(as_text=True)
    assert "Initech Purchasing" in listing and "supplier" in listing
    assert _names(app) == ["Globex", "Initech Purchasing"]
    with app.app_context():
        event = db.session.scalar(
            select(AuditEvent).filter_by(action="counterparty_created", target="Initech Purchasing")
        )
        assert event is not None and event.actor == world.emails["coach_team"]
        assert event.detail == "supplier"


def test_the_form_refuses_bad_input_with_a_message_and_saves_nothing(app):
    world = build_world(app, open_round=False)
    client = logged_in(app, world.emails["coach_team"])
    page = f"/coach/teams/{world.team_id}/counterparties/"
    action = f"/coach/teams/{world.team_id}/counterparties"
    cases = [
        ({"name": "", "kind": "customer"}, 400, "Give the counterparty a name."),
        ({"name": "A" * 201, "kind": "customer"}, 400, "cannot be longer than 200 characters"),
        ({"name": "Acme", "kind": "competitor"}, 400, "Not a valid choice"),
        ({"name": "Acme\u0007", "kind": "customer"}, 400, "control character"),
        ({"name": "GLOBEX", "kind": "partner"}, 409, "There is already a counterparty called"),
    ]
    for data, status, message in cases:
        response = post_form(client, page, action, data)
        assert response.status_code == status, data
        assert message in response.get_data(as_text=True), data
    assert _names(app) == ["Globex"]


def test_edit_and_delete_say_what_happened_and_a_rated_counterparty_is_kept(app):
    world = build_world(app, open_round=False)
    client = logged_in(app, world.emails["admin"])
    edit = f"/admin/{world.org_id}/counterparties/{world.counterparty_id}/edit"
    changed = post_form(
        client, edit, edit, {"name": "Globex Corp", "kind": "partner", "deal_name": "Big deal"}
    )
    assert changed.status_code == 303
    listing = client.get(f"/admin/{world.org_id}/counterparties/").get_data(as_text=True)
    assert "Globex Corp" in listing and "Big deal" in listing and "partner" in listing
    delete = f"/admin/{world.org_id}/counterparties/{world.counterparty_id}/delete"
    unconfirmed = post_form(client, edit, delete, {})
    assert unconfirmed.status_code == 400 and "I understand" in unconfirmed.get_data(as_text=True)
    assert _names(app) == ["Globex Corp"]
    from tests.survey.counterparty_helpers import open_rating_round

    open_rating_round(app, world)
    kept = post_form(client, edit, delete, {"confirm": "y"})
    assert kept.status_code == 409
    assert "is rated in 1 round (Globex rating), so it is kept" in kept.get_data(as_text=True)
    assert _names(app) == ["Globex Corp"]
    created = post_form(
        client,
        f"/admin/{world.org_id}/counterparties/",
        f"/admin/{world.org_id}/counterparties",
        {"name": "Umbrella", "kind": "internal"},
    )
    assert created.status_code == 303
    with app.app_context():
        umbrella = db.session.scalar(select(Counterparty).filter_by(name="Umbrella"))
        assert umbrella.kind == "internal"
        umbrella_id = umbrella.id
    base = f"/admin/{world.org_id}/counterparties/{umbrella_id}"
    assert post_form(client, base + "/edit", base + "/delete", {"confirm": "y"}).status_code == 303
    assert _names(app) == ["Globex Corp"]
    with app.app_context():
        actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"counterparty_created", "counterparty_edited", "counterparty_deleted"} <= actions


def test_only_the_organizations_admins_and_coaches_of_its_teams_reach_the_pages(app):
    world = build_world(app, open_round=False)
    coach_pages = [
        f"/coach/teams/{world.team_id}/counterparties/",
        f"/coach/teams/{world.team_id}/counterparties/{world.counterparty_id}/edit",
    ]
    admin_pages = [
        f"/admin/{world.org_id}/counterparties/",
        f"/admin/{world.org_id}/counterparties/{world.counterparty_id}/edit",
    ]
    expected = {
        "admin": (200, 200),
        "coach_team": (200, 403),
        "coach_other": (403, 403),  # coaches another team of the organization
        "admin_other": (404, 404),  # another organization: its existence is not revealed
    }
    for who, (coach_status, admin_status) in expected.items():
        client = logged_in(app, world.emails[who])
        for url in coach_pages:
            assert client.get(url).status_code == coach_status, (who, url)
        for url in admin_pages:
            assert client.get(url).status_code == admin_status, (who, url)
    anonymous = app.test_client()
    for url in coach_pages + admin_pages:
        response = anonymous.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_counterparty_of_another_organization_is_not_found_through_a_team(app):
    world = build_world(app, open_round=False)
    with app.app_context():
        from survey.models import Organization
        from survey.services import counterparties

        other = db.session.get(Organization, world.other_org_id)
        foreign = counterparties.create_counterparty(
            other, name="Hooli", kind="customer", actor=None
        )
        db.session.commit()
        foreign_id = foreign.id
    client = logged_in(app, world.emails["coach_team"])
    edit = f"/coach/teams/{world.team_id}/counterparties/{foreign_id}/edit"
    assert client.get(edit).status_code == 404
    own = f"/coach/teams/{world.team_id}/counterparties/{world.counterparty_id}/edit"
    response = post_form(
        client, own, f"/coach/teams/{world.team_id}/counterparties/{foreign_id}/delete",
        {"confirm": "y"},
    )  # fmt: skip
    assert response.status_code == 404
    assert "Hooli" in _names(app)


def test_posts_without_a_csrf_token_are_refused(app):
    world = build_world(app, open_round=False)
    client = logged_in(app, world.emails["coach_team"])
    response = client.post(
        f"/coach/teams/{world.team_id}/counterparties", data={"name": "X", "kind": "customer"}
    )
    assert response.status_code == 400
    assert _names(app) == ["Globex"]
