"""Writers of export files: CSV in a zip, XLSX, Parquet; each streams record batches.

Every writer takes the data as :class:`pyarrow.RecordBatch` chunks, in order,
and puts the codebook and the manifest beside them:

* ``csv``: a zip holding ``data.csv``, ``codebook.csv``, ``manifest.json``,
  ``variable_labels.csv``, ``value_labels.csv`` and ``read_negoscope.R``, a
  base-R script that reads the data with its variable and value labels
  (deflate level 1: CSV shrinks about fourfold at little cost);
* ``xlsx``: one workbook with the sheets ``data`` (continued on ``data (2)``...
  beyond Excel's 1,048,576 rows), ``codebook`` and ``manifest``, written by
  xlsxwriter in constant-memory mode;
* ``sav`` / ``dta``: a zip holding ``data.sav`` (SPSS) or ``data.dta`` (Stata)
  with variable and value labels (:mod:`survey.services.export_labels`),
  ``codebook.csv`` and ``manifest.json``; pyreadstat writes a whole frame, so
  these two keep the rows in memory until ``close``;
* ``parquet``: one row group per batch, the codebook and manifest as JSON in
  the file's key-value metadata (``negoscope.codebook``, ``negoscope.manifest``)
  *and* in sidecar files ``<name>.codebook.json`` and ``<name>.manifest.json``;
  with ``bundle=True`` (a web download must be one file) a zip holding
  ``data.parquet``, ``codebook.json`` and ``manifest.json`` instead.

The data written depends on the batches alone: the manifest keys named
``volatile`` (a creation time, say) are left out of the copy embedded in a
Parquet file, so that exporting the same rows twice gives identical data files.

Text cells of CSV and XLSX files (data and codebook) are expected to be
neutralized by the caller (:func:`analytics.anonymity.neutralize`); numbers are
written as numbers, and the XLSX writer never turns a string into a formula,
URL or number.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from analytics.anonymity import neutralize
from survey.services.export_labels import (
    STATS_FORMATS,
    stats_labels,
    value_label_rows,
    variable_label_rows,
)

FORMATS = ("csv", "xlsx", "parquet", *STATS_FORMATS)
R_SCRIPT = "read_negoscope.R"
CODEBOOK_FIELDS = (
    "name",
    "meaning",
    "type",
    "item_text",
    "dimension",
    "reverse_keyed",
    "scale",
    "labels",
    "values",
)
XLSX_MAX_ROWS = 1_048_576
ZIP_LEVEL = 1


class ExportWriter(Protocol):
    """Receives the data in order, then writes everything out on ``close``."""

    def write(self, batch: pa.RecordBatch) -> None:
        """Append rows."""

    def close(self) -> list[Path]:
        """Finish the files; return their paths."""

    def abort(self) -> None:
        """Stop after an error, leaving no partial file behind."""


def open_writer(
    fmt: str,
    out: Path,
    schema: pa.Schema,
    codebook: Sequence[Mapping[str, Any]],
    manifest: Mapping[str, Any],
    *,
    bundle: bool = False,
    volatile: Sequence[str] = (),
) -> ExportWriter:
    """The writer of one format (``bundle`` and ``volatile`` only matter for parquet)."""
    if fmt == "csv":
        return CsvZipWriter(out, schema, codebook, manifest)
    if fmt == "xlsx":
        return XlsxExportWriter(out, schema, codebook, manifest)
    if fmt in STATS_FORMATS:
        return StatsExportWriter(fmt, out, schema, codebook, manifest)
    if fmt == "parquet":
        return ParquetExportWriter(
            out, schema, codebook, manifest, bundle=bundle, volatile=volatile
        )
    raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")


def sidecar_paths(out: Path) -> tuple[Path, Path]:
    """``<name>.codebook.json`` and ``<name>.manifest.json`` beside a parquet file."""
    stem = out.name[: -len(".parquet")] if out.name.endswith(".parquet") else out.name
    return out.with_name(f"{stem}.codebook.json"), out.with_name(f"{stem}.manifest.json")


def codebook_json(codebook: Sequence[Mapping[str, Any]]) -> str:
    """The codebook as JSON text."""
    return json.dumps({"columns": list(codebook)}, indent=2, ensure_ascii=False)


def manifest_json(manifest: Mapping[str, Any]) -> str:
    """The manifest as JSON text."""
    return json.dumps(manifest, indent=2, ensure_ascii=False)


def codebook_rows(codebook: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    """The codebook as a table of neutralized text cells, header first."""
    rows = [list(CODEBOOK_FIELDS)]
    for entry in codebook:
        rows.append([neutralize(_text(entry.get(name))) for name in CODEBOOK_FIELDS])
    return rows


def manifest_rows(manifest: Mapping[str, Any]) -> list[list[str]]:
    """The manifest flattened to (key, value) text rows, neutralized."""
    rows = [["key", "value"]]
    for key, value in _flatten(manifest, ""):
        rows.append([neutralize(key), neutralize(_text(value))])
    return rows


def _flatten(value: Any, prefix: str) -> list[tuple[str, Any]]:
    if isinstance(value, Mapping):
        out = []
        for key, inner in value.items():
            out.extend(_flatten(inner, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return [(prefix, value)]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return "; ".join(f"{k} = {_text(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "; ".join(_text(v) for v in value)
    return str(value)


def _csv_text(rows: list[list[str]]) -> str:
    import csv

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


class CsvZipWriter:
    """``data.csv`` streamed into a zip, then ``codebook.csv`` and ``manifest.json``."""

    def __init__(
        self,
        out: Path,
        schema: pa.Schema,
        codebook: Sequence[Mapping[str, Any]],
        manifest: Mapping[str, Any],
    ) -> None:
        self.out = out
        self.codebook = codebook
        self.manifest = manifest
        self.zip = zipfile.ZipFile(
            out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=ZIP_LEVEL, allowZip64=True
        )
        self.member = self.zip.open("data.csv", "w", force_zip64=True)
        options = pa_csv.WriteOptions(include_header=True, quoting_style="needed")
        self.writer = pa_csv.CSVWriter(self.member, schema, write_options=options)

    def write(self, batch: pa.RecordBatch) -> None:
        self.writer.write_batch(batch)

    def close(self) -> list[Path]:
        self.writer.close()
        self.member.close()
        self.zip.writestr("codebook.csv", _csv_text(codebook_rows(self.codebook)))
        self.zip.writestr("manifest.json", manifest_json(self.manifest))
        for name, rows in (
            ("variable_labels.csv", variable_label_rows(self.codebook)),
            ("value_labels.csv", value_label_rows(self.codebook)),
        ):
            self.zip.writestr(name, _csv_text([[neutralize(c) for c in row] for row in rows]))
        self.zip.writestr(R_SCRIPT, r_script())
        self.zip.close()
        return [self.out]

    def abort(self) -> None:
        for closer in (self.writer.close, self.member.close, self.zip.close):
            with contextlib.suppress(Exception):  # cleaning up after an earlier error
                closer()
        self.out.unlink(missing_ok=True)


class XlsxExportWriter:
    """A workbook in constant-memory mode: data sheets, then codebook and manifest."""

    def __init__(
        self,
        out: Path,
        schema: pa.Schema,
        codebook: Sequence[Mapping[str, Any]],
        manifest: Mapping[str, Any],
    ) -> None:
        import xlsxwriter

        self.out = out
        self.codebook = codebook
        self.manifest = manifest
        self.tmpdir = tempfile.TemporaryDirectory(prefix="negoscope-xlsx-")
        self.book = xlsxwriter.Workbook(
            str(out),
            {
                "constant_memory": True,
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
                "use_zip64": True,
                "tmpdir": self.tmpdir.name,
            },
        )
        self.header = list(schema.names)
        self.numeric = [pa.types.is_integer(f.type) or pa.types.is_floating(f.type) for f in schema]
        self.bold = self.book.add_format({"bold": True})
        self.sheets = 0
        self._new_sheet()

    def _new_sheet(self) -> None:
        self.sheets += 1
        name = "data" if self.sheets == 1 else f"data ({self.sheets})"
        self.sheet = self.book.add_worksheet(name)
        for col, title in enumerate(self.header):
            self.sheet.write_string(0, col, neutralize(title), self.bold)
        self.row = 1

    def write(self, batch: pa.RecordBatch) -> None:
        columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
        start = 0
        while start < batch.num_rows:
            if self.row >= XLSX_MAX_ROWS:
                self._new_sheet()
            stop = min(batch.num_rows, start + XLSX_MAX_ROWS - self.row)
            self._write_rows([c[start:stop] for c in columns])
            start = stop

    def _write_rows(self, columns: list[list[Any]]) -> None:
        write_string = self.sheet.write_string
        write_number = self.sheet.write_number
        numeric = self.numeric
        row = self.row
        for values in zip(*columns, strict=True):
            for col, value in enumerate(values):
                if value is None:
                    continue
                if numeric[col]:
                    write_number(row, col, value)
                else:
                    write_string(row, col, value)
            row += 1
        self.row = row

    def close(self) -> list[Path]:
        for name, rows in (
            ("codebook", codebook_rows(self.codebook)),
            ("manifest", manifest_rows(self.manifest)),
        ):
            sheet = self.book.add_worksheet(name)
            for r, cells in enumerate(rows):
                for c, value in enumerate(cells):
                    sheet.write_string(r, c, value, self.bold if r == 0 else None)
        self.book.close()
        self.tmpdir.cleanup()
        return [self.out]

    def abort(self) -> None:
        with contextlib.suppress(Exception):  # cleaning up after an earlier error
            self.book.close()
        self.tmpdir.cleanup()
        self.out.unlink(missing_ok=True)


class ParquetExportWriter:
    """Row groups of one parquet file, codebook and manifest as metadata and beside it.

    The manifest embedded in the file leaves out the ``volatile`` keys; the
    sidecar (or bundled) ``manifest.json`` holds them all.
    """

    def __init__(
        self,
        out: Path,
        schema: pa.Schema,
        codebook: Sequence[Mapping[str, Any]],
        manifest: Mapping[str, Any],
        *,
        bundle: bool,
        volatile: Sequence[str] = (),
    ) -> None:
        self.out = out
        self.bundle = bundle
        self.codebook_text = codebook_json(codebook)
        self.manifest_text = manifest_json(manifest)
        embedded = {key: value for key, value in manifest.items() if key not in volatile}
        metadata = {
            b"negoscope.codebook": self.codebook_text.encode("utf-8"),
            b"negoscope.manifest": manifest_json(embedded).encode("utf-8"),
        }
        self.tmpdir = tempfile.TemporaryDirectory(prefix="negoscope-parquet-")
        self.data_path = Path(self.tmpdir.name) / "data.parquet" if bundle else out
        self.writer = pq.ParquetWriter(
            self.data_path, schema.with_metadata(metadata), compression="snappy"
        )

    def write(self, batch: pa.RecordBatch) -> None:
        self.writer.write_batch(batch)

    def close(self) -> list[Path]:
        self.writer.close()
        try:
            if self.bundle:
                with zipfile.ZipFile(self.out, "w", zipfile.ZIP_STORED, allowZip64=True) as bundle:
                    bundle.write(self.data_path, "data.parquet")
                    bundle.writestr("codebook.json", self.codebook_text)
                    bundle.writestr("manifest.json", self.manifest_text)
                return [self.out]
            codebook_path, manifest_path = sidecar_paths(self.out)
            codebook_path.write_text(self.codebook_text, encoding="utf-8")
            manifest_path.write_text(self.manifest_text, encoding="utf-8")
            return [self.out, codebook_path, manifest_path]
        finally:
            self.tmpdir.cleanup()

    def abort(self) -> None:
        with contextlib.suppress(Exception):  # cleaning up after an earlier error
            self.writer.close()
        self.tmpdir.cleanup()
        self.out.unlink(missing_ok=True)


def r_script() -> str:
    """The base-R script shipped in every CSV export (``survey/data/read_negoscope.R``)."""
    return (resources.files("survey") / "data" / R_SCRIPT).read_text(encoding="utf-8")


class StatsExportWriter:
    """An SPSS or Stata file with labels, zipped with the codebook and the manifest.

    pyreadstat writes a whole data frame at once, so the batches are kept (as
    compact Arrow tables) until :meth:`close`.
    """

    def __init__(
        self,
        fmt: str,
        out: Path,
        schema: pa.Schema,
        codebook: Sequence[Mapping[str, Any]],
        manifest: Mapping[str, Any],
    ) -> None:
        self.fmt = fmt
        self.out = out
        self.schema = schema
        self.labels = stats_labels(fmt, codebook)
        self.codebook = [{**entry, "name": self.labels.names[entry["name"]]} for entry in codebook]
        self.manifest = manifest
        self.batches: list[pa.RecordBatch] = []

    def write(self, batch: pa.RecordBatch) -> None:
        self.batches.append(batch)

    def close(self) -> list[Path]:
        import pyreadstat

        frame = pa.Table.from_batches(self.batches, schema=self.schema).to_pandas()
        self.batches = []
        for field in self.schema:
            if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
                frame[field.name] = frame[field.name].fillna("").astype(str)
        frame = frame.rename(columns=self.labels.names)
        with tempfile.TemporaryDirectory(prefix="negoscope-stats-") as tmp:
            data_path = Path(tmp) / f"data.{self.fmt}"
            common = {
                "file_label": "Negoscope export",
                "column_labels": self.labels.column_labels,
                "variable_value_labels": self.labels.value_labels,
            }
            if self.fmt == "sav":
                pyreadstat.write_sav(
                    frame, data_path, variable_measure=self.labels.measures, **common
                )
            else:
                pyreadstat.write_dta(frame, data_path, version=15, **common)
            with zipfile.ZipFile(
                self.out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=ZIP_LEVEL
            ) as bundle:
                bundle.write(data_path, data_path.name)
                bundle.writestr("codebook.csv", _csv_text(codebook_rows(self.codebook)))
                bundle.writestr("manifest.json", manifest_json(self.manifest))
        return [self.out]

    def abort(self) -> None:
        self.batches = []
        self.out.unlink(missing_ok=True)
