"""The dashboard of a team under ten words its counts, and words a figure as the PDF does.

Issues #13 and #14: both come through :mod:`analytics.coarsen`.
"""

from __future__ import annotations

import html
import io
import re

from pypdf import PdfReader

from tests.survey.accounts_helpers import build_access_world, log_in


def _flat(text: str) -> str:
    return " ".join(text.split())


def _visible(page: str) -> str:
    """The text of an HTML page as a reader sees it (tags and attributes dropped)."""
    return _flat(html.unescape(re.sub(r"<[^>]+>", " ", page)))


def test_dashboard_of_a_team_of_six_shows_words_not_counts_and_matches_the_pdf(app):
    world = build_access_world(app)
    client = app.test_client()
    log_in(client, world.emails["coach_team"])
    base = f"/coach/teams/{world.team_id}/rounds/{world.report_round_id}/"
    page = client.get(base)
    assert page.status_code == 200
    source = page.get_data(as_text=True)
    text = _visible(source)
    assert "6 respondents" in text  # a completion count: shown as it is
    assert not re.search(r"\b\d+ of \d+ members\b", text)
    assert not re.search(r"\b\d+ of \d+\b", text.replace("6 respondents", "")), text
    assert not re.search(r"\d\.\d\d", text)  # nothing finer than one decimal

    report = client.get(base + "report.pdf")
    assert report.status_code == 200
    pdf = _flat(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(report.data)).pages))
    sentences = re.findall(r'<p class="stat-text">(.*?)</p>', source)
    sentences += re.findall(r"<li>([^<]*? is a strength: [^<]*)</li>", source)
    usages = re.findall(r"Your team uses it (.*?)\.</span>", source)
    assert sentences, "the team has a summary or a strength"
    if not usages:
        # The only shown team is the whole organization: no blocker can be higher than in
        # the organization, so no play is recommended; both pages say why, in the same words.
        reason = re.findall(
            r'<h3>Plays to practise first</h3>\s*<p class="muted">(.*?)</p>', source
        )
        assert reason and _flat(html.unescape(reason[0])) in pdf
    for sentence in sentences:
        sentence = html.unescape(sentence)
        assert not any(c.isdigit() for c in sentence), sentence
        assert _flat(sentence) in pdf  # the same words in both
    for usage in usages:
        usage = html.unescape(usage)
        assert re.fullmatch(
            r"[a-z]+ on average \(\d\.\d on a 1\u20135 scale from \w+ to \w+\)", usage
        )
        assert f"uses it {usage}." in pdf or f"uses it: {usage}." in pdf  # same words
