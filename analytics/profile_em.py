"""Fast EM for Gaussian mixtures, the fitting engine behind latent profiles.

scikit-learn's :class:`~sklearn.mixture.GaussianMixture` is correct but slow for
our shape of data (many rows, few columns): each initialization runs a full
k-means on all rows, its E-step loops over components, and multi-threaded BLAS
is 10-30x *slower* than one thread on such thin matrices. This module fits the
same model (same parameterisation and ``reg_covar`` regularisation;
convergence judged, as there, on the change of the mean per-row
log-likelihood) with batched numpy on one BLAS thread, and uses the *emEM*
strategy of Biernacki, Celeux & Govaert (2003) for starting values:

1. draw a random *screening* subsample of at most ``subsample_size`` rows
   (with more rows, also nested subsamples growing by ``LADDER_FACTOR``);
2. run ``n_init`` short EM runs (``SHORT_ITER`` iterations) on it, each started
   from k-means++ seeds followed by up to ``N_LLOYD`` Lloyd iterations;
3. run the best ones to convergence on the subsample until ``N_KEEP`` distinct
   optima are found (the best optimum of a subsample need not be the best on
   all rows); starts given by the caller (``init_params``, such as
   :func:`split_starts` of the ``k - 1`` solution) are screened the same way
   and add ``N_KEEP_GIVEN`` more optima;
4. refine each on the growing subsamples (per-sample log-likelihood change
   below ``tol``), keep the one with the highest log-likelihood on all rows and
   refine it on all rows to ``tol * POLISH_TOL_FACTOR``.

Step 3 and 4 use SQUAREM-accelerated EM (Varadhan & Roland 2008), made
monotone: on the flat likelihoods of overlapping profiles plain EM creeps and,
stopped at ``tol``, can leave several log-likelihood units on the table.

Each EM step is two thin matrix products over cached *feature matrices* of the
rows (:class:`MixtureData`), with the responsibilities laid out component-major.
On 100,000 x 5 scores, 16 candidates (k = 1..8, diag and full, ``n_init=10``)
take about 3 s of CPU on one core of our 2-core test machine, where
``GaussianMixture`` with its default single start needs about 14 s of CPU for
the 8 full-covariance candidates alone; with the same ``reg_covar`` ours reached
at least as high a likelihood for every candidate.

Everything is driven by one ``random_state``, so fits are reproducible.
:meth:`MixtureFit.to_sklearn` turns a result into a fitted
:class:`~sklearn.mixture.GaussianMixture` (for ``sample``, ``score`` ...).
"""

from __future__ import annotations

import contextlib
import functools
import math
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.mixture import GaussianMixture
from sklearn.utils import check_random_state
from threadpoolctl import threadpool_limits

COVARIANCE_TYPES = ("diag", "full")
SHORT_ITER = 15
# Distinct optima refined on the growing subsamples: N_KEEP from the k-means++
# starts and N_KEEP_GIVEN from the given ones (split starts). 2 + 1 reached higher
# log-likelihoods for k >= 5 on the 100k benchmark than 3 + 0 (the k-means++
# starts alone), in about the same time.
N_KEEP = 2
N_KEEP_GIVEN = 1
N_LLOYD = 30
LADDER_FACTOR = 4
POLISH_TOL_FACTOR = 0.1
MAX_ITEMS = 50  # largest number of answers averaged that infer_resolution recognises
GRID_SHARE = 0.99  # share of rows that must lie on a grid for infer_resolution to use it
_MAX_GRID_VALUES = 20_000  # more distinct values than this: not a grid
SPLIT_SHIFT = 0.5  # split starts: means moved by this many SDs along the main axis
_EPS = 10 * np.finfo(float).eps
_TINY = 1e-280  # below this a row's density terms may have lost precision to underflow
Reg = float | np.ndarray
Params = tuple[np.ndarray, np.ndarray, np.ndarray]  # weights, means, covariances
_LOG_2PI = math.log(2 * math.pi)


_blas_lock = threading.Lock()
_blas_depth = 0
_blas_limiter: threadpool_limits | None = None


@contextlib.contextmanager
def blas_single_thread() -> Iterator[None]:
    """Context manager limiting BLAS to one thread (much faster for thin products).

    threadpoolctl limits are process-wide, so only the outermost of nested (or
    concurrent, in several threads) uses sets and restores the limit: inner
    ones cost nothing, where each threadpoolctl call would scan the loaded
    libraries again, and nested per-thread limits would restore each other's
    settings out of order. Wrap code that fits many mixtures in it once.
    """
    global _blas_depth, _blas_limiter
    with _blas_lock:
        if _blas_depth == 0:
            _blas_limiter = threadpool_limits(limits=1, user_api="blas")
        _blas_depth += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_depth -= 1
            if _blas_depth == 0 and _blas_limiter is not None:
                _blas_limiter.restore_original_limits()
                _blas_limiter = None


