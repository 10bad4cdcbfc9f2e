"""`negoscope export` and the admin download: anonymity, pseudonyms, codebook, escaping.

k-anonymity and l-diversity are checked on the exported files with a plain
pandas group-by, written apart from the export code. The differencing attacks
of issue #13 on exports are replayed in tests/survey/test_export_differencing.py.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from analytics.anonymity import FORMULA_PREFIXES, neutralize, pseudonymize
from analytics.instrument import Instrument, _plain
from analytics.instrument_parser import load_default_instrument, parse_instrument
from analytics.synthetic import simulate_responses
from survey.cli_export import erase_participant_command, export_command
from survey.extensions import db
from survey.models import AuditEvent, Disclosure, Invitation, Organization, Response, SurveyRound
from survey.services import accounts, organizations, releases, rounds
from survey.services.export import VOLATILE_MANIFEST_KEYS, snapshot_key, stable_export_key
from survey.services.export_writers import XlsxExportWriter, codebook_rows, manifest_rows
from survey.services.ingest import SubmittedRow, store_submitted
from survey.services.instruments import store_instrument
from tests.conftest import make_app
from tests.survey.accounts_helpers import PASSWORD, log_in
from tests.survey.respond_helpers import csrf_from

DEFAULT = load_default_instrument()
EVIL_ROUND = '=HYPERLINK("http://evil.example/?x","Open")'
EVIL_TEAM = '=HYPERLINK("http://evil.example/team","Team")'
TEAMS = {"Alpha": 14, EVIL_TEAM: 9, "Gamma": 7, "Delta": 3}


@dataclass
class ExportWorld:
    """Everything identifying that the database holds, and the ids the tests need."""

    org_id: int
    round_id: int
    round_name: str
    team_names: list[str]
    people: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    token_hashes: list[str] = field(default_factory=list)
    participant_ids: list[int] = field(default_factory=list)
    response_ids: list[int] = field(default_factory=list)
    admin_email: str = "admin@export.example"
    coach_email: str = "coach@export.example"
    pending_tokens: dict[str, list[str]] = field(default_factory=dict)

    @property
    def forbidden(self) -> list[str]:
        return [
            *self.people,
            *self.emails,
            *self.tokens,
            *self.token_hashes,
            *self.team_names,
            self.admin_email,
            self.coach_email,
        ]


def build_export_world(
    app: Flask,
    *,
    teams: dict[str, int] | None = None,
    mode: str = "confidential",
    instrument: Instrument | None = None,
    round_name: str = EVIL_ROUND,
    weeks: int = 2,
    org_name: str = "Export Org",
    seed: int = 0,
    status: str = "closed",
    pending: dict[str, int] | None = None,
    tweak: Callable[[pd.DataFrame], None] | None = None,
) -> ExportWorld:
    """A round whose responses are linked to invitations of named members, then released.

    ``status="open"`` keeps the round collecting; ``pending`` invites that many
    more members of a team who have not answered (``world.pending_tokens``);
    ``tweak`` may change the simulated answers (a frame: items, context) first.
    """
    teams = teams or TEAMS
    instrument = instrument or DEFAULT
    with app.app_context():
        row, _ = store_instrument(instrument)
        org, _ = organizations.get_or_create_organization(org_name)
        team_rows = [organizations.create_team(org, name) for name in teams]
        closes_at = _now() if status == "closed" else _now() + timedelta(days=20)
        survey_round = rounds.create_round(
            org, round_name, row, team_rows, mode=mode, status=status,
            opens_at=_now() - timedelta(days=30), closes_at=closes_at,
        )  # fmt: skip
        admin = accounts.create_user(f"admin@{org_name.split()[0].lower()}.example", PASSWORD)
        accounts.set_role(admin, org, "admin")
        coach = accounts.create_user(f"coach@{org_name.split()[0].lower()}.example", PASSWORD)
        accounts.set_role(coach, org, "coach")
        world = ExportWorld(
            org.id,
            survey_round.id,
            round_name,
            list(teams),
            admin_email=admin.email,
            coach_email=coach.email,
        )
        sim = simulate_responses(
            instrument,
            n_respondents=sum(teams.values()),
            teams=teams,
            random_state=seed,
            missing_rate=0.03,
        )
        if tweak is not None:
            tweak(sim.data)
        start = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
        stored = []
        for index, (team, (_, answers)) in enumerate(
            zip(np.repeat(team_rows, list(teams.values())), sim.data.iterrows(), strict=True)
        ):
            name, email = f"Zelda Quux{index:03d}", f"zelda.quux{index:03d}@people.example"
            person = organizations.add_participant(team, name=name, email=email)
            invitation, token = rounds.issue_invitation(
                survey_round, person, _now(), timedelta(days=30)
            )
            when = start + timedelta(days=7 * (index % weeks), hours=index)
            invitation.submitted_at = when
            world.people.append(name)
            world.emails.append(email)
            world.tokens.append(token)
            world.token_hashes.append(invitation.token_hash)
            world.participant_ids.append(person.id)
            stored.append(
                SubmittedRow(
                    team_id=team.id,
                    answers={
                        i: None if pd.isna(answers[i]) else int(answers[i])
                        for i in instrument.item_ids
                    },
                    context={q: answers[q] for q in instrument.context_ids},
                    submitted_at=when,
                    invitation_id=invitation.id if mode == "confidential" else None,
                )
            )
        store_submitted(survey_round, stored)
        releases.refresh(survey_round, _now())  # as an import does: teams of 5 or more
        for name, count in (pending or {}).items():
            team = team_rows[list(teams).index(name)]
            for index in range(count):
                person = organizations.add_participant(
                    team,
                    name=f"Pending {index}",
                    email=f"pending{list(teams).index(name)}-{index}@people.example",
                )
                _, token = rounds.issue_invitation(survey_round, person, _now(), timedelta(30))
                world.pending_tokens.setdefault(name, []).append(token)
        world.response_ids = list(
            db.session.scalars(
                select(Response.id)
                .where(Response.round_id == survey_round.id)
                .order_by(Response.id)
            )
        )
        db.session.commit()
    return world


def _now() -> datetime:
    return datetime.now(UTC)


def export_key(app: Flask, org_id: int) -> bytes:
    """The organization's export key (made now if it has none; the CLI and web do the same)."""
    with app.app_context():
        key = stable_export_key(db.session.get(Organization, org_id))
        db.session.commit()
    return key


