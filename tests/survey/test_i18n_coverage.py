"""Every string the interface shows is translatable: no template carries bare visible
English, and every marked string of survey/ is in each shipped catalog."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from survey import i18n

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "survey" / "templates"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
METHODS = [("survey/**.py", "python"), ("survey/templates/**.html", "jinja2")]

# Jinja syntax is removed before the HTML is read: comments, {% trans %} blocks (translated
# whole), the page's CSS class block, expressions (their output is data or a translation
# call) and statements.
COMMENT = re.compile(r"\{#.*?#\}", re.S)
TRANS_BLOCK = re.compile(r"\{%-?\s*trans\b.*?%\}.*?\{%-?\s*endtrans\s*-?%\}", re.S)
CLASS_BLOCK = re.compile(r"\{%-?\s*block main_class\s*-?%\}.*?(?=\{%-?\s*endblock)", re.S)
EXPRESSION = re.compile(r"\{\{.*?\}\}", re.S)
STATEMENT = re.compile(r"\{%.*?%\}", re.S)
WORD = re.compile(r"[A-Za-z]{2,}")
# A literal word passed as a visible attribute inside an expression, e.g.
# {{ form.name(placeholder="Team name") }}: it must be a translation call instead.
LITERAL_ATTRIBUTE = re.compile(r"\b(placeholder|title|alt|aria_label)\s*=\s*(['\"])(.*?)\2")
VISIBLE_ATTRIBUTES = {"title", "placeholder", "alt", "aria-label", "label"}
#: Words that are the same in every language: the product's name.
ALLOWED_WORDS = {"Negoscope"}


class _TextFinder(HTMLParser):
    """Collects (line, text) of visible text and visible attributes holding words."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.hidden += 1
        values = dict(attrs)
        for name, value in attrs:
            button = tag == "input" and values.get("type") in ("submit", "button", "reset")
            if value and (name in VISIBLE_ATTRIBUTES or (name == "value" and button)):
                self._check(value, f"{name}=")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self.hidden:
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self._check(data, "")

    def _check(self, text: str, prefix: str) -> None:
        words = [w for w in WORD.findall(text) if w not in ALLOWED_WORDS]
        if words:
            self.found.append((self.getpos()[0], prefix + " ".join(text.split())))


def _blank(match: re.Match[str]) -> str:
    """The same number of lines, so reported line numbers match the file."""
    return "\n" * match.group(0).count("\n")


def untranslated_text(source: str) -> list[tuple[int, str]]:
    """(line, text) of every visible piece of English in a Jinja template not marked for
    translation (conservative: text outside any {{ }} or {% %})."""
    found = [
        (source[: expression.start()].count("\n") + 1, literal.group(0))
        for expression in EXPRESSION.finditer(source)
        for literal in LITERAL_ATTRIBUTE.finditer(expression.group(0))
        if WORD.search(literal.group(3))
    ]
    text = COMMENT.sub(_blank, source)
    text = TRANS_BLOCK.sub(_blank, text)
    text = CLASS_BLOCK.sub(_blank, text)
    text = EXPRESSION.sub(lambda m: " " + _blank(m), text)
    text = STATEMENT.sub(_blank, text)
    finder = _TextFinder()
    finder.feed(text)
    finder.close()
    return found + finder.found


def test_the_checker_finds_bare_text_and_accepts_translated_text():
    bare = '<h1>{{ team.name }}</h1>\n<p class="lead">Team results only.</p>'
    assert untranslated_text(bare) == [(2, "Team results only.")]
    assert untranslated_text("<button>{{ _('Save') }}</button>") == []
    assert untranslated_text('{{ form.name(placeholder="Team name") }}') == [
        (1, 'placeholder="Team name"')
    ]
    assert untranslated_text("{{ form.name(placeholder=_('Team name')) }}") == []
    assert untranslated_text('<img src="x" alt="A chart">') == [(1, "alt=A chart")]
    assert untranslated_text("{% trans n=1 %}One of {{ n }}{% endtrans %}") == []
    assert untranslated_text("{# a note #}<script>let a = 'text';</script>") == []
    assert untranslated_text("<title>{% block t %}Negoscope{% endblock %}</title>") == []
    assert untranslated_text("<p>{{ a }} of {{ b }}</p>") == [(1, "of")]


@pytest.mark.parametrize(
    "template", sorted(str(p.relative_to(ROOT)) for p in TEMPLATES.rglob("*.html"))
)
def test_no_template_shows_untranslatable_text(template: str):
    found = untranslated_text((ROOT / template).read_text(encoding="utf-8"))
    assert not found, "\n".join(f"{template}:{line}: {text!r}" for line, text in found)


def _all_messages() -> set[str]:
    """Every msgid marked anywhere in survey/ (as `make translations` extracts it)."""
    return {
        msgid if isinstance(msgid, str) else msgid[0]
        for _file, _line, msgid, _comments, _context in extract_from_dir(
            str(ROOT), method_map=METHODS, keywords=KEYWORDS
        )
    }


@pytest.mark.parametrize("language", list(i18n.LANGUAGE_NAMES)[1:])
def test_every_marked_string_is_in_the_catalog(language: str):
    with open(ROOT / "survey/translations" / language / "LC_MESSAGES/messages.po", "rb") as f:
        catalog = read_po(f, locale=language)
    missing = sorted(m for m in _all_messages() if m not in catalog)
    assert not missing, "run `make translations`; not in the catalog:\n" + "\n".join(missing)