def infer_resolution(X: np.ndarray) -> np.ndarray:
    """The step of each column of discrete scores, guessed from the values alone.

    A mean of ``m`` answers on an integer scale is a multiple of ``1 / m``. For
    every observed value the smallest such ``m`` (up to :data:`MAX_ITEMS`) is
    its *denominator*; the denominators that divide no other observed one are
    the numbers of answers actually averaged (with missing answers there are
    several: 4 and 5 when one of five items may be skipped), and the step is
    that of the fewest, ``1 / min(m)``: the coarsest grid in the data. The
    smallest gap between observed values would be much finer (0.05 for a mix
    of quarters and fifths) and make the variance floor of
    :func:`resolution_reg_covar` 16 to 25 times too small.

    Columns whose values are not (for 99 % of the rows) on such a grid, for
    example scores shifted or rescaled, fall back to the smallest gap between
    observed values; NaN means continuous (a single value, or no gap).

    Parameters
    ----------
    X : numpy.ndarray of shape (n, d)
        Scores on their original scale; NaN is ignored.

    Returns
    -------
    numpy.ndarray of shape (d,)

    Examples
    --------
    >>> fifths = np.array([1.0, 2.2, 3.4, 4.6, 5.0])
    >>> mixed = np.array([1.0, 2.25, 3.4, 3.5, 4.75])  # means of 4 or 5 answers
    >>> infer_resolution(np.c_[fifths, mixed]).tolist()
    [0.2, 0.25]
    """
    X = np.asarray(X, dtype=float)
    out = np.full(X.shape[1], np.nan)
    m = np.arange(1, MAX_ITEMS + 1)
    for j in range(X.shape[1]):
        column = X[:, j]
        values, counts = np.unique(np.round(column[np.isfinite(column)], 9), return_counts=True)
        if len(values) < 2:
            continue
        if len(values) <= _MAX_GRID_VALUES:
            scaled = values[:, None] * m[None, :]
            on_grid = np.abs(scaled - np.round(scaled)) <= 1e-6 * m[None, :]
            has = on_grid.any(axis=1)
            if counts[has].sum() >= GRID_SHARE * counts.sum():
                found = np.unique(m[on_grid[has].argmax(axis=1)])
                maximal = [a for a in found if not np.any((found % a == 0) & (found != a))]
                out[j] = 1.0 / min(maximal)
                continue
        gap = float(np.diff(values).min())
        out[j] = gap if gap > 0 else np.nan
    return out


def resolution_reg_covar(
    X: np.ndarray,
    scale: np.ndarray,
    floor: float = 1e-6,
    resolution: np.ndarray | None = None,
) -> np.ndarray:
    """Per-dimension variance floor ``(h / scale)**2 / 12`` for discrete scores.

    ``h**2 / 12`` is the variance of rounding to a grid of step ``h``: with it
    added, no component can shrink onto one value of a discrete score and gain
    unbounded likelihood (a spike), and the density of a score stays
    comparable to the probability of its grid cell.

    Parameters
    ----------
    X : numpy.ndarray of shape (n, d)
        Complete scores on their original scale.
    scale : numpy.ndarray of shape (d,)
        Standard deviations used to standardize them.
    floor : float
        Lower bound (scikit-learn's default ``reg_covar``), used for continuous data.
    resolution : numpy.ndarray of shape (d,), optional
        The step ``h`` of each score on its original scale when it is known,
        for example from the instrument (``1 / m`` for a mean of ``m`` answers on
        an integer scale); NaN or 0 means continuous. None infers it from ``X``
        (:func:`infer_resolution`).

    Returns
    -------
    numpy.ndarray of shape (d,)

    Examples
    --------
    >>> X = np.array([[1.0], [1.2], [1.4], [2.0]])
    >>> resolution_reg_covar(X, np.array([1.0])).round(5)
    array([0.00333])
    >>> resolution_reg_covar(X, np.array([2.0]), resolution=np.array([0.25])).round(5)
    array([0.0013])
    """
    h = infer_resolution(X) if resolution is None else np.asarray(resolution, dtype=float)
    if h.shape != (X.shape[1],):
        raise ValueError(f"resolution needs one value per column ({X.shape[1]}), got {h.shape}")
    with np.errstate(invalid="ignore"):
        reg = (h / np.asarray(scale, dtype=float)) ** 2 / 12.0
    return np.where(np.isfinite(reg) & (reg > floor), reg, floor)


class FitFailedError(RuntimeError):
    """Every initialization of a mixture collapsed (singular covariance)."""


def n_parameters(k: int, n_features: int, covariance_type: str) -> int:
    """Number of free parameters of a ``k``-component Gaussian mixture.

    Parameters
    ----------
    k : int
        Number of components.
    n_features : int
        Number of variables.
    covariance_type : {"diag", "full"}
        Per-component diagonal or unrestricted covariance matrices.

    Returns
    -------
    int
        Means (``k * d``) + covariances + mixing weights (``k - 1``).

    Examples
    --------
    >>> n_parameters(3, 5, "diag"), n_parameters(3, 5, "full")
    (32, 62)
    """
    if covariance_type == "diag":
        cov = k * n_features
    elif covariance_type == "full":
        cov = k * n_features * (n_features + 1) // 2
    else:
        raise ValueError(f"covariance_type must be one of {COVARIANCE_TYPES}")
    return k * n_features + cov + k - 1


