"""The instrument file format: the shipped default, every rejection rule, hashing, fuzzing."""

from __future__ import annotations

import copy
import hashlib
import json
import pickle
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.instrument import Instrument
from analytics.instrument_parser import (
    DIMENSION_KINDS,
    RESERVED_IDS,
    InstrumentError,
    InstrumentProblem,
    default_instrument_paths,
    load_default_instrument,
    load_instrument,
    parse_instrument,
    parse_instrument_yaml,
)

BLOCKERS = {
    "trust": ("Trust", ["TR1", "TR2", "TR3", "TR4", "TR5"]),
    "time_pressure": ("Time pressure", ["TP1", "TP2", "TP3", "TP4", "TP5"]),
    "fixed_pie": ("Fixed-pie mindset", ["FP1", "FP2", "FP3", "FP4", "FP5"]),
    "misalignment": ("Internal misalignment", ["MA1", "MA2", "MA3", "MA4", "MA5"]),
    "power": ("Power imbalance", ["PW1", "PW2", "PW3", "PW4", "PW5"]),
}
PRACTICES = {
    "meso": ["ME1", "ME2"],
    "contingent": ["CA1", "CA2"],
    "logrolling": ["LR1", "LR2"],
    "objective_criteria": ["OC1", "OC2"],
    "joint_framing": ["JF1", "JF2"],
    "post_settlement": ["PS1", "PS2"],
}

# ----------------------------------------------------------------------------- default


def test_default_instrument_has_the_documented_shape() -> None:
    instrument = load_default_instrument()

    assert (instrument.id, instrument.version) == ("negotiation-blockers", 1)
    assert instrument.title == "Negotiation blockers profile"
    assert instrument.description
    assert instrument.response_scale.points == (1, 2, 3, 4, 5)
    assert instrument.response_scale.labels == (
        "Strongly disagree",
        "Disagree",
        "Neutral",
        "Agree",
        "Strongly agree",
    )
    assert len(instrument.items) == 37
    blockers = instrument.blocker_dimensions
    assert [d.id for d in blockers] == list(BLOCKERS)
    for dim in blockers:
        assert dim.kind == "blocker"
        assert (dim.name, list(dim.item_ids)) == BLOCKERS[dim.id]
        assert dim.response_scale is None
        assert 1 <= sum(item.reverse for item in dim.items) < len(dim.items)
    practices = instrument.practice_dimensions
    assert {d.id: list(d.item_ids) for d in practices} == PRACTICES
    for dim in practices:
        assert dim.response_scale is not None
        assert dim.response_scale.points == (1, 2, 3, 4, 5)
        assert dim.response_scale.labels == ("Never", "Rarely", "Sometimes", "Often", "Always")
        assert not any(item.reverse for item in dim.items)
    assert [(q.id, q.text, q.options) for q in instrument.context] == [
        (
            "role",
            "Your role family",
            ("sales", "procurement", "engineering", "management", "other"),
        ),
        (
            "tenure",
            "How long you have negotiated in your current role",
            ("under 1 year", "1-3 years", "3-10 years", "over 10 years"),
        ),
    ]


def test_default_items_are_first_person_sentences() -> None:
    instrument = load_default_instrument()
    for dim in instrument.dimensions:
        assert dim.description.endswith(".") and len(dim.description) < 300
        for item in dim.items:
            assert " I " in f" {item.text} ", item.id
            assert item.text.endswith("."), item.id


def test_default_file_is_listed_and_loads_by_path() -> None:
    paths = default_instrument_paths()
    assert "negotiation-blockers-v1.yaml" in [path.name for path in paths]
    for path in paths:
        assert isinstance(load_instrument(path), Instrument)
    default = next(path for path in paths if path.name == "negotiation-blockers-v1.yaml")
    assert load_instrument(default) == load_default_instrument()
    assert load_instrument(str(default)).content_hash == load_default_instrument().content_hash


