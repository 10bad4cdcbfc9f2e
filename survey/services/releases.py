"""Releases: when a team's results may change, applied to the database.

Results are computed from *released* responses only. After each event that
changes a team's responses (a submit, an import, an erasure, a round closing)
:func:`refresh` asks :func:`analytics.release.release_due` whether the team's
results may move, and if so publishes a :class:`~survey.models.TeamRelease`
holding every response the team has now. Between releases every view shows the
same figures, so no one can difference two views to learn one person's answers.

The round's *snapshot* is the set of its teams' latest releases; its id
(:func:`current_snapshot`) is the largest release id of the round, so it
changes exactly when some team's results change. Analyses are stored and
cached by that id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, func, select, update

from analytics.release import TeamReleaseState, newly_isolated, release_due
from reports.context import ReleaseInfo
from survey.extensions import db
from survey.models import Response, SurveyRound, Team, TeamRelease

__all__ = [
    "Snapshot",
    "TeamReleaseRow",
    "current_snapshot",
    "is_collecting",
    "refresh",
    "release_info",
    "release_overview",
    "release_settings",
    "snapshot_conditions",
    "team_states",
    "unreleased_reason",
]


def release_settings() -> tuple[int, int]:
    """(anonymity threshold, release step) from the app's configuration."""
    config = current_app.config
    return int(config["ANONYMITY_THRESHOLD"]), int(config["RELEASE_STEP"])


def is_collecting(survey_round: SurveyRound, now: datetime) -> bool:
    """Whether the round still takes answers (open and before its closing date)."""
    return survey_round.status == "open" and (
        survey_round.closes_at is None or survey_round.closes_at > now
    )


def team_states(
    survey_round: SurveyRound, team_ids: set[int] | None = None
) -> dict[int, TeamReleaseState]:
    """The release state of each team of the round that has any response or release."""
    latest = (
        select(TeamRelease.team_id, TeamRelease.n)
        .where(TeamRelease.round_id == survey_round.id)
        .order_by(TeamRelease.id)
    )
    released_n: dict[int, int] = {}
    for team_id, n in db.session.execute(_only(latest, TeamRelease.team_id, team_ids)):
        released_n[team_id] = n  # ordered by id: the last one wins
    counts = select(
        Response.team_id,
        func.count().filter(Response.release_id.is_not(None)),
        func.count().filter(Response.release_id.is_(None)),
    ).where(Response.round_id == survey_round.id, Response.status == "submitted")
    present: dict[int, int] = {}
    pending: dict[int, int] = {}
    for team_id, released, waiting in db.session.execute(
        _only(counts, Response.team_id, team_ids).group_by(Response.team_id)
    ):
        present[team_id], pending[team_id] = int(released), int(waiting)
    return {
        team_id: TeamReleaseState(
            released_n=released_n.get(team_id),
            present=present.get(team_id, 0),
            pending=pending.get(team_id, 0),
        )
        for team_id in sorted(set(released_n) | set(present))
    }


def _only(query: Any, column: Any, team_ids: set[int] | None) -> Any:
    return query if team_ids is None else query.where(column.in_(sorted(team_ids)))


def refresh(
    survey_round: SurveyRound, now: datetime, team_ids: set[int] | None = None
) -> list[TeamRelease]:
    """Publish a release for every team of the round whose release is due; flushes.

    While the round still collects answers this happens only when
    ``RELEASE_WHILE_OPEN`` is on. The teams are locked first (``FOR UPDATE`` on
    PostgreSQL; SQLite's writers are serialized anyway), so two concurrent
    submits cannot each publish a release one response apart. A due release
    that would single someone out together with the team's earlier releases
    (:func:`analytics.release.newly_isolated`) waits for further changes.
    Returns the new releases.
    """
    if is_collecting(survey_round, now) and not current_app.config["RELEASE_WHILE_OPEN"]:
        return []
    threshold, step = release_settings()
    if team_ids is not None and not team_ids:
        return []
    answered = select(Response.team_id).where(Response.round_id == survey_round.id)
    lock = _only(select(Team.id).where(Team.id.in_(answered)), Team.id, team_ids)
    db.session.execute(lock.order_by(Team.id).with_for_update())
    published = []
    for team_id, state in team_states(survey_round, team_ids).items():
        if not release_due(state, threshold=threshold, step=step):
            continue
        members = _members(survey_round, team_id)
        history = [
            r.member_ids
            for r in db.session.scalars(
                select(TeamRelease).where(
                    TeamRelease.round_id == survey_round.id,
                    TeamRelease.team_id == team_id,
                    TeamRelease.n >= threshold,
                )
            )
        ]
        if len(members) >= threshold and newly_isolated(history, [members]):
            continue  # due, but it would single someone out: wait for more changes
        removed = 0 if state.released_n is None else state.released_n - state.present
        release = TeamRelease(
            round_id=survey_round.id,
            team_id=team_id,
            n=len(members),
            added=state.pending,
            removed=removed,
            reason="first" if state.released_n is None else "step",
            created_at=now,
            members=",".join(map(str, sorted(members))),
        )
        db.session.add(release)
        db.session.flush()
        db.session.execute(
            update(Response)
            .where(Response.id.in_(sorted(members)), Response.release_id.is_(None))
            .values(release_id=release.id)
            .execution_options(synchronize_session=False)
        )
        published.append(release)
    db.session.flush()
    if published:
        from survey.services import webhooks

        webhooks.results_released(survey_round, published, now)  # sent after the commit
    return published