def pseudonyms(app: Flask, world: ExportWorld) -> dict[str, int]:
    """Response pseudonym -> response id, for the round's current snapshot."""
    key = export_key(app, world.org_id)
    with app.app_context():
        survey_round = db.session.get(SurveyRound, world.round_id)
        snapshot = releases.current_snapshot(survey_round)
        ids = list(
            db.session.scalars(select(Response.id).where(Response.round_id == world.round_id))
        )
        key = snapshot_key(key, world.round_id, snapshot)
    return dict(zip(pseudonymize(ids, key, namespace="response"), ids, strict=True))


def by_response(frame: pd.DataFrame, mapping: dict[str, int]) -> pd.DataFrame:
    """The exported rows with their response id (``response``), in response id order."""
    out = frame.assign(response=[mapping[p] for p in frame["respondent_id"]])
    return out.sort_values("response", kind="stable").reset_index(drop=True)


def cli(app: Flask):  # type: ignore[no-untyped-def]
    """A CLI runner with the export commands (registered here until the app does it)."""
    for command in (export_command, erase_participant_command):
        if command.name not in app.cli.commands:
            app.cli.add_command(command)
    return app.test_cli_runner()


def run_export(app: Flask, world: ExportWorld, out: Path, fmt: str, *extra: str) -> str:
    result = cli(app).invoke(
        args=["export", "--round", world.round_name, "--format", fmt, "--out", str(out), *extra]
    )
    assert result.exit_code == 0, result.output
    return result.output