def test_default_survives_a_json_round_trip_with_the_same_hash() -> None:
    instrument = load_default_instrument()
    stored = json.loads(json.dumps(_plain(instrument.definition)))

    again = parse_instrument(stored, source="stored")

    assert again == instrument
    assert again.content_hash == instrument.content_hash


# ----------------------------------------------------------------------------- rejections


def _base() -> dict[str, Any]:
    """A small valid instrument using every field of the format."""
    return {
        "id": "demo",
        "version": 1,
        "title": "Demo",
        "description": "A demo.",
        "response_scale": {"min": 1, "max": 3, "labels": ["Low", "Mid", "High"]},
        "dimensions": [
            {
                "id": "alpha",
                "name": "Alpha",
                "description": "About alpha.",
                "kind": "blocker",
                "items": [
                    {"id": "A1", "text": "I do a."},
                    {"id": "A2", "text": "I do not do a.", "reverse": True},
                ],
            },
            {
                "id": "beta",
                "name": "Beta",
                "description": "About beta.",
                "kind": "practice",
                "response_scale": {"min": 0, "max": 1, "labels": ["Never", "Often"]},
                "items": [{"id": "B1", "text": "I do b."}, {"id": "B2", "text": "I do b too."}],
            },
        ],
        "context": [{"id": "role", "text": "Your role", "options": ["sales", "other"]}],
        "translations": {"de": {"title": "Demo"}},
    }


def _set(path: str, value: Any):
    """A mutation that sets the value at a dotted path (``dimensions.0.items.1.reverse``)."""

    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = data
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value

    return mutate


def _drop(path: str):
    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = data
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        del target[last]

    return mutate


