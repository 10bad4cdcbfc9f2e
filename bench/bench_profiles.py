"""Profile selection (k = 1..8) on the 100k blocker scores, against scikit-learn.

The scores are those the analysis fits: the 100k CSV read by the import's
reader (:func:`analytics.response_csv.read_responses_csv`), scored by
:func:`analytics.scoring.score_dimensions`, the five blocker dimensions, rows
with every score. Per run, in this process:

* :class:`analytics.profiles.ProfileModel` with its defaults (k = 1..8, diag
  and full covariances, its own starts, ``random_state`` = run number);
* the baseline: ``sklearn.mixture.GaussianMixture(n_components=k)`` with its
  defaults (full covariances, one k-means start) for k = 1..8, each fitted on
  the standardized scores (``StandardScaler``, as ProfileModel does), with
  ``random_state`` = run number.

Both BICs are computed the same way, by ``GaussianMixture.bic`` on the same
standardized matrix (ProfileModel's selected solution as ``model.gmm_``), so
they are comparable; lower is better. ProfileModel's selection rejects
solutions with a class under 5 % of respondents, so its selected BIC can be
above the best candidate BIC in its own fit table.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from bench.common import Context, Result, Section, median, repeat

K_RANGE = range(1, 9)
BUDGET_SECONDS = 100.0


@dataclass(frozen=True)
class ProfileRun:
    model_seconds: float
    model_bic: float
    model_k: int
    model_covariance: str
    sklearn_seconds: float
    sklearn_bic: float
    sklearn_k: int
    model_cpu: float
    sklearn_cpu: float


def blocker_scores(ctx: Context) -> tuple[np.ndarray, list[str]]:
    """The complete rows of the 100k blocker scores, on their own scale."""
    from analytics.instrument_parser import load_default_instrument
    from analytics.response_csv import read_responses_csv
    from analytics.scoring import score_dimensions

    instrument = load_default_instrument()
    frame = read_responses_csv(ctx.data.csv_100k, instrument)
    scores = score_dimensions(frame, instrument)
    blockers = scores[[dim.id for dim in instrument.blocker_dimensions]]
    return blockers.dropna().to_numpy(dtype=float), list(blockers.columns)


def one_run(raw: np.ndarray, columns: list[str], seed: int) -> ProfileRun:
    """Fit ProfileModel and the scikit-learn baseline once each."""
    import pandas as pd
    from sklearn.mixture import GaussianMixture
    from sklearn.preprocessing import StandardScaler

    from analytics.profiles import ProfileModel

    frame = pd.DataFrame(raw, columns=columns)
    started, cpu = time.perf_counter(), time.process_time()
    model = ProfileModel(random_state=seed).fit(frame)
    model_seconds, model_cpu = time.perf_counter() - started, time.process_time() - cpu
    Z = StandardScaler().fit_transform(raw)
    model_bic = float(model.gmm_.bic(Z))

    started, cpu = time.perf_counter(), time.process_time()
    fitted = [GaussianMixture(n_components=k, random_state=seed).fit(Z) for k in K_RANGE]
    sklearn_seconds, sklearn_cpu = time.perf_counter() - started, time.process_time() - cpu
    bics = [float(g.bic(Z)) for g in fitted]
    best = int(np.argmin(bics))
    return ProfileRun(
        model_seconds,
        model_bic,
        int(model.k_),
        str(model.covariance_type_),
        sklearn_seconds,
        bics[best],
        K_RANGE[best],
        model_cpu,
        sklearn_cpu,
    )


def run(ctx: Context) -> Section:
    section = Section("Profile selection on the 100k blocker scores")
    raw, columns = blocker_scores(ctx)
    runs = repeat(
        lambda i: one_run(raw, columns, i),
        runs=ctx.runs,
        budget=ctx.budget(BUDGET_SECONDS),
        log=ctx.log,
        label="profiles",
    )
    model_bic = [r.model_bic for r in runs]
    sklearn_bic = [r.sklearn_bic for r in runs]
    model_s = [r.model_seconds for r in runs]
    sklearn_s = [r.sklearn_seconds for r in runs]
    baseline = "sklearn GaussianMixture defaults, k = 1..8"
    section.results += [
        Result(
            "profile selection, k = 1..8 (ProfileModel defaults)",
            "wall time",
            "s",
            model_s,
            baseline,
            sklearn_s,
            target="faster than the baseline",
            met=median(model_s) < median(sklearn_s),
        ),
        Result(
            "profile selection, k = 1..8 (ProfileModel defaults)",
            "BIC of the selected solution (lower is better)",
            "",
            model_bic,
            baseline + " (best k)",
            sklearn_bic,
            target="BIC <= baseline's best",
            met=all(m <= s for m, s in zip(model_bic, sklearn_bic, strict=True)),
        ),
    ]
    section.notes += [
        f"{raw.shape[0]} respondents x {raw.shape[1]} blocker scores. Per run: "
        + "; ".join(
            f"ProfileModel k={r.model_k} {r.model_covariance}, BIC {r.model_bic:.0f} "
            f"in {r.model_seconds:.1f} s vs GaussianMixture best k={r.sklearn_k}, "
            f"BIC {r.sklearn_bic:.0f} in {r.sklearn_seconds:.1f} s "
            f"(difference {r.model_bic - r.sklearn_bic:+.0f})"
            for r in runs
        )
        + ".",
        "",
        f"CPU: ProfileModel used {median([r.model_cpu for r in runs]):.1f} CPU-seconds per fit "
        f"({median([r.model_cpu / r.model_seconds for r in runs]):.2f} cores; it fits "
        f"{len(K_RANGE)} k x 2 covariance types with several starts each, BLAS limited to one "
        f"thread), GaussianMixture {median([r.sklearn_cpu for r in runs]):.1f} CPU-seconds for "
        f"its {len(K_RANGE)} fits ({median([r.sklearn_cpu / r.sklearn_seconds for r in runs]):.2f}"
        " cores, BLAS threads as configured), so how busy the other core is changes the ratio.",
        "",
    ]
    return section
