"""The deal worksheet of one team, round and counterparty: inputs from the database.

The worksheet (:func:`analytics.session_kit.build_worksheet`) is built from the
team's released diagnosis (the report context's own, never recomputed) and,
when the team has a released rating of the chosen counterparty, the gap with
it (:func:`survey.services.gap_views.counterparty_context`, paired with the
report's round as the report's counterparty page is). The printable page and
the PDF are rendered from the same :class:`~analytics.session_kit.DealWorksheet`,
so they never word it differently.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from analytics.language import use_language
from analytics.session_kit import DealWorksheet, build_worksheet
from reports.context import CounterpartyContext, TeamReportContext
from reports.worksheet import render_deal_worksheet
from survey.extensions import db
from survey.models import Counterparty, SurveyRound, Team, TeamRelease
from survey.services import gap_views, ledger
from survey.services.counterparty_rounds import RatingSuppressed

__all__ = [
    "DEAL_NAME_MAX",
    "DealWorksheetView",
    "InvalidDealName",
    "clean_deal_name",
    "deal_worksheet",
    "newest_rating_round",
    "worksheet_pdf",
]

#: Longest deal name (the counterparty's ``deal_name`` column holds as much).
DEAL_NAME_MAX = 200


class InvalidDealName(ValueError):
    """The deal name is missing, too long or holds control characters (the message says)."""


def clean_deal_name(raw: str | None, counterparty: Counterparty) -> str:
    """The deal name to print: the one given, else the counterparty's own deal name."""
    name = " ".join((raw or "").split()) or " ".join((counterparty.deal_name or "").split())
    if not name:
        raise InvalidDealName(
            f"Name the deal to prepare: {counterparty.name} has no deal name on record."
        )
    if len(name) > DEAL_NAME_MAX:
        raise InvalidDealName(f"Deal name: at most {DEAL_NAME_MAX} characters.")
    if any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in name):
        raise InvalidDealName("Deal name: use letters, digits, spaces and punctuation only.")
    return name


def newest_rating_round(team: Team, counterparty: Counterparty) -> SurveyRound | None:
    """The team's newest counterparty round about ``counterparty`` with a release for the team."""
    return db.session.scalars(
        select(SurveyRound)
        .where(
            SurveyRound.counterparty_id == counterparty.id,
            select(TeamRelease.id)
            .where(TeamRelease.round_id == SurveyRound.id, TeamRelease.team_id == team.id)
            .exists(),
        )
        .order_by(SurveyRound.created_at.desc(), SurveyRound.id.desc())
        .limit(1)
    ).first()


@dataclass(frozen=True)
class DealWorksheetView:
    """A worksheet and the released figures it was built from (for the anonymity ledger).

    ``section`` is the counterparty part when the team's rating of it is
    released and shown; ``rating_round`` its counterparty round.
    """

    worksheet: DealWorksheet
    section: CounterpartyContext | None
    rating_round: SurveyRound | None

    def shown(self, kind: str) -> list[ledger.Shown]:
        """The counterparty rating's ledger entry, when the worksheet used one."""
        if self.section is None or self.rating_round is None:
            return []
        snapshot = db.session.scalar(
            select(TeamRelease.id)
            .where(TeamRelease.round_id == self.rating_round.id)
            .order_by(TeamRelease.id.desc())
            .limit(1)
        )
        return [
            gap_views.counterparty_shown(
                kind,
                self.rating_round,
                self.section.rating,
                int(snapshot or 0),
                self.worksheet.team_name,
            )
        ]


def deal_worksheet(
    context: TeamReportContext,
    survey_round: SurveyRound,
    team: Team,
    counterparty: Counterparty,
    deal_name: str,
    threshold: int,
    language: str = "en",
) -> DealWorksheetView:
    """The worksheet for one deal with ``counterparty``, from released results only.

    Without a released rating of the counterparty (none yet, too few raters)
    the worksheet says the team has no shared rating of them yet. ``language``
    words its questions and prompts (the framework's translation).
    """
    with use_language(language):
        return _deal_worksheet(context, survey_round, team, counterparty, deal_name, threshold)


def _deal_worksheet(
    context: TeamReportContext,
    survey_round: SurveyRound,
    team: Team,
    counterparty: Counterparty,
    deal_name: str,
    threshold: int,
) -> DealWorksheetView:
    rating_round = newest_rating_round(team, counterparty)
    section = None
    if rating_round is not None:
        try:
            section = gap_views.counterparty_context(rating_round, team, survey_round, threshold)
        except (RatingSuppressed, gap_views.NoSelfResults):
            section = None
    worksheet = build_worksheet(
        context.diagnosis,
        section.gap if section is not None else None,
        deal_name,
        counterparty.name,
        context.team,
    )
    return DealWorksheetView(worksheet, section, rating_round if section is not None else None)


def worksheet_pdf(
    view: DealWorksheetView, organization: str, prepared_on: date, language: str = "en"
) -> bytes:
    """The worksheet as a PDF (the same wording as the printable page), in ``language``:
    build ``view`` with :func:`deal_worksheet` in the same language."""
    return render_deal_worksheet(
        view.worksheet, organization=organization, prepared_on=prepared_on, language=language
    )
