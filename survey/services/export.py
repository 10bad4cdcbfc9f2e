"""Anonymized export of a round's published answers: one row per released response.

What an export holds
    Only the round's current *release snapshot*
    (:mod:`survey.services.releases`): the responses behind the team results
    that dashboards and reports show, never live or pending ones. A round with
    nothing released cannot be exported (:class:`ExportRefused`).

One export per snapshot
    Response pseudonyms are keyed by the snapshot: the key is an HMAC of the
    organization's stored export key (:func:`stable_export_key`) with
    ``round:<round id>:snapshot:<snapshot id>`` (:func:`snapshot_key`), and rows
    are written in the order of their pseudonyms, a keyed shuffle. Exporting
    the same snapshot again therefore gives byte-identical data, while a later
    snapshot gives every response a new pseudonym and a new place: rows of two
    exports cannot be joined by id or position. Team pseudonyms come from the
    organization's key itself and stay the same in every export, so teams can
    be followed across rounds.

Differencing
    Rows can still be matched by content, so an export may not differ from an
    earlier one of the round by a handful of responses: the one new row would
    be the one new person. Before writing, the export is compared with every
    earlier export recorded in the anonymity ledger
    (:mod:`survey.services.ledger`); when it would differ from one by 1 to
    ``ANONYMITY_THRESHOLD - 1`` responses it is refused (:func:`differences`).
    :func:`record_export` checks again in the write transaction that records
    it, so two concurrent exports cannot both slip through.

Anonymization
    :func:`analytics.anonymity.k_anonymize` leaves out small teams, generalizes
    the quasi-identifiers (team, context answers, submission week) to
    k-anonymity, makes the item answers distinct 2-diverse in every class
    (blanking an item where even the whole team answered it alike; the
    dimension score of a blanked answer is blanked too, or it would give the
    answer back) and withholds profiles shown alike by a whole class.

Scores and profiles
    Scores are :func:`analytics.scoring.score_dimensions`, computed chunk by
    chunk from the exported answers, as the round analysis computes them.
    Profiles are the round analysis's own assignments for this snapshot
    (:func:`survey.services.team_reports.round_analysis`, the dashboard's):
    the export fits no model of its own. Should the stored analysis not match
    the rows read (a team withheld since it was computed), its fitted model
    assigns the rows instead.

Reading
    The database is read in two passes inside one transaction, so that both
    see the same responses (:mod:`survey.services.export_reads`): the
    quasi-identifiers of every response, then the item answers in chunks of
    ``CHUNK_ROWS`` responses into an ``int8`` matrix (memory-mapped on disk
    beyond 64 MB). Rows are written chunk by chunk
    (:mod:`survey.services.export_writers`).

Columns, in order: ``respondent_id``, ``team_id`` (keyed-hash pseudonyms),
``round``, ``instrument_id``, ``instrument_version``, one column per item (as
answered, blank when skipped or withheld), ``<dimension>_score`` per dimension,
``profile``, one column per context question (generalized) and
``submission_week`` (ISO week, UTC). Nothing else: no names, emails, tokens,
database ids, addresses, user agents or free text.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import hmac
import io
import pickle
import secrets
import tempfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import func, select

from analytics.anonymity import (
    AnonymityReport,
    Anonymization,
    QuasiIdentifier,
    context_quasi_identifiers,
    k_anonymize,
    neutralize,
    pseudonymize,
)
from analytics.instrument import Instrument
from analytics.pipeline import MIN_PROFILE_RESPONDENTS, RoundAnalysis
from analytics.profiles import ProfileModel
from analytics.scoring import DEFAULT_MIN_FRACTION, min_answered, score_dimensions
from survey.extensions import db
from survey.models import Disclosure, Organization, StoredAnalysis, SurveyRound, Team, User
from survey.services import audit, ledger, releases, team_reports
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
    "DIVERSITY",
    "FORMATS",
    "MEDIA_TYPES",
    "Difference",
    "ExportError",
    "ExportRefused",
    "ExportResult",
    "ReleasedRows",
    "differences",
    "export_round",
    "record_export",
    "snapshot_key",
    "stable_export_key",
]

CHUNK_ROWS = 25_000
#: What a download of each format is: (media type, file suffix); bundles are zips.
MEDIA_TYPES = {
    "csv": ("application/zip", "zip"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "parquet": ("application/zip", "zip"),
    "sav": ("application/zip", "zip"),
    "dta": ("application/zip", "zip"),
}
PSEUDONYM_LENGTH = 16
#: Distinct answered values every class must show on every item (l of l-diversity).
DIVERSITY = 2
SEED = 0
LEADING_COLUMNS = ("respondent_id", "team_id", "round", "instrument_id", "instrument_version")
WEEK = "submission_week"
#: Manifest keys that change between two exports of the same snapshot: left out of
#: the copy embedded in a data file (Parquet metadata), so the data file stays identical.
VOLATILE_MANIFEST_KEYS = ("created", "earlier_exports")


class ExportError(ValueError):
    """The round cannot be exported as asked."""


class ExportRefused(ExportError):
    """Exporting now could reveal someone: nothing released, or too close to an earlier export."""


@dataclass(frozen=True)
class ReleasedRows:
    """How many exported rows each team release published (for the differencing check)."""

    release_ids: tuple[int, ...]
    counts: tuple[int, ...]

    @classmethod
    def of(cls, release_ids: np.ndarray) -> ReleasedRows:
        """Count the release id of each exported row."""
        ids, counts = np.unique(release_ids, return_counts=True)
        return cls(tuple(int(i) for i in ids), tuple(int(c) for c in counts))

    @property
    def total(self) -> int:
        return sum(self.counts)

    def up_to(self, snapshot_id: int) -> int:
        """Rows published by releases up to ``snapshot_id`` (in that snapshot, if still there)."""
        return sum(
            c for r, c in zip(self.release_ids, self.counts, strict=True) if r <= snapshot_id
        )


@dataclass(frozen=True, eq=False)
class ExportResult:
    """What an export wrote.

    ``figures`` is the SHA-256 of the exported pseudonyms in row order (16 hex
    digits each, concatenated), recorded in the ledger; ``released`` counts the
    rows per team release.
    """

    files: tuple[Path, ...]
    format: str
    rows: int
    k: int
    k_reached: int | None
    report: AnonymityReport
    manifest: dict[str, Any]
    snapshot_id: int
    figures: str
    released: ReleasedRows


# ---------------------------------------------------------------- keys
def stable_export_key(org: Organization, *, create: bool = True) -> bytes:
    """The organization's persistent export key (created on first use; caller commits).

    Every export key derives from it (:func:`snapshot_key`); team pseudonyms
    use it directly.

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
            "exports need the column organizations.export_key (String(64), nullable)"
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


