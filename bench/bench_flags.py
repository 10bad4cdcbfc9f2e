"""Team flags on simulated rounds: the right blocker first, and no flags on noise.

:func:`analytics.flag_simulation.simulate_flags` draws rounds of 20 teams in
which 5 teams have one blocker (chosen at random) raised by 0.5 standard
deviations, analyses each as the pipeline does (scores, the profile model,
:func:`analytics.diagnosis.diagnose_round`) and counts:

* the share of shifted teams whose first-ranked blocker is the shifted one
  (target >= 0.8 for teams of 10), against a plain z-difference ranking of the
  same teams;
* the share of teams without any effect that get a flagged blocker, main or
  tentative (target <= 0.1), against the rule before flags (severity >= 0.5);
* the same for teams of 5 to 20 members, reported.

The simulation is seeded: the same seed gives the same numbers on any machine.

Run alone (prints the summary rows and notes as markdown)::

    .venv/bin/python -m bench.bench_flags [--rounds 200]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Context, Result, Section

ROUNDS = 200
MIXED_ROUNDS = 60
SEED = 20_261_201
HIT_TARGET = 0.8
FALSE_FLAG_TARGET = 0.1


def _measure(rounds: int, team_size: int | tuple[int, int]):  # type: ignore[no-untyped-def]
    from analytics.flag_simulation import simulate_flags

    started = time.perf_counter()
    result = simulate_flags(rounds=rounds, team_size=team_size, random_state=SEED)
    return result, time.perf_counter() - started


def _label(result) -> str:  # type: ignore[no-untyped-def]
    low, high = result.team_sizes
    size = f"{low}" if low == high else f"{low}-{high}"
    return (
        f"team flags, {result.teams} teams of {size}, {result.shifted} with one blocker "
        f"+{result.shift_sd} SD ({result.rounds} rounds)"
    )


def run(ctx: Context) -> Section:
    """Both simulations, as rows of the summary table."""
    scale = min(ctx.budget_scale, 1.0)
    section = Section("Team flags on simulated rounds")
    target, seconds = _measure(max(10, round(ROUNDS * scale)), 10)
    mixed, mixed_seconds = _measure(max(10, round(MIXED_ROUNDS * scale)), (5, 20))
    label = _label(target)
    section.results += [
        Result(
            label,
            "right blocker ranked first (share of shifted teams)",
            "",
            [target.hit_rate],
            "plain z-difference ranking of the same teams",
            [target.plain_hit_rate],
            target=f">= {HIT_TARGET}",
            met=target.hit_rate >= HIT_TARGET,
        ),
        Result(
            label,
            "teams without effect given a flag, main or tentative (share)",
            "",
            [target.false_flag_rate],
            "rule before flags (severity >= 0.5) on the same teams",
            [target.old_false_flag_rate],
            target=f"<= {FALSE_FLAG_TARGET}",
            met=target.false_flag_rate <= FALSE_FLAG_TARGET,
        ),
        Result(
            _label(mixed),
            "right blocker ranked first (share of shifted teams)",
            "",
            [mixed.hit_rate],
            "plain z-difference ranking of the same teams",
            [mixed.plain_hit_rate],
            target="reported",
        ),
        Result(
            _label(mixed),
            "teams without effect given a flag, main or tentative (share)",
            "",
            [mixed.false_flag_rate],
            "rule before flags (severity >= 0.5) on the same teams",
            [mixed.old_false_flag_rate],
            target="reported",
        ),
    ]
    section.notes += [*_notes(target, seconds), *_notes(mixed, mixed_seconds)]
    return section


def _notes(result, seconds: float) -> list[str]:  # type: ignore[no-untyped-def]
    hit = result.hit_rate
    margin = 1.96 * math.sqrt(hit * (1 - hit) / result.shifted_teams)
    small = (
        f"; teams under 10 without effect: {result.false_flag_rate_small:.3f} flagged "
        f"({result.null_small_teams} teams)"
        if result.null_small_teams
        else ""
    )
    return [
        f"**{_label(result)}** (seed {result.random_state}, {seconds:.0f} s): "
        f"{result.shifted_teams} shifted teams, {result.null_teams} teams without effect. "
        f"Right blocker ranked first {result.hit_rate:.3f} (binomial 95% margin "
        f"\u00b1{margin:.3f}, a little wider in truth: the shifted teams of a round share "
        f"its organization; plain z-difference "
        f"{result.plain_hit_rate:.3f}, rule before flags {result.old_hit_rate:.3f}); shifted "
        f"blocker flagged {result.flag_rate:.3f} (main {result.main_rate:.3f}); teams without "
        f"effect flagged {result.false_flag_rate:.3f} (main {result.false_main_rate:.3f}; rule "
        f"before flags {result.old_false_flag_rate:.3f}){small}.",
        "",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rounds", type=int, default=ROUNDS, help=f"rounds of teams of 10 ({ROUNDS})"
    )
    args = parser.parse_args(argv)
    section = run(Context(budget_scale=args.rounds / ROUNDS))
    for result in section.results:
        cells = [c.replace("|", "/") for c in result.cells()]
        print("| " + " | ".join(cells) + " |")
    print()
    print("\n".join(section.notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
