"""SPSS (.sav) and Stata (.dta) exports with labels, and the R script of the CSV export.

Each file is read back with pyreadstat (and the R script with R itself) and
compared with the instrument: variable labels are item texts, value labels
the answer scale, values the same as the CSV export of the same snapshot.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analytics.instrument_parser import load_default_instrument
from survey.services.export_labels import stats_labels, variable_label
from tests.survey.respond_helpers import csrf_from
from tests.survey.test_export import (
    build_export_world,
    lite,  # noqa: F401 - a fixture used below
    log_in,
    read_csv_zip,
    run_export,
)

DEFAULT = load_default_instrument()
TEAMS = {"Alpha": 12, "Beta": 9, "Gamma": 7}


def export_to(app, world, tmp_path: Path, fmt: str) -> Path:
    out = tmp_path / f"export-{fmt}.zip"
    run_export(app, world, out, fmt)
    return out


def read_stats(path: Path, fmt: str) -> tuple[pd.DataFrame, object, pd.DataFrame]:
    """Data, pyreadstat metadata and the bundled codebook of a .sav/.dta export."""
    folder = path.parent / f"unzipped-{fmt}"
    with zipfile.ZipFile(path) as bundle:
        assert sorted(bundle.namelist()) == ["codebook.csv", f"data.{fmt}", "manifest.json"]
        bundle.extractall(folder)
        codebook = pd.read_csv(io.BytesIO(bundle.read("codebook.csv")), dtype=str)
    reader = pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta
    frame, meta = reader(str(folder / f"data.{fmt}"))
    return frame, meta, codebook


@pytest.mark.parametrize("fmt", ["sav", "dta"])
def test_stats_files_carry_the_instruments_labels_and_the_csv_values(app, tmp_path, fmt):
    world = build_export_world(app, teams=TEAMS)
    frame, meta, codebook = read_stats(export_to(app, world, tmp_path, fmt), fmt)
    csv_data, _, _ = read_csv_zip(export_to(app, world, tmp_path, "csv"))

    labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
    limit = 80 if fmt == "dta" else 255
    for item in DEFAULT.items:
        expected = item.text if len(item.text) <= limit else item.text[: limit - 1]
        assert labels[item.id].startswith(expected.rstrip("…"))
        scale = DEFAULT.scale_for(item.id)
        assert meta.variable_value_labels[item.id] == {
            float(p): scale.label(p) for p in scale.points
        }
    # Scores are means: no value labels on them, but a variable label.
    assert not any(name.endswith("_score") for name in meta.variable_value_labels)
    assert labels["respondent_id"].startswith("Pseudonym of the response")
    assert list(codebook["name"]) == meta.column_names

    # The same snapshot: the same rows and values as the CSV export.
    assert len(frame) == len(csv_data) == sum(TEAMS.values())
    mine = frame.sort_values("respondent_id").reset_index(drop=True)
    theirs = csv_data.sort_values("respondent_id").reset_index(drop=True)
    for item in DEFAULT.item_ids:
        expected = pd.to_numeric(theirs[item].replace("", None))
        pd.testing.assert_series_equal(
            mine[item].astype(float), expected.astype(float), check_names=False
        )
    text = mine["team_id"].astype(str)
    assert list(text) == list(theirs["team_id"])


@pytest.mark.parametrize("fmt", ["sav", "dta"])
def test_stats_files_hold_nothing_identifying(lite, tmp_path, fmt):  # noqa: F811
    world = build_export_world(lite, teams=TEAMS)
    path = export_to(lite, world, tmp_path, fmt)
    with zipfile.ZipFile(path) as bundle:
        blob = b"".join(bundle.read(name) for name in bundle.namelist())
    for secret in world.forbidden:
        assert secret.encode() not in blob


def test_the_web_offers_spss_and_stata(lite, tmp_path):  # noqa: F811
    client = lite.test_client()
    world = build_export_world(lite, teams=TEAMS)
    log_in(client, world.admin_email)
    url = f"/admin/{world.org_id}/rounds/{world.round_id}/export"
    page = client.get(url)
    assert b"SPSS" in page.data and b"Stata" in page.data
    response = client.post(url, data={"csrf_token": csrf_from(page), "format": "sav", "k": "5"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.get_data())) as bundle:
        assert "data.sav" in bundle.namelist()


def test_variable_names_are_made_valid_for_spss_and_stata():
    codebook = [
        {"name": "trust-1", "meaning": "First. Second.", "type": "integer", "labels": {"1": "a"}},
        {"name": "trust_1", "meaning": "Taken already.", "type": "integer"},
        {"name": "TO", "meaning": "A reserved word in SPSS.", "type": "text"},
        {"name": "x" * 70, "meaning": "Too long.", "type": "number"},
    ]
    sav = stats_labels("sav", codebook)
    dta = stats_labels("dta", codebook)
    assert sav.names["trust-1"] == "trust_1" and sav.names["trust_1"] == "trust_1_2"
    assert sav.names["TO"] != "TO" and dta.names["TO"] == "TO"
    assert len(sav.names["x" * 70]) == 64 and len(dta.names["x" * 70]) == 32
    assert sav.column_labels["trust_1"] == "First"
    assert sav.value_labels == {"trust_1": {1: "a"}}
    assert sav.measures == {
        "trust_1": "ordinal",
        "trust_1_2": "ordinal",
        sav.names["TO"]: "nominal",
        "x" * 64: "scale",
    }


@given(
    st.lists(st.text(alphabet="abcXYZ019-_.", min_size=1, max_size=40), min_size=1, max_size=12),
    st.sampled_from(["sav", "dta"]),
)
def test_any_column_names_give_unique_valid_names(columns, fmt):
    columns = list(dict.fromkeys(columns))
    names = stats_labels(fmt, [{"name": c, "meaning": c, "type": "text"} for c in columns]).names
    written = list(names.values())
    assert len({n.lower() for n in written}) == len(written)
    for name in written:
        assert name[0].isalpha() and len(name) <= (64 if fmt == "sav" else 32)
        assert all(ch.isalnum() or ch == "_" for ch in name)


def test_variable_label_prefers_the_item_text():
    assert variable_label({"name": "a", "item_text": "Q?", "meaning": "M."}) == "Q?"
    assert variable_label({"name": "a", "meaning": "One thing. Another."}) == "One thing"


def _rscript() -> str | None:
    found = shutil.which("Rscript")
    if found is None and os.environ.get("CI") == "true":
        pytest.fail("CI=true but Rscript is not installed (Debian's r-base-core)")
    return found


def test_the_r_script_reads_the_csv_export_with_labels(lite, tmp_path):  # noqa: F811
    rscript = _rscript()
    if rscript is None:
        pytest.skip("Rscript not installed (Debian's r-base-core)")
    world = build_export_world(lite, teams=TEAMS)
    path = export_to(lite, world, tmp_path, "csv")
    folder = tmp_path / "csv"
    with zipfile.ZipFile(path) as bundle:
        bundle.extractall(folder)
    program = """
    source("read_negoscope.R")
    d <- read_negoscope(".")
    cat(nrow(d), "\\n")
    cat(class(d$TR1), "\\n")
    cat(attr(d$TR1, "label"), "\\n")
    labels <- attr(d$TR1, "labels")
    cat(paste(names(labels), unname(labels), sep = "=", collapse = "|"), "\\n")
    f <- negoscope_factor(d$TR1)
    cat(is.ordered(f), sum(!is.na(f)) == sum(!is.na(d$TR1)), "\\n")
    cat(class(d$trust_score), class(d$team_id), "\\n")
    """
    result = subprocess.run(
        [rscript, "--vanilla", "-e", program],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = [line.strip() for line in result.stdout.splitlines()]
    item = DEFAULT.item("TR1") if hasattr(DEFAULT, "item") else DEFAULT.items[0]
    scale = DEFAULT.scale_for("TR1")
    assert lines[0] == str(sum(TEAMS.values()))
    assert lines[1] == "integer"
    assert lines[2] == item.text
    assert lines[3] == "|".join(f"{scale.label(p)}={p}" for p in scale.points)
    assert lines[4] == "TRUE TRUE"
    assert lines[5] == "numeric character"
