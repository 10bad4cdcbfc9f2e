"""Keep invitation and set-password tokens out of logs."""

from __future__ import annotations

import logging
import re

TOKEN_IN_PATH = re.compile(r"/(s|set-password)/[A-Za-z0-9_\-]+")


class RedactTokens(logging.Filter):
    """Replace ``/s/<token>`` and ``/set-password/<token>`` in log records with ``[redacted]``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg = record.getMessage()
            record.args = None
        if isinstance(record.msg, str):
            record.msg = TOKEN_IN_PATH.sub(r"/\1/[redacted]", record.msg)
        return True


def install() -> None:
    """Attach the filter to the loggers that print request lines."""
    for name in ("werkzeug", "gunicorn.access", "gunicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
