"""A team's rating of a counterparty, and whether the team's view of it is shared.

Members rate a counterparty with the counterparty instrument
(``analytics/instruments/counterparty-blockers-v1.yaml``): the five blockers as
the other side's observed behaviour, and whether each play would work with
them. :func:`rate_counterparty` scores the answers of one released counterparty
round (the same scoring as the team's own answers, :mod:`analytics.scoring`) and
measures how much the raters agree (:mod:`analytics.agreement`):

Anonymity
    Fewer raters than the anonymity threshold raise :class:`TooFewRaters`;
    callers show the suppression (``agreement.wording.too_few``). A blocker or
    play scored for fewer than ``threshold`` raters (skipped items) is
    *withheld*: no statistic is computed for it.
Blocker means
    The mean of the raters' blocker scores with a Student t interval at
    ``agreement.confidence`` (the interval the team diagnosis uses).
Shared, per blocker
    rwg(j) of the raters' reverse-keyed answers to the blocker's items; the
    blocker is *shared* when it reaches ``agreement.rwg_j_min``. A blocker that
    is not shared is a finding ("your team sees them differently on ..."), not
    a gap in the report: pages show that sentence instead of a mean.
Shared, the whole profile
    ICC(2,k) over every blocker item (items are the targets, raters the team
    members), on the raters who answered every blocker item (computed only
    when at least ``threshold`` of them did); the profile is shared when it
    reaches ``agreement.icc_min``. ``icc`` is ``None`` (and the profile not
    shared) when it cannot be computed.

Only answers from a release snapshot may be passed in (see README, *Privacy*).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analytics.advice import Advice, load_advice
from analytics.agreement import IccResult, icc, rwg_j
from analytics.instrument import Dimension, Instrument, ResponseScale
from analytics.kit_schema import Kit, load_kit
from analytics.scoring import keyed_items, score_dimensions

__all__ = [
    "BlockerRating",
    "CounterpartyRating",
    "Interval",
    "PlayExpectation",
    "TooFewRaters",
    "mean_interval",
    "rate_counterparty",
]


class TooFewRaters(ValueError):
    """Fewer raters than the anonymity threshold: nothing may be shown.

    ``n`` raters answered, ``threshold`` are needed; ``needed`` is the difference.
    """

    def __init__(self, n: int, threshold: int) -> None:
        self.n = n
        self.threshold = threshold
        self.needed = max(threshold - n, 0)
        super().__init__(
            f"{n} rater(s) answered; results are shown from {threshold} on "
            f"({self.needed} more needed)"
        )


@dataclass(frozen=True)
class Interval:
    """A mean with its confidence interval (limits ``None`` with fewer than two values)."""

    mean: float
    ci_low: float | None
    ci_high: float | None


def mean_interval(values: Sequence[float] | np.ndarray, confidence: float) -> Interval:
    """Mean and Student t interval of the non-missing values.

    The same interval the team diagnosis prints (``mean +- t(n-1) * sd / sqrt(n)``).

    Examples
    --------
    >>> interval = mean_interval([3.0, 4.0, 5.0], 0.95)
    >>> interval.mean, round(interval.ci_low, 3), round(interval.ci_high, 3)
    (4.0, 1.516, 6.484)
    """
    array = np.asarray(values, dtype="float64")
    array = array[~np.isnan(array)]
    if array.size == 0:
        raise ValueError("no values to average")
    mean = float(array.mean())
    if array.size < 2:
        return Interval(mean, None, None)
    half = (
        float(stats.t.ppf(0.5 + confidence / 2, array.size - 1))
        * float(array.std(ddof=1))
        / math.sqrt(array.size)
    )
    return Interval(mean, mean - half, mean + half)


@dataclass(frozen=True)
class BlockerRating:
    """The team's rating of the counterparty on one blocker.

    ``n`` raters were scored on it. ``mean``, ``ci_low``, ``ci_high`` and
    ``rwg_j`` are ``None`` when the blocker is ``withheld`` (fewer than the
    threshold scored). ``shared`` is whether rwg(j) reaches the cut; when it
    is false, pages say the team sees them differently on it and show no mean.
    """

    blocker_id: str
    name: str
    n: int
    mean: float | None
    ci_low: float | None
    ci_high: float | None
    rwg_j: float | None
    shared: bool
    withheld: bool = False

    @property
    def interval(self) -> Interval | None:
        """The mean and interval, or ``None`` when withheld."""
        if self.mean is None:
            return None
        return Interval(self.mean, self.ci_low, self.ci_high)


@dataclass(frozen=True)
class PlayExpectation:
    """How much the team expects a play to work with the counterparty (``None`` when withheld)."""

    play_id: str
    name: str
    mean: float | None
    ci_low: float | None
    ci_high: float | None
    n: int = 0
    withheld: bool = False


@dataclass(frozen=True)
class CounterpartyRating:
    """A team's rating of one counterparty, with the agreement that qualifies it.

    ``rwg_j_min``, ``icc_min`` and ``confidence`` are the cut values and the
    interval level used (from the framework file), ``scale_min``/``scale_max``
    the blocker items' response scale.
    """

    n: int
    blockers: tuple[BlockerRating, ...]
    plays: tuple[PlayExpectation, ...]
    icc: IccResult | None
    profile_shared: bool
    rwg_j_min: float
    icc_min: float
    confidence: float
    scale_min: int = 1
    scale_max: int = 5

    def blocker(self, blocker_id: str) -> BlockerRating | None:
        """The rating of one blocker, or ``None``."""
        return next((b for b in self.blockers if b.blocker_id == blocker_id), None)

    @property
    def not_shared(self) -> tuple[str, ...]:
        """Blockers rated (not withheld) on which the team's ratings do not agree."""
        return tuple(b.blocker_id for b in self.blockers if not b.withheld and not b.shared)

    def findings(self, kit: Kit | None = None) -> tuple[str, ...]:
        """The sentences about agreement: the profile's, then each blocker not shared.

        Worded by the framework file's ``agreement.wording``, so every page says the same.
        """
        wording = (kit or load_kit()).agreement.wording
        first = wording.profile_shared if self.profile_shared else wording.profile_not_shared
        rest = tuple(
            wording.blocker_not_shared.format(name=b.name)
            for b in self.blockers
            if not b.withheld and not b.shared
        )
        return (first, *rest)


