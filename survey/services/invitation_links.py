"""Issuing invitation links in bulk, as rows for a CSV download or an email."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from survey.models import Participant, SurveyRound
from survey.services import rounds


@dataclass(frozen=True)
class IssuedLink:
    """A person and the link that was just issued to them (shown once, never stored)."""

    participant: Participant
    team: str
    token: str


def issue_links(
    survey_round: SurveyRound,
    participants: Iterable[Participant],
    now: datetime,
    ttl: timedelta,
) -> list[IssuedLink]:
    """Issue (or re-issue) a token for each participant; old links stop working."""
    issued = []
    for person in participants:
        _, token = rounds.issue_invitation(survey_round, person, now, ttl)
        issued.append(IssuedLink(person, person.team.name, token))
    return issued


def links_csv(links: Iterable[IssuedLink], base_url: str) -> str:
    """CSV text with participant, email, team and link; cells neutralized for spreadsheets."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["participant", "email", "team", "link"])
    for link in links:
        writer.writerow(
            [
                spreadsheet_safe(link.participant.name or ""),
                spreadsheet_safe(link.participant.email or ""),
                spreadsheet_safe(link.team),
                f"{base_url}/s/{link.token}",
            ]
        )
    return out.getvalue()


def spreadsheet_safe(value: str) -> str:
    """Prefix cells a spreadsheet would run as a formula with an apostrophe."""
    if value and value[0] in "=+-@\t\r":
        return "'" + value
    return value
