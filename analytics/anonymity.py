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

l-diversity of item answers (``answers=``, :func:`k_anonymize` step 6)
    k-anonymity alone does not stop an attacker who knows someone's team,
    context answers and week: if the five rows of that class all gave the same
    answer to an item, the answer is revealed without finding the row. So,
    when item answers are given, every class of rows sharing the team and
    every generalized quasi-identifier must show at least ``diversity``
    (default 2) distinct answered values on every item it answers at all
    (*distinct l-diversity*; blanks do not count as a value). The rules, on
    the classes left by steps 1-5:

    6a. *Whole teams.* An item that a published team's rows answered with
        fewer than ``diversity`` distinct values (the whole team gave the same
        answer) is blanked for the whole team: no generalization could help,
        and trying would cost every quasi-identifier of the team.
    6b. *Further generalization.* A class failing on some other item is
        merged with another class of its team: the cells in which their
        quasi-identifiers differ are blanked in both, for all their rows (or,
        merging with the team-level tuple, every cell of the class is
        blanked). The partner is the one (among the team's
        :data:`MAX_PARTNERS` largest classes) that leaves the fewest failing
        items, then blanks the fewest cells, then is the largest. Whole
        classes move, so every class still has ``k`` rows or more:
        k-anonymity holds. Joining only adds values, so a merged class fails
        on no more items than its parts; this is repeated until no failing
        class has a cell left to blank.
    6c. *Blanking answers.* A class still failing with every quasi-identifier
        blank (the team-level class) has that item's answered cells blanked.

    The caller should also withhold whatever would reveal a blanked answer,
    such as a score computed from it (the export blanks the dimension score).

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
from dataclasses import dataclass, field, replace
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
    diversity : int or None
        The ``l`` of distinct l-diversity on item answers (step 6), ``None``
        when no answers were given.
    diversity_classes_generalized : int
        Classes (of steps 1-5) whose quasi-identifiers were generalized
        further in step 6b.
    diversity_cells_blanked : int
        Answered item cells blanked in steps 6a and 6c.
    diversity_items_blanked : int
        (class, item) pairs blanked in steps 6a and 6c.
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
    diversity: int | None = None
    diversity_classes_generalized: int = 0
    diversity_cells_blanked: int = 0
    diversity_items_blanked: int = 0

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
            "diversity": self.diversity,
            "diversity_classes_generalized": self.diversity_classes_generalized,
            "diversity_cells_blanked": self.diversity_cells_blanked,
            "diversity_items_blanked": self.diversity_items_blanked,
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
    row_class : numpy.ndarray of int or None
        With ``answers``: the final class of each row (-1 for rows not kept).
    item_blanks : numpy.ndarray of bool or None
        With ``answers``: (classes x items), the items whose answers are
        blanked in each class (steps 6a, 6c); see :meth:`blanked_items`.
    """

    keep: np.ndarray
    codes: tuple[np.ndarray, ...]
    labels: tuple[tuple[str, ...], ...]
    show_profile: np.ndarray | None
    report: AnonymityReport
    row_class: np.ndarray | None = None
    item_blanks: np.ndarray | None = None

    def blanked_items(self, rows: np.ndarray | slice) -> np.ndarray | None:
        """Which item cells of these (kept) rows are blanked (rows x items), if any are.

        ``None`` when no answers were checked or no cell is blanked.
        """
        if self.row_class is None or self.item_blanks is None or not self.item_blanks.any():
            return None
        return self.item_blanks[self.row_class[rows]]

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
    answers: np.ndarray | None = None,
    missing: int = BLANK,
    diversity: int = 2,
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
    answers : numpy.ndarray of int, optional
        Item answers (rows x items; may be a memory map), ``missing`` where
        unanswered; enables step 6, l-diversity of the answers.
    missing : int, default -1
        The code of an unanswered cell in ``answers``.
    diversity : int, default 2
        The ``l`` of distinct l-diversity (at least 1; 1 checks nothing).

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

    With answers (l-diversity, step 6): an item the whole team answered alike
    (the second) is blanked for the team; a class whose rows all gave one
    answer to an item (the four ``other`` rows answered 3 to the first) is
    merged with another class of the team, here by blanking the role of both:

    >>> answers = np.array([[1, 5], [2, 5], [3, 5], [4, 5], [3, 5], [3, 5], [3, 5], [3, 5]])
    >>> result = k_anonymize(teams, [codes], [role], k=4, answers=answers)
    >>> result.values(0).tolist()
    [None, None, None, None, None, None, None, None]
    >>> result.blanked_items(np.arange(8)).any(axis=0).tolist()
    [False, True]
    >>> r = result.report
    >>> r.diversity, r.diversity_classes_generalized, r.diversity_cells_blanked
    (2, 2, 8)
    """
    teams = np.asarray(teams).reshape(-1)
    n = teams.size
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if diversity < 1:
        raise ValueError(f"diversity must be at least 1, got {diversity}")
    if answers is not None and (answers.ndim != 2 or answers.shape[0] != n):
        raise ValueError(f"answers must be a (rows x items) array with {n} rows")
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
    _, group_first, group_index = np.unique(both, return_index=True, return_inverse=True)
    group_index = group_index.reshape(-1).astype(np.int32)
    group_sizes = np.bincount(group_index, weights=weights).astype(np.int64)
    row_group = None  # the group of each kept row
    if profiles is not None or answers is not None:
        row_group = group_index[: len(combos)][inverse]
        if moved is not None:
            row_group[moved] = group_index[len(combos) :][inverse[moved]]

    diverse = None
    if answers is not None:
        assert row_group is not None
        group_tuples = np.concatenate([tuples, blank_tuples])[group_first]
        diverse = _diversify(
            row_group,
            group_tuples,
            group_sizes,
            kept_rows,
            out_codes,
            answers,
            missing,
            diversity,
            keys,
        )
        group_sizes = diverse.sizes
        row_group = diverse.row_class[kept_rows]
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
    loss = result.loss
    if diverse is not None:  # step 6b blanked more cells
        for j, h in enumerate(hierarchies):
            original = codes[j][kept_rows]
            newly = diverse.newly_blank[j]
            recodings[j] = replace(
                recodings[j], cells_blanked=recodings[j].cells_blanked + int(newly.sum())
            )
            loss += float(np.sum(1.0 - h.cell_loss(result.maps[j])[original[newly]]))
        fully_blanked = np.append(fully_blanked, diverse.newly_fully_blank)

    show_profile, withheld_rows, withheld_groups = None, 0, 0
    if profiles is not None:
        assert row_group is not None
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
        information_loss=loss / n_answered if n_answered else 0.0,
        profile_withheld_rows=withheld_rows,
        profile_withheld_groups=withheld_groups,
        diversity=None if diverse is None else diversity,
        diversity_classes_generalized=0 if diverse is None else diverse.classes_generalized,
        diversity_cells_blanked=0 if diverse is None else diverse.cells_blanked,
        diversity_items_blanked=0 if diverse is None else int(diverse.item_blanks.sum()),
    )
    return Anonymization(
        keep,
        tuple(out_codes),
        tuple(labels),
        show_profile,
        report,
        row_class=None if diverse is None else diverse.row_class,
        item_blanks=None if diverse is None else diverse.item_blanks,
    )


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


