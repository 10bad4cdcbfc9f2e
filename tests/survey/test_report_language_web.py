"""The team report in French from the coach's dashboard and `negoscope report --language` (#17)."""

from __future__ import annotations

import io
import re
from collections import Counter
from pathlib import Path

from pypdf import PdfReader
from sqlalchemy import func, select

from analytics.kit_schema import load_kit
from survey.extensions import db
from survey.models import AuditEvent
from tests.survey.accounts_helpers import build_access_world, log_in
from tests.survey.counterparty_helpers import build_world
from tests.survey.kit_helpers import base_url


def _text(data: bytes) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)


def _figures(text: str) -> Counter[str]:
    found = re.findall(r"(?<![\d.,])\d+[.,]\d+(?!\d|[.,]\d)", text)
    return Counter(m.replace(",", ".") for m in found)


def _coach(app):  # type: ignore[no-untyped-def]
    world = build_access_world(app)
    client = app.test_client()
    log_in(client, world.emails["coach_team"])
    return world, client, f"/coach/teams/{world.team_id}/rounds/{world.report_round_id}/"


def test_the_dashboard_offers_the_report_in_each_language(app):
    _world, client, base = _coach(app)
    page = client.get(base).get_data(as_text=True)
    assert "Download in:" in page
    assert f'href="{base}report.pdf?lang=en"' in page
    assert f'href="{base}report.pdf?lang=fr"' in page and ">Fran\u00e7ais</a>" in page


def test_the_french_report_is_french_with_the_english_figures_and_is_audited(app):
    _world, client, base = _coach(app)
    english = client.get(base + "report.pdf")
    french = client.get(base + "report.pdf?lang=fr")
    assert french.status_code == 200 and french.mimetype == "application/pdf"
    assert french.headers["Cache-Control"] == "no-store"
    assert "-fr.pdf" in french.headers["Content-Disposition"]
    assert "-fr" not in english.headers["Content-Disposition"]
    text, english_text = _text(french.data), _text(english.data)
    for title in ("Synth\u00e8se", "Profil des freins", "M\u00e9thode et confidentialit\u00e9"):
        assert title in text
    for title in ("Summary", "Blocker profile", "Method and privacy"):
        assert title in english_text and title not in text
    assert "Team One" in text  # names are the organization's own
    assert sum(_figures(english_text).values()) > 20
    assert _figures(text) == _figures(english_text)
    # Switching languages does not change what the English report says.
    assert _text(client.get(base + "report.pdf?lang=en").data) == english_text
    with app.app_context():
        events = select(func.count()).select_from(AuditEvent).filter_by(action="report_downloaded")
        assert db.session.scalar(events) == 3


def test_a_language_that_is_not_shipped_gets_a_400_that_names_the_shipped_ones(app):
    _world, client, base = _coach(app)
    for value in ("de", "FR", "fr_FR", "../fr", "x" * 300):
        response = client.get(base + "report.pdf", query_string={"lang": value})
        assert response.status_code == 400, value
        assert "use one of: en, fr" in response.get_data(as_text=True)
    assert client.get(base + "report.pdf?lang=").status_code == 200  # empty: the default
    with app.app_context():
        events = select(func.count()).select_from(AuditEvent).filter_by(action="report_downloaded")
        assert db.session.scalar(events) == 1  # refused requests wrote nothing


def test_another_teams_coach_cannot_download_it_in_any_language(app):
    world = build_access_world(app)
    client = app.test_client()
    log_in(client, world.emails["coach_other"])
    url = f"/coach/teams/{world.team_id}/rounds/{world.report_round_id}/report.pdf?lang=fr"
    assert client.get(url).status_code == 403


def test_report_cli_writes_the_report_in_french(app, runner, tmp_path: Path):
    build_access_world(app)
    out = tmp_path / "fr.pdf"
    args = ["report", "--round", "R0", "--org", "Org A", "--team", "Team One", "--out", str(out)]
    result = runner.invoke(args=[*args, "--language", "fr"])
    assert result.exit_code == 0, result.output
    assert "Synth\u00e8se" in _text(out.read_bytes())
    refused = runner.invoke(args=[*args, "--language", "de"])
    assert refused.exit_code != 0 and "'de' is not one of 'en', 'fr'" in refused.output


def test_report_all_in_the_background_writes_french(app, runner, tmp_path: Path):
    build_access_world(app)
    out = tmp_path / "all"
    result = runner.invoke(
        args=["report", "--round", "R0", "--org", "Org A", "--all", "--out-dir", str(out),
              "--jobs", "1", "--background", "--language", "fr"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Synth\u00e8se" in _text((out / "team-one.pdf").read_bytes())


def test_the_deal_worksheet_downloads_in_french(app):
    world = build_world(app, open_round=False)
    client = app.test_client()
    log_in(client, world.emails["coach_team"])
    base = base_url(world.team_id, world.self_round_id)
    query = f"counterparty={world.counterparty_id}&deal=Renewal+2027"
    page = client.get(base + f"worksheet?{query}").get_data(as_text=True)
    assert f"worksheet.pdf?{query.replace('&', '&amp;')}&amp;lang=fr" in page
    english = client.get(base + f"worksheet.pdf?{query}")
    french = client.get(base + f"worksheet.pdf?{query}&lang=fr")
    assert french.status_code == 200 and "-fr.pdf" in french.headers["Content-Disposition"]
    text = " ".join(_text(french.data).split())
    questions = load_kit(language="fr").worksheet.questions.values()
    assert all(q.format(deal="Renewal 2027") in text for q in questions)
    assert "Fiche de pr\u00e9paration de n\u00e9gociation" in text
    assert load_kit(language="fr").worksheet.no_rating in text  # no released rating yet
    assert "Pre-negotiation worksheet" in _text(english.data)
    refused = client.get(base + f"worksheet.pdf?{query}&lang=de")
    assert refused.status_code == 400 and "use one of: en, fr" in refused.get_data(as_text=True)
    with app.app_context():
        events = (
            select(func.count()).select_from(AuditEvent).filter_by(action="worksheet_downloaded")
        )
        assert db.session.scalar(events) == 2
