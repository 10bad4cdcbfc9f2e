"""Login throttling slows guessing without locking the real user out; weak passwords are refused.

See the docstring of :mod:`survey.services.accounts` for the limits.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from survey import config
from survey.dbtypes import utcnow
from survey.services import accounts
from survey.services.passwords import common_passwords, password_problem
from tests.conftest import make_app
from tests.survey.accounts_helpers import PASSWORD, build_access_world
from tests.survey.respond_helpers import csrf_from

ADMIN = "admin@a.example"


class Clock:
    """AUTH_CLOCK for tests: now, moved on by hand."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self):  # type: ignore[no-untyped-def]
        return self.now


def browser(app: Flask, address: str, forwarded_for: str | None = None) -> FlaskClient:
    """A test client that connects from ``address`` (optionally through a proxy)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    if forwarded_for:
        client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return client


def attempt(client: FlaskClient, password: str, email: str = ADMIN) -> int:
    token = csrf_from(client.get("/login"))
    data = {"csrf_token": token, "email": email, "password": password}
    return client.post("/login", data=data).status_code


@pytest.fixture
def clocked(app: Flask) -> tuple[Flask, Clock]:
    clock = Clock()
    app.config["AUTH_CLOCK"] = clock
    build_access_world(app)
    return app, clock


def test_a_guesser_elsewhere_does_not_lock_the_user_out(clocked) -> None:  # type: ignore[no-untyped-def]
    app, _ = clocked
    guesser = browser(app, "198.51.100.66")
    limit = accounts.LOGIN_LIMIT_PER_ACCOUNT_AND_ADDRESS.attempts
    codes = [attempt(guesser, f"guess {i}!") for i in range(limit + 1)]
    assert codes == [401] * limit + [429], "the guesser's own address is slowed down"
    assert attempt(browser(app, "203.0.113.7"), PASSWORD) == 302, "the user gets in"


def test_many_guessers_lock_new_browsers_but_not_one_the_user_logged_in_from(clocked) -> None:  # type: ignore[no-untyped-def]
    app, clock = clocked
    laptop = browser(app, "203.0.113.7")
    assert attempt(laptop, PASSWORD) == 302  # an earlier login: the laptop is trusted now
    laptop.post("/logout", data={"csrf_token": csrf_from(laptop.get("/account/password"))})

    per_address = accounts.LOGIN_LIMIT_PER_ACCOUNT_AND_ADDRESS.attempts - 1
    addresses = -(-accounts.LOGIN_LIMIT_PER_ACCOUNT.attempts // per_address)
    for n in range(addresses):  # a botnet: a few guesses from each of many addresses
        guesser = browser(app, f"198.51.100.{n + 1}")
        assert {attempt(guesser, f"guess {n}-{i}!") for i in range(per_address)} == {401}

    new_phone = browser(app, "203.0.113.8")
    assert attempt(new_phone, PASSWORD) == 429, "an unknown browser waits"
    assert attempt(laptop, PASSWORD) == 302, "the user's own browser gets in at once"
    clock.now += accounts.WINDOW + timedelta(seconds=1)
    assert attempt(new_phone, PASSWORD) == 302, "and the new one once the window has passed"


def test_a_trusted_device_cookie_is_for_its_account_only(clocked) -> None:  # type: ignore[no-untyped-def]
    app, _ = clocked
    secret = app.config["SECRET_KEY"]
    value, nonce = accounts.device_cookie(ADMIN, secret)
    assert accounts.trusted_device(value, ADMIN, secret) == nonce
    assert accounts.trusted_device(value, "coach1@a.example", secret) is None
    assert accounts.trusted_device(value, ADMIN, "another secret") is None
    assert accounts.trusted_device(value[:-2] + "xx", ADMIN, secret) is None
    assert accounts.trusted_device("x" * 1000, ADMIN, secret) is None


def test_behind_a_proxy_each_client_has_its_own_address_limit(
    database_url: str, tmp_path: Path
) -> None:
    app = make_app(database_url, tmp_path, PROXY_FIX_X_FOR=1)
    build_access_world(app)
    limit = accounts.LOGIN_LIMIT_PER_ADDRESS.attempts
    noisy = browser(app, "10.0.0.2", forwarded_for="198.51.100.66")
    codes = [attempt(noisy, "whatever it is", f"u{i}@x.example") for i in range(limit + 1)]
    assert codes[-1] == 429 and set(codes[:-1]) == {401}
    colleague = browser(app, "10.0.0.2", forwarded_for="203.0.113.7")  # same proxy
    assert attempt(colleague, "whatever it is", "u0@x.example") == 401, "not locked out"
    assert attempt(colleague, PASSWORD) == 302


def test_without_proxy_fix_a_forged_forwarded_for_changes_nothing(
    database_url: str, tmp_path: Path
) -> None:
    app = make_app(database_url, tmp_path)
    build_access_world(app)
    limit = accounts.LOGIN_LIMIT_PER_ADDRESS.attempts
    codes = [
        attempt(browser(app, "10.0.0.2", f"198.51.100.{i}"), "whatever it is", f"u{i}@x.example")
        for i in range(limit + 1)
    ]
    assert codes[-1] == 429, "X-Forwarded-For is not trusted unless configured"


def test_proxy_settings_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEGOSCOPE_PROXY_FIX_X_FOR", "1")
    monkeypatch.setenv("NEGOSCOPE_PROXY_FIX_X_PROTO", "1")
    settings = config.environment_settings()
    assert settings["PROXY_FIX_X_FOR"] == 1 and settings["PROXY_FIX_X_PROTO"] == 1
    monkeypatch.setenv("NEGOSCOPE_PROXY_FIX_X_FOR", "yes")
    with pytest.raises(ValueError, match="NEGOSCOPE_PROXY_FIX_X_FOR must be a number"):
        config.environment_settings()


def change(client: FlaskClient, current: str, new: str) -> tuple[int, str]:
    token = csrf_from(client.get("/account/password"))
    data = {"csrf_token": token, "current": current, "new": new, "confirm": new}
    response = client.post("/account/password", data=data)
    return response.status_code, response.get_data(as_text=True)


def test_change_password_is_throttled(clocked) -> None:  # type: ignore[no-untyped-def]
    app, clock = clocked
    client = browser(app, "203.0.113.7")
    assert attempt(client, PASSWORD) == 302
    new = "a much better passphrase"
    limit = accounts.PASSWORD_CHANGE_LIMIT.attempts
    codes = [change(client, f"not it {i}!", new)[0] for i in range(limit)]
    assert codes == [400] * limit
    status, text = change(client, PASSWORD, new)
    assert status == 429 and "Too many failed attempts" in text, "not even checked now"
    clock.now += accounts.WINDOW + timedelta(seconds=1)  # within the session's idle limit
    status, text = change(client, PASSWORD, new)
    assert status == 200 and "password was changed" in text


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("aaaaaaaaaaaa", "different characters"),
        ("abcabcabcabcabc", "different characters"),
        ("dragondragon", "repeats"),
        ("abcdefghijkl", "run along"),
        ("qwertyuiopas", "run along"),
        ("987654321098", "run along"),
        ("passwordpassword", "most common"),
        ("iloveyou123456", "most common"),
        ("Sunshine!!!!", "most common"),
        ("q1w2e3r4t5y6", "most common"),
        ("admin at a.example rocks", "email"),
        ("negoscope rocks!", "product"),
    ],
)
def test_weak_passwords_are_refused_when_changing(clocked, password: str, message: str) -> None:  # type: ignore[no-untyped-def]
    app, _ = clocked
    client = browser(app, "203.0.113.7")
    assert attempt(client, PASSWORD) == 302
    status, text = change(client, PASSWORD, password)
    assert status == 400 and message in text


def test_create_user_refuses_a_weak_password(app: Flask) -> None:
    result = app.test_cli_runner().invoke(
        args=["create-user", "ada@a.example", "--role", "admin", "--org", "Org A"],
        input="aaaaaaaaaaaa\naaaaaaaaaaaa\n",
    )
    assert result.exit_code != 0 and "Password refused" in result.output


def test_common_password_list_ships_with_the_package() -> None:
    common = common_passwords()
    assert len(common) > 19_000 and "password" in common and "iloveyou" in common
    assert password_problem("correct horse battery staple") is None
    assert password_problem("Tr0ub4dor&3 xyz") is None
