"""The release rule protects individuals (analytics.release).

An :class:`Organization` below replays what the service does: after every
event (a submit, an erasure) each team's :class:`TeamReleaseState` is built
from its history, and a due release is published unless it would isolate
someone. Every figure ever published is collected: each shown team release and
the organization total over the teams currently shown. Two independent checks
then look for a person whose answer can be recovered:

* *linear algebra*: ``e_p`` in the row space of the published memberships,
  tested with ``numpy.linalg.matrix_rank`` (not with the module's own exact
  elimination);
* *brute force*: with true answers inside the 1-5 scale, every assignment of
  1-5 to the people involved that reproduces every published sum; each
  person must keep at least two possible values.

The negative controls show that the same checks catch the attacks of issue
#13 under naive rules, and that steps alone (without the isolation check)
are not enough.
"""

from __future__ import annotations

import doctest
import itertools
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

import analytics.release
from analytics.release import (
    TeamReleaseState,
    check_release_settings,
    isolated_columns,
    isolated_members,
    newly_isolated,
    published_incidence,
    release_due,
    withheld_overlaps,
)

SCALE = range(1, 6)  # the answer domain
INTERIOR = (2, 3, 4)  # true answers, away from the ends of the scale
FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ------------------------------------------------------------------ independent checks


def incidence_of(groups: Sequence[Collection[int]]) -> tuple[np.ndarray, list[int]]:
    """Rows = groups, columns = the people in any group (sorted)."""
    people = sorted(set().union(*groups)) if groups else []
    column = {p: j for j, p in enumerate(people)}
    matrix = np.zeros((len(groups), len(people)), dtype=np.int64)
    for i, group in enumerate(groups):
        for p in group:
            matrix[i, column[p]] = 1
    return matrix, people


def rank_isolated(matrix: np.ndarray) -> set[int]:
    """Columns p with e_p in the row space: adding e_p as a row keeps the rank."""
    if matrix.size == 0:
        return set()
    rank = np.linalg.matrix_rank(matrix.astype(float))
    isolated = set()
    for p in range(matrix.shape[1]):
        unit = np.zeros((1, matrix.shape[1]))
        unit[0, p] = 1
        if np.linalg.matrix_rank(np.vstack([matrix, unit])) == rank:
            isolated.add(p)
    return isolated


def isolated_people(groups: Sequence[Collection[int]]) -> set[int]:
    matrix, people = incidence_of(groups)
    return {people[j] for j in rank_isolated(matrix)}


@lru_cache(maxsize=8)
def every_assignment(n: int) -> np.ndarray:
    """All of SCALE**n as an (5**n, n) array."""
    return np.array(list(itertools.product(SCALE, repeat=n)), dtype=np.int64).reshape(-1, n)


def possible_values(groups: Sequence[Collection[int]], truth: dict[int, int]) -> dict[int, set]:
    """For each person in a group, the values some assignment matching every sum gives them."""
    matrix, people = incidence_of(groups)
    if not people:
        return {}
    sums = matrix @ np.array([truth[p] for p in people])
    grid = every_assignment(len(people))
    consistent = grid[np.all(grid @ matrix.T == sums, axis=1)]
    return {p: set(np.unique(consistent[:, j]).tolist()) for j, p in enumerate(people)}


def pinned_people(groups: Sequence[Collection[int]], truth: dict[int, int]) -> set[int]:
    return {p for p, values in possible_values(groups, truth).items() if len(values) < 2}


# ------------------------------------------------------------------ the service, replayed


@dataclass
class Team:
    last: frozenset[int] | None = None  # members of the last release made
    present: set[int] = field(default_factory=set)  # of those, not erased since
    pending: set[int] = field(default_factory=set)  # submitted since, not released
    releases: list[frozenset[int]] = field(default_factory=list)
    shown: list[bool] = field(default_factory=list)

    def state(self) -> TeamReleaseState:
        return TeamReleaseState(
            released_n=None if self.last is None else len(self.last),
            present=len(self.present),
            pending=len(self.pending),
        )


