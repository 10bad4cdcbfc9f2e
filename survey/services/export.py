"""Anonymized export of a round's answers: one row per submitted response.

The export never holds the whole round in memory. It reads the database in
two passes, inside one transaction so that both see the same responses:

1. the quasi-identifiers of every response - team, context answers and the
   submission week - a few bytes per response;
2. the item answers, in chunks of responses by id (``CHUNK_ROWS``), pivoted
   into a compact matrix (``int8`` per answer; memory-mapped on disk beyond
   64 MB).

Profiles are fitted (:class:`analytics.profiles.ProfileModel`, the same model
and seed as the round analysis) on the blocker scores of all responses, or of
a random sample of ``PROFILE_FIT_ROWS`` when there are more, and predicted
chunk by chunk. :func:`analytics.anonymity.k_anonymize` then decides which
rows are kept and how the quasi-identifiers are generalized, and the rows are
written chunk by chunk by :mod:`survey.services.export_writers`.

Columns, in order: ``respondent_id``, ``team_id`` (keyed-hash pseudonyms),
``round``, ``instrument_id``, ``instrument_version``, one column per item (as
answered, blank when skipped), ``<dimension>_score`` per dimension,
``profile``, one column per context question (generalized) and
``submission_week`` (ISO week, UTC). Nothing else: no names, emails, tokens,
database ids, addresses, user agents or free text.

Both passes are read by :mod:`survey.services.export_reads`, straight through
the database driver (plain tuples; on PostgreSQL a server-side cursor), which
halves the time of the answer pass compared with SQLAlchemy result rows; on
SQLite each response's answers arrive packed in one row (``group_concat`` of
the values as digits, constants inlined in the SQL), which leaves SQLite's own
scan of the answers as most of the time. Python does no work per answer: rows
become numpy arrays column by column, scores are computed on the int8 matrix,
and record batches are built from numpy arrays and arrow ``take`` of label
arrays.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import secrets
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from analytics.anonymity import (
    AnonymityReport,
    Anonymization,
    QuasiIdentifier,
    context_quasi_identifiers,
    k_anonymize,
    neutralize,
    new_pseudonym_key,
    pseudonymize,
)
from analytics.instrument import Instrument
from analytics.pipeline import MIN_PROFILE_RESPONDENTS
from analytics.profiles import ProfileModel
from analytics.scoring import DEFAULT_MIN_FRACTION, min_answered, select_dimensions
from survey.extensions import db
from survey.models import Organization, SurveyRound, User
from survey.services import audit
from survey.services.export_reads import (
    MISSING,
    AnswerMatrix,
    RoundRows,
    read_answers,
    read_round_rows,
)
from survey.services.export_writers import FORMATS, open_writer
from survey.services.instruments import instrument_of

__all__ = [
    "CHUNK_ROWS",
    "FORMATS",
    "PROFILE_FIT_ROWS",
    "ExportError",
    "ExportResult",
    "export_round",
    "record_export",
    "stable_export_key",
]

CHUNK_ROWS = 25_000
PROFILE_FIT_ROWS = 20_000
PSEUDONYM_LENGTH = 16
SEED = 0
LEADING_COLUMNS = ("respondent_id", "team_id", "round", "instrument_id", "instrument_version")
WEEK = "submission_week"


class ExportError(ValueError):
    """The round cannot be exported as asked."""


@dataclass(frozen=True, eq=False)
class ExportResult:
    """What an export wrote."""

    files: tuple[Path, ...]
    format: str
    rows: int
    k: int
    k_reached: int | None
    stable_ids: bool
    report: AnonymityReport
    manifest: dict[str, Any]


# ---------------------------------------------------------------- keys
def stable_export_key(org: Organization, *, create: bool = True) -> bytes:
    """The organization's persistent pseudonym key (created on first use; caller commits).

    Raises
    ------
    NotImplementedError
        When the ``organizations.export_key`` column (String(64), nullable,
        added by an Alembic migration) does not exist.
    LookupError
        When there is no key yet and ``create`` is false.
    """
    if not hasattr(type(org), "export_key"):
        raise NotImplementedError(
            "--stable-ids needs the column organizations.export_key (String(64), nullable)"
            " and its Alembic migration"
        )
    key = getattr(org, "export_key", None)
    if key is None:
        if not create:
            raise LookupError(f"organization {org.id} has no export key yet")
        key = secrets.token_hex(32)
        org.export_key = key
        db.session.flush()
    return bytes.fromhex(key)


# ---------------------------------------------------------------- scores, profiles
class _Scorer:
    """:func:`analytics.scoring.score_dimensions` on rows of the int8 answer matrix.

    The same rule and the same numbers: a score is the sum of the answered,
    reverse-keyed items divided by their count (both exact integers, so the
    float division gives exactly the value ``score_dimensions`` computes from
    a float frame), ``NaN`` when fewer than ``min_answered`` items were
    answered. Works on the int8 block directly, without building frames.
    """

    def __init__(self, instrument: Instrument, dimensions: Sequence[str] | None = None) -> None:
        position = {item: i for i, item in enumerate(instrument.item_ids)}
        self.ids: list[str] = []
        self.parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, int]] = []
        for dim in select_dimensions(instrument, dimensions):
            columns = np.array([position[item.id] for item in dim.items], dtype=np.int64)
            reverse = np.array([item.reverse for item in dim.items], dtype=bool)
            scales = [instrument.scale_for(item.id) for item in dim.items]
            pivot = np.array([s.min + s.max for s in scales], dtype=np.int32)
            needed = min_answered(len(dim.items), DEFAULT_MIN_FRACTION)
            self.ids.append(dim.id)
            self.parts.append((columns, reverse, pivot, needed))

    def __call__(self, values: np.ndarray) -> np.ndarray:
        """Scores (rows x dimensions, float64) of a block of answer rows."""
        out = np.empty((values.shape[0], len(self.parts)), dtype=np.float64)
        for d, (columns, reverse, pivot, needed) in enumerate(self.parts):
            answers = values[:, columns].astype(np.int32)
            answered = answers != MISSING
            keyed = np.where(reverse, pivot - answers, answers)
            total = np.where(answered, keyed, 0).sum(axis=1)
            count = answered.sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = total / count
            mean[count < needed] = np.nan
            out[:, d] = mean
        return out

    def frame(self, values: np.ndarray) -> pd.DataFrame:
        """Scores as :func:`score_dimensions` returns them (a frame with a range index)."""
        return pd.DataFrame(self(values), columns=self.ids)


@dataclass(frozen=True, eq=False)
class _Profiles:
    codes: np.ndarray  # profile index per response, -1 when unassigned
    names: tuple[str, ...]
    model: ProfileModel | None
    fitted_rows: int


def _profiles(
    instrument: Instrument,
    matrix: AnswerMatrix,
    n: int,
    chunk: int,
    model: ProfileModel | None,
    progress: Callable[[str], None],
) -> _Profiles:
    blocker_ids = [dim.id for dim in instrument.blocker_dimensions]
    blocker_scores = _Scorer(instrument, blocker_ids)
    codes = np.full(n, -1, dtype=np.int16)
    fitted_rows = 0
    if model is None or not hasattr(model, "names_"):
        rows = np.arange(n)
        if n > PROFILE_FIT_ROWS:
            rng = np.random.default_rng(SEED)
            rows = np.sort(rng.choice(n, PROFILE_FIT_ROWS, replace=False))
        blockers = blocker_scores.frame(matrix.values[rows])
        if int(blockers.notna().all(axis=1).sum()) < MIN_PROFILE_RESPONDENTS:
            return _Profiles(codes, (), None, 0)
        progress(f"Fitting profiles on {len(rows):,} responses")
        names = {dim.id: dim.name for dim in instrument.blocker_dimensions}
        model = ProfileModel(random_state=SEED, dimension_names=names).fit(blockers)
        fitted_rows = len(rows)
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        scores = blocker_scores.frame(matrix.values[start:stop])
        predicted = model.predict(scores)
        codes[start:stop] = predicted.cat.codes.to_numpy()
    return _Profiles(codes, tuple(str(name) for name in model.names_), model, fitted_rows)


# ---------------------------------------------------------------- columns, codebook
def _score_column(dimension_id: str) -> str:
    return f"{dimension_id}_score"


def _column_names(instrument: Instrument) -> list[str]:
    names = [
        *LEADING_COLUMNS,
        *instrument.item_ids,
        *(_score_column(d.id) for d in instrument.dimensions),
        "profile",
        *instrument.context_ids,
        WEEK,
    ]
    if len(set(names)) != len(names):
        clashes = sorted({n for n in names if names.count(n) > 1})
        raise ExportError(f"the instrument's ids clash with export columns: {clashes}")
    return names


def _schema(instrument: Instrument) -> pa.Schema:
    fields = [
        pa.field("respondent_id", pa.string()),
        pa.field("team_id", pa.string()),
        pa.field("round", pa.string()),
        pa.field("instrument_id", pa.string()),
        pa.field("instrument_version", pa.int32()),
    ]
    fields += [pa.field(item, pa.int8()) for item in instrument.item_ids]
    fields += [pa.field(_score_column(d.id), pa.float64()) for d in instrument.dimensions]
    fields.append(pa.field("profile", pa.string()))
    fields += [pa.field(q, pa.string()) for q in instrument.context_ids]
    fields.append(pa.field(WEEK, pa.string()))
    return pa.schema(fields)


def _scale_text(
    instrument: Instrument, item_id: str | None = None, dim_id: str | None = None
) -> tuple[str, dict[str, str]]:
    scale = (
        instrument.scale_for(item_id)
        if item_id
        else (instrument.dimension(str(dim_id)).response_scale or instrument.response_scale)
    )
    labels = {str(p): scale.label(p) for p in scale.points}
    return f"{scale.min}-{scale.max}", labels


def _codebook(
    instrument: Instrument,
    anonymization: Anonymization,
    qis: Sequence[QuasiIdentifier],
    profiles: _Profiles,
    min_fraction: float,
) -> list[dict[str, Any]]:
    def entry(name: str, meaning: str, kind: str, **extra: Any) -> dict[str, Any]:
        row: dict[str, Any] = {
            "name": name,
            "meaning": meaning,
            "type": kind,
            "item_text": None,
            "dimension": None,
            "reverse_keyed": None,
            "scale": None,
            "labels": None,
            "values": None,
        }
        row.update(extra)
        return row

    out = [
        entry(
            "respondent_id",
            "Pseudonym of the response: a keyed hash (see the manifest). It identifies a"
            " response, not a person: the same person in another round gets an unrelated id.",
            "text",
        ),
        entry(
            "team_id",
            "Pseudonym of the team (keyed hash); team names are never exported.",
            "text",
        ),
        entry("round", "Name of the survey round.", "text"),
        entry("instrument_id", "Id of the questionnaire (instrument) answered.", "text"),
        entry("instrument_version", "Version of the instrument answered.", "integer"),
    ]
    for item in instrument.items:
        dim = instrument.dimension_of(item.id)
        scale, labels = _scale_text(instrument, item_id=item.id)
        out.append(
            entry(
                item.id,
                f"Answer to item {item.id} as given (not reverse-keyed); blank = unanswered.",
                "integer",
                item_text=item.text,
                dimension=dim.id,
                reverse_keyed=item.reverse,
                scale=scale,
                labels=labels,
            )
        )
    for dim in instrument.dimensions:
        scale, labels = _scale_text(instrument, dim_id=dim.id)
        needed = min_answered(len(dim.items), min_fraction)
        reversed_items = [i.id for i in dim.items if i.reverse]
        out.append(
            entry(
                _score_column(dim.id),
                f"Score on {dim.name}: mean of the answered items {', '.join(dim.item_ids)}"
                + (f" after reverse keying {', '.join(reversed_items)}" if reversed_items else "")
                + f"; blank when fewer than {needed} of {len(dim.items)} items were answered."
                f" {dim.description}".rstrip(),
                "number",
                dimension=dim.id,
                scale=scale,
                labels=labels,
            )
        )
    out.append(
        entry(
            "profile",
            "Negotiation profile: the most likely latent profile (Gaussian mixture on the"
            " blocker scores, as in the round analysis). Blank when a blocker score is missing,"
            " or withheld where all rows sharing the team and context values would show the"
            " same profile.",
            "text",
            values=list(profiles.names),
        )
    )
    for j, qi in enumerate(qis):
        recoding = anonymization.report.recodings[j]
        values = [
            label if group == (label,) else f"{label} = {', '.join(group)}"
            for label, group in zip(recoding.labels, recoding.groups, strict=True)
        ]
        if qi.name == WEEK:
            meaning = (
                "ISO 8601 week (UTC) in which the response was submitted, e.g. 2026-W47;"
                " never an exact time. Merged weeks read 'A to B'; blank = withheld."
            )
        else:
            question = next(q for q in instrument.context if q.id == qi.name)
            kind = "ordered" if qi.ordered else "unordered"
            meaning = (
                f"Context question: {question.text} ({kind} options), after generalization"
                " for k-anonymity: merged options are shown as one value; blank = unanswered"
                " or withheld."
            )
        out.append(entry(qi.name, meaning, "text", values=values))
    order = {name: i for i, name in enumerate(_column_names(instrument))}
    return sorted(out, key=lambda e: order[e["name"]])


# ---------------------------------------------------------------- writing
class _Batches:
    """Builds the record batch of one chunk of rows (arrow arrays straight from numpy)."""

    def __init__(
        self,
        survey_round: SurveyRound,
        instrument: Instrument,
        rows: RoundRows,
        matrix: AnswerMatrix,
        profiles: _Profiles,
        anonymization: Anonymization,
        qis: Sequence[QuasiIdentifier],
        key: bytes,
        schema: pa.Schema,
        inert: bool,
    ) -> None:
        self.instrument = instrument
        self.rows = rows
        self.matrix = matrix
        self.profiles = profiles
        self.anonymization = anonymization
        self.schema = schema
        self.scores = _Scorer(instrument)
        clean = neutralize if inert else (lambda text: text)
        self.team_ids = np.unique(rows.teams)
        self.team_pseudonyms = pa.array(
            pseudonymize(self.team_ids.tolist(), key, namespace="team", length=PSEUDONYM_LENGTH),
            pa.string(),
        )
        self.key = key
        self.round_name = pa.scalar(clean(survey_round.name), pa.string())
        self.instrument_id = pa.scalar(clean(instrument.id), pa.string())
        self.version = pa.scalar(instrument.version, pa.int32())
        # labels with a null last: code -1 (none, withheld) picks the null
        self.profile_names = pa.array([*(clean(n) for n in profiles.names), None], pa.string())
        self.qi_labels = [
            pa.array([*(clean(label) for label in labels), None], pa.string())
            for labels in anonymization.labels
        ]
        self.qi_index = {qi.name: j for j, qi in enumerate(qis)}

    def batch(self, start: int, stop: int) -> pa.RecordBatch | None:
        keep = np.flatnonzero(self.anonymization.keep[start:stop]) + start
        if keep.size == 0:
            return None
        m = keep.size
        items = self.matrix.values[keep]
        scores = np.ascontiguousarray(self.scores(items).T)
        cells = np.ascontiguousarray(items.T)
        columns: list[pa.Array] = [
            pa.array(
                pseudonymize(
                    self.rows.ids[keep].tolist(),
                    self.key,
                    namespace="response",
                    length=PSEUDONYM_LENGTH,
                ),
                pa.string(),
            ),
            self.team_pseudonyms.take(np.searchsorted(self.team_ids, self.rows.teams[keep])),
            pa.repeat(self.round_name, m),
            pa.repeat(self.instrument_id, m),
            pa.repeat(self.version, m),
        ]
        for column in cells:
            columns.append(pa.array(column, pa.int8(), mask=column == MISSING))
        for values in scores:
            columns.append(pa.array(values, pa.float64(), mask=np.isnan(values)))
        codes = self.profiles.codes[keep].astype(np.int64)
        show = self.anonymization.show_profile
        if show is not None:
            codes = np.where(show[keep], codes, -1)
        none = len(self.profile_names) - 1
        columns.append(self.profile_names.take(np.where(codes >= 0, codes, none)))
        for name in [*self.instrument.context_ids, WEEK]:
            j = self.qi_index[name]
            labels = self.qi_labels[j]
            qi_codes = self.anonymization.codes[j][keep].astype(np.int64)
            columns.append(labels.take(np.where(qi_codes >= 0, qi_codes, len(labels) - 1)))
        return pa.RecordBatch.from_arrays(columns, schema=self.schema)


def export_round(
    survey_round: SurveyRound,
    out: Path,
    *,
    fmt: str,
    k: int,
    stable_ids: bool = False,
    bundle: bool = False,
    profile_model: ProfileModel | None = None,
    chunk_rows: int = CHUNK_ROWS,
    today: date | None = None,
    progress: Callable[[str], None] | None = None,
) -> ExportResult:
    """Write the anonymized answers of a round, with codebook and manifest.

    Parameters
    ----------
    survey_round : SurveyRound
    out : pathlib.Path
        The file to write (parquet without ``bundle`` also writes two sidecars).
    fmt : {"csv", "xlsx", "parquet"}
    k : int
        Every combination of team and generalized context values and week
        occurs at least ``k`` times among the exported rows.
    stable_ids : bool, default False
        Pseudonyms from the organization's persistent key, so that they repeat
        across exports; by default a fresh random key, so that two exports
        cannot be joined. Create the key first (:func:`stable_export_key` and a
        commit, in a short write transaction): made here, it would hold a
        write lock for the whole export.
    bundle : bool, default False
        Parquet only: one zip with the data, codebook and manifest.
    profile_model : ProfileModel, optional
        A fitted model to use instead of fitting one.
    chunk_rows : int
        Responses per chunk (memory is proportional to it).
    today : date, optional
        The date written in the manifest.
    progress : callable, optional
        Called with a short message before each step.

    Returns
    -------
    ExportResult
    """
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if k < 2:
        raise ExportError(f"k must be at least 2, got {k}")
    report = progress or (lambda message: None)
    instrument = instrument_of(survey_round.instrument)
    scales = [instrument.scale_for(item) for item in instrument.item_ids]
    if any(s.min < -127 or s.max > 127 for s in scales):
        raise ExportError("item scales beyond -127..127 cannot be exported")
    schema = _schema(instrument)
    _column_names(instrument)  # refuses clashing ids before any work
    key = stable_export_key(survey_round.organization) if stable_ids else new_pseudonym_key()
    _begin_snapshot()
    report("Reading responses and context answers")
    rows = read_round_rows(survey_round, instrument)
    _release_memory()
    with tempfile.TemporaryDirectory(prefix="negoscope-export-") as folder:
        matrix = AnswerMatrix(rows.n, instrument.item_ids, Path(folder))
        read_answers(survey_round, instrument, rows.ids, matrix, chunk_rows, report)
        _release_memory()
        profiles = _profiles(instrument, matrix, rows.n, chunk_rows, profile_model, report)
        _release_memory()
        report("Applying k-anonymity")
        qis = [
            *context_quasi_identifiers(instrument.context),
            QuasiIdentifier(WEEK, rows.week_labels, ordered=True),
        ]
        anonymization = k_anonymize(
            rows.teams,
            [*rows.context, rows.weeks],
            qis,
            k=k,
            profiles=profiles.codes if profiles.model is not None else None,
            random_state=SEED,
        )
        _release_memory()
        codebook = _codebook(instrument, anonymization, qis, profiles, DEFAULT_MIN_FRACTION)
        manifest = _manifest(
            survey_round, instrument, fmt, anonymization, qis, profiles, rows, stable_ids, today
        )
        batches = _Batches(
            survey_round,
            instrument,
            rows,
            matrix,
            profiles,
            anonymization,
            qis,
            key,
            schema,
            inert=fmt in ("csv", "xlsx"),
        )
        writer = open_writer(fmt, out, schema, codebook, manifest, bundle=bundle)
        try:
            for start in range(0, rows.n, chunk_rows):
                stop = min(start + chunk_rows, rows.n)
                report(f"Writing rows {start + 1:,}-{stop:,} of {rows.n:,}")
                batch = batches.batch(start, stop)
                if batch is not None:
                    writer.write(batch)
                del batch
                _release_memory()
            files = writer.close()
        except BaseException:
            writer.abort()
            raise
    result = anonymization.report
    return ExportResult(
        files=tuple(files),
        format=fmt,
        rows=result.rows_out,
        k=k,
        k_reached=result.k_reached,
        stable_ids=stable_ids,
        report=result,
        manifest=manifest,
    )


def _release_memory() -> None:
    """Hand freed memory back to the system between chunks, so the peak stays flat."""
    pa.default_memory_pool().release_unused()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _load_libc() -> Any:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim  # noqa: B018 - glibc only
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _load_libc()


def _begin_snapshot() -> None:
    """Read both passes in one transaction (one snapshot; REPEATABLE READ on PostgreSQL)."""
    session = db.session()
    if session.in_transaction():
        return
    if db.engine.dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    else:
        session.connection()


def _manifest(
    survey_round: SurveyRound,
    instrument: Instrument,
    fmt: str,
    anonymization: Anonymization,
    qis: Sequence[QuasiIdentifier],
    profiles: _Profiles,
    rows: RoundRows,
    stable_ids: bool,
    today: date | None,
) -> dict[str, Any]:
    report = anonymization.report
    if stable_ids:
        key_text = (
            "the organization's persistent export key (--stable-ids): every export of this"
            " organization made with it shows the same pseudonyms"
        )
    else:
        key_text = (
            "a fresh random 256-bit key made for this export and then discarded: no other"
            " export shares its pseudonyms"
        )
    model = profiles.model
    profile_info: dict[str, Any]
    if model is None:
        profile_info = {
            "available": False,
            "reason": f"fewer than {MIN_PROFILE_RESPONDENTS} responses have every blocker score",
        }
    else:
        profile_info = {
            "available": True,
            "method": "Gaussian mixture latent profile analysis of the blocker scores"
            " (analytics.profiles.ProfileModel, chosen by BIC, seed 0)",
            "fitted_on_responses": profiles.fitted_rows or None,
            "sample": "all responses"
            if profiles.fitted_rows == rows.n
            else (
                f"a random sample of {profiles.fitted_rows:,} responses"
                if profiles.fitted_rows
                else "a model fitted beforehand"
            ),
            "k": int(model.k_),
            "names": list(profiles.names),
            "withheld_rows": report.profile_withheld_rows,
            "withheld_groups": report.profile_withheld_groups,
            "l_diversity": "no group of rows sharing every quasi-identifier shows a single"
            " profile: such groups have their profile withheld (blank)",
        }
    return {
        "export": "negoscope anonymized answers",
        "version": 1,
        "date": (today or datetime.now(UTC).date()).isoformat(),
        "format": fmt,
        "round": survey_round.name,
        "instrument": {
            "id": instrument.id,
            "version": instrument.version,
            "title": instrument.title,
            "content_hash": instrument.content_hash,
        },
        "rows_in_round": rows.n,
        "rows_exported": report.rows_out,
        "teams_in_round": report.teams_in,
        "teams_exported": report.teams_out,
        "suppressed": [
            {"reason": s.reason, "teams": s.teams, "rows": s.rows} for s in report.suppressed
        ],
        "suppression_rules": {
            "team under k": "teams with fewer than k submitted responses are left out",
            "complementary": "left-out rows must come from at least two teams and number at"
            " least k, so that subtracting the published teams from an organization total"
            " reveals nothing about one small team; the smallest published teams are left out"
            " until they do",
        },
        "k_requested": report.k,
        "k_reached": report.k_reached,
        "quasi_identifiers": ["team_id", *(qi.name for qi in qis)],
        "generalization": report.to_dict()["recodings"],
        "rows_fully_blanked": report.rows_fully_blanked,
        "information_loss": round(report.information_loss, 6),
        "context_values_not_among_options_left_blank": rows.unknown_context,
        "pseudonyms": {
            "method": "HMAC-SHA256 of the internal id prefixed with 'response:' or 'team:',"
            f" first {PSEUDONYM_LENGTH} hex digits",
            "key": key_text,
            "stable": stable_ids,
        },
        "profiles": profile_info,
        "submission_week": "ISO 8601 week of the submission time in UTC; no exact times",
        "blank_cells": "unanswered, not computable, or withheld for anonymity",
        "never_exported": "names, emails, invitation tokens or their hashes, database ids,"
        " IP addresses, user agents, free text",
        "erasure": "people erased after this date are still in this file; delete and"
        " re-export to honour an erasure",
    }


# ---------------------------------------------------------------- audit
def record_export(
    survey_round: SurveyRound,
    result: ExportResult,
    *,
    actor: User | None = None,
    actor_label: str | None = None,
    remote_addr: str | None = None,
) -> None:
    """Write the export to the audit log (who, round, format, rows, k); caller commits."""
    audit.record(
        "export_downloaded",
        actor=actor,
        actor_label=actor_label,
        organization_id=survey_round.organization_id,
        target=survey_round.name,
        detail=(
            f"format={result.format}, rows={result.rows}, k={result.k},"
            f" k_reached={result.k_reached}, stable_ids={'yes' if result.stable_ids else 'no'}"
        ),
        remote_addr=remote_addr,
    )
