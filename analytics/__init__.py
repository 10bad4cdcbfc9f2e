"""Negoscope analytics: scoring, reliability, norms, profiles and team diagnoses.

Pure library code on pandas data frames; it never imports Flask, SQLAlchemy or
the web app.
"""

from analytics import _pickling  # noqa: F401  (read-only mappings become picklable)
