"""Organizations, teams and participants; the organization's time zone and email language.

Dates typed by an admin are days in the organization's time zone. A closing
day is stored as the first instant of the *next* local day, in UTC: rounds
accept answers while ``now < closes_at``, so "closes 2027-02-15" in
Europe/Berlin is stored as 2027-02-15 23:00 UTC and answers are taken up to
and including 2027-02-15 23:59:59.999999 local time. Admin pages show such an
instant back as "end of 2027-02-15" (:func:`closing_text`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from sqlalchemy import func, select, update

from survey.extensions import db
from survey.models import Organization, Participant, Team, User
from survey.services import audit
from survey.services.member_csv import MemberRow

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


class UnknownLanguage(ValueError):
    """Not a language the interface ships."""


def set_language(org: Organization, code: str, *, actor: User | None = None) -> bool:
    """Write the organization's invitation and reminder emails in ``code``; False when unchanged.

    ``code`` is one of the interface's languages (:data:`survey.i18n.LANGUAGE_NAMES`);
    a round whose instrument is not complete in it still emails in English.
    """
    from survey.i18n import LANGUAGE_NAMES

    if code not in LANGUAGE_NAMES:
        raise UnknownLanguage(f"{code[:20]!r} is not a language; choose one of the listed ones.")
    if org.language == code:
        return False
    old, org.language = org.language, code
    audit.record(
        "language_changed",
        actor=actor,
        organization_id=org.id,
        target=org.name,
        detail=f"{old} -> {code}",
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


def rename_team(team: Team, name: str, *, actor: User | None = None) -> None:
    """Give a team a new name, unique within its organization (audited)."""
    clash = db.session.scalar(
        select(Team).where(
            Team.organization_id == team.organization_id, Team.name == name, Team.id != team.id
        )
    )
    if clash is not None:
        raise TeamNameTaken(f"There is already a team called {name!r}.")
    old, team.name = team.name, name
    audit.record(
        "team_renamed", actor=actor, organization_id=team.organization_id, target=f"{old} -> {name}"
    )
    db.session.flush()


def create_team(org: Organization, name: str) -> Team:
    """A new team; the name must be unused in the organization."""
    team, created = get_or_create_team(org, name)
    if not created:
        raise TeamNameTaken(f"There is already a team called {name!r}.")
    return team


def new_team(org: Organization, name: str, *, actor: User | None) -> Team:
    """:func:`create_team` for an admin: the creation is audited."""
    team = create_team(org, name)
    audit.record("team_created", actor=actor, organization_id=org.id, target=name)
    return team


def archive_team(team: Team, now: datetime, *, actor: User | None) -> bool:
    """Leave the team out of new rounds, its answers kept; False when already archived."""
    if team.archived_at is not None:
        return False
    team.archived_at = now
    audit.record(
        "team_archived", actor=actor, organization_id=team.organization_id, target=team.name
    )
    db.session.flush()
    return True


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


def member_teams(org: Organization) -> dict[str, str]:
    """Every member email in the organization, lowercased, with the member's team name."""
    return {
        email.lower(): team
        for email, team in db.session.execute(
            select(Participant.email, Team.name)
            .join(Team, Team.id == Participant.team_id)
            .where(Team.organization_id == org.id, Participant.email.is_not(None))
            .order_by(Participant.id)
        )
    }


class MemberProblem(ValueError):
    """A member change that cannot be made as asked (the message says why)."""

    status = 400


def _check_details(
    org: Organization, name: str | None, email: str | None, person: Participant | None = None
) -> None:
    if not (name or email):
        raise MemberProblem("Give a name, an email, or both.")
    if email:
        holder = _member_with_email(org, email)
        if holder is not None and holder is not person:
            raise MemberProblem(f"{email} is already a member of this organization.")


def _member_with_email(org: Organization, email: str) -> Participant | None:
    return db.session.scalar(
        select(Participant)
        .join(Team, Team.id == Participant.team_id)
        .where(Team.organization_id == org.id, func.lower(Participant.email) == email.lower())
        .order_by(Participant.id)
        .limit(1)
    )


def add_member(
    team: Team, *, name: str | None, email: str | None, actor: User | None
) -> Participant:
    """Add one member to a team (email unique in the organization), audited by number."""
    _check_details(team.organization, name, email)
    person = add_participant(team, name=name, email=email)
    audit.record(
        "members_added",
        actor=actor,
        organization_id=team.organization_id,
        target=team.name,
        detail=f"1 member (member #{person.id})",
    )
    return person


