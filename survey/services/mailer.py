"""Invitation e-mails: SMTP settings, message text and batch sending.

Staff messages (an account invitation, a password reset) carry a one-time
set-password link and nothing else of the account.

Pure helper on the standard library (``smtplib``, ``email``) and Babel's dates;
no Flask. Invitations and reminders are written in the language of the
``translations`` they are given (a gettext catalog, see
:func:`survey.services.emailing.email_language`), English without one. The
server is configured with one URL (``NEGOSCOPE_SMTP_URL``)::

    smtp://localhost:1025                                   plain, no login
    smtp://user:pass@host:2525?starttls=true&from=Negoscope%20<noreply@example.org>
    smtps://user:pass@host                                  implicit TLS (port 465)

Messages never contain anything about a person's answers: an invitation and a
reminder read the same for someone who has not started and someone halfway.
"""

from __future__ import annotations

import smtplib
import ssl
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email import policy as email_policy
from email.errors import MessageError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, make_msgid, parseaddr
from gettext import NullTranslations
from urllib.parse import parse_qs, unquote, urlsplit

from babel.dates import format_date

DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
STARTTLS_PORT = 587
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send mail; the password is left out of ``repr``."""

    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sender: str | None = None
    implicit_tls: bool = False
    starttls: bool = False


@dataclass(frozen=True)
class SendReport:
    """Outcome of a batch: messages accepted, and ``(recipient, reason)`` per failure."""

    sent: int
    failed: tuple[tuple[str, str], ...] = ()


def parse_smtp_url(url: str) -> SmtpSettings:
    """Read SMTP settings from a URL such as ``NEGOSCOPE_SMTP_URL``.

    Parameters
    ----------
    url : str
        ``smtp://[user[:password]@]host[:port][?starttls=true&from=...]`` or
        ``smtps://...`` for implicit TLS. User name, password and query values
        are percent-decoded. Default ports: 25 (587 with ``starttls``) and 465.

    Returns
    -------
    SmtpSettings

    Raises
    ------
    ValueError
        When the URL is malformed, with a message naming the problem (the
        password is never repeated in it).

    Examples
    --------
    >>> s = parse_smtp_url("smtp://me:s%40cret@mail.example.org:2525?starttls=true"
    ...                    "&from=Negoscope%20%3Cnoreply@example.org%3E")
    >>> s.host, s.port, s.username, s.password, s.starttls, s.sender
    ('mail.example.org', 2525, 'me', 's@cret', True, 'Negoscope <noreply@example.org>')
    >>> parse_smtp_url("smtps://mail.example.org").port
    465
    """
    if not isinstance(url, str) or not url.strip():
        raise ValueError("NEGOSCOPE_SMTP_URL is empty; expected e.g. smtp://localhost:1025")
    try:
        parts = urlsplit(url.strip())
    except ValueError as exc:
        raise ValueError(f"NEGOSCOPE_SMTP_URL is not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        shown = f"{parts.scheme}://" if parts.scheme else "no scheme"
        raise ValueError(
            f"NEGOSCOPE_SMTP_URL must start with smtp:// or smtps:// (got {shown}), "
            "e.g. smtp://user:password@mail.example.org:587?starttls=true"
        )
    if not parts.hostname:
        raise ValueError("NEGOSCOPE_SMTP_URL has no host name, e.g. smtp://mail.example.org")
    if parts.path not in ("", "/") or parts.fragment:
        raise ValueError("NEGOSCOPE_SMTP_URL must not have a path or #fragment after the host")
    try:
        explicit_port = parts.port
    except ValueError:
        raise ValueError(
            "NEGOSCOPE_SMTP_URL has an invalid port; it must be a number from 1 to 65535"
        ) from None
    if explicit_port == 0:
        raise ValueError("NEGOSCOPE_SMTP_URL has port 0; it must be a number from 1 to 65535")

    options = _query(parts.query)
    starttls = _flag(options.pop("starttls", "false"), "starttls")
    sender = options.pop("from", None)
    if options:
        raise ValueError(
            f"NEGOSCOPE_SMTP_URL has unknown option(s) {', '.join(sorted(options))}; "
            "known: from, starttls"
        )
    if scheme == "smtps" and starttls:
        raise ValueError("smtps:// already uses TLS; drop starttls=true or use smtp://")
    if sender is not None and "@" not in parseaddr(sender)[1]:
        raise ValueError(f"the from= address {sender!r} is not an e-mail address")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if password is not None and not username:
        raise ValueError("NEGOSCOPE_SMTP_URL has a password but no user name")
    port = explicit_port or (STARTTLS_PORT if starttls else DEFAULT_PORTS[scheme])
    return SmtpSettings(
        host=parts.hostname,
        port=port,
        username=username,
        password=password,
        sender=sender,
        implicit_tls=scheme == "smtps",
        starttls=starttls,
    )


def _query(query: str) -> dict[str, str]:
    try:
        parsed = parse_qs(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise ValueError(f"NEGOSCOPE_SMTP_URL has a malformed query {query!r}") from None
    repeated = [key for key, values in parsed.items() if len(values) > 1]
    if repeated:
        raise ValueError(f"NEGOSCOPE_SMTP_URL repeats the option(s) {', '.join(repeated)}")
    return {key.lower(): values[0] for key, values in parsed.items()}


def _flag(value: str, name: str) -> bool:
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ValueError(f"NEGOSCOPE_SMTP_URL option {name} must be true or false, not {value!r}")


def invitation_message(
    *,
    to: str,
    person_name: str | None,
    organization: str,
    round_name: str,
    link: str,
    closes_at: datetime | None,
    reminder: bool,
    sender: str,
    threshold: int = 5,
    translations: NullTranslations | None = None,
    language: str = "en",
) -> EmailMessage:
    """A plain-text invitation (or reminder) to answer a survey round.

    Parameters
    ----------
    to : str
        The recipient's address.
    person_name : str or None
        Used in the greeting and the ``To`` header when given.
    organization, round_name : str
        Who runs the survey, and which round it is.
    link : str
        The personal survey link.
    closes_at : datetime or None
        When the round closes; naive values are taken as UTC.
    reminder : bool
        Whether this is a reminder (said in the subject and the body).
    sender : str
        The ``From`` header, e.g. ``"Negoscope <noreply@example.org>"``.
    threshold : int, optional
        The smallest team whose results coaches can see.
    translations : gettext.NullTranslations, optional
        The catalog the message is written with (English without one).
    language : str, optional
        Its language code, for the closing date (``"fr"``: "vendredi 14 mars 2025").

    Returns
    -------
    email.message.EmailMessage

    Raises
    ------
    ValueError
        When ``to`` is not an address a header can carry (e.g. a non-ASCII
        local part), or the headers do not read back as set. Names never
        cause this: line breaks, control characters and encoded words are
        made harmless first.

    Examples
    --------
    >>> msg = invitation_message(to="ada@example.org", person_name="Ada", organization="Acme",
    ...     round_name="Spring 2025", link="https://s.example.org/r/abc", closes_at=None,
    ...     reminder=True, sender="noreply@example.org")
    >>> msg["Subject"], msg["To"]
    ('Reminder: Acme negotiation survey (Spring 2025)', 'Ada <ada@example.org>')
    """
    _ = (translations or NullTranslations()).gettext
    organization, round_name = _one_line(organization), _one_line(round_name)
    names = {"organization": organization, "round": round_name}
    if reminder:
        subject = _("Reminder: %(organization)s negotiation survey (%(round)s)") % names
    else:
        subject = _("%(organization)s negotiation survey (%(round)s)") % names
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = sender
    try:
        msg["To"] = Address(display_name=_one_line(person_name), addr_spec=to)
    except (ValueError, MessageError):  # the email package's defects are ValueErrors
        raise ValueError(f"{to!r} cannot be written as an email address") from None
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = make_msgid(domain=_domain(sender))
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(
        _body(
            name=_one_line(person_name) if person_name else None,
            organization=organization,
            round_name=round_name,
            link=link,
            closes_at=closes_at,
            reminder=reminder,
            threshold=threshold,
            translations=translations or NullTranslations(),
            language=language,
        )
    )
    _check_headers(msg, to)
    return msg


def staff_invitation_message(
    *,
    to: str,
    organization: str,
    role: str,
    invited_by: str,
    link: str,
    expires_at: datetime,
    sender: str,
) -> EmailMessage:
    """A plain-text invitation to a staff account, with its one-time set-password link.

    Raises ValueError when ``to`` cannot be written into a header (see
    :func:`invitation_message`).

    Examples
    --------
    >>> msg = staff_invitation_message(to="cory@example.org", organization="Acme",
    ...     role="coach", invited_by="ada@example.org", link="https://s.example.org/x",
    ...     expires_at=datetime(2025, 3, 14, 17, tzinfo=UTC), sender="noreply@example.org")
    >>> msg["Subject"]
    'Your Negoscope account for Acme'
    """
    organization = _one_line(organization)
    body = (
        "Hello,\n\n"
        f"{_one_line(invited_by)} invited you to Negoscope as {_article(role)} {_one_line(role)} "
        f"of {organization}.\n\n"
        "Choose your password with this link. It works once, until "
        f"{_when(expires_at)}; please do not forward it:\n{link}\n\n"
        "Then log in with this email address and your new password.\n\n"
        "If you did not expect this message, you can ignore it.\n"
        "-- \n"
        f"Sent by Negoscope on behalf of {organization}.\n"
    )
    return _staff_message(to, f"Your Negoscope account for {organization}", body, sender)


def password_reset_message(
    *, to: str, link: str, expires_at: datetime, sender: str
) -> EmailMessage:
    """A plain-text message with a one-time link to choose a new password.

    Raises ValueError when ``to`` cannot be written into a header.

    Examples
    --------
    >>> msg = password_reset_message(to="cory@example.org", link="https://s.example.org/x",
    ...     expires_at=datetime(2025, 3, 14, 17, tzinfo=UTC), sender="noreply@example.org")
    >>> msg["Subject"], msg["To"]
    ('Set a new Negoscope password', 'cory@example.org')
    """
    body = (
        "Hello,\n\n"
        "Someone, hopefully you, asked to set a new password for the Negoscope account "
        "of this email address.\n\n"
        f"Choose a new password with this link. It works once, until {_when(expires_at)}; "
        f"please do not forward it:\n{link}\n\n"
        "If you did not ask for this, ignore this message: your password stays as it is.\n"
        "-- \n"
        "Sent by Negoscope.\n"
    )
    return _staff_message(to, "Set a new Negoscope password", body, sender)


def _staff_message(to: str, subject: str, body: str, sender: str) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = sender
    try:
        msg["To"] = Address(addr_spec=to)
    except (ValueError, MessageError):
        raise ValueError(f"{to!r} cannot be written as an email address") from None
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = make_msgid(domain=_domain(sender))
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(body)
    _check_headers(msg, to)
    return msg


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _body(
    *,
    name: str | None,
    organization: str,
    round_name: str,
    link: str,
    closes_at: datetime | None,
    reminder: bool,
    threshold: int,
    translations: NullTranslations,
    language: str,
) -> str:
    _, ngettext = translations.gettext, translations.ngettext
    names = {"organization": organization, "round": round_name}
    greeting = _("Hello %(name)s,") % {"name": name} if name else _("Hello,")
    if reminder:
        opening = (
            _(
                "This is a friendly reminder: %(organization)s's negotiation survey "
                '"%(round)s" is still open. If you have already completed it, '
                "thank you - you can ignore this message."
            )
            % names
        )
    else:
        opening = (
            _(
                '%(organization)s invites you to a short survey, "%(round)s", about how '
                "your team negotiates."
            )
            % names
        )
    closing = ""
    if closes_at:
        when = _when(closes_at, language, translations)
        closing = _("The survey closes on %(when)s.") % {"when": when} + "\n\n"
    confidential = ngettext(
        "Your answers are confidential. Coaches and managers see only combined results "
        "for a whole team, and only when at least %(num)d person in that team has "
        "answered. Nobody sees what any one person answered.",
        "Your answers are confidential. Coaches and managers see only combined results "
        "for a whole team, and only when at least %(num)d people in that team have "
        "answered. Nobody sees what any one person answered.",
        threshold,
    ) % {"num": threshold}
    return (
        f"{greeting}\n\n"
        f"{opening}\n\n"
        + _(
            "The survey helps your team see what gets in the way of deals that work for "
            "both sides - such as trust, time pressure, fixed-pie thinking, internal "
            "misalignment or power imbalance - and which practices would help most. "
            "It takes about 8 minutes. There are no right or wrong answers."
        )
        + "\n\n"
        + f"{confidential}\n\n"
        + _("Your personal link (please do not forward it):")
        + f"\n{link}\n\n"
        + closing
        + _("Thank you!")
        + "\n-- \n"
        + _("Sent by Negoscope on behalf of %(organization)s.") % names
        + "\n"
    )


def _when(
    moment: datetime, language: str = "en", translations: NullTranslations | None = None
) -> str:
    """A date and time, e.g. "Friday 14 March 2025 at 17:00 UTC".

    English is written the same on every machine (no locale); another language
    takes its day and month names from Babel ("vendredi 14 mars 2025 à 17:00 UTC").
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    zone = moment.tzname() or "UTC"
    if language != "en":
        _ = (translations or NullTranslations()).gettext
        day = format_date(moment.date(), format="full", locale=language)
        return _("%(day)s at %(time)s %(zone)s") % {
            "day": day,
            "time": f"{moment:%H:%M}",
            "zone": zone,
        }
    return (
        f"{_WEEKDAYS[moment.weekday()]} {moment.day} {_MONTHS[moment.month - 1]} "
        f"{moment.year} at {moment:%H:%M} {zone}"
    )