REJECTIONS = {
    # missing required fields
    "missing title": (_drop("title"), "title", "required field is missing"),
    "missing scale": (_drop("response_scale"), "response_scale", "required field is missing"),
    "missing dim name": (_drop("dimensions.0.name"), "dimensions[0].name", "required field"),
    "missing dim desc": (
        _drop("dimensions.1.description"),
        "dimensions[1].description",
        "required field",
    ),
    "missing items": (_drop("dimensions.0.items"), "dimensions[0].items", "required field"),
    "missing item text": (
        _drop("dimensions.0.items.1.text"),
        "dimensions[0].items[1].text",
        "required field",
    ),
    "missing labels": (_drop("response_scale.labels"), "response_scale.labels", "required"),
    "missing options": (_drop("context.0.options"), "context[0].options", "required field"),
    # wrong types
    "version as text": (_set("version", "1"), "version", "must be a positive integer, got '1'"),
    "title as number": (_set("title", 3), "title", "must be text, got 3"),
    "dimensions as mapping": (_set("dimensions", {"a": 1}), "dimensions", "must be a list"),
    "items as text": (_set("dimensions.0.items", "A1"), "dimensions[0].items", "must be a list"),
    "item as text": (_set("dimensions.0.items.0", "A1"), "dimensions[0].items[0]", "mapping"),
    "scale as list": (_set("response_scale", [1, 5]), "response_scale", "must be a mapping"),
    "labels as text": (_set("response_scale.labels", "Low"), "response_scale.labels", "list"),
    "context as mapping": (_set("context", {"id": "x"}), "context", "must be a list"),
    "translations as list": (_set("translations", ["de"]), "translations", "must be a mapping"),
    "translations with a set": (
        _set("translations", {"de": {1, 2}}),
        "translations.de",
        "must be a mapping, got a value of type set",
    ),
    "translations not a language": (
        _set("translations", {"x": {"title": "X"}}),
        "translations.x",
        "must be a language code such as fr, pt-BR or zh-Hant",
    ),
    "translations unknown language": (
        _set("translations", {"qq": {"title": "X"}}),
        "translations.qq",
        "unknown language code 'qq'",
    ),
    # unknown keys at every level
    "unknown top key": (_set("author", "me"), "author", "unknown key"),
    "unknown scale key": (_set("response_scale.step", 1), "response_scale.step", "unknown key"),
    "unknown dim key": (_set("dimensions.1.colour", "red"), "dimensions[1].colour", "unknown"),
    "unknown item key": (
        _set("dimensions.0.items.0.weight", 2),
        "dimensions[0].items[0].weight",
        "unknown",
    ),
    "unknown dim scale key": (
        _set("dimensions.1.response_scale.style", "x"),
        "dimensions[1].response_scale.style",
        "unknown key",
    ),
    "unknown context key": (_set("context.0.help", "x"), "context[0].help", "unknown key"),
    "non-text key": (
        lambda d: d["dimensions"][0]["items"][0].update({7: 1}),
        "dimensions[0].items[0].7",
        "unknown key",
    ),
    # duplicate and reserved ids
    "duplicate item id": (
        _set("dimensions.1.items.0.id", "A1"),
        "dimensions[1].items[0].id",
        "duplicate id 'A1': already used by dimensions[0].items[0]",
    ),
    "duplicate id ignoring case": (
        _set("dimensions.0.items.1.id", "a1"),
        "dimensions[0].items[1].id",
        "as 'A1' (ids are compared ignoring case)",
    ),
    "duplicate dimension id": (
        _set("dimensions.1.id", "alpha"),
        "dimensions[1].id",
        "duplicate id 'alpha': already used by dimensions[0]",
    ),
    "item id equals dimension id": (
        _set("dimensions.1.items.1.id", "beta"),
        "dimensions[1].items[1].id",
        "duplicate id 'beta'",
    ),
    "context id equals item id": (
        _set("context.0.id", "B2"),
        "context[0].id",
        "already used by dimensions[1].items[1]",
    ),
    "duplicate context id": (
        lambda d: d["context"].append({"id": "role", "text": "Again", "options": ["a", "b"]}),
        "context[1].id",
        "duplicate id 'role'",
    ),
    "reserved team": (_set("dimensions.0.id", "team"), "dimensions[0].id", "'team' is reserved"),
    "reserved respondent": (_set("context.0.id", "Respondent"), "context[0].id", "is reserved"),
    # identifiers
    "id starting with digit": (_set("dimensions.0.items.0.id", "1A"), "items[0].id", "identifier"),
    "id with space": (_set("dimensions.0.id", "al pha"), "dimensions[0].id", "identifier"),
    "id with accent": (_set("context.0.id", "rôle"), "context[0].id", "identifier"),
    "empty id": (_set("id", ""), "id", "must be an identifier"),
    "numeric id": (_set("dimensions.0.items.0.id", 12), "dimensions[0].items[0].id", "got 12"),
    # item counts
    "one item": (
        lambda d: d["dimensions"][0]["items"].pop(),
        "dimensions[0].items",
        "needs at least 2 items, got 1",
    ),
    "no dimensions": (_set("dimensions", []), "dimensions", "needs at least 1 dimension, got 0"),
    # reverse
    "reverse as number": (
        _set("dimensions.0.items.0.reverse", 1),
        "dimensions[0].items[0].reverse",
        "must be true or false, got 1",
    ),
    "reverse as text": (
        _set("dimensions.0.items.0.reverse", "true"),
        "dimensions[0].items[0].reverse",
        "must be true or false, got 'true'",
    ),
    "reverse null": (_set("dimensions.0.items.0.reverse", None), "reverse", "got nothing (null)"),
    # scales
    "min as float": (_set("response_scale.min", 1.0), "response_scale.min", "whole number"),
    "max as text": (_set("response_scale.max", "3"), "response_scale.max", "whole number"),
    "max as bool": (_set("response_scale.max", True), "response_scale.max", "whole number"),
    "min above max": (_set("response_scale.min", 4), "response_scale", "min must be less than max"),
    "min equals max": (_set("response_scale.min", 3), "response_scale", "min 3 and max 3"),
    "too few labels": (
        _set("response_scale.labels", ["Low", "High"]),
        "response_scale.labels",
        "needs one label per point from 1 to 3 (3), got 2",
    ),
    "too many labels": (
        _set("dimensions.1.response_scale.labels", ["a", "b", "c"]),
        "dimensions[1].response_scale.labels",
        "(2), got 3",
    ),
    "empty label": (_set("response_scale.labels", ["Low", " ", "High"]), "labels[1]", "empty"),
    "label not text": (_set("response_scale.labels", ["Low", 2, "High"]), "labels[1]", "text"),
    "duplicate label": (
        _set("response_scale.labels", ["Low", "Mid", "low"]),
        "response_scale.labels[2]",
        "duplicate label 'low'",
    ),
    # version
    "version zero": (_set("version", 0), "version", "must be a positive integer, got 0"),
    "version negative": (_set("version", -2), "version", "got -2"),
    "version float": (_set("version", 1.5), "version", "got 1.5"),
    "version bool": (_set("version", True), "version", "got true"),
    # context
    "one option": (_set("context.0.options", ["sales"]), "context[0].options", "at least 2"),
    "duplicate option": (
        _set("context.0.options", ["sales", "other", "Sales "]),
        "context[0].options[2]",
        "duplicate option 'Sales'",
    ),
    "empty option": (_set("context.0.options", ["sales", ""]), "context[0].options[1]", "empty"),
    # empty texts
    "empty title": (_set("title", "   "), "title", "must not be empty"),
    "empty item text": (
        _set("dimensions.1.items.0.text", ""),
        "items[0].text",
        "must not be empty",
    ),
    "empty dim name": (_set("dimensions.0.name", "\n"), "dimensions[0].name", "must not be empty"),
    # kinds
    "unknown kind": (
        _set("dimensions.0.kind", "enabler"),
        "dimensions[0].kind",
        "must be one of blocker, practice, got 'enabler'",
    ),
    "kind null": (_set("dimensions.0.kind", None), "dimensions[0].kind", "got nothing (null)"),
    "dimension scale null": (
        _set("dimensions.1.response_scale", None),
        "dimensions[1].response_scale",
        "must be a mapping, got nothing (null)",
    ),
    "description null": (_set("description", None), "description", "must be text, got nothing"),
    "mixed kinds": (
        _drop("dimensions.1.kind"),
        "dimensions[1].kind",
        "required because other dimensions have one",
    ),
    "no blocker": (
        _set("dimensions.0.kind", "practice"),
        "dimensions",
        "at least one dimension must have kind 'blocker'",
    ),
}


