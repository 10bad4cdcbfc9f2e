"""Webhooks go to public addresses only: a host name that resolves to a private, loopback
or link-local address is refused at delivery without any connection, and a public one is
connected to at the very address that was checked (Host header and TLS name kept)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from survey.dbtypes import utcnow
from survey.extensions import db
from survey.models import Job, Organization, WebhookAttempt, WebhookDelivery
from survey.services import webhook_transport, webhooks
from tests.api.conftest import ApiWorld, make_tokens
from tests.conftest import make_app
from tests.survey.accounts_helpers import build_access_world, log_in

HOST = "hooks.example.com"
PUBLIC = "93.184.215.14"


@pytest.mark.parametrize(
    ("address", "loopback_allowed", "public"),
    [
        ("93.184.215.14", False, True),
        ("8.8.8.8", False, True),
        ("2606:4700:4700::1111", False, True),
        ("127.0.0.1", False, False),
        ("127.8.9.10", False, False),
        ("10.0.0.8", False, False),
        ("172.16.4.4", False, False),
        ("192.168.1.1", False, False),
        ("169.254.169.254", False, False),  # cloud metadata service
        ("100.64.0.1", False, False),  # shared address space (carrier NAT)
        ("0.0.0.0", False, False),
        ("224.0.0.1", False, False),
        ("255.255.255.255", False, False),
        ("::1", False, False),
        ("::", False, False),
        ("fe80::1", False, False),
        ("fd00::1", False, False),
        ("::ffff:10.0.0.1", False, False),  # IPv4-mapped
        ("::ffff:93.184.215.14", False, True),
        ("2002:a00:1::1", False, False),  # 6to4 of 10.0.0.1
        ("64:ff9b::a9fe:a9fe", False, False),  # NAT64 of 169.254.169.254
        ("127.0.0.1", True, True),  # the test escape hatch: loopback...
        ("::1", True, True),
        ("::ffff:127.0.0.1", True, True),
        ("10.0.0.8", True, False),  # ...and nothing else
        ("169.254.169.254", True, False),
        ("192.168.1.1", True, False),
    ],
)
def test_only_public_addresses_are_accepted(address, loopback_allowed, public):
    ip = ipaddress.ip_address(address)
    assert webhook_transport.is_public(ip, allow_loopback=loopback_allowed) is public


# ------------------------------------------------------------------ name resolution, faked
class Network:
    """``socket.getaddrinfo`` answering ``HOST`` with chosen addresses; every other lookup
    and every socket made by the webhook code recorded."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, addresses: list[str]) -> None:
        self.addresses = addresses
        self.lookups: list[str] = []
        self.sockets: list[tuple[Any, ...]] = []
        real = socket.getaddrinfo

        def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
            if host != HOST:
                return real(host, port, *args, **kwargs)
            self.lookups.append(host)
            return [
                (
                    socket.AF_INET6 if ":" in a else socket.AF_INET,
                    socket.SOCK_STREAM,
                    6,
                    "",
                    (a, port, 0, 0) if ":" in a else (a, port),
                )
                for a in self.addresses
            ]

        network = self

        class NoSocket(socket.socket):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                network.sockets.append(args)
                raise AssertionError("a socket was opened")

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        monkeypatch.setattr(socket, "socket", NoSocket)


