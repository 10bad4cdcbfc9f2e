"""rate_counterparty: scoring, agreement cut values, suppression; the counterparty instrument."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics.advice import load_advice
from analytics.agreement import icc, rwg_j
from analytics.counterparty import TooFewRaters, mean_interval, rate_counterparty
from analytics.instrument_parser import (
    DEFAULT_INSTRUMENT_FILE,
    default_instrument_paths,
    load_default_instrument,
    load_instrument,
)
from analytics.kit_schema import load_kit
from analytics.scoring import keyed_items

COUNTERPARTY_FILE = (
    Path(__file__).parents[2] / "analytics" / "instruments" / "counterparty-blockers-v1.yaml"
)


@pytest.fixture(scope="module")
def instrument():  # type: ignore[no-untyped-def]
    return load_instrument(COUNTERPARTY_FILE)


def test_counterparty_instrument_mirrors_the_self_instrument(instrument) -> None:  # type: ignore[no-untyped-def]
    own = load_default_instrument()
    assert instrument.id == "counterparty-blockers" and instrument.version == 1
    assert [d.id for d in instrument.blocker_dimensions] == [d.id for d in own.blocker_dimensions]
    assert [d.id for d in instrument.practice_dimensions] == [d.id for d in own.practice_dimensions]
    for dim in instrument.blocker_dimensions:
        assert len(dim.items) == 4 and any(item.reverse for item in dim.items)
    for dim in instrument.practice_dimensions:
        assert len(dim.items) == 2
    texts = [item.text for item in instrument.items]
    assert not any(text.startswith("I ") for text in texts)  # about them, not the respondent
    # Every play and blocker of the advice file has a dimension to be rated on.
    advice = load_advice()
    assert {b.id for b in advice.blockers} == {d.id for d in instrument.blocker_dimensions}
    assert {p.id for p in advice.plays} == {d.id for d in instrument.practice_dimensions}


def test_adding_the_counterparty_file_keeps_the_default_instrument() -> None:
    names = [path.name for path in default_instrument_paths()]
    assert names == sorted(names) and "counterparty-blockers-v1.yaml" in names
    assert DEFAULT_INSTRUMENT_FILE == "negotiation-blockers-v1.yaml"
    assert load_default_instrument().id == "negotiation-blockers"


def _answers(instrument, levels: dict[str, float], n: int, noise: float, seed: int) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """Raw answers whose keyed blocker items sit around ``levels`` (default 3)."""
    rng = np.random.default_rng(seed)
    rows = {}
    for dim in instrument.dimensions:
        level = levels.get(dim.id, 3.0)
        for item in dim.items:
            keyed = np.clip(np.rint(level + rng.normal(scale=noise, size=n)), 1, 5)
            rows[item.id] = 6 - keyed if item.reverse else keyed
    return pd.DataFrame(rows)


def test_rating_means_agreement_and_reverse_keying(instrument) -> None:  # type: ignore[no-untyped-def]
    answers = _answers(instrument, {"trust": 4.4, "power": 1.6}, n=8, noise=0.3, seed=1)
    rating = rate_counterparty(answers, instrument, threshold=5)
    trust = rating.blocker("trust")
    assert trust is not None and trust.name == load_advice().blocker("trust").name
    keyed = keyed_items(answers, instrument, "trust")
    assert trust.mean == pytest.approx(keyed.mean(axis=1).mean())
    assert trust.rwg_j == pytest.approx(rwg_j(keyed.to_numpy(), 5))
    interval = mean_interval(keyed.mean(axis=1).to_numpy(), 0.95)
    assert (trust.ci_low, trust.ci_high) == pytest.approx((interval.ci_low, interval.ci_high))
    assert trust.mean > 4 and rating.blocker("power").mean < 2  # reverse items were keyed
    assert trust.shared and rating.n == 8
    assert (rating.rwg_j_min, rating.icc_min) == (0.7, 0.7)
    assert {p.play_id for p in rating.plays} == {d.id for d in instrument.practice_dimensions}


def test_icc_is_over_blocker_items_by_raters(instrument) -> None:  # type: ignore[no-untyped-def]
    answers = _answers(instrument, {"trust": 4.5, "fixed_pie": 1.5}, n=6, noise=0.4, seed=2)
    rating = rate_counterparty(answers, instrument, threshold=5)
    keyed = pd.concat(
        [keyed_items(answers, instrument, d.id) for d in instrument.blocker_dimensions], axis=1
    )
    expected = icc(pd.DataFrame(keyed.to_numpy().T))
    assert rating.icc is not None
    assert (rating.icc.n_targets, rating.icc.n_raters) == (20, 6)
    assert rating.icc.icc2k.value == pytest.approx(expected.icc2k.value)
    assert rating.profile_shared == (expected.icc2k.value >= 0.7)


def test_disagreement_is_a_finding_not_hidden(instrument) -> None:  # type: ignore[no-untyped-def]
    answers = _answers(instrument, {}, n=6, noise=0.2, seed=3)
    # Half the team sees them as guarded, half as open: rwg(j) of trust collapses.
    trust_items = [i.id for i in instrument.dimension("trust").items]
    for item in trust_items:
        reverse = instrument.item(item).reverse
        answers[item] = [5, 5, 5, 1, 1, 1] if not reverse else [1, 1, 1, 5, 5, 5]
    rating = rate_counterparty(answers, instrument, threshold=5)
    trust = rating.blocker("trust")
    assert trust.rwg_j == 0.0 and not trust.shared and not trust.withheld
    assert rating.not_shared == ("trust",)
    findings = rating.findings()
    wording = load_kit().agreement.wording
    assert wording.blocker_not_shared.format(name=trust.name) in findings


def test_uniform_views_are_shared_but_a_flat_profile_is_not(instrument) -> None:  # type: ignore[no-untyped-def]
    # Everyone answers 3 everywhere except one item: rwg(j) is high, but items barely
    # differ, so the ICC cannot call the profile shared - reported as such.
    answers = _answers(instrument, {}, n=5, noise=0.0, seed=4)
    answers.loc[0, "CTR1"] = 4
    rating = rate_counterparty(answers, instrument, threshold=5)
    assert all(b.shared for b in rating.blockers)
    assert not rating.profile_shared
    assert rating.findings()[0] == load_kit().agreement.wording.profile_not_shared


def test_below_threshold_raises_too_few_raters(instrument) -> None:  # type: ignore[no-untyped-def]
    answers = _answers(instrument, {}, n=4, noise=0.5, seed=5)
    with pytest.raises(TooFewRaters) as caught:
        rate_counterparty(answers, instrument, threshold=5)
    assert (caught.value.n, caught.value.needed) == (4, 1)


def test_blocker_scored_for_too_few_is_withheld(instrument) -> None:  # type: ignore[no-untyped-def]
    answers = _answers(instrument, {}, n=6, noise=0.6, seed=6).astype(float)
    answers.loc[:1, ["CPW1", "CPW2"]] = np.nan  # two raters skip half of power's items
    rating = rate_counterparty(answers, instrument, threshold=5)
    power = rating.blocker("power")
    assert power.withheld and power.n == 4
    assert power.mean is None and power.rwg_j is None and power.interval is None
    assert "power" not in rating.not_shared
    # The ICC uses only raters who answered every blocker item; 4 < 5, so none.
    assert rating.icc is None and not rating.profile_shared


def test_missing_item_column_is_a_clear_error(instrument) -> None:  # type: ignore[no-untyped-def]
    answers = _answers(instrument, {}, n=6, noise=0.5, seed=7).drop(columns=["CTR1"])
    with pytest.raises(ValueError, match="CTR1"):
        rate_counterparty(answers, instrument, threshold=5)