def read_csv_zip(path: Path) -> tuple[pd.DataFrame, list[dict], dict]:
    """Data (every cell as text, blanks as ''), codebook rows, manifest."""
    with zipfile.ZipFile(path) as bundle:
        assert sorted(bundle.namelist()) == [
            "codebook.csv",
            "data.csv",
            "manifest.json",
            "read_negoscope.R",
            "value_labels.csv",
            "variable_labels.csv",
        ]
        data = pd.read_csv(io.BytesIO(bundle.read("data.csv")), dtype=str, keep_default_na=False)
        codebook = pd.read_csv(
            io.BytesIO(bundle.read("codebook.csv")), dtype=str, keep_default_na=False
        ).to_dict("records")
        manifest = json.loads(bundle.read("manifest.json"))
    return data, codebook, manifest


def read_xlsx(path: Path) -> tuple[pd.DataFrame, list[list], list[list]]:
    book = openpyxl.load_workbook(path, read_only=True)
    assert book.sheetnames == ["data", "codebook", "manifest"]
    rows = list(book["data"].iter_rows(values_only=True))
    frame = pd.DataFrame(rows[1:], columns=rows[0], dtype=object)
    codebook = [list(r) for r in book["codebook"].iter_rows(values_only=True)]
    manifest = [list(r) for r in book["manifest"].iter_rows(values_only=True)]
    return frame, codebook, manifest


def text_of_everything(path: Path) -> str:
    """Every byte of a download, unzipped where it is a zip, as text."""
    blobs = []
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as bundle:
            for name in bundle.namelist():
                blob = bundle.read(name)
                blobs.append(blob)
                if name.endswith(".parquet"):
                    blobs.append(_parquet_text(io.BytesIO(blob)).encode())
    else:
        blobs.append(path.read_bytes())
        if path.suffix == ".parquet":
            blobs.append(_parquet_text(path).encode())
    return "\n".join(b.decode("utf-8", errors="replace") for b in blobs)


def _parquet_text(source) -> str:  # type: ignore[no-untyped-def]
    table = pq.read_table(source)
    metadata = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
    return json.dumps(table.to_pylist(), default=str) + json.dumps(metadata)