@pytest.mark.parametrize("case", list(REJECTIONS))
def test_bad_files_are_rejected_naming_file_field_and_problem(tmp_path: Path, case: str) -> None:
    mutate, field, message = REJECTIONS[case]
    data = _base()
    mutate(data)
    path = tmp_path / "negotiation.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")

    with pytest.raises(InstrumentError) as caught:
        load_instrument(path)

    lines = str(caught.value).splitlines()
    assert any(
        line.startswith(f"{path}: ") and f"{field}: " in line and message in line for line in lines
    ), lines
    assert all(problem.source == str(path) for problem in caught.value.problems)


def test_the_base_fixture_is_valid() -> None:
    instrument = parse_instrument(_base(), source="base")
    assert instrument.item_ids == ("A1", "A2", "B1", "B2")
    assert instrument.dimension("beta").response_scale.labels == ("Never", "Often")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the top level must be a mapping of instrument fields, got an empty file"),
        ("- id: demo\n", "the top level must be a mapping of instrument fields, got a list"),
        ("just text\n", "got 'just text'"),
        ("id: demo\nversion: 1\n  title: x\n", "invalid YAML at line 3, column 8"),
        ("id: demo\ndimensions: [\n", "invalid YAML at line 3, column 1"),
        ("id: demo\nid: other\n", "invalid YAML at line 2, column 1: found duplicate key 'id'"),
        ("version: !!int one\n", "invalid YAML: a tagged value cannot be read"),
        ("id: !!python/object:os.system x\n", "invalid YAML at line 1, column 5"),
        ("a: 1\n---\nb: 2\n", "invalid YAML at line 2, column 1"),
        ("[" * 1500, "invalid YAML: nested too deeply"),
    ],
)
def test_unreadable_files_are_rejected(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InstrumentError) as caught:
        load_instrument(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


def test_yaml_1_1_booleans_are_not_booleans(tmp_path: Path) -> None:
    text = yaml.safe_dump(_base()).replace("reverse: true", "reverse: yes")
    assert "reverse: yes" in text
    path = tmp_path / "negotiation.yaml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(InstrumentError) as caught:
        load_instrument(path)

    assert str(caught.value) == (
        f"{path}: dimensions[0].items[1].reverse: must be true or false, got 'yes'"
    )


def test_yes_no_options_and_dates_stay_text() -> None:
    text = yaml.safe_dump(_base()).replace("- sales\n", "- yes\n").replace("- other\n", "- no\n")
    text = text.replace("title: Demo\n", "title: 2024-01-01\n")
    instrument = parse_instrument_yaml(text)
    assert instrument.context[0].options == ("yes", "no")
    assert instrument.title == "2024-01-01"


def test_all_problems_are_reported_at_once() -> None:
    data = _base()
    data["version"] = 0
    data["dimensions"][0]["items"][0]["reverse"] = "no"
    data["dimensions"][1]["response_scale"]["min"] = 5
    data["context"][0]["options"] = ["x"]
    data["shape"] = "round"

    with pytest.raises(InstrumentError) as caught:
        parse_instrument(data, source="many.yaml")

    assert [problem.field for problem in caught.value.problems] == [
        "shape",
        "version",
        "dimensions[0].items[0].reverse",
        "dimensions[1].response_scale",
        "context[0].options",
    ]


def test_error_and_problem_types() -> None:
    problem = InstrumentProblem("negotiation.yaml", "dimensions[2].items[0].reverse", "bad")
    assert str(problem) == "negotiation.yaml: dimensions[2].items[0].reverse: bad"
    assert str(InstrumentProblem("f.yaml", "", "empty")) == "f.yaml: empty"
    error = InstrumentError([problem, problem])
    assert isinstance(error, ValueError)
    assert str(error) == f"{problem}\n{problem}"
    again = pickle.loads(pickle.dumps(error))
    assert again.problems == error.problems


def test_missing_file_raises_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_instrument(tmp_path / "nope.yaml")


# ----------------------------------------------------------------------------- definition and hash


def test_content_hash_ignores_key_order_and_formatting() -> None:
    block = """\
        # a comment
        id: demo
        version: 1
        title: Demo
        response_scale:
          min: 1
          max: 2
          labels: [No, Yes]
        dimensions:
          - id: a
            name: A
            description: About A.
            items:
              - id: A1
                text: I ask.
              - id: A2
                text: "I listen."
        """
    flow = """\
        {dimensions: [{items: [{text: 'I ask.', id: A1}, {id: A2, text: I listen.}],
                       description: About A., name: A, id: a}],
         response_scale: {labels: ['No', 'Yes'], max: 2, min: 1},
         title: "Demo", version: 1, id: demo}
        """
    first = parse_instrument_yaml(textwrap.dedent(block))
    second = parse_instrument_yaml(textwrap.dedent(flow))

    assert first == second
    assert first.content_hash == second.content_hash
    expected = json.dumps(
        yaml.safe_load(textwrap.dedent(flow)), sort_keys=True, separators=(",", ":")
    )
    assert first.content_hash == hashlib.sha256(expected.encode()).hexdigest()
    changed = parse_instrument_yaml(textwrap.dedent(block).replace("I ask.", "I ask!"))
    assert changed.content_hash != first.content_hash


def test_definition_is_a_read_only_copy() -> None:
    data = _base()
    instrument = parse_instrument(data)
    before = instrument.content_hash

    data["dimensions"][0]["items"][0]["text"] = "changed"
    data["title"] = "changed"

    assert instrument.definition["dimensions"][0]["items"][0]["text"] == "I do a."
    assert parse_instrument(data).content_hash != before
    assert instrument.definition["translations"] == {"de": {"title": "Demo"}}
    with pytest.raises(TypeError):
        instrument.definition["title"] = "x"  # type: ignore[index]
    with pytest.raises(TypeError):
        instrument.definition["dimensions"][0]["items"][0]["text"] = "x"
    assert isinstance(instrument.definition["dimensions"], tuple)
    assert instrument.content_hash == before


# ----------------------------------------------------------------------------- properties

IDENTIFIERS = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,10}", fullmatch=True).filter(
    lambda s: s.casefold() not in RESERVED_IDS
)
TEXTS = st.text(min_size=1, max_size=20).filter(str.strip)
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)