class Organization:
    """Teams, their releases and every figure published, under one release rule.

    ``due`` replaces :func:`release_due` (negative controls); ``guard`` turns
    the isolation check (rule 4) on or off. ``eager``: the procedure runs after
    every event (the service while a round is open); otherwise only at each
    ``("release", ...)`` event (imports, a round closing, releases held while
    open), so a release may take in far more than ``step`` changes.
    """

    def __init__(
        self,
        n_teams: int,
        threshold: int,
        step: int,
        *,
        due: Callable[[TeamReleaseState], bool] | None = None,
        guard: bool = True,
        eager: bool = True,
    ) -> None:
        self.eager = eager
        self.threshold = threshold
        self.due = due or (lambda state: release_due(state, threshold=threshold, step=step))
        self.guard = guard
        self.teams = [Team() for _ in range(n_teams)]
        self.published: list[frozenset[int]] = []
        self.people = 0
        self.refused = 0

    # events
    def submit(self, team: int) -> int:
        person = self.people
        self.people += 1
        self.teams[team % len(self.teams)].pending.add(person)
        if self.eager:
            self.procedure()
        return person

    def erase(self, team: int, index: int) -> int | None:
        members = self.teams[team % len(self.teams)]
        current = sorted(members.present | members.pending)
        if not current:
            return None
        person = current[index % len(current)]
        members.present.discard(person)
        members.pending.discard(person)
        if self.eager:
            self.procedure()
        return person

    def seed_release(self, team: int, n: int) -> None:
        """A first release of n people at once (as the migration makes)."""
        members = self.teams[team]
        members.pending.update(range(self.people, self.people + n))
        self.people += n
        self._release(members)
        self._publish_org_total()

    # the service's procedure
    def procedure(self) -> None:
        for members in self.teams:
            if not self.due(members.state()):
                continue
            candidate = frozenset(members.present | members.pending)
            shown = len(candidate) >= self.threshold
            # As the service does: the team's own earlier shown releases only (other
            # teams share no one; the org totals are sums of shown team releases).
            # The checks below still look at everything published.
            history = [r for r, s in zip(members.releases, members.shown, strict=True) if s]
            if shown and self.guard and newly_isolated(history, [candidate]):
                self.refused += 1
                continue
            self._release(members)
        self._publish_org_total()

    def _release(self, members: Team) -> None:
        candidate = frozenset(members.present | members.pending)
        members.last = candidate
        members.present, members.pending = set(candidate), set()
        members.releases.append(candidate)
        members.shown.append(len(candidate) >= self.threshold)
        if members.shown[-1]:
            self._publish(candidate)

    def _publish_org_total(self) -> None:
        """The org-wide norm over the teams shown now (erased-since teams left out)."""
        total = frozenset().union(
            *(
                m.last
                for m in self.teams
                if m.last is not None and m.shown[-1] and m.present == m.last
            )
        )
        if total:
            self._publish(total)

    def _publish(self, group: frozenset[int]) -> None:
        if group not in self.published:
            self.published.append(group)

    def play(self, events: Sequence[tuple[str, int, int]]) -> Organization:
        for kind, team, index in events:
            if kind == "submit":
                self.submit(team)
            elif kind == "erase":
                self.erase(team, index)
            else:
                self.procedure()
        return self


def bursts_to_events(
    bursts: list[tuple[int, int, int, int]],
) -> list[tuple[str, int, int]]:
    """(team, submits, erasures, which) bursts as single events, each burst then a release."""
    return [
        event
        for team, submits, erasures, which in bursts
        for event in [("submit", team, 0)] * submits
        + [("erase", team, which)] * erasures
        + [("release", team, 0)]
    ]


#: Any sequence of events, drawn as bursts: a team gains some people, then loses
#: some (``which`` picks among its current members, oldest first; 0 erases the
#: oldest, the people of its earliest releases). Bursts of one event each give
#: every interleaving; longer bursts reach the grow-then-shrink histories that
#: differencing needs far more often than single random events do.
EVENTS = st.lists(
    st.tuples(
        st.integers(0, 2),
        st.integers(0, 8),
        st.integers(0, 8),
        st.one_of(st.just(0), st.integers(0, 9)),
    ),
    min_size=1,
    max_size=10,
).map(bursts_to_events)


