"""Person-centred latent profile analysis (LPA) of dimension scores.

:class:`ProfileModel` finds subgroups of respondents with similar score
patterns ("profiles") by fitting Gaussian mixtures with 1..K components and
two covariance structures, and choosing the candidate with the lowest ICL
among those whose smallest class is not too small. It reports a fit table with
every usual index for every candidate (as tidyLPA / mclust do), so that other
criteria can be read off.

Why ICL and not BIC
-------------------
Survey scores are means of answers on a bounded scale: clipped at both ends,
a profile near an end of the scale is skewed. BIC measures how well the
*density* is fitted, and keeps adding Gaussian components to fit each skewed
profile with several (mclust does the same): on the project's generator (4
true profiles, answers clipped to 1..5) BIC chose 7-8 profiles at 20,000 and
100,000 respondents (adjusted Rand index with the truth 0.55-0.64), while
unclipped data gave 4. The integrated completed likelihood (ICL, Biernacki,
Celeux & Govaert 2000) adds the cost of classifying respondents: components
that only reshape one profile overlap heavily, cost much entropy and are not
chosen; it picks 4 there. ``criterion="bic"`` restores the density view.

Method
------
* Rows with any missing score are left *unassigned*: they are not used for
  fitting and get no profile.
* Scores are standardized (:class:`~sklearn.preprocessing.StandardScaler`) so
  that every dimension counts equally; centroids are reported on both scales.
* Every candidate ``(k, covariance_type)`` is fitted by
  :func:`analytics.profile_em.fit_mixture` (see there): ``n_init`` k-means++
  starts, plus one start per component of the ``k - 1`` solution with that
  component split in two (:func:`analytics.profile_em.split_starts`), with
  short EM runs on a random subsample of ``subsample_size`` rows, the two
  best distinct optima of the k-means++ starts and the best of the split
  starts refined on growing nested subsamples, the best one polished on all
  rows with SQUAREM-accelerated EM. Nested candidates are then
  made consistent (see :mod:`analytics.profile_candidates`): the
  log-likelihood does not decrease with ``k``, and ``"full"`` is never below
  ``"diag"``. Candidates of the two covariance types can run in parallel
  processes (``n_jobs``); each gets its own seed drawn from ``random_state``,
  so results do not depend on ``n_jobs``.
* Likert scale means are discrete. A Gaussian component can then collapse onto
  one value of one dimension and gain unbounded likelihood. ``reg_covar="auto"``
  adds ``h**2 / 12`` to each variance, where ``h`` is the dimension's
  *resolution*: the step between possible scores, ``1 / m`` for a mean of
  ``m`` answers on an integer scale (the variance of rounding error, which
  makes the density comparable to the probability of a score). Pass it to
  :meth:`ProfileModel.fit` when the instrument is known
  (:func:`score_resolution`: with missing answers, the coarsest step among the
  numbers of answers actually averaged); otherwise it is inferred from the
  values (:func:`analytics.profile_em.infer_resolution`).

Fit indices (``fit_table_``)
----------------------------
``log_likelihood`` is that of the scores on their *original* scale (the
standardization's Jacobian is added back), so it is comparable with
``GaussianMixture``/mclust fitted to the raw scores. Every criterion is
*lower is better* (the sign convention of ``GaussianMixture.bic`` and
tidyLPA): ``aic = -2LL + 2p``, ``bic = -2LL + p ln n``, ``sabic`` uses
``n* = (n + 2) / 24``, and ``icl = bic + 2 EN`` with the classification
entropy ``EN = sum_i sum_j -p_ij ln p_ij`` of the posterior probabilities
``p_ij`` (McLachlan & Peel 2000, eq. 6.75; mclust's ``icl()`` reports the
negative, ``-bic - 2 EN`` with modal 0/1 weights instead of ``p_ij``).
``entropy`` is the relative entropy ``1 - EN / (n ln k)`` (1 for ``k = 1``);
``blrt_p`` the bootstrap likelihood ratio test p-value of ``k - 1`` against
``k`` profiles when ``blrt_boot > 0`` (NaN otherwise);
``smallest_share``/``largest_share`` are class shares under modal assignment.

No profile structure
--------------------
When the selected solution has one profile (``k_ == 1``) the respondents
differ in degree, not in kind: there are no profiles to report, and the one
"profile" is named ``"All respondents"``. :func:`analytics.pipeline.analyze_round`
also treats solutions whose bootstrap stability is poor as no structure.

The k-means baseline (``method="kmeans"``) chooses ``k >= 2`` by the mean
silhouette. Silhouette is known to favour too few clusters (often 2) and cannot
say "no structure"; use it only as a comparison.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from analytics.instrument import Instrument
from analytics.profile_candidates import (
    CRITERIA,
    FIT_TABLE_COLUMNS,
    ShareRule,
    blrt_p_values,
    candidate_ks,
    gmm_fit_table,
    kmeans_fit_table,
    select_candidate,
)
from analytics.profile_em import (
    COVARIANCE_TYPES,
    MixtureData,
    MixtureFit,
    infer_resolution,
    resolution_reg_covar,
)
from analytics.profile_names import name_profiles
from analytics.profile_stability import (
    LRTResult,
    StabilityResult,
    bootstrap_lrt,
    profile_stability,
)
from analytics.scoring import DEFAULT_MIN_FRACTION, min_answered

__all__ = [
    "CRITERIA",
    "FIT_TABLE_COLUMNS",
    "LRTResult",
    "ProfileModel",
    "StabilityResult",
    "bootstrap_lrt",
    "infer_resolution",
    "name_profiles",
    "profile_stability",
    "resolution_reg_covar",
    "score_resolution",
]

LOW_ENTROPY = 0.8


def score_resolution(
    instrument: Instrument,
    dimension_ids: Iterable[str],
    data: pd.DataFrame | None = None,
    *,
    min_fraction: float = DEFAULT_MIN_FRACTION,
) -> pd.Series:
    """The step between possible scores of each dimension, from the instrument.

    A dimension's score is the mean of the answered items
    (:func:`analytics.scoring.score_dimensions`); on an integer response scale a
    mean of ``m`` answers moves in steps of ``1 / m``. With missing answers
    different respondents average different numbers of answers, and the step
    is that of the *fewest* answers averaged by a scored respondent: the
    coarsest grid in the data, which the variance floor of
    :class:`ProfileModel` must cover (the smallest gap between observed
    scores, 0.05 for a mix of 4- and 5-answer means, would be 25 times too
    fine a floor in variance).

    Parameters
    ----------
    instrument : Instrument
        The questionnaire.
    dimension_ids : iterable of str
        Dimensions to describe.
    data : pandas.DataFrame, optional
        The answers (wide frame with the item columns): the fewest answers
        averaged is counted among the respondents who got a score. Without it,
        the fewest answers that give a score (``min_answered``) is used.
    min_fraction : float, default 2/3
        As in :func:`analytics.scoring.score_dimensions`.

    Returns
    -------
    pandas.Series
        Step per dimension id (original score scale), for :meth:`ProfileModel.fit`.

    Examples
    --------
    >>> from analytics.instrument import Dimension, Instrument, Item, ResponseScale
    >>> scale = ResponseScale(1, 5, ("1", "2", "3", "4", "5"))
    >>> items = tuple(Item(f"T{i}", "...") for i in range(1, 6))
    >>> inst = Instrument("demo", 1, "Demo", scale, (Dimension("trust", "Trust", "", items),))
    >>> answers = pd.DataFrame({f"T{i}": [3.0, 4.0, 2.0] for i in range(1, 6)})
    >>> score_resolution(inst, ["trust"], answers).tolist()
    [0.2]
    >>> answers.loc[1, "T2"] = np.nan  # one respondent averages 4 answers
    >>> score_resolution(inst, ["trust"], answers).tolist()
    [0.25]
    >>> score_resolution(inst, ["trust"]).tolist()  # 4 of 5 answers are enough for a score
    [0.25]
    """
    out = {}
    for dim_id in dimension_ids:
        dim = instrument.dimension(dim_id)
        needed = min_answered(len(dim.items), min_fraction)
        fewest = needed
        if data is not None:
            answered = data[list(dim.item_ids)].notna().sum(axis=1)
            scored = answered[answered >= needed]
            if len(scored):
                fewest = int(scored.min())
        # Integer response scales: one answer moves in steps of 1.
        out[dim_id] = 1.0 / fewest
    return pd.Series(out, name="resolution", dtype=float)


class ProfileModel(BaseEstimator):
    """Latent profile analysis by Gaussian mixtures (or a k-means baseline).

    Parameters
    ----------
    k_range : tuple (min_k, max_k), int or iterable of int
        Candidate numbers of profiles. A 2-tuple is an inclusive range; any
        other iterable (e.g. ``range(2, 5)`` or ``[3]``) lists them explicitly.
    covariance_types : sequence of {"diag", "full"}
        ``"diag"``: dimensions independent within a profile (classic LPA,
        tidyLPA model 2 with class-varying variances); ``"full"``: unrestricted
        class-specific covariances (tidyLPA model 6). Ignored for k-means.
    n_init : int
        k-means++ starts per candidate (scikit-learn's default of 1 often ends
        in a local optimum); split starts from the ``k - 1`` solution come on top.
    method : {"gmm", "kmeans"}
        Gaussian mixture chosen by ``criterion``, or the k-means baseline chosen
        by silhouette (which favours too few clusters; ``k = 1`` is not possible).
    criterion : {"icl", "bic", "aic", "sabic"}
        Fit-table column minimized to choose the solution (see the module
        docstring; ICL by default, which does not split skewed profiles).
    min_class_share : float
        Candidates whose smallest class holds a smaller share of respondents
        are rejected.
    warn_class_share : float
        Candidates whose smallest class is smaller than this get a warning.
    max_iter, tol : int, float
        EM stops when the mean per-respondent log-likelihood changes by less
        than ``tol`` (``max_iter`` iterations per refinement stage at most).
    random_state : int, RandomState or None
        Seed for subsamples and starts; an int makes fits reproducible.
    dimension_names : mapping of str to str, optional
        Display names of dimension ids, used for profile names.
    reg_covar : "auto" or float
        Added to every variance: ``"auto"`` uses the rounding variance of
        discrete scores (see the module docstring; at least 1e-6), a float is
        used as is (1e-6 reproduces scikit-learn).
    subsample_size : int or None
        Rows used to screen starts (None: all rows).
    n_jobs : int or None
        Covariance types fitted in parallel (joblib; None = 1, -1 = all cores),
        and threads for the BLRT.
    blrt_boot : int
        Bootstrap samples for the ``blrt_p`` column (0: not computed). Each
        costs two mixture fits per candidate with ``k >= 2``, on as many rows as
        the data: an analyst's tool, not a default.

    Attributes
    ----------
    fit_table_ : pandas.DataFrame
        One row per candidate with :data:`FIT_TABLE_COLUMNS`.
    k_, covariance_type_ : int, str
        The selected solution (``covariance_type_`` is ``"kmeans"`` for k-means).
    mixture_ : MixtureFit or None
        Selected mixture on the standardized scale, components in profile order.
    gmm_ : sklearn.mixture.GaussianMixture or None
        The same as a fitted scikit-learn estimator (None for k-means).
    kmeans_ : sklearn.cluster.KMeans or None
        Selected k-means model, centres in profile order (None for GMM).
    scaler_ : StandardScaler
        Fitted on the complete rows.
    columns_ : list of str
        Dimension ids used.
    names_ : list of str
        Neutral descriptive profile names (:func:`name_profiles`), in component
        order: size descending, ties by centroid. ``["All respondents"]`` for
        ``k_ == 1``.
    centroids_, centroids_z_ : pandas.DataFrame
        Profile means on the original score scale and standardized
        (index ``names_``, columns ``columns_``).
    sizes_ : pandas.Series
        Respondents per profile (modal assignment) in the training data.
    labels_ : pandas.Series
        ``predict`` of the training data.
    warnings_ : list of str
        Caveats about the selected solution.
    n_complete_, n_unassigned_ : int
        Rows used, and rows left unassigned because of missing scores.
    resolution_ : numpy.ndarray
        Step between possible scores per dimension, original scale (given to
        ``fit``, NaN for continuous, or inferred from the values).
    reg_covar_ : numpy.ndarray
        Variance floor per dimension (standardized scale).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> centres = np.array([[2.0, 0.0], [0.0, 2.0], [-1.0, -1.0]])
    >>> X = pd.DataFrame(
    ...     np.repeat(centres, 100, axis=0) + rng.normal(0, 0.4, (300, 2)),
    ...     columns=["trust", "time_pressure"],
    ... )
    >>> model = ProfileModel(k_range=(1, 4), n_init=3, random_state=0).fit(X)
    >>> model.k_, len(model.fit_table_)
    (3, 8)
    >>> model.predict(X.iloc[[0, 100, 200]]).tolist()
    ['High on trust', 'High on time pressure', 'Low on all dimensions']
    """

    def __init__(
        self,
        k_range: tuple[int, int] | int | Iterable[int] = (1, 8),
        covariance_types: Iterable[str] = ("diag", "full"),
        n_init: int = 10,
        method: str = "gmm",
        criterion: str = "icl",
        min_class_share: float = 0.05,
        warn_class_share: float = 0.10,
        max_iter: int = 500,
        tol: float = 1e-4,
        random_state: int | np.random.RandomState | None = None,
        dimension_names: Mapping[str, str] | None = None,
        reg_covar: str | float = "auto",
        subsample_size: int | None = 5_000,
        n_jobs: int | None = None,
        blrt_boot: int = 0,
    ) -> None:
        self.k_range = k_range
        self.covariance_types = covariance_types
        self.n_init = n_init
        self.method = method
        self.criterion = criterion
        self.min_class_share = min_class_share
        self.warn_class_share = warn_class_share
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.dimension_names = dimension_names
        self.reg_covar = reg_covar
        self.subsample_size = subsample_size
        self.n_jobs = n_jobs
        self.blrt_boot = blrt_boot

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        X: pd.DataFrame,
        y: Any = None,
        *,
        resolution: float | Sequence[float] | Mapping[str, float] | None = None,
    ) -> ProfileModel:
        """Fit every candidate, fill ``fit_table_`` and keep the selected one.

        Parameters
        ----------
        X : pandas.DataFrame
            Dimension scores, one row per respondent, one column per dimension id;
            NaN where not scored.
        y : ignored
        resolution : float, sequence, mapping or None
            The step between possible scores of each column on its original
            scale, for ``reg_covar="auto"``: one number for every column, one per
            column, or a mapping (or Series) from column to step, for example
            :func:`score_resolution` of the instrument; NaN or 0 for a
            continuous column. None infers it from the values
            (:func:`analytics.profile_em.infer_resolution`).

        Returns
        -------
        ProfileModel
            ``self``.
        """
        if self.method not in ("gmm", "kmeans"):
            raise ValueError(f"method must be 'gmm' or 'kmeans', got {self.method!r}")
        if self.method == "gmm" and self.criterion not in CRITERIA:
            raise ValueError(f"criterion must be one of {CRITERIA}, got {self.criterion!r}")
        cov_types = tuple(self.covariance_types)
        if self.method == "gmm" and (not cov_types or set(cov_types) - set(COVARIANCE_TYPES)):
            raise ValueError(f"covariance_types must be a subset of {COVARIANCE_TYPES}")
        frame = self._as_frame(X)
        self.columns_ = [str(c) for c in frame.columns]
        self.feature_names_in_ = np.asarray(self.columns_, dtype=object)
        self.n_features_in_ = len(self.columns_)
        complete = frame.notna().all(axis=1).to_numpy()
        self.n_complete_ = int(complete.sum())
        self.n_unassigned_ = int(len(frame) - self.n_complete_)
        if self.n_complete_ < 2:
            raise ValueError("need at least two respondents with complete scores")
        raw = frame.to_numpy(dtype=float)[complete]
        self.scaler_ = StandardScaler().fit(raw)
        Z = self.scaler_.transform(raw)
        self.resolution_ = (
            infer_resolution(raw) if resolution is None else self._resolution(resolution)
        )
        if self.reg_covar == "auto":
            self.reg_covar_ = resolution_reg_covar(
                raw, self.scaler_.scale_, resolution=self.resolution_
            )
        else:
            self.reg_covar_ = np.full(Z.shape[1], float(self.reg_covar))

        ks = candidate_ks(self.k_range)
        self.warnings_: list[str] = []
        too_big = [k for k in ks if k > self.n_complete_]
        if too_big:
            self.warnings_.append(
                f"k={too_big} skipped: more profiles than the {self.n_complete_} complete rows."
            )
        ks = [k for k in ks if k <= self.n_complete_]
        rule = ShareRule(self.min_class_share, self.warn_class_share)
        rng = check_random_state(self.random_state)
        data: np.ndarray | MixtureData = Z
        if self.method == "gmm":
            fit_params = {
                "n_init": self.n_init,
                "max_iter": self.max_iter,
                "tol": self.tol,
                "reg_covar": self.reg_covar_,
                "subsample_size": self.subsample_size,
            }
            data = MixtureData(Z)  # features shared by every candidate and the final counts
            table, fitted = gmm_fit_table(
                data,
                ks,
                cov_types,
                fit_params=fit_params,
                rule=rule,
                log_jacobian=float(np.sum(np.log(self.scaler_.scale_))),
                random_state=rng,
                n_jobs=self.n_jobs,
            )
            if self.blrt_boot > 0:
                table["blrt_p"] = blrt_p_values(
                    data,
                    table,
                    fitted,
                    fit_params=fit_params,
                    n_boot=self.blrt_boot,
                    random_state=rng,
                    n_jobs=self.n_jobs,
                )
        else:
            table, fitted = kmeans_fit_table(
                Z,
                ks,
                n_init=self.n_init,
                subsample_size=self.subsample_size,
                rule=rule,
                random_state=rng,
                n_jobs=self.n_jobs,
            )
        criterion = self.criterion if self.method == "gmm" else "silhouette"
        chosen, notes = select_candidate(table, criterion)
        self.warnings_.extend(notes)
        table["selected"] = table.index == chosen
        self.fit_table_ = table
        self._finish(data, table.loc[chosen], fitted[chosen])
        self.labels_ = self.predict(frame)
        return self

    def _resolution(self, resolution: Any) -> np.ndarray:
        """``resolution`` as one step per column (NaN: continuous)."""
        if isinstance(resolution, Mapping | pd.Series):  # matched by column name
            given = {str(key): value for key, value in resolution.items()}
            missing = [c for c in self.columns_ if c not in given]
            if missing:
                raise KeyError(f"resolution has no step for columns {missing}")
            steps = np.array([given[c] for c in self.columns_], dtype=float)
        else:
            steps = np.broadcast_to(np.asarray(resolution, dtype=float), (len(self.columns_),))
        steps = np.where(steps > 0, steps, np.nan)
        return np.array(steps, dtype=float)

    @staticmethod
    def _as_frame(X: Any) -> pd.DataFrame:
        frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X, dtype=float))
        return frame.apply(pd.to_numeric, errors="raise").astype(float)

    def _finish(self, Z: np.ndarray | MixtureData, row: pd.Series, fitted: Any) -> None:
        self.k_ = int(row["k"])
        self.covariance_type_ = str(row["covariance_type"])
        if self.method == "gmm":
            centres_z = fitted.means
            counts = np.bincount(fitted.predict_proba(Z).argmax(axis=1), minlength=self.k_)
        else:
            centres_z = fitted.cluster_centers_
            counts = np.bincount(fitted.labels_, minlength=self.k_)
        # Deterministic profile order: largest first, ties by centroid (lexicographic).
        keys = [(-int(counts[j]), *np.round(centres_z[j], 10).tolist()) for j in range(self.k_)]
        order = sorted(range(self.k_), key=lambda j: keys[j])
        if self.method == "gmm":
            self.mixture_: MixtureFit | None = MixtureFit(
                covariance_type=fitted.covariance_type,
                weights=fitted.weights[order],
                means=fitted.means[order],
                covariances=fitted.covariances[order],
                log_likelihood=fitted.log_likelihood,
                n_iter=fitted.n_iter,
                converged=fitted.converged,
            )
            self.gmm_ = self.mixture_.to_sklearn()
            self.kmeans_ = None
        else:
            fitted.cluster_centers_ = fitted.cluster_centers_[order]
            fitted.labels_ = np.argsort(order)[fitted.labels_]
            self.kmeans_ = fitted
            self.mixture_ = None
            self.gmm_ = None
        centres_z = centres_z[order]
        z = pd.DataFrame(centres_z, columns=self.columns_)
        self.names_ = name_profiles(z, self.dimension_names)
        index = pd.Index(self.names_, name="profile")
        self.centroids_z_ = z.set_axis(index)
        self.centroids_ = pd.DataFrame(
            self.scaler_.inverse_transform(centres_z), index=index, columns=self.columns_
        )
        self.sizes_ = pd.Series(counts[order], index=index, name="n")
        self._add_solution_warnings(row)

    def _add_solution_warnings(self, row: pd.Series) -> None:
        if row["warning"]:
            self.warnings_.append(f"Selected solution: {row['warning']}.")
        k_max = int(self.fit_table_["k"].max())
        if self.k_ > 1 and self.k_ == k_max:
            self.warnings_.append(
                f"The selected k={self.k_} is the largest tried; more profiles might fit "
                "better (widen k_range)."
            )
        if self.k_ == 1 and int(self.fit_table_["k"].max()) > 1:
            self.warnings_.append(
                "One profile fits best: no profile structure (respondents differ in degree, "
                "not in kind)."
            )
        entropy = row["entropy"]
        if self.k_ > 1 and np.isfinite(entropy) and entropy < LOW_ENTROPY:
            self.warnings_.append(
                f"Entropy {entropy:.2f} < {LOW_ENTROPY}: many respondents are not clearly "
                "classified into one profile."
            )
        if self.method == "kmeans":
            self.warnings_.append(
                "k-means baseline: chosen by silhouette, which favours too few clusters and "
                "cannot detect the absence of structure."
            )
        if self.n_unassigned_:
            self.warnings_.append(
                f"{self.n_unassigned_} respondents with missing scores were left unassigned."
            )

    # -------------------------------------------------------------- predict
    def _model_columns(self, X: Any) -> pd.DataFrame:
        """The fitted dimension columns of ``X`` (matched by name), as floats."""
        check_is_fitted(self, "names_")
        frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X, dtype=float))
        frame = frame.set_axis([str(c) for c in frame.columns], axis=1)
        missing = [c for c in self.columns_ if c not in frame.columns]
        if missing:
            raise KeyError(f"missing dimension columns: {missing}")
        return self._as_frame(frame[self.columns_])

    def _standardized(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, pd.Index]:
        frame = self._model_columns(X)
        values = frame.to_numpy(dtype=float)
        complete = ~np.isnan(values).any(axis=1)
        return self.scaler_.transform(values[complete]), complete, frame.index

    def _proba_z(self, Z: np.ndarray) -> np.ndarray:
        if self.mixture_ is not None:
            return self.mixture_.predict_proba(Z)
        labels = self.kmeans_.predict(Z)
        return np.eye(self.k_)[labels]

    def predict_proba(self, X: pd.DataFrame) -> pd.DataFrame:
        """Posterior profile membership probabilities.

        Parameters
        ----------
        X : pandas.DataFrame
            Scores with (at least) the columns in ``columns_``.

        Returns
        -------
        pandas.DataFrame
            Index of ``X``, columns ``names_``; rows with a missing score are NaN.
            For k-means memberships are 0/1.
        """
        Z, complete, index = self._standardized(X)
        out = np.full((len(complete), self.k_), np.nan)
        if complete.any():
            out[complete] = self._proba_z(Z)
        return pd.DataFrame(out, index=index, columns=pd.Index(self.names_, name="profile"))

    def predict(self, X: pd.DataFrame) -> pd.Series:
        """Most likely profile name per respondent.

        Parameters
        ----------
        X : pandas.DataFrame
            Scores with (at least) the columns in ``columns_``.

        Returns
        -------
        pandas.Series
            Categorical (categories ``names_`` in profile order), index of ``X``;
            missing (NaN) for rows with any missing score.
        """
        Z, complete, index = self._standardized(X)
        codes = np.full(len(complete), -1)
        if complete.any():
            codes[complete] = self._proba_z(Z).argmax(axis=1)
        values = pd.Categorical.from_codes(codes, categories=self.names_)
        return pd.Series(values, index=index, name="profile")