def _distinct_texts(n_min: int, n_max: int) -> st.SearchStrategy[list[str]]:
    return st.lists(TEXTS, min_size=n_min, max_size=n_max, unique_by=lambda s: s.strip().casefold())


@st.composite
def scales(draw: st.DrawFn) -> dict[str, Any]:
    low = draw(st.integers(-3, 3))
    labels = draw(_distinct_texts(2, 7))
    return {"min": low, "max": low + len(labels) - 1, "labels": labels}


@st.composite
def instruments(draw: st.DrawFn) -> dict[str, Any]:
    """Valid instrument mappings covering every optional field."""
    sizes = draw(st.lists(st.integers(2, 4), min_size=1, max_size=4))
    n_context = draw(st.integers(0, 2))
    n_ids = len(sizes) + sum(sizes) + n_context
    ids = iter(draw(st.lists(IDENTIFIERS, min_size=n_ids, max_size=n_ids, unique_by=str.casefold)))
    with_kinds = draw(st.booleans())
    dimensions = []
    for position, size in enumerate(sizes):
        dim: dict[str, Any] = {"id": next(ids), "name": draw(TEXTS), "description": draw(TEXTS)}
        items = []
        for _ in range(size):
            item: dict[str, Any] = {"id": next(ids), "text": draw(TEXTS)}
            if draw(st.booleans()):
                item["reverse"] = draw(st.booleans())
            items.append(item)
        dim["items"] = items
        if with_kinds:
            dim["kind"] = "blocker" if position == 0 else draw(st.sampled_from(DIMENSION_KINDS))
        if draw(st.booleans()):
            dim["response_scale"] = draw(scales())
        dimensions.append(dim)
    data: dict[str, Any] = {
        "id": draw(IDENTIFIERS),
        "version": draw(st.integers(1, 10**6)),
        "title": draw(TEXTS),
        "response_scale": draw(scales()),
        "dimensions": dimensions,
    }
    if draw(st.booleans()):
        data["description"] = draw(st.text(max_size=20))
    if n_context or draw(st.booleans()):
        data["context"] = [
            {"id": next(ids), "text": draw(TEXTS), "options": draw(_distinct_texts(2, 4))}
            for _ in range(n_context)
        ]
    if draw(st.booleans()):
        languages = draw(st.lists(st.sampled_from(LANGUAGES), max_size=3, unique=True))
        data["translations"] = {lang: draw(translations_of(data)) for lang in languages}
    return data