def groups_of(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    return frame.fillna("").astype(str).groupby(columns, dropna=False).size()


@pytest.fixture
def lite(tmp_path: Path) -> Iterator[Flask]:
    """The app on SQLite only: for what an export writes, not how it reads the database."""
    application = make_app(f"sqlite:///{tmp_path / 'lite.sqlite3'}", tmp_path)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


# ---------------------------------------------------------------------------- tests
def test_csv_export_is_k_anonymous_by_a_plain_group_by(app, tmp_path):
    world = build_export_world(app)
    out = tmp_path / "export.zip"
    output = run_export(app, world, out, "csv")
    data, _, manifest = read_csv_zip(out)
    context = list(DEFAULT.context_ids)
    assert groups_of(data, ["team_id", *context]).min() >= 5
    assert groups_of(data, ["team_id", *context, "submission_week"]).min() >= 5
    assert manifest["k_requested"] == 5 and manifest["k_reached"] >= 5
    assert "smallest group" in output


def test_unreleased_teams_are_absent_and_teams_under_k_with_their_complement(app, tmp_path):
    world = build_export_world(app)
    out = tmp_path / "export.zip"
    run_export(app, world, out, "csv")
    data, _, manifest = read_csv_zip(out)
    # Delta (3 members) has no released results: its responses are not in the snapshot
    assert manifest["rows_in_round"] == manifest["snapshot"]["responses"] == 30
    assert sorted(data["team_id"].value_counts().tolist()) == [7, 9, 14]
    assert manifest["suppressed"] == []
    out = tmp_path / "k8.zip"
    run_export(app, world, out, "csv", "--k", "8")
    data, _, manifest = read_csv_zip(out)
    assert data["team_id"].nunique() == 1 and len(data) == 14
    assert manifest["rows_in_round"] == 30 and manifest["rows_exported"] == 14
    assert manifest["suppressed"] == [
        {"reason": "team under k", "teams": 1, "rows": 7},
        {"reason": "complementary", "teams": 1, "rows": 9},
    ]


def test_profiles_are_never_the_same_for_a_whole_group(lite, tmp_path):
    world = build_export_world(lite, teams={"Alpha": 30, "Beta": 25}, weeks=1)
    out = tmp_path / "export.zip"
    run_export(lite, world, out, "csv")
    data, _, manifest = read_csv_zip(out)
    assert manifest["profiles"]["available"]
    assert (data["profile"] != "").any()
    for _, group in data.groupby(["team_id", *DEFAULT.context_ids, "submission_week"]):
        shown = set(group["profile"]) - {""}
        assert len(shown) != 1, group


def test_exported_profiles_and_scores_are_those_of_the_round_analysis(app, tmp_path):
    """One scoring rule, one profile model: the dashboard's (issue #14)."""
    from survey.services import team_reports

    world = build_export_world(app, teams={"Alpha": 30, "Beta": 25}, weeks=1)
    out = tmp_path / "export.parquet"
    run_export(app, world, out, "parquet")
    data = by_response(pq.read_table(out).to_pandas(), pseudonyms(app, world))
    manifest = json.loads((tmp_path / "export.manifest.json").read_text())
    with app.app_context():
        survey_round = db.session.get(SurveyRound, world.round_id)
        analysis = team_reports.round_analysis(survey_round, 5)
    assert "round analysis of this snapshot" in manifest["profiles"]["source"]
    assert list(data["response"]) == world.response_ids  # the snapshot: every response
    assignments = analysis.assignments.astype(object).to_numpy()
    shown = data["profile"].notna().to_numpy()
    assert shown.sum() > 0
    assert (data["profile"].to_numpy()[shown] == assignments[shown]).all()
    for dim in DEFAULT.dimensions:
        exported = data[f"{dim.id}_score"].to_numpy(dtype=float)
        expected = analysis.scores[dim.id].to_numpy(dtype=float)
        present = ~np.isnan(exported)  # blank only where withheld for l-diversity
        assert np.array_equal(exported[present], expected[present])
        assert (np.isnan(exported) >= np.isnan(expected)).all()


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_no_name_email_token_or_team_name_in_any_byte(lite, tmp_path, fmt):
    world = build_export_world(lite)
    out = tmp_path / f"export.{'zip' if fmt == 'csv' else fmt}"
    run_export(lite, world, out, fmt)
    files = [out]
    if fmt == "parquet":
        files += [tmp_path / "export.codebook.json", tmp_path / "export.manifest.json"]
    text = "\n".join(text_of_everything(path) for path in files)
    for secret in world.forbidden:
        assert secret not in text, secret
    assert "zelda" not in text.lower() and "@people.example" not in text


def test_no_internal_ids_in_the_id_columns(lite, tmp_path):
    world = build_export_world(lite)
    out = tmp_path / "export.zip"
    run_export(lite, world, out, "csv")
    data, _, _ = read_csv_zip(out)
    internal = {str(i) for i in world.response_ids} | {str(i) for i in world.participant_ids}
    assert not set(data["respondent_id"]) & internal
    assert data["respondent_id"].str.fullmatch(r"[0-9a-f]{16}").all()
    assert data["team_id"].str.fullmatch(r"[0-9a-f]{16}").all()


def test_two_exports_of_one_snapshot_are_identical_and_stable_ids_are_gone(app, tmp_path):
    world = build_export_world(app)
    blobs, manifests = [], []
    for name in ("a", "b"):
        out = tmp_path / f"{name}.zip"
        run_export(app, world, out, "csv")
        with zipfile.ZipFile(out) as bundle:
            blobs.append((bundle.read("data.csv"), bundle.read("codebook.csv")))
            manifests.append(json.loads(bundle.read("manifest.json")))
    assert blobs[0] == blobs[1]
    data = pd.read_csv(io.BytesIO(blobs[0][0]), dtype=str, keep_default_na=False)
    assert list(data["respondent_id"]) == sorted(data["respondent_id"])  # a keyed shuffle
    mapping = pseudonyms(app, world)
    assert set(data["respondent_id"]) <= set(mapping)
    order = [mapping[p] for p in data["respondent_id"]]
    assert order != sorted(order)
    first, second = manifests
    assert first["snapshot"] == second["snapshot"] and first["earlier_exports"] == []
    assert second["earlier_exports"][0]["added_since"] == 0
    assert "snapshot" in first["pseudonyms"]["respondent_id"]
    with app.app_context():
        key = db.session.get(Organization, world.org_id).export_key
    assert key and len(key) == 64 and key not in data.to_csv()
    refused = cli(app).invoke(
        args=["export", "--round", world.round_name, "--format", "csv", "--out",
              str(tmp_path / "c.zip"), "--stable-ids"]
    )  # fmt: skip
    assert refused.exit_code != 0 and "no longer available" in refused.output
    assert not (tmp_path / "c.zip").exists()


def test_codebook_lists_exactly_the_exported_columns(lite, tmp_path):
    world = build_export_world(lite)
    csv_data, csv_codebook, _ = read_csv_zip(run_to(lite, world, tmp_path, "csv"))
    xlsx_data, xlsx_codebook, _ = read_xlsx(run_to(lite, world, tmp_path, "xlsx"))
    parquet_path = run_to(lite, world, tmp_path, "parquet")
    table = pq.read_table(parquet_path)
    sidecar = json.loads((tmp_path / "export.codebook.json").read_text())
    embedded = json.loads(table.schema.metadata[b"negoscope.codebook"])
    columns = list(csv_data.columns)
    assert [e["name"] for e in csv_codebook] == columns
    assert [r[0] for r in xlsx_codebook[1:]] == list(xlsx_data.columns) == columns
    assert [e["name"] for e in sidecar["columns"]] == table.column_names == columns
    assert embedded == sidecar
    expected = [
        "respondent_id",
        "team_id",
        "round",
        "instrument_id",
        "instrument_version",
        *DEFAULT.item_ids,
        *(f"{d.id}_score" for d in DEFAULT.dimensions),
        "profile",
        *DEFAULT.context_ids,
        "submission_week",
    ]
    assert columns == expected
    tr1 = next(e for e in sidecar["columns"] if e["name"] == "TR1")
    item = DEFAULT.item("TR1")
    assert tr1["item_text"] == item.text and tr1["reverse_keyed"] is item.reverse
    assert tr1["dimension"] == "trust" and tr1["scale"] == "1-5"
    assert tr1["labels"]["1"] == "Strongly disagree"


def run_to(app: Flask, world: ExportWorld, tmp_path: Path, fmt: str) -> Path:
    out = tmp_path / f"export.{'zip' if fmt == 'csv' else fmt}"
    run_export(app, world, out, fmt)
    return out


def test_answers_scores_and_weeks_are_exported_as_stored(app, tmp_path):
    from survey.models import Answer

    world = build_export_world(app, teams={"Alpha": 20, "Beta": 20}, weeks=1)
    out = run_to(app, world, tmp_path, "parquet")
    frame = pq.read_table(out).to_pandas()
    with app.app_context():
        key_rows = db.session.execute(
            select(Answer.response_id, Answer.item_id, Answer.value).where(
                Answer.response_id.in_(world.response_ids)
            )
        ).all()
    stored = pd.DataFrame(key_rows, columns=["response", "item", "value"])
    wide = stored.pivot(index="response", columns="item", values="value")[list(DEFAULT.item_ids)]
    frame = by_response(frame, pseudonyms(app, world))
    manifest = json.loads((tmp_path / "export.manifest.json").read_text())
    exported = frame[list(DEFAULT.item_ids)].astype("float64").to_numpy()
    expected = wide.to_numpy(dtype="float64")
    # every response of both teams is exported; an answer is as stored, or withheld
    assert list(frame["response"]) == list(wide.index)
    shown = ~np.isnan(exported)
    assert np.array_equal(exported[shown], expected[shown])
    withheld = ~shown & ~np.isnan(expected)
    assert withheld.sum() == manifest["l_diversity"]["item_cells_blanked"]
    trust = frame["trust_score"].to_numpy()
    keyed = wide[list(DEFAULT.dimension("trust").item_ids)].astype(float).copy()
    for item in DEFAULT.dimension("trust").items:
        if item.reverse:
            keyed[item.id] = 6 - keyed[item.id]
    expected_trust = keyed.mean(axis=1).where(keyed.notna().sum(axis=1) >= 4).to_numpy()
    present = ~np.isnan(trust)
    assert np.allclose(trust[present], expected_trust[present])
    trust_items = [DEFAULT.item_ids.index(i) for i in DEFAULT.dimension("trust").item_ids]
    assert (~present == (np.isnan(expected_trust) | withheld[:, trust_items].any(axis=1))).all()
    assert set(frame["submission_week"]) <= {"2026-W10", None}


def test_formula_payloads_come_out_inert_in_csv_and_xlsx(lite, tmp_path):
    definition = _plain(DEFAULT.definition)
    definition["id"] = "formula-test"
    definition.pop("translations", None)  # they translate the context questions replaced here
    definition["context"] = [
        {"id": "channel", "text": "Main channel", "options": ["=1+1", "+SUM(A1)", "@cmd"]},
        {"id": "region", "text": "Region", "options": ["-2+3", "\tTAB", "plain"]},
    ]
    instrument = parse_instrument(definition, source="test")
    world = build_export_world(
        lite, teams={"Alpha": 45, "Beta": 45}, instrument=instrument, weeks=1
    )
    csv_data, csv_codebook, _ = read_csv_zip(run_to(lite, world, tmp_path, "csv"))
    xlsx_path = run_to(lite, world, tmp_path, "xlsx")
    xlsx_data, xlsx_codebook, xlsx_manifest = read_xlsx(xlsx_path)
    for frame in (csv_data, xlsx_data):
        assert (frame["round"] == "'" + EVIL_ROUND).all()
        for column in frame.columns:
            for value in frame[column]:
                if isinstance(value, str):
                    assert not value.startswith(FORMULA_PREFIXES), (column, value)
        shown = set(frame["channel"].dropna()) - {""}
        assert any(v.startswith("'=") or v.startswith("'+") or v.startswith("'@") for v in shown)
    codebook_cells = [str(v) for row in csv_codebook for v in row.values()]
    codebook_cells += [str(v) for row in xlsx_codebook + xlsx_manifest for v in row if v]
    assert not [v for v in codebook_cells if v.startswith(FORMULA_PREFIXES)]
    book = openpyxl.load_workbook(xlsx_path)  # full mode: cell types
    sheet = book["data"]
    header = [c.value for c in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        for name, cell in zip(header, row, strict=True):
            assert cell.data_type != "f"
            if name in instrument.item_ids and cell.value is not None:
                assert cell.data_type == "n" and isinstance(cell.value, int)
            if name.endswith("_score") and cell.value is not None:
                assert cell.data_type == "n"


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    texts=st.lists(
        st.text(
            alphabet=st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("=+-@\t"),
            max_size=12,
        ),
        min_size=1,
        max_size=6,
    )
)
def test_xlsx_writer_keeps_neutralized_text_as_text(tmp_path, texts):
    schema = pa.schema([("label", pa.string()), ("value", pa.int8())])
    out = tmp_path / "cells.xlsx"
    cells = [neutralize(t) for t in texts]
    writer = XlsxExportWriter(out, schema, [{"name": "label"}], {"k": 5, "note": texts[0]})
    writer.write(
        pa.record_batch([pa.array(cells), pa.array([-1] * len(cells), pa.int8())], schema=schema)
    )
    writer.close()
    book = openpyxl.load_workbook(out)
    rows = list(book["data"].iter_rows(min_row=2))
    for (label, value), expected in zip(rows, cells, strict=True):
        assert label.data_type == "s" and (label.value or "") == expected
        assert value.data_type == "n" and value.value == -1
    for row in codebook_rows([{"name": t, "meaning": t} for t in texts]) + manifest_rows(
        {"x": texts}
    ):
        assert not any(cell.startswith(FORMULA_PREFIXES) for cell in row)


def test_parquet_has_metadata_and_sidecars_and_the_web_gets_one_zip(lite, tmp_path):
    client = lite.test_client()
    world = build_export_world(lite)
    out = run_to(lite, world, tmp_path, "parquet")
    table = pq.read_table(out)
    manifest = json.loads(table.schema.metadata[b"negoscope.manifest"])
    sidecar = json.loads((tmp_path / "export.manifest.json").read_text())
    assert "created" in sidecar and not set(VOLATILE_MANIFEST_KEYS) & set(manifest)
    assert manifest == {k: v for k, v in sidecar.items() if k not in VOLATILE_MANIFEST_KEYS}
    assert manifest["rows_exported"] == table.num_rows == 30
    log_in(client, world.admin_email)
    url = f"/admin/{world.org_id}/rounds/{world.round_id}/export"
    page = client.get(url)
    response = client.post(url, data={"csrf_token": csrf_from(page), "format": "parquet", "k": "5"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.get_data())) as bundle:
        assert sorted(bundle.namelist()) == ["codebook.json", "data.parquet", "manifest.json"]
        web = bundle.read("data.parquet")
    assert pq.read_table(io.BytesIO(web)).num_rows == 30
    assert web == out.read_bytes()  # the same snapshot: the same data file, byte for byte


def test_small_chunks_give_the_same_rows(app, tmp_path):
    from survey.services.export import export_round

    world = build_export_world(app)
    export_key(app, world.org_id)
    with app.app_context():
        survey_round = db.session.get(SurveyRound, world.round_id)
        export_round(survey_round, tmp_path / "one.parquet", fmt="parquet", k=5)
        db.session.commit()
        survey_round = db.session.get(SurveyRound, world.round_id)
        export_round(survey_round, tmp_path / "many.parquet", fmt="parquet", k=5, chunk_rows=4)
    one = pq.read_table(tmp_path / "one.parquet")
    many = pq.read_table(tmp_path / "many.parquet")
    assert one.equals(many)
    assert pq.ParquetFile(tmp_path / "many.parquet").num_row_groups > 1


def test_exports_are_audited_with_format_rows_and_k(lite, tmp_path):
    world = build_export_world(lite)
    run_export(lite, world, tmp_path / "x.xlsx", "xlsx", "--k", "6")
    with lite.app_context():
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "export_downloaded")
        ).one()
        assert event.actor == "cli" and event.target == world.round_name
        assert "format=xlsx" in event.detail and "rows=30" in event.detail
        assert "k=6" in event.detail and "snapshot=" in event.detail
        entry = db.session.scalars(select(Disclosure).where(Disclosure.kind == "export")).one()
        assert (entry.actor, entry.group_name, entry.n) == ("cli", "round", 30)