# ------------------------------------------------------------------ l-diversity (step 6)
#: Above this many (class x value) cells per item, present values are found by sorting.
_MAX_PRESENCE_TABLE = 1 << 22


@dataclass(frozen=True, eq=False)
class _Diversity:
    """The outcome of step 6 (see :func:`_diversify`)."""

    row_class: np.ndarray  # final class per row, -1 for rows not kept
    sizes: np.ndarray  # rows per final class
    item_blanks: np.ndarray  # (classes x items) answers blanked (steps 6a, 6c)
    newly_blank: list[np.ndarray]  # per quasi-identifier, kept rows blanked by step 6b
    newly_fully_blank: int  # kept rows whose last shown cell step 6b blanked
    classes_generalized: int
    cells_blanked: int


def _presence(
    column: np.ndarray, cls: np.ndarray, n_classes: int, missing: int
) -> tuple[np.ndarray, np.ndarray]:
    """Bit sets of the values answered in each class (classes x bytes, ``numpy.packbits``).

    Also returns how many answered cells each class has. Values of one- or
    two-byte integers are coded through a lookup table (no sorting).
    """
    if column.dtype.kind in "iu" and column.dtype.itemsize <= 2:
        unsigned = column.view(np.uint8 if column.dtype.itemsize == 1 else np.uint16)
        occurs = np.bincount(unsigned, minlength=1 << (8 * column.dtype.itemsize)) > 0
        blank = int(np.array(missing).astype(column.dtype).view(unsigned.dtype))
        occurs[blank] = False
        width = int(occurs.sum())
        size = n_classes * (width + 1)
        kind = np.int32 if size < 2**31 else np.int64  # half the memory at a million rows
        lookup = np.where(occurs, np.cumsum(occurs) - 1, width).astype(kind)
        lookup[blank] = width  # the last code: unanswered
        pairs = cls.astype(kind, copy=False) * kind(width + 1)
        pairs += lookup[unsigned]
    else:
        answered = column != missing
        _, code = np.unique(column[answered], return_inverse=True)
        width = int(code.max()) + 1 if code.size else 0
        value_code = np.full(column.shape, width, dtype=np.int64)
        value_code[answered] = code.reshape(-1)
        pairs = cls.astype(np.int64) * (width + 1) + value_code
    size = n_classes * (width + 1)
    if size <= _MAX_PRESENCE_TABLE:
        table = np.bincount(pairs, minlength=size).reshape(n_classes, width + 1)
        present = table[:, :width] > 0
        counted = table[:, :width].sum(axis=1)
    else:  # wide scales and many classes: only the pairs that occur
        found, counts = np.unique(pairs, return_counts=True)
        present = np.zeros(size, dtype=bool)
        present[found] = True
        present = present.reshape(n_classes, width + 1)[:, :width]
        answered_pairs = found % (width + 1) < width
        counted = np.bincount(
            found[answered_pairs] // (width + 1),
            weights=counts[answered_pairs],
            minlength=n_classes,
        )
    if width == 0:
        return np.zeros((n_classes, 1), dtype=np.uint8), counted.astype(np.int64)
    return np.packbits(present, axis=1), counted.astype(np.int64)