def at_most_submits(events: list[tuple[str, int, int]], n: int) -> list[tuple[str, int, int]]:
    """The events up to the n-th submit (so at most n people ever take part)."""
    kept, submits = [], 0
    for event in events:
        if event[0] == "submit":
            if submits == n:
                break
            submits += 1
        kept.append(event)
    return kept


# ------------------------------------------------------------------ release_due, settings


@pytest.mark.parametrize(
    ("state", "threshold", "step", "due"),
    [
        (TeamReleaseState(None, 0, 0), 5, 3, False),
        (TeamReleaseState(None, 0, 4), 5, 3, False),
        (TeamReleaseState(None, 0, 5), 5, 3, True),
        (TeamReleaseState(None, 0, 9), 5, 3, True),
        (TeamReleaseState(5, 5, 0), 5, 3, False),
        (TeamReleaseState(5, 5, 2), 5, 3, False),
        (TeamReleaseState(5, 5, 3), 5, 3, True),
        (TeamReleaseState(6, 5, 0), 5, 2, False),  # one erasure: 6 -> 5 must not happen
        (TeamReleaseState(6, 4, 0), 5, 2, True),  # two erasures: a release (of 4, withheld)
        (TeamReleaseState(6, 5, 1), 5, 2, True),  # an erasure and a submit
        (TeamReleaseState(5, 0, 0), 5, 2, True),  # everyone erased
        (TeamReleaseState(0, 0, 1), 5, 2, False),  # an empty release, then one submit
    ],
)
def test_release_due(state: TeamReleaseState, threshold: int, step: int, due: bool) -> None:
    assert release_due(state, threshold=threshold, step=step) is due


def test_release_state_changed_counts_erasures_and_pending() -> None:
    assert TeamReleaseState(6, 4, 3).changed == 5
    assert TeamReleaseState(None, 0, 3).changed == 3


@pytest.mark.parametrize(
    ("released_n", "present", "pending"),
    [(None, 1, 0), (5, 6, 0), (5, -1, 0), (5, 5, -1), (None, 0, -2)],
)
def test_release_state_refuses_impossible_counts(
    released_n: int | None, present: int, pending: int
) -> None:
    with pytest.raises(ValueError, match=r"present|negative"):
        TeamReleaseState(released_n, present, pending)


@pytest.mark.parametrize(("threshold", "step"), [(2, 2), (5, 3), (5, 2), (3, 10)])
def test_check_release_settings_accepts(threshold: int, step: int) -> None:
    check_release_settings(threshold, step)


