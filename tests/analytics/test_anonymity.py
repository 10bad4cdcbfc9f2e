"""Pseudonyms, k-anonymity, l-diversity and formula neutralization (analytics.anonymity).

k-anonymity is checked with a plain pandas group-by over the generalized
labels, written apart from the code under test.
"""

from __future__ import annotations

import hashlib
import hmac

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.anonymity import (
    BLANK,
    FORMULA_PREFIXES,
    QuasiIdentifier,
    context_quasi_identifiers,
    k_anonymize,
    neutralize,
    pseudonymize,
)
from analytics.instrument import ContextQuestion

ROLE = QuasiIdentifier(
    "role", ("sales", "procurement", "engineering", "management", "other"), ordered=False
)
TENURE = QuasiIdentifier("tenure", ("<1", "1-3", "3-10", "10+"), ordered=True)
WEEK = QuasiIdentifier("week", ("2026-W10", "2026-W11", "2026-W12"), ordered=True)
QIS = [ROLE, TENURE, WEEK]


def _frame(result, teams, qis) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """The kept rows as labels, blanks as '' (a value like any other)."""
    data = {"team": np.asarray(teams)[result.keep]}
    for j, qi in enumerate(qis):
        values = result.values(j)[result.keep]
        data[qi.name] = ["" if v is None else v for v in values]
    return pd.DataFrame(data)


def _check_k(result, teams, qis, k) -> None:  # type: ignore[no-untyped-def]
    frame = _frame(result, teams, qis)
    if len(frame):
        sizes = frame.groupby(["team", *(q.name for q in qis)], dropna=False).size()
        assert sizes.min() >= k
        assert result.report.k_reached == sizes.min()


def _random_data(seed: int, n: int, n_teams: int):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    teams = rng.integers(0, n_teams, n)
    codes = [rng.integers(-1, len(qi.categories), n) for qi in QIS]
    profiles = rng.integers(-1, 3, n)
    return teams, codes, profiles


# ------------------------------------------------------------------ neutralize
@given(st.text())
def test_neutralized_text_never_starts_a_formula(text):
    out = neutralize(text)
    assert not out.startswith(FORMULA_PREFIXES)
    if text.startswith(FORMULA_PREFIXES):
        assert out == "'" + text
    else:
        assert out == text


@pytest.mark.parametrize(
    "payload", ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]
)
def test_known_payloads_are_prefixed(payload):
    assert neutralize(payload) == "'" + payload


# ------------------------------------------------------------------ pseudonyms
def test_pseudonyms_are_hmac_sha256_of_namespace_and_id():
    key = bytes(range(32))
    expected = hmac.new(key, b"response:42", hashlib.sha256).hexdigest()[:16]
    assert pseudonymize([42], key, namespace="response") == [expected]


def test_pseudonyms_depend_on_key_and_namespace():
    ids = list(range(2000))
    a = pseudonymize(ids, b"a" * 32, namespace="response")
    b = pseudonymize(ids, b"b" * 32, namespace="response")
    c = pseudonymize(ids, b"a" * 32, namespace="team")
    assert len(set(a)) == len(ids)
    assert not set(a) & set(b) and not set(a) & set(c)
    assert a == pseudonymize(ids, b"a" * 32, namespace="response")


def test_short_keys_and_lengths_are_refused():
    with pytest.raises(ValueError):
        pseudonymize([1], b"short", namespace="team")
    with pytest.raises(ValueError):
        pseudonymize([1], b"k" * 32, namespace="team", length=4)


# ------------------------------------------------------------------ quasi-identifiers
def test_questions_with_an_other_option_are_unordered():
    role = ContextQuestion("role", "Role", ("sales", "Other"))
    tenure = ContextQuestion("tenure", "Tenure", ("<1", "1+"))
    qis = context_quasi_identifiers([role, tenure])
    assert [(q.name, q.ordered) for q in qis] == [("role", False), ("tenure", True)]
    assert context_quasi_identifiers([tenure], ordered={"tenure": False})[0].ordered is False


# ------------------------------------------------------------------ suppression
def test_small_team_and_its_complement_are_left_out():
    teams = np.array([0] * 40 + [1] * 6 + [2] * 2)
    codes = [np.zeros(48, dtype=int)]
    result = k_anonymize(teams, codes, [TENURE], k=5)
    assert set(np.asarray(teams)[result.keep]) == {0}
    reasons = {s.reason: (s.teams, s.rows) for s in result.report.suppressed}
    assert reasons == {"team under k": (1, 2), "complementary": (1, 6)}


