"""Instruments in several languages: the translations layout, its checks, localized views."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.instrument import IncompleteTranslation, Instrument
from analytics.instrument_parser import (
    InstrumentError,
    default_instrument_paths,
    load_default_instrument,
    load_instrument,
    parse_instrument,
    with_shipped_translations,
)
from tests.analytics.test_instrument_parser import _base, _plain, instruments, translations_of

# The content hash negotiation-blockers v1 had before translations existed: it is
# stored in every installation's instruments table and in respondents' sessions.
STORED_V1_HASH = "e6f0e328695948df55727d90746c216bdeae879533e4c30ff12ebed87e6bdb0a"


def _texts(instrument: Instrument) -> list[tuple[str, str]]:
    """Every respondent-facing text of an instrument, with where it is."""
    found = [("title", instrument.title), ("description", instrument.description)]
    found += [(f"label {i}", label) for i, label in enumerate(instrument.response_scale.labels)]
    for dim in instrument.dimensions:
        found += [(f"{dim.id}.name", dim.name), (f"{dim.id}.description", dim.description)]
        if dim.response_scale is not None:
            labels = enumerate(dim.response_scale.labels)
            found += [(f"{dim.id} label {i}", label) for i, label in labels]
        found += [(item.id, item.text) for item in dim.items]
    for question in instrument.context:
        found.append((f"{question.id}.text", question.text))
        found += [(f"{question.id} option {i}", o) for i, o in enumerate(question.options)]
    return [(where, text) for where, text in found if text]


def _without_translations(instrument: Instrument) -> dict[str, Any]:
    return {k: _plain(v) for k, v in instrument.definition.items() if k != "translations"}


# ----------------------------------------------------------------------------- shipped files


@pytest.mark.parametrize("path", default_instrument_paths(), ids=lambda path: path.name)
def test_shipped_instruments_are_complete_in_every_language(path: Path) -> None:
    instrument = load_instrument(path)
    assert instrument.language == "en"
    assert instrument.languages == instrument.declared_languages == ("en", "fr")
    for language in instrument.languages:
        assert instrument.untranslated(language) == ()
        localized = instrument.localized(language)
        assert localized.language == language
        assert localized.languages == instrument.languages


@pytest.mark.parametrize("path", default_instrument_paths(), ids=lambda path: path.name)
def test_no_english_text_is_left_in_the_french_instrument(path: Path) -> None:
    instrument = load_instrument(path)
    english = dict(_texts(instrument))
    french = _texts(instrument.localized("fr"))
    assert len(french) == len(english)
    same = [(where, text) for where, text in french if english[where] == text]
    assert same == []
    for dim in instrument.localized("fr").dimensions:
        for item in dim.items:
            assert item.text.endswith("."), item.id


def test_adding_translations_keeps_the_stored_hash_of_v1() -> None:
    shipped = load_default_instrument()
    stored = parse_instrument(_without_translations(shipped), source="stored")

    assert shipped.content_hash == stored.content_hash == STORED_V1_HASH
    assert shipped.translations_hash != stored.translations_hash
    assert shipped.localized("fr").content_hash == STORED_V1_HASH


def test_localized_instrument_keeps_ids_and_scoring() -> None:
    english = load_default_instrument()
    french = english.localized("fr")

    assert french.item_ids == english.item_ids and french.context_ids == english.context_ids
    assert [d.id for d in french.dimensions] == [d.id for d in english.dimensions]
    assert [i.reverse for i in french.items] == [i.reverse for i in english.items]
    assert [d.kind for d in french.dimensions] == [d.kind for d in english.dimensions]
    for item_id in english.item_ids:
        assert french.scale_for(item_id).points == english.scale_for(item_id).points
    assert french.title == "Profil des freins à la négociation"
    assert french.item("TR1").text.startswith("Je dis à l'autre partie")
    assert french.scale_for("ME1").labels[0] == "Jamais"
    assert french.original is english and french.localized("en") is english
    assert french.localized("fr") == french
    assert french.option_pairs("role")[1] == ("procurement", "achats")
    assert english.option_pairs("role")[1] == ("procurement", "procurement")


# ----------------------------------------------------------------------------- stored versions


def test_a_stored_copy_gets_the_shipped_translations() -> None:
    shipped = load_default_instrument()
    stored = parse_instrument(_without_translations(shipped), source="stored")
    assert stored.languages == ("en",)

    merged = with_shipped_translations(stored)

    assert merged.languages == ("en", "fr")
    assert merged.content_hash == stored.content_hash
    assert merged.localized("fr") == shipped.localized("fr")
    assert with_shipped_translations(shipped) is shipped


def test_stored_languages_survive_and_shipped_ones_win() -> None:
    shipped = load_default_instrument()
    definition = _without_translations(shipped)
    definition["translations"] = {
        "de": {"title": "Verhandlungsblockaden"},
        "fr": {"title": "Un ancien titre"},
    }
    stored = parse_instrument(definition, source="stored")

    merged = with_shipped_translations(stored)

    assert merged.declared_languages == ("en", "de", "fr")
    assert merged.languages == ("en", "fr")  # German is partial
    assert merged.translations["de"].title == "Verhandlungsblockaden"
    assert merged.translations["fr"].title == "Profil des freins à la négociation"


def test_other_instruments_are_left_alone() -> None:
    changed = _without_translations(load_default_instrument())
    changed["title"] = "Another title"
    other = parse_instrument(changed, source="other")
    assert with_shipped_translations(other) is other
    demo = parse_instrument(_base(), source="demo")
    assert with_shipped_translations(demo) is demo


# ----------------------------------------------------------------------------- partial


def test_a_partial_translation_lists_what_is_missing() -> None:
    instrument = parse_instrument(_base(), source="demo.yaml")  # de has only a title

    assert instrument.declared_languages == ("en", "de")
    assert instrument.languages == ("en",)
    assert instrument.untranslated("de") == (
        "translations.de.description",
        "translations.de.response_scale.labels",
        "translations.de.dimensions.alpha.name",
        "translations.de.dimensions.alpha.description",
        "translations.de.dimensions.beta.name",
        "translations.de.dimensions.beta.description",
        "translations.de.dimensions.beta.response_scale.labels",
        "translations.de.items.A1",
        "translations.de.items.A2",
        "translations.de.items.B1",
        "translations.de.items.B2",
        "translations.de.context.role.text",
        "translations.de.context.role.options",
    )
    with pytest.raises(IncompleteTranslation, match="13 texts missing"):
        instrument.localized("de")
    fallback = instrument.localized("de", fallback=True)
    assert fallback.title == "Demo" and fallback.item("A1").text == "I do a."
    with pytest.raises(KeyError):
        instrument.localized("fr")
    with pytest.raises(KeyError):
        instrument.untranslated("fr")


def _complete_german() -> dict[str, Any]:
    return {
        "title": "Demo auf Deutsch",
        "description": "Eine Demo.",
        "response_scale": {"labels": ["Niedrig", "Mittel", "Hoch"]},
        "dimensions": {
            "alpha": {"name": "Alpha", "description": "Über Alpha."},
            "beta": {
                "name": "Beta",
                "description": "Über Beta.",
                "response_scale": {"labels": ["Nie", "Oft"]},
            },
        },
        "items": {"A1": "Ich tue a.", "A2": "Nicht a.", "B1": "Ich tue b.", "B2": "Auch b."},
        "context": {"role": {"text": "Ihre Rolle", "options": ["Vertrieb", "Andere"]}},
    }


def test_a_complete_translation_is_offered() -> None:
    data = _base()
    data["translations"] = {"de": _complete_german()}
    instrument = parse_instrument(data, source="demo.yaml")

    assert instrument.languages == ("en", "de")
    german = instrument.localized("de")
    assert german.scale_for("B1").labels == ("Nie", "Oft")
    assert german.scale_for("A1").labels == ("Niedrig", "Mittel", "Hoch")
    assert german.option_pairs("role") == (("sales", "Vertrieb"), ("other", "Andere"))
    assert german.content_hash == instrument.content_hash
    assert german.content_hash == parse_instrument(_base() | {"translations": {}}).content_hash


# ----------------------------------------------------------------------------- rejections


def _german(change) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    data = _base()
    data["translations"] = {"de": _complete_german()}
    change(data["translations"]["de"])
    return data


LANGUAGE_REJECTIONS = {
    "unknown language": (
        lambda d: d.update(translations={"xx": {"title": "X"}}),
        "translations.xx",
        "unknown language code 'xx' (not a known locale)",
    ),
    "badly written language": (
        lambda d: d.update(translations={"FR": {"title": "X"}}),
        "translations.FR",
        "must be a language code such as fr, pt-BR or zh-Hant",
    ),
    "unknown own language": (
        lambda d: d.update(language="english"),
        "language",
        "got 'english'",
    ),
    "into the own language": (
        lambda d: d.update(translations={"en": {"title": "X"}}),
        "translations.en",
        "'en' is the language of the file's own texts",
    ),
    "unknown item": (
        lambda d: d.update(_german(lambda t: t["items"].update(Z9="Z."))),
        "translations.de.items.Z9",
        "'Z9' is not an item id of the file",
    ),
    "item id with another case": (
        lambda d: d.update(_german(lambda t: t["items"].update(a1="x"))),
        "translations.de.items.a1",
        "'a1' is not an item id of the file",
    ),
    "unknown dimension": (
        lambda d: d.update(_german(lambda t: t["dimensions"].update(gamma={"name": "G"}))),
        "translations.de.dimensions.gamma",
        "'gamma' is not a dimension id of the file",
    ),
    "unknown question": (
        lambda d: d.update(_german(lambda t: t["context"].update(tenure={"text": "T"}))),
        "translations.de.context.tenure",
        "'tenure' is not a context question id",
    ),
    "too few labels": (
        lambda d: d.update(_german(lambda t: t["response_scale"].update(labels=["a", "b"]))),
        "translations.de.response_scale.labels",
        "needs 3 labels, one per label of response_scale.labels in the same order; got 2",
    ),
    "too many dimension labels": (
        lambda d: d.update(
            _german(lambda t: t["dimensions"]["beta"]["response_scale"].update(labels=list("abc")))
        ),
        "translations.de.dimensions.beta.response_scale.labels",
        "needs 2 labels, one per label of dimensions[1].response_scale.labels",
    ),
    "scale of a dimension without one": (
        lambda d: d.update(
            _german(lambda t: t["dimensions"]["alpha"].update(response_scale={"labels": ["x"]}))
        ),
        "translations.de.dimensions.alpha.response_scale",
        "dimensions[0] has no response_scale of its own",
    ),
    "too few options": (
        lambda d: d.update(_german(lambda t: t["context"]["role"].update(options=["a", "b", "c"]))),
        "translations.de.context.role.options",
        "needs 2 options, one per option of context[0].options in the same order; got 3",
    ),
    "duplicate option": (
        lambda d: d.update(_german(lambda t: t["context"]["role"].update(options=["a", "A"]))),
        "translations.de.context.role.options[1]",
        "duplicate option 'A'",
    ),
    "empty item text": (
        lambda d: d.update(_german(lambda t: t["items"].update(A1="  "))),
        "translations.de.items.A1",
        "must not be empty",
    ),
    "missing item text": (
        lambda d: d.update(_german(lambda t: t["items"].update(A1=None))),
        "translations.de.items.A1",
        "must be text, got nothing (null)",
    ),
    "empty title": (
        lambda d: d.update(_german(lambda t: t.update(title=""))),
        "translations.de.title",
        "must not be empty",
    ),
    "name as list": (
        lambda d: d.update(_german(lambda t: t["dimensions"]["alpha"].update(name=["A"]))),
        "translations.de.dimensions.alpha.name",
        "must be text, got a list",
    ),
    "unknown key": (
        lambda d: d.update(_german(lambda t: t.update(items_text={}))),
        "translations.de.items_text",
        "unknown key (allowed here: context, description, dimensions, items, response_scale,"
        " title)",
    ),
    "unknown dimension key": (
        lambda d: d.update(_german(lambda t: t["dimensions"]["alpha"].update(kind="blocker"))),
        "translations.de.dimensions.alpha.kind",
        "unknown key (allowed here: description, name, response_scale)",
    ),
    "items as list": (
        lambda d: d.update(_german(lambda t: t.update(items=["x"]))),
        "translations.de.items",
        "must be a mapping, got a list",
    ),
    "item key not an id": (
        lambda d: d.update(_german(lambda t: t["items"].update({"A 1": "x"}))),
        "translations.de.items['A 1']",
        "must be an identifier",
    ),
    "language value null": (
        lambda d: d.update(translations={"de": None}),
        "translations.de",
        "must be a mapping, got nothing (null)",
    ),
}


@pytest.mark.parametrize("case", list(LANGUAGE_REJECTIONS))
def test_bad_translations_are_rejected_naming_file_and_field(tmp_path: Path, case: str) -> None:
    mutate, field, message = LANGUAGE_REJECTIONS[case]
    data = _base()
    mutate(data)
    path = tmp_path / "demo.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")

    with pytest.raises(InstrumentError) as caught:
        load_instrument(path)

    lines = str(caught.value).splitlines()
    assert f"{path}: {field}: " in "\n".join(lines), lines
    assert any(line.startswith(f"{path}: {field}: ") and message in line for line in lines), lines


def test_translation_problems_wait_for_a_valid_base() -> None:
    data = _german(lambda t: t["items"].update(Z9="Z."))
    data["title"] = ""
    with pytest.raises(InstrumentError) as caught:
        parse_instrument(data, source="demo.yaml")
    assert [p.field for p in caught.value.problems] == ["title"]


# ----------------------------------------------------------------------------- properties


@st.composite
def translated(draw: st.DrawFn) -> dict[str, Any]:
    """A valid instrument with one (possibly partial) French translation."""
    data = draw(instruments())
    data["translations"] = {"fr": draw(translations_of(data))}
    return data


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(data=translated())
def test_localized_instruments_keep_everything_but_texts(data: dict[str, Any]) -> None:
    instrument = parse_instrument(data, source="generated")
    french = instrument.localized("fr", fallback=True)

    assert french.item_ids == instrument.item_ids
    assert [i.reverse for i in french.items] == [i.reverse for i in instrument.items]
    for item_id in instrument.item_ids:
        assert french.scale_for(item_id).points == instrument.scale_for(item_id).points
    assert french.content_hash == instrument.content_hash
    without = {k: v for k, v in data.items() if k != "translations"}
    assert parse_instrument(without).content_hash == instrument.content_hash
    missing = instrument.untranslated("fr")
    assert ("fr" in instrument.languages) == (not missing)
    translation = data["translations"]["fr"]
    for item in french.items:
        expected = translation.get("items", {}).get(item.id, instrument.item(item.id).text)
        assert item.text == expected.strip()
        assert (f"translations.fr.items.{item.id}" in missing) == (
            item.id not in translation.get("items", {})
        )
    again = parse_instrument(instrument.definition, source="stored")
    assert again.translations == instrument.translations
    assert again.translations_hash == instrument.translations_hash


def _translation_slots(data: dict[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    """(path into the data, field name) of every text or list inside the translation."""
    slots: list[tuple[tuple[Any, ...], str]] = []

    def walk(value: Any, path: tuple[Any, ...], name: str) -> None:
        if isinstance(value, dict):
            for key, child in value.items():
                walk(child, (*path, key), f"{name}.{key}")
        else:
            slots.append((path, name))

    walk(data["translations"]["fr"], ("translations", "fr"), "translations.fr")
    return slots


BAD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.just(""),
    st.just("   "),
    st.dictionaries(st.sampled_from(["x", "y"]), st.text(max_size=3), min_size=1, max_size=2),
)


@settings(max_examples=80, suppress_health_check=[HealthCheck.too_slow])
@given(data=translated(), draw=st.data(), bad=BAD_VALUES)
def test_a_bad_translated_value_is_reported_at_its_field(
    data: dict[str, Any], draw: st.DataObject, bad: Any
) -> None:
    slots = _translation_slots(data)
    if not slots:
        return
    path, name = draw.draw(st.sampled_from(slots))
    data = copy.deepcopy(data)
    target: Any = data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = bad

    with pytest.raises(InstrumentError) as caught:
        parse_instrument(data, source="fuzz.yaml")

    fields = [problem.field for problem in caught.value.problems]
    assert any(field == name or field.startswith(f"{name}[") for field in fields), fields