def snapshot_key(org_key: bytes, round_id: int, snapshot: releases.Snapshot) -> bytes:
    """The response pseudonym key of one round snapshot: HMAC-SHA256 of the organization's key.

    The message is ``round:<round id>:snapshot:<snapshot id>``, followed by
    ``:withheld:<team ids>`` when teams are withheld from the snapshot (their
    rows leave the export, so it is another set of rows, with other pseudonyms).

    Examples
    --------
    >>> snapshot = releases.Snapshot(7, frozenset())
    >>> key = bytes(32)
    >>> snapshot_key(key, 3, snapshot) == hmac.digest(key, b"round:3:snapshot:7", "sha256")
    True
    >>> snapshot_key(bytes(32), 3, releases.Snapshot(8, frozenset())) != snapshot_key(
    ...     bytes(32), 3, snapshot
    ... )
    True
    """
    message = f"round:{round_id}:snapshot:{snapshot.id}"
    if snapshot.withheld_team_ids:
        message += ":withheld:" + ",".join(str(t) for t in sorted(snapshot.withheld_team_ids))
    return hmac.digest(org_key, message.encode("ascii"), "sha256")


def _keyed_order(
    ids: np.ndarray, key: bytes, chunk: int = CHUNK_ROWS
) -> tuple[np.ndarray, np.ndarray]:
    """The pseudonyms of ``ids`` as numbers, and the order that sorts them (a keyed shuffle).

    A pseudonym is 16 hex digits: the 64-bit number it writes sorts as it
    does (:func:`_hex` writes it back). Returns the order (indices into
    ``ids``) and the numbers in that order. Made ``chunk`` ids at a time, so
    that no more than that many Python strings exist at once.
    """
    numbers = np.empty(ids.size, dtype=np.uint64)
    for start in range(0, ids.size, chunk):
        stop = min(start + chunk, ids.size)
        part = pseudonymize(
            ids[start:stop].tolist(), key, namespace="response", length=PSEUDONYM_LENGTH
        )
        numbers[start:stop] = np.frombuffer(bytes.fromhex("".join(part)), dtype=">u8")
    order = np.argsort(numbers, kind="stable")
    return order, numbers[order]