def _one_line(text: str | None) -> str:
    """Text safe for a header: one line, no control characters, no encoded words.

    Whitespace (line breaks included) is collapsed and other control
    characters dropped. ``=?`` becomes ``= ?``: the email package decodes an
    RFC 2047 encoded word such as ``=?utf-8?q?a=0D=0ABcc:_x@y?=`` when the
    header is set, even inside a quoted display name, and would write the line
    break it hides into the message.
    """
    printable = "".join(
        ch for ch in (text or "") if ch.isspace() or unicodedata.category(ch) != "Cc"
    )
    return " ".join(printable.split()).replace("=?", "= ?")


def _check_headers(msg: EmailMessage, to: str) -> None:
    """Raise ValueError unless the generated message has the headers set, addressed to ``to``.

    The last line of defence against header injection: whatever the names
    held, the message must read back with one ``To`` address and no other
    recipient header.
    """
    parsed = message_from_bytes(msg.as_bytes(), policy=email_policy.default)
    names = {name.lower() for name in parsed}
    addresses = [address for _, address in getaddresses(parsed.get_all("To", []))]
    if (
        names & {"cc", "bcc", "resent-to"}
        or addresses != [to]
        or names != {name.lower() for name in msg}
    ):
        raise ValueError("the name or address cannot be written into an email header safely")