@pytest.mark.parametrize(
    ("threshold", "step", "message"),
    [
        (5, 1, r"RELEASE_STEP must be a whole number of at least 2, not 1: a step of 1 lets"),
        (5, 0, r"RELEASE_STEP .* not 0"),
        (5, -3, r"RELEASE_STEP .* not -3"),
        (1, 3, r"ANONYMITY_THRESHOLD must be a whole number of at least 2, not 1"),
        (0, 3, r"ANONYMITY_THRESHOLD .* not 0"),
        (5, 2.5, r"RELEASE_STEP .* not 2.5"),
        (5, "3", r"RELEASE_STEP .* not '3'"),
        (True, 3, r"ANONYMITY_THRESHOLD .* not True"),
    ],
)
def test_check_release_settings_refuses(threshold: object, step: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_release_settings(threshold, step)  # type: ignore[arg-type]


# ------------------------------------------------------------------ isolation helpers


def test_published_incidence() -> None:
    matrix, people = published_incidence([{3, 1}, {1, 2}, set()])
    assert people == (1, 2, 3)
    assert matrix.tolist() == [[1, 0, 1], [1, 1, 0], [0, 0, 0]]
    assert matrix.dtype == np.int64


def test_published_incidence_unsortable_people_keep_first_appearance() -> None:
    _, people = published_incidence([["b", 1], [2]])
    assert set(people) == {"b", 1, 2}
    assert people[-1] == 2


def test_isolated_members_of_the_issue_attacks() -> None:
    assert isolated_members([set(range(5)), set(range(6))]) == {5}  # 5 -> 6 submit
    assert isolated_members([set(range(6)), set(range(1, 6))]) == {0}  # 6 -> 5 erase
    assert isolated_members([set(range(5)), set(range(7))]) == frozenset()  # a step of 2
    assert isolated_members([{"a", "b", "c"}, {"a", "b", "c", "d", "e"}, {"c", "d", "e"}]) == {"c"}
    assert isolated_members([]) == frozenset()


@pytest.mark.parametrize(
    ("matrix", "isolated"),
    [
        ([[1, 1]], set()),
        ([[1, 0]], {0}),
        ([[0, 0]], set()),
        ([[1, 1, 1], [1, 1, 1]], set()),
        ([[1, 1, 0], [0, 1, 1], [1, 0, 1]], {0, 1, 2}),  # a triangle
        ([[1, 1, 0, 0], [0, 0, 1, 1], [1, 1, 1, 1]], set()),
        ([[2, 2, 0], [1, 1, 1]], {2}),  # whole numbers other than 0/1
        (np.ones((0, 3)), set()),
        ([[True, False]], {0}),
        ([[1.0, 1.0], [0.0, 1.0]], {0, 1}),
    ],
)
def test_isolated_columns(matrix: object, isolated: set[int]) -> None:
    assert isolated_columns(matrix) == isolated  # type: ignore[arg-type]


@pytest.mark.parametrize("matrix", [[1, 0], [[0.5, 1]], [[np.nan, 1]], [[[1]]]])
def test_isolated_columns_refuses(matrix: object) -> None:
    with pytest.raises(ValueError, match=r"two-dimensional|whole-number"):
        isolated_columns(matrix)  # type: ignore[arg-type]


@FAST
@given(
    st.integers(1, 7).flatmap(
        lambda n_cols: st.lists(
            st.lists(st.integers(0, 1), min_size=n_cols, max_size=n_cols), min_size=1, max_size=8
        )
    )
)
def test_isolated_columns_agrees_with_the_rank_test(rows: list[list[int]]) -> None:
    matrix = np.array(rows, dtype=np.int64)
    assert isolated_columns(matrix) == rank_isolated(matrix)


def test_newly_isolated_ignores_old_leaks() -> None:
    leaked = [set(range(5)), set(range(6))]  # 5 is already isolated
    assert newly_isolated(leaked, [set(range(8))]) == frozenset()
    assert newly_isolated(leaked, [set(range(7))]) == {6}
    assert newly_isolated([], [{1, 2}]) == frozenset()


# ------------------------------------------------------------------ the attacks of issue #13


def test_naive_step_of_one_lets_the_5_to_6_submit_attack_through() -> None:
    naive = Organization(1, 5, 1, due=lambda s: release_due(s, threshold=5, step=1), guard=False)
    naive.play([("submit", 0, 0)] * 6)
    assert naive.teams[0].releases == [frozenset(range(5)), frozenset(range(6))]
    assert isolated_people(naive.published) == {5}
    truth = dict.fromkeys(range(6), 3)
    assert pinned_people(naive.published, truth) == {5}

    safe = Organization(1, 5, 2).play([("submit", 0, 0)] * 6)
    assert safe.teams[0].releases == [frozenset(range(5))]  # the sixth waits for a seventh
    assert isolated_people(safe.published) == set()
    assert pinned_people(safe.published, truth) == set()


def test_naive_release_after_each_erasure_lets_the_6_to_5_erase_attack_through() -> None:
    def after_every_erasure(state: TeamReleaseState) -> bool:
        return release_due(state, threshold=5, step=2) or state.changed >= 1

    naive = Organization(1, 5, 2, due=after_every_erasure, guard=False)
    naive.seed_release(0, 6)
    erased = naive.erase(0, 0)
    assert naive.teams[0].releases == [frozenset(range(6)), frozenset(range(1, 6))]
    assert isolated_people(naive.published) == {erased}  # the erased person's answers
    truth = dict.fromkeys(range(6), 4)
    assert pinned_people(naive.published, truth) == {erased}

    safe = Organization(1, 5, 2)
    safe.seed_release(0, 6)
    safe.erase(0, 0)
    assert safe.teams[0].releases == [frozenset(range(6))]  # one change is not a step
    safe.erase(0, 0)
    assert safe.teams[0].shown == [True, False]  # two are; the release of 4 is withheld
    assert isolated_people(safe.published) == set()
    assert pinned_people(safe.published, truth) == set()


COUNT_RULE_ATTACK = [("submit", 0, 0)] * 5 + [("erase", 0, 0), ("erase", 0, 0)]


def test_steps_alone_do_not_protect_three_releases_isolate_one_person() -> None:
    """abc, then abcde, then cde (two erased): each step is 2, yet c = abc + cde - abcde."""
    unguarded = Organization(1, 3, 2, guard=False).play(COUNT_RULE_ATTACK)
    assert unguarded.teams[0].releases == [
        frozenset({0, 1, 2}),
        frozenset({0, 1, 2, 3, 4}),
        frozenset({2, 3, 4}),
    ]
    assert isolated_people(unguarded.published) == {2}
    assert pinned_people(unguarded.published, dict.fromkeys(range(5), 3)) == {2}

    guarded = Organization(1, 3, 2).play(COUNT_RULE_ATTACK)
    assert guarded.refused == 1
    assert guarded.teams[0].releases == [frozenset({0, 1, 2}), frozenset({0, 1, 2, 3, 4})]
    guarded.submit(0)  # cdef isolates no one: released
    assert guarded.teams[0].releases[-1] == frozenset({2, 3, 4, 5})
    assert isolated_people(guarded.published) == set()
    assert pinned_people(guarded.published, dict.fromkeys(range(6), 3)) == set()


DEFAULT_SETTINGS_ATTACK = (
    [("submit", 0, 0)] * 8  # 0-4, then 0-7
    + [("erase", 0, 0)] * 3  # 3-7: 0-4 + 3-7 - 0-7 = {3, 4}
    + [("submit", 0, 0)] * 3  # 3-10
    + [("erase", 0, 0)] * 3  # 6-10: 3-7 + 6-10 - 3-10 = {6, 7}; 3-7 - {3, 4} - {6, 7} = {5}
)


def test_steps_alone_do_not_protect_at_the_default_settings() -> None:
    """Threshold 5, step 3: {3, 4} and {6, 7} come out by differencing, then {5}."""
    unguarded = Organization(1, 5, 3, guard=False).play(DEFAULT_SETTINGS_ATTACK)
    assert len(unguarded.teams[0].releases) == 5
    assert isolated_people(unguarded.published) == {5}

    guarded = Organization(1, 5, 3).play(DEFAULT_SETTINGS_ATTACK)
    assert guarded.refused >= 1
    assert isolated_people(guarded.published) == set()


# ------------------------------------------------------------------ properties of the rule


def check_no_one_isolated(org: Organization, threshold: int, step: int) -> None:
    """Property 1, and the shape of the releases the rule made."""
    assert isolated_people(org.published) == set(), org.published
    for team in org.teams:
        for release, shown in zip(team.releases, team.shown, strict=True):
            assert shown == (len(release) >= threshold)
        if team.releases:
            assert len(team.releases[0]) >= threshold
        for before, after in itertools.pairwise(team.releases):
            assert len(before ^ after) >= step  # consecutive releases are a step apart
    assert all(len(group) >= threshold for group in org.published)


def check_two_possible_answers(org: Organization, truth: list[int]) -> None:
    """Property 2: every person keeps at least two answers that fit every published sum."""
    assert org.people <= len(truth)
    for person, possible in possible_values(org.published, dict(enumerate(truth))).items():
        assert truth[person] in possible
        assert len(possible) >= 2, (person, possible, org.published)


CONFIGURATIONS = {
    "n_teams": st.integers(1, 3),
    "threshold": st.integers(2, 5),
    "step": st.integers(2, 3),
    "events": EVENTS,
    "eager": st.booleans(),
}
SMALL_CONFIGURATIONS = {
    "n_teams": st.integers(1, 3),
    "threshold": st.integers(2, 4),
    "step": st.integers(2, 3),
    "events": EVENTS.map(lambda events: at_most_submits(events, 7)),
    "truth": st.lists(st.sampled_from(INTERIOR), min_size=7, max_size=7),
    "eager": st.booleans(),
}


@FAST
@given(**CONFIGURATIONS)
@example(n_teams=1, threshold=3, step=2, events=COUNT_RULE_ATTACK, eager=True)
@example(n_teams=1, threshold=5, step=3, events=DEFAULT_SETTINGS_ATTACK, eager=True)
@example(
    n_teams=2, threshold=5, step=3, events=[("submit", t % 2, 0) for t in range(30)], eager=True
)
def test_no_sequence_of_submits_and_erasures_isolates_anyone(
    n_teams: int, threshold: int, step: int, events: list[tuple[str, int, int]], eager: bool
) -> None:
    org = Organization(n_teams, threshold, step, eager=eager).play(events)
    check_no_one_isolated(org, threshold, step)


@FAST
@given(**SMALL_CONFIGURATIONS)
@example(n_teams=1, threshold=3, step=2, events=COUNT_RULE_ATTACK, truth=[3] * 7, eager=True)
@example(
    n_teams=1,
    threshold=3,
    step=2,
    events=COUNT_RULE_ATTACK,
    truth=[2, 4, 4, 2, 2, 4, 3],
    eager=True,
)
def test_brute_force_every_person_keeps_two_possible_answers(
    n_teams: int,
    threshold: int,
    step: int,
    events: list[tuple[str, int, int]],
    truth: list[int],
    eager: bool,
) -> None:
    org = Organization(n_teams, threshold, step, eager=eager).play(events)
    check_two_possible_answers(org, truth)


UNGUARDED_SEARCH = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # stop at the first failure, no shrinking
    suppress_health_check=[HealthCheck.too_slow],
)


