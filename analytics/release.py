"""When published results may change: the release rule that keeps them from being differenced.

Pure functions on counts and memberships; nothing here reads a database.

A team's results are published as *releases*: snapshots of the team's
responses. Every figure shown (a mean, a count of answers, a profile share) is
computed from a release, so between two releases every view shows the same
figures. Figures are sums over the people in a group, and sums can be
subtracted: the rule below decides when a new release may be published so that
no subtraction, however combined, gives one person's answers.

The rule, in plain words
------------------------
1. *The first release waits for ``threshold`` people.* A figure over fewer
   people says too much about each of them (a team of one is that person), so
   a team is first released when ``threshold`` responses are in
   (:func:`release_due`). A later release under ``threshold`` (after
   erasures) is made but its figures are withheld.
2. *Later releases move in steps of at least ``step`` people.* If a team is
   shown with 5 people and then with 6, the difference of the two sums is the
   sixth person's answers (the *5 -> 6 submit attack*). A new release is
   therefore made only when at least ``step`` people changed since the last
   one, so consecutive releases differ by two people or more and their
   difference is a sum over several people. ``step`` must be at least 2
   (:func:`check_release_settings`): a step of 1 lets anyone difference one
   person.
3. *Erasures count as changes.* Erasing a person does not unpublish the
   figures that already contained them. If a team shown with 6 people were
   shown again with 5 after one erasure, the difference would be the erased
   person's answers (the *6 -> 5 erase attack*). So a person erased from the
   last release counts towards the step exactly like a new response, and until
   the next release the team's frozen figures are left out of any
   recomputation rather than shown one person apart.
4. *No release may isolate anyone.* Steps are not enough on their own: with a
   threshold of 3 and a step of 2, a team released as {a, b, c}, then as
   {a, b, c, d, e} (two new), then as {c, d, e} (two erased) gives
   ``sum(abc) + sum(cde) - sum(abcde) = c``. Each release differed from the
   one before by two people, yet three of them together single out ``c``. In
   general, a person is *isolated* when their answer is an exact linear
   combination of published sums: when the unit vector of that person lies in
   the row space of the membership matrix of every published figure
   (:func:`isolated_members`, exact integer arithmetic). A release that is due
   by rules 1-3 is still refused while publishing it would isolate someone
   (:func:`newly_isolated`); it is made later, when further responses or
   erasures give a candidate that isolates no one. Whether a release is
   refused depends only on who is in which group, never on anyone's answers,
   so the refusal itself reveals nothing.
5. *Overlapping groups.* Where several groups are shown side by side (teams,
   subgroups, an organization), two shown groups whose memberships differ by
   1 to ``threshold - 1`` people give, by subtraction, the figures of a group
   under the threshold. :func:`withheld_overlaps` withholds every group under
   the threshold and, of each such overlapping pair, the smaller group (the
   larger one says more about the organization and hides more people), and
   then, as in rule 4, groups until no one is isolated.

How the service applies it
--------------------------
After every event that changes a team's responses, for each team: build its
:class:`TeamReleaseState`; when :func:`release_due` says yes, the candidate is
the team's present and pending members; if the candidate has at least
``threshold`` members and ``newly_isolated(published, [candidate])`` is not
empty, the release is refused for now (the team keeps its last release, and
rule 3 keeps it out of recomputations if someone in it was erased; the check
runs again at the next event); otherwise it is made, and shown when it has at
least ``threshold`` members.

``published`` holds the membership of every figure shown so far, erased people
included, since their answers are still in the old figures: for one team, its
earlier shown releases. The service must therefore remember who was in each
shown release after an erasure (a stand-in id per erased response is enough;
no answers). Other teams share no members, and an organization total over the
teams currently shown is a sum of published team figures, so neither adds
anything to the check; an organization total that took in a team whose own
figures are withheld would, and must then be passed too.

What is guaranteed
------------------
No published figure, nor any linear combination of them, equals one person's
answers. For release histories (each person is in a run of consecutive
releases) more holds: a person who is not isolated lies on a cycle of the
graph whose nodes are releases and whose edges are people, so shifting the
answers along that cycle by one point keeps every published sum; answers not
at either end of the scale therefore always leave at least two values
possible. Answers at the ends of the scale can be bounded by any sum (a team
of five that sums to 25 on a 1-5 scale answered 5 throughout); that is a
property of publishing sums at all, not of differencing.

Examples
--------
>>> state = TeamReleaseState(released_n=5, present=4, pending=1)
>>> release_due(state, threshold=5, step=2)
True
>>> sorted(isolated_members([{"a", "b", "c"}, {"a", "b", "c", "d", "e"}, {"c", "d", "e"}]))
['c']
>>> sorted(newly_isolated([{"a", "b", "c"}, {"a", "b", "c", "d", "e"}], [{"c", "d", "e", "f"}]))
[]
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "MIN_STEP",
    "MIN_THRESHOLD",
    "TeamReleaseState",
    "check_release_settings",
    "isolated_columns",
    "isolated_members",
    "newly_isolated",
    "published_incidence",
    "release_due",
    "release_note",
    "withheld_overlaps",
]

#: Smallest allowed anonymity threshold: a group of one is that person.
MIN_THRESHOLD = 2
#: Smallest allowed release step: a step of one person can be differenced.
MIN_STEP = 2

Member = TypeVar("Member", bound=Hashable)


# ------------------------------------------------------------------ releases of a team


@dataclass(frozen=True)
class TeamReleaseState:
    """Where a team stands relative to its last release.

    Parameters
    ----------
    released_n : int or None
        Members in the team's last release; None if the team was never released.
    present : int
        Members of that release still present (not erased since); 0 if never released.
    pending : int
        Responses submitted since the last release, not yet released.

    Raises
    ------
    ValueError
        If a count is negative, ``present`` exceeds ``released_n``, or a team
        never released has present members.

    Examples
    --------
    >>> TeamReleaseState(released_n=6, present=5, pending=0).changed
    1
    >>> TeamReleaseState(released_n=None, present=0, pending=3).changed
    3
    """

    released_n: int | None
    present: int
    pending: int

    def __post_init__(self) -> None:
        if self.present < 0 or self.pending < 0:
            raise ValueError(f"counts must not be negative: {self}")
        if self.released_n is None:
            if self.present:
                raise ValueError(f"a team never released has no present members: {self}")
        elif not 0 <= self.present <= self.released_n:
            raise ValueError(f"present must be between 0 and released_n: {self}")

    @property
    def changed(self) -> int:
        """People changed since the last release: erased from it plus pending."""
        erased = 0 if self.released_n is None else self.released_n - self.present
        return erased + self.pending


def release_due(state: TeamReleaseState, *, threshold: int, step: int) -> bool:
    """Whether a team's results may move to a new release (rules 1-3).

    Never released: due when ``pending >= threshold``. Released: due when the
    change since the last release, ``(released_n - present) + pending``, is at
    least ``step``. A due release must still pass :func:`newly_isolated`
    before it is shown.

    Parameters
    ----------
    state : TeamReleaseState
        The team's counts.
    threshold : int
        Anonymity threshold: the fewest people a shown figure may cover.
    step : int
        The fewest changed people between two releases.

    Returns
    -------
    bool

    Examples
    --------
    >>> release_due(TeamReleaseState(None, 0, 4), threshold=5, step=3)
    False
    >>> release_due(TeamReleaseState(None, 0, 5), threshold=5, step=3)
    True
    >>> release_due(TeamReleaseState(5, 5, 2), threshold=5, step=3)
    False
    >>> release_due(TeamReleaseState(5, 4, 2), threshold=5, step=3)  # an erasure counts
    True
    """
    if state.released_n is None:
        return state.pending >= threshold
    return state.changed >= step


def check_release_settings(threshold: int, step: int) -> None:
    """Refuse settings under which the release rule cannot protect anyone.

    Parameters
    ----------
    threshold : int
        Anonymity threshold; at least :data:`MIN_THRESHOLD` (2).
    step : int
        Release step; at least :data:`MIN_STEP` (2).

    Raises
    ------
    ValueError
        With a message naming the setting, its value and why it is refused.

    Examples
    --------
    >>> check_release_settings(5, 3)
    >>> check_release_settings(5, 1)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: RELEASE_STEP must be a whole number of at least 2, not 1: a step of 1 lets ...
    """
    rules = (
        (
            "ANONYMITY_THRESHOLD",
            threshold,
            MIN_THRESHOLD,
            "a group of one person shows that person's answers",
        ),
        (
            "RELEASE_STEP",
            step,
            MIN_STEP,
            "a step of 1 lets anyone difference one person"
            " (two releases one response apart give that response)",
        ),
    )
    for name, value, minimum, why in rules:
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
            raise ValueError(
                f"{name} must be a whole number of at least {minimum}, not {value!r}: {why}."
            )


# ------------------------------------------------------------------ isolation


def published_incidence(
    groups: Iterable[Collection[Member]],
) -> tuple[np.ndarray, tuple[Member, ...]]:
    """The membership matrix of published groups.

    Parameters
    ----------
    groups : iterable of collections
        The members of each published figure.

    Returns
    -------
    incidence : numpy.ndarray
        ``int64`` array, one row per group and one column per person, 1 where
        the person is in the group.
    people : tuple
        The person of each column: sorted when the members can be sorted,
        otherwise in order of first appearance.

    Examples
    --------
    >>> matrix, people = published_incidence([{"b", "a"}, {"b", "c"}])
    >>> people
    ('a', 'b', 'c')
    >>> matrix.tolist()
    [[1, 1, 0], [0, 1, 1]]
    """
    memberships = [frozenset(group) for group in groups]
    seen: dict[Member, None] = {}
    for group in memberships:
        seen.update(dict.fromkeys(group))
    try:
        people = tuple(sorted(seen))  # type: ignore[type-var]
    except TypeError:
        people = tuple(seen)
    column = {person: j for j, person in enumerate(people)}
    incidence = np.zeros((len(memberships), len(people)), dtype=np.int64)
    for i, group in enumerate(memberships):
        incidence[i, [column[person] for person in group]] = 1
    return incidence, people


def isolated_columns(incidence: ArrayLike) -> frozenset[int]:
    """Columns whose single value follows exactly from the rows' sums.

    Column ``p`` is isolated when the unit vector ``e_p`` lies in the row space
    of ``incidence``: some combination of the published sums equals that one
    value. The test is exact (fraction-free Gauss-Jordan elimination on Python
    integers, no floating point). Identical columns are merged first: two
    people in exactly the same groups can swap values unseen, so neither is
    isolated, and the matrix to reduce has one column per distinct membership
    pattern. Groups that share no one (separate teams) are reduced separately.

    Parameters
    ----------
    incidence : array_like
        Two-dimensional, whole-number entries (0/1 for memberships).

    Returns
    -------
    frozenset of int
        Indices of the isolated columns.

    Raises
    ------
    ValueError
        If ``incidence`` is not two-dimensional or has non-integer entries.

    Examples
    --------
    >>> sorted(isolated_columns([[1, 1, 0], [1, 1, 1]]))
    [2]
    >>> sorted(isolated_columns([[1, 1, 0], [0, 1, 1], [1, 0, 1]]))
    [0, 1, 2]
    >>> sorted(isolated_columns([[1, 1, 1, 1], [1, 1, 0, 0]]))
    []
    """
    matrix = np.asarray(incidence)
    if matrix.ndim != 2:
        raise ValueError(f"incidence must be two-dimensional, not {matrix.ndim}-dimensional")
    if matrix.size == 0:
        return frozenset()
    whole = matrix.dtype == np.bool_ or np.issubdtype(matrix.dtype, np.integer)
    if not whole and not (np.all(np.isfinite(matrix)) and np.all(matrix == np.round(matrix))):
        raise ValueError("incidence must have whole-number entries")
    matrix = matrix.astype(np.int64)
    rows = matrix[np.any(matrix != 0, axis=1)]
    if rows.shape[0] == 0:
        return frozenset()
    rows = np.unique(rows, axis=0)  # same row space, fewer rows
    patterns, inverse, counts = np.unique(rows, axis=1, return_inverse=True, return_counts=True)
    inverse = np.asarray(inverse).reshape(-1)
    isolated: set[int] = set()
    for row_block, column_block in _blocks(patterns):
        if np.any(counts[column_block] == 1):
            block = patterns[np.ix_(row_block, column_block)]
            isolated.update(int(column_block[c]) for c in _unit_vectors_in_row_space(block))
    return frozenset(
        int(np.flatnonzero(inverse == pattern)[0]) for pattern in isolated if counts[pattern] == 1
    )


def _blocks(matrix: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """The independent blocks of a matrix without zero rows: (rows, columns) of each.

    Rows sharing a non-zero column are in one block. Separate teams are
    separate blocks, so each is reduced on its own.
    """
    parent = list(range(matrix.shape[1]))

    def root(j: int) -> int:
        while parent[j] != j:
            parent[j] = parent[parent[j]]
            j = parent[j]
        return j

    for row in matrix:
        first, *rest = np.flatnonzero(row).tolist()
        for j in rest:
            parent[root(j)] = root(first)
    column_roots = np.array([root(j) for j in range(matrix.shape[1])])
    row_roots = column_roots[np.argmax(matrix != 0, axis=1)]
    return [
        (np.flatnonzero(row_roots == r), np.flatnonzero(column_roots == r))
        for r in np.unique(row_roots)
    ]


def _unit_vectors_in_row_space(matrix: np.ndarray) -> set[int]:
    """Columns ``c`` with ``e_c`` in the row space of an integer ``matrix`` (exact).

    Fraction-free Gauss-Jordan elimination on Python integers (Bareiss): each
    step multiplies by the new pivot and divides exactly by the previous one,
    so every entry stays a minor of the matrix and nothing is rounded. In the
    reduced form, ``e_c`` reduces to zero exactly when column ``c`` holds a
    pivot whose row has no other non-zero entry.
    """
    reduced = matrix.astype(object)
    n_rows, n_columns = reduced.shape
    pivot_rows: dict[int, int] = {}
    previous = 1
    rank = 0
    for column in range(n_columns):
        candidates = np.flatnonzero(reduced[rank:, column] != 0)
        if candidates.size == 0:
            continue
        pivot = rank + int(candidates[0])
        if pivot != rank:
            reduced[[rank, pivot]] = reduced[[pivot, rank]]
        lead = reduced[rank, column]
        others = np.arange(n_rows) != rank
        reduced[others] = (
            lead * reduced[others] - np.outer(reduced[others, column], reduced[rank])
        ) // previous
        previous = lead
        pivot_rows[column] = rank
        rank += 1
        if rank == n_rows:
            break
    return {
        column for column, row in pivot_rows.items() if np.count_nonzero(reduced[row] != 0) == 1
    }


def isolated_members(groups: Iterable[Collection[Member]]) -> frozenset[Member]:
    """People whose single value follows exactly from the sums of the groups.

    Parameters
    ----------
    groups : iterable of collections
        The members of every published figure.

    Returns
    -------
    frozenset
        The isolated people (see :func:`isolated_columns`).

    Examples
    --------
    >>> sorted(isolated_members([{1, 2, 3, 4, 5}, {1, 2, 3, 4, 5, 6}]))  # 5 -> 6
    [6]
    >>> sorted(isolated_members([{1, 2, 3, 4, 5}, {1, 2, 3, 4, 5, 6, 7}]))
    []
    """
    incidence, people = published_incidence(groups)
    return frozenset(people[j] for j in isolated_columns(incidence))


def newly_isolated(
    published: Iterable[Collection[Member]], new_groups: Iterable[Collection[Member]]
) -> frozenset[Member]:
    """People that publishing ``new_groups`` as well would isolate (rule 4).

    Only people not already isolated by ``published`` count, so an old leak
    (say, from before this rule) does not block every later release.

    Parameters
    ----------
    published : iterable of collections
        The members of every figure published so far, erased people included.
    new_groups : iterable of collections
        The members of the figures about to be published.

    Returns
    -------
    frozenset
        Empty when the new figures may be published.

    Examples
    --------
    >>> history = [{"a", "b", "c"}, {"a", "b", "c", "d", "e"}]
    >>> sorted(newly_isolated(history, [{"c", "d", "e"}]))
    ['c']
    """
    before = [frozenset(group) for group in published]
    after = [*before, *(frozenset(group) for group in new_groups)]
    return isolated_members(after) - isolated_members(before)


# ------------------------------------------------------------------ groups shown together


def withheld_overlaps(groups: Mapping[str, Collection[Hashable]], threshold: int) -> frozenset[str]:
    """Names of the groups to withhold so that no shown group can be differenced.

    Withheld, in order:

    1. every group with fewer than ``threshold`` members;
    2. of any two shown groups whose memberships differ by 1 to
       ``threshold - 1`` members (symmetric difference), the smaller (ties:
       the name sorting later), repeated until stable; withheld groups no
       longer count. Groups with identical membership are not a risk
       (difference 0);
    3. while some person is isolated by the shown groups together
       (:func:`isolated_members`; three groups can isolate someone though no
       two of them overlap too closely), the smallest shown group holding an
       isolated person (ties: the name sorting later).

    Parameters
    ----------
    groups : mapping of str to collections
        Each group's name and members.
    threshold : int
        Anonymity threshold.

    Returns
    -------
    frozenset of str

    Examples
    --------
    >>> groups = {"sales": {1, 2, 3, 4, 5, 6}, "sales+1": {1, 2, 3, 4, 5, 6, 7}, "ops": {8, 9}}
    >>> sorted(withheld_overlaps(groups, threshold=5))
    ['ops', 'sales']
    >>> sorted(withheld_overlaps({"x": {1, 2}, "y": {2, 3}, "z": {1, 3}}, threshold=2))
    ['z']
    """
    if threshold < 1:
        raise ValueError(f"threshold must be at least 1, not {threshold}")
    members = {name: frozenset(group) for name, group in groups.items()}
    # Withholding priority: smallest first; among equal sizes the later name first.
    order = sorted(sorted(members, reverse=True), key=lambda name: len(members[name]))
    withheld = {name for name in order if len(members[name]) < threshold}
    for name in order:
        if name in withheld:
            continue
        # Groups earlier in the order are already decided; one kept there had no
        # risky partner then and withholding more cannot give it one.
        if any(
            other not in withheld and 0 < len(members[name] ^ members[other]) < threshold
            for other in order
        ):
            withheld.add(name)
    while True:
        shown = [name for name in order if name not in withheld]
        isolated = isolated_members(members[name] for name in shown)
        if not isolated:
            return frozenset(withheld)
        withheld.add(next(name for name in shown if members[name] & isolated))


def release_note(threshold: int, step: int, released_on: date | None = None) -> str:
    """The release rule in one paragraph, as reports and dashboards print it.

    Examples
    --------
    >>> "at least 3 answers have arrived" in release_note(5, 3)
    True
    """
    when = f" made on {released_on:%d %B %Y}" if released_on is not None else ""
    return (
        f"These results come from a release of the team's answers{when}, not from live "
        f"answers. A team's results first appear when {threshold} members have answered, "
        f"and then change only when at least {step} answers have arrived or been erased "
        "since the last release, so that comparing two versions of the results never "
        "reveals one person's answers. Answers that arrived since wait for the next release."
    )
