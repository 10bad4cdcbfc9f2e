"""Anonymity of exported answers: pseudonyms, k-anonymity, l-diversity, inert cells.

Pure functions on integer codes; nothing here reads a database.

Pseudonyms
    :func:`pseudonymize` turns internal ids into HMAC-SHA256 keyed hashes.
    With a fresh random key per export (:func:`new_pseudonym_key`) two exports
    share no pseudonym; with a persistent key they share all of them.

k-anonymity (:func:`k_anonymize`)
    The quasi-identifiers are the team plus every :class:`QuasiIdentifier`
    (the context questions, the submission week). Every combination of their
    values among the exported rows must occur at least ``k`` times; a blank
    (unanswered or withheld) is a value like any other. The rules, in order:

    1. *Small teams.* Teams with fewer than ``k`` rows are left out.
    2. *Complementary suppression.* Subtracting the published teams from an
       organization total must not reveal the left-out rows, so the left-out
       rows must together come from at least two teams and number at least
       ``k``; while they do not, the smallest published team (ties: first
       team code) is left out too. One team of 2 left out next to teams of 6
       and 40 also leaves out the team of 6.
    3. *Global recoding.* Categories are merged for every row at once: a run
       of adjacent categories of an ordered question (``under 1 year`` and
       ``1-3 years`` become ``under 1 year to 1-3 years``), or, for an
       unordered question, one or two categories into the catch-all
       ``other``. Greedily, the merge that lowers the information loss
       (below) most is applied, until no merge lowers it. Only merges that
       touch a category of a too-rare combination are tried, at most
       :data:`MAX_EVALUATIONS` in all; a greedy search can stop short of the
       best recoding, never of k-anonymity (steps 4-5 guarantee it).
    4. *Local blanking.* A row still in a combination rarer than ``k`` gets
       one context cell blanked at a time, choosing the cell whose blanking
       joins the largest existing combination, until its combination is
       frequent enough or all its cells are blank.
    5. *Filling the blank group.* Within a published team (``k`` rows or
       more) the rows left with every cell blank may still be fewer than
       ``k``; then cells of other rows of the team are blanked, taken first
       from combinations with more than ``k`` rows (down to ``k``), else whole
       combinations, smallest first. Rows of a published team are therefore
       never dropped: dropping single rows could be undone by subtracting
       them from the team's published aggregates, and a team of at least
       ``k`` rows can always be made k-anonymous by blanking.

    Information loss counts, over every answered quasi-identifier cell,
    ``(g - 1) / (c - 1)`` for a cell shown as a merged group of ``g`` of the
    question's ``c`` categories and 1 for a blanked cell.

l-diversity of the profile
    Where a profile is exported, no group of rows sharing every
    quasi-identifier may show one single profile (an attacker who can place
    someone in the group would learn it): such a group's profiles are
    withheld (blank). Dimension scores are not protected this way; they are
    the data being shared.

Formula injection
    :func:`neutralize` prefixes a text cell that starts with ``=``, ``+``,
    ``-``, ``@``, a tab or a carriage return with an apostrophe, so that no
    spreadsheet evaluates it.

Examples
--------
>>> import numpy as np
>>> tenure = QuasiIdentifier("tenure", ("<1", "1-3", "3+"), ordered=True)
>>> teams = np.array([0] * 6 + [1] * 5 + [2] * 2)
>>> codes = np.array([0, 0, 0, 1, 1, 2, 0, 1, 1, 2, 2, 0, 1])
>>> result = k_anonymize(teams, [codes], [tenure], k=3)
>>> result.report.rows_out, [s.reason for s in result.report.suppressed]
(6, ['team under k', 'complementary'])
>>> result.report.k_reached >= 3
True
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analytics.instrument import ContextQuestion

__all__ = [
    "BLANK",
    "FORMULA_PREFIXES",
    "AnonymityReport",
    "Anonymization",
    "QuasiIdentifier",
    "Recoding",
    "Suppression",
    "context_quasi_identifiers",
    "k_anonymize",
    "neutralize",
    "new_pseudonym_key",
    "pseudonymize",
]

#: Code of a blank quasi-identifier cell (unanswered, or withheld by the export).
BLANK = -1

#: First characters that make a spreadsheet treat a text cell as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

#: Catch-all label of unordered questions.
CATCH_ALL = "other"

_KEY_BYTES = 32
_HMAC_BLOCK = 64  # SHA-256 block size, in bytes
#: Above this many candidate merges per step, only single steps are tried.
MAX_CANDIDATES = 150
#: At most this many recodings are tried in all (then local blanking does the rest).
MAX_EVALUATIONS = 400
_MAX_RADIX_PRODUCT = 2**62


# ------------------------------------------------------------------ cells, pseudonyms
def neutralize(text: str) -> str:
    """Make a text cell inert in spreadsheets (prefix an apostrophe when needed).

    Parameters
    ----------
    text : str
        The cell's text.

    Returns
    -------
    str
        ``text`` itself, or ``"'" + text`` when it starts with one of
        :data:`FORMULA_PREFIXES`.

    Examples
    --------
    >>> neutralize('=HYPERLINK("http://x.example","click")')
    '\\'=HYPERLINK("http://x.example","click")'
    >>> neutralize("sales")
    'sales'
    """
    if text and text[0] in FORMULA_PREFIXES:
        return "'" + text
    return text


def new_pseudonym_key() -> bytes:
    """A fresh random 256-bit key for one export (never stored).

    Examples
    --------
    >>> len(new_pseudonym_key())
    32
    """
    return secrets.token_bytes(_KEY_BYTES)


def pseudonymize(
    values: Iterable[object], key: bytes, *, namespace: str, length: int = 16
) -> list[str]:
    """Keyed pseudonyms: the first ``length`` hex digits of HMAC-SHA256.

    Parameters
    ----------
    values : iterable
        Internal ids (their ``str`` is hashed).
    key : bytes
        At least 16 bytes; whoever lacks it cannot link pseudonyms to ids.
    namespace : str
        Hashed in front of every value (``"team"``, ``"response"``), so that
        equal ids of different kinds get unrelated pseudonyms.
    length : int, default 16
        Hex digits kept (8 to 64); 16 digits (64 bits) make a collision among a
        million ids about one chance in 30 million.

    Returns
    -------
    list of str

    Examples
    --------
    >>> key = bytes(32)
    >>> pseudonymize([1, 2], key, namespace="team", length=8)
    ['ccc3e12f', '276ace06']
    >>> pseudonymize([1], key, namespace="response", length=8) != ['ccc3e12f']
    True
    """
    if not 8 <= length <= 64:
        raise ValueError(f"length must be between 8 and 64, got {length}")
    if len(key) < 16:
        raise ValueError("the pseudonym key must be at least 16 bytes")
    # HMAC(K, m) = H((K ^ opad) + H((K ^ ipad) + m)): the two keyed states (and the
    # namespace) are hashed once and copied per value, about twice as fast as
    # hmac.digest, which redoes the key schedule every time.
    block = hashlib.sha256(key).digest() if len(key) > _HMAC_BLOCK else key
    block = block.ljust(_HMAC_BLOCK, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
    inner.update(namespace.encode("utf-8") + b":")
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))
    inner_copy, outer_copy = inner.copy, outer.copy

    def one(value: object) -> str:
        state = inner_copy()
        state.update(b"%d" % value if type(value) is int else str(value).encode("utf-8"))
        result = outer_copy()
        result.update(state.digest())
        return result.hexdigest()[:length]

    return list(map(one, values))


# ------------------------------------------------------------------ quasi-identifiers
@dataclass(frozen=True)
class QuasiIdentifier:
    """A generalizable quasi-identifier: a categorical column and its categories.

    Parameters
    ----------
    name : str
        Column name.
    categories : tuple of str
        In their natural order (for an ordered question, low to high).
    ordered : bool, default True
        Ordered categories are merged with their neighbours; unordered ones
        into the catch-all ``other`` (an existing ``other`` category, else a
        new bucket labelled ``other``).
    """

    name: str
    categories: tuple[str, ...]
    ordered: bool = True

    @property
    def catch_all(self) -> int | None:
        """Index of the category named ``other`` (any case), if any."""
        for index, category in enumerate(self.categories):
            if category.strip().lower() == CATCH_ALL:
                return index
        return None


def context_quasi_identifiers(
    questions: Sequence[ContextQuestion], ordered: Mapping[str, bool] | None = None
) -> list[QuasiIdentifier]:
    """Quasi-identifiers of an instrument's context questions.

    A question counts as unordered when one of its options is ``other``
    (``role``: sales, procurement, ..., other) and as ordered otherwise
    (``tenure``: under 1 year, 1-3 years, ...), unless ``ordered`` says.

    Examples
    --------
    >>> role = ContextQuestion("role", "Role", ("sales", "engineering", "other"))
    >>> tenure = ContextQuestion("tenure", "Tenure", ("<1", "1-3", "3+"))
    >>> [q.ordered for q in context_quasi_identifiers([role, tenure])]
    [False, True]
    """
    given = dict(ordered or {})
    return [
        QuasiIdentifier(
            question.id,
            tuple(question.options),
            given.get(
                question.id,
                not any(o.strip().lower() == CATCH_ALL for o in question.options),
            ),
        )
        for question in questions
    ]


# ------------------------------------------------------------------ results
@dataclass(frozen=True)
class Suppression:
    """Rows left out, and why (``"team under k"`` or ``"complementary"``)."""

    reason: str
    teams: int
    rows: int


@dataclass(frozen=True)
class Recoding:
    """How one quasi-identifier was generalized.

    ``groups[i]`` are the original categories shown as ``labels[i]``;
    ``cells_blanked`` counts answered cells shown blank.
    """

    name: str
    groups: tuple[tuple[str, ...], ...]
    labels: tuple[str, ...]
    cells_blanked: int

    @property
    def merged(self) -> bool:
        """Whether any categories were merged."""
        return any(len(group) > 1 for group in self.groups)


@dataclass(frozen=True)
class AnonymityReport:
    """What :func:`k_anonymize` did.

    Attributes
    ----------
    k : int
        Required group size.
    k_reached : int or None
        Smallest group of identical quasi-identifiers among the kept rows
        (``None`` when no row is kept).
    rows_in, rows_out, teams_in, teams_out : int
    suppressed : tuple of Suppression
    recodings : tuple of Recoding
        One per quasi-identifier other than the team.
    rows_fully_blanked : int
        Kept rows whose quasi-identifiers (other than the team) were all blanked.
    information_loss : float
        Share of the answered quasi-identifier cells of kept rows lost to
        merging and blanking (0 to 1, see the module docs).
    profile_withheld_rows, profile_withheld_groups : int
        Profiles blanked for l-diversity.
    """

    k: int
    k_reached: int | None
    rows_in: int
    rows_out: int
    teams_in: int
    teams_out: int
    suppressed: tuple[Suppression, ...]
    recodings: tuple[Recoding, ...]
    rows_fully_blanked: int
    information_loss: float
    profile_withheld_rows: int = 0
    profile_withheld_groups: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-safe data."""
        return {
            "k": self.k,
            "k_reached": self.k_reached,
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "teams_in": self.teams_in,
            "teams_out": self.teams_out,
            "suppressed": [
                {"reason": s.reason, "teams": s.teams, "rows": s.rows} for s in self.suppressed
            ],
            "recodings": {
                r.name: {
                    "categories": [
                        {"label": label, "covers": list(group)}
                        for label, group in zip(r.labels, r.groups, strict=True)
                    ],
                    "cells_blanked": r.cells_blanked,
                }
                for r in self.recodings
            },
            "rows_fully_blanked": self.rows_fully_blanked,
            "information_loss": round(self.information_loss, 6),
            "profile_withheld_rows": self.profile_withheld_rows,
            "profile_withheld_groups": self.profile_withheld_groups,
        }