def test_the_linear_property_fails_without_the_isolation_check() -> None:
    """Negative control: the same search and check, with rule 4 off, find someone isolated."""

    @UNGUARDED_SEARCH
    @given(**CONFIGURATIONS)
    def unguarded(n_teams: int, threshold: int, step: int, events: list, eager: bool) -> None:
        org = Organization(n_teams, threshold, step, guard=False, eager=eager).play(events)
        check_no_one_isolated(org, threshold, step)

    with pytest.raises(AssertionError):
        unguarded()


def test_the_brute_force_property_fails_without_the_isolation_check() -> None:
    """Negative control: the brute force, with rule 4 off, pins someone's answer."""

    @UNGUARDED_SEARCH
    @given(**SMALL_CONFIGURATIONS)
    def unguarded(
        n_teams: int, threshold: int, step: int, events: list, truth: list, eager: bool
    ) -> None:
        org = Organization(n_teams, threshold, step, guard=False, eager=eager).play(events)
        check_two_possible_answers(org, truth)

    with pytest.raises(AssertionError):
        unguarded()


@pytest.mark.parametrize("attack", ["submit", "erase"])
def test_the_properties_fail_under_a_step_of_one(attack: str) -> None:
    """Negative control: releasing after every change fails both checks at once."""
    naive = Organization(1, 5, 1, due=lambda s: release_due(s, threshold=5, step=1), guard=False)
    if attack == "submit":
        naive.play([("submit", 0, 0)] * 6)  # 5 -> 6
    else:
        naive.seed_release(0, 6)
        naive.erase(0, 3)  # 6 -> 5
    with pytest.raises(AssertionError):
        check_no_one_isolated(naive, 5, 1)
    with pytest.raises(AssertionError):
        check_two_possible_answers(naive, [3] * 7)


