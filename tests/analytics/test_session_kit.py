"""Session kit: agenda from the diagnosis as it is, the deal worksheet, commitment follow-up."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.advice import load_advice
from analytics.diagnosis import diagnose_round
from analytics.gap import BlockerGap, GapAnalysis, PairPlay
from analytics.instrument_parser import load_default_instrument
from analytics.kit_schema import load_kit
from analytics.session_kit import (
    CommitmentRecord,
    build_agenda,
    build_worksheet,
    commitment_followup,
    focus_blockers,
    related_blockers,
)
from analytics.synthetic import simulate_responses
from analytics.trend import BlockerChange

KIT = load_kit()
ADVICE = load_advice()


@pytest.fixture(scope="module")
def teams():  # type: ignore[no-untyped-def]
    instrument = load_default_instrument()
    sim = simulate_responses(
        instrument,
        n_respondents=240,
        teams=6,
        random_state=0,
        team_effects={"team-01": {"trust": 1.2, "fixed_pie": 1.0}, "team-02": {"power": 1.0}},
    )
    return diagnose_round(sim.data, instrument).teams


def _gap(plays: tuple[PairPlay, ...] = (), blockers: tuple[BlockerGap, ...] = ()) -> GapAnalysis:
    return GapAnalysis(
        team_n=40, rater_n=6, blockers=blockers, both_sides=(), split_counterparty=False,
        plays=plays, shared=True,
    )  # fmt: skip


def test_agenda_uses_the_diagnosis_main_blockers_and_plays(teams) -> None:  # type: ignore[no-untyped-def]
    team = teams["team-01"]
    assert team.top_blockers[:2] == ("trust", "fixed_pie")  # the fixture's premise
    agenda = build_agenda(team, None, [])
    kinds = [item.kind for item in agenda.items]
    assert kinds[0] == "opening" and kinds[-2:] == ["checklist", "commitments"]
    assert [i.ref for i in agenda.items if i.kind == "blocker"] == list(team.top_blockers[:2])
    first = next(i for i in agenda.items if i.kind == "blocker")
    assert first.title == KIT.session_kit.blocker.title.format(name=ADVICE.blocker("trust").name)
    practise_first = [p.id for p in team.plays_to_practise_first]
    assert list(agenda.plays) == practise_first
    drills = [i for i in agenda.items if i.kind == "drill"]
    assert [d.ref for d in drills] == practise_first
    assert drills[0].steps == KIT.drill(practise_first[0]).steps
    assert 60 <= agenda.total_minutes <= 90
    assert agenda.total_minutes == sum(i.minutes for i in agenda.items)


def test_pair_plays_add_drills_within_the_limits(teams) -> None:  # type: ignore[no-untyped-def]
    team = teams["team-01"]
    plays = tuple(PairPlay(p, p, "r", "why") for p in ("meso", "post_settlement", "logrolling"))
    agenda = build_agenda(team, _gap(plays), [])
    expected = list(dict.fromkeys([p.id for p in team.plays_to_practise_first] + ["meso"]))
    expected += ["post_settlement", "logrolling"]
    assert len(agenda.plays) <= KIT.session_kit.max_drills
    assert list(agenda.plays) == expected[: len(agenda.plays)]
    assert agenda.total_minutes <= KIT.session_kit.max_total


def test_tentative_blocker_is_marked(teams) -> None:  # type: ignore[no-untyped-def]
    team = teams["team-03"]
    assert team.flags[team.top_blockers[0]].level == "tentative"
    agenda = build_agenda(team, None, [])
    item = next(i for i in agenda.items if i.kind == "blocker")
    assert KIT.session_kit.tentative_step in item.steps
    assert focus_blockers(team).tentative == (team.top_blockers[0],)


def test_no_blocker_stands_out_uses_the_one_the_report_names(teams) -> None:  # type: ignore[no-untyped-def]
    team = teams["team-04"]
    leading = team.ranking[0]
    assert not team.top_blockers and team.flags[leading].estimate > 0
    name = ADVICE.blocker(leading).name
    # The report's summary names it with wording.leading ...
    assert ADVICE.wording.leading.format(name=name) in team.summary
    agenda = build_agenda(team, None, [])
    item = next(i for i in agenda.items if i.kind == "no_blocker")
    # ... and the agenda says none stands out and looks at that one first.
    assert item.title == KIT.session_kit.no_blocker.title
    assert KIT.session_kit.leading_step.format(name=name) in item.steps
    assert agenda.leading and agenda.blockers == (leading,) and agenda.plays == ()
    assert 60 <= agenda.total_minutes <= 90


def test_nothing_above_the_organization_names_no_blocker(teams) -> None:  # type: ignore[no-untyped-def]
    team = teams["team-06"]
    assert not team.top_blockers and team.flags[team.ranking[0]].estimate <= 0
    agenda = build_agenda(team, None, [])
    assert agenda.blockers == () and not agenda.leading
    item = next(i for i in agenda.items if i.kind == "no_blocker")
    assert item.ref is None and not any("closest" in s for s in item.steps)


def test_suppressed_team_is_refused(teams) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="suppressed"):
        build_agenda(replace(teams["team-01"], suppressed=True), None, [])


def test_commitments_are_reviewed_in_the_agenda(teams) -> None:  # type: ignore[no-untyped-def]
    done = CommitmentRecord("meso", "account lead", date(2027, 3, 1), "Spring")
    agenda = build_agenda(teams["team-01"], None, [done])
    closing = agenda.items[-1]
    expected = KIT.session_kit.review_step.format(
        name=ADVICE.play("meso").name, owner="account lead", due="2027-03-01"
    )
    assert closing.steps[0] == expected


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from([p.id for p in ADVICE.plays]), max_size=6),
    st.sampled_from(["team-01", "team-02", "team-03", "team-04", "team-06"]),
)
def test_agenda_always_fits_the_session(teams, plays: list[str], name: str) -> None:  # type: ignore[no-untyped-def]
    gap = _gap(tuple(PairPlay(p, p, "r", "why") for p in plays))
    agenda = build_agenda(teams[name], gap, [])
    assert KIT.session_kit.min_total <= agenda.total_minutes <= KIT.session_kit.max_total
    assert len(set(agenda.plays)) == len(agenda.plays) <= KIT.session_kit.max_drills


def _them(blocker: str, level: str = "present", shared: bool = True) -> BlockerGap:
    return BlockerGap(
        blocker, ADVICE.blocker(blocker).name, None, None, None, "unclear", level, shared
    )


def test_worksheet_prompts_come_from_both_profiles(teams) -> None:  # type: ignore[no-untyped-def]
    team = teams["team-02"]  # main blocker: power
    gap = _gap(blockers=(_them("time_pressure"), _them("misalignment", "unclear", shared=False)))
    sheet = build_worksheet(team, gap, "Renewal 2027", "Acme Corp", "Key Accounts")
    assert (sheet.deal_name, sheet.counterparty_name, sheet.team_name) == (
        "Renewal 2027", "Acme Corp", "Key Accounts",
    )  # fmt: skip
    assert [t.topic_id for t in sheet.topics] == [t.id for t in ADVICE.checklist_topics]
    for topic in sheet.topics:
        assert topic.heading == next(
            t.heading for t in ADVICE.checklist_topics if t.id == topic.topic_id
        )
        assert "Renewal 2027" in topic.question
        ours = dict(ADVICE.blocker("power").checklist)[topic.topic_id]
        theirs = KIT.worksheet.them["time_pressure"][topic.topic_id]
        assert topic.prompts[:2] == (ours, theirs)
    values = next(t for t in sheet.topics if t.topic_id == "their_values")
    name = ADVICE.blocker("misalignment").name
    assert KIT.worksheet.not_shared.format(name=name) in values.prompts


def test_worksheet_without_a_rating_says_so(teams) -> None:  # type: ignore[no-untyped-def]
    sheet = build_worksheet(teams["team-06"], None, "Deal", "Them", "Us")
    values = next(t for t in sheet.topics if t.topic_id == "their_values")
    assert KIT.worksheet.no_rating in values.prompts
    success = next(t for t in sheet.topics if t.topic_id == "success")
    assert success.prompts == (dict(ADVICE.default_blocker.checklist)["success"],)


def test_play_blocker_relation_comes_from_the_blockers_play_lists() -> None:
    for play in ADVICE.plays:
        expected = tuple(b.id for b in ADVICE.blockers if play.id in b.plays)
        assert related_blockers(play.id) == expected
    assert related_blockers("no_such_play") == ()


def _change(blocker: str, change: float, low: float | None, high: float | None) -> BlockerChange:
    name = ADVICE.blocker(blocker).name
    return BlockerChange(blocker, name, 3.5, 3.5 + change, change, low, high, 0.01, 12, 11)


def test_commitment_followup_pairs_each_commitment_with_its_blockers() -> None:
    commitment = CommitmentRecord("post_settlement", "team lead", date(2027, 5, 1), "Spring")
    changes = {"time_pressure": _change("time_pressure", -0.6, -1.0, -0.2)}
    (followup,) = commitment_followup([commitment], changes)
    assert followup.blockers == related_blockers("post_settlement") == ("time_pressure",)
    assert followup.changes == (changes["time_pressure"],)
    wording = KIT.trend.wording
    assert followup.sentence == wording.followup.format(
        play=ADVICE.play("post_settlement").name,
        owner="team lead",
        due="2027-05-01",
        changes=wording.fell.format(name=ADVICE.blocker("time_pressure").name),
    )


def test_commitment_followup_with_unclear_and_unmeasured_blockers() -> None:
    commitment = CommitmentRecord("meso", "buyer", date(2027, 5, 1), "Spring")
    changes = {"trust": _change("trust", 0.1, -0.3, 0.5)}
    (followup,) = commitment_followup([commitment], changes)
    blockers = related_blockers("meso")
    assert followup.blockers == blockers and len(blockers) > 1
    wording = KIT.trend.wording
    assert wording.unchanged.format(name=ADVICE.blocker("trust").name) in followup.sentence
    missing = next(b for b in blockers if b != "trust")
    assert wording.not_measured.format(name=ADVICE.blocker(missing).name) in followup.sentence
    assert followup.changes[blockers.index(missing)] is None