_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _hex(numbers: np.ndarray) -> np.ndarray:
    """64-bit numbers as 16 lowercase hex digits (``S16``), as :func:`pseudonymize` writes them.

    Examples
    --------
    >>> _hex(np.array([0xABC, 2**64 - 1], dtype=np.uint64)).tolist()
    [b'0000000000000abc', b'ffffffffffffffff']
    """
    octets = numbers.astype(">u8").view(np.uint8).reshape(-1, 8)
    digits = np.empty((octets.shape[0], 16), dtype=np.uint8)
    digits[:, 0::2] = _HEX_DIGITS[octets >> 4]
    digits[:, 1::2] = _HEX_DIGITS[octets & 15]
    return digits.view(f"S{PSEUDONYM_LENGTH}").reshape(-1)


# ---------------------------------------------------------------- differencing
@dataclass(frozen=True)
class Difference:
    """How an export differs from one earlier export of the round.

    ``added`` rows were not yet released then; ``removed`` rows were exported
    then and are gone (erased, withheld or suppressed) now.
    """

    created_at: datetime
    snapshot_id: int
    rows: int
    added: int
    removed: int

    @property
    def total(self) -> int:
        return self.added + self.removed


def differences(survey_round: SurveyRound, released: ReleasedRows) -> list[Difference]:
    """How an export of ``released`` rows differs from each earlier export of the round.

    For an earlier export of snapshot ``S`` with ``n`` rows: rows now exported
    whose release is later than ``S`` are added; ``n`` minus the rows now
    exported that were released by ``S`` were removed. Rows of a team
    exported now but left out then count as present in both, so the total is
    never larger than the true difference: a refusal errs on the safe side.
    Newest first.
    """
    earlier = db.session.execute(
        select(Disclosure.snapshot_id, Disclosure.n, func.max(Disclosure.created_at))
        .where(Disclosure.round_id == survey_round.id, Disclosure.kind == "export")
        .group_by(Disclosure.snapshot_id, Disclosure.n)
    ).all()
    out = []
    for snapshot_id, n, created_at in earlier:
        carried = released.up_to(int(snapshot_id))
        out.append(
            Difference(
                created_at=created_at,
                snapshot_id=int(snapshot_id),
                rows=int(n),
                added=released.total - carried,
                removed=max(int(n) - carried, 0),
            )
        )
    return sorted(out, key=lambda d: (d.created_at, d.snapshot_id), reverse=True)


def _refuse_close(found: Sequence[Difference], threshold: int) -> None:
    """Raise :class:`ExportRefused` when an earlier export is 1 to threshold - 1 rows away."""
    close = [d for d in found if 0 < d.total < threshold]
    if not close:
        return
    d = close[0]
    responses = "response" if d.total == 1 else "responses"
    raise ExportRefused(
        f"This export would differ from the export of {d.created_at:%Y-%m-%d %H:%M} UTC by"
        f" {d.total} {responses}; exports must differ by at least {threshold} so that no one"
        " can be found by comparing them. Export again when more responses have been released."
    )


# ---------------------------------------------------------------- scores, profiles
def _scores(instrument: Instrument, values: np.ndarray) -> np.ndarray:
    """:func:`analytics.scoring.score_dimensions` of a block of int8 answer rows (dims x rows)."""
    frame = pd.DataFrame(
        np.where(values == MISSING, np.nan, values.astype(np.float64)),
        columns=list(instrument.item_ids),
    )
    scores = score_dimensions(frame, instrument, min_fraction=DEFAULT_MIN_FRACTION)
    return np.array(scores.to_numpy(dtype=np.float64).T, order="C")  # a writable copy


@dataclass(frozen=True, eq=False)
class _Profiles:
    codes: np.ndarray  # profile index per response, -1 when unassigned
    names: tuple[str, ...]
    model: ProfileModel | None
    source: str  # "assignments", "model" or "none"
    reason: str = ""  # why there are none