@dataclass(frozen=True)
class MixtureFit:
    """Parameters of a fitted Gaussian mixture (standardized scale).

    Attributes
    ----------
    covariance_type : str
        ``"diag"`` (covariances has shape ``(k, d)``) or ``"full"`` (``(k, d, d)``).
    weights, means, covariances : numpy.ndarray
        Mixing proportions ``(k,)``, component means ``(k, d)``, covariances.
    log_likelihood : float
        Total log-likelihood of the data the mixture was refined on.
    n_iter : int
        EM iterations of the final refinement.
    converged : bool
        Whether the final refinement met ``tol`` within ``max_iter``.
    """

    covariance_type: str
    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    log_likelihood: float
    n_iter: int
    converged: bool

    @property
    def k(self) -> int:
        """Number of components."""
        return len(self.weights)

    @property
    def n_parameters(self) -> int:
        """Number of free parameters."""
        return n_parameters(self.k, self.means.shape[1], self.covariance_type)

    def resp(self, X: np.ndarray | MixtureData) -> tuple[np.ndarray, float]:
        """Posterior membership probabilities ``(n, k)`` and total log-likelihood of ``X``."""
        data = MixtureData.of(X)
        prec = _precision_cholesky(self.covariances, self.covariance_type)
        with blas_single_thread():
            resp, log_lik = _e_step(data, self.weights, self.means, prec, self.covariance_type)
        return resp.T, log_lik

    def predict_proba(self, X: np.ndarray | MixtureData) -> np.ndarray:
        """Posterior membership probabilities, shape ``(n, k)``."""
        return self.resp(X)[0]

    def to_sklearn(self) -> GaussianMixture:
        """An equivalent, already fitted :class:`~sklearn.mixture.GaussianMixture`."""
        gmm = GaussianMixture(n_components=self.k, covariance_type=self.covariance_type)
        prec_chol = _precision_cholesky(self.covariances, self.covariance_type)
        gmm.weights_ = self.weights.copy()
        gmm.means_ = self.means.copy()
        gmm.covariances_ = self.covariances.copy()
        gmm.precisions_cholesky_ = prec_chol
        if self.covariance_type == "full":
            gmm.precisions_ = prec_chol @ np.swapaxes(prec_chol, 1, 2)
        else:
            gmm.precisions_ = prec_chol**2
        gmm.converged_ = self.converged
        gmm.n_iter_ = self.n_iter
        gmm.lower_bound_ = np.nan
        gmm.n_features_in_ = self.means.shape[1]
        return gmm


class MixtureData:
    """Rows to fit or evaluate mixtures on, with their cached *feature matrices*.

    :func:`fit_mixture` and :meth:`MixtureFit.resp` accept one in place of an
    array, so that several fits on the same rows build the features once.

    The features of a row are the sufficient statistics of a Gaussian: ``1``,
    ``x`` and either ``x**2`` (diag) or the products ``x_i x_j`` with
    ``i <= j`` (full). With them both EM steps are one thin matrix product
    each: the M-step's weighted sums are ``resp @ F.T`` and the E-step's log
    densities are ``W @ F`` for a small coefficient matrix ``W`` (see
    :func:`_coefficients`).

    The EM internals work in a *component-major* layout: log densities and
    responsibilities have shape ``(k, n)``, so reductions over components are
    element-wise operations on ``k`` long rows (numpy is slow at reducing a
    short inner axis of an ``(n, k)`` array).
    """

    def __init__(self, X: np.ndarray) -> None:
        self.X = np.ascontiguousarray(X, dtype=float)
        self._features: dict[str, np.ndarray] = {}

    @classmethod
    def of(cls, X: np.ndarray | MixtureData) -> MixtureData:
        """``X`` itself if it is a ``MixtureData``, else a new one of the array."""
        return X if isinstance(X, MixtureData) else cls(X)

    def features(self, cov_type: str) -> np.ndarray:
        """``[1; x; second-order terms]`` of every row, shape ``(n_features, n)``."""
        F = self._features.get(cov_type)
        if F is None:
            n, d = self.X.shape
            rows, cols = _second_order(d, cov_type)
            F = np.empty((1 + d + len(rows), n))
            F[0] = 1.0
            F[1 : 1 + d] = self.X.T
            np.multiply(F[1 + rows], F[1 + cols], out=F[1 + d :])
            self._features[cov_type] = F
        return F

    @property
    def Xt(self) -> np.ndarray:
        """``X.T`` as a contiguous ``(d, n)`` array (rows of a feature matrix)."""
        cached = list(self._features.values())
        F = cached[0] if cached else self.features("diag")
        return F[1 : 1 + self.X.shape[1]]

    def __len__(self) -> int:
        return self.X.shape[0]