def _members(survey_round: SurveyRound, team_id: int) -> frozenset[int]:
    """Ids of the team's submitted responses in the round (released or pending)."""
    return frozenset(
        db.session.scalars(
            select(Response.id).where(
                Response.round_id == survey_round.id,
                Response.team_id == team_id,
                Response.status == "submitted",
            )
        )
    )


@dataclass(frozen=True)
class Snapshot:
    """What a round's results are computed from.

    ``id`` is 0 while nothing is released. ``withheld_team_ids`` are teams whose
    released responses changed since their release (erasures) without a new
    release yet: their frozen figures stay as published, but a recomputation
    leaves them out rather than publish a figure one person apart.
    """

    id: int
    withheld_team_ids: frozenset[int]


def current_snapshot(survey_round: SurveyRound) -> Snapshot:
    """The round's current snapshot (two small queries)."""
    snapshot_id = db.session.scalar(
        select(func.max(TeamRelease.id)).where(TeamRelease.round_id == survey_round.id)
    )
    if snapshot_id is None:
        return Snapshot(0, frozenset())
    withheld = frozenset(
        team_id
        for team_id, state in team_states(survey_round).items()
        if state.released_n is not None and state.present != state.released_n
    )
    return Snapshot(int(snapshot_id), withheld)


def snapshot_conditions(
    survey_round: SurveyRound, snapshot: Snapshot
) -> tuple[ColumnElement[bool], ...]:
    """SQL conditions on :class:`Response` selecting the snapshot's responses."""
    conditions: list[ColumnElement[bool]] = [
        Response.round_id == survey_round.id,
        Response.status == "submitted",
        Response.release_id.is_not(None),
    ]
    if snapshot.withheld_team_ids:
        conditions.append(Response.team_id.not_in(sorted(snapshot.withheld_team_ids)))
    return tuple(conditions)


@dataclass(frozen=True)
class TeamReleaseRow:
    """One team's published results and what waits for the next release."""

    team: str
    released: int | None
    waiting: int
    when: datetime | None


def release_overview(survey_round: SurveyRound) -> list[TeamReleaseRow]:
    """Per team of the round: responses in its latest release, waiting changes, release time."""
    latest: dict[int, TeamRelease] = {}
    for release in db.session.scalars(
        select(TeamRelease).where(TeamRelease.round_id == survey_round.id).order_by(TeamRelease.id)
    ):
        latest[release.team_id] = release
    states = team_states(survey_round)
    rows = []
    for team in survey_round.teams:
        state = states.get(team.id, TeamReleaseState(None, 0, 0))
        release = latest.get(team.id)
        removed = 0 if state.released_n is None else state.released_n - state.present
        rows.append(
            TeamReleaseRow(
                team=team.name,
                released=release.n if release is not None else None,
                waiting=state.pending + removed,
                when=release.created_at if release is not None else None,
            )
        )
    return rows


def unreleased_reason(survey_round: SurveyRound, team: Team) -> str:
    """Why a team of the round has no results to show, in one sentence."""
    threshold, step = release_settings()
    submitted = db.session.scalar(
        select(func.count()).where(
            Response.round_id == survey_round.id,
            Response.team_id == team.id,
            Response.status == "submitted",
        )
    )
    state = team_states(survey_round, {team.id}).get(team.id, TeamReleaseState(None, 0, 0))
    if state.released_n is None and int(submitted or 0) < threshold:
        return f"{submitted} of the {threshold} responses needed."
    if state.released_n is None:
        return "results are released when the round closes."
    return (
        "results are being updated after a change in the team; they return once at least"
        f" {step} responses have changed since the last release."
    )


def release_info(survey_round: SurveyRound, team: Team) -> ReleaseInfo | None:
    """When the team's latest release was made, and the step, for the report's text."""
    created = db.session.scalar(
        select(TeamRelease.created_at)
        .where(TeamRelease.round_id == survey_round.id, TeamRelease.team_id == team.id)
        .order_by(TeamRelease.id.desc())
        .limit(1)
    )
    if created is None:
        return None
    return ReleaseInfo(released_on=created.date(), step=release_settings()[1])