def _app(database_url: str, tmp_path: Path, loopback: bool) -> Iterator[Flask]:
    application = make_app(
        database_url,
        tmp_path,
        JOBS_URL="immediate:",
        WEBHOOK_ALLOW_HTTP_LOOPBACK=loopback,
        WEBHOOK_RETRY_SECONDS=(0.05, 0.1),
    )
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The production rules: no loopback escape hatch."""
    yield from _app(database_url, tmp_path, loopback=False)


@pytest.fixture
def api_world(app: Flask) -> ApiWorld:
    return make_tokens(app, build_access_world(app))


def _endpoint(app: Flask, org_id: int, url: str) -> int:
    with app.app_context():
        org = db.session.get(Organization, org_id)
        endpoint, _ = webhooks.create_endpoint(org, url, ("round.closed",), actor=None,
                                               now=utcnow())  # fmt: skip
        db.session.commit()
        return endpoint.id


def _close_round(client, api_world: ApiWorld) -> None:
    world = api_world.world
    response = client.post(
        f"/api/v1/organizations/{world.org_id}/rounds/{world.round_id}/close",
        headers=api_world.auth("write"),
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "addresses",
    [["127.0.0.1"], ["10.0.0.8"], ["169.254.169.254"], [PUBLIC, "192.168.0.10"], ["fd00::5"]],
    ids=["loopback", "private", "metadata", "one-of-two-private", "ipv6-private"],
)
def test_a_name_resolving_to_a_non_public_address_is_refused_without_connecting(
    app, client, api_world, monkeypatch, addresses
):
    endpoint_id = _endpoint(app, api_world.world.org_id, f"https://{HOST}/hook")
    network = Network(monkeypatch, addresses)
    _close_round(client, api_world)
    assert network.lookups == [HOST]  # resolved once, at delivery
    assert network.sockets == []  # and no connection was even begun
    with app.app_context():
        delivery = db.session.scalars(select(WebhookDelivery)).one()
        assert (delivery.status, delivery.attempts) == ("failed", 1)  # not retried
        [attempt] = db.session.scalars(select(WebhookAttempt)).all()
        assert attempt.response_status is None
        assert attempt.error.startswith(f"Refused, nothing sent: {HOST} resolves to an address")
        assert not any(a in attempt.error for a in addresses)  # the server's network stays private
        job = db.session.scalars(select(Job).where(Job.kind == "webhook")).one()
        assert job.status == "failed" and "Refused, nothing sent" in (job.message or "")
    log_in(client, api_world.world.emails["admin"])
    page = client.get(f"/admin/{api_world.world.org_id}/api/webhooks/{endpoint_id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Refused, nothing sent" in text and "webhooks are sent to public addresses only" in text
    assert "no answer" not in text


@pytest.fixture
def loopback_app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    yield from _app(database_url, tmp_path, loopback=True)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_loopback_escape_hatch_lets_loopback_through_and_nothing_else(
    loopback_app, monkeypatch
):
    app = loopback_app
    world = make_tokens(app, build_access_world(app))
    _endpoint(app, world.world.org_id, f"https://{HOST}/hook")
    network = Network(monkeypatch, ["169.254.169.254"])
    _close_round(app.test_client(), world)
    assert network.sockets == []
    with app.app_context():
        [attempt] = db.session.scalars(select(WebhookAttempt)).all()
        assert attempt.error.startswith("Refused, nothing sent")


def test_a_stored_loopback_endpoint_is_refused_once_loopback_is_no_longer_allowed(
    app, client, api_world, monkeypatch
):
    with app.app_context():
        org = db.session.get(Organization, api_world.world.org_id)
        webhooks.create_endpoint(org, "http://127.0.0.1:8080/hook", ("round.closed",),
                                 actor=None, now=utcnow(), allow_http_loopback=True)  # fmt: skip
        db.session.commit()
    network = Network(monkeypatch, [])
    _close_round(client, api_world)
    assert network.sockets == []
    with app.app_context():
        [attempt] = db.session.scalars(select(WebhookAttempt)).all()
        assert attempt.error.startswith("Refused, nothing sent: The URL must start with https://")


# ------------------------------------------------------------------ a public name, over TLS
def _certificates(tmp_path: Path, name: str) -> tuple[Path, Path, Path]:
    """A test CA and a server certificate for ``name`` signed by it (PEM files)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)

    def build(subject: str, key: Any, issuer: x509.Name, signer: Any, ca: bool) -> Any:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if ca:
            builder = builder.add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                critical=True,
            )
        else:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False
            )
        return builder.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Negoscope test CA")])
    ca = build("Negoscope test CA", ca_key, ca_name, ca_key, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = build(name, key, ca_name, ca_key, ca=False)
    pem = serialization.Encoding.PEM
    paths = (tmp_path / "ca.pem", tmp_path / "server.pem", tmp_path / "server.key")
    paths[0].write_bytes(ca.public_bytes(pem))
    paths[1].write_bytes(leaf.public_bytes(pem))
    paths[2].write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


class TlsReceiver:
    """An HTTPS server on 127.0.0.1 answering 204, recording SNI names and requests."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.names: list[str | None] = []
        self.received: list[tuple[dict[str, str], str]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        context.sni_callback = lambda _sock, name, _ctx: self.names.append(name)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("certificate_for", [HOST, "other.example.net"])
def test_a_public_name_is_sent_to_the_checked_address_with_its_host_and_tls_name(
    app, client, api_world, monkeypatch, tmp_path, certificate_for
):
    ca, cert, key = _certificates(tmp_path, certificate_for)
    receiver = TlsReceiver(cert, key)
    trusted = ssl.create_default_context(cafile=str(ca))
    monkeypatch.setattr(webhook_transport, "tls_context", lambda: trusted)
    secret_endpoint = _endpoint(app, api_world.world.org_id, f"https://{HOST}/hook?x=1")
    assert secret_endpoint
    lookups: list[str] = []
    connected: list[tuple[int, Any]] = []
    real_getaddrinfo, real_open = socket.getaddrinfo, webhook_transport.open_socket

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if host != HOST:
            return real_getaddrinfo(host, port, *args, **kwargs)
        lookups.append(host)
        # a rebinding name: public when checked, loopback on any later lookup
        address = PUBLIC if len(lookups) == 1 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    def open_socket(family: int, sockaddr: Any, timeout: float) -> socket.socket:
        connected.append((family, sockaddr))
        # the network is faked here only: the checked public address stands for the receiver
        return real_open(socket.AF_INET, ("127.0.0.1", receiver.port), timeout)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(webhook_transport, "open_socket", open_socket)
    try:
        _close_round(client, api_world)
    finally:
        receiver.close()
    assert lookups == [HOST]  # one lookup: the address checked is the address used
    assert connected == [(socket.AF_INET, (PUBLIC, 443))]
    assert receiver.names == [HOST]  # SNI is the URL's host, not the address
    with app.app_context():
        delivery = db.session.scalars(select(WebhookDelivery)).one()
        [attempt] = db.session.scalars(select(WebhookAttempt)).all()
        secret = delivery.endpoint.secret
        if certificate_for == HOST:
            [(headers, body)] = receiver.received
            assert headers["host"] == HOST
            assert webhooks.verify(secret, headers, body, now=time.time())
            assert (delivery.status, attempt.response_status) == ("delivered", 204)
        else:  # a certificate for another name: refused by verification, nothing posted
            assert receiver.received == []
            assert attempt.response_status is None
            assert attempt.error == f"the receiver's TLS certificate is not valid for {HOST}"
            assert delivery.status == "pending"  # retried later, like other network trouble