def edit_member(
    person: Participant, *, name: str | None, email: str | None, actor: User | None
) -> list[str]:
    """Change a member's name and email; what changed ("name", "email").

    Future invitations and emails use the new details; links already sent keep
    working. The audit log names the member by number, never the details.
    """
    if person.erased_at is not None:
        raise MemberProblem("This member was erased; nothing about them can be changed.")
    org = person.team.organization
    _check_details(org, name, email, person)
    changed = [
        field
        for field, old, new in (("name", person.name, name), ("email", person.email, email))
        if old != new
    ]
    person.name, person.email = name, email
    if changed:
        audit.record(
            "member_edited",
            actor=actor,
            organization_id=org.id,
            target=f"member #{person.id}",
            detail=f"{' and '.join(changed)} changed",
        )
    db.session.flush()
    return changed


@dataclass(frozen=True)
class Move:
    """What moving a member did: teams, and rounds whose links changed."""

    old_team: str
    new_team: str
    links_ended: tuple[str, ...]
    links_deleted: tuple[str, ...]


def move_member(person: Participant, team: Team, *, now: datetime, actor: User | None) -> Move:
    """Move a member to another team of the organization.

    Submitted answers stay with the team they were given in; answers not yet
    submitted (drafts) follow the member when their new team is in the round.
    In a round that does not include the new team, a draft round's link is
    deleted and any other round's link stops working at ``now``; this is done
    whether or not the member has answered, so nothing about anonymous rounds
    shows. Future invitations go to the new team.
    """
    from survey.models import Invitation, Response, SurveyRound, round_teams

    if person.erased_at is not None:
        raise MemberProblem("This member was erased and cannot be moved.")
    if team.organization_id != person.team.organization_id:
        raise MemberProblem("A member can only move to a team of the same organization.")
    if team.archived_at is not None:
        raise MemberProblem(f"Team {team.name} is archived; members cannot move into it.")
    old_team = person.team
    if old_team.id == team.id:
        raise MemberProblem(f"{person.display_name} is already in {team.name}.")
    person.team_id = team.id
    ended: list[str] = []
    deleted: list[str] = []
    for invitation, survey_round in db.session.execute(
        select(Invitation, SurveyRound)
        .join(SurveyRound, SurveyRound.id == Invitation.round_id)
        .where(Invitation.participant_id == person.id)
        .order_by(SurveyRound.id)
    ).all():
        in_round = db.session.scalar(
            select(round_teams.c.team_id).where(
                round_teams.c.round_id == survey_round.id, round_teams.c.team_id == team.id
            )
        )
        if in_round is not None:
            db.session.execute(
                update(Response)
                .where(Response.invitation_id == invitation.id, Response.status == "draft")
                .values(team_id=team.id)
                .execution_options(synchronize_session=False)
            )
        elif survey_round.status == "draft":
            db.session.delete(invitation)
            deleted.append(survey_round.name)
        else:
            invitation.expires_at = min(invitation.expires_at, now)
            ended.append(survey_round.name)
    detail = f"{old_team.name} -> {team.name}"
    if ended or deleted:
        detail += f"; links ended in {', '.join(ended + deleted)}"
    audit.record(
        "member_moved",
        actor=actor,
        organization_id=team.organization_id,
        target=f"member #{person.id}",
        detail=detail,
    )
    db.session.flush()
    return Move(old_team.name, team.name, tuple(ended), tuple(deleted))


def import_members(
    org: Organization, rows: Iterable[MemberRow], *, now: datetime, actor: User | None
) -> tuple[int, int]:
    """Save checked CSV rows: add new members, move those marked "move"; (added, moved)."""
    teams = {team.name.lower(): team for team in org.teams}
    added = moved = 0
    for row in rows:
        team = teams[row.team.lower()]
        if row.action == "add":
            add_participant(team, name=row.name, email=row.email)
            added += 1
        elif row.action == "move" and row.email:
            person = _member_with_email(org, row.email)
            if person is None:
                raise MemberProblem(f"row {row.line}: {row.email} is no longer a member.")
            move_member(person, team, now=now, actor=actor)
            if row.name and row.name != person.name:
                person.name = row.name
            moved += 1
    if added:
        audit.record(
            "members_added",
            actor=actor,
            organization_id=org.id,
            target="CSV upload",
            detail=f"{added} members",
        )
    db.session.flush()
    return added, moved