def test_k_below_the_threshold_and_unknown_rounds_are_refused(lite, tmp_path):
    world = build_export_world(lite)
    runner = cli(lite)
    low = runner.invoke(
        args=["export", "--round", world.round_name, "--format", "csv", "--out",
              str(tmp_path / "x.zip"), "--k", "3"]
    )  # fmt: skip
    assert low.exit_code != 0 and "at least the anonymity threshold" in low.output
    missing = runner.invoke(
        args=["export", "--round", "Nope", "--format", "csv", "--out", str(tmp_path / "y.zip")]
    )
    assert missing.exit_code != 0 and "No round called 'Nope'" in missing.output
    assert not (tmp_path / "x.zip").exists()


def test_web_export_is_admin_only_and_audited(app, client, tmp_path):
    world = build_export_world(app)
    url = f"/admin/{world.org_id}/rounds/{world.round_id}/export"
    coach = app.test_client()
    log_in(coach, world.coach_email)
    assert coach.get(url).status_code == 403
    other = build_export_world(app, org_name="Other Org", teams={"X": 5})
    stranger = app.test_client()
    log_in(stranger, other.admin_email)
    assert stranger.get(url).status_code == 404
    log_in(client, world.admin_email)
    page = client.get(url)
    assert page.status_code == 200 and "k" in page.get_data(as_text=True)
    token = csrf_from(page)
    low = client.post(url, data={"csrf_token": token, "format": "csv", "k": "2"})
    assert low.status_code == 400 and "at least the anonymity threshold" in low.get_data(
        as_text=True
    )
    response = client.post(url, data={"csrf_token": token, "format": "csv", "k": "5"})
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    data, _, manifest = read_csv_zip_bytes(response.get_data())
    assert len(data) == 30 and manifest["format"] == "csv"
    xlsx = client.post(url, data={"csrf_token": token, "format": "xlsx", "k": "5"})
    assert xlsx.status_code == 200 and xlsx.get_data()[:2] == b"PK"
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "export_downloaded")
        ).all()
        assert [e.actor for e in events] == [world.admin_email] * 2
        ledger = db.session.scalars(select(Disclosure).where(Disclosure.kind == "export")).all()
        assert {(e.actor, e.n) for e in ledger} == {(world.admin_email, 30)}


