"""Negoscope's web application: survey collection, administration and dashboards."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from analytics.release import check_release_settings
from survey import api, config, i18n, jobs, logging_filters
from survey.database import configure_engine
from survey.extensions import csrf, db, login_manager, migrate


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask application.

    Settings come from the defaults in :mod:`survey.config`, then the
    environment (``NEGOSCOPE_*``, ``SECRET_KEY``), then ``test_config``.
    """
    app = Flask(__name__, instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_mapping(config.default_settings(app.instance_path))
    app.config.update(config.environment_settings())
    if test_config is not None:
        app.config.update(test_config)
    check_release_settings(app.config["ANONYMITY_THRESHOLD"], app.config["RELEASE_STEP"])
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = config.persistent_secret_key(app.instance_path)

    logging_filters.install()
    db.init_app(app)
    migrate.init_app(app, db, directory=_migrations_directory())
    csrf.init_app(app)
    login_manager.init_app(app)
    i18n.init_app(app)
    configure_engine(app)

    from survey import models  # noqa: F401  (registers the tables on the metadata)
    from survey.cli import register_commands
    from survey.web import register_web

    register_web(app)
    api.init_app(app)  # after the web: its id converter and error pages
    register_commands(app)
    jobs.init_app(app)
    _trust_proxies(app)
    return app


def _trust_proxies(app: Flask) -> None:
    """Read the client's address (and scheme, host...) from a reverse proxy's headers.

    Only as many proxies as configured (``NEGOSCOPE_PROXY_FIX_X_FOR`` etc.) are
    trusted: with none, ``X-Forwarded-For`` is ignored, since any client could
    send it. Behind one proxy, set ``NEGOSCOPE_PROXY_FIX_X_FOR=1`` so that the
    per-address login limit counts each client, not the proxy.
    """
    counts = {h.lower(): int(app.config[f"PROXY_FIX_{h}"]) for h in config.PROXY_FIX_HEADERS}
    if any(counts.values()):
        app.wsgi_app = ProxyFix(app.wsgi_app, **counts)  # type: ignore[method-assign]


def _migrations_directory() -> str:
    """The Alembic folder at the top of the project checkout."""
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "migrations")
