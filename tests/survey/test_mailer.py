"""Tests for the mailer: URL settings, message text, and sending to a real local SMTP server.

The server is ``aiosmtpd`` (a test dependency) listening on a free loopback port.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest

from survey.services.mailer import (
    SendReport,
    SmtpSettings,
    invitation_message,
    parse_smtp_url,
    send_messages,
)

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")
aiosmtpd_smtp = pytest.importorskip("aiosmtpd.smtp")

SENDER = "Negoscope <noreply@example.org>"
LINK = "https://survey.example.org/r/Zx81-token_abc"


# --- parse_smtp_url -------------------------------------------------------------------------


def test_url_with_login_starttls_and_from() -> None:
    settings = parse_smtp_url(
        "smtp://user:p%40ss%3Aword@mail.example.org:2525"
        "?from=Negoscope%20<noreply@example.org>&starttls=true"
    )
    assert settings == SmtpSettings(
        host="mail.example.org",
        port=2525,
        username="user",
        password="p@ss:word",
        sender="Negoscope <noreply@example.org>",
        implicit_tls=False,
        starttls=True,
    )


def test_local_url_without_login() -> None:
    assert parse_smtp_url("smtp://localhost:1025") == SmtpSettings(host="localhost", port=1025)


@pytest.mark.parametrize(
    ("url", "port", "implicit_tls", "starttls"),
    [
        ("smtp://mail.example.org", 25, False, False),
        ("smtp://mail.example.org?starttls=true", 587, False, True),
        ("smtp://mail.example.org/?starttls=no", 25, False, False),
        ("SMTPS://u:p@mail.example.org", 465, True, False),
        ("smtps://mail.example.org:4650", 4650, True, False),
        ("smtp://[::1]:1025", 1025, False, False),
    ],
)
def test_default_ports_and_tls(url: str, port: int, implicit_tls: bool, starttls: bool) -> None:
    settings = parse_smtp_url(url)
    assert (settings.port, settings.implicit_tls, settings.starttls) == (
        port,
        implicit_tls,
        starttls,
    )


def test_password_is_not_in_repr() -> None:
    assert "hunter2" not in repr(parse_smtp_url("smtp://me:hunter2@mail.example.org"))


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("", "empty"),
        ("mail.example.org:25", "must start with smtp:// or smtps://"),
        ("http://mail.example.org", "must start with smtp:// or smtps://"),
        ("smtp://", "no host name"),
        ("smtp://u:secret@mail.example.org:port", "invalid port"),
        ("smtp://u:secret@mail.example.org:70000", "invalid port"),
        ("smtp://mail.example.org:0", "port 0"),
        ("smtp://mail.example.org/inbox", "path"),
        ("smtp://mail.example.org?starttls=maybe", "starttls must be true or false"),
        ("smtp://mail.example.org?tls=1", "unknown option(s) tls"),
        ("smtp://mail.example.org?starttls=1&starttls=0", "repeats"),
        ("smtps://mail.example.org?starttls=true", "already uses TLS"),
        ("smtp://:secret@mail.example.org", "password but no user name"),
        ("smtp://mail.example.org?from=nobody", "not an e-mail address"),
        ("smtp://[::1:25", "not a valid URL"),
    ],
)
def test_malformed_urls_are_clear_errors(url: str, fragment: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_smtp_url(url)
    assert fragment in str(caught.value)
    assert "secret" not in str(caught.value)


# --- invitation_message ---------------------------------------------------------------------


def invitation(**overrides: Any) -> EmailMessage:
    arguments: dict[str, Any] = {
        "to": "ada@example.org",
        "person_name": "Ada Lovelace",
        "organization": "Acme",
        "round_name": "Spring 2025",
        "link": LINK,
        "closes_at": datetime(2025, 3, 14, 17, 0, tzinfo=UTC),
        "reminder": False,
        "sender": SENDER,
    }
    arguments.update(overrides)
    return invitation_message(**arguments)


def test_invitation_headers() -> None:
    msg = invitation()
    assert msg["Subject"] == "Acme negotiation survey (Spring 2025)"
    assert msg["From"] == SENDER
    assert msg["To"] == "Ada Lovelace <ada@example.org>"
    assert msg["Message-ID"].endswith("@example.org>")
    assert msg["Date"]
    assert msg.get_content_type() == "text/plain"


def test_invitation_body() -> None:
    body = invitation(threshold=4).get_content()
    assert body.startswith("Hello Ada Lovelace,\n")
    assert f"\n{LINK}\n" in body
    assert "about 8 minutes" in body
    assert "at least 4 people" in body
    assert "negotiate" in body
    assert "closes on Friday 14 March 2025 at 17:00 UTC" in body
    assert "reminder" not in body.lower()


def test_default_threshold_is_five() -> None:
    assert "at least 5 people" in invitation().get_content()


def test_reminder_says_so_in_subject_and_body() -> None:
    msg = invitation(reminder=True)
    assert msg["Subject"] == "Reminder: Acme negotiation survey (Spring 2025)"
    body = msg.get_content()
    assert "reminder" in body
    assert LINK in body


def test_without_name_and_closing_date() -> None:
    msg = invitation(person_name=None, closes_at=None)
    assert msg["To"] == "ada@example.org"
    body = msg.get_content()
    assert body.startswith("Hello,\n")
    assert "closes" not in body


def test_naive_closing_time_is_utc_and_aware_time_keeps_its_zone() -> None:
    naive = invitation(closes_at=datetime(2025, 1, 6, 9, 30)).get_content()
    assert "Monday 6 January 2025 at 09:30 UTC" in naive
    cet = timezone(timedelta(hours=1), "CET")
    aware = invitation(closes_at=datetime(2025, 1, 6, 9, 30, tzinfo=cet)).get_content()
    assert "Monday 6 January 2025 at 09:30 CET" in aware


def test_line_breaks_cannot_inject_headers() -> None:
    msg = invitation(round_name="Q1\r\nBcc: victim@example.org", person_name="A\nB")
    assert msg["Bcc"] is None
    assert msg["Subject"] == "Acme negotiation survey (Q1 Bcc: victim@example.org)"
    assert msg["To"] == "A B <ada@example.org>"


@pytest.mark.parametrize(
    "hidden", ["=?utf-8?q?Ada=0D=0ABcc:_victim@example.org?=", "=?utf-8?b?QWRhDQpCY2M6IHZAZS5v?="]
)
def test_encoded_line_breaks_cannot_inject_headers(hidden: str) -> None:
    msg = invitation(person_name=hidden, organization=hidden, round_name=hidden)
    parsed = message_from_bytes(msg.as_bytes(), policy=policy.default)
    assert parsed["Bcc"] is None and parsed["Cc"] is None
    assert [a.addr_spec for a in parsed["To"].addresses] == ["ada@example.org"]
    assert "\n" not in parsed["To"] and "\n" not in parsed["Subject"]


def test_control_characters_are_dropped_from_headers() -> None:
    msg = invitation(person_name="Ad\x00a\x1b", round_name="Q\x7f1")
    assert msg["To"] == "Ada <ada@example.org>"
    assert msg["Subject"] == "Acme negotiation survey (Q1)"


@pytest.mark.parametrize("address", ["pät@example.org", "a@b@example.org", "nobody"])
def test_address_no_header_can_carry_is_a_value_error(address: str) -> None:
    with pytest.raises(ValueError, match="cannot be written as an email address"):
        invitation(to=address)


def test_non_ascii_names_survive_encoding() -> None:
    msg = invitation(person_name="Zoë Ørsted", organization="Zürich AG")
    parsed = message_from_bytes(msg.as_bytes(), policy=policy.default)
    assert parsed["To"].addresses[0].display_name == "Zoë Ørsted"
    assert "Zürich AG" in parsed.get_content()


# --- send_messages against a real SMTP server -------------------------------------------------


@dataclass
class Collector:
    """aiosmtpd handler keeping every accepted envelope; refuses some addresses."""

    envelopes: list[Any] = field(default_factory=list)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address.endswith("@refused.example"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if "reject-data@" in " ".join(envelope.rcpt_tos):
            return "554 5.6.0 Message rejected"
        if "hang-up@" in " ".join(envelope.rcpt_tos):
            return "421 4.3.2 Service shutting down"
        envelope.peer = session.peer
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def received(self) -> list[EmailMessage]:
        return [
            message_from_bytes(envelope.original_content, policy=policy.default)  # type: ignore[misc]
            for envelope in self.envelopes
        ]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    settings: SmtpSettings
    handler: Collector


def start_server(**kwargs: Any) -> tuple[Any, Collector]:
    handler = Collector()
    controller = aiosmtpd_controller.Controller(
        handler, hostname="127.0.0.1", port=free_port(), **kwargs
    )
    controller.start()
    return controller, handler


@pytest.fixture
def server() -> Iterator[Server]:
    controller, handler = start_server()
    try:
        yield Server(SmtpSettings(host="127.0.0.1", port=controller.port), handler)
    finally:
        controller.stop()


def test_invitations_and_reminder_arrive(server: Server) -> None:
    messages = [
        invitation(to="ada@example.org", link=f"{LINK}-1"),
        invitation(to="bob@example.org", person_name=None, link=f"{LINK}-2"),
        invitation(to="cy@example.org", reminder=True, link=f"{LINK}-3"),
    ]
    report = send_messages(server.settings, messages, timeout=5)
    assert report == SendReport(sent=3, failed=())
    envelopes = server.handler.envelopes
    assert [envelope.rcpt_tos for envelope in envelopes] == [
        ["ada@example.org"],
        ["bob@example.org"],
        ["cy@example.org"],
    ]
    assert {envelope.mail_from for envelope in envelopes} == {"noreply@example.org"}
    assert len({envelope.peer for envelope in envelopes}) == 1  # one connection
    received = server.handler.received()
    assert [msg["Subject"] for msg in received] == [
        "Acme negotiation survey (Spring 2025)",
        "Acme negotiation survey (Spring 2025)",
        "Reminder: Acme negotiation survey (Spring 2025)",
    ]
    assert all(msg["From"] == SENDER for msg in received)
    for number, msg in enumerate(received, start=1):
        assert f"{LINK}-{number}\n" in msg.get_content().replace("\r\n", "\n")


def test_refused_recipient_does_not_stop_the_others(server: Server) -> None:
    messages = [
        invitation(to="ada@example.org"),
        invitation(to="ghost@refused.example"),
        invitation(to="reject-data@example.org"),
        invitation(to="bob@example.org"),
    ]
    report = send_messages(server.settings, messages, timeout=5)
    assert report.sent == 2
    assert report.failed == (
        ("ghost@refused.example", "550 5.1.1 No such user here"),
        ("reject-data@example.org", "554 5.6.0 Message rejected"),
    )
    assert [envelope.rcpt_tos for envelope in server.handler.envelopes] == [
        ["ada@example.org"],
        ["bob@example.org"],
    ]


def test_server_hanging_up_fails_that_message_and_reconnects_for_the_rest(
    server: Server,
) -> None:
    messages = [invitation(to="ada@example.org"), invitation(to="hang-up@example.org")]
    messages.append(invitation(to="bob@example.org"))
    report = send_messages(server.settings, messages, timeout=5)
    assert report == SendReport(
        sent=2, failed=(("hang-up@example.org", "421 4.3.2 Service shutting down"),)
    )
    envelopes = server.handler.envelopes
    assert [envelope.rcpt_tos for envelope in envelopes] == [
        ["ada@example.org"],
        ["bob@example.org"],
    ]
    assert envelopes[0].peer != envelopes[1].peer  # a second connection


def test_one_refused_recipient_of_several_on_a_message(server: Server) -> None:
    msg = invitation(to="ada@example.org")
    msg["Cc"] = "ghost@refused.example"
    report = send_messages(server.settings, [msg], timeout=5)
    assert report == SendReport(
        sent=1, failed=(("ghost@refused.example", "550 5.1.1 No such user here"),)
    )


def test_unreachable_server_is_reported_for_every_recipient() -> None:
    settings = SmtpSettings(host="127.0.0.1", port=free_port())  # nothing listens there
    messages = [invitation(to="ada@example.org"), invitation(to="bob@example.org")]
    report = send_messages(settings, messages, timeout=2)
    assert report.sent == 0
    assert [recipient for recipient, _ in report.failed] == ["ada@example.org", "bob@example.org"]
    for _, reason in report.failed:
        assert reason.startswith(f"cannot connect to the mail server 127.0.0.1:{settings.port}")


def test_login_with_password() -> None:
    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        ok = (data.login, data.password) == (b"me", b"s3cret")
        return aiosmtpd_smtp.AuthResult(success=ok, handled=False)

    controller, handler = start_server(authenticator=authenticator, auth_require_tls=False)
    try:
        good = parse_smtp_url(f"smtp://me:s3cret@127.0.0.1:{controller.port}")
        assert send_messages(good, [invitation()], timeout=5) == SendReport(sent=1)
        bad = parse_smtp_url(f"smtp://me:wrong@127.0.0.1:{controller.port}")
        report = send_messages(bad, [invitation()], timeout=5)
    finally:
        controller.stop()
    assert report.sent == 0
    ((recipient, reason),) = report.failed
    assert recipient == "ada@example.org"
    assert reason.startswith(f"login to 127.0.0.1:{controller.port} failed: 535")
    assert len(handler.envelopes) == 1


def test_nothing_to_send_does_not_connect() -> None:
    settings = SmtpSettings(host="127.0.0.1", port=free_port())
    assert send_messages(settings, []) == SendReport(sent=0)


def test_message_without_recipient_is_a_failure(server: Server) -> None:
    msg = invitation()
    del msg["To"]
    report = send_messages(server.settings, [msg, invitation()], timeout=5)
    assert report == SendReport(
        sent=1, failed=(("(no recipient)", "the message has no To address"),)
    )