def read_csv_zip_bytes(blob: bytes) -> tuple[pd.DataFrame, list[dict], dict]:
    with zipfile.ZipFile(io.BytesIO(blob)) as bundle:
        data = pd.read_csv(io.BytesIO(bundle.read("data.csv")), dtype=str, keep_default_na=False)
        manifest = json.loads(bundle.read("manifest.json"))
    return data, [], manifest


def test_an_empty_export_still_has_codebook_and_manifest(lite, tmp_path):
    world = build_export_world(lite, teams={"Only": 5, "Other": 6})
    out = tmp_path / "export.zip"
    output = run_export(lite, world, out, "csv", "--k", "7")
    data, codebook, manifest = read_csv_zip(out)
    assert len(data) == 0 and len(codebook) == len(data.columns)
    assert manifest["rows_exported"] == 0 and manifest["k_reached"] is None
    assert "Exported 0 of 11 released responses" in output


def test_a_round_with_nothing_released_is_refused(app, tmp_path):
    world = build_export_world(app, teams={"Only": 3, "Other": 2})
    out = tmp_path / "export.zip"
    result = cli(app).invoke(
        args=["export", "--round", world.round_name, "--format", "csv", "--out", str(out)]
    )
    assert result.exit_code != 0 and "has been released yet" in result.output
    assert not out.exists()
    client = app.test_client()
    log_in(client, world.admin_email)
    url = f"/admin/{world.org_id}/rounds/{world.round_id}/export"
    page = client.get(url)
    response = client.post(url, data={"csrf_token": csrf_from(page), "format": "csv", "k": "5"})
    assert response.status_code == 409
    assert "has been released yet" in response.get_data(as_text=True)
    with app.app_context():
        exports = select(AuditEvent.id).where(AuditEvent.action == "export_downloaded")
        assert not db.session.scalars(exports).all()
        assert not db.session.scalars(select(Disclosure.id)).all()


