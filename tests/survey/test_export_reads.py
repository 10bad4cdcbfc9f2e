"""How the export reads and computes: packed SQLite reads, scores, pseudonyms.

The fast paths of :mod:`survey.services.export_reads` and
:mod:`survey.services.export` must give exactly what the plain ones give:
packed answers (odd values included) what one row per answer gives, scores
from the int8 answer matrix what :func:`analytics.scoring.score_dimensions`
gives on the float answers, pseudonyms what :func:`hmac.digest` gives, and the
keyed row order that of the pseudonyms.
"""

from __future__ import annotations

import hmac
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from flask import Flask
from sqlalchemy import text

from analytics.anonymity import pseudonymize
from analytics.instrument import _plain
from analytics.instrument_parser import parse_instrument
from analytics.scoring import score_dimensions
from survey.extensions import db
from survey.models import SurveyRound
from survey.services import export as export_service
from survey.services import export_reads, releases
from survey.services.instruments import instrument_of
from tests.survey.test_export import (  # noqa: F401
    DEFAULT,
    build_export_world,
    by_response,
    export_key,
    lite,
    pseudonyms,
)

MISSING = export_reads.MISSING


def _export(app: Flask, round_id: int, out: Path) -> tuple[pa.Table, dict]:
    with app.app_context():
        org_id = db.session.get(SurveyRound, round_id).organization_id
    export_key(app, org_id)
    with app.app_context():
        survey_round = db.session.get(SurveyRound, round_id)
        result = export_service.export_round(survey_round, out, fmt="parquet", k=5, chunk_rows=7)
        db.session.commit()
    return pq.read_table(out), result.manifest


def _sql(app: Flask, *statements: tuple[str, dict]) -> None:
    with app.app_context():
        for statement, params in statements:
            db.session.execute(text(statement), params)
        db.session.commit()


def _read(app: Flask, round_id: int, folder: Path) -> pd.DataFrame:
    """The snapshot's answers as the export reads them: response id x item, None if blank."""
    with app.app_context():
        survey_round = db.session.get(SurveyRound, round_id)
        instrument = instrument_of(survey_round.instrument)
        snapshot = releases.current_snapshot(survey_round)
        where = releases.snapshot_conditions(survey_round, snapshot)
        rows = export_reads.read_round_rows(survey_round, instrument, where)
        matrix = export_reads.AnswerMatrix(rows.n, instrument.item_ids, folder)
        export_reads.read_answers(
            survey_round, instrument, rows.ids, matrix, 7, lambda message: None, where
        )
        db.session.rollback()
    values = matrix.values.astype(object)
    values[matrix.values == MISSING] = None
    return pd.DataFrame(values, index=rows.ids, columns=list(instrument.item_ids))


def _every_read(app: Flask, round_id: int, tmp_path: Path, monkeypatch) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """Read packed (without and with the join on responses) and row by row; all equal."""
    packed = _read(app, round_id, tmp_path)
    monkeypatch.setattr(export_reads, "DENSE_SPAN", 0.0)  # always join the responses
    joined = _read(app, round_id, tmp_path)
    monkeypatch.setattr(export_reads, "PACKED_READS", False)
    rows = _read(app, round_id, tmp_path)
    assert packed.equals(joined)
    assert packed.equals(rows)
    monkeypatch.undo()
    return packed


