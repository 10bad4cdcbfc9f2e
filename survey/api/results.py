"""API: a team's released results, under the dashboard's rules.

The figures are the dashboard's (:func:`survey.services.team_reports.team_view`):
only released snapshots, nothing for a team under the anonymity threshold,
coarsened as everywhere (:func:`analytics.coarsen.published_json`), and every
showing recorded in the anonymity ledger (kind ``api``, the token as actor,
the same fingerprint as the dashboard's for the same figures). Individual
answers are never returned.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import current_app
from flask_smorest import Blueprint

from analytics.coarsen import published_json
from survey.api import auth
from survey.api.common import round_of, team_of
from survey.api.schemas import TeamResultsSchema
from survey.database import begin_write
from survey.extensions import db
from survey.services import ledger, releases, rounds, team_reports

blp = Blueprint(
    "results",
    __name__,
    url_prefix="/api/v1/organizations",
    description="Teams' released results (the dashboard's figures and rules).",
)
blp.before_request(auth.authenticate)


@blp.route("/<int:org_id>/rounds/<int:round_id>/teams/<int:team_id>/results")
@blp.response(200, TeamResultsSchema)
def team_results(org_id: int, round_id: int, team_id: int) -> dict[str, Any]:
    """The team's latest released findings, or why there are none yet (``released: false``).

    Figures change only when the team's results are released again
    (``team.results_released`` webhook); a team under the anonymity threshold
    gets no figures at all.
    """
    org = auth.organization(org_id)
    survey_round = round_of(org, round_id)
    team = team_of(org, team_id)
    if not rounds.includes_team(survey_round, team):
        auth.abort_404("This team is not part of the round.")
    threshold = int(current_app.config["ANONYMITY_THRESHOLD"])
    base: dict[str, Any] = {"round_id": survey_round.id, "team_id": team.id, "team": team.name}
    try:
        view = team_reports.team_view(survey_round, team, threshold, date.today())
    except team_reports.TeamSuppressed:
        reason = releases.unreleased_reason(survey_round, team)
        return {**base, "released": False, "reason": f"No results yet: {reason}"}
    context = view.context
    findings = published_json({"teams": {context.team: context.diagnosis.to_dict()}})["teams"][
        context.team
    ]
    info = releases.release_info(survey_round, team)
    shown = view.shown("api", survey_round)
    label = auth.current_token().label
    begin_write()
    ledger.record(shown, actor=label)
    db.session.commit()
    return {
        **base,
        "released": True,
        "reason": None,
        "snapshot_id": view.snapshot_id,
        "released_on": None if info is None else info.released_on,
        "n": context.n,
        "findings": findings,
    }