def test_invitations_and_links_are_untouched_by_an_export(lite, tmp_path):
    world = build_export_world(lite)
    with lite.app_context():
        before = sorted(db.session.scalars(select(Invitation.token_hash)))
    run_export(lite, world, tmp_path / "x.zip", "csv")
    with lite.app_context():
        assert sorted(db.session.scalars(select(Invitation.token_hash))) == before


def test_packed_and_row_by_row_reads_give_the_same_export(lite, tmp_path, monkeypatch):
    from survey.models import Answer
    from survey.services import export as export_service
    from survey.services import export_reads

    world = build_export_world(lite)
    with lite.app_context():  # one response lacks an answer row: it is unpacked item by item
        db.session.delete(db.session.get(Answer, (world.response_ids[0], "TP3")))
        db.session.commit()

    export_key(lite, world.org_id)

    def export(name: str) -> pa.Table:
        with lite.app_context():
            survey_round = db.session.get(SurveyRound, world.round_id)
            export_service.export_round(survey_round, tmp_path / name, fmt="parquet", k=5)
            db.session.commit()
        return pq.read_table(tmp_path / name)

    calls = []
    read_rows = export_reads._read_rows
    monkeypatch.setattr(
        export_reads, "_read_rows", lambda *args: calls.append(1) or read_rows(*args)
    )
    packed = export("packed.parquet")
    assert not calls  # SQLite reads packed rows
    monkeypatch.setattr(export_reads, "PACKED_READS", False)
    rows = export("rows.parquet")
    assert calls
    assert packed.equals(rows)
    frame = by_response(packed.to_pandas(), pseudonyms(lite, world))
    assert frame["response"][0] == world.response_ids[0] and pd.isna(frame["TP3"][0])
    assert packed.num_rows == 30