def test_packed_reads_decode_odd_values_like_row_reads(lite, tmp_path, monkeypatch):  # noqa: F811
    world = build_export_world(lite)
    first, second, third = world.response_ids[:3]  # team Alpha: exported, in id order
    _sql(
        lite,
        *(
            ("UPDATE answers SET value = :v WHERE response_id = :r AND item_id = :i", params)
            for params in (
                {"r": first, "i": "TR1", "v": 200},
                {"r": first, "i": "TR2", "v": -200},
                {"r": first, "i": "TR3", "v": 12},
                {"r": second, "i": "TR1", "v": -3},
                {"r": second, "i": "TR2", "v": 0},
                {"r": second, "i": "TR3", "v": 9},
                {"r": third, "i": "TR1", "v": 3.7},
                {"r": third, "i": "TR2", "v": "abc"},
                {"r": third, "i": "TR3", "v": None},
            )
        ),
        ("DELETE FROM answers WHERE response_id = :r AND item_id = 'TP3'", {"r": second}),
        (
            "INSERT INTO answers (response_id, item_id, value) VALUES (:r, 'ZZ9', 4)",
            {"r": world.response_ids[4]},
        ),
        ("DELETE FROM answers WHERE response_id = :r", {"r": world.response_ids[5]}),
    )
    frame = _every_read(lite, world.round_id, tmp_path, monkeypatch)
    column = {name: frame[name].tolist() for name in ("TR1", "TR2", "TR3", "TP3")}
    assert [column[i][0] for i in ("TR1", "TR2", "TR3")] == [127, -127, 12]  # clipped to int8
    assert [column[i][1] for i in ("TR1", "TR2", "TR3", "TP3")] == [-3, 0, 9, None]
    assert [column[i][2] for i in ("TR1", "TR2", "TR3")] == [3, 0, None]  # as SQLite casts
    assert all(frame[item].iloc[5] is None for item in DEFAULT.item_ids)
    assert list(frame.index) == world.response_ids[:30]  # Delta's 3 are not released


def test_wide_and_negative_scales_are_packed_in_more_digits(lite, tmp_path, monkeypatch):  # noqa: F811
    definition = _plain(DEFAULT.definition)
    definition.pop("translations", None)  # they would translate the scales changed here
    definition["id"] = "wide-scales"
    definition["response_scale"] = {"min": 0, "max": 10, "labels": [str(i) for i in range(11)]}
    definition["dimensions"][1]["id"] = "negative"  # the simulation's profiles then stay neutral
    definition["dimensions"][1]["response_scale"] = {
        "min": -3,
        "max": 3,
        "labels": [str(i) for i in range(-3, 4)],
    }
    instrument = parse_instrument(definition, source="test")
    assert export_reads._Packing.of(instrument) == export_reads._Packing(13, 2)
    world = build_export_world(lite, instrument=instrument)
    _sql(
        lite,
        (
            "UPDATE answers SET value = :v WHERE response_id = :r AND item_id = :i",
            {"r": world.response_ids[0], "i": instrument.item_ids[0], "v": 95},  # 3 digits
        ),
    )
    frame = _every_read(lite, world.round_id, tmp_path, monkeypatch)
    assert frame[instrument.item_ids[0]].iloc[0] == 95
    table, _ = _export(lite, world.round_id, tmp_path / "x.parquet")
    exported = by_response(table.to_pandas(), pseudonyms(lite, world))
    assert exported[instrument.item_ids[0]][0] == 95
    values = exported[list(instrument.item_ids)].to_numpy(dtype=float)
    assert np.nanmin(values) < 0 and np.nanmax(values) >= 10


@pytest.mark.parametrize(
    ("low", "high", "packing"),
    [(1, 5, (0, 1)), (0, 9, (0, 1)), (0, 10, (10, 2)), (-3, 3, (13, 2)), (-127, 127, (227, 3))],
)
def test_packing_gives_every_scale_point_the_same_width(low, high, packing):
    definition = _plain(DEFAULT.definition)
    definition.pop("translations", None)  # they would translate the scales changed here
    labels = [str(i) for i in range(low, high + 1)]
    definition["response_scale"] = {"min": low, "max": high, "labels": labels}
    instrument = parse_instrument(definition, source="test")
    found = export_reads._Packing.of(instrument)
    assert (found.offset, found.width) == packing
    widths = {len(str(value + found.offset)) for value in range(low, high + 1)}
    assert widths == {found.width}


def test_responses_of_other_teams_in_the_id_range_are_ignored(lite, tmp_path, monkeypatch):  # noqa: F811
    """Small's three responses lie between Alpha's and Beta's but are not released."""
    world = build_export_world(lite, teams={"Alpha": 14, "Small": 3, "Beta": 9})
    small = world.response_ids[14:17]
    first = world.response_ids[0]
    _sql(
        lite,
        *(
            ("UPDATE context_answers SET value = 'free text' WHERE response_id = :r", {"r": r})
            for r in small
        ),
        ("UPDATE answers SET value = 1 WHERE response_id = :r", {"r": small[0]}),
    )
    read = _every_read(lite, world.round_id, tmp_path, monkeypatch)
    assert not set(read.index) & set(small) and len(read) == 23
    table, manifest = _export(lite, world.round_id, tmp_path / "x.parquet")
    assert manifest["rows_in_round"] == 23 and table.num_rows == 23
    assert manifest["context_values_not_among_options_left_blank"] == 0
    frame = by_response(table.to_pandas(), pseudonyms(lite, world))
    assert not set(frame["response"]) & set(small) and first in set(frame["response"])