def _scale(dim: Dimension, instrument: Instrument) -> ResponseScale:
    return dim.response_scale or instrument.response_scale


def rate_counterparty(
    answers: pd.DataFrame,
    instrument: Instrument,
    threshold: int,
    *,
    kit: Kit | None = None,
    advice: Advice | None = None,
) -> CounterpartyRating:
    """Score a counterparty round's answers and measure the raters' agreement.

    Parameters
    ----------
    answers : pandas.DataFrame
        One row per rater, one column per item id of ``instrument``, raw answers
        on the items' scales (``NaN`` = skipped). Other columns are ignored.
        Only answers from a release snapshot may be passed.
    instrument : Instrument
        The counterparty instrument (blocker and practice dimensions).
    threshold : int
        The anonymity threshold.
    kit : Kit, optional
        The framework's kit sections (:func:`analytics.kit_schema.load_kit`).
    advice : Advice, optional
        The advice framework, for the blockers' and plays' names.

    Raises
    ------
    TooFewRaters
        With fewer than ``threshold`` raters.
    ValueError
        When ``answers`` lacks an item column, or the instrument has no blocker.
    """
    kit = kit or load_kit()
    advice = advice or load_advice()
    cuts = kit.agreement
    n = len(answers)
    if n < max(threshold, 2):
        raise TooFewRaters(n, max(threshold, 2))
    blocker_dims = instrument.blocker_dimensions
    if not blocker_dims:
        raise ValueError(f"instrument {instrument.id} has no blocker dimension to rate")
    scores = score_dimensions(answers, instrument)

    blockers = []
    for dim in blocker_dims:
        column = scores[dim.id]
        scored = column.notna().to_numpy()
        name = advice.blocker_or_generic(dim.id, dim.name).name
        count = int(scored.sum())
        if count < threshold:
            blockers.append(
                BlockerRating(dim.id, name, count, None, None, None, None, False, withheld=True)
            )
            continue
        interval = mean_interval(column.to_numpy(dtype="float64"), cuts.confidence)
        keyed = keyed_items(answers, instrument, dim.id).to_numpy()[scored]
        scale = _scale(dim, instrument)
        agreement = rwg_j(keyed, scale.max - scale.min + 1)
        blockers.append(
            BlockerRating(
                blocker_id=dim.id,
                name=name,
                n=count,
                mean=interval.mean,
                ci_low=interval.ci_low,
                ci_high=interval.ci_high,
                rwg_j=None if math.isnan(agreement) else agreement,
                shared=not math.isnan(agreement) and agreement >= cuts.rwg_j_min,
            )
        )

    plays = []
    for dim in instrument.practice_dimensions:
        column = scores[dim.id]
        count = int(column.notna().sum())
        play = advice.play(dim.id)
        name = play.name if play is not None else dim.name
        if count < threshold:
            plays.append(PlayExpectation(dim.id, name, None, None, None, count, withheld=True))
            continue
        interval = mean_interval(column.to_numpy(dtype="float64"), cuts.confidence)
        plays.append(
            PlayExpectation(dim.id, name, interval.mean, interval.ci_low, interval.ci_high, count)
        )

    profile_icc = _profile_icc(answers, instrument, blocker_dims, threshold)
    first_scale = _scale(blocker_dims[0], instrument)
    return CounterpartyRating(
        n=n,
        blockers=tuple(blockers),
        plays=tuple(plays),
        icc=profile_icc,
        profile_shared=profile_icc is not None and profile_icc.icc2k.value >= cuts.icc_min,
        rwg_j_min=cuts.rwg_j_min,
        icc_min=cuts.icc_min,
        confidence=cuts.confidence,
        scale_min=first_scale.min,
        scale_max=first_scale.max,
    )


def _profile_icc(
    answers: pd.DataFrame,
    instrument: Instrument,
    blocker_dims: tuple[Dimension, ...],
    threshold: int,
) -> IccResult | None:
    """ICC of the blocker items (targets) by the raters who answered all of them."""
    keyed = pd.concat([keyed_items(answers, instrument, d.id) for d in blocker_dims], axis=1)
    complete = keyed.dropna(axis=0, how="any")
    if len(complete) < max(threshold, 2) or complete.shape[1] < 2:
        return None
    table = pd.DataFrame(complete.to_numpy().T, index=complete.columns)
    try:
        return icc(table)
    except ValueError:
        return None