def _domain(sender: str) -> str | None:
    address = parseaddr(sender)[1]
    return address.rpartition("@")[2] or None


def send_messages(
    settings: SmtpSettings, messages: Iterable[EmailMessage], *, timeout: float = 10
) -> SendReport:
    """Send messages over one SMTP connection; never raises for delivery problems.

    Parameters
    ----------
    settings : SmtpSettings
        The server to use (see :func:`parse_smtp_url`).
    messages : iterable of EmailMessage
        Complete messages with ``From`` and ``To`` headers.
    timeout : float, optional
        Seconds to wait for the server on each network operation.

    Returns
    -------
    SendReport
        ``sent`` counts messages the server accepted for at least one
        recipient; ``failed`` lists ``(recipient, reason)`` for every refused
        recipient and every message that could not be handed over (all of
        them, with the same reason, when the server cannot be reached or the
        login fails). When the server drops the connection mid-batch, that
        message fails and the rest go over a new connection.
    """
    pending = list(messages)
    if not pending:
        return SendReport(sent=0)
    sent = 0
    failed: list[tuple[str, str]] = []
    client: smtplib.SMTP | None = None
    try:
        for index, msg in enumerate(pending):
            recipients = _recipients(msg)
            if not recipients:
                failed.append(("(no recipient)", "the message has no To address"))
                continue
            if client is None:
                try:
                    client = _connect(settings, timeout)
                except (OSError, smtplib.SMTPException) as exc:
                    reason = _connection_problem(settings, exc)
                    failed.extend((r, reason) for m in pending[index:] for r in _recipients(m))
                    break
            accepted, problems = _send_one(client, msg, recipients)
            sent += accepted
            failed.extend(problems)
            if client.sock is None:  # the server hung up (a 421 reply or a dropped connection)
                client = None
    finally:
        if client is not None:
            _close(client)
    return SendReport(sent=sent, failed=tuple(failed))


