"""Response headers and cookie settings that protect every page."""

from __future__ import annotations

from pathlib import Path

from survey import create_app


def test_hsts_only_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/healthz").headers
    secure = client.get("/healthz", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")


def test_static_files_may_be_cached_but_pages_may_not(client):
    assert client.get("/login").headers["Cache-Control"] == "no-store"
    css = client.get("/static/negoscope.css")
    assert css.status_code == 200 and css.headers.get("Cache-Control") != "no-store"
    assert css.headers["X-Content-Type-Options"] == "nosniff"


def test_production_config_sets_secure_cookies(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("NEGOSCOPE_ENV", "production")
    monkeypatch.setenv("NEGOSCOPE_DATABASE_URL", f"sqlite:///{tmp_path / 'p.sqlite3'}")
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["SECRET_KEY"] == "from-the-environment"
    monkeypatch.setenv("NEGOSCOPE_SECURE_COOKIES", "false")
    assert create_app().config["SESSION_COOKIE_SECURE"] is False


def test_secret_key_is_generated_once_and_kept(monkeypatch, tmp_path: Path):
    from survey import config

    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = config.persistent_secret_key(str(tmp_path))
    assert len(first) >= 64 and config.persistent_secret_key(str(tmp_path)) == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_tokens_are_redacted_from_request_logs(caplog):
    import logging

    from survey.logging_filters import install

    install()
    logger = logging.getLogger("werkzeug")
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        logger.info('127.0.0.1 - - "GET %s HTTP/1.1" 302 -', "/s/SECRETtoken_value-123")
    assert "SECRETtoken" not in caplog.text and "/s/[redacted]" in caplog.text


def test_denied_requests_are_logged_without_secrets(app, caplog):
    import logging

    from tests.survey.accounts_helpers import build_access_world, log_in

    world = build_access_world(app)
    client = app.test_client()
    log_in(client, world.emails["coach_other"])
    with caplog.at_level(logging.WARNING, logger="survey.web.errors"):
        assert client.get(f"/admin/{world.org_id}/").status_code == 403
    assert f"denied GET /admin/{world.org_id}/" in caplog.text and "user " in caplog.text
    assert "correct horse" not in caplog.text
