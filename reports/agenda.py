"""The facilitator agenda page of the team report (#16).

:func:`agenda_section` lays out an :class:`analytics.session_kit.SessionAgenda`
(built from the team's released results by
:func:`analytics.session_kit.build_agenda`): a timed run of the session - opening,
the team's one or two main blockers, a drill for each chosen play, the checklist
for a live deal, commitments - with each part's purpose and steps, and the
total. :func:`agenda_schedule` gives the same start and end times to the
dashboard, so the two never disagree. The wording of every part is the
framework file's (``session_kit`` and ``drills``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from reports.context import TeamReportContext
from reports.i18n import N_, _
from reports.layout import PageFlow
from reports.style import ACCENT, INK, MUTED, RULE, SIZES
from reports.text import wrap

if TYPE_CHECKING:
    from analytics.session_kit import AgendaItem, SessionAgenda

__all__ = ["AGENDA_TITLE", "ScheduledItem", "agenda_intro", "agenda_schedule", "agenda_section"]

#: The section's title in the report's contents.
AGENDA_TITLE = N_("Session agenda for the coach")


@dataclass(frozen=True)
class ScheduledItem:
    """An agenda item with its start and end, in minutes from the start of the session."""

    start: int
    end: int
    item: AgendaItem

    @property
    def clock(self) -> str:
        """ "0:10\u20130:25": where the part falls in the session."""
        return f"{_clock(self.start)}\u2013{_clock(self.end)}"


def _clock(minutes: int) -> str:
    return f"{minutes // 60}:{minutes % 60:02d}"


def agenda_schedule(agenda: SessionAgenda) -> list[ScheduledItem]:
    """The items with their start and end minutes, in order.

    Examples
    --------
    >>> from analytics.session_kit import AgendaItem, SessionAgenda
    >>> agenda = SessionAgenda(25, (AgendaItem(10, "Opening", "", ()),
    ...                             AgendaItem(15, "Drill", "", ())))
    >>> [s.clock for s in agenda_schedule(agenda)]
    ['0:00\u20130:10', '0:10\u20130:25']
    """
    out, start = [], 0
    for item in agenda.items:
        out.append(ScheduledItem(start, start + item.minutes, item))
        start += item.minutes
    return out


def agenda_intro(agenda: SessionAgenda) -> str:
    """The agenda's introduction, naming its length."""
    return _(
        "A %(minutes)d-minute session to work through this report with the team, built from its "
        "results. The times are a guide: keep the drills, and let the discussion of the "
        "blockers run shorter if the team agrees quickly.",
        minutes=agenda.total_minutes,
    )


def agenda_section(flow: PageFlow, context: TeamReportContext, number_: int) -> None:
    """Draw the agenda section (nothing without an agenda)."""
    agenda = context.agenda
    if agenda is None:
        return
    flow.section(number_, _(AGENDA_TITLE), agenda_intro(agenda))
    gutter = 74.0
    for scheduled in agenda_schedule(agenda):
        _item(flow, scheduled, gutter)
    flow.skip(4)
    flow.rule(colour=INK, weight=0.8)
    flow.skip(SIZES["body"] + 4)
    flow.text_at(flow.left, flow.y, _("Total"), size=SIZES["body"], bold=True)
    flow.text_at(
        flow.left + gutter,
        flow.y,
        _("%(minutes)d minutes", minutes=agenda.total_minutes),
        size=SIZES["body"],
        bold=True,
    )
    flow.skip(SIZES["body"])


def _item(flow: PageFlow, scheduled: ScheduledItem, gutter: float) -> None:
    """One part: time in the left gutter, then title, purpose and numbered steps.

    The lines are placed first and drawn once the part's height is known, so a part
    is never split across pages.
    """
    item = scheduled.item
    width = flow.column - gutter
    title_size, small = SIZES["body"] + 0.5, SIZES["small"]
    step_leading = 1.32
    placed: list[tuple[float, float, str, dict]] = []  # (y from the part's top, x, text, style)
    y = 5.0
    for line in wrap(item.title, width, title_size, bold=True):
        y += title_size
        placed.append((y, gutter, line, {"size": title_size, "bold": True}))
        y += title_size * 0.25
    for line in wrap(item.purpose, width, small) if item.purpose else []:
        y += small
        placed.append((y, gutter, line, {"size": small, "colour": MUTED, "italic": True}))
        y += small * (step_leading - 1)
    y += 3
    for index, step in enumerate(item.steps, start=1):
        for row, line in enumerate(wrap(step, width - 14, small)):
            y += small
            if row == 0:
                marker = {"size": small, "bold": True, "colour": ACCENT}
                placed.append((y, gutter, f"{index}.", marker))
            placed.append((y, gutter + 14, line, {"size": small}))
            y += small * (step_leading - 1)
        y += 1
    height = max(y + 7, 34.0)
    flow.ensure(height)
    top = flow.y
    flow.rect(flow.left, top, flow.column, 0.5, colour=RULE)
    flow.rect(flow.left, top + 5, 3.0, height - 10, colour=RULE if item.kind != "drill" else ACCENT)
    flow.text_at(
        flow.left + 10,
        top + 5 + title_size,
        scheduled.clock,
        size=title_size,
        bold=True,
        colour=ACCENT,
    )
    flow.text_at(
        flow.left + 10,
        top + 8 + title_size + small,
        _("%(minutes)d min", minutes=item.minutes),
        size=small,
        colour=MUTED,
    )
    for dy, x, text, style in placed:
        flow.text_at(flow.left + x, top + dy, text, **style)
    flow.y = top + height