@dataclass(frozen=True, eq=False)
class _AnalysisProfiles:
    """What the export keeps of the round analysis: its profiles and teams, row by row."""

    model: ProfileModel | None
    names: tuple[str, ...]
    reason: str
    codes: np.ndarray  # profile index per analysis row, -1 when unassigned
    team_codes: np.ndarray  # index into team_names per analysis row
    team_names: tuple[str, ...]


def _load_profiles(
    survey_round: SurveyRound, snapshot_id: int, threshold: int, progress: Callable[[str], None]
) -> _AnalysisProfiles:
    """The round analysis's profile assignments, kept compactly (the analysis is let go).

    The stored analysis is read without entering the process cache (at a
    million rows it holds about 90 MB of scores the export does not need) and
    unpickled as it is decompressed (:func:`_stored_analysis`). Only when none
    is stored is it computed (and stored and cached) by
    :func:`survey.services.team_reports.round_analysis`.
    """
    progress("Loading the round analysis of this snapshot")
    analysis = _stored_analysis(survey_round.id, snapshot_id)
    if analysis is None:
        analysis = team_reports.round_analysis(survey_round, threshold, snapshot_id)
    model = analysis.profile_model
    team_codes, team_names = pd.factorize(analysis.teams)
    names: tuple[str, ...] = ()
    codes = np.full(len(analysis.teams), -1, dtype=np.int16)
    if model is not None:
        names = tuple(str(name) for name in model.names_)
        codes[:] = pd.Categorical(analysis.assignments, categories=list(model.names_)).codes
    reason = getattr(analysis, "profile_reason", "") or (
        f"fewer than {MIN_PROFILE_RESPONDENTS} responses have every blocker score"
    )
    return _AnalysisProfiles(
        model,
        names,
        reason,
        codes,
        team_codes.astype(np.int32),
        tuple(str(name) for name in team_names),
    )


def _profiles(source: _AnalysisProfiles, rows: RoundRows) -> _Profiles:
    """The profiles of these rows: the analysis's own when its rows are these rows.

    Otherwise (a team withheld since the analysis was stored) the codes are
    left to :func:`_predict_profiles` (``source`` is ``"model"``).
    """
    if source.model is None:
        return _Profiles(np.full(rows.n, -1, dtype=np.int16), (), None, "none", source.reason)
    if _aligned(source, rows):
        return _Profiles(source.codes, source.names, source.model, "assignments")
    return _Profiles(np.full(rows.n, -1, dtype=np.int16), source.names, source.model, "model")


def _predict_profiles(
    profiles: _Profiles,
    instrument: Instrument,
    matrix: AnswerMatrix,
    chunk: int,
    progress: Callable[[str], None],
) -> None:
    """Assign the rows with the analysis's fitted model, chunk by chunk (``source="model"``)."""
    model = profiles.model
    if profiles.source != "model" or model is None:
        return
    progress("Assigning profiles with the round analysis's model")
    blockers = [dim.id for dim in instrument.blocker_dimensions]
    n = profiles.codes.size
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        values = matrix.values[start:stop]
        frame = pd.DataFrame(
            np.where(values == MISSING, np.nan, values.astype(np.float64)),
            columns=list(instrument.item_ids),
        )
        scores = score_dimensions(frame, instrument, dimensions=blockers)
        predicted = model.predict(scores)
        profiles.codes[start:stop] = pd.Categorical(predicted, categories=list(model.names_)).codes


def _stored_analysis(round_id: int, snapshot_id: int) -> RoundAnalysis | None:
    """The round analysis stored for this snapshot, if any, outside the process cache.

    The same row and fingerprint as :mod:`survey.services.team_reports` reads,
    but unpickled while it is decompressed (:class:`_Inflating`): the
    decompressed pickle (126 MB at a million rows) is never held whole.
    ``None`` when none is stored for this snapshot and this analytics code, or
    when it cannot be read (then it is recomputed, as the dashboards would).
    """
    payload = db.session.scalar(
        select(StoredAnalysis.payload).where(
            StoredAnalysis.round_id == round_id,
            StoredAnalysis.fingerprint == team_reports._fingerprint_text(snapshot_id),
        )
    )
    if payload is None:
        return None
    try:
        with io.BufferedReader(_Inflating(bytes(payload)), buffer_size=1 << 20) as stream:
            analysis = pickle.load(stream)  # written only by this app (team_reports._store)
    except Exception:  # written by an older version of the code: recompute
        return None
    return analysis if isinstance(analysis, RoundAnalysis) else None


