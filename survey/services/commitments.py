"""The action plan: up to three commitments a coach records for a team after a round.

A commitment belongs to one team and to the round whose results it responds to
(``round_id``): which play the team will practise, who owns it (a *role* such
as "account lead", never a person's name) and by when. The team's next round
shows each commitment beside the change in the blocker its play counters
(:func:`followups`), using the same change between released snapshots as the
report's "change since last round".

Every change is audited; callers commit (see :mod:`survey.services.accounts`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from analytics.advice import Play, load_advice
from analytics.kit_schema import load_kit
from analytics.session_kit import CommitmentFollowup, CommitmentRecord, commitment_followup
from analytics.trend import BlockerChange
from reports.context import ChangeSinceLast
from survey.extensions import db
from survey.models import Commitment, SurveyRound, Team, TeamRelease, User
from survey.services import audit, organizations, rounds

__all__ = [
    "MAX_DUE_DAYS",
    "OWNER_ROLE_MAX",
    "CommitmentInput",
    "CommitmentRefused",
    "add_commitment",
    "commitments_of",
    "delete_commitment",
    "followups",
    "local_today",
    "max_commitments",
    "plays",
    "records",
    "update_commitment",
]

#: Longest owner role kept (a role such as "account lead", not a person's name).
OWNER_ROLE_MAX = 80
#: A due date at most this many days after the day it is set (about two years).
MAX_DUE_DAYS = 730


class CommitmentRefused(Exception):
    """The commitment may not be saved: ``message`` says why, ``status`` is the HTTP status."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class CommitmentInput:
    """What the coach typed: a play id, an owner role and a due date."""

    play_id: str
    owner_role: str
    due_on: date | None


def max_commitments() -> int:
    """The most commitments a team's plan holds per round (``session_kit``, framework file)."""
    return load_kit(language="en").session_kit.max_commitments


def plays() -> tuple[Play, ...]:
    """The framework's plays a commitment may name, in the framework's order."""
    return load_advice().plays


def local_today(team: Team, now: datetime | None = None) -> date:
    """Today in the team's organization's time zone (due dates are whole local days)."""
    zone = organizations.zone_of(team.organization)
    moment = now if now is not None else datetime.now(zone)
    return moment.astimezone(zone).date()


def commitments_of(team: Team, survey_round: SurveyRound) -> list[Commitment]:
    """The team's commitments for the round, soonest due first."""
    return list(
        db.session.scalars(
            select(Commitment)
            .where(Commitment.team_id == team.id, Commitment.round_id == survey_round.id)
            .order_by(Commitment.due_on, Commitment.id)
        )
    )


def _round_start(survey_round: SurveyRound, team: Team) -> date:
    """The first day of the round in the organization's zone (opening, else creation)."""
    zone = organizations.zone_of(team.organization)
    start = survey_round.opens_at or survey_round.created_at
    return start.astimezone(zone).date()


def _check(
    team: Team,
    survey_round: SurveyRound,
    data: CommitmentInput,
    today: date,
    *,
    unchanged_due: date | None = None,
) -> tuple[str, str, date]:
    """The cleaned (play id, owner role, due date), or :class:`CommitmentRefused` (400)."""
    play = next((p for p in plays() if p.id == data.play_id), None)
    if play is None:
        names = ", ".join(p.name for p in plays())
        raise CommitmentRefused(f"Choose one of the framework's plays: {names}.")
    role = " ".join((data.owner_role or "").split())
    if any(unicodedata.category(ch) == "Cc" for ch in data.owner_role or ""):
        raise CommitmentRefused("Owner role: use letters, digits, spaces and punctuation only.")
    if not role:
        raise CommitmentRefused(
            "Owner role: say which role owns the commitment (for example \u201caccount lead\u201d)."
        )
    if len(role) > OWNER_ROLE_MAX:
        raise CommitmentRefused(
            f"Owner role: at most {OWNER_ROLE_MAX} characters; name a role, not a person."
        )
    due = data.due_on
    if due is None:
        raise CommitmentRefused("Due date: give the day the commitment is due (2027-03-31).")
    start = _round_start(survey_round, team)
    if due < start:
        raise CommitmentRefused(
            f"Due date: {due.isoformat()} is before the round {survey_round.name} began "
            f"({start.isoformat()}); a commitment responds to its results."
        )
    if due != unchanged_due:
        if due < today:
            raise CommitmentRefused(
                f"Due date: {due.isoformat()} has passed; choose today ({today.isoformat()}) "
                "or a later day."
            )
        if due > today + timedelta(days=MAX_DUE_DAYS):
            raise CommitmentRefused(
                "Due date: choose a day within two years; a commitment is for the coming months."
            )
    return play.id, role, due


def _require_results(team: Team, survey_round: SurveyRound) -> None:
    """Commitments respond to released results: the team must be in the round and released."""
    if not rounds.includes_team(survey_round, team):
        raise CommitmentRefused(f"{team.name} is not in the round {survey_round.name}.", 404)
    released = db.session.scalar(
        select(TeamRelease.id)
        .where(TeamRelease.round_id == survey_round.id, TeamRelease.team_id == team.id)
        .limit(1)
    )
    if released is None:
        raise CommitmentRefused(
            f"{team.name} has no released results in {survey_round.name} yet; "
            "commitments respond to the team's results.",
            409,
        )


