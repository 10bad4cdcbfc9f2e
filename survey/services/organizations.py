"""Organizations, teams and participants; the organization's time zone.

Dates typed by an admin are days in the organization's time zone. A closing
day is stored as the first instant of the *next* local day, in UTC: rounds
accept answers while ``now < closes_at``, so "closes 2027-02-15" in
Europe/Berlin is stored as 2027-02-15 23:00 UTC and answers are taken up to
and including 2027-02-15 23:59:59.999999 local time. Admin pages show such an
instant back as "end of 2027-02-15" (:func:`closing_text`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from sqlalchemy import select

from survey.extensions import db
from survey.models import Organization, Participant, Team, User
from survey.services import audit

DEFAULT_TIMEZONE = "UTC"


class UnknownTimezone(ValueError):
    """Not an IANA time zone name this server knows."""


@lru_cache(maxsize=1)
def timezone_names() -> tuple[str, ...]:
    """Every IANA time zone name known here, sorted."""
    return tuple(sorted(available_timezones() | {DEFAULT_TIMEZONE}))


@lru_cache(maxsize=1)
def _known_names() -> frozenset[str]:
    return frozenset(timezone_names())


def zone_named(name: str) -> ZoneInfo:
    """The time zone called ``name`` (e.g. ``Europe/Berlin``); :class:`UnknownTimezone` if none."""
    if name not in _known_names():
        shown = name if len(name) <= 60 else name[:57] + "..."
        raise UnknownTimezone(
            f"{shown!r} is not a time zone name; use an IANA name such as Europe/Berlin or UTC."
        )
    return ZoneInfo(name)


def zone_of(org: Organization) -> ZoneInfo:
    """The organization's time zone (UTC when the stored name is no longer known)."""
    try:
        return zone_named(org.timezone or DEFAULT_TIMEZONE)
    except UnknownTimezone:
        return ZoneInfo(DEFAULT_TIMEZONE)


def set_timezone(org: Organization, name: str, *, actor: User | None = None) -> bool:
    """Use the time zone ``name`` for the organization's dates; False when unchanged.

    Times already stored keep their instant; only how days are read and shown changes.
    """
    zone_named(name)
    if org.timezone == name:
        return False
    old, org.timezone = org.timezone, name
    audit.record(
        "timezone_changed",
        actor=actor,
        organization_id=org.id,
        target=org.name,
        detail=f"{old} -> {name}",
    )
    db.session.flush()
    return True


def day_start(zone: ZoneInfo, day: date) -> datetime:
    """The first instant of ``day`` in ``zone``, in UTC."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def day_end(zone: ZoneInfo, day: date) -> datetime:
    """The end of ``day`` in ``zone`` as an exclusive bound: the next local day's first instant."""
    return day_start(zone, day + timedelta(days=1))


def closing_day(zone: ZoneInfo, closes_at: datetime) -> date:
    """The last local day on which a round closing at ``closes_at`` takes answers."""
    return (closes_at - timedelta(microseconds=1)).astimezone(zone).date()


def local_text(zone: ZoneInfo, when: datetime, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """``when`` as local time in ``zone``."""
    return when.astimezone(zone).strftime(fmt)


def closing_text(zone: ZoneInfo, closes_at: datetime) -> str:
    """A closing instant for people: "end of 2027-02-15" at local midnight, else date and time."""
    local = closes_at.astimezone(zone)
    if local.time() == time.min:
        return f"end of {closing_day(zone, closes_at).isoformat()}"
    return local.strftime("%Y-%m-%d %H:%M")


def get_or_create_organization(name: str) -> tuple[Organization, bool]:
    """The organization with this name; created when missing (the flag says so)."""
    org = db.session.scalar(select(Organization).filter_by(name=name))
    if org is not None:
        return org, False
    org = Organization(name=name)
    db.session.add(org)
    db.session.flush()
    return org, True


def find_organization(name: str) -> Organization | None:
    """The organization with this name, if any."""
    return db.session.scalar(select(Organization).filter_by(name=name))


def find_team(org: Organization, name: str) -> Team | None:
    """The organization's team with this name, if any."""
    return db.session.scalar(select(Team).filter_by(organization_id=org.id, name=name))


def get_or_create_team(org: Organization, name: str) -> tuple[Team, bool]:
    """The organization's team with this name; created when missing."""
    team = db.session.scalar(select(Team).filter_by(organization_id=org.id, name=name))
    if team is not None:
        return team, False
    team = Team(organization_id=org.id, name=name)
    db.session.add(team)
    db.session.flush()
    return team, True


def add_participant(
    team: Team,
    *,
    name: str | None = None,
    email: str | None = None,
    external_id: str | None = None,
) -> Participant:
    """Add a member to a team."""
    participant = Participant(team_id=team.id, name=name, email=email, external_id=external_id)
    db.session.add(participant)
    db.session.flush()
    return participant


class TeamNameTaken(ValueError):
    """Another team of the organization already has this name."""


def rename_team(team: Team, name: str) -> None:
    """Give a team a new name, unique within its organization."""
    clash = db.session.scalar(
        select(Team).where(
            Team.organization_id == team.organization_id, Team.name == name, Team.id != team.id
        )
    )
    if clash is not None:
        raise TeamNameTaken(f"There is already a team called {name!r}.")
    team.name = name
    db.session.flush()


def create_team(org: Organization, name: str) -> Team:
    """A new team; the name must be unused in the organization."""
    team, created = get_or_create_team(org, name)
    if not created:
        raise TeamNameTaken(f"There is already a team called {name!r}.")
    return team


def members_of(team: Team) -> list[Participant]:
    """The team's members who have not been erased, by name."""
    return list(
        db.session.scalars(
            select(Participant)
            .where(Participant.team_id == team.id, Participant.erased_at.is_(None))
            .order_by(Participant.name, Participant.email, Participant.id)
        )
    )


def member_counts(org: Organization) -> dict[int, int]:
    """Team id -> number of current members."""
    from sqlalchemy import func

    return dict(
        db.session.execute(
            select(Participant.team_id, func.count(Participant.id))
            .join(Team, Team.id == Participant.team_id)
            .where(Team.organization_id == org.id, Participant.erased_at.is_(None))
            .group_by(Participant.team_id)
        ).all()
    )


def org_emails(org: Organization) -> set[str]:
    """Every member email in the organization, lowercased."""
    return {
        email.lower()
        for email in db.session.scalars(
            select(Participant.email)
            .join(Team, Team.id == Participant.team_id)
            .where(Team.organization_id == org.id, Participant.email.is_not(None))
        )
    }
