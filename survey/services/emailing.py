"""Emailing invitation links and reminders without holding the database during SMTP.

Three steps, so the write lock is never held while a mail server is talked to:

1. :func:`prepare_emails` (in a write transaction the caller commits): a fresh
   link per person with an email, and the message carrying it. A person whose
   message cannot be built (an address no header can carry) keeps their old
   link and is reported, and the others go on.
2. :func:`send_prepared` (no transaction open): hand the messages to SMTP.
3. :func:`record_outcome` (in a second, short write transaction the caller
   commits): every message that failed gets its old link back (or, for a
   first invitation, loses the new one), so the link the person already has
   keeps working; the audit entry says how many were sent.

A reminder carries a new link because tokens are stored only as hashes. Between
steps 1 and 3 (the send) the new link is the live one; step 3 puts the old one
back only where the invitation still has the link step 1 gave it.

Messages are written in the organization's email language when the round's
instrument is complete in it (so the questionnaire the link opens can be read
in that language too), else in English (:func:`email_language`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from gettext import NullTranslations

from flask_babel import force_locale, get_translations
from sqlalchemy import exists, select

from survey.extensions import db
from survey.i18n import DEFAULT_LANGUAGE, RESPONDENT_LANGUAGES
from survey.models import Invitation, Participant, Response, SurveyRound, User
from survey.services import audit, organizations, rounds
from survey.services.instruments import instrument_of
from survey.services.mailer import SendReport, SmtpSettings, invitation_message, send_messages
from survey.services.tokens import hash_token

DEFAULT_SENDER = "Negoscope <noreply@localhost>"
#: Messages sent over one SMTP connection between two progress reports of a job.
SEND_CHUNK = 25


@dataclass(frozen=True)
class PreparedEmail:
    """One message and what to put back if it fails (plain data: usable after commit)."""

    invitation_id: int
    address: str
    new_hash: str
    old_hash: str | None  # None: the invitation was created for this message
    old_expires_at: datetime | None
    message: EmailMessage


@dataclass(frozen=True)
class EmailBatch:
    """The prepared messages of one send, and the people none could be built for."""

    round_id: int
    kind: str
    prepared: tuple[PreparedEmail, ...] = ()
    unsendable: tuple[tuple[str, str], ...] = field(default=())


def prepare_emails(
    survey_round: SurveyRound,
    people: Iterable[Participant],
    *,
    reminder: bool,
    sender: str | None,
    base_url: str,
    now: datetime,
    ttl: timedelta,
    threshold: int,
) -> EmailBatch:
    """Issue a fresh link for each person with an email and build the message; flushes.

    People without an email, or erased, are left out. Where a message cannot
    be built, that person's invitation is put back at once and the reason
    reported in :attr:`EmailBatch.unsendable`.
    """
    prepared: list[PreparedEmail] = []
    unsendable: list[tuple[str, str]] = []
    organization = survey_round.organization.name
    language = email_language(survey_round)
    translations = catalog(language)
    for person in people:
        if not person.email or person.erased_at is not None:
            continue
        existing = db.session.scalar(
            select(Invitation).filter_by(round_id=survey_round.id, participant_id=person.id)
        )
        old_hash = existing.token_hash if existing else None
        old_expires_at = existing.expires_at if existing else None
        invitation, token = rounds.issue_invitation(survey_round, person, now, ttl)
        try:
            message = invitation_message(
                to=person.email,
                person_name=person.name,
                organization=organization,
                round_name=survey_round.name,
                link=f"{base_url}/s/{token}",
                closes_at=_local(survey_round),
                reminder=reminder,
                sender=sender or DEFAULT_SENDER,
                threshold=threshold,
                translations=translations,
                language=language,
            )
        except ValueError as error:
            _put_back(invitation, old_hash, old_expires_at)
            unsendable.append((person.email, f"not sent: {error}"))
            continue
        prepared.append(
            PreparedEmail(
                invitation.id, person.email, hash_token(token), old_hash, old_expires_at, message
            )
        )
    db.session.flush()
    return EmailBatch(
        survey_round.id,
        "reminders" if reminder else "invitations",
        tuple(prepared),
        tuple(unsendable),
    )


def email_language(survey_round: SurveyRound) -> str:
    """The language of the round's invitations and reminders.

    The organization's email language when the respondent flow is translated
    into it and the round's instrument is complete in it; else English.
    """
    wanted = survey_round.organization.language or DEFAULT_LANGUAGE
    if wanted == DEFAULT_LANGUAGE or wanted not in RESPONDENT_LANGUAGES:
        return DEFAULT_LANGUAGE
    if wanted in instrument_of(survey_round.instrument).languages:
        return wanted
    return DEFAULT_LANGUAGE


def catalog(language: str) -> NullTranslations:
    """The interface's gettext catalog for ``language`` (works in a job: no request needed)."""
    with force_locale(language):
        return get_translations()


def send_prepared(
    settings: SmtpSettings,
    batch: EmailBatch,
    progress: Callable[[int], None] | None = None,
    chunk: int = SEND_CHUNK,
) -> SendReport:
    """Send the batch's messages; touches no database (call with no transaction open).

    With ``progress``, messages go in chunks of ``chunk`` (one SMTP connection
    each) and ``progress(handed_over_so_far)`` is called after each chunk.
    """
    messages = [p.message for p in batch.prepared]
    if progress is None:
        report = send_messages(settings, messages)
        return SendReport(sent=report.sent, failed=batch.unsendable + report.failed)
    sent, failed = 0, list(batch.unsendable)
    for start in range(0, len(messages), chunk):
        part = send_messages(settings, messages[start : start + chunk])
        sent += part.sent
        failed.extend(part.failed)
        progress(min(start + chunk, len(messages)))
    return SendReport(sent=sent, failed=tuple(failed))


def record_outcome(
    batch: EmailBatch,
    report: SendReport,
    *,
    actor: User | None,
    organization_id: int,
    round_name: str,
    actor_label: str | None = None,
) -> int:
    """Give every failed message's person their old link back, and audit the send; flushes.

    Only an invitation that still has the link :func:`prepare_emails` gave it
    is put back (another admin may have re-issued it meanwhile). Returns how
    many links were put back.
    """
    failed = {address.lower() for address, _ in report.failed}
    restored = 0
    for item in batch.prepared:
        if item.address.lower() not in failed:
            continue
        invitation = db.session.get(Invitation, item.invitation_id)
        if invitation is None or invitation.token_hash != item.new_hash:
            continue
        _put_back(invitation, item.old_hash, item.old_expires_at)
        restored += 1
    audit.record(
        "invitations_emailed",
        actor=actor,
        actor_label=actor_label,
        organization_id=organization_id,
        target=round_name,
        detail=f"{batch.kind}: {report.sent} sent, {len(report.failed)} failed",
    )
    db.session.flush()
    return restored


def _put_back(
    invitation: Invitation, old_hash: str | None, old_expires_at: datetime | None
) -> None:
    """Restore the invitation's previous link, or remove one created for a message never sent."""
    if old_hash is not None:
        invitation.token_hash = old_hash
        if old_expires_at is not None:
            invitation.expires_at = old_expires_at
    elif invitation.submitted_at is None and not db.session.scalar(
        select(exists().where(Response.invitation_id == invitation.id))
    ):
        db.session.delete(invitation)
    db.session.flush()


def _local(survey_round: SurveyRound) -> datetime | None:
    """The round's closing time in its organization's time zone (emails print it so)."""
    if survey_round.closes_at is None:
        return None
    return survey_round.closes_at.astimezone(organizations.zone_of(survey_round.organization))
