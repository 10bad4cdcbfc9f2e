"""Us vs them: levels, the pair rules (data in framework.yaml), their validation."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.advice import load_advice
from analytics.counterparty import BlockerRating, CounterpartyRating, Interval, TooFewRaters
from analytics.gap import BlockerGap, analyze_gap, level_of, rule_fires
from analytics.kit_schema import Condition, KitError, load_kit, parse_kit

BLOCKERS = ("trust", "time_pressure", "fixed_pie", "misalignment", "power")
FRAMEWORK = Path(__file__).parents[2] / "analytics" / "data" / "framework.yaml"
KIT = load_kit()


def _gap(
    blocker: str, us: str = "unclear", them: str = "unclear", shared: bool = True
) -> BlockerGap:
    return BlockerGap(blocker, blocker, None, None, None, us, them if shared else "unclear", shared)


def _neutral() -> dict[str, BlockerGap]:
    return {b: _gap(b) for b in BLOCKERS}


def _apply(blockers: dict[str, BlockerGap], condition: Condition, side: str | None = None) -> None:
    current = blockers[condition.blocker]
    side = side or condition.side
    side = "us" if side == "either" else side  # one side is enough; the other test covers them
    if condition.level == "not_shared":
        blockers[condition.blocker] = _gap(condition.blocker, current.us_level, shared=False)
        return
    us = condition.level if side in ("us", "both") else current.us_level
    them = condition.level if side in ("them", "both") else current.them_level
    blockers[condition.blocker] = _gap(condition.blocker, us, them, current.them_shared)


_OTHER = {"present": "absent", "absent": "present", "unclear": "present"}


def _negate(blockers: dict[str, BlockerGap], condition: Condition) -> None:
    current = blockers[condition.blocker]
    if condition.level == "not_shared":
        blockers[condition.blocker] = _gap(condition.blocker, current.us_level, "unclear")
        return
    other = _OTHER[condition.level]
    us = other if condition.side in ("us", "both", "either") else current.us_level
    them = other if condition.side in ("them", "both", "either") else current.them_level
    blockers[condition.blocker] = _gap(condition.blocker, us, them, current.them_shared)


def _satisfying(rule) -> dict[str, BlockerGap]:  # type: ignore[no-untyped-def]
    blockers = _neutral()
    for condition in rule.all:
        _apply(blockers, condition)
    if rule.any:
        _apply(blockers, rule.any[0])
    return blockers


@pytest.mark.parametrize("rule", KIT.pair_rules, ids=lambda r: r.id)
def test_every_rule_fires_on_its_case_and_not_on_its_negation(rule) -> None:  # type: ignore[no-untyped-def]
    blockers = _satisfying(rule)
    assert rule_fires(rule, blockers)
    for condition in rule.all:
        negated = dict(blockers)
        _negate(negated, condition)
        assert not rule_fires(rule, negated), condition
    if rule.any:
        negated = dict(blockers)
        for condition in rule.any:
            _negate(negated, condition)
        assert not rule_fires(rule, negated)
        # Each `any` condition alone is enough.
        for condition in rule.any:
            alone = _neutral()
            for must in rule.all:
                _apply(alone, must)
            _apply(alone, condition)
            assert rule_fires(rule, alone), condition


def test_either_side_means_us_or_them() -> None:
    condition = Condition(blocker="fixed_pie", side="either", level="present")
    rule = next(r for r in KIT.pair_rules if r.id == "guarded_fixed_pie")
    for side in ("us", "them"):
        blockers = _neutral()
        for must in rule.all:
            _apply(blockers, must)
        _apply(blockers, condition, side=side)
        assert rule_fires(rule, blockers), side


def test_not_shared_is_not_a_level_of_a_withheld_blocker() -> None:
    rule = next(r for r in KIT.pair_rules if r.id == "split_counterparty")
    blockers = _neutral()
    withheld = _gap("misalignment", shared=False)
    blockers["misalignment"] = BlockerGap(**{**withheld.__dict__, "them_withheld": True})
    assert not rule_fires(rule, blockers)


def test_level_compares_the_printed_interval_with_the_midpoint() -> None:
    # 3.04 prints as 3.0, which is not above 3: unclear, as the reader would see it.
    assert level_of(Interval(3.5, 3.04, 3.9), 3.0) == "unclear"
    assert level_of(Interval(3.5, 3.05, 3.9), 3.0) == "present"  # prints 3.1
    assert level_of(Interval(2.5, 2.1, 2.95), 3.0) == "unclear"  # prints 3.0
    assert level_of(Interval(2.5, 2.1, 2.94), 3.0) == "absent"
    assert level_of(Interval(4.0, None, None), 3.0) == "unclear"


def _rating(them: dict[str, tuple[float, float, float] | None], n: int = 6) -> CounterpartyRating:
    """A rating: per blocker (mean, low, high), or None for 'not shared'."""
    blockers = []
    for b in BLOCKERS:
        value = them.get(b, (3.0, 2.6, 3.4))
        if value is None:
            blockers.append(BlockerRating(b, b.title(), n, 3.0, 2.0, 4.0, 0.3, False))
        else:
            blockers.append(BlockerRating(b, b.title(), n, *value, 0.9, True))
    return CounterpartyRating(
        n=n, blockers=tuple(blockers), plays=(), icc=None, profile_shared=False,
        rwg_j_min=0.7, icc_min=0.7, confidence=0.95,
    )  # fmt: skip


def _team(levels: dict[str, float], n: int = 8) -> pd.DataFrame:
    spread = np.linspace(-0.3, 0.3, n)
    return pd.DataFrame({b: levels.get(b, 3.0) + spread for b in BLOCKERS})


def test_guarded_on_both_sides_with_fixed_pie() -> None:
    team = _team({"trust": 4.2, "fixed_pie": 4.0})
    rating = _rating({"trust": (4.3, 3.9, 4.7), "misalignment": None})
    gap = analyze_gap(team, rating)
    trust = gap.blocker("trust")
    assert (trust.us_level, trust.them_level) == ("present", "present")
    assert trust.gap == pytest.approx(4.3 - 4.2)
    assert gap.both_sides == ("trust",)
    assert KIT.gap.wording.both_sides["trust"] in gap.findings
    plays = [(p.play_id, p.rule_id) for p in gap.plays]
    assert plays[:2] == [("meso", "guarded_fixed_pie"), ("contingent", "guarded_fixed_pie")]
    # Misalignment not shared: no mean for their side, the split rule fires, the
    # finding is there, and the counterparty is not called split on that basis.
    misalignment = gap.blocker("misalignment")
    assert misalignment.them is None and not misalignment.them_shared
    assert ("objective_criteria", "split_counterparty") in plays
    assert not gap.split_counterparty
    assert KIT.agreement.wording.blocker_not_shared.format(name="Misalignment") in gap.findings
    assert KIT.agreement.wording.profile_not_shared in gap.findings and not gap.shared
    assert (gap.team_n, gap.rater_n, gap.reference_point) == (8, 6, 3.0)


def test_split_counterparty_and_no_both_sides() -> None:
    gap = analyze_gap(_team({}), _rating({"misalignment": (4.0, 3.6, 4.4)}))
    assert gap.split_counterparty and gap.both_sides == ()
    assert KIT.gap.wording.no_both_sides in gap.findings
    assert [p.rule_id for p in gap.plays] == ["split_counterparty"] * 2


def test_a_play_of_two_rules_is_listed_once_with_the_first_reason() -> None:
    rating = _rating({"misalignment": (4.0, 3.6, 4.4), "power": (4.1, 3.7, 4.5)})
    gap = analyze_gap(_team({}), rating)
    ids = [p.play_id for p in gap.plays]
    assert ids == ["objective_criteria", "joint_framing", "meso"]
    first = next(p for p in gap.plays if p.play_id == "objective_criteria")
    assert first.rule_id == "split_counterparty"


def test_team_below_threshold_is_refused() -> None:
    with pytest.raises(TooFewRaters):
        analyze_gap(_team({}, n=4), _rating({}), threshold=5)


levels = st.sampled_from(["present", "absent", "unclear", "not_shared"])


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(BLOCKERS), st.tuples(levels, levels)))
def test_recommended_plays_exist_and_follow_the_rules(chosen) -> None:  # type: ignore[no-untyped-def]
    blockers = _neutral()
    for b, (us, them) in chosen.items():
        us = "unclear" if us == "not_shared" else us
        blockers[b] = _gap(b, us, them, shared=them != "not_shared")
    fired = [r for r in KIT.pair_rules if rule_fires(r, blockers)]
    expected = list(dict.fromkeys(p for r in fired for p in r.plays))
    advice_plays = {p.id for p in load_advice().plays}
    assert set(expected) <= advice_plays
    assert set(expected) <= set(KIT.drills)


def _document() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load(FRAMEWORK.read_text(encoding="utf-8"))


def test_rule_validation_names_file_field_and_fix() -> None:
    doc = _document()
    broken = copy.deepcopy(doc)
    broken["pair_rules"][1]["any"][0]["blocker"] = "trsut"
    broken["pair_rules"][2]["plays"] = ["objective_criteria", "objective_criteria"]
    broken["pair_rules"][3]["plays"] = ["mesoo"]
    broken["pair_rules"][0]["all"][0]["side"] = "both"
    broken["pair_rules"][0]["all"][0]["level"] = "not_shared"
    broken["pair_rules"][4]["all"] = []
    broken["pair_rules"][5]["id"] = broken["pair_rules"][4]["id"]
    broken["pair_rules"][4]["colour"] = "red"
    with pytest.raises(KitError) as caught:
        parse_kit(broken)
    text = "\n".join(caught.value.problems)
    assert "framework.yaml: pair_rules[1].any[0].blocker: unknown blocker id 'trsut'; use" in text
    assert "pair_rules[2].plays: lists a play twice" in text
    assert "pair_rules[3].plays: unknown play id 'mesoo'" in text
    assert "pair_rules[0].all[0]: level not_shared describes" in text and "use side: them" in text
    assert "pair_rules[4].colour: unknown key" in text


def test_rules_need_a_condition_and_unique_ids() -> None:
    doc = _document()
    no_condition = copy.deepcopy(doc)
    no_condition["pair_rules"][4]["all"] = []
    with pytest.raises(KitError, match=r"pair_rules\[4\]: give at least one condition"):
        parse_kit(no_condition)
    twice = copy.deepcopy(doc)
    twice["pair_rules"][5]["id"] = twice["pair_rules"][0]["id"]
    with pytest.raises(KitError, match="rule ids must be unique"):
        parse_kit(twice)


def test_kit_validation_of_the_other_sections() -> None:
    doc = _document()
    broken = copy.deepcopy(doc)
    del broken["drills"]["meso"]
    broken["agreement"]["rwg_j_min"] = 1.5
    broken["gap"]["split_blocker"] = "split"
    broken["gap"]["wording"]["both_sides"].pop("power")
    broken["worksheet"]["them"]["trust"].pop("criteria")
    broken["trend"]["wording"]["rose"] = "{blocker} rose"
    broken["session_kit"]["max_commitments"] = 0
    with pytest.raises(KitError) as caught:
        parse_kit(broken, source="mine.yaml")
    text = str(caught.value)
    assert (
        "mine.yaml: drills: needs exactly one entry per play id" in text
        and "missing ['meso']" in text
    )
    assert "mine.yaml: agreement.rwg_j_min:" in text
    assert "mine.yaml: gap.split_blocker: unknown blocker id 'split'" in text
    assert "mine.yaml: gap.wording.both_sides:" in text and "missing ['power']" in text
    assert "mine.yaml: worksheet.them: trust:" in text and "missing ['criteria']" in text
    assert "mine.yaml: trend.wording: unknown placeholder(s) ['blocker']" in text
    assert "mine.yaml: session_kit.max_commitments:" in text


def test_advice_loader_still_loads_the_file_with_the_new_sections() -> None:
    advice = load_advice()
    assert {b.id for b in advice.blockers} == set(BLOCKERS)


def test_the_advice_loader_knows_the_kit_sections() -> None:
    from analytics import advice
    from analytics.kit_schema import KIT_SECTIONS

    assert set(KIT_SECTIONS) <= advice.OTHER_SECTIONS