def test_two_small_teams_with_k_rows_together_need_no_complement():
    teams = np.array([0] * 20 + [1] * 3 + [2] * 4)
    result = k_anonymize(teams, [np.zeros(27, dtype=int)], [TENURE], k=5)
    assert result.report.rows_out == 20
    assert [s.reason for s in result.report.suppressed] == ["team under k"]


def test_nothing_changes_when_every_combination_is_frequent():
    teams = np.repeat([0, 1], 40)
    codes = [np.tile(np.repeat([0, 1], 10), 4), np.tile(np.repeat([0, 3], 20), 2)]
    result = k_anonymize(teams, codes, [ROLE, TENURE], k=5)
    assert result.report.information_loss == 0
    assert result.report.suppressed == ()
    for j, original in enumerate(codes):
        labels = result.values(j)
        assert list(labels) == [QIS[j].categories[c] for c in original]


# ------------------------------------------------------------------ generalization
def test_ordered_categories_merge_with_neighbours():
    teams = np.zeros(12, dtype=int)
    codes = [np.array([0] * 5 + [1] * 2 + [2] * 2 + [3] * 3)]
    result = k_anonymize(teams, codes, [TENURE], k=5)
    _check_k(result, teams, [TENURE], 5)
    groups = result.report.recodings[0].groups
    for group in groups:  # merged groups are runs of adjacent categories
        positions = [TENURE.categories.index(c) for c in group]
        assert positions == list(range(positions[0], positions[0] + len(positions)))
    assert any(len(g) > 1 for g in groups)


def test_unordered_categories_merge_into_other():
    teams = np.zeros(12, dtype=int)
    codes = [np.array([0] * 6 + [2] * 3 + [4] * 3)]
    result = k_anonymize(teams, codes, [ROLE], k=5)
    values = result.values(0)
    assert set(values) == {"sales", "other"}
    assert list(values[6:]) == ["other"] * 6


def test_rare_rows_are_blanked_when_merging_costs_more():
    teams = np.zeros(45, dtype=int)
    codes = [np.array([0] * 20 + [1] * 20 + [2] * 5), np.array([0] * 44 + [3])]
    result = k_anonymize(teams, codes, [ROLE, TENURE], k=5)
    _check_k(result, teams, [ROLE, TENURE], 5)
    assert result.report.recodings[1].labels == TENURE.categories
    assert result.values(1)[-1] is None


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(0, 300),
    n_teams=st.integers(1, 12),
    k=st.integers(2, 8),
)
def test_every_output_is_k_anonymous_and_truthful(seed, n, n_teams, k):
    teams, codes, profiles = _random_data(seed, n, n_teams)
    result = k_anonymize(teams, codes, QIS, k=k, profiles=profiles)
    _check_k(result, teams, QIS, k)
    # published teams keep every row; left-out rows are >= k rows from >= 2 teams, or all
    sizes = pd.Series(teams).value_counts()
    kept_teams = set(np.asarray(teams)[result.keep])
    for team in kept_teams:
        assert sizes[team] >= k
        assert int(result.keep[teams == team].sum()) == sizes[team]
    dropped = sizes.drop(list(kept_teams))
    if len(dropped) and kept_teams:
        assert len(dropped) >= 2 and dropped.sum() >= k
    # every shown label covers the original answer
    for j, qi in enumerate(QIS):
        recoding = result.report.recodings[j]
        cover = dict(zip(recoding.labels, recoding.groups, strict=True))
        for value, original in zip(
            result.values(j)[result.keep], codes[j][result.keep], strict=False
        ):
            if value is not None:
                assert original != BLANK and qi.categories[original] in cover[value]
    # l-diversity: no group shows a single profile; shown profiles are the real ones
    frame = _frame(result, teams, QIS)
    frame["profile"] = np.where(result.show_profile[result.keep], profiles[result.keep], -1)
    assert (
        frame["profile"][frame["profile"] >= 0] == profiles[result.keep][frame["profile"] >= 0]
    ).all()
    for _, group in frame.groupby(["team", *(q.name for q in QIS)]):
        shown = set(group["profile"][group["profile"] >= 0])
        assert len(shown) != 1


def test_profiles_of_a_uniform_group_are_withheld():
    teams = np.zeros(10, dtype=int)
    codes = [np.array([0] * 5 + [1] * 5)]
    profiles = np.array([2] * 5 + [0, 1, 0, 1, -1])
    result = k_anonymize(teams, codes, [ROLE], k=5, profiles=profiles)
    assert result.show_profile.tolist() == [False] * 5 + [True] * 4 + [False]
    assert (result.report.profile_withheld_rows, result.report.profile_withheld_groups) == (5, 1)


