"""The built-in jobs: invitation and reminder emails, scheduled reminders, reports, exports."""

from __future__ import annotations