@dataclass(frozen=True, eq=False)
class Anonymization:
    """The outcome of :func:`k_anonymize`, row by row.

    Attributes
    ----------
    keep : numpy.ndarray of bool
        Rows to export.
    codes : tuple of numpy.ndarray
        Per quasi-identifier, the generalized category of each row: an index
        into ``labels[j]``, or :data:`BLANK` (also for rows not kept).
    labels : tuple of tuple of str
        Per quasi-identifier, the generalized categories' labels.
    show_profile : numpy.ndarray of bool or None
        Rows whose profile may be shown (``None`` when no profiles were given).
    report : AnonymityReport
    """

    keep: np.ndarray
    codes: tuple[np.ndarray, ...]
    labels: tuple[tuple[str, ...], ...]
    show_profile: np.ndarray | None
    report: AnonymityReport

    def values(self, j: int, rows: np.ndarray | slice | None = None) -> np.ndarray:
        """Labels of quasi-identifier ``j`` per row (``None`` where blank), as objects."""
        codes = self.codes[j] if rows is None else self.codes[j][rows]
        table = np.array([*self.labels[j], None], dtype=object)
        return table[np.where(codes >= 0, codes, len(self.labels[j]))]


# ------------------------------------------------------------------ generalization
@dataclass(frozen=True)
class _Hierarchy:
    """Possible merges of one quasi-identifier's categories."""

    qi: QuasiIdentifier

    @property
    def size(self) -> int:
        return len(self.qi.categories)

    def candidates(
        self, groups: np.ndarray, *, wide: bool = True
    ) -> list[tuple[frozenset[int], np.ndarray]]:
        """Merges one step away from ``groups`` (category -> group, numbered in order).

        Each is (the current groups merged, the new code map). Ordered: any run
        of adjacent groups becomes one. Unordered: one or two groups join the
        catch-all bucket (any two groups form it when there is none yet).
        Merging several at once gets past steps that only pay off together (two
        rare neighbours that are still rare when merged alone). ``wide=False``
        keeps only the single steps (adjacent pairs, one group).
        """
        n_groups = int(groups.max()) + 1 if groups.size else 0
        if n_groups < 2:
            return []
        out = []

        def merge(members: Sequence[int], into: int) -> None:
            merged = np.where(np.isin(groups, members), into, groups)
            out.append((frozenset([*members, into]), _renumber(merged)))

        if self.qi.ordered:
            for first in range(n_groups - 1):
                for last in range(first + 1, n_groups if wide else first + 2):
                    merge(range(first + 1, last + 1), first)
            return out
        bucket = self._bucket(groups)
        others = [g for g in range(n_groups) if g != bucket]
        if bucket is None:
            for i, a in enumerate(others):
                for b in others[i + 1 :]:
                    merge([b], a)
            return out
        for i, a in enumerate(others):
            merge([a], bucket)
            for b in others[i + 1 :] if wide else ():
                merge([a, b], bucket)
        return out

    def _bucket(self, groups: np.ndarray) -> int | None:
        if self.qi.catch_all is not None:
            return int(groups[self.qi.catch_all])
        sizes = np.bincount(groups)
        merged = np.flatnonzero(sizes > 1)
        return int(merged[0]) if merged.size else None

    def labels(self, groups: np.ndarray) -> tuple[tuple[tuple[str, ...], ...], tuple[str, ...]]:
        """(categories of each group, label of each group)."""
        categories = self.qi.categories
        n_groups = int(groups.max()) + 1 if groups.size else 0
        members = tuple(
            tuple(categories[i] for i in np.flatnonzero(groups == g)) for g in range(n_groups)
        )
        bucket = None if self.qi.ordered else self._bucket(groups)
        labels = []
        for g, member in enumerate(members):
            if len(member) == 1 and g != bucket:
                labels.append(member[0])
            elif g == bucket:
                labels.append(CATCH_ALL)
            else:
                labels.append(f"{member[0]} to {member[-1]}")
        return members, _unique_labels(labels, categories)

    def cell_loss(self, groups: np.ndarray) -> np.ndarray:
        """Loss of a cell of each original category under ``groups``."""
        if self.size < 2:
            return np.zeros(self.size)
        sizes = np.bincount(groups)
        return (sizes[groups] - 1) / (self.size - 1)


