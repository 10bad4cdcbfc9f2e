"""The questionnaire as pages, and the parsing of one submitted page.

Parsing is a pure function of the instrument page and the submitted form
fields, so it can be tested exhaustively without a request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from analytics.instrument import ContextQuestion, Dimension, Instrument, Item, ResponseScale

MAX_ITEMS_PER_PAGE = 8
SKIP = "skip"
CONTROL_FIELDS = frozenset({"csrf_token", "nav"})


@dataclass(frozen=True)
class PageItem:
    """An item as shown on a page, with the scale it is answered on."""

    item: Item
    scale: ResponseScale
    dimension: Dimension


@dataclass(frozen=True)
class Page:
    """One screen of the questionnaire: items, or the context questions."""

    number: int
    title: str
    intro: str
    items: tuple[PageItem, ...] = ()
    context: tuple[ContextQuestion, ...] = ()

    @property
    def field_names(self) -> tuple[str, ...]:
        """The form field names this page expects."""
        return tuple(p.item.id for p in self.items) + tuple(q.id for q in self.context)


@dataclass(frozen=True)
class PageInput:
    """What a submitted page said: answers (None = skipped), and what was wrong."""

    answers: dict[str, int | None] = field(default_factory=dict)
    context: dict[str, str | None] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    form_errors: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when every field was valid and nothing unexpected was sent."""
        return not self.errors and not self.form_errors


@lru_cache(maxsize=64)
def build_pages(instrument: Instrument) -> tuple[Page, ...]:
    """Split the instrument into pages of at most eight items (once per instrument).

    Dimensions are never split unless they alone exceed a page; consecutive
    dimensions on the same scale share a page while they fit. Context
    questions, when any, come last on a page of their own.
    """
    groups: list[list[Dimension]] = []
    for dim in instrument.dimensions:
        scale = dim.response_scale or instrument.response_scale
        if groups:
            last = groups[-1]
            last_scale = last[0].response_scale or instrument.response_scale
            size = sum(len(d.items) for d in last)
            if last_scale == scale and size + len(dim.items) <= MAX_ITEMS_PER_PAGE:
                last.append(dim)
                continue
        groups.append([dim])

    pages: list[Page] = []
    for group in groups:
        entries = [
            PageItem(item, dim.response_scale or instrument.response_scale, dim)
            for dim in group
            for item in dim.items
        ]
        for start in range(0, len(entries), MAX_ITEMS_PER_PAGE):
            chunk = tuple(entries[start : start + MAX_ITEMS_PER_PAGE])
            title, intro = _page_heading(group)
            pages.append(Page(number=len(pages) + 1, title=title, intro=intro, items=chunk))
    if instrument.context:
        pages.append(
            Page(
                number=len(pages) + 1,
                title="About you",
                intro="Optional questions that help compare similar roles. "
                "They are only ever shown for groups of several people.",
                context=instrument.context,
            )
        )
    return tuple(pages)


def _page_heading(group: list[Dimension]) -> tuple[str, str]:
    if len(group) == 1:
        return group[0].name, group[0].description
    if all(d.kind == "practice" for d in group):
        return "How often you use these plays", "Think of your negotiations in the past year."
    return " · ".join(d.name for d in group), ""


def parse_page(page: Page, form: Mapping[str, str], *, require_all: bool = True) -> PageInput:
    """Validate one submitted page.

    Each item takes an integer on its scale or ``skip`` (an explicit blank).
    With ``require_all`` a field left without a choice is an error; going back
    a page keeps whatever was chosen and asks for nothing.
    """
    answers: dict[str, int | None] = {}
    context: dict[str, str | None] = {}
    errors: dict[str, str] = {}
    expected = set(page.field_names)
    unexpected = sorted(k for k in form if k not in expected and k not in CONTROL_FIELDS)
    form_errors = ()
    if unexpected:
        shown = ", ".join(name[:40] for name in unexpected[:5])
        form_errors = (f"The form contained fields this page does not have: {shown}.",)

    for entry in page.items:
        raw = form.get(entry.item.id)
        if raw is None or raw == "":
            if require_all:
                errors[entry.item.id] = "Choose an answer, or choose “Skip” to leave it blank."
            continue
        if raw == SKIP:
            answers[entry.item.id] = None
            continue
        value = _as_int(raw)
        if value is None or value not in entry.scale.points:
            errors[entry.item.id] = (
                f"Choose one of the options from {entry.scale.min} to {entry.scale.max}."
            )
            continue
        answers[entry.item.id] = value

    for question in page.context:
        raw = form.get(question.id)
        if raw is None or raw == "":
            if require_all:
                errors[question.id] = "Choose an option, or “Prefer not to say”."
            continue
        if raw == SKIP:
            context[question.id] = None
        elif raw in question.options:
            context[question.id] = raw
        else:
            errors[question.id] = "Choose one of the listed options."
    return PageInput(answers, context, errors, form_errors)


def _as_int(raw: str) -> int | None:
    text = raw.strip()
    digits = text.lstrip("-")
    if not text or len(text) > 6 or not (digits.isascii() and digits.isdigit()):
        return None
    return int(text)
