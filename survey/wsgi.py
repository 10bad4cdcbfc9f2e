"""WSGI entry point for production servers: ``gunicorn survey.wsgi:app``.

Production defaults apply (secure cookies) unless ``NEGOSCOPE_ENV`` says otherwise.
"""

import os

from survey import create_app

os.environ.setdefault("NEGOSCOPE_ENV", "production")
app = create_app()