# ------------------------------------------------------------------ withheld_overlaps


def test_withheld_overlaps_small_groups_and_close_pairs() -> None:
    groups = {
        "sales": set(range(6)),
        "sales+1": set(range(7)),  # one more than sales: the smaller, sales, goes
        "ops": {10, 11, 12},  # under the threshold
        "eng": set(range(20, 30)),
    }
    assert withheld_overlaps(groups, threshold=5) == {"sales", "ops"}


def test_withheld_overlaps_identical_groups_are_no_risk() -> None:
    groups = {"a": set(range(6)), "b": set(range(6)), "c": set(range(10, 20))}
    assert withheld_overlaps(groups, threshold=5) == frozenset()


def test_withheld_overlaps_ties_withhold_the_name_sorting_later() -> None:
    groups = {"alpha": {1, 2, 3, 4, 5}, "beta": {1, 2, 3, 4, 6}}
    assert withheld_overlaps(groups, threshold=3) == {"beta"}
    assert withheld_overlaps({"b": groups["alpha"], "a": groups["beta"]}, 3) == {"b"}


def test_withheld_overlaps_withheld_groups_no_longer_count() -> None:
    # a (5) is close to b (6); once a is withheld, b (6) and c (9) differ by 3: both stay.
    groups = {"a": set(range(5)), "b": set(range(6)), "c": set(range(9))}
    assert withheld_overlaps(groups, threshold=3) == {"a"}
    # a chain of one-apart groups keeps only the largest
    chain = {f"g{n}": set(range(n)) for n in range(5, 9)}
    assert withheld_overlaps(chain, threshold=3) == {"g5", "g6", "g7"}


