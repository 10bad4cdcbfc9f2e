"""Request and response schemas of the JSON API (the OpenAPI document is built from these).

Every string a client sends is bounded and single-line (the database would
refuse a NUL byte or an over-long value with a server error), every id is a
database id (0 .. 2**31 - 1), and unknown fields are refused (422), so a
typo never passes silently.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from survey.models import API_SCOPES, ROUND_MODES, ROUND_STATUSES
from survey.services.export import MEDIA_TYPES
from survey.web.inputs import FIRST_DAY, LAST_DAY, MAX_ID, first_control_character

EXPORT_FORMATS = tuple(MEDIA_TYPES)


def _single_line(value: str) -> None:
    control = first_control_character(value)
    if control is not None:
        raise ma.ValidationError(
            f"Remove the control character (U+{ord(control):04X}); one line of text only."
        )


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ma.ValidationError("Must not be empty.")


def text(max_length: int, *, required: bool = False, **kwargs: Any) -> fields.String:
    """A bounded single-line string."""
    return fields.String(
        required=required,
        validate=[validate.Length(max=max_length), _single_line],
        **kwargs,
    )


def ident(**kwargs: Any) -> fields.Integer:
    """A database id."""
    return fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_ID), **kwargs)


class Strict(ma.Schema):
    """Refuse unknown fields."""

    class Meta:
        unknown = ma.RAISE


def _day_in_range(value: Any) -> None:
    if not FIRST_DAY <= value <= LAST_DAY:
        raise ma.ValidationError(f"Use a date between {FIRST_DAY} and {LAST_DAY}.")


# ------------------------------------------------------------------ teams, members
class TeamSchema(Strict):
    id = ident(dump_only=True)
    name = text(200, dump_only=True)
    archived = fields.Boolean(dump_only=True)
    members = fields.Integer(dump_only=True, metadata={"description": "Current members"})
    created_at = fields.DateTime(dump_only=True)


class TeamCreateSchema(Strict):
    name = fields.String(
        required=True, validate=[validate.Length(min=1, max=200), _single_line, _not_blank]
    )


class TeamUpdateSchema(Strict):
    name = fields.String(validate=[validate.Length(min=1, max=200), _single_line, _not_blank])
    archived = fields.Boolean(
        metadata={"description": "true archives the team (it cannot be undone here)"}
    )


class MemberSchema(Strict):
    id = ident(dump_only=True)
    name = fields.String(dump_only=True, allow_none=True)
    email = fields.String(dump_only=True, allow_none=True)
    team_id = ident(dump_only=True)
    team = fields.String(dump_only=True)


class MemberCreateSchema(Strict):
    name = text(200, allow_none=True)
    email = fields.Email(allow_none=True, validate=[validate.Length(max=320), _single_line])


class MemberUpdateSchema(Strict):
    name = text(200, allow_none=True)
    email = fields.Email(allow_none=True, validate=[validate.Length(max=320), _single_line])
    team_id = ident(metadata={"description": "Move the member to this team"})


# ------------------------------------------------------------------ rounds
class CountsSchema(Strict):
    invited = fields.Integer()
    submitted = fields.Integer()


class RoundSchema(Strict):
    id = ident()
    name = fields.String()
    status = fields.String(validate=validate.OneOf(ROUND_STATUSES))
    mode = fields.String(validate=validate.OneOf(ROUND_MODES))
    instrument_id = ident()
    instrument = fields.String(metadata={"description": "Instrument id and version"})
    opens_at = fields.DateTime(allow_none=True)
    closes_at = fields.DateTime(allow_none=True)
    team_ids = fields.List(ident())
    counts = fields.Nested(CountsSchema)


class RoundCreateSchema(Strict):
    name = fields.String(
        required=True, validate=[validate.Length(min=1, max=200), _single_line, _not_blank]
    )
    instrument_id = ident(required=True)
    team_ids = fields.List(ident(), required=True, validate=validate.Length(min=1, max=1000))
    mode = fields.String(load_default="confidential", validate=validate.OneOf(ROUND_MODES))
    opens_on = fields.Date(
        allow_none=True,
        validate=_day_in_range,
        metadata={"description": "First day, in the organization's time zone"},
    )
    closes_on = fields.Date(
        required=True,
        validate=_day_in_range,
        metadata={"description": "Last day answers are taken, in the organization's time zone"},
    )


class TeamCompletionSchema(Strict):
    team_id = ident()
    team = fields.String()
    invited = fields.Integer()
    submitted = fields.Integer()


class LinksRequestSchema(Strict):
    which = fields.String(
        load_default="new",
        validate=validate.OneOf(("new", "all-open")),
        metadata={
            "description": "new: members without a link; all-open: also fresh links for"
            " everyone who has not submitted (their old links stop working; refused in"
            " anonymous rounds)"
        },
    )


class LinkSchema(Strict):
    member_id = ident()
    name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    team = fields.String()
    url = fields.String(metadata={"description": "The personal link; shown this once"})


# ------------------------------------------------------------------ results
class TeamResultsSchema(Strict):
    round_id = ident()
    team_id = ident()
    team = fields.String()
    released = fields.Boolean(
        metadata={"description": "false: nothing released for the team (reason says why)"}
    )
    reason = fields.String(allow_none=True)
    snapshot_id = fields.Integer(allow_none=True)
    released_on = fields.Date(allow_none=True, metadata={"description": "Day of the release"})
    n = fields.Integer(allow_none=True, metadata={"description": "Responses in the release"})
    findings = fields.Dict(
        allow_none=True,
        metadata={
            "description": "The team's released findings, coarsened as on the dashboard"
            " (one decimal, counts of members in words)"
        },
    )


# ------------------------------------------------------------------ exports and jobs
class ExportRequestSchema(Strict):
    format = fields.String(load_default="csv", validate=validate.OneOf(EXPORT_FORMATS))
    k = fields.Integer(
        strict=True,
        validate=validate.Range(min=2, max=1000),
        metadata={"description": "Smallest group size; at least the anonymity threshold"},
    )


class ProgressSchema(Strict):
    done = fields.Integer()
    total = fields.Integer(allow_none=True)


class JobSchema(Strict):
    id = ident()
    kind = fields.String()
    status = fields.String(validate=validate.OneOf(("queued", "running", "done", "failed")))
    text = fields.String(metadata={"description": "The state in words"})
    progress = fields.Nested(ProgressSchema)
    finished = fields.Boolean()
    summary = fields.String(allow_none=True)
    problems = fields.List(fields.String())
    download = fields.Boolean(metadata={"description": "Whether the file can be downloaded"})
    download_url = fields.String(allow_none=True)


class ScopeSchema(Strict):
    organization_id = ident()
    organization = fields.String()
    scope = fields.String(validate=validate.OneOf(API_SCOPES))
    token = fields.String(metadata={"description": "The token's name and first characters"})
