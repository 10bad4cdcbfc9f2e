"""The questionnaire as pages, and the parsing of one submitted page.

Parsing is a pure function of the instrument page and the submitted form
fields, so it can be tested exhaustively without a request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

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
    """One screen of the questionnaire: items, or the context questions.

    Texts are in the language of the instrument the page was built from. A
    context question's answer is stored as the option text of the instrument
    file's own language, whatever language the page shows (:meth:`choices`).
    ``title`` and ``intro`` are the instrument's texts when
    ``heading_from_instrument``, else interface texts (translated lazily).
    """

    number: int
    title: str | LazyString
    intro: str | LazyString
    items: tuple[PageItem, ...] = ()
    context: tuple[ContextQuestion, ...] = ()
    option_pairs: Mapping[str, tuple[tuple[str, str], ...]] = field(
        default_factory=lambda: MappingProxyType({}), compare=False, repr=False
    )
    heading_from_instrument: bool = True

    @property
    def field_names(self) -> tuple[str, ...]:
        """The form field names this page expects."""
        return tuple(p.item.id for p in self.items) + tuple(q.id for q in self.context)

    def choices(self, question: ContextQuestion) -> tuple[tuple[str, str], ...]:
        """``(stored value, shown text)`` of each option of a context question on this page."""
        pairs = self.option_pairs.get(question.id)
        return pairs if pairs is not None else tuple((o, o) for o in question.options)

    def option_text(self, question: ContextQuestion, value: str) -> str:
        """The shown text of a stored option value (the value itself when unknown)."""
        return dict(self.choices(question)).get(value, value)


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
            title, intro, own = _page_heading(group)
            pages.append(
                Page(
                    number=len(pages) + 1,
                    title=title,
                    intro=intro,
                    items=chunk,
                    heading_from_instrument=own,
                )
            )
    if instrument.context:
        pages.append(
            Page(
                number=len(pages) + 1,
                title=_l("About you"),
                intro=_l(
                    "Optional questions that help compare similar roles. "
                    "They are only ever shown for groups of several people."
                ),
                context=instrument.context,
                option_pairs=MappingProxyType(
                    {q.id: instrument.option_pairs(q.id) for q in instrument.context}
                ),
                heading_from_instrument=False,
            )
        )
    return tuple(pages)


def _page_heading(group: list[Dimension]) -> tuple[str | LazyString, str | LazyString, bool]:
    """Title, intro, and whether they are the instrument's own texts."""
    if len(group) == 1:
        return group[0].name, group[0].description, True
    if all(d.kind == "practice" for d in group):
        return (
            _l("How often you use these plays"),
            _l("Think of your negotiations in the past year."),
            False,
        )
    return " · ".join(d.name for d in group), "", True


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
        form_errors = (
            _("The form contained fields this page does not have: %(names)s.", names=shown),
        )

    for entry in page.items:
        raw = form.get(entry.item.id)
        if raw is None or raw == "":
            if require_all:
                errors[entry.item.id] = _("Choose an answer, or choose “Skip” to leave it blank.")
            continue
        if raw == SKIP:
            answers[entry.item.id] = None
            continue
        value = _as_int(raw)
        if value is None or value not in entry.scale.points:
            errors[entry.item.id] = _(
                "Choose one of the options from %(min)s to %(max)s.",
                min=entry.scale.min,
                max=entry.scale.max,
            )
            continue
        answers[entry.item.id] = value

    for question in page.context:
        raw = form.get(question.id)
        if raw is None or raw == "":
            if require_all:
                errors[question.id] = _("Choose an option, or “Prefer not to say”.")
            continue
        if raw == SKIP:
            context[question.id] = None
        elif any(raw == value for value, _shown in page.choices(question)):
            context[question.id] = raw
        else:
            errors[question.id] = _("Choose one of the listed options.")
    return PageInput(answers, context, errors, form_errors)


def _as_int(raw: str) -> int | None:
    text = raw.strip()
    digits = text.lstrip("-")
    if not text or len(text) > 6 or not (digits.isascii() and digits.isdigit()):
        return None
    return int(text)