@functools.cache
def _second_order(d: int, cov_type: str) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs ``(i, j)`` of the second-order features: ``i == j`` or ``i <= j``."""
    pairs = (np.arange(d), np.arange(d)) if cov_type == "diag" else np.triu_indices(d)
    return _read_only(pairs)


@functools.cache
def _tril(d: int) -> tuple[np.ndarray, np.ndarray]:
    return _read_only(np.tril_indices(d))


def _read_only(arrays: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    for array in arrays:
        array.flags.writeable = False  # cached and shared
    return arrays


def _precision_cholesky(covariances: np.ndarray, covariance_type: str) -> np.ndarray:
    """Cholesky factors ``P`` of the precisions (``inv(cov) = P @ P.T``), as sklearn.

    Raises ``numpy.linalg.LinAlgError`` when a covariance is not positive definite.
    """
    if covariance_type == "diag":
        if np.any(covariances <= 0.0):
            raise np.linalg.LinAlgError("non-positive variance")
        return 1.0 / np.sqrt(covariances)
    lower = np.linalg.cholesky(covariances)
    return np.swapaxes(np.linalg.inv(lower), 1, 2)


def _coefficients(
    weights: np.ndarray, means: np.ndarray, prec: np.ndarray, cov_type: str
) -> tuple[np.ndarray, np.ndarray]:
    """``W`` with ``log(weight) + log density = W @ features`` ``(k, n_features)``, and peaks.

    With ``A = P P'`` the precision, the log density is a quadratic form in ``x``:
    ``-0.5 x'Ax + (A mu)'x - 0.5 mu'A mu + log|P| - d/2 log(2 pi)``, that is one
    coefficient per feature of :meth:`MixtureData.features`. A component's *peak*
    ``log(weight) + log|P| - d/2 log(2 pi)`` (its value at the mean) bounds it.
    """
    k, d = means.shape
    if cov_type == "diag":
        precision = prec**2
        a_mu = precision * means
        quadratic = -0.5 * precision
        log_det = np.sum(np.log(prec), axis=1)
    else:
        precision = prec @ np.swapaxes(prec, 1, 2)
        a_mu = np.einsum("kij,kj->ki", precision, means)
        rows, cols = _second_order(d, cov_type)
        # x_i x_j appears twice in x'Ax off the diagonal.
        quadratic = precision[:, rows, cols]
        quadratic *= -1.0
        quadratic[:, rows == cols] *= 0.5
        log_det = np.sum(np.log(np.diagonal(prec, axis1=1, axis2=2)), axis=1)
    with np.errstate(divide="ignore"):
        peak = np.log(weights) + log_det - 0.5 * d * _LOG_2PI
    coef = np.empty((k, 1 + d + quadratic.shape[1]))
    coef[:, 0] = peak - 0.5 * np.sum(a_mu * means, axis=1)
    coef[:, 1 : 1 + d] = a_mu
    coef[:, 1 + d :] = quadratic
    return coef, peak


def _e_step(
    data: MixtureData, weights: np.ndarray, means: np.ndarray, prec: np.ndarray, cov_type: str
) -> tuple[np.ndarray, float]:
    """Responsibilities ``(k, n)`` and the total log-likelihood.

    No row's log density exceeds the highest peak, so the rows are all shifted by it
    before ``exp`` (no overflow), instead of each by its own maximum (a pass over
    the ``(k, n)`` array fewer); rows so far from every component that all their
    terms underflow are redone with their own maximum.
    """
    coef, peak = _coefficients(weights, means, prec, cov_type)
    features = data.features(cov_type)
    shift = float(np.max(peak))
    coef[:, 0] -= shift
    resp = coef @ features
    np.exp(resp, out=resp)
    total = resp.sum(axis=0)
    log_lik = len(data) * shift
    far = np.flatnonzero(~(total > _TINY))
    if len(far):
        weighted = coef @ features[:, far]
        top = weighted.max(axis=0)
        weighted -= top
        resp[:, far] = np.exp(weighted)
        total[far] = resp[:, far].sum(axis=0)
        log_lik += float(top.sum())
    resp *= 1.0 / total
    return resp, float(np.log(total).sum() + log_lik)


def _m_step(data: MixtureData, resp: np.ndarray, cov_type: str, reg_covar: Reg) -> Params:
    """Maximum-likelihood weights, means and covariances given responsibilities ``(k, n)``.

    Covariances as ``E[x x'] - mu mu'``: exact enough on standardized data
    (scores are O(1), ``reg_covar >= 1e-6``).
    """
    k, n = resp.shape
    d = data.X.shape[1]
    sums = (data.features(cov_type) @ resp.T).T  # (k, n_features); faster than resp @ F.T
    nk = sums[:, 0] + _EPS
    sums /= nk[:, None]
    means = sums[:, 1 : 1 + d]
    second = sums[:, 1 + d :]
    if cov_type == "diag":
        covariances = np.maximum(second - means**2, 0.0) + reg_covar
    else:
        rows, cols = _second_order(d, cov_type)
        moments = np.empty((k, d, d))
        moments[:, rows, cols] = second
        moments[:, cols, rows] = second
        covariances = moments - means[:, :, None] * means[:, None, :]
        diag = np.arange(d)
        covariances[:, diag, diag] = np.maximum(covariances[:, diag, diag] + reg_covar, reg_covar)
    return nk / n, np.ascontiguousarray(means), covariances


@dataclass
class _State:
    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    log_likelihood: float = -np.inf
    n_iter: int = 0
    converged: bool = False


def _evaluate(data: MixtureData, params: Params, cov_type: str) -> tuple[np.ndarray, float]:
    """E-step at ``params``: responsibilities ``(k, n)`` and the total log-likelihood.

    Raises ``numpy.linalg.LinAlgError`` when a covariance is singular.
    """
    weights, means, covs = params
    return _e_step(data, weights, means, _precision_cholesky(covs, cov_type), cov_type)


def _run_em(data: MixtureData, state: _State, cov_type: str, max_iter: int, tol: float, reg: Reg):
    """EM from ``state`` until the per-sample log-likelihood changes by < ``tol``.

    One iteration is an M-step followed by an E-step, so the returned parameters
    are exactly the ones whose log-likelihood is reported. An M-step that would
    produce a singular covariance stops the run (``converged`` stays False).
    """
    n = len(data)
    params = (state.weights, state.means, state.covariances)
    resp, log_lik = _evaluate(data, params, cov_type)
    converged = False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        new = _m_step(data, resp, cov_type, reg)
        try:
            new_resp, new_log_lik = _evaluate(data, new, cov_type)
        except np.linalg.LinAlgError:
            n_iter -= 1
            break
        previous = log_lik
        params, resp, log_lik = new, new_resp, new_log_lik
        if abs(log_lik - previous) / n < tol:
            converged = True
            break
    return _State(*params, log_lik, n_iter, converged)


def _pack(weights: np.ndarray, means: np.ndarray, covs: np.ndarray, cov_type: str) -> np.ndarray:
    """Parameters as one unconstrained vector (log weights, means, log-Cholesky)."""
    if cov_type == "diag":
        cov_part = np.log(covs).ravel()
    else:
        lower = np.linalg.cholesky(covs)
        d = covs.shape[1]
        diag = np.arange(d)
        lower[:, diag, diag] = np.log(lower[:, diag, diag])
        cov_part = lower[:, *_tril(d)].ravel()
    return np.concatenate([np.log(weights), means.ravel(), cov_part])


def _unpack(theta: np.ndarray, k: int, d: int, cov_type: str) -> Params:
    log_w, rest = theta[:k], theta[k:]
    weights = np.exp(log_w - log_w.max())
    weights /= weights.sum()
    means = rest[: k * d].reshape(k, d)
    if cov_type == "diag":
        return weights, means, np.exp(rest[k * d :]).reshape(k, d)
    rows, cols = _tril(d)
    lower = np.zeros((k, d, d))
    lower[:, rows, cols] = rest[k * d :].reshape(k, len(rows))
    diag = np.arange(d)
    lower[:, diag, diag] = np.exp(lower[:, diag, diag])
    return weights, means, lower @ np.swapaxes(lower, 1, 2)


def _log_likelihood(data: MixtureData, params: Params, cov_type: str) -> float:
    return _evaluate(data, params, cov_type)[1]


def _run_squarem(
    data: MixtureData, state: _State, cov_type: str, max_iter: int, tol: float, reg: Reg
) -> _State:
    """EM accelerated by SQUAREM (Varadhan & Roland 2008, scheme S3), made monotone.

    Each cycle takes two EM steps, extrapolates along them in the unconstrained
    parameterisation of :func:`_pack`, and takes one EM step from there; if
    that does not improve on the start of the cycle, the plain two-step result
    is used instead. The log-likelihood therefore never decreases, and every
    returned parameter set is an M-step output (so ``reg_covar`` holds).
    Stops when a cycle changes the per-sample log-likelihood by < ``tol``.
    The E-step that scores a cycle's result is also the first step of the next.
    """
    n = len(data)
    k, d = state.means.shape
    params = (state.weights, state.means, state.covariances)
    try:
        resp, log_lik = _evaluate(data, params, cov_type)
    except np.linalg.LinAlgError:
        return state
    n_iter, converged = 0, False
    while n_iter + 3 <= max_iter:
        try:
            p1 = _m_step(data, resp, cov_type, reg)
            p2 = _m_step(data, _evaluate(data, p1, cov_type)[0], cov_type, reg)
            _precision_cholesky(p2[2], cov_type)  # raises if singular
        except np.linalg.LinAlgError:
            break
        n_iter += 2
        t0, t1, t2 = (_pack(*p, cov_type) for p in (params, p1, p2))
        r, v = t1 - t0, t2 - 2 * t1 + t0
        result = None
        norm_v = float(np.linalg.norm(v))
        if norm_v > 0:
            alpha = min(-float(np.linalg.norm(r)) / norm_v, -1.0)
            try:
                with np.errstate(all="ignore"):  # a wild jump is simply rejected
                    jump = _unpack(t0 - 2 * alpha * r + alpha**2 * v, k, d, cov_type)
                    stepped = _m_step(data, _evaluate(data, jump, cov_type)[0], cov_type, reg)
                    n_iter += 1
                    stepped_resp, stepped_ll = _evaluate(data, stepped, cov_type)
                if np.isfinite(stepped_ll) and stepped_ll >= log_lik:
                    result = stepped, stepped_resp, stepped_ll
            except np.linalg.LinAlgError:
                pass
        if result is None:
            result = (p2, *_evaluate(data, p2, cov_type))
        previous = log_lik
        params, resp, log_lik = result
        if abs(log_lik - previous) / n < tol:
            converged = True
            break
    return _State(*params, log_lik, n_iter, converged)


def _kmeans_plusplus(data: MixtureData, k: int, rng: np.random.RandomState) -> np.ndarray:
    """Greedy k-means++ seeds (as scikit-learn's ``kmeans_plusplus``), shape ``(k, d)``.

    Each new centre is the best (lowest total squared distance) of
    ``2 + log(k)`` rows drawn with probability proportional to their squared
    distance to the nearest centre so far.
    """
    X, Xt = data.X, data.Xt
    n = len(X)
    sq_norms = np.einsum("ij,ij->i", X, X)
    n_trials = 2 + int(np.log(k))
    centers = np.empty((k, X.shape[1]))
    centers[0] = X[rng.randint(n)]
    closest = np.maximum(sq_norms - 2.0 * (centers[0] @ Xt) + centers[0] @ centers[0], 0.0)
    potential = closest.sum()
    for c in range(1, k):
        draws = rng.uniform(size=n_trials) * potential
        candidates = np.minimum(np.searchsorted(np.cumsum(closest), draws), n - 1)
        dist = X[candidates] @ Xt
        dist *= -2.0
        dist += sq_norms
        dist += sq_norms[candidates][:, None]
        np.maximum(dist, 0.0, out=dist)
        np.minimum(dist, closest, out=dist)
        potentials = dist.sum(axis=1)
        best = int(np.argmin(potentials))
        closest, potential = dist[best], potentials[best]
        centers[c] = X[candidates[best]]
    return centers


def _kmeans_resp(data: MixtureData, k: int, rng: np.random.RandomState) -> np.ndarray:
    """Hard responsibilities ``(k, n)`` from k-means++ seeds and a few Lloyd iterations."""
    centers = _kmeans_plusplus(data, k, rng)
    n, d = data.X.shape
    # [1; x] of every row: distances and the centre update are one product each.
    ones_x = data.features("diag")[: 1 + d]
    coef = np.empty((k, 1 + d))
    nearest = np.zeros((k, n), dtype=bool)
    for _ in range(N_LLOYD):
        # |x - c|^2 without the |x|^2 term, which does not change the nearest centre.
        coef[:, 0] = np.einsum("ij,ij->i", centers, centers)
        coef[:, 1:] = -2.0 * centers
        dist = coef @ ones_x
        # One-hot nearest centres, by comparisons (argmin over a short axis is slow).
        new = dist <= dist.min(axis=0)
        sums = new.astype(float) @ ones_x.T  # counts, then coordinate sums
        if sums[:, 0].sum() > n:  # a tie: keep the first nearest centre
            new[:] = False
            new[dist.argmin(axis=0), np.arange(n)] = True
            sums = new.astype(float) @ ones_x.T
        if np.array_equal(new, nearest):
            break
        nearest = new
        filled = sums[:, 0] > 0
        centers[filled] = sums[filled, 1:] / sums[filled, :1]
    return nearest.astype(float)


def split_starts(fit: MixtureFit) -> list[Params]:
    """Starting values for ``k + 1`` components: ``fit`` with one component split in two.

    One start per component ``j``: its weight is halved and its mean moved by
    ``+-`` :data:`SPLIT_SHIFT` standard deviations along its main axis (the
    largest variance for ``"diag"``, the first principal axis for ``"full"``),
    and that axis' variance shrunk by the same amount, so the pair keeps the
    component's mean and covariance. Seeding ``k + 1`` components from the
    ``k``-component optimum makes the fit of ``k + 1`` at least as good as that
    of ``k`` in practice (the log-likelihood is monotone in ``k``), where
    independent starts alone sometimes end in a poorer optimum.

    Parameters
    ----------
    fit : MixtureFit
        A fitted mixture (standardized scale).

    Returns
    -------
    list of (weights, means, covariances)
        ``fit.k`` parameter sets of ``fit.k + 1`` components.

    Examples
    --------
    >>> one = MixtureFit("diag", np.ones(1), np.zeros((1, 2)), np.array([[4.0, 1.0]]), 0.0, 0, True)
    >>> (weights, means, covs), = split_starts(one)
    >>> weights.tolist(), means.tolist(), covs.tolist()
    ([0.5, 0.5], [[1.0, 0.0], [-1.0, 0.0]], [[3.0, 1.0], [3.0, 1.0]])
    """
    starts = []
    for j in range(fit.k):
        cov = fit.covariances[j]
        if fit.covariance_type == "diag":
            axis = np.zeros_like(cov)
            main = int(np.argmax(cov))
            axis[main] = 1.0
            variance = float(cov[main])
        else:
            eigenvalues, eigenvectors = np.linalg.eigh(cov)
            axis, variance = eigenvectors[:, -1], float(eigenvalues[-1])
        shift = SPLIT_SHIFT * math.sqrt(variance) * axis
        if fit.covariance_type == "diag":
            shrunk = cov - SPLIT_SHIFT**2 * variance * axis
        else:
            shrunk = cov - SPLIT_SHIFT**2 * variance * np.outer(axis, axis)
        weights = np.append(fit.weights, fit.weights[j] / 2)
        weights[j] /= 2
        means = np.vstack([fit.means, fit.means[j] - shift])
        means[j] = fit.means[j] + shift
        covariances = np.concatenate([fit.covariances, shrunk[None]])
        covariances[j] = shrunk
        starts.append((weights, means, covariances))
    return starts


def fit_mixture(
    X: np.ndarray,
    k: int,
    covariance_type: str = "diag",
    *,
    n_init: int = 10,
    max_iter: int = 500,
    tol: float = 1e-4,
    reg_covar: float | np.ndarray = 1e-6,
    subsample_size: int | None = 5_000,
    random_state: int | np.random.RandomState | None = None,
    init_params: Sequence[Params] = (),
) -> MixtureFit:
    """Fit a ``k``-component Gaussian mixture by emEM (see the module docstring).

    Parameters
    ----------
    X : numpy.ndarray of shape (n, d) or MixtureData
        Complete (no NaN) data, ideally standardized.
    k : int
        Number of components (``1 <= k <= n``).
    covariance_type : {"diag", "full"}
        Per-component diagonal (local independence, the classic LPA) or
        unrestricted covariances.
    n_init : int
        Number of short-EM starts.
    max_iter, tol : int, float
        EM stops when the mean per-row log-likelihood changes by less than ``tol``
        (scikit-learn's criterion) or after ``max_iter`` iterations per stage.
    reg_covar : float or array of shape (d,)
        Added to covariance diagonals (as scikit-learn; a vector gives one value
        per variable).
    subsample_size : int or None
        Screen starts on at most this many random rows (None: all rows).
    random_state : int, RandomState or None
        Seed for the subsample and the starts.
    init_params : sequence of (weights, means, covariances)
        Further starts, screened together with the ``n_init`` k-means++ ones
        (for example :func:`split_starts` of the ``k - 1`` solution); they do not
        change the random draws of the others.

    Returns
    -------
    MixtureFit

    Raises
    ------
    FitFailedError
        If every start collapsed onto a singular covariance.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(-3, 1, (100, 2)), rng.normal(3, 1, (100, 2))])
    >>> fit = fit_mixture(X, 2, "diag", n_init=2, random_state=0)
    >>> sorted(np.round(fit.means[:, 0]).tolist())
    [-3.0, 3.0]
    """
    if covariance_type not in COVARIANCE_TYPES:
        raise ValueError(f"covariance_type must be one of {COVARIANCE_TYPES}")
    if n_init < 1:
        raise ValueError("n_init must be >= 1")
    data = MixtureData.of(X)
    n = len(data)
    if not 1 <= k <= n:
        raise ValueError(f"k must be between 1 and the number of rows ({n}), got {k}")
    # Multi-threaded BLAS is 10-30x *slower* on these thin (n x d) products.
    with blas_single_thread():
        return _fit_mixture(
            data,
            k,
            covariance_type,
            n_init,
            max_iter,
            tol,
            reg_covar,
            subsample_size,
            random_state,
            init_params,
        )


def _fit_mixture(
    data: MixtureData,
    k: int,
    covariance_type: str,
    n_init: int,
    max_iter: int,
    tol: float,
    reg_covar: Reg,
    subsample_size: int | None,
    seed: int | np.random.RandomState | None,
    init_params: Sequence[Params] = (),
) -> MixtureFit:
    X = data.X
    n = len(X)
    rng = check_random_state(seed)
    if k == 1:
        params = _m_step(data, np.ones((1, n)), covariance_type, reg_covar)
        state = _run_em(data, _State(*params), covariance_type, 0, tol, reg_covar)
        state.converged = True  # closed form
        return _to_fit(state, covariance_type)

    # Nested subsamples: all rows, n / 4, n / 16, ... (each at least twice the
    # screening size), then the screening subsample itself.
    ladder = [data]
    if subsample_size is not None and n > subsample_size:
        order = rng.permutation(n)
        size = n // LADDER_FACTOR
        while size >= 2 * subsample_size:
            ladder.append(MixtureData(X[np.sort(order[:size])]))
            size //= LADDER_FACTOR
        ladder.append(MixtureData(X[np.sort(order[:subsample_size])]))
    screen = ladder.pop()
    starts: list[_State] = []
    for _ in range(n_init):
        resp = _kmeans_resp(screen, k, rng)
        try:
            state = _State(*_m_step(screen, resp, covariance_type, reg_covar))
            starts.append(_run_em(screen, state, covariance_type, SHORT_ITER, tol, reg_covar))
        except np.linalg.LinAlgError:
            continue
    given: list[_State] = []
    for weights, means, covariances in init_params:
        if means.shape != (k, X.shape[1]):
            raise ValueError(f"init_params need {k} components of {X.shape[1]} features")
        try:
            state = _State(weights, means, covariances)
            given.append(_run_em(screen, state, covariance_type, SHORT_ITER, tol, reg_covar))
        except np.linalg.LinAlgError:
            continue
    if not starts and not given:
        raise FitFailedError(f"all {n_init} starts of k={k} ({covariance_type}) collapsed")
    # Run the most promising starts to convergence, keeping N_KEEP distinct optima
    # (the best optimum of a subsample need not be the best on all rows). The
    # given starts compete apart, for N_KEEP_GIVEN more: ranked together, they
    # could push out the k-means++ start that converges to the best optimum.
    screen_tol = tol * len(screen)
    finished: list[_State] = []
    for pool, keep in ((starts, N_KEEP), (given, N_KEEP_GIVEN)):
        pool.sort(key=lambda s: -s.log_likelihood)  # stable: ties keep start order
        kept = 0
        for state in pool[: 2 * keep]:
            if not state.converged:
                state = _run_squarem(screen, state, covariance_type, max_iter, tol, reg_covar)
            if all(abs(state.log_likelihood - f.log_likelihood) > screen_tol for f in finished):
                finished.append(state)
                kept += 1
            if kept == keep:
                break
    for stage in reversed(ladder[1:]):  # growing subsamples
        finished = [
            _run_squarem(stage, f, covariance_type, max_iter, tol, reg_covar) for f in finished
        ]
    if len(finished) > 1 and ladder:  # compare on all rows, then refine only the winner
        for f in finished:
            f.log_likelihood = _log_likelihood(
                data, (f.weights, f.means, f.covariances), covariance_type
            )
    best = max(finished, key=lambda s: s.log_likelihood)
    best = _run_squarem(data, best, covariance_type, max_iter, tol * POLISH_TOL_FACTOR, reg_covar)
    return _to_fit(best, covariance_type)


def refine_mixture(
    X: np.ndarray | MixtureData,
    params: Params,
    covariance_type: str,
    *,
    max_iter: int = 500,
    tol: float = 1e-4,
    reg_covar: float | np.ndarray = 1e-6,
) -> MixtureFit:
    """Run (SQUAREM-accelerated, monotone) EM on all rows from given parameters.

    Used to repair a candidate from a nested solution: a ``"diag"`` fit as a
    start for ``"full"`` covariances, or a :func:`split_starts` start.

    Parameters
    ----------
    X : numpy.ndarray of shape (n, d) or MixtureData
        Complete data (standardized).
    params : (weights, means, covariances)
        Start; ``"diag"`` covariances of shape ``(k, d)`` are accepted for a
        ``"full"`` fit.
    covariance_type : {"diag", "full"}
    max_iter, tol, reg_covar :
        As in :func:`fit_mixture` (``tol`` is used as is, without the final
        polish's factor).

    Returns
    -------
    MixtureFit

    Raises
    ------
    FitFailedError
        If the start has a singular covariance.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(-3, 1, (100, 2)), rng.normal(3, 1, (100, 2))])
    >>> start = (np.full(2, 0.5), np.array([[-1.0, 0.0], [1.0, 0.0]]), np.ones((2, 2)))
    >>> fit = refine_mixture(X, start, "full")
    >>> fit.covariances.shape, sorted(np.round(fit.means[:, 0]).tolist())
    ((2, 2, 2), [-3.0, 3.0])
    """
    weights, means, covariances = (np.asarray(a, dtype=float) for a in params)
    if covariance_type == "full" and covariances.ndim == 2:
        covariances = covariances[:, :, None] * np.eye(covariances.shape[1])
    data = MixtureData.of(X)
    with blas_single_thread():
        try:
            _evaluate(data, (weights, means, covariances), covariance_type)
        except np.linalg.LinAlgError as exc:
            raise FitFailedError(f"singular start: {exc}") from exc
        state = _run_squarem(
            data, _State(weights, means, covariances), covariance_type, max_iter, tol, reg_covar
        )
    return _to_fit(state, covariance_type)


def _to_fit(state: _State, covariance_type: str) -> MixtureFit:
    return MixtureFit(
        covariance_type=covariance_type,
        weights=state.weights,
        means=state.means,
        covariances=state.covariances,
        log_likelihood=state.log_likelihood,
        n_iter=state.n_iter,
        converged=state.converged,
    )