LANGUAGES = ["de", "fr", "es", "pt-BR", "zh-Hant"]


@st.composite
def translations_of(draw: st.DrawFn, data: dict[str, Any]) -> dict[str, Any]:
    """A valid, possibly partial translation of an instrument mapping."""

    def labels(scale: dict[str, Any]) -> dict[str, Any]:
        n = len(scale["labels"])
        return {"labels": draw(_distinct_texts(n, n))}

    found: dict[str, Any] = {}
    if draw(st.booleans()):
        found["title"] = draw(TEXTS)
    if draw(st.booleans()):
        found["description"] = draw(TEXTS)
    if draw(st.booleans()):
        found["response_scale"] = labels(data["response_scale"])
    dimensions: dict[str, Any] = {}
    for dim in data["dimensions"]:
        entry: dict[str, Any] = {}
        if draw(st.booleans()):
            entry["name"] = draw(TEXTS)
        if draw(st.booleans()):
            entry["description"] = draw(TEXTS)
        if "response_scale" in dim and draw(st.booleans()):
            entry["response_scale"] = labels(dim["response_scale"])
        if entry or draw(st.booleans()):
            dimensions[dim["id"]] = entry
    if dimensions:
        found["dimensions"] = dimensions
    items = {
        item["id"]: draw(TEXTS)
        for dim in data["dimensions"]
        for item in dim["items"]
        if draw(st.booleans())
    }
    if items:
        found["items"] = items
    context: dict[str, Any] = {}
    for question in data.get("context", []):
        entry = {}
        if draw(st.booleans()):
            entry["text"] = draw(TEXTS)
        if draw(st.booleans()):
            n = len(question["options"])
            entry["options"] = draw(_distinct_texts(n, n))
        context[question["id"]] = entry
    if context:
        found["context"] = context
    return found


