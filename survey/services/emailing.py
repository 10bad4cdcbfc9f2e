"""Emailing invitation links and reminders; a failed send keeps the old link working."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from survey.extensions import db
from survey.models import Invitation, Participant, SurveyRound
from survey.services import rounds
from survey.services.mailer import SendReport, SmtpSettings, invitation_message, send_messages


def email_links(
    survey_round: SurveyRound,
    people: Iterable[Participant],
    *,
    reminder: bool,
    settings: SmtpSettings,
    base_url: str,
    now: datetime,
    ttl: timedelta,
    threshold: int,
) -> SendReport:
    """Issue a fresh link for each person with an email and send it.

    A reminder carries a new link (tokens are stored only as hashes, so the
    old one cannot be resent); where a message fails, the invitation is put
    back as it was, so the link the person already has keeps working.
    """
    previous: dict[str, tuple[Invitation | None, str | None]] = {}
    messages = []
    sender = settings.sender or "Negoscope <noreply@localhost>"
    for person in people:
        if not person.email or person.erased_at is not None:
            continue
        existing = (
            db.session.query(Invitation)
            .filter_by(round_id=survey_round.id, participant_id=person.id)
            .one_or_none()
        )
        previous[person.email.lower()] = (existing, existing.token_hash if existing else None)
        _, token = rounds.issue_invitation(survey_round, person, now, ttl)
        messages.append(
            invitation_message(
                to=person.email,
                person_name=person.name,
                organization=survey_round.organization.name,
                round_name=survey_round.name,
                link=f"{base_url}/s/{token}",
                closes_at=survey_round.closes_at,
                reminder=reminder,
                sender=sender,
                threshold=threshold,
            )
        )
    report = send_messages(settings, messages)
    for address, _reason in report.failed:
        invitation, old_hash = previous.get(address.lower(), (None, None))
        if invitation is not None and old_hash is not None:
            invitation.token_hash = old_hash
        elif invitation is None:
            created = (
                db.session.query(Invitation)
                .filter(
                    Invitation.round_id == survey_round.id,
                    Invitation.participant.has(Participant.email == address),
                )
                .one_or_none()
            )
            if created is not None:
                db.session.delete(created)
    db.session.flush()
    return report
