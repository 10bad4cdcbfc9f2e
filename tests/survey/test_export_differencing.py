"""The export attacks of issue #13, replayed through the CLI and the web app.

*Differencing*: export, one person submits, export again; the one new row
would be that person. An export holds only the round's release snapshot, so
the second export is the first one again (no new row). After the team's next
release (RELEASE_STEP = 3 responses) the export would differ from the first
by 3 < 5 responses and is refused; after one more release (6 responses) it is
allowed, and rows present in both exports share no pseudonym and no order.

*Homogeneity*: five people sharing team, role, tenure and week all gave the
same answer to one item, so knowing someone's team and context reveals it
(k-anonymous, not diverse). The export generalizes them further; an item a
whole team answered alike is blanked, with the score it would give back.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from flask import Flask
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import AuditEvent, Disclosure, TeamRelease
from tests.survey.accounts_helpers import log_in
from tests.survey.respond_helpers import answer_everything, csrf_from, submit
from tests.survey.test_export import (
    DEFAULT,
    ExportWorld,
    build_export_world,
    cli,
    export_key,
    groups_of,
    pseudonyms,
    read_csv_zip,
)

TEAMS = {"Alpha": 14, "Beta": 9}


class Exports:
    """Exports of one round as CSV, through the CLI or the admin web page."""

    def __init__(self, app: Flask, world: ExportWorld, tmp_path: Path, via: str) -> None:
        self.app, self.world, self.tmp_path, self.via = app, world, tmp_path, via
        self.count = 0
        if via == "web":
            self.client = app.test_client()
            log_in(self.client, world.admin_email)

    def __call__(self) -> tuple[bool, bytes | None, dict | None, str]:
        """(exported, data.csv bytes, manifest, message shown)."""
        self.count += 1
        if self.via == "cli":
            out = self.tmp_path / f"export-{self.count}.zip"
            result = cli(self.app).invoke(
                args=["export", "--round", self.world.round_name, "--format", "csv", "--out",
                      str(out)]
            )  # fmt: skip
            if result.exit_code != 0:
                assert not out.exists()
                return False, None, None, result.output
            blob = out.read_bytes()
            message = result.output
        else:
            url = f"/admin/{self.world.org_id}/rounds/{self.world.round_id}/export"
            page = self.client.get(url)
            response = self.client.post(
                url, data={"csrf_token": csrf_from(page), "format": "csv", "k": "5"}
            )
            if response.status_code != 200:
                assert response.status_code == 409, response.status_code
                return False, None, None, response.get_data(as_text=True)
            blob, message = response.get_data(), ""
        with zipfile.ZipFile(io.BytesIO(blob)) as bundle:
            return True, bundle.read("data.csv"), json.loads(bundle.read("manifest.json")), message


def submit_next(app: Flask, world: ExportWorld, team: str, value: str) -> None:
    """The next invited member of ``team`` answers every item with ``value`` and submits."""
    client = app.test_client()
    answer_everything(client, world.pending_tokens[team].pop(0), value)
    assert submit(client).status_code == 302


def releases_of(app: Flask, world: ExportWorld) -> int:
    with app.app_context():
        return int(
            db.session.scalar(
                select(func.count())
                .select_from(TeamRelease)
                .where(TeamRelease.round_id == world.round_id)
            )
        )


def frame(data: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)


@pytest.mark.parametrize("via", ["cli", "web"])
def test_export_submit_export_adds_no_row_and_close_exports_are_refused(app, tmp_path, via):
    world = build_export_world(
        app, teams=TEAMS, status="open", pending={"Alpha": 6}, round_name="Spring"
    )
    export = Exports(app, world, tmp_path, via)
    ok, first, first_manifest, _ = export()
    assert ok and len(frame(first)) == 23
    first_ids = pseudonyms(app, world)
    assert releases_of(app, world) == 2

    # one person submits: nothing is released, the export is the first one again
    submit_next(app, world, "Alpha", "2")
    ok, second, second_manifest, _ = export()
    assert ok and second == first
    assert second_manifest["snapshot"] == first_manifest["snapshot"]

    # two more: Alpha's results move by 3, and so would the export: refused
    submit_next(app, world, "Alpha", "3")
    submit_next(app, world, "Alpha", "4")
    assert releases_of(app, world) == 3
    ok, _, _, message = export()
    assert not ok
    assert "would differ from the export of" in message and "by 3 responses" in message
    assert "must differ by at least 5" in message

    # three more: a new release, 6 responses from the first export: allowed
    for value in ("5", "1", "2"):
        submit_next(app, world, "Alpha", value)
    assert releases_of(app, world) == 4
    ok, later, later_manifest, _ = export()
    assert ok
    earlier_rows, later_rows = frame(first), frame(later)
    assert len(later_rows) == 29
    assert later_manifest["snapshot"]["id"] > first_manifest["snapshot"]["id"]
    assert later_manifest["earlier_exports"][0]["added_since"] == 6
    # not joinable: no pseudonym in common, and the common rows in another order
    assert not set(earlier_rows["respondent_id"]) & set(later_rows["respondent_id"])
    later_ids = pseudonyms(app, world)
    before = [first_ids[p] for p in earlier_rows["respondent_id"]]
    after = [later_ids[p] for p in later_rows["respondent_id"] if later_ids[p] in set(before)]
    assert sorted(before) == sorted(after) and before != after
    assert set(earlier_rows["team_id"]) == set(later_rows["team_id"])  # teams stay stable

    with app.app_context():
        ledger = db.session.execute(
            select(Disclosure.snapshot_id, Disclosure.n)
            .where(Disclosure.kind == "export")
            .order_by(Disclosure.id)
        ).all()
        audited = db.session.scalar(
            select(func.count()).where(AuditEvent.action == "export_downloaded")
        )
    snapshots = [first_manifest["snapshot"]["id"], later_manifest["snapshot"]["id"]]
    assert [tuple(row) for row in ledger] == [(snapshots[0], 23), (snapshots[1], 29)]
    assert audited == 3  # the refused export is not recorded


def test_an_export_recorded_meanwhile_makes_a_close_export_refused(app, tmp_path):
    """Two exports running at once: the check is repeated in the recording transaction."""
    from survey.database import begin_write
    from survey.models import SurveyRound
    from survey.services.export import ExportRefused, export_round, record_export

    world = build_export_world(
        app, teams=TEAMS, status="open", pending={"Alpha": 3}, round_name="Spring"
    )
    export_key(app, world.org_id)
    first_snapshot = releases_of(app, world)  # release ids 1 and 2: snapshot 2
    for value in ("2", "3", "4"):
        submit_next(app, world, "Alpha", value)
    with app.app_context():
        survey_round = db.session.get(SurveyRound, world.round_id)
        result = export_round(survey_round, tmp_path / "x.zip", fmt="csv", k=5)
        db.session.rollback()
        assert result.snapshot_id > first_snapshot and result.rows == 26
        # meanwhile, an export of the first snapshot (23 rows) was recorded
        db.session.add(
            Disclosure(
                organization_id=world.org_id, round_id=world.round_id, actor="other",
                kind="export", snapshot_id=first_snapshot, group_name="round", n=23,
                figures_hash="0" * 64,
            )
        )  # fmt: skip
        db.session.commit()
        begin_write()
        with pytest.raises(ExportRefused, match="by 3 responses"):
            record_export(db.session.get(SurveyRound, world.round_id), result, actor_label="x")
        db.session.rollback()


def test_a_class_answering_alike_is_generalized_and_a_team_answering_alike_is_blanked(
    app, tmp_path
):
    roles = ["sales"] * 5 + ["engineering"] * 5 + ["management"] * 5
    tenures = ["under 1 year"] * 5 + ["1-3 years"] * 5 + ["3-10 years"] * 5

    def tweak(data: pd.DataFrame) -> None:
        data.loc[:14, "role"] = roles
        data.loc[:14, "tenure"] = tenures
        data.loc[:4, "TR1"] = 2  # the five (sales, under 1 year) gave the same answer
        data.loc[5:14, "TR1"] = [1, 2, 3, 4, 5] * 2
        data.loc[15:, "TR2"] = 3  # the whole of Beta answered TR2 alike

    world = build_export_world(
        app, teams={"Alpha": 15, "Beta": 10}, weeks=1, tweak=tweak, round_name="Spring"
    )
    out = tmp_path / "export.zip"
    result = cli(app).invoke(
        args=["export", "--round", "Spring", "--format", "csv", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "l-diversity (l=2)" in result.output
    data, codebook, manifest = read_csv_zip(out)
    quasi = ["team_id", *DEFAULT.context_ids, "submission_week"]
    assert groups_of(data, quasi).min() >= 5
    for _, group in data.groupby(quasi):  # every class shows 2+ answers, or none
        for item in DEFAULT.item_ids:
            answered = set(group[item]) - {""}
            assert len(answered) != 1, (item, group[quasi].iloc[0].tolist())
    rows = data.assign(response=[pseudonyms(app, world)[p] for p in data["respondent_id"]])
    rows = rows.sort_values("response").reset_index(drop=True)
    five = rows.iloc[:5]
    shown = five[["role", "tenure"]].apply(tuple, axis=1)
    assert not (shown == ("sales", "under 1 year")).all() or (five["TR1"] == "").all()
    beta = rows.iloc[15:]
    assert (beta["TR2"] == "").all() and (beta["trust_score"] == "").all()
    assert (rows.iloc[:15]["TR2"] != "").any()
    diversity = manifest["l_diversity"]
    assert diversity["l"] == 2 and diversity["groups_generalized"] >= 1
    assert diversity["item_cells_blanked"] >= 10 and diversity["score_cells_blanked"] >= 10
    tr2 = next(entry for entry in codebook if entry["name"] == "TR2")
    assert "withheld" in tr2["meaning"]
    assert np.isfinite(pd.to_numeric(rows.iloc[:15]["trust_score"], errors="coerce")).any()


def test_after_an_erasure_the_withheld_team_leaves_the_export_under_new_pseudonyms(app, tmp_path):
    """Erase 6 -> 5 on an export: the team's release is frozen, so its rows leave whole."""
    from survey.database import begin_write
    from survey.dbtypes import utcnow
    from survey.models import Organization, Participant
    from survey.services import erasure

    world = build_export_world(app, teams={"Alpha": 30, "Beta": 25}, round_name="Spring")
    export = Exports(app, world, tmp_path, "cli")
    ok, first, first_manifest, _ = export()
    assert ok
    with app.app_context():
        begin_write()
        org = db.session.get(Organization, world.org_id)
        people = erasure.participants_by_id(org, [world.participant_ids[0]])  # one of Alpha
        erasure.erase_participants(people, utcnow())
        assert db.session.get(Participant, world.participant_ids[0]).erased_at is not None
        db.session.commit()
    ok, later, manifest, _ = export()
    assert ok
    earlier_rows, later_rows = frame(first), frame(later)
    assert len(later_rows) == 25 and manifest["snapshot"]["teams_withheld"] == 1
    assert manifest["earlier_exports"][0]["removed_since"] == 30
    assert not set(earlier_rows["respondent_id"]) & set(later_rows["respondent_id"])
    # the stored analysis still holds the withheld team: its model assigns these rows
    if first_manifest["profiles"]["available"]:
        assert "fitted model" in manifest["profiles"]["source"]
        assert (later_rows["profile"] != "").any()
