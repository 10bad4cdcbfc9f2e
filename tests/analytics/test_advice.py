"""Tests for analytics.advice and the shipped advice file."""

from __future__ import annotations

import copy
import string
from pathlib import Path

import pytest
import yaml

from analytics.advice import (
    DEFAULT_ADVICE_PATH,
    PLACEHOLDERS,
    AdviceError,
    load_advice,
    parse_advice,
    verb_agreeing,
)
from analytics.coarsen import COUNT_WORDS


@pytest.fixture(scope="module")
def raw() -> dict:
    return yaml.safe_load(DEFAULT_ADVICE_PATH.read_text(encoding="utf-8"))


def modified(raw: dict, change) -> dict:
    mapping = copy.deepcopy(raw)
    change(mapping)
    return mapping


# --- the shipped file covers the default instrument ---------------------------------------


def test_every_blocker_of_the_default_instrument_has_complete_advice(default_instrument) -> None:
    advice = load_advice()
    topics = [t.id for t in advice.checklist_topics]
    assert len(topics) == 5
    for dim in default_instrument.blocker_dimensions:
        found = advice.blocker(dim.id)
        assert found is not None, dim.id
        assert found.name and found.behaviour
        assert [topic for topic, _ in found.checklist] == topics
        assert all(line.strip() for _, line in found.checklist)
        assert len(advice.plays_for(dim.id)) >= 2
        sentence = found.summary_sentence(7, 12)
        assert "7 of 12" in sentence and found.behaviour in sentence and found.name in sentence
        assert "3 of 12" in found.strength_sentence(3, 12)
        assert "a few members" in found.summary_sentence(1, 6)


def test_plays_are_exactly_the_practice_dimensions(default_instrument) -> None:
    advice = load_advice()
    assert {p.id for p in advice.plays} == {d.id for d in default_instrument.practice_dimensions}
    for play in advice.plays:
        assert play.name and play.rationale
        assert 2 <= len(play.questions) <= 3
        assert play.counters, f"{play.id} counters no blocker"


def test_play_counters_are_derived_from_the_blocker_lists() -> None:
    advice = load_advice()
    for play in advice.plays:
        expected = tuple(b.id for b in advice.blockers if play.id in b.plays)
        assert play.counters == expected


def test_pillars_partition_the_blockers(default_instrument) -> None:
    advice = load_advice()
    assert {p.id: p.blockers for p in advice.pillars} == {
        "relationships": ("trust", "power"),
        "process": ("time_pressure", "fixed_pie"),
        "goals": ("misalignment",),
    }
    members = [b for p in advice.pillars for b in p.blockers]
    assert sorted(members) == sorted(d.id for d in default_instrument.blocker_dimensions)
    assert advice.pillar_of("time_pressure").id == "process"
    assert advice.pillar_of("unknown") is None


def test_templates_use_only_known_placeholders() -> None:
    advice = load_advice()
    templates = [advice.default_blocker.summary, advice.default_blocker.strength]
    templates += [t for b in advice.blockers for t in (b.summary, b.strength)]
    for template in templates:
        fields = {f for _, f, _, _ in string.Formatter().parse(template) if f}
        assert fields <= PLACEHOLDERS


def test_summary_sentence_text() -> None:
    sentence = load_advice().blocker("time_pressure").summary_sentence(7, 12)
    assert sentence == (
        "Deadline pressure is your team's strongest blocker: 7 of 12 members concede more "
        "than planned when a deadline nears."
    )


def test_small_counts_are_words_with_a_plural_verb() -> None:
    advice = load_advice()
    trust = advice.blocker("trust")
    assert trust.summary_sentence(1, 6).endswith(
        ": a few members hold back their real needs and priorities from the other side."
    )
    assert trust.strength_sentence(0, 6).endswith(
        ": none of the members hold back their real needs and priorities from the other side."
    )
    assert ": about half of the members hold back" in trust.summary_sentence(4, 8)
    assert ": most members hold back" in trust.summary_sentence(8, 9)
    assert ": all members hold back" in trust.summary_sentence(6, 6)
    assert ": 5 of 12 members hold back" in trust.summary_sentence(5, 12)


@pytest.mark.parametrize("n", range(1, 25))
def test_no_sentence_points_at_one_or_two_members_or_counts_a_small_team(n: int) -> None:
    advice = load_advice()
    for blocker in advice.blockers:
        for k in range(n + 1):
            summary, strength = blocker.summary_sentence(k, n), blocker.strength_sentence(k, n)
            for sentence in (summary, strength):
                assert f"{k} of {n}" not in sentence or (n >= 10 and 3 <= k <= n - 3)
                if n < 10:
                    assert not any(c.isdigit() for c in sentence), sentence
                assert blocker.behaviour in sentence  # always the plural verb
            if n >= 5 and k in (1, 2):
                assert summary == blocker.summary_sentence(3 - k, n)
            if n >= 5 and n - k in (1, 2):
                assert summary == blocker.summary_sentence(2 * n - 3 - k, n)


def test_every_count_word_appears_in_some_sentence() -> None:
    trust = load_advice().blocker("trust")
    sentences = " ".join(trust.summary_sentence(k, 9) for k in range(10))
    assert all(word in sentences for word in COUNT_WORDS.values())


@pytest.mark.parametrize(
    ("phrase", "singular"),
    [
        ("hold back their needs", "holds back their needs"),
        ("concede more", "concedes more"),
        ("push for more", "pushes for more"),
        ("reach for the watch", "reaches for the watch"),
        ("fix the price", "fixes the price"),
        ("go first", "goes first"),
        ("worry about the clock", "worries about the clock"),
        ("say yes too soon", "says yes too soon"),
        ("are sure of it", "is sure of it"),
        ("have no plan", "has no plan"),
        ("don't share", "doesn't share"),
        ("can dictate the terms", "can dictate the terms"),
        ("often give in", "often gives in"),
        ("quickly agree", "quickly agrees"),
    ],
)
def test_verb_agreeing(phrase: str, singular: str) -> None:
    assert verb_agreeing(phrase, 1) == singular
    assert verb_agreeing(phrase, 2) == verb_agreeing(phrase, 0) == phrase
    assert verb_agreeing(phrase, None) == phrase