class _Inflating(io.RawIOBase):
    """A zlib stream decompressed as it is read, straight into the reader's buffer."""

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self._at = 0
        self._inflater = zlib.decompressobj()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(view):
            want = len(view) - filled
            if self._inflater.unconsumed_tail:
                chunk = self._inflater.decompress(self._inflater.unconsumed_tail, want)
            elif self._at < len(self._data):
                piece = self._data[self._at : self._at + (1 << 20)]
                self._at += len(piece)
                chunk = self._inflater.decompress(piece, want)
            else:
                chunk = self._inflater.flush(want)
                if not chunk:
                    break
            view[filled : filled + len(chunk)] = chunk
            filled += len(chunk)
        return filled


def _aligned(source: _AnalysisProfiles, rows: RoundRows) -> bool:
    """Whether the analysis's rows are these rows (same count, same team in id order)."""
    if source.codes.size != rows.n:
        return False
    if rows.n == 0:
        return True
    team_ids = np.unique(rows.teams).tolist()
    by_name = dict(
        db.session.execute(select(Team.name, Team.id).where(Team.id.in_(team_ids))).all()
    )
    ids = np.array([by_name.get(name, -1) for name in source.team_names], dtype=np.int64)
    return bool(np.array_equal(ids[source.team_codes], rows.teams))


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
            " response within this round snapshot only: an export of a later snapshot gives"
            " every response a new one, and the same person in another round gets an"
            " unrelated id. Rows are sorted by it.",
            "text",
        ),
        entry(
            "team_id",
            "Pseudonym of the team (keyed hash), the same in every export of the"
            " organization; team names are never exported.",
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
                f"Answer to item {item.id} as given (not reverse-keyed); blank = unanswered,"
                " or withheld where a group's answers would all be the same (l-diversity).",
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
                + f"; blank when fewer than {needed} of {len(dim.items)} items were answered,"
                " or when one of its answers is withheld (it would give the answer back)."
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
            "Negotiation profile: the most likely latent profile assigned by the round"
            " analysis (Gaussian mixture on the blocker scores), as the dashboards show it."
            " Blank when a blocker score is missing, or withheld where all rows sharing the"
            " team and context values would show the same profile.",
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
    """Builds the record batch of a set of rows (arrow arrays straight from numpy)."""

    def __init__(
        self,
        survey_round: SurveyRound,
        instrument: Instrument,
        rows: RoundRows,
        matrix: AnswerMatrix,
        profiles: _Profiles,
        anonymization: Anonymization,
        qis: Sequence[QuasiIdentifier],
        team_key: bytes,
        schema: pa.Schema,
        inert: bool,
    ) -> None:
        self.instrument = instrument
        self.rows = rows
        self.matrix = matrix
        self.profiles = profiles
        self.anonymization = anonymization
        self.schema = schema
        clean = neutralize if inert else (lambda text: text)
        self.team_ids = np.unique(rows.teams)
        self.team_pseudonyms = pa.array(
            pseudonymize(
                self.team_ids.tolist(), team_key, namespace="team", length=PSEUDONYM_LENGTH
            ),
            pa.string(),
        )
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
        position = {item: i for i, item in enumerate(instrument.item_ids)}
        # item x dimension: a withheld answer withholds its dimension's score
        self.item_dimension = np.zeros((len(position), len(instrument.dimensions)), dtype=bool)
        for d, dim in enumerate(instrument.dimensions):
            for item in dim.items:
                self.item_dimension[position[item.id], d] = True

    def batch(self, at: np.ndarray, pseudonyms: np.ndarray) -> pa.RecordBatch:
        """The rows ``at`` (indices into the round's rows), with their pseudonyms (numbers)."""
        m = at.size
        items = self.matrix.values[at]
        scores = _scores(self.instrument, items)  # from every answer given, as the analysis
        blanked = self.anonymization.blanked_items(at)
        if blanked is not None:
            items = np.where(blanked, MISSING, items)
            withheld = (blanked.astype(np.uint8) @ self.item_dimension.astype(np.uint8)) > 0
            scores[withheld.T] = np.nan
        cells = np.ascontiguousarray(items.T)
        columns: list[pa.Array] = [
            pa.array(_hex(pseudonyms)).cast(pa.string()),
            self.team_pseudonyms.take(np.searchsorted(self.team_ids, self.rows.teams[at])),
            pa.repeat(self.round_name, m),
            pa.repeat(self.instrument_id, m),
            pa.repeat(self.version, m),
        ]
        for column in cells:
            columns.append(pa.array(column, pa.int8(), mask=column == MISSING))
        for values in scores:
            columns.append(pa.array(values, pa.float64(), mask=np.isnan(values)))
        codes = self.profiles.codes[at].astype(np.int64)
        show = self.anonymization.show_profile
        if show is not None:
            codes = np.where(show[at], codes, -1)
        none = len(self.profile_names) - 1
        columns.append(self.profile_names.take(np.where(codes >= 0, codes, none)))
        for name in [*self.instrument.context_ids, WEEK]:
            j = self.qi_index[name]
            labels = self.qi_labels[j]
            qi_codes = self.anonymization.codes[j][at].astype(np.int64)
            columns.append(labels.take(np.where(qi_codes >= 0, qi_codes, len(labels) - 1)))
        return pa.RecordBatch.from_arrays(columns, schema=self.schema)


def _scores_withheld(anonymization: Anonymization, instrument: Instrument) -> int:
    """(row, dimension) score cells withheld because one of their answers is blanked."""
    if anonymization.item_blanks is None or anonymization.row_class is None:
        return 0
    position = {item: i for i, item in enumerate(instrument.item_ids)}
    per_class = np.zeros(len(anonymization.item_blanks), dtype=np.int64)
    for dim in instrument.dimensions:
        columns = [position[item.id] for item in dim.items]
        per_class += anonymization.item_blanks[:, columns].any(axis=1)
    kept = anonymization.row_class[anonymization.keep]
    return int(per_class[kept].sum())


def export_round(
    survey_round: SurveyRound,
    out: Path,
    *,
    fmt: str,
    k: int,
    bundle: bool = False,
    chunk_rows: int = CHUNK_ROWS,
    now: datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> ExportResult:
    """Write the anonymized answers of the round's release snapshot, with codebook and manifest.

    The organization's export key must exist (:func:`stable_export_key` and a
    commit, in a short write transaction: made here, it would hold a write
    lock for the whole export). Nothing is recorded: the caller records the
    export (:func:`record_export`) and commits.

    Parameters
    ----------
    survey_round : SurveyRound
    out : pathlib.Path
        The file to write (parquet without ``bundle`` also writes two sidecars).
    fmt : {"csv", "xlsx", "parquet"}
    k : int
        Every combination of team and generalized context values and week
        occurs at least ``k`` times among the exported rows.
    bundle : bool, default False
        Parquet only: one zip with the data, codebook and manifest.
    chunk_rows : int
        Responses per chunk (memory is proportional to it).
    now : datetime, optional
        The creation time written in the manifest (default: now, UTC).
    progress : callable, optional
        Called with a short message before each step.

    Returns
    -------
    ExportResult

    Raises
    ------
    ExportRefused
        Nothing of the round is released, or the export would differ from an
        earlier one by fewer than the anonymity threshold (nothing is written).
    ExportError
        Bad arguments, or no export key yet.
    """
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if k < 2:
        raise ExportError(f"k must be at least 2, got {k}")
    if survey_round.counterparty_id is not None:  # no profiles or scores of a team to export
        raise ExportRefused(
            f"Round {survey_round.name} rates a counterparty: its results are the team's rating"
            " (the coach's gap view) and are not exported."
        )
    report = progress or (lambda message: None)
    threshold, _ = releases.release_settings()
    instrument = instrument_of(survey_round.instrument)
    scales = [instrument.scale_for(item) for item in instrument.item_ids]
    if any(s.min < -127 or s.max > 127 for s in scales):
        raise ExportError("item scales beyond -127..127 cannot be exported")
    schema = _schema(instrument)
    _column_names(instrument)  # refuses clashing ids before any work
    try:
        org_key = stable_export_key(survey_round.organization, create=False)
    except LookupError as error:
        raise ExportError(
            "the organization has no export key yet: create it first (stable_export_key)"
        ) from error
    _begin_snapshot()
    snapshot = releases.current_snapshot(survey_round)
    if snapshot.id == 0:
        raise ExportRefused(_NOTHING_RELEASED.format(name=survey_round.name))
    where = releases.snapshot_conditions(survey_round, snapshot)
    source = _load_profiles(survey_round, snapshot.id, threshold, report)  # first: memory is low
    _release_memory()
    report("Reading released responses and context answers")
    rows = read_round_rows(survey_round, instrument, where)
    if rows.n == 0:
        raise ExportRefused(_NOTHING_RELEASED.format(name=survey_round.name))
    profiles = _profiles(source, rows)
    del source
    with tempfile.TemporaryDirectory(prefix="negoscope-export-") as folder:
        matrix = AnswerMatrix(rows.n, instrument.item_ids, Path(folder))
        read_answers(survey_round, instrument, rows.ids, matrix, chunk_rows, report, where)
        _release_memory()
        _predict_profiles(profiles, instrument, matrix, chunk_rows, report)
        _release_memory()
        report("Applying k-anonymity and l-diversity")
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
            answers=matrix.values,
            missing=MISSING,
            diversity=DIVERSITY,
        )
        kept = np.flatnonzero(anonymization.keep)
        released = ReleasedRows.of(rows.releases[kept])
        found = differences(survey_round, released)
        _refuse_close(found, threshold)
        _release_memory()
        report("Making pseudonyms")
        order, pseudonyms = _keyed_order(
            rows.ids[kept], snapshot_key(org_key, survey_round.id, snapshot)
        )
        kept = kept[order]
        figures = hashlib.sha256()  # of the pseudonyms in row order
        for start in range(0, pseudonyms.size, chunk_rows):
            figures.update(_hex(pseudonyms[start : start + chunk_rows]).tobytes())
        codebook = _codebook(instrument, anonymization, qis, profiles, DEFAULT_MIN_FRACTION)
        manifest = _manifest(
            survey_round,
            instrument,
            fmt,
            anonymization,
            qis,
            profiles,
            rows,
            snapshot,
            found,
            threshold,
            _scores_withheld(anonymization, instrument),
            now,
        )
        batches = _Batches(
            survey_round,
            instrument,
            rows,
            matrix,
            profiles,
            anonymization,
            qis,
            org_key,
            schema,
            inert=fmt in ("csv", "xlsx"),
        )
        writer = open_writer(
            fmt, out, schema, codebook, manifest, bundle=bundle, volatile=VOLATILE_MANIFEST_KEYS
        )
        try:
            for start in range(0, kept.size, chunk_rows):
                stop = min(start + chunk_rows, kept.size)
                report(f"Writing rows {start + 1:,}-{stop:,} of {kept.size:,}")
                writer.write(batches.batch(kept[start:stop], pseudonyms[start:stop]))
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
        report=result,
        manifest=manifest,
        snapshot_id=snapshot.id,
        figures=figures.hexdigest(),
        released=released,
    )