def test_withheld_overlaps_three_groups_that_isolate_someone() -> None:
    triangle = {"x": {1, 2}, "y": {2, 3}, "z": {1, 3}}  # no pair closer than 2
    assert withheld_overlaps(triangle, threshold=2) == {"z"}
    groups = {"abc": {1, 2, 3}, "abcde": {1, 2, 3, 4, 5}, "cde": {3, 4, 5}}
    assert withheld_overlaps(groups, threshold=2) == {"cde"}


def test_withheld_overlaps_edge_cases() -> None:
    assert withheld_overlaps({}, threshold=5) == frozenset()
    assert withheld_overlaps({"empty": set()}, threshold=5) == {"empty"}
    assert withheld_overlaps({"one": {1}}, threshold=1) == {"one"}  # isolated: withheld
    with pytest.raises(ValueError, match="threshold"):
        withheld_overlaps({"a": {1}}, threshold=0)


GROUPS = st.dictionaries(
    st.sampled_from("abcdefgh"), st.frozensets(st.integers(0, 11), max_size=10), max_size=8
)


@FAST
@given(groups=GROUPS, threshold=st.integers(2, 5))
def test_withheld_overlaps_leaves_no_shown_group_to_difference(
    groups: dict[str, frozenset[int]], threshold: int
) -> None:
    withheld = withheld_overlaps(groups, threshold)
    assert withheld <= groups.keys()
    shown = {name: members for name, members in groups.items() if name not in withheld}
    assert all(len(members) >= threshold for members in shown.values())
    for a, b in itertools.combinations(shown.values(), 2):
        assert len(a ^ b) == 0 or len(a ^ b) >= threshold
    assert isolated_people(list(shown.values())) == set()
    # nothing is withheld without a reason: every withheld group is small, close to
    # another group, or holds someone isolated (isolation only grows with more groups,
    # so isolated among the groups shown then means isolated among all large groups)
    for name in withheld:
        members = groups[name]
        assert (
            len(members) < threshold
            or any(0 < len(members ^ other) < threshold for other in groups.values())
            or members & isolated_people([g for g in groups.values() if len(g) >= threshold])
        )


# ------------------------------------------------------------------ documentation


def test_module_examples_run() -> None:
    result = doctest.testmod(analytics.release, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 10
    assert result.failed == 0