def test_scores_from_the_answer_matrix_are_those_of_score_dimensions():
    rng = np.random.default_rng(3)
    for instrument in (DEFAULT, _wide_instrument()):
        scales = [instrument.scale_for(item) for item in instrument.item_ids]
        low = np.array([s.min for s in scales])
        high = np.array([s.max for s in scales])
        values = rng.integers(low, high + 1, size=(500, len(scales))).astype(np.int8)
        values[rng.random(values.shape) < 0.3] = MISSING
        frame = pd.DataFrame(
            np.where(values == MISSING, np.nan, values.astype(float)), columns=instrument.item_ids
        )
        expected = score_dimensions(frame, instrument)
        got = export_service._scores(instrument, values)
        assert got.shape == (len(instrument.dimensions), 500)
        assert np.array_equal(got.T, expected.to_numpy(), equal_nan=True)


def test_rows_are_ordered_by_their_keyed_pseudonym():
    ids = np.arange(1, 5001, dtype=np.int64) * 7
    key = bytes(range(32))
    order, ordered = export_service._keyed_order(ids, key, chunk=777)
    expected = pseudonymize(ids.tolist(), key, namespace="response")
    assert [p.decode() for p in export_service._hex(ordered).tolist()] == sorted(expected)
    assert [expected[i] for i in order] == sorted(expected)


def _wide_instrument():  # type: ignore[no-untyped-def]
    definition = _plain(DEFAULT.definition)
    definition.pop("translations", None)  # they would translate the scales changed here
    definition["response_scale"] = {"min": 0, "max": 10, "labels": [str(i) for i in range(11)]}
    return parse_instrument(definition, source="test")


@pytest.mark.parametrize("key_length", [16, 32, 64, 65, 200])
def test_pseudonyms_are_truncated_hmac_sha256(key_length):
    key = bytes(range(256))[:key_length]
    values = [1, 2, 10**20, -5, np.int64(7), "abc", "ünï", True, 3.5]
    for namespace in ("team", "response", "é"):
        for length in (8, 15, 16, 64):
            expected = [
                hmac.digest(key, f"{namespace}:{value}".encode(), "sha256").hex()[:length]
                for value in values
            ]
            assert pseudonymize(values, key, namespace=namespace, length=length) == expected


@pytest.mark.parametrize("buffer_size", [1, 7, 4096, 1 << 20])
def test_inflating_reads_a_zlib_stream_whole_whatever_the_buffer(buffer_size):
    import io
    import pickle
    import zlib

    rng = np.random.default_rng(0)
    data = {"scores": rng.random((3000, 5)), "names": [f"n{i}" for i in range(500)]}
    blob = zlib.compress(pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL), 3)
    reader = io.BufferedReader(export_service._Inflating(blob), buffer_size=buffer_size)
    loaded = pickle.load(reader)
    assert np.array_equal(loaded["scores"], data["scores"]) and loaded["names"] == data["names"]
    assert reader.read() == b""


def test_the_export_reads_the_analysis_the_dashboards_stored(lite, tmp_path):  # noqa: F811
    from survey.services import team_reports

    world = build_export_world(lite, teams={"Alpha": 30, "Beta": 25})
    with lite.app_context():
        survey_round = db.session.get(SurveyRound, world.round_id)
        snapshot = releases.current_snapshot(survey_round)
        assert export_service._stored_analysis(world.round_id, snapshot.id) is None
        team_reports.round_analysis(survey_round, 5)  # computes and stores it
        db.session.rollback()  # stored by another connection: read it in a new transaction
        ours = export_service._stored_analysis(world.round_id, snapshot.id)
        theirs = team_reports._load_stored(world.round_id, snapshot.id)
    assert ours is not None and theirs is not None
    assert ours.assignments.equals(theirs.assignments) and ours.teams.equals(theirs.teams)
    assert ours.scores.equals(theirs.scores)