_NOTHING_RELEASED = (
    "Nothing of round {name!r} has been released yet: an export holds only the responses"
    " behind published team results, and a team's results are published once enough of its"
    " members have answered. Export again when results have been released."
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
    snapshot: releases.Snapshot,
    found: Sequence[Difference],
    threshold: int,
    scores_withheld: int,
    now: datetime | None,
) -> dict[str, Any]:
    report = anonymization.report
    model = profiles.model
    profile_info: dict[str, Any]
    if model is None:
        profile_info = {
            "available": False,
            "reason": f"the round analysis of this snapshot reports none: {profiles.reason}",
        }
    else:
        profile_info = {
            "available": True,
            "method": "Gaussian mixture latent profile analysis of the blocker scores"
            " (analytics.profiles.ProfileModel, chosen by BIC, seed 0)",
            "source": "the round analysis of this snapshot: the profiles its dashboards show"
            if profiles.source == "assignments"
            else "the round analysis's fitted model, applied to these rows (the stored"
            " analysis was computed before a team was withheld)",
            "k": int(model.k_),
            "names": list(profiles.names),
            "withheld_rows": report.profile_withheld_rows,
            "withheld_groups": report.profile_withheld_groups,
            "l_diversity": "no group of rows sharing every quasi-identifier shows a single"
            " profile: such groups have their profile withheld (blank)",
        }
    created = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    return {
        "export": "negoscope anonymized answers",
        "version": 2,
        "created": created.isoformat(),
        "format": fmt,
        "round": survey_round.name,
        "instrument": {
            "id": instrument.id,
            "version": instrument.version,
            "title": instrument.title,
            "content_hash": instrument.content_hash,
        },
        "snapshot": {
            "id": snapshot.id,
            "responses": rows.n,
            "teams_withheld": len(snapshot.withheld_team_ids),
            "meaning": "only responses behind published team results (the round's release"
            " snapshot) are exported; exporting the same snapshot again gives the same rows,"
            " pseudonyms and order",
        },
        "rows_in_round": rows.n,
        "rows_exported": report.rows_out,
        "teams_in_round": report.teams_in,
        "teams_exported": report.teams_out,
        "suppressed": [
            {"reason": s.reason, "teams": s.teams, "rows": s.rows} for s in report.suppressed
        ],
        "suppression_rules": {
            "team under k": "teams with fewer than k released responses are left out",
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
        "l_diversity": {
            "l": report.diversity,
            "rule": f"within every group of rows sharing team_id and every quasi-identifier,"
            f" each item's answers take at least {report.diversity} distinct values (or are all"
            " blank): a failing group is merged with another of its team by blanking the"
            " quasi-identifiers in which they differ; an item a whole team (or its last group)"
            " answered alike is blanked there, and so is the score of its dimension",
            "groups_generalized": report.diversity_classes_generalized,
            "item_groups_blanked": report.diversity_items_blanked,
            "item_cells_blanked": report.diversity_cells_blanked,
            "score_cells_blanked": scores_withheld,
        },
        "context_values_not_among_options_left_blank": rows.unknown_context,
        "pseudonyms": {
            "method": "HMAC-SHA256 of the internal id prefixed with 'response:' or 'team:',"
            f" first {PSEUDONYM_LENGTH} hex digits",
            "respondent_id": "keyed by this round snapshot (an HMAC of the organization's"
            " export key with the round and snapshot ids): the same in every export of this"
            " snapshot, new for every response in an export of a later snapshot, so rows of"
            " two exports cannot be joined by id",
            "team_id": "keyed by the organization's export key: the same in every export of"
            " the organization",
            "row_order": "rows are sorted by respondent_id, a keyed shuffle that changes with"
            " the snapshot",
        },
        "differencing": {
            "rule": f"an export that would differ from an earlier export of the round by 1 to"
            f" {threshold - 1} responses is refused: comparing the two would single people out",
            "minimum_difference": threshold,
        },
        "earlier_exports": [
            {
                "created": d.created_at.replace(microsecond=0).isoformat(),
                "snapshot": d.snapshot_id,
                "rows": d.rows,
                "added_since": d.added,
                "removed_since": d.removed,
            }
            for d in found
        ],
        "scores": "analytics.scoring.score_dimensions, as in the round analysis",
        "profiles": profile_info,
        "submission_week": "ISO 8601 week of the submission time in UTC; no exact times",
        "blank_cells": "unanswered, not computable, or withheld for anonymity",
        "never_exported": "names, emails, invitation tokens or their hashes, database ids,"
        " IP addresses, user agents, free text",
        "erasure": "people erased after this export are still in this file; delete it and"
        " export again (a later snapshot) to honour an erasure",
    }


# ---------------------------------------------------------------- audit, ledger
def record_export(
    survey_round: SurveyRound,
    result: ExportResult,
    *,
    actor: User | None = None,
    actor_label: str | None = None,
    remote_addr: str | None = None,
) -> None:
    """Record the export in the audit log and the anonymity ledger; caller commits.

    Checks again, in the caller's write transaction, that no export recorded
    since :func:`export_round` read the ledger makes this one too close
    (:class:`ExportRefused`: the caller rolls back and deletes the files).
    """
    threshold, _ = releases.release_settings()
    _refuse_close(differences(survey_round, result.released), threshold)
    audit.record(
        "export_downloaded",
        actor=actor,
        actor_label=actor_label,
        organization_id=survey_round.organization_id,
        target=survey_round.name,
        detail=(
            f"format={result.format}, rows={result.rows}, k={result.k},"
            f" k_reached={result.k_reached}, snapshot={result.snapshot_id}"
        ),
        remote_addr=remote_addr,
    )
    ledger.record(
        ledger.Shown(
            "export", survey_round, result.snapshot_id, "round", result.rows, result.figures
        ),
        user=actor,
        actor=actor_label,
    )
