"""How well the team flags find a shifted blocker, and how often they fire on noise.

:func:`simulate_flags` draws survey rounds with a known truth - ``teams`` teams,
``shifted`` of them with one blocker (chosen at random) raised by
``shift_sd`` organization standard deviations - and runs the analysis a real
round gets, :func:`analytics.pipeline.analyze_round` (scores, the profile
model, :func:`analytics.diagnosis.diagnose_round` with the profile
probabilities), without its bootstrap stability check (``stability_boot=0``),
which would refit the profiles 20 times per round. It counts:

hit rate
    Shifted teams whose blocker ranked first (``TeamDiagnosis.ranking[0]``)
    is the shifted one.
flag rate, main rate
    Shifted teams whose shifted blocker is flagged (main or tentative), or
    flagged main.
false-flag rate, false-main rate
    Teams without any effect that get a flagged blocker (main or tentative),
    or a main one; also for teams under :data:`analytics.coarsen.SMALL_GROUP`.
baselines
    The same counts for a plain z-difference ranking (team mean minus org
    mean over its standard error, largest first) and for the rule before
    flags (severity ``(percentile / 100 + prevalence) / 2`` >= 0.5, highest
    first).

The shift is added to the members' latent level (:mod:`analytics.synthetic`),
``shift_sd`` times the standard deviation of the blocker's *scores* in a large
round without effects; rounding and clipping of the answers shrink the shift
seen in the scores slightly, so the test is if anything harder than
``shift_sd`` says.

Examples
--------
>>> result = simulate_flags(rounds=1, teams=8, shifted=2, random_state=0)  # doctest: +SKIP
>>> 0 <= result.hit_rate <= 1  # doctest: +SKIP
True
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from analytics.coarsen import SMALL_GROUP
from analytics.diagnosis import TeamDiagnosis, diagnose_round
from analytics.instrument import Instrument
from analytics.instrument_parser import load_default_instrument
from analytics.pipeline import analyze_round
from analytics.scoring import score_dimensions
from analytics.synthetic import simulate_responses

__all__ = ["FlagSimulation", "reference_sds", "simulate_flags"]

#: Severity at or above which the rule before flags named a top blocker.
OLD_SEVERITY_BAR = 0.5


@dataclass(frozen=True)
class FlagSimulation:
    """What :func:`simulate_flags` measured (rates are shares of the teams counted)."""

    rounds: int
    teams: int
    team_sizes: tuple[int, int]
    shifted: int
    shift_sd: float
    random_state: int
    profiles: bool
    shifted_teams: int
    null_teams: int
    null_small_teams: int
    hit_rate: float
    flag_rate: float
    main_rate: float
    false_flag_rate: float
    false_main_rate: float
    false_flag_rate_small: float
    plain_hit_rate: float
    old_hit_rate: float
    old_false_flag_rate: float

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-safe dict."""
        out = asdict(self)
        out["team_sizes"] = list(self.team_sizes)
        return out


@lru_cache(maxsize=4)
def _reference_sds(instrument: Instrument, n: int, seed: int) -> tuple[tuple[str, float], ...]:
    data = simulate_responses(instrument, n_respondents=n, teams=1, random_state=seed).data
    scores = score_dimensions(data, instrument)
    return tuple(
        (dim.id, float(scores[dim.id].std(ddof=1))) for dim in instrument.blocker_dimensions
    )


def reference_sds(
    instrument: Instrument | None = None, n: int = 20_000, seed: int = 12_345
) -> dict[str, float]:
    """Standard deviation of each blocker's scores in a large simulated round without effects.

    Examples
    --------
    >>> sds = reference_sds(n=2_000)
    >>> sorted(sds) == ["fixed_pie", "misalignment", "power", "time_pressure", "trust"]
    True
    """
    return dict(_reference_sds(instrument or load_default_instrument(), n, seed))


def _plain_first(team: TeamDiagnosis) -> str | None:
    """The blocker a plain z-difference ranks first."""
    rated = [f for f in team.flags.values() if not math.isnan(f.z)]
    if not rated:
        return None
    return max(rated, key=lambda f: (f.z, f.estimate)).dimension


def _old_top(team: TeamDiagnosis) -> str | None:
    """The top blocker under the rule before flags (severity >= 0.5, highest first)."""
    rated = [
        f
        for f in team.dimensions.values()
        if f.kind == "blocker" and f.severity is not None and f.severity >= OLD_SEVERITY_BAR
    ]
    if not rated:
        return None
    return max(rated, key=lambda f: (f.severity, f.prevalence)).dimension