def test_keys_too_wide_for_int64_fall_back_to_ranks(monkeypatch):
    import analytics.anonymity as anonymity

    teams, codes, profiles = _random_data(5, 400, 6)
    expected = k_anonymize(teams, codes, QIS, k=4, profiles=profiles)
    monkeypatch.setattr(anonymity, "_MAX_RADIX_PRODUCT", 2)
    result = k_anonymize(teams, codes, QIS, k=4, profiles=profiles)
    _check_k(result, teams, QIS, 4)
    assert result.report == expected.report
    for mine, theirs in zip(result.codes, expected.codes, strict=True):
        assert (mine == theirs).all()


def test_many_questions_stay_quick_and_k_anonymous():
    rng = np.random.default_rng(1)
    qis = [QuasiIdentifier(f"q{i}", tuple(str(v) for v in range(12))) for i in range(12)]
    teams = rng.integers(0, 3, 300)
    codes = [rng.integers(-1, 12, 300) for _ in qis]
    result = k_anonymize(teams, codes, qis, k=4)
    _check_k(result, teams, qis, 4)


def test_codes_outside_the_categories_are_refused():
    with pytest.raises(ValueError, match="codes must be"):
        k_anonymize(np.zeros(3, dtype=int), [np.array([0, 1, 9])], [TENURE], k=2)


# ------------------------------------------------------------------ l-diversity of answers
def _shown_answers(result, answers, missing=-1):  # type: ignore[no-untyped-def]
    """The answers as exported: blanked cells become ``missing``."""
    shown = answers.copy()
    blanked = result.blanked_items(np.flatnonzero(result.keep))
    kept = shown[result.keep]
    if blanked is not None:
        kept[blanked] = missing
    return kept


def _check_diverse(result, teams, qis, answers, diversity=2, missing=-1) -> None:  # type: ignore[no-untyped-def]
    frame = _frame(result, teams, qis)
    shown = _shown_answers(result, answers, missing)
    for i in range(answers.shape[1]):
        frame[f"item{i}"] = shown[:, i]
    for _, group in frame.groupby(["team", *(q.name for q in qis)]):
        for i in range(answers.shape[1]):
            values = group[f"item{i}"]
            answered = set(values[values != missing])
            assert not answered or len(answered) >= diversity, (i, group)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(0, 250),
    n_teams=st.integers(1, 8),
    k=st.integers(2, 7),
    n_values=st.integers(1, 4),
    n_items=st.integers(0, 4),
    diversity=st.integers(2, 3),
)
def test_answers_are_l_diverse_in_every_class_and_k_anonymity_holds(
    seed, n, n_teams, k, n_values, n_items, diversity
):
    teams, codes, profiles = _random_data(seed, n, n_teams)
    rng = np.random.default_rng(seed + 1)
    answers = rng.integers(-1, n_values, (n, n_items))  # few values: classes often fail
    result = k_anonymize(
        teams, codes, QIS, k=k, profiles=profiles, answers=answers, missing=-1, diversity=diversity
    )
    _check_k(result, teams, QIS, k)
    _check_diverse(result, teams, QIS, answers, diversity)
    # shown answers are the real ones; blanked cells are counted in the report
    shown = _shown_answers(result, answers)
    kept = answers[result.keep]
    assert ((shown == kept) | (shown == -1)).all()
    assert result.report.diversity_cells_blanked == int(((shown == -1) & (kept != -1)).sum())
    # every shown label still covers the original answer, and the report counts blanks
    for j, qi in enumerate(QIS):
        recoding = result.report.recodings[j]
        cover = dict(zip(recoding.labels, recoding.groups, strict=True))
        values = result.values(j)[result.keep]
        originals = codes[j][result.keep]
        for value, original in zip(values, originals, strict=True):
            if value is not None:
                assert original != BLANK and qi.categories[original] in cover[value]
        blanked = sum(v is None and o != BLANK for v, o in zip(values, originals, strict=True))
        assert recoding.cells_blanked == blanked
    # the profile rule holds on the final classes
    frame = _frame(result, teams, QIS)
    frame["profile"] = np.where(result.show_profile[result.keep], profiles[result.keep], -1)
    for _, group in frame.groupby(["team", *(q.name for q in QIS)]):
        assert len(set(group["profile"][group["profile"] >= 0])) != 1


