"""Issue #14: the dashboard and the PDF word a team's results the same way.

A round of five teams, one of which ("Busy") concedes under deadline pressure
and already improves its deals after signing often. The coach's dashboard and
the PDF report of that team must say the same things in the same words: the
summary, the main blockers, the pillars, the plays to practise first and how
often the team uses them; and neither may recommend practising first a play the
team already uses often.
"""

from __future__ import annotations

import html
import io
import re

import pytest
from pypdf import PdfReader

from analytics.advice import PILLAR_LEVELS, load_advice
from analytics.instrument_parser import load_default_instrument
from analytics.synthetic import simulate_responses
from survey.dbtypes import utcnow
from survey.extensions import db
from survey.services import accounts, organizations, releases, rounds
from survey.services.ingest import SubmittedRow, store_submitted
from survey.services.instruments import store_instrument
from tests.survey.accounts_helpers import PASSWORD, log_in

SIZES = {"Busy": 14, "North": 14, "South": 14, "East": 14, "West": 14}
COACH = "coach@wording.example"


def _flat(text: str) -> str:
    return " ".join(text.split())


def _visible(fragment: str) -> str:
    return _flat(html.unescape(re.sub(r"<[^>]+>", " ", fragment)))


@pytest.fixture
def pages(app) -> tuple[str, str]:
    """The Busy team's dashboard (HTML) and PDF report (text), as its coach sees them."""
    with app.app_context():
        instrument = load_default_instrument()
        instrument_row, _ = store_instrument(instrument)
        org, _ = organizations.get_or_create_organization("Wording Org")
        teams = {name: organizations.create_team(org, name) for name in SIZES}
        survey_round = rounds.create_round(
            org, "Spring", instrument_row, list(teams.values()), status="closed"
        )
        data = simulate_responses(
            instrument,
            n_respondents=sum(SIZES.values()),
            teams=SIZES,
            team_effects={"Busy": {"time_pressure": 1.6, "post_settlement": 2.2}},
            random_state=5,
        ).data
        rows = [
            SubmittedRow(
                team_id=teams[row["team"]].id,
                answers={i: int(row[i]) for i in instrument.item_ids},
                context={q: row[q] for q in instrument.context_ids},
                submitted_at=utcnow(),
            )
            for _, row in data.iterrows()
        ]
        store_submitted(survey_round, rows)
        releases.refresh(survey_round, utcnow())
        coach = accounts.create_user(COACH, PASSWORD)
        accounts.set_role(coach, org, "coach")
        accounts.assign_coach(coach, teams["Busy"])
        db.session.commit()
        base = f"/coach/teams/{teams['Busy'].id}/rounds/{survey_round.id}/"
    client = app.test_client()
    log_in(client, COACH)
    page = client.get(base)
    assert page.status_code == 200
    report = client.get(base + "report.pdf")
    assert report.status_code == 200
    pdf = _flat(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(report.data)).pages[1:]))
    return page.get_data(as_text=True), pdf


def test_summary_and_main_blockers_are_worded_as_in_the_pdf(pages) -> None:
    source, pdf = pages
    summary = re.findall(r'<p class="stat-text">(.*?)</p>', source)
    assert len(summary) == 1
    assert summary[0].startswith("Deadline pressure is your team&#39;s strongest blocker")
    assert _visible(summary[0]) in pdf
    lines = re.findall(r"<h3>Main blockers</h3>\s*<ul>(.*?)</ul>", source, re.S)
    assert lines
    for item in re.findall(r"<li>(.*?)</li>", lines[0], re.S):
        lead, _, line = _visible(item).partition(": ")
        assert line in pdf
        assert lead.split()[0] in pdf


def test_pillars_carry_the_labels_the_pdf_and_its_chart_use(pages) -> None:
    source, pdf = pages
    rows = re.findall(
        r"<tr><td>([^<]+)</td><td><span class=\"tag\">([^<]+)</span></td><td>(.*?)</td></tr>",
        source,
    )
    assert [name for name, _, _ in rows] == [p.name for p in load_advice().pillars]
    for name, label, meaning in rows:
        assert label.split(" (")[0] in PILLAR_LEVELS
        assert f"{html.unescape(name)}: {html.unescape(label)}" in pdf
        assert _visible(meaning) in pdf
    process = next(label for name, label, _ in rows if name == "Process")
    assert process.startswith("at risk")  # deadline pressure is a main blocker


def test_plays_to_practise_first_skip_a_play_used_often_and_word_usage_as_the_pdf(pages):
    source, pdf = pages
    first = re.findall(r"<h3>Plays to practise first</h3>\s*<ol>(.*?)</ol>", source, re.S)
    assert first, "the team has plays to practise first"
    assert "Post-settlement improvement" not in first[0]
    assert "Post-settlement improvement" in source  # recommended, further down
    usages = re.findall(r'<span class="(?:muted )?usage">(.*?)</span>', source)
    assert usages
    for usage in usages:
        text = _visible(usage)
        assert re.fullmatch(
            r"Your team uses it [a-z]+ on average \(\d\.\d on a 1\u20135 scale from \w+ to \w+\)\."
            r"( Read with care: the questions on [\w -]+ agree less than usual"
            r" \(alpha 0\.\d\d\)\.)?",
            text,
        ), text
        assert text in pdf  # the same words, reliability caveat included
    post = next(u for u in usages if "often" in u or "always" in u)
    assert _visible(post) in pdf


def test_play_names_on_the_dashboard_are_the_report_names(pages) -> None:
    source, pdf = pages
    advice = load_advice()
    for name in re.findall(r"<h3>([^<]+)</h3>\s*<p>", source):
        name = html.unescape(name)
        if name in {p.name for p in advice.plays}:
            assert name in pdf
    assert "Improving a deal after agreement" not in source  # the questionnaire's name