def _lock_team(team: Team) -> None:
    """Serialize commitment changes of one team (a row lock on PostgreSQL; SQLite's
    write transaction already holds the database)."""
    db.session.execute(select(Team.id).where(Team.id == team.id).with_for_update())


def _describe(commitment: Commitment) -> str:
    return (
        f"play {commitment.play_id}, owner role {commitment.owner_role}, "
        f"due {commitment.due_on.isoformat()}"
    )


def _target(team: Team, survey_round: SurveyRound) -> str:
    return f"{team.name} / {survey_round.name}"


def add_commitment(
    team: Team,
    survey_round: SurveyRound,
    data: CommitmentInput,
    *,
    actor: User | None,
    today: date,
) -> Commitment:
    """Record a new commitment; a fourth for the same team and round is refused (409).

    Raises :class:`CommitmentRefused` with the reason; nothing is written then.
    """
    _require_results(team, survey_round)
    play_id, role, due = _check(team, survey_round, data, today)
    _lock_team(team)
    count = db.session.scalar(
        select(func.count())
        .select_from(Commitment)
        .where(Commitment.team_id == team.id, Commitment.round_id == survey_round.id)
    )
    limit = max_commitments()
    if int(count or 0) >= limit:
        raise CommitmentRefused(
            f"{team.name} already has {limit} commitments for {survey_round.name}, "
            "the most a plan holds. Change or delete one to record another.",
            409,
        )
    commitment = Commitment(
        team_id=team.id,
        round_id=survey_round.id,
        play_id=play_id,
        owner_role=role,
        due_on=due,
        created_by_id=actor.id if actor is not None else None,
    )
    db.session.add(commitment)
    db.session.flush()
    audit.record(
        "commitment_added",
        actor=actor,
        organization_id=team.organization_id,
        target=_target(team, survey_round),
        detail=_describe(commitment),
    )
    db.session.flush()
    return commitment


def update_commitment(
    commitment: Commitment,
    data: CommitmentInput,
    *,
    actor: User | None,
    today: date,
) -> bool:
    """Change a commitment; ``False`` when nothing changed (nothing is audited then).

    A due date that has passed may stay as it is; a new one must not be in the past.
    """
    team = db.session.get(Team, commitment.team_id)
    survey_round = db.session.get(SurveyRound, commitment.round_id)
    assert team is not None and survey_round is not None
    play_id, role, due = _check(team, survey_round, data, today, unchanged_due=commitment.due_on)
    if (play_id, role, due) == (commitment.play_id, commitment.owner_role, commitment.due_on):
        return False
    before = _describe(commitment)
    commitment.play_id, commitment.owner_role, commitment.due_on = play_id, role, due
    db.session.flush()
    audit.record(
        "commitment_edited",
        actor=actor,
        organization_id=team.organization_id,
        target=_target(team, survey_round),
        detail=f"{before} -> {_describe(commitment)}",
    )
    db.session.flush()
    return True


def delete_commitment(commitment: Commitment, *, actor: User | None) -> None:
    """Delete a commitment (audited)."""
    team = db.session.get(Team, commitment.team_id)
    survey_round = db.session.get(SurveyRound, commitment.round_id)
    assert team is not None and survey_round is not None
    audit.record(
        "commitment_deleted",
        actor=actor,
        organization_id=team.organization_id,
        target=_target(team, survey_round),
        detail=_describe(commitment),
    )
    db.session.delete(commitment)
    db.session.flush()


def records(commitments: Sequence[Commitment], round_label: str) -> list[CommitmentRecord]:
    """The commitments as the analytics' plain records (no database objects)."""
    return [
        CommitmentRecord(
            play_id=c.play_id, owner_role=c.owner_role, due=c.due_on, round_label=round_label
        )
        for c in commitments
    ]


def followups(
    earlier: SurveyRound | None,
    team: Team,
    change: ChangeSinceLast | None,
    names: Mapping[str, str] | None = None,
) -> tuple[CommitmentFollowup, ...]:
    """The commitments made after ``earlier`` beside the change in their blockers since then.

    ``change`` is the report's own change since ``earlier`` (released snapshots,
    withheld where either round is under the threshold), so the follow-up never
    shows a figure the change chart does not.
    """
    if earlier is None:
        return ()
    made = records(commitments_of(team, earlier), earlier.name)
    if not made:
        return ()
    return commitment_followup(made, change_by_blocker(change, names or {}))


def change_by_blocker(
    change: ChangeSinceLast | None, names: Mapping[str, str]
) -> dict[str, BlockerChange]:
    """The report's change rows as the analytics' :class:`BlockerChange` per dimension.

    A row withheld (either round under the threshold on it) gives no entry, so
    the follow-up says the blocker was not measured in both rounds.
    """
    if change is None:
        return {}
    out = {}
    for row in change.rows:
        if row.withheld or None in (row.mean_before, row.mean_after, row.change):
            continue
        out[row.dimension] = BlockerChange(
            blocker_id=row.dimension,
            name=names.get(row.dimension, row.dimension),
            before=float(row.mean_before),  # type: ignore[arg-type]
            after=float(row.mean_after),  # type: ignore[arg-type]
            change=float(row.change),  # type: ignore[arg-type]
            ci_low=row.ci_low,
            ci_high=row.ci_high,
            p_value=None,
            n_before=row.n_before,
            n_after=row.n_after,
        )
    return out