def test_a_class_answering_alike_joins_a_larger_class():
    """Five people sharing team, tenure and week who all answered 2: the class is merged."""
    teams = np.zeros(15, dtype=int)
    tenure = np.array([0] * 5 + [1] * 5 + [2] * 5)
    week = np.zeros(15, dtype=int)
    answers = np.array([[2]] * 5 + [[1], [2], [3], [4], [5]] * 2)
    plain = k_anonymize(teams, [tenure, week], [TENURE, WEEK], k=5)
    assert plain.values(0).tolist()[:5] == ["<1"] * 5  # k-anonymous, but reveals the answer
    result = k_anonymize(teams, [tenure, week], [TENURE, WEEK], k=5, answers=answers)
    _check_k(result, teams, [TENURE, WEEK], 5)
    _check_diverse(result, teams, [TENURE, WEEK], answers)
    # merged with one neighbour (tenure blanked in both), the third class untouched
    assert result.report.diversity_classes_generalized == 2
    assert result.report.diversity_cells_blanked == 0  # merging was enough
    assert result.blanked_items(np.arange(15)) is None
    assert result.values(0).tolist() == [None] * 10 + ["3-10"] * 5
    assert result.values(1).tolist() == ["2026-W10"] * 15
    assert result.report.recodings[0].cells_blanked == 10


def test_an_item_the_whole_team_answered_alike_is_blanked_for_the_team():
    teams = np.array([0] * 10 + [1] * 10)
    tenure = np.tile(np.repeat([0, 1], 5), 2)
    answers = np.column_stack([np.r_[[4] * 10, np.arange(10) % 5], np.arange(20) % 3])
    result = k_anonymize(teams, [tenure], [TENURE], k=5, answers=answers)
    blanked = result.blanked_items(np.arange(20))
    assert blanked[:10, 0].all() and not blanked[10:, 0].any() and not blanked[:, 1].any()
    assert result.report.diversity_cells_blanked == 10
    assert result.report.diversity_classes_generalized == 0  # tenure is kept
    assert result.values(0).tolist() == ["<1"] * 5 + ["1-3"] * 5 + ["<1"] * 5 + ["1-3"] * 5
    assert result.report.to_dict()["diversity"] == 2


def test_unanswered_cells_are_not_values_and_single_answers_fail():
    teams = np.zeros(10, dtype=int)
    tenure = np.repeat([0, 1], 5)
    answers = np.array([[-1]] * 4 + [[3]] + [[1], [2], [3], [4], [5]])
    result = k_anonymize(teams, [tenure], [TENURE], k=5, answers=answers, missing=-1)
    _check_diverse(result, teams, [TENURE], answers)
    assert result.values(0).tolist() == [None] * 10  # the lone answer's class merged
    assert result.blanked_items(np.arange(10)) is None


def test_without_answers_nothing_about_diversity_is_reported():
    teams, codes, _ = _random_data(3, 100, 3)
    result = k_anonymize(teams, codes, QIS, k=4)
    assert result.report.diversity is None and result.blanked_items(np.arange(100)) is None
    with pytest.raises(ValueError, match="answers must be"):
        k_anonymize(teams, codes, QIS, k=4, answers=np.zeros((3, 2), dtype=int))


def test_diversity_with_rank_keys_matches_radix_keys(monkeypatch):
    import analytics.anonymity as anonymity

    teams, codes, profiles = _random_data(11, 300, 4)
    answers = np.random.default_rng(2).integers(-1, 2, (300, 3))
    expected = k_anonymize(teams, codes, QIS, k=4, profiles=profiles, answers=answers)
    monkeypatch.setattr(anonymity, "_MAX_RADIX_PRODUCT", 2)
    monkeypatch.setattr(anonymity, "_MAX_PRESENCE_TABLE", 0)  # the sorting path too
    result = k_anonymize(teams, codes, QIS, k=4, profiles=profiles, answers=answers)
    assert result.report == expected.report
    for mine, theirs in zip(result.codes, expected.codes, strict=True):
        assert (mine == theirs).all()
    rows = np.flatnonzero(result.keep)
    mine, theirs = result.blanked_items(rows), expected.blanked_items(rows)
    assert (mine is None and theirs is None) or (mine == theirs).all()


def test_small_integer_answers_take_the_lookup_path_with_the_same_result():
    teams, codes, _ = _random_data(12, 400, 5)
    answers = np.random.default_rng(4).integers(-1, 3, (400, 4))
    expected = k_anonymize(teams, codes, QIS, k=4, answers=answers, missing=-1)
    small = np.where(answers < 0, -128, answers * 40 - 7).astype(np.int8)  # same partition
    result = k_anonymize(teams, codes, QIS, k=4, answers=small, missing=-128)
    assert result.report == expected.report
    wide = np.where(answers < 0, -1, answers * 10_000_000).astype(np.int64)  # sorting path
    assert k_anonymize(teams, codes, QIS, k=4, answers=wide, missing=-1).report == expected.report
