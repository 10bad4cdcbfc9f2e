"""Simulated survey answers with a known truth, for tests, demos and benchmarks.

The generative model, per respondent ``r`` in team ``t`` with profile ``p``:

1. ``level[r, d] = profile_mean[p, d] + team_effect[t, d] + N(0, latent_sd)``
   for every dimension ``d`` (on that dimension's response scale);
2. for every item ``i`` of ``d``:
   ``answer = round(clip(level[r, d] + N(0, noise), scale.min, scale.max))``
   (without the clip when ``clip=False``, a method-study variant whose
   answers may fall outside the scale);
3. reverse-keyed items record the mirrored answer ``min + max - answer``, so
   that reverse keying in :mod:`analytics.scoring` recovers the level;
4. each answer is independently removed (``NaN``) with probability
   ``missing_rate``; context questions get a uniformly random option.

Clipping and rounding shrink scores slightly toward the middle of the scale
near its ends, so recovered means match profile means to about 0.1 scale
points, not exactly; clipping also skews a profile near an end of the scale,
which is what makes a density criterion (BIC) split it into several Gaussian
components (see :mod:`analytics.profiles`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pandas as pd

from analytics.instrument import Instrument

__all__ = ["DEFAULT_PROFILES", "SyntheticData", "simulate_responses"]


def _frozen(profiles: dict[str, dict[str, float]]) -> Mapping[str, Mapping[str, float]]:
    return MappingProxyType({name: MappingProxyType(dict(m)) for name, m in profiles.items()})


#: Latent profile means for the default instrument (``negotiation-blockers-v1``):
#: blocker dimensions on the 1-5 agreement scale (high = more of the blocker),
#: practice dimensions on the 1-5 Never..Always frequency scale.
DEFAULT_PROFILES: Mapping[str, Mapping[str, float]] = _frozen(
    {
        "collaborative": {
            "trust": 1.9,
            "time_pressure": 2.2,
            "fixed_pie": 1.8,
            "misalignment": 2.0,
            "power": 2.0,
            "meso": 3.8,
            "contingent": 3.6,
            "logrolling": 4.0,
            "objective_criteria": 4.0,
            "joint_framing": 4.2,
            "post_settlement": 3.4,
        },
        "deadline-driven": {
            "trust": 3.0,
            "time_pressure": 4.2,
            "fixed_pie": 4.0,
            "misalignment": 2.8,
            "power": 2.8,
            "meso": 2.0,
            "contingent": 1.8,
            "logrolling": 2.0,
            "objective_criteria": 2.6,
            "joint_framing": 2.2,
            "post_settlement": 1.6,
        },
        "guarded": {
            "trust": 4.2,
            "time_pressure": 2.8,
            "fixed_pie": 3.2,
            "misalignment": 2.6,
            "power": 4.0,
            "meso": 2.4,
            "contingent": 2.6,
            "logrolling": 2.2,
            "objective_criteria": 3.4,
            "joint_framing": 1.8,
            "post_settlement": 2.0,
        },
        "misaligned": {
            "trust": 2.8,
            "time_pressure": 3.2,
            "fixed_pie": 3.0,
            "misalignment": 4.3,
            "power": 2.8,
            "meso": 2.2,
            "contingent": 2.4,
            "logrolling": 2.6,
            "objective_criteria": 2.4,
            "joint_framing": 2.0,
            "post_settlement": 2.2,
        },
    }
)

NEUTRAL_PROFILE = "neutral"


@dataclass(frozen=True, eq=False)
class SyntheticData:
    """Simulated answers together with the truth they were drawn from.

    Attributes
    ----------
    data : pandas.DataFrame
        Wide frame: ``team``, ``respondent``, one ``float64`` column per item,
        one string column per context question.
    truth : pandas.Series
        Profile name of every row of ``data`` (same index), named ``profile``.
    profiles : pandas.DataFrame
        Latent profile means actually used: one row per profile, one column per
        dimension id, dimensions not given filled with the scale midpoint.
    """

    data: pd.DataFrame
    truth: pd.Series
    profiles: pd.DataFrame


def simulate_responses(
    instrument: Instrument,
    *,
    n_respondents: int,
    profiles: Mapping[str, Mapping[str, float]] | None = None,
    weights: Mapping[str, float] | None = None,
    teams: int | Mapping[str, int] = 10,
    team_effects: Mapping[str, Mapping[str, float]] | None = None,
    noise: float = 0.6,
    missing_rate: float = 0.0,
    random_state: int | np.random.Generator | None = None,
    latent_sd: float = 0.5,
    clip: bool = True,
) -> SyntheticData:
    """Draw a synthetic survey round from latent profiles (see the module docs).

    Parameters
    ----------
    instrument : Instrument
        Questionnaire to answer.
    n_respondents : int
        Number of rows.
    profiles : mapping, optional
        Profile name -> {dimension id: latent mean on that dimension's scale}.
        Dimensions not given sit at the scale midpoint. By default
        :data:`DEFAULT_PROFILES` when the instrument has every dimension they
        name, otherwise a single ``"neutral"`` profile at the midpoints.
    weights : mapping, optional
        Profile name -> relative frequency (normalised; profiles not named get
        0). Equal by default. Profiles are drawn independently per respondent.
    teams : int or mapping, default 10
        Number of teams (named ``team-01``, ``team-02``, ..., sizes as equal as
        possible) or team name -> exact size (sizes must add up to
        ``n_respondents``). Rows come grouped by team.
    team_effects : mapping, optional
        Team name -> {dimension id: shift added to the latent level}.
    noise : float, default 0.6
        Standard deviation of the item-level noise.
    missing_rate : float, default 0.0
        Probability that any single answer is missing.
    random_state : int, numpy.random.Generator or None
        Seed or generator (``numpy.random.default_rng``) for reproducibility.
    latent_sd : float, default 0.5
        Standard deviation of respondents' latent levels around their profile
        (and team) mean.
    clip : bool, default True
        Clip answers to the response scale before rounding. ``False`` gives
        unbounded Gaussian answers rounded to integers (some outside the
        scale): not a valid survey, but the same profiles without the skew
        that clipping adds, for studying profile selection.

    Returns
    -------
    SyntheticData

    Examples
    --------
    >>> from analytics.instrument import Dimension, Instrument, Item, ResponseScale
    >>> scale = ResponseScale(1, 5, ("1", "2", "3", "4", "5"))
    >>> items = (Item("T1", "..."), Item("T2", "..."), Item("T3", "...", reverse=True))
    >>> inst = Instrument("demo", 1, "Demo", scale, (Dimension("trust", "Trust", "", items),))
    >>> sim = simulate_responses(
    ...     inst, n_respondents=6, teams=2, profiles={"high": {"trust": 4.5}}, random_state=0
    ... )
    >>> list(sim.data.columns)
    ['team', 'respondent', 'T1', 'T2', 'T3']
    >>> sim.data["team"].value_counts().sort_index().tolist()
    [3, 3]
    """
    if n_respondents < 1:
        raise ValueError(f"n_respondents must be at least 1, got {n_respondents}")
    if not 0.0 <= missing_rate < 1.0:
        raise ValueError(f"missing_rate must be in [0, 1), got {missing_rate}")
    if noise < 0 or latent_sd < 0:
        raise ValueError("noise and latent_sd must not be negative")
    rng = np.random.default_rng(random_state)
    dim_ids = [dim.id for dim in instrument.dimensions]

    means = _profile_means(instrument, profiles)
    probabilities = _profile_probabilities(list(means.index), weights)
    team_names, team_sizes = _team_sizes(teams, n_respondents)
    effects = _team_effects(team_names, dim_ids, team_effects)

    team_of_row = np.repeat(np.arange(len(team_names)), team_sizes)
    profile_of_row = rng.choice(len(means), size=n_respondents, p=probabilities)
    latent = (
        means.to_numpy()[profile_of_row]
        + effects[team_of_row]
        + rng.normal(0.0, latent_sd, size=(n_respondents, len(dim_ids)))
    )

    answers = _answer_items(instrument, latent, noise, rng, clip=clip)
    if missing_rate > 0:
        answers[rng.random(answers.shape) < missing_rate] = np.nan

    columns: dict[str, object] = {
        "team": pd.array(np.asarray(team_names, dtype=object)[team_of_row], dtype="str"),
        "respondent": _respondent_ids(n_respondents),
    }
    columns.update(zip(instrument.item_ids, answers.T, strict=True))
    for question in instrument.context:
        codes = rng.integers(len(question.options), size=n_respondents)
        columns[question.id] = pd.array(
            np.asarray(question.options, dtype=object)[codes], dtype="str"
        )
    data = pd.DataFrame(columns)
    truth = pd.Series(
        pd.array(np.asarray(means.index, dtype=object)[profile_of_row], dtype="str"),
        index=data.index,
        name="profile",
    )
    return SyntheticData(data=data, truth=truth, profiles=means)


def _midpoint(instrument: Instrument, dimension_id: str) -> float:
    dim = instrument.dimension(dimension_id)
    scale = dim.response_scale or instrument.response_scale
    return (scale.min + scale.max) / 2


def _profile_means(
    instrument: Instrument, profiles: Mapping[str, Mapping[str, float]] | None
) -> pd.DataFrame:
    dim_ids = [dim.id for dim in instrument.dimensions]
    if profiles is None:
        named = {d for means in DEFAULT_PROFILES.values() for d in means}
        profiles = DEFAULT_PROFILES if named <= set(dim_ids) else {NEUTRAL_PROFILE: {}}
    if not profiles:
        raise ValueError("profiles must name at least one profile")
    rows = {}
    for name, given in profiles.items():
        unknown = sorted(set(given) - set(dim_ids))
        if unknown:
            raise ValueError(f"profile {name!r} names unknown dimension(s) {unknown}")
        row = {}
        for dim in instrument.dimensions:
            scale = dim.response_scale or instrument.response_scale
            value = float(given.get(dim.id, _midpoint(instrument, dim.id)))
            if not scale.min <= value <= scale.max:
                raise ValueError(
                    f"profile {name!r}, dimension {dim.id!r}: mean {value} is outside "
                    f"the scale {scale.min}-{scale.max}"
                )
            row[dim.id] = value
        rows[name] = row
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=dim_ids, dtype="float64")
    frame.index = pd.Index(list(rows), dtype="str", name="profile")
    return frame


def _profile_probabilities(names: list[str], weights: Mapping[str, float] | None) -> np.ndarray:
    if weights is None:
        return np.full(len(names), 1.0 / len(names))
    unknown = sorted(set(weights) - set(names))
    if unknown:
        raise ValueError(f"weights name unknown profile(s) {unknown}; profiles are {names}")
    raw = np.array([float(weights.get(name, 0.0)) for name in names])
    if np.any(raw < 0) or raw.sum() <= 0:
        raise ValueError("weights must be non-negative and not all zero")
    return raw / raw.sum()


def _team_sizes(teams: int | Mapping[str, int], n_respondents: int) -> tuple[list[str], np.ndarray]:
    if isinstance(teams, Mapping):
        names = [str(name) for name in teams]
        sizes = np.array([int(size) for size in teams.values()], dtype=np.int64)
        if not names or np.any(sizes < 0) or sizes.sum() != n_respondents:
            raise ValueError(
                f"team sizes must be non-negative and add up to n_respondents={n_respondents}, "
                f"got {dict(teams)}"
            )
        return names, sizes
    if not 1 <= teams <= n_respondents:
        raise ValueError(f"teams must be between 1 and n_respondents={n_respondents}, got {teams}")
    width = max(2, len(str(teams)))
    names = [f"team-{i:0{width}d}" for i in range(1, teams + 1)]
    sizes = np.full(teams, n_respondents // teams, dtype=np.int64)
    sizes[: n_respondents % teams] += 1
    return names, sizes


def _team_effects(
    team_names: list[str],
    dim_ids: list[str],
    team_effects: Mapping[str, Mapping[str, float]] | None,
) -> np.ndarray:
    effects = np.zeros((len(team_names), len(dim_ids)))
    for team, shifts in (team_effects or {}).items():
        if team not in team_names:
            raise ValueError(f"team_effects names unknown team {team!r}")
        for dim_id, shift in shifts.items():
            if dim_id not in dim_ids:
                raise ValueError(f"team_effects[{team!r}] names unknown dimension {dim_id!r}")
            effects[team_names.index(team), dim_ids.index(dim_id)] = float(shift)
    return effects


def _answer_items(
    instrument: Instrument,
    latent: np.ndarray,
    noise: float,
    rng: np.random.Generator,
    *,
    clip: bool = True,
) -> np.ndarray:
    dim_index = {dim.id: j for j, dim in enumerate(instrument.dimensions)}
    item_dim = np.array(
        [dim_index[instrument.dimension_of(i).id] for i in instrument.item_ids], dtype=np.intp
    )
    scales = [instrument.scale_for(i) for i in instrument.item_ids]
    low = np.array([s.min for s in scales], dtype="float64")
    high = np.array([s.max for s in scales], dtype="float64")
    reverse = np.array([item.reverse for item in instrument.items], dtype=bool)

    raw = latent[:, item_dim] + rng.normal(0.0, noise, size=(latent.shape[0], item_dim.size))
    answers = np.rint(np.clip(raw, low, high) if clip else raw)
    return np.where(reverse, low + high - answers, answers)


def _respondent_ids(n: int) -> pd.api.extensions.ExtensionArray:
    width = len(str(n))
    numbers = np.char.zfill(np.arange(1, n + 1).astype(str), width)
    return pd.array(np.char.add("r", numbers).astype(object), dtype="str")
