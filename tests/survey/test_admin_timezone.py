"""The organization's time zone: days typed by an admin and times shown back are local."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from survey.extensions import db
from survey.models import AuditEvent, Organization, SurveyRound
from survey.services import organizations
from tests.survey.accounts_helpers import AccessWorld, build_access_world, log_in
from tests.survey.respond_helpers import csrf_from

BERLIN = ZoneInfo("Europe/Berlin")


def test_a_closing_day_ends_at_local_midnight() -> None:
    winter = organizations.day_end(BERLIN, date(2027, 2, 15))
    assert winter == datetime(2027, 2, 15, 23, 0, tzinfo=UTC)
    summer = organizations.day_end(BERLIN, date(2027, 7, 15))
    assert summer == datetime(2027, 7, 15, 22, 0, tzinfo=UTC)
    assert organizations.closing_day(BERLIN, winter) == date(2027, 2, 15)
    assert organizations.closing_text(BERLIN, winter) == "end of 2027-02-15"
    closed_early = datetime(2027, 2, 10, 9, 30, tzinfo=UTC)
    assert organizations.closing_text(BERLIN, closed_early) == "2027-02-10 10:30"
    assert organizations.day_start(BERLIN, date(2027, 2, 15)) == datetime(
        2027, 2, 14, 23, 0, tzinfo=UTC
    )
    # A day whose midnight is skipped by daylight saving still ends at the next day's start.
    santiago = ZoneInfo("America/Santiago")
    end = organizations.day_end(santiago, date(2026, 9, 5))
    assert end.astimezone(santiago).date() == date(2026, 9, 6)
    assert organizations.closing_day(santiago, end) == date(2026, 9, 5)


@pytest.mark.parametrize(
    "name", ["", "Mars/Olympus", "../../etc/passwd", "Europe/Berlin\n", "x" * 300]
)
def test_unknown_zone_names_are_refused(name: str) -> None:
    with pytest.raises(organizations.UnknownTimezone, match="not a time zone name"):
        organizations.zone_named(name)


def _admin(app: Flask, client: FlaskClient) -> tuple[AccessWorld, str]:
    world = build_access_world(app)
    log_in(client, world.emails["admin"])
    overview = f"/admin/{world.org_id}/"
    return world, csrf_from(client.get(overview))


def test_admin_sets_the_time_zone_and_closing_days_follow_it(
    app: Flask, client: FlaskClient
) -> None:
    world, token = _admin(app, client)
    overview = client.get(f"/admin/{world.org_id}/").get_data(as_text=True)
    assert 'value="UTC"' in overview and '<option value="Europe/Berlin">' in overview

    bad = client.post(
        f"/admin/{world.org_id}/timezone", data={"csrf_token": token, "timezone": "Mars/Olympus"}
    )
    assert bad.status_code == 400
    assert "is not a time zone name" in bad.get_data(as_text=True)
    saved = client.post(
        f"/admin/{world.org_id}/timezone", data={"csrf_token": token, "timezone": "Europe/Berlin"}
    )
    assert saved.status_code == 303
    with app.app_context():
        assert db.session.get(Organization, world.org_id).timezone == "Europe/Berlin"
        event = db.session.scalar(select(AuditEvent).filter_by(action="timezone_changed"))
        assert event.actor == world.emails["admin"] and event.detail == "UTC -> Europe/Berlin"

    day = date.today() + timedelta(days=40)
    url = f"/admin/{world.org_id}/rounds/new"
    page = client.get(url).get_data(as_text=True)
    assert "Dates are days in Europe/Berlin" in page
    created = client.post(
        url,
        data={
            "csrf_token": token,
            "name": "Local",
            "instrument": re.search(r'<option[^>]*value="(\d+)"', page).group(1),
            "teams": [str(world.team_id)],
            "closes_on": day.isoformat(),
            "mode": "confidential",
        },
    )
    assert created.status_code == 303, created.get_data(as_text=True)
    with app.app_context():
        survey_round = db.session.scalar(select(SurveyRound).filter_by(name="Local"))
        expected = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=BERLIN)
        assert survey_round.closes_at == expected.astimezone(UTC)
        round_id = survey_round.id
    shown = client.get(created.headers["Location"]).get_data(as_text=True)
    assert f"closes end of {day.isoformat()} (Europe/Berlin)" in shown
    listed = client.get(f"/admin/{world.org_id}/").get_data(as_text=True)
    assert f"end of {day.isoformat()}" in listed and "Closes (Europe/Berlin)" in listed

    client.post(f"/admin/{world.org_id}/rounds/{round_id}/open", data={"csrf_token": token})
    later = day + timedelta(days=3)
    extended = client.post(
        f"/admin/{world.org_id}/rounds/{round_id}/extend",
        data={"csrf_token": token, "closes_on": later.isoformat()},
    )
    assert extended.status_code == 303
    with app.app_context():
        closes_at = db.session.get(SurveyRound, round_id).closes_at
        assert closes_at.astimezone(BERLIN).replace(tzinfo=None) == datetime.combine(
            later + timedelta(days=1), datetime.min.time()
        )


def test_audit_times_and_filters_use_the_zone(app: Flask, client: FlaskClient) -> None:
    world, _ = _admin(app, client)
    with app.app_context():
        org = db.session.get(Organization, world.org_id)
        org.timezone = "Asia/Tokyo"  # UTC+9, no daylight saving
        # 2030-01-01 20:00 UTC is 2030-01-02 05:00 in Tokyo.
        db.session.add(
            AuditEvent(
                action="team_created",
                actor="someone@a.example",
                organization_id=org.id,
                target="Late Team",
                at=datetime(2030, 1, 1, 20, 0, tzinfo=UTC),
            )
        )
        db.session.commit()
    audit = f"/admin/{world.org_id}/audit"
    on_second = client.get(f"{audit}?since=2030-01-02&until=2030-01-02").get_data(as_text=True)
    assert "Late Team" in on_second and "2030-01-02 05:00:00" in on_second
    assert "When (Asia/Tokyo)" in on_second
    on_first = client.get(f"{audit}?since=2030-01-01&until=2030-01-01").get_data(as_text=True)
    assert "Late Team" not in on_first