def _renumber(groups: np.ndarray) -> np.ndarray:
    """Number groups 0.. in order of their first category."""
    _, first, inverse = np.unique(groups, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))
    return order[inverse].astype(np.int64)


def _unique_labels(labels: list[str], categories: tuple[str, ...]) -> tuple[str, ...]:
    seen: set[str] = set()
    out = []
    for label in labels:
        candidate = label
        while candidate in seen:
            candidate += " (merged)"
        seen.add(candidate)
        out.append(candidate)
    return tuple(out)


# ------------------------------------------------------------------ grouping helpers
class _Keys:
    """Integer keys of quasi-identifier tuples (team, qi_1, ..., qi_m), blank included.

    Keys are mixed-radix numbers when they fit in 62 bits, else the rank of the
    tuple among all tuples encoded in the same call (slower).
    """

    def __init__(self, n_teams: int, sizes: Sequence[int]) -> None:
        radices = [max(n_teams, 1)] + [s + 1 for s in sizes]
        product = 1
        for r in radices:
            product *= r
        self.fits = product < _MAX_RADIX_PRODUCT
        self.multipliers = np.ones(len(radices), dtype=np.int64)
        if self.fits:
            for i in range(len(radices) - 2, -1, -1):
                self.multipliers[i] = self.multipliers[i + 1] * radices[i + 1]

    def encode_columns(self, teams: np.ndarray, codes: Sequence[np.ndarray]) -> np.ndarray:
        """Keys of rows given column by column (without building a row matrix)."""
        if not self.fits:
            return self.encode(np.column_stack([teams, *codes]))[0]
        key = teams.astype(np.int64)
        key *= self.multipliers[0]
        for column, multiplier in zip(codes, self.multipliers[1:], strict=True):
            part = column.astype(np.int64)
            part += 1
            part *= multiplier
            key += part
            del part
        return key

    def encode(self, *tuples: np.ndarray) -> list[np.ndarray]:
        """One int64 key per row of each array (comparable within one call)."""
        if self.fits:
            out = []
            for array in tuples:
                shifted = np.asarray(array, dtype=np.int64).copy()
                shifted[:, 1:] += 1
                out.append(shifted @ self.multipliers)
            return out
        stacked = np.concatenate([np.asarray(a, dtype=np.int64) for a in tuples])
        _, inverse = np.unique(stacked, axis=0, return_inverse=True)
        bounds = np.cumsum([len(a) for a in tuples])[:-1]
        return np.split(inverse.reshape(-1).astype(np.int64), bounds)