def _distinct(presence: list[np.ndarray]) -> np.ndarray:
    """Distinct answered values per class and item (classes x items; at most 2**16 - 1)."""
    out = np.empty((len(presence[0]) if presence else 0, len(presence)), dtype=np.uint16)
    for i, p in enumerate(presence):
        np.bitwise_count(p).sum(axis=1, dtype=np.uint16, out=out[:, i])
    return out


#: Step 6b tries, for a failing class, the largest classes of its team as partners.
MAX_PARTNERS = 32


def _partners(
    tuples: np.ndarray, sizes: np.ndarray, movable: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Candidate merges of step 6b: (failing class, partner class) pairs.

    The partners of a class are the :data:`MAX_PARTNERS` largest other classes
    of its team and ``-1``, the team-level tuple (every cell blank).
    """
    teams = tuples[:, 0]
    by_size = np.lexsort((np.arange(teams.size), -sizes, teams))
    team_start = np.searchsorted(teams[by_size], teams[by_size], side="left")
    rank = np.arange(teams.size) - team_start
    candidates = by_size[rank < MAX_PARTNERS]  # sorted by team
    candidate_teams = teams[candidates]
    lo = np.searchsorted(candidate_teams, teams[movable], side="left")
    hi = np.searchsorted(candidate_teams, teams[movable], side="right")
    counts = hi - lo
    first = np.repeat(movable, counts)
    offsets = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    partner = candidates[np.repeat(lo, counts) + offsets]
    keep = partner != first
    first = np.concatenate([first[keep], movable])
    partner = np.concatenate([partner[keep], np.full(movable.size, -1, dtype=partner.dtype)])
    return first, partner


def _diversify(
    row_class: np.ndarray,
    tuples: np.ndarray,
    sizes: np.ndarray,
    kept: np.ndarray | slice,
    codes: list[np.ndarray],
    answers: np.ndarray,
    missing: int,
    diversity: int,
    keys: _Keys,
) -> _Diversity:
    """Step 6: distinct l-diversity of the answers in every class; updates ``codes``.

    ``row_class`` is the class of each kept row (``kept`` selects them), an
    index into ``tuples`` (team code, generalized codes) and ``sizes``. Works
    on the table of classes: the values present in each (class, item) are bit
    sets, which merge by ``or`` when classes merge, so the answers are read
    once.
    """
    n, m = answers.shape[0], len(codes)
    n_items = answers.shape[1]
    cls = row_class
    n_classes = len(tuples)
    tuples = tuples.astype(np.int64, copy=True)
    sizes = sizes.astype(np.int64, copy=True)
    presence = []
    answered_n = np.zeros((n_classes, n_items), dtype=np.int32)  # answered cells
    for i in range(n_items):
        bits, answered_n[:, i] = _presence(answers[:, i][kept], cls, n_classes, missing)
        presence.append(bits)

    # step 6a, whole teams: an item the whole team answered alike is blanked for the
    # team (moving its classes could not help, and would cost every quasi-identifier)
    n_teams = int(tuples[:, 0].max()) + 1 if n_classes else 0
    team_answered = np.zeros((n_teams, n_items), dtype=np.int64)
    np.add.at(team_answered, tuples[:, 0], answered_n)
    team_presence = []
    for p in presence:
        merged_p = np.zeros((n_teams, p.shape[1]), dtype=np.uint8)
        np.bitwise_or.at(merged_p, tuples[:, 0], p)
        team_presence.append(merged_p)
    team_blank = (
        (team_answered > 0) & (_distinct(team_presence) < diversity)
        if n_items
        else np.zeros((n_teams, 0), dtype=bool)
    )
    del team_answered, team_presence

    def failing_of(
        presence_: list[np.ndarray], answered_: np.ndarray, teams_: np.ndarray
    ) -> np.ndarray:
        if n_items == 0:
            return np.zeros((len(answered_), 0), dtype=bool)
        return (answered_ > 0) & (_distinct(presence_) < diversity) & ~team_blank[teams_]

    origin = np.arange(n_classes)  # class of step 5 -> current class
    initial, nonempty = tuples.copy(), sizes > 0
    failing = failing_of(presence, answered_n, tuples[:, 0])
    while m:
        movable = np.flatnonzero(failing.any(axis=1) & (tuples[:, 1:] >= 0).any(axis=1))
        if movable.size == 0:
            break
        first_class, partner = _partners(tuples, sizes, movable)
        real = partner >= 0
        other = np.where(real, partner, 0)
        team_items = team_blank[tuples[first_class, 0]]
        fails = np.zeros(first_class.size, dtype=np.int64)
        for i, p in enumerate(presence):  # failing items of the merged class (6a items pass)
            merged = p[first_class] | np.where(real[:, None], p[other], 0)
            count = answered_n[first_class, i] + np.where(real, answered_n[other, i], 0)
            distinct = np.bitwise_count(merged).sum(axis=1)
            fails += (count > 0) & (distinct < diversity) & ~team_items[:, i]
        cells = tuples[:, 1:].astype(np.int16)  # codes index categories: they fit
        mine = cells[first_class]
        theirs = np.where(real[:, None], cells[other], np.int16(BLANK))
        differ = mine != theirs
        lose_mine = (mine >= 0) & differ
        lose_theirs = (theirs >= 0) & differ
        del cells, mine, theirs, differ
        cost = lose_mine.sum(axis=1) * sizes[first_class]
        cost += lose_theirs.sum(axis=1) * np.where(real, sizes[other], 0)
        # per failing class: fewest failing items, then fewest cells blanked, then the
        # largest partner, then the first
        joined = np.where(real, sizes[other], 0)
        order = np.lexsort((np.arange(first_class.size), -joined, cost, fails, first_class))
        chosen = order[np.r_[True, first_class[order][1:] != first_class[order][:-1]]]
        blank = np.zeros(tuples[:, 1:].shape, dtype=bool)
        np.logical_or.at(blank, first_class[chosen], lose_mine[chosen])
        with_partner = chosen[real[chosen]]
        np.logical_or.at(blank, partner[with_partner], lose_theirs[with_partner])
        tuples[:, 1:][blank] = BLANK
        # merge the classes that now share a tuple
        (merged_keys,) = keys.encode(tuples)
        _, start, regroup = np.unique(merged_keys, return_index=True, return_inverse=True)
        regroup = regroup.reshape(-1)
        n_new = start.size
        tuples = tuples[start]
        sizes = np.bincount(regroup, weights=sizes, minlength=n_new).astype(np.int64)
        new_answered = np.zeros((n_new, n_items), dtype=np.int32)
        np.add.at(new_answered, regroup, answered_n)
        answered_n = new_answered
        for i, p in enumerate(presence):
            new_p = np.zeros((n_new, p.shape[1]), dtype=np.uint8)
            np.bitwise_or.at(new_p, regroup, p)
            presence[i] = new_p
        origin = regroup[origin]
        failing = failing_of(presence, answered_n, tuples[:, 0])
    moved = (initial != tuples[origin]).any(axis=1) & nonempty

    # only classes with every quasi-identifier blank still fail
    item_blanks = failing | team_blank[tuples[:, 0]]
    kept_class = origin.astype(np.int32)[cls]
    row_class = np.full(n, -1, dtype=np.int32)
    row_class[kept] = kept_class
    newly_blank = []
    shown_before = np.zeros(kept_class.size, dtype=bool)
    shown_after = np.zeros(kept_class.size, dtype=bool)
    for j in range(m):
        before = codes[j][kept]
        after = tuples[:, j + 1].astype(codes[j].dtype)[kept_class]
        newly_blank.append((before >= 0) & (after < 0))
        shown_before |= before >= 0
        shown_after |= after >= 0
        codes[j][kept] = after
    cells = int(answered_n[item_blanks].sum(dtype=np.int64))
    return _Diversity(
        row_class=row_class,
        sizes=sizes,
        item_blanks=item_blanks,
        newly_blank=newly_blank,
        newly_fully_blank=int(np.count_nonzero(shown_before & ~shown_after)),
        classes_generalized=int(moved.sum()),
        cells_blanked=cells,
    )
