"""The advice framework in other languages: translation files laid over the English one.

``analytics/data/framework.yaml`` is written in English and holds everything:
ids, thresholds, rules and wording. A translation, ``framework.<language>.yaml``
beside it, holds only the *text* of that file, at the same places (the same keys,
the same list positions), and nothing else: no thresholds, no rules, no ids to
change. :func:`framework_document` lays it over the English document, and the
usual loaders (:func:`analytics.advice.load_advice`,
:func:`analytics.kit_schema.load_kit`) then validate the result exactly as they
validate the English file, so a translation cannot change what is recommended,
only how it is said.

:func:`overlay_problems` checks that a translation mirrors the English text
exactly: every text has a non-empty translation, nothing is added or left over,
list items keep their ``id`` (the anchor that shows which item is which), and
every sentence keeps the placeholders of its English original.

What counts as text: every string in the file, and every list of strings,
except the values of the id keys in :data:`ID_KEYS` (``id``, a blocker's
``plays``, a pillar's ``blockers``, a pair rule's ``blocker``/``side``/``level``,
``split_blocker``). Mapping keys are ids and never translated.

Examples
--------
>>> doc = framework_document("fr")
>>> doc["plays"]["meso"]["name"] != framework_document("en")["plays"]["meso"]["name"]
True
>>> overlay_problems(framework_document("en"), {"plays": {"meso": {"name": "x"}}})[0]
'framework.fr.yaml: checklist_topics: translation missing'
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from analytics.language import DEFAULT_LANGUAGE, check_language

__all__ = [
    "DATA_DIR",
    "ID_KEYS",
    "FrameworkTranslationError",
    "framework_document",
    "framework_path",
    "overlay_problems",
    "text_leaves",
    "translated_text",
]

DATA_DIR = Path(__file__).parent / "data"

#: Keys whose string (or list of strings) values are ids, not text.
ID_KEYS = frozenset({"id", "plays", "blockers", "blocker", "side", "level", "split_blocker"})

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


class FrameworkTranslationError(ValueError):
    """A translation file does not mirror the English framework; one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = tuple(problems)


def framework_path(language: str = DEFAULT_LANGUAGE) -> Path:
    """The framework file of a language (the English file for English)."""
    language = check_language(language)
    name = "framework.yaml" if language == DEFAULT_LANGUAGE else f"framework.{language}.yaml"
    return DATA_DIR / name


def _read(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _is_id(key: Any, value: Any) -> bool:
    return key in ID_KEYS and not isinstance(value, Mapping)


def text_leaves(document: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], str]]:
    """Every text of a framework document with where it is (keys and list positions).

    Examples
    --------
    >>> dict(text_leaves({"plays": {"m": {"name": "MESO", "questions": ["a?"]}}}))
    {('plays', 'm', 'name'): 'MESO', ('plays', 'm', 'questions', 0): 'a?'}
    """
    if isinstance(document, Mapping):
        for key, value in document.items():
            if not _is_id(key, value):
                yield from text_leaves(value, (*path, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from text_leaves(value, (*path, index))
    elif isinstance(document, str):
        yield path, document


def _where(source: str, path: tuple[Any, ...]) -> str:
    field = ".".join(str(p) for p in path) or "(top level)"
    return f"{source}: {field}"


def overlay_problems(english: Any, overlay: Any, source: str = "framework.fr.yaml") -> list[str]:
    """What keeps ``overlay`` from mirroring the text of ``english`` (empty when it does)."""
    problems: list[str] = []
    _compare(english, overlay, (), source, problems)
    return problems


def _compare(en: Any, tr: Any, path: tuple[Any, ...], source: str, out: list[str]) -> None:
    where = _where(source, path)
    if isinstance(en, Mapping):
        if not isinstance(tr, Mapping):
            out.append(f"{where}: must be a mapping, as in framework.yaml")
            return
        texts = {k: v for k, v in en.items() if not _is_id(k, v) and _has_text(v)}
        for key in tr:
            if key == "id" and isinstance(en.get("id"), str):
                if tr["id"] != en["id"]:
                    out.append(
                        f"{_where(source, (*path, 'id'))}: is {tr['id']!r} where framework.yaml "
                        f"has {en['id']!r}; keep the items in the English file's order"
                    )
            elif key not in texts:
                out.append(
                    f"{_where(source, (*path, key))}: not text in framework.yaml; remove it "
                    "(a translation holds only text)"
                )
        for key, value in texts.items():
            if key not in tr:
                out.append(f"{_where(source, (*path, key))}: translation missing")
            else:
                _compare(value, tr[key], (*path, key), source, out)
    elif isinstance(en, list):
        if not isinstance(tr, list) or len(tr) != len(en):
            out.append(f"{where}: must be a list of {len(en)} items, as in framework.yaml")
            return
        for index, (a, b) in enumerate(zip(en, tr, strict=True)):
            _compare(a, b, (*path, index), source, out)
    elif isinstance(en, str):
        if not isinstance(tr, str) or not tr.strip():
            out.append(f"{where}: translation missing or empty")
        elif set(_PLACEHOLDER.findall(tr)) != set(_PLACEHOLDER.findall(en)):
            wanted = ", ".join(sorted(f"{{{p}}}" for p in set(_PLACEHOLDER.findall(en))))
            out.append(
                f"{where}: must use the placeholders of the English text ({wanted or 'none'})"
            )


def _has_text(value: Any) -> bool:
    return any(True for _ in text_leaves(value))


def _merge(en: Any, tr: Any) -> Any:
    if isinstance(en, Mapping) and isinstance(tr, Mapping):
        merged = dict(en)
        for key, value in tr.items():
            if key in merged:
                merged[key] = _merge(merged[key], value)
        return merged
    if isinstance(en, list) and isinstance(tr, list):
        return [_merge(a, b) for a, b in zip(en, tr, strict=True)]
    return tr if isinstance(en, str) else en


@lru_cache(maxsize=4)
def _document(language: str) -> Any:
    english = _read(framework_path(DEFAULT_LANGUAGE))
    if language == DEFAULT_LANGUAGE:
        return english
    path = framework_path(language)
    overlay = _read(path)
    problems = overlay_problems(english, overlay, path.name)
    if problems:
        raise FrameworkTranslationError(problems)
    return _merge(english, overlay)


def framework_document(language: str = DEFAULT_LANGUAGE) -> Any:
    """The parsed framework document in a language (a copy the caller may keep).

    Raises
    ------
    FrameworkTranslationError
        When the language's file does not mirror the English text.
    """
    return copy.deepcopy(_document(check_language(language)))


@lru_cache(maxsize=4)
def _text_map(language: str) -> Mapping[str, str]:
    english = dict(text_leaves(_document(DEFAULT_LANGUAGE)))
    translated = dict(text_leaves(_document(language)))
    return {" ".join(text.split()): translated[path] for path, text in english.items()}


def translated_text(text: str, language: str) -> str | None:
    """The translation of one text of the English framework, ``None`` when it has none.

    For text that reached a report already written out in English (a play's
    name in a diagnosis computed once for every language).

    Examples
    --------
    >>> translated_text("Objective criteria", "fr")
    'Critères objectifs'
    >>> translated_text("not from the framework", "fr") is None
    True
    """
    language = check_language(language)
    if language == DEFAULT_LANGUAGE:
        return text
    return _text_map(language).get(" ".join(text.split()))