def _group_counts(
    keys: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sorted unique keys, group index per row, weighted count per group)."""
    unique, inverse = np.unique(keys, return_inverse=True)
    inverse = inverse.reshape(-1)
    counts = np.bincount(inverse, weights=weights, minlength=unique.size).astype(np.int64)
    return unique, inverse, counts


def _lookup(unique: np.ndarray, counts: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Count of each key among ``unique`` (0 when absent)."""
    if unique.size == 0:
        return np.zeros(keys.size, dtype=np.int64)
    at = np.clip(np.searchsorted(unique, keys), 0, unique.size - 1)
    return np.where(unique[at] == keys, counts[at], 0)


@dataclass
class _Evaluation:
    """The outcome of recoding + local blanking on the table of distinct tuples."""

    loss: float
    tuples: np.ndarray  # generalized tuple per distinct original tuple (team, qi codes)
    moved: np.ndarray  # rows of each distinct tuple fully blanked by step 5
    maps: list[np.ndarray] = field(default_factory=list)
    hot: list[set[int]] = field(default_factory=list)  # groups in too-rare combinations


class _Anonymizer:
    """Steps 3-5 of the module docs on the table of distinct original tuples."""

    def __init__(
        self,
        combos: np.ndarray,
        counts: np.ndarray,
        hierarchies: list[_Hierarchy],
        k: int,
        keys: _Keys,
    ) -> None:
        self.combos = combos
        self.counts = counts
        self.hierarchies = hierarchies
        self.k = k
        self.keys = keys
        self.m = len(hierarchies)
        teams = combos[:, 0]
        self.team_bounds = np.flatnonzero(np.r_[True, teams[1:] != teams[:-1], True])

    def run(self) -> _Evaluation:
        maps = [np.arange(h.size, dtype=np.int64) for h in self.hierarchies]
        best = self.evaluate(maps)
        evaluations = 1
        while best.loss > 0 and evaluations < MAX_EVALUATIONS:
            # only merges that touch a category of a too-rare combination can help
            steps = self._steps(maps, best.hot, wide=True)
            if len(steps) > MAX_CANDIDATES:  # many questions or options: single steps only
                steps = self._steps(maps, best.hot, wide=False)
            steps = steps[: MAX_EVALUATIONS - evaluations]
            trial = None  # keep only the best so far: each evaluation holds the whole table
            for j, candidate in steps:
                evaluation = self.evaluate([*maps[:j], candidate, *maps[j + 1 :]])
                if trial is None or evaluation.loss < trial.loss:
                    trial = evaluation
            evaluations += len(steps)
            if trial is None or trial.loss >= best.loss - 1e-9:
                break
            best, maps = trial, trial.maps
        return best

    def _steps(
        self, maps: list[np.ndarray], hot: list[set[int]], *, wide: bool
    ) -> list[tuple[int, np.ndarray]]:
        return [
            (j, new_map)
            for j, h in enumerate(self.hierarchies)
            for merged, new_map in h.candidates(maps[j], wide=wide)
            if merged & hot[j]
        ]

    def evaluate(self, maps: list[np.ndarray]) -> _Evaluation:
        tuples = self.combos.copy()
        for j, groups in enumerate(maps):
            column = tuples[:, j + 1]
            tuples[:, j + 1] = np.where(column >= 0, groups[np.maximum(column, 0)], BLANK)
        (keys,) = self.keys.encode(tuples)
        _, inverse, counts = _group_counts(keys, self.counts)
        rare = tuples[counts[inverse] < self.k, 1:]
        hot = [set(rare[:, j][rare[:, j] >= 0].tolist()) for j in range(self.m)]
        tuples = self._blank_rare(tuples, maps)
        tuples, moved = self._fill_blank_groups(tuples)
        return _Evaluation(self._loss(tuples, moved, maps), tuples, moved, maps, hot)

    def _blank_rare(self, tuples: np.ndarray, maps: list[np.ndarray]) -> np.ndarray:
        """Step 4: blank one cell at a time of tuples in groups smaller than k."""
        n_groups = np.array([int(g.max()) + 1 if g.size else 0 for g in maps])
        while True:
            (keys,) = self.keys.encode(tuples)
            unique, inverse, counts = _group_counts(keys, self.counts)
            open_cells = tuples[:, 1:] >= 0
            active = (counts[inverse] < self.k) & open_cells.any(axis=1)
            if not active.any():
                return tuples
            active_rows = np.flatnonzero(active)
            groups, at = np.unique(inverse[active_rows], return_index=True)
            rep = tuples[active_rows[at]]
            targets = []
            for j in range(self.m):
                target = rep.copy()
                target[:, j + 1] = BLANK
                targets.append(target)
            if not self.keys.fits:  # rank keys: encode everything in one call
                keys, *target_keys = self.keys.encode(tuples, *targets)
                unique, inverse, counts = _group_counts(keys, self.counts)
                groups = inverse[active_rows[at]]  # the same groups, renumbered
            else:
                target_keys = self.keys.encode(*targets)
            score = np.full((groups.size, self.m), -1.0)
            for j in range(self.m):
                joined = _lookup(unique, counts, target_keys[j]).astype(float)
                # ties: blank the more detailed question first, then the later one
                score[:, j] = np.where(rep[:, j + 1] >= 0, joined + n_groups[j] * 1e-6, -1.0)
                score[:, j] += j * 1e-9
            choice = np.full(unique.size, -1, dtype=np.int64)
            choice[groups] = score.argmax(axis=1)
            tuples[active_rows, choice[inverse[active_rows]] + 1] = BLANK

    def _fill_blank_groups(self, tuples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Step 5: make each team's all-blank group reach k by blanking more rows."""
        moved = np.zeros(len(tuples), dtype=np.int64)
        if self.m == 0:
            return tuples, moved
        all_blank = (tuples[:, 1:] < 0).all(axis=1)
        _, inverse, counts = _group_counts(self.keys.encode(tuples)[0], self.counts)
        for start, stop in zip(self.team_bounds[:-1], self.team_bounds[1:], strict=True):
            blank_rows = np.flatnonzero(all_blank[start:stop]) + start
            have = int(self.counts[blank_rows].sum())
            if have == 0 or have >= self.k:
                continue
            need = self.k - have
            donors = np.flatnonzero(~all_blank[start:stop]) + start
            donor_groups = np.unique(inverse[donors])
            surplus = counts[donor_groups] - self.k
            if surplus.sum() >= need:
                for g in donor_groups[np.argsort(-surplus, kind="stable")]:
                    take_from_group = min(int(counts[g]) - self.k, need)
                    members = donors[inverse[donors] == g]
                    for u in members[np.argsort(-self.counts[members], kind="stable")]:
                        take = min(int(self.counts[u]), take_from_group)
                        moved[u] += take
                        take_from_group -= take
                        need -= take
                        if take_from_group == 0:
                            break
                    if need == 0:
                        break
            else:
                sizes = counts[donor_groups]
                for g in donor_groups[np.argsort(sizes, kind="stable")]:
                    members = donors[inverse[donors] == g]
                    tuples[members, 1:] = BLANK
                    need -= int(counts[g])
                    if need <= 0:
                        break
        return tuples, moved

    def _loss(self, tuples: np.ndarray, moved: np.ndarray, maps: list[np.ndarray]) -> float:
        total = 0.0
        for j, h in enumerate(self.hierarchies):
            original = self.combos[:, j + 1]
            answered = original >= 0
            merged = np.where(answered, h.cell_loss(maps[j])[np.maximum(original, 0)], 0.0)
            cell = np.where(tuples[:, j + 1] >= 0, merged, answered.astype(float))
            total += float(np.sum(self.counts * cell))
            total += float(np.sum(moved * np.where(answered, 1.0 - cell, 0.0)))
        return total


def _team_suppression(sizes: np.ndarray, k: int) -> tuple[np.ndarray, list[Suppression]]:
    """Steps 1-2: which teams to leave out, and why."""
    dropped = sizes < k
    suppressions = []
    if dropped.any():
        suppressions.append(
            Suppression("team under k", int(dropped.sum()), int(sizes[dropped].sum()))
        )
    extra_teams, extra_rows = 0, 0
    order = np.lexsort((np.arange(sizes.size), sizes))
    for team in order:
        if not dropped.any():
            break
        if dropped.sum() >= 2 and sizes[dropped].sum() >= k:
            break
        if dropped[team]:
            continue
        dropped[team] = True
        extra_teams += 1
        extra_rows += int(sizes[team])
    if extra_teams:
        suppressions.append(Suppression("complementary", extra_teams, extra_rows))
    return dropped, suppressions


def k_anonymize(
    teams: np.ndarray,
    qi_codes: Sequence[np.ndarray],
    quasi_identifiers: Sequence[QuasiIdentifier],
    *,
    k: int,
    profiles: np.ndarray | None = None,
    random_state: int | None = 0,
) -> Anonymization:
    """Make rows k-anonymous over (team, quasi-identifiers); see the module docs.

    Parameters
    ----------
    teams : numpy.ndarray of int
        Team of each row (any integer labels).
    qi_codes : sequence of numpy.ndarray of int
        Per quasi-identifier, each row's category index into
        ``quasi_identifiers[j].categories``, or :data:`BLANK`.
    quasi_identifiers : sequence of QuasiIdentifier
    k : int
        Smallest allowed group size (at least 1).
    profiles : numpy.ndarray of int, optional
        Profile code per row (negative = none); enables the l-diversity step.
    random_state : int or None, default 0
        Chooses which rows of a combination are blanked in step 5.

    Returns
    -------
    Anonymization

    Examples
    --------
    >>> role = QuasiIdentifier("role", ("sales", "engineering", "other"), ordered=False)
    >>> teams = np.zeros(8, dtype=int)
    >>> codes = np.array([0, 0, 0, 0, 1, 1, 2, 2])  # 4 sales, 2 engineering, 2 other
    >>> result = k_anonymize(teams, [codes], [role], k=4)
    >>> result.values(0).tolist()
    ['sales', 'sales', 'sales', 'sales', 'other', 'other', 'other', 'other']
    >>> result.report.recodings[0].groups
    (('sales',), ('engineering', 'other'))
    """
    teams = np.asarray(teams).reshape(-1)
    n = teams.size
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if len(qi_codes) != len(quasi_identifiers):
        raise ValueError("give one code array per quasi-identifier")
    codes = [np.asarray(c).reshape(-1) for c in qi_codes]
    for qi, c in zip(quasi_identifiers, codes, strict=True):
        if c.size != n:
            raise ValueError(f"{qi.name}: {c.size} codes for {n} rows")
        if c.size and (c.min() < BLANK or c.max() >= len(qi.categories)):
            raise ValueError(f"{qi.name}: codes must be -1 or index a category")
    m = len(codes)
    hierarchies = [_Hierarchy(qi) for qi in quasi_identifiers]
    team_code, team_ids = pd.factorize(teams, sort=True)  # hashing: less memory than sorting
    sizes = np.bincount(team_code, minlength=team_ids.size)
    dropped, suppressions = _team_suppression(sizes, k)
    keep = ~dropped[team_code]
    every_row = bool(keep.all())
    kept_rows = slice(None) if every_row else np.flatnonzero(keep)
    keys = _Keys(team_ids.size, [h.size for h in hierarchies])

    # Steps 3-5 work on the distinct tuples; rows only remember which tuple they have.
    row_keys = keys.encode_columns(team_code[kept_rows], [c[kept_rows] for c in codes])
    inverse, _ = pd.factorize(row_keys)  # tuple number, in order of first appearance
    del row_keys
    running = np.maximum.accumulate(inverse)
    first = np.flatnonzero(np.r_[inverse.size > 0, running[1:] > running[:-1]])
    del running
    counts = np.bincount(inverse, minlength=first.size)
    at = first if every_row else kept_rows[first]
    combos = np.column_stack([team_code[at], *(c[at] for c in codes)]).astype(np.int64)
    del team_code
    by_team = np.argsort(combos[:, 0], kind="stable")  # each team's tuples contiguous
    combos, counts = combos[by_team], counts[by_team].astype(np.int64)
    inverse = np.argsort(by_team).astype(np.int32)[inverse]
    result = _Anonymizer(combos, counts, hierarchies, k, keys).run()
    tuples, moved_counts = result.tuples, result.moved

    moved = None  # rows of a tuple blanked in step 5, chosen at random
    if moved_counts.any():
        rng = np.random.default_rng(random_state)
        candidates = np.flatnonzero((moved_counts > 0)[inverse])
        tuple_of = inverse[candidates]
        order = np.lexsort((rng.permutation(candidates.size), tuple_of))
        ranked, ranked_tuple = candidates[order], tuple_of[order]
        position = np.arange(ranked.size) - np.searchsorted(ranked_tuple, ranked_tuple)
        moved = np.zeros(inverse.size, dtype=bool)
        moved[ranked[position < moved_counts[ranked_tuple]]] = True
        del candidates, tuple_of, order, ranked, ranked_tuple, position

    out_codes = []
    for j in range(m):
        column = np.full(n, BLANK, dtype=np.int16)
        kept_column = tuples[:, j + 1].astype(np.int16)[inverse]
        if moved is not None:
            kept_column[moved] = BLANK
        column[kept_rows] = kept_column
        out_codes.append(column)

    # Groups of identical tuples, counted per distinct tuple (moved rows join the blank group).
    blank_tuples = tuples.copy()
    blank_tuples[:, 1:] = BLANK
    both = np.concatenate(keys.encode(tuples, blank_tuples))
    weights = np.concatenate([counts - moved_counts, moved_counts])
    _, group_index = np.unique(both, return_inverse=True)
    group_index = group_index.reshape(-1)
    group_sizes = np.bincount(group_index, weights=weights).astype(np.int64)
    present = group_sizes > 0
    k_reached = int(group_sizes[present].min()) if present.any() else None
    if k_reached is not None and k_reached < k:  # the construction guarantees this
        raise RuntimeError(f"k-anonymization failed: a group of {k_reached} < k={k}")

    recodings, labels = [], []
    answered = combos[:, 1:] >= 0
    final_blank = tuples[:, 1:] < 0
    for j, h in enumerate(hierarchies):
        members, names = h.labels(result.maps[j])
        blanked = counts * (answered[:, j] & final_blank[:, j])
        blanked += moved_counts * (answered[:, j] & ~final_blank[:, j])
        recodings.append(Recoding(h.qi.name, members, names, int(blanked.sum())))
        labels.append(names)
    any_answered = answered.any(axis=1) if m else np.zeros(len(combos), dtype=bool)
    all_blank = final_blank.all(axis=1) if m else np.zeros(len(combos), dtype=bool)
    fully_blanked = counts * (any_answered & all_blank) + moved_counts * (any_answered & ~all_blank)
    n_answered = int((counts * answered.sum(axis=1)).sum()) if m else 0

    show_profile, withheld_rows, withheld_groups = None, 0, 0
    if profiles is not None:
        row_group = group_index[: len(combos)].astype(np.int32)[inverse]
        if moved is not None:
            row_group[moved] = group_index[len(combos) :][inverse[moved]]
        show_profile, withheld_rows, withheld_groups = _diverse_profiles(
            np.asarray(profiles).reshape(-1)[kept_rows], row_group, group_sizes.size, keep
        )
    report = AnonymityReport(
        k=k,
        k_reached=k_reached,
        rows_in=n,
        rows_out=int(np.count_nonzero(keep)),
        teams_in=int(team_ids.size),
        teams_out=int((~dropped).sum()),
        suppressed=tuple(suppressions),
        recodings=tuple(recodings),
        rows_fully_blanked=int(fully_blanked.sum()),
        information_loss=result.loss / n_answered if n_answered else 0.0,
        profile_withheld_rows=withheld_rows,
        profile_withheld_groups=withheld_groups,
    )
    return Anonymization(keep, tuple(out_codes), tuple(labels), show_profile, report)


def _diverse_profiles(
    profiles: np.ndarray, row_group: np.ndarray, n_groups: int, keep: np.ndarray
) -> tuple[np.ndarray, int, int]:
    """Withhold the profiles of groups that show one profile only."""
    show = np.zeros(keep.size, dtype=bool)
    assigned = profiles >= 0
    if not assigned.any():
        return show, 0, 0
    n_profiles = int(profiles.max()) + 1
    pairs = row_group[assigned].astype(np.int64)
    pairs *= n_profiles
    pairs += profiles[assigned]
    table = np.bincount(pairs, minlength=n_groups * n_profiles).reshape(n_groups, n_profiles)
    uniform = (table > 0).sum(axis=1) == 1
    withheld = assigned & uniform[row_group]
    show[keep] = assigned & ~withheld
    return show, int(withheld.sum()), int(uniform.sum())