def _shuffled(value: Any, draw: st.DrawFn) -> Any:
    """The same content with every mapping's keys in a drawn order."""
    if isinstance(value, dict):
        keys = draw(st.permutations(list(value)))
        return {key: _shuffled(value[key], draw) for key in keys}
    if isinstance(value, list):
        return [_shuffled(child, draw) for child in value]
    return value


def _plain(value: Any) -> Any:
    """Read-only definitions back to dicts and lists."""
    if isinstance(value, Mapping):
        return {key: _plain(child) for key, child in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(child) for child in value]
    return value


def _assert_complete(instrument: Instrument) -> None:
    """No field of a parsed instrument may be left unset."""
    assert isinstance(instrument.id, str) and isinstance(instrument.version, int)
    assert isinstance(instrument.title, str) and instrument.response_scale is not None
    assert instrument.dimensions and all(len(dim.items) >= 2 for dim in instrument.dimensions)
    assert all(None not in (item.id, item.text) for item in instrument.items)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(data=instruments(), draw=st.data())
def test_valid_instruments_parse_and_round_trip(data: dict[str, Any], draw: st.DataObject) -> None:
    instrument = parse_instrument(data, source="generated")

    assert (instrument.id, instrument.version) == (data["id"], data["version"])
    assert instrument.title == data["title"].strip()
    assert [d.id for d in instrument.dimensions] == [d["id"] for d in data["dimensions"]]
    for dim, raw in zip(instrument.dimensions, data["dimensions"], strict=True):
        assert dim.item_ids == tuple(item["id"] for item in raw["items"])
        assert [i.reverse for i in dim.items] == [i.get("reverse", False) for i in raw["items"]]
        assert [i.text for i in dim.items] == [i["text"].strip() for i in raw["items"]]
        assert dim.kind == raw.get("kind")
        scale = raw.get("response_scale", data["response_scale"])
        used = instrument.scale_for(dim.item_ids[0])
        assert (used.min, used.max) == (scale["min"], scale["max"])
        assert used.labels == tuple(label.strip() for label in scale["labels"])
    assert [q.options for q in instrument.context] == [
        tuple(option.strip() for option in q["options"]) for q in data.get("context", [])
    ]
    assert _plain(instrument.definition) == data

    reordered = parse_instrument(_shuffled(data, draw.draw), source="reordered")
    from_yaml = parse_instrument_yaml(yaml.safe_dump(data), "dumped")
    from_definition = parse_instrument(instrument.definition)
    for other in (reordered, from_yaml, from_definition):
        assert other == instrument
        assert other.content_hash == instrument.content_hash


FORMAT_KEYS = set(_base()) | {"name", "kind", "items", "text", "reverse", "min", "max", "labels"}
FORMAT_KEYS |= {"options"}