def test_unknown_blocker_gets_generic_advice_without_plays() -> None:
    advice = load_advice()
    generic = advice.blocker_or_generic("impatience", "Impatience")
    assert generic.name == "Impatience"
    assert generic.plays == () and generic.checklist == ()
    assert advice.plays_for("impatience") == ()
    assert "Impatience" in generic.summary_sentence(2, 5)
    assert advice.blocker_or_generic("trust", "ignored") is advice.blocker("trust")


def test_load_advice_is_cached_and_immutable() -> None:
    first = load_advice()
    assert load_advice() is first
    assert load_advice(DEFAULT_ADVICE_PATH) is first
    with pytest.raises(AttributeError):
        first.plays = ()  # type: ignore[misc]


# --- validation names the file and the field -------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m.pop("plays"), "x.yaml: plays: required field is missing"),
        (
            lambda m: m["blockers"]["trust"].pop("behaviour"),
            "x.yaml: blockers.trust.behaviour: required field is missing",
        ),
        (
            lambda m: m["blockers"]["trust"].update(plays=["meso", "haggling"]),
            "x.yaml: blockers.trust.plays: unknown play id(s) ['haggling']",
        ),
        (
            lambda m: m["blockers"]["power"].update(summary="{name} hurts {team}"),
            "x.yaml: blockers.power.summary: unknown placeholder(s) ['team']",
        ),
        (
            lambda m: m["blockers"]["power"].update(strength="{prevalent} of {n} members"),
            "x.yaml: blockers.power.strength: {prevalent} was an exact count",
        ),
        (
            lambda m: m["blockers"]["fixed_pie"]["checklist"].pop("criteria"),
            "x.yaml: blockers.fixed_pie.checklist: needs exactly one line per checklist topic",
        ),
        (
            lambda m: m["plays"]["meso"].update(questions=["Only one?"]),
            "x.yaml: plays.meso.questions: give two or three discussion questions",
        ),
        (
            lambda m: m["plays"]["meso"].update(counters=["trust"]),
            "x.yaml: plays.meso.counters:",
        ),
        (
            lambda m: m["pillars"][2]["blockers"].append("trust"),
            "x.yaml: pillars[2].blockers: 'trust' is already in pillar 'relationships'",
        ),
        (
            lambda m: m["pillars"][2].update(blockers=[]),
            "x.yaml: pillars: blockers ['misalignment'] belong to no pillar",
        ),
        (
            lambda m: m["blockers"]["trust"].update(name=""),
            "x.yaml: blockers.trust.name: must be a non-empty string",
        ),
    ],
)
def test_invalid_files_are_rejected_with_file_and_field(raw, change, message) -> None:
    with pytest.raises(AdviceError) as excinfo:
        parse_advice(modified(raw, change), source="x.yaml")
    assert str(excinfo.value).startswith(message)


def test_the_shipped_mapping_parses_unchanged(raw) -> None:
    assert parse_advice(raw, source="framework.yaml") == load_advice()


def test_load_advice_reports_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(AdviceError, match=r"missing\.yaml: cannot read"):
        load_advice(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("plays: [unclosed\n", encoding="utf-8")
    with pytest.raises(AdviceError, match=r"broken\.yaml: not valid YAML"):
        load_advice(broken)
    listed = tmp_path / "listed.yaml"
    listed.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(AdviceError, match=r"listed\.yaml: \(top level\): must be a mapping"):
        load_advice(listed)


def test_a_custom_file_loads(tmp_path: Path, raw) -> None:
    custom = modified(raw, lambda m: m["blockers"]["trust"].update(name="Closed cards"))
    path = tmp_path / "custom.yaml"
    path.write_text(yaml.safe_dump(custom), encoding="utf-8")
    advice = load_advice(path)
    assert advice.blocker("trust").name == "Closed cards"
    assert advice.source == "custom.yaml"


def test_unknown_keys_are_named_and_the_kit_sections_are_accepted(raw) -> None:
    assert "pair_rules" in raw  # a #16 section, validated by analytics.kit_schema
    with pytest.raises(AdviceError) as excinfo:
        parse_advice(modified(raw, lambda m: m.update(blokers={})), source="x.yaml")
    assert str(excinfo.value) == (
        "x.yaml: blokers: unknown key (allowed here: agreement, blockers, checklist_topics,"
        " defaults, drills, gap, pair_rules, pillars, plays, session_kit, trend, wording,"
        " worksheet)"
    )
    with pytest.raises(AdviceError, match=r"x\.yaml: blockers\.trust\.nmae: unknown key"):
        parse_advice(
            modified(raw, lambda m: m["blockers"]["trust"].update(nmae="x")), source="x.yaml"
        )


def test_every_problem_is_listed_in_file_order(raw) -> None:
    def change(m: dict) -> None:
        m["blockers"]["trust"]["name"] = ""
        m["plays"]["meso"]["questions"] = ["Only one?"]
        m["wording"]["leading"] = "{team} leads"

    with pytest.raises(AdviceError) as excinfo:
        parse_advice(modified(raw, change), source="x.yaml")
    assert [line.split(": ")[1] for line in excinfo.value.problems] == [
        "wording.leading",
        "plays.meso.questions",
        "blockers.trust.name",
    ]
    assert str(excinfo.value) == "\n".join(excinfo.value.problems)
