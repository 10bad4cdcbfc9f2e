"""WSGI entry point for production servers: ``gunicorn survey.wsgi:app``.

Production defaults apply (secure cookies) unless ``NEGOSCOPE_ENV`` says otherwise.
"""

import gc
import os

from survey import create_app

os.environ.setdefault("NEGOSCOPE_ENV", "production")
app = create_app()
# Everything loaded so far lives as long as the process: keep it out of the
# collector's full passes, which otherwise cost ~100 ms each under load.
gc.freeze()