def _id_slots(data: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    """Every mapping holding an item, dimension or context id, in validation order."""
    slots = []
    for i, dim in enumerate(data["dimensions"]):
        slots.append((dim, f"dimensions[{i}].id"))
        slots += [(item, f"dimensions[{i}].items[{j}].id") for j, item in enumerate(dim["items"])]
    slots += [(q, f"context[{i}].id") for i, q in enumerate(data.get("context", []))]
    return slots


def _mappings(data: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    """Every mapping of the format (not free translations), with its field path."""
    found = [(data, ""), (data["response_scale"], "response_scale")]
    for i, dim in enumerate(data["dimensions"]):
        found.append((dim, f"dimensions[{i}]"))
        if "response_scale" in dim:
            found.append((dim["response_scale"], f"dimensions[{i}].response_scale"))
        found += [(item, f"dimensions[{i}].items[{j}]") for j, item in enumerate(dim["items"])]
    found += [(q, f"context[{i}]") for i, q in enumerate(data.get("context", []))]
    return found


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(data=instruments(), draw=st.data(), kind=st.sampled_from(["key", "duplicate", "reverse"]))
def test_mutated_instruments_are_rejected(
    data: dict[str, Any], draw: st.DataObject, kind: str
) -> None:
    data = copy.deepcopy(data)
    if kind == "key":
        target, field = draw.draw(st.sampled_from(_mappings(data)))
        key = draw.draw(IDENTIFIERS.filter(lambda k: k not in FORMAT_KEYS))
        target[key] = draw.draw(JSON)
        expected = f"{field}.{key}" if field else key
    elif kind == "duplicate":
        slots = _id_slots(data)
        first = draw.draw(st.integers(0, len(slots) - 2))
        second = draw.draw(st.integers(first + 1, len(slots) - 1))
        target, expected = slots[second]
        source = slots[first][0]["id"]
        target["id"] = draw.draw(st.sampled_from([source, source.swapcase(), "team"]))
    else:
        dim = draw.draw(st.sampled_from(data["dimensions"]))
        position = draw.draw(st.integers(0, len(dim["items"]) - 1))
        dim["items"][position]["reverse"] = draw.draw(
            JSON.filter(lambda v: not isinstance(v, bool))
        )
        index = data["dimensions"].index(dim)
        expected = f"dimensions[{index}].items[{position}].reverse"

    with pytest.raises(InstrumentError) as caught:
        parse_instrument(data, source="mutated.yaml")

    assert expected in [problem.field for problem in caught.value.problems]


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*path, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            found += _paths(child, (*path, i))
    return found


def _parses_or_rejects(data: Any) -> None:
    try:
        instrument = parse_instrument(data, source="fuzz.yaml")
    except InstrumentError as error:
        assert error.problems and all(p.source == "fuzz.yaml" for p in error.problems)
        assert str(error)
    else:
        _assert_complete(instrument)
        assert len(instrument.content_hash) == 64


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(data=instruments(), draw=st.data(), replacement=JSON)
def test_any_subtree_replaced_by_json_parses_or_raises(
    data: dict[str, Any], draw: st.DataObject, replacement: Any
) -> None:
    path = draw.draw(st.sampled_from(_paths(data)[1:]))
    target: Any = data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = replacement
    _parses_or_rejects(data)


@given(JSON)
def test_arbitrary_json_parses_or_raises(data: Any) -> None:
    _parses_or_rejects(data)


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(data=instruments(), draw=st.data())
def test_damaged_yaml_text_parses_or_raises(data: dict[str, Any], draw: st.DataObject) -> None:
    text = yaml.safe_dump(data)
    start = draw.draw(st.integers(0, len(text)))
    end = draw.draw(st.integers(start, min(len(text), start + 5)))
    damaged = text[:start] + draw.draw(st.text(max_size=3)) + text[end:]
    try:
        instrument = parse_instrument_yaml(damaged, source="fuzz.yaml")
    except InstrumentError as error:
        assert str(error).startswith("fuzz.yaml: ")
    else:
        _assert_complete(instrument)


def test_a_short_list_and_its_bad_entry_are_both_reported() -> None:
    data = _base()
    data["dimensions"][0]["items"] = [{"id": "A1", "text": "I do a.", "reverse": "maybe"}]
    with pytest.raises(InstrumentError) as caught:
        parse_instrument(data, source="short.yaml")
    assert [str(problem) for problem in caught.value.problems] == [
        "short.yaml: dimensions[0].items: needs at least 2 items, got 1",
        "short.yaml: dimensions[0].items[0].reverse: must be true or false, got 'maybe'",
    ]
