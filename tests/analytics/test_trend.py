"""Trend across all rounds, with analytics.change's conventions."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from analytics.advice import load_advice
from analytics.change import dimension_change
from analytics.diagnosis_results import DimensionFinding
from analytics.kit_schema import load_kit
from analytics.trend import TrendPoint, changes_from_frame, team_trend, welch_change

WORDING = load_kit().trend.wording
ADVICE = load_advice()


def _point(label: str, scores: pd.DataFrame, with_sd: bool = True) -> TrendPoint:
    """A point as a caller builds it from a release: mean, t interval, SD, count."""
    means, ci, sds, ns = {}, {}, {}, {}
    for column in scores:
        values = scores[column].dropna().to_numpy()
        n, mean, sd = values.size, values.mean(), values.std(ddof=1)
        half = stats.t.ppf(0.975, n - 1) * sd / np.sqrt(n)
        means[column], ci[column], ns[column] = mean, (mean - half, mean + half), n
        sds[column] = sd
    return TrendPoint(label, None, len(scores), means, ci, sds if with_sd else {}, ns)


def _scores(seed: int, shift: dict[str, float], n: int = 12) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {b: 3 + shift.get(b, 0.0) + rng.normal(scale=0.5, size=n) for b in ("trust", "power")}
    )


@pytest.mark.parametrize("with_sd", [True, False])
def test_changes_equal_dimension_change_on_the_scores(with_sd: bool) -> None:
    before, after = _scores(0, {}), _scores(1, {"trust": -1.0}, n=9)
    trend = team_trend([_point("Spring", before, with_sd), _point("Autumn", after, with_sd)])
    expected = dimension_change(before, after)
    for b in ("trust", "power"):
        got = trend.blocker(b).overall
        row = expected.loc[b]
        assert got.change == pytest.approx(row["change"])
        assert got.ci_low == pytest.approx(row["ci_low"])
        assert got.ci_high == pytest.approx(row["ci_high"])
        assert got.p_value == pytest.approx(row["p_value"])
        assert (got.n_before, got.n_after) == (row["n_before"], row["n_after"])
    assert trend.blocker("trust").overall.direction == "fell"


def test_summary_covers_first_to_last_and_the_last_step() -> None:
    points = [
        _point("Spring", _scores(0, {})),
        _point("Summer", _scores(1, {"trust": -1.2})),
        _point("Autumn", _scores(2, {"trust": -1.2, "power": 1.0})),
    ]
    trend = team_trend(points)
    trust, power = ADVICE.blocker("trust").name, ADVICE.blocker("power").name
    overall = ", ".join([WORDING.fell.format(name=trust), WORDING.rose.format(name=power)])
    step = WORDING.rose.format(name=power)
    assert trend.summary == (
        WORDING.since_first.format(first="Spring", list=overall)
        + " "
        + WORDING.since_previous.format(previous="Summer", list=step)
    )
    assert trend.round_labels == ("Spring", "Summer", "Autumn")
    assert [v.round_label for v in trend.blocker("trust").values] == ["Spring", "Summer", "Autumn"]
    assert set(trend.last_changes) == {"trust", "power"}


def test_one_round_and_two_rounds() -> None:
    one = team_trend([_point("Spring", _scores(0, {}))])
    assert one.summary == WORDING.one_round and one.blocker("trust").overall is None
    two = team_trend([_point("Spring", _scores(0, {})), _point("Autumn", _scores(0, {}))])
    assert two.summary == WORDING.since_first.format(first="Spring", list=WORDING.no_clear_change)
    with pytest.raises(ValueError):
        team_trend([])


def test_blocker_missing_from_a_round_has_no_change() -> None:
    first = _point("Spring", _scores(0, {})[["trust"]])
    last = _point("Autumn", _scores(1, {}))
    trend = team_trend([first, last])
    assert trend.blocker("power").overall is None
    assert len(trend.blocker("power").values) == 1


def test_from_findings_keeps_released_blockers_only() -> None:
    findings = {
        "trust": DimensionFinding("trust", "blocker", 8, False, 3.2, 2.8, 3.6, 0.5),
        "power": DimensionFinding("power", "blocker", 3, True),
        "meso": DimensionFinding("meso", "practice", 8, False, 2.0, 1.5, 2.5, 0.6),
    }
    point = TrendPoint.from_findings("Spring", date(2027, 3, 1), 8, findings)
    assert dict(point.means) == {"trust": 3.2}
    assert point.sd("trust") == 0.5 and point.count("trust") == 8


def test_changes_from_frame_round_trips_dimension_change() -> None:
    frame = dimension_change(_scores(0, {}), _scores(1, {"power": 1.0}))
    changes = changes_from_frame(frame, {"power": "Power imbalance"})
    assert changes["power"].name == "Power imbalance" and changes["power"].direction == "rose"
    assert changes["trust"].change == pytest.approx(frame.loc["trust", "change"])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(1, 5), min_size=2, max_size=15),
    st.lists(st.floats(1, 5), min_size=2, max_size=15),
)
def test_welch_change_matches_analytics_change(before: list[float], after: list[float]) -> None:
    b, a = np.array(before), np.array(after)
    expected = dimension_change(pd.DataFrame({"x": b}), pd.DataFrame({"x": a})).loc["x"]
    change, low, high, _p = welch_change(
        (b.mean(), b.std(ddof=1), b.size), (a.mean(), a.std(ddof=1), a.size)
    )
    assert change == pytest.approx(expected["change"], abs=1e-9)
    if np.isnan(expected["ci_low"]):
        assert low is None or b.std(ddof=1) + a.std(ddof=1) < 1e-6
    elif low is not None:
        assert low == pytest.approx(expected["ci_low"], rel=1e-6, abs=1e-9)
        assert high == pytest.approx(expected["ci_high"], rel=1e-6, abs=1e-9)