def _send_one(
    client: smtplib.SMTP, msg: EmailMessage, recipients: list[str]
) -> tuple[bool, list[tuple[str, str]]]:
    """Whether the server took the message, and ``(recipient, reason)`` per failure."""
    try:
        refused = client.send_message(msg)
    except smtplib.SMTPRecipientsRefused as exc:
        return False, [(r, _smtp_reason(*reply)) for r, reply in exc.recipients.items()]
    except smtplib.SMTPResponseException as exc:  # sender or data refused
        reason = _smtp_reason(exc.smtp_code, exc.smtp_error)
    except (smtplib.SMTPNotSupportedError, ValueError) as exc:  # e.g. needs SMTPUTF8
        reason = f"not sent: {_describe(exc)}"
    except (OSError, smtplib.SMTPException) as exc:
        client.close()
        reason = f"connection lost: {_describe(exc)}"
    else:
        return True, [(r, _smtp_reason(*reply)) for r, reply in refused.items()]
    return False, [(r, reason) for r in recipients]


def _connect(settings: SmtpSettings, timeout: float) -> smtplib.SMTP:
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if settings.implicit_tls:
        client = smtplib.SMTP_SSL(settings.host, settings.port, timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(settings.host, settings.port, timeout=timeout)
    try:
        client.ehlo_or_helo_if_needed()
        if settings.starttls:
            client.starttls(context=context)
            client.ehlo()
        if settings.username:
            client.login(settings.username, settings.password or "")
    except BaseException:
        _close(client)
        raise
    return client


def _close(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except (OSError, smtplib.SMTPException):
        client.close()


def _recipients(msg: EmailMessage) -> list[str]:
    fields = [value for name in ("To", "Cc", "Bcc") for value in msg.get_all(name, [])]
    return [address for _, address in getaddresses(fields) if address]


def _connection_problem(settings: SmtpSettings, exc: BaseException) -> str:
    where = f"{settings.host}:{settings.port}"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"login to {where} failed: {_smtp_reason(exc.smtp_code, exc.smtp_error)}"
    return f"cannot connect to the mail server {where}: {_describe(exc)}"


def _smtp_reason(code: int, error: bytes | str) -> str:
    text = error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error)
    return f"{code} {' '.join(text.split())}"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | smtplib.SMTPServerDisconnected) and not str(exc):
        return type(exc).__name__
    return str(exc) or type(exc).__name__