def simulate_flags(
    *,
    rounds: int = 100,
    teams: int = 20,
    team_size: int | tuple[int, int] = 10,
    shifted: int = 5,
    shift_sd: float = 0.5,
    random_state: int = 0,
    profiles: bool = True,
    instrument: Instrument | None = None,
) -> FlagSimulation:
    """Simulate rounds with shifted blockers and measure the flags (see the module docstring).

    Parameters
    ----------
    rounds : int, default 100
        Simulated rounds; each draws its own teams, shifts and answers.
    teams : int, default 20
        Teams per round.
    team_size : int or (int, int), default 10
        Members per team, or the smallest and largest size (drawn uniformly).
    shifted : int, default 5
        Teams per round with one shifted blocker.
    shift_sd : float, default 0.5
        The shift, in standard deviations of the blocker's scores.
    random_state : int, default 0
        Seed; round ``r`` uses ``numpy.random.SeedSequence(random_state).spawn``.
    profiles : bool, default True
        Analyse each round with :func:`analytics.pipeline.analyze_round`, which
        gives the profile probabilities to the diagnosis; ``False`` calls
        :func:`analytics.diagnosis.diagnose_round` alone (ranking by the plain
        difference).
    instrument : Instrument, optional
        Default: the packaged instrument.

    Returns
    -------
    FlagSimulation
    """
    if not 0 <= shifted <= teams:
        raise ValueError(f"shifted must lie between 0 and teams={teams}, got {shifted}")
    instrument = instrument or load_default_instrument()
    sds = reference_sds(instrument)
    blockers = [dim.id for dim in instrument.blocker_dimensions]
    low, high = (team_size, team_size) if isinstance(team_size, int) else team_size
    counts = dict.fromkeys(
        (
            "shifted",
            "null",
            "null_small",
            "hit",
            "flag",
            "main",
            "false_flag",
            "false_main",
            "false_small",
            "plain_hit",
            "old_hit",
            "old_false",
        ),
        0,
    )
    for index, seed in enumerate(np.random.SeedSequence(random_state).spawn(rounds)):
        rng = np.random.default_rng(seed)
        names = [f"team-{i + 1:02d}" for i in range(teams)]
        sizes = {name: int(rng.integers(low, high + 1)) for name in names}
        truth = {
            names[i]: blockers[int(rng.integers(len(blockers)))]
            for i in rng.choice(teams, size=shifted, replace=False)
        }
        effects = {team: {b: shift_sd * sds[b]} for team, b in truth.items()}
        data = simulate_responses(
            instrument,
            n_respondents=sum(sizes.values()),
            teams=sizes,
            team_effects=effects,
            random_state=rng,
        ).data
        if profiles:
            result = analyze_round(
                data,
                instrument,
                round_name=f"simulated round {index + 1}",
                random_state=random_state + index,
                stability_boot=0,
            ).diagnosis
        else:
            result = diagnose_round(data, instrument)
        for name in names:
            team = result.teams[name]
            if team.suppressed:
                continue
            flagged = [f for f in team.flags.values() if f.above]
            if name in truth:
                blocker = truth[name]
                flag = team.flags.get(blocker)
                counts["shifted"] += 1
                counts["hit"] += bool(team.ranking) and team.ranking[0] == blocker
                counts["flag"] += flag is not None and flag.above
                counts["main"] += flag is not None and flag.level == "main"
                counts["plain_hit"] += _plain_first(team) == blocker
                counts["old_hit"] += _old_top(team) == blocker
            else:
                counts["null"] += 1
                counts["false_flag"] += bool(flagged)
                counts["false_main"] += any(f.level == "main" for f in flagged)
                counts["old_false"] += _old_top(team) is not None
                if team.n < SMALL_GROUP:
                    counts["null_small"] += 1
                    counts["false_small"] += bool(flagged)

    def share(key: str, of: str) -> float:
        return counts[key] / counts[of] if counts[of] else math.nan

    return FlagSimulation(
        rounds=rounds,
        teams=teams,
        team_sizes=(low, high),
        shifted=shifted,
        shift_sd=shift_sd,
        random_state=random_state,
        profiles=profiles,
        shifted_teams=counts["shifted"],
        null_teams=counts["null"],
        null_small_teams=counts["null_small"],
        hit_rate=share("hit", "shifted"),
        flag_rate=share("flag", "shifted"),
        main_rate=share("main", "shifted"),
        false_flag_rate=share("false_flag", "null"),
        false_main_rate=share("false_main", "null"),
        false_flag_rate_small=share("false_small", "null_small"),
        plain_hit_rate=share("plain_hit", "shifted"),
        old_hit_rate=share("old_hit", "shifted"),
        old_false_flag_rate=share("old_false", "null"),
    )
