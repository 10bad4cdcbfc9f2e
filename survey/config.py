"""Configuration: defaults in code, secrets and URLs from the environment."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

ENV_PREFIX = "NEGOSCOPE_"


def default_settings(instance_path: str) -> dict[str, Any]:
    """Settings every deployment starts from; the environment may override them."""
    database = Path(instance_path) / "negoscope.sqlite3"
    return {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # Respondents may take their time: the CSRF token lives as long as the session.
        "WTF_CSRF_TIME_LIMIT": None,
        "WTF_CSRF_SSL_STRICT": True,
        "SESSION_COOKIE_NAME": "negoscope_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": False,
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
        # The cookie's lifetime counts from sign-in or from opening the invitation
        # link (re-opening it renews it); staff sessions end on the server sooner
        # (AUTH_*). Not re-signing the cookie on every request saves each page
        # save a serialization, an HMAC and a Set-Cookie header.
        "SESSION_REFRESH_EACH_REQUEST": False,
        # Staff logins: server-side sessions with idle and absolute limits.
        "AUTH_IDLE_TIMEOUT": timedelta(minutes=30),
        "AUTH_ABSOLUTE_TIMEOUT": timedelta(hours=8),
        "REMEMBER_COOKIE_DURATION": timedelta(seconds=0),
        # Whole-request cap; survey pages have their own, much smaller cap.
        "MAX_CONTENT_LENGTH": 12 * 1024 * 1024,
        "SURVEY_MAX_BODY_BYTES": 32 * 1024,
        "ANONYMITY_THRESHOLD": 5,
        # A team's results move only when this many responses changed since its
        # last release (analytics.release); while a round is open, only if allowed.
        "RELEASE_STEP": 3,
        "RELEASE_WHILE_OPEN": True,
        "INVITATION_TTL_DAYS": 90,
        "SQLITE_BUSY_TIMEOUT_MS": 10_000,
        "PUBLIC_BASE_URL": "http://127.0.0.1:5000",
        # Behind a reverse proxy: how many proxies set each X-Forwarded-* header
        # (werkzeug's ProxyFix). 0, the default, trusts none of them.
        "PROXY_FIX_X_FOR": 0,
        "PROXY_FIX_X_PROTO": 0,
        "PROXY_FIX_X_HOST": 0,
        "PROXY_FIX_X_PORT": 0,
        "PROXY_FIX_X_PREFIX": 0,
        # Single sign-on providers must use https; this also accepts http on a
        # loopback address (a provider on the same machine, in tests or development).
        "SSO_ALLOW_HTTP_LOOPBACK": False,
        # Webhook endpoints must be https to a public host; this also accepts a loopback
        # receiver (http or https), for tests and development.
        "WEBHOOK_ALLOW_HTTP_LOOPBACK": False,
        # Background jobs (survey.jobs): the queue's storage, empty for instance/jobs.sqlite3;
        # reminders sent by themselves this many days before a round closes (0: never);
        # files jobs produce (exports) are kept here for this many hours.
        "JOBS_URL": "",
        "REMINDER_DAYS_BEFORE_CLOSE": 2,
        "JOB_FILES_DIR": "",
        "JOB_FILES_HOURS": 24,
    }


def environment_settings() -> dict[str, Any]:
    """Settings taken from ``NEGOSCOPE_*`` variables and ``SECRET_KEY``."""
    settings: dict[str, Any] = {}
    if url := os.environ.get(f"{ENV_PREFIX}DATABASE_URL"):
        settings["SQLALCHEMY_DATABASE_URI"] = url
    if key := os.environ.get("SECRET_KEY") or os.environ.get(f"{ENV_PREFIX}SECRET_KEY"):
        settings["SECRET_KEY"] = key
    if base := os.environ.get(f"{ENV_PREFIX}PUBLIC_BASE_URL"):
        settings["PUBLIC_BASE_URL"] = base.rstrip("/")
    if smtp := os.environ.get(f"{ENV_PREFIX}SMTP_URL"):
        settings["SMTP_URL"] = smtp
    if os.environ.get(f"{ENV_PREFIX}ENV", "development") == "production":
        settings["SESSION_COOKIE_SECURE"] = True  # production is served over HTTPS
    if secure := os.environ.get(f"{ENV_PREFIX}SECURE_COOKIES"):
        settings["SESSION_COOKIE_SECURE"] = secure.lower() in {"1", "true", "yes", "on"}
    if threshold := os.environ.get(f"{ENV_PREFIX}ANONYMITY_THRESHOLD"):
        settings["ANONYMITY_THRESHOLD"] = int(threshold)
    if step := os.environ.get(f"{ENV_PREFIX}RELEASE_STEP"):
        settings["RELEASE_STEP"] = int(step)
    if while_open := os.environ.get(f"{ENV_PREFIX}RELEASE_WHILE_OPEN"):
        settings["RELEASE_WHILE_OPEN"] = while_open.lower() in {"1", "true", "yes", "on"}
    if loopback := os.environ.get(f"{ENV_PREFIX}SSO_ALLOW_HTTP_LOOPBACK"):
        settings["SSO_ALLOW_HTTP_LOOPBACK"] = loopback.lower() in {"1", "true", "yes", "on"}
    if hooks := os.environ.get(f"{ENV_PREFIX}WEBHOOK_ALLOW_HTTP_LOOPBACK"):
        settings["WEBHOOK_ALLOW_HTTP_LOOPBACK"] = hooks.lower() in {"1", "true", "yes", "on"}
    if jobs := os.environ.get(f"{ENV_PREFIX}JOBS_URL"):
        settings["JOBS_URL"] = jobs
    if days := os.environ.get(f"{ENV_PREFIX}REMINDER_DAYS_BEFORE_CLOSE"):
        settings["REMINDER_DAYS_BEFORE_CLOSE"] = int(days)
    if files := os.environ.get(f"{ENV_PREFIX}JOB_FILES_DIR"):
        settings["JOB_FILES_DIR"] = files
    if hours := os.environ.get(f"{ENV_PREFIX}JOB_FILES_HOURS"):
        settings["JOB_FILES_HOURS"] = int(hours)
    for header in PROXY_FIX_HEADERS:
        if (count := os.environ.get(f"{ENV_PREFIX}PROXY_FIX_{header}")) is not None:
            settings[f"PROXY_FIX_{header}"] = _proxy_count(header, count)
    return settings


PROXY_FIX_HEADERS = ("X_FOR", "X_PROTO", "X_HOST", "X_PORT", "X_PREFIX")


def _proxy_count(header: str, value: str) -> int:
    """A number of trusted proxies, 0 to 5; a clear error for anything else."""
    try:
        count = int(value.strip() or "0")
    except ValueError:
        count = -1
    if not 0 <= count <= 5:
        raise ValueError(
            f"{ENV_PREFIX}PROXY_FIX_{header} must be a number of proxies from 0 to 5, not {value!r}"
        )
    return count


def persistent_secret_key(instance_path: str) -> str:
    """Read the secret key kept under ``instance/``, creating it once when absent."""
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker created it first
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key)
    return key
