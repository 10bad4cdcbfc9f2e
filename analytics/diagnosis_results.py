"""What a diagnosis holds: one result per team and dimension, pillars, plays, the profile mix.

The frozen dataclasses :func:`analytics.diagnosis.diagnose_round` returns, and
:func:`json_number`; the rules that fill them are in :mod:`analytics.diagnosis`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import pandas as pd

from analytics.coarsen import SMALL_GROUP
from analytics.flags import (
    FLAG_FDR,
    BlockerFlag,
)

MAX_TOP_BLOCKERS = 3


MIN_TEAMS_FOR_SPREAD = 4


OTHER_PROFILES = "Other profiles"


CONFIDENCE = 0.95


def frozen_mapping(mapping: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    """A read-only copy of a mapping (empty by default)."""
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class DimensionFinding:
    """One team's result on one dimension (all statistics ``None`` when withheld)."""

    dimension: str
    kind: str | None
    n_scored: int
    withheld: bool
    mean: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    sd: float | None = None
    percentile: float | None = None
    prevalence: float | None = None
    n_prevalent: int | None = None
    disagreeing: bool | None = None
    severity: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict; a withheld dimension gives only ``{"withheld": true}``."""
        if self.withheld:
            return {"withheld": True}
        ci = None
        if self.ci_low is not None and self.ci_high is not None:
            ci = [json_number(self.ci_low), json_number(self.ci_high)]
        return {
            "n": self.n_scored,
            "mean": json_number(self.mean),
            "ci": ci,
            "sd": json_number(self.sd),
            "percentile": json_number(self.percentile),
            "prevalence": json_number(self.prevalence),
            "n_prevalent": self.n_prevalent,
            "disagreeing": self.disagreeing,
            "severity": json_number(self.severity),
            "withheld": False,
        }


@dataclass(frozen=True)
class PillarSummary:
    """A pillar's standing for one team."""

    id: str
    name: str
    description: str
    blockers: tuple[str, ...]
    percentile: float | None
    level: str | None
    tentative: bool = False
    flagged: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict."""
        return {
            "name": self.name,
            "description": self.description,
            "blockers": list(self.blockers),
            "percentile": json_number(self.percentile),
            "level": self.level,
            "tentative": self.tentative,
            "flagged": list(self.flagged),
        }


@dataclass(frozen=True)
class PracticeGap:
    """A top blocker whose countering play the team rarely uses."""

    blocker: str
    play: str
    practice_mean: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict."""
        return {
            "blocker": self.blocker,
            "play": self.play,
            "practice_mean": json_number(self.practice_mean),
        }


@dataclass(frozen=True)
class RecommendedPlay:
    """A play recommended to a team, with the advice to discuss it."""

    id: str
    name: str
    rationale: str
    questions: tuple[str, ...]
    addresses: tuple[str, ...]
    practice_mean: float | None
    practice_gap: bool
    in_regular_use: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict."""
        return {
            "id": self.id,
            "name": self.name,
            "rationale": self.rationale,
            "questions": list(self.questions),
            "addresses": list(self.addresses),
            "practice_mean": json_number(self.practice_mean),
            "practice_gap": self.practice_gap,
            "in_regular_use": self.in_regular_use,
        }


@dataclass(frozen=True)
class ProfileMix:
    """Expected members per profile, or why the mix is withheld.

    ``counts`` is empty when withheld; ``merged`` names the profiles folded
    into :data:`OTHER_PROFILES`.
    """

    shown: bool
    n_assigned: int
    counts: Mapping[str, float] = field(default_factory=frozen_mapping)
    merged: tuple[str, ...] = ()
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict."""
        return {
            "shown": self.shown,
            "n_assigned": self.n_assigned,
            "counts": {k: json_number(v) for k, v in self.counts.items()},
            "merged": list(self.merged),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class TeamDiagnosis:
    """Everything the report says about one team.

    For a suppressed team only ``name``, ``n`` and ``suppressed`` are set; every
    other field is ``None`` or empty.
    """

    name: str
    n: int
    suppressed: bool
    invited: int | None = None
    response_rate: float | None = None
    dimensions: Mapping[str, DimensionFinding] = field(default_factory=frozen_mapping)
    top_blockers: tuple[str, ...] = ()
    strengths: tuple[str, ...] = ()
    summary: str | None = None
    strength_sentences: tuple[str, ...] = ()
    checklist: tuple[tuple[str, str], ...] = ()
    pillars: tuple[PillarSummary, ...] = ()
    practice_gaps: tuple[PracticeGap, ...] = ()
    recommended_plays: tuple[RecommendedPlay, ...] = ()
    profile_mix: ProfileMix | None = None
    flags: Mapping[str, BlockerFlag] = field(default_factory=frozen_mapping)
    ranking: tuple[str, ...] = ()

    @property
    def plays_to_practise_first(self) -> tuple[RecommendedPlay, ...]:
        """The first two recommended plays the team does not already use regularly."""
        return tuple(p for p in self.recommended_plays if not p.in_regular_use)[:2]

    @property
    def main_blockers(self) -> tuple[str, ...]:
        """Top blockers flagged "main" (not tentative)."""
        return tuple(b for b in self.top_blockers if self.flags[b].level == "main")

    def flag(self, blocker: str) -> BlockerFlag | None:
        """The flag verdict on a blocker, ``None`` when it was not rated."""
        return self.flags.get(blocker)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict; a suppressed team gives only ``n`` and ``suppressed``."""
        if self.suppressed:
            return {"n": self.n, "suppressed": True}
        return {
            "n": self.n,
            "suppressed": False,
            "invited": self.invited,
            "response_rate": json_number(self.response_rate),
            "dimensions": {k: v.to_dict() for k, v in self.dimensions.items()},
            "top_blockers": list(self.top_blockers),
            "strengths": list(self.strengths),
            "summary": self.summary,
            "strength_sentences": list(self.strength_sentences),
            "checklist": [{"heading": h, "line": line} for h, line in self.checklist],
            "pillars": {p.id: p.to_dict() for p in self.pillars},
            "practice_gaps": [g.to_dict() for g in self.practice_gaps],
            "recommended_plays": [p.to_dict() for p in self.recommended_plays],
            "plays_to_practise_first": [p.id for p in self.plays_to_practise_first],
            "profile_mix": None if self.profile_mix is None else self.profile_mix.to_dict(),
            "flags": {k: v.to_dict() for k, v in self.flags.items()},
            "ranking": list(self.ranking),
        }


@dataclass(frozen=True)
class OrgDimension:
    """Org-level reference statistics and thresholds for one dimension.

    ``includes_unshown`` tells whether scores outside the shown team results
    are part of the reference (see the module notes on differencing).
    ``median`` (the line the blocker chart draws) and ``pooled_sd`` (the pooled
    within-team standard deviation the flags use) are not in :meth:`to_dict`.
    """

    id: str
    name: str
    kind: str | None
    n_scored: int
    mean: float | None
    sd: float | None
    includes_unshown: bool
    prevalence_threshold: float
    spread_threshold: float | None
    practice_gap_threshold: float | None
    median: float | None = None
    pooled_sd: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict."""
        return {
            "name": self.name,
            "kind": self.kind,
            "n": self.n_scored,
            "mean": json_number(self.mean),
            "sd": json_number(self.sd),
            "includes_unshown": self.includes_unshown,
            "prevalence_threshold": json_number(self.prevalence_threshold),
            "spread_threshold": json_number(self.spread_threshold),
            "practice_gap_threshold": json_number(self.practice_gap_threshold),
        }


@dataclass(frozen=True)
class RoundDiagnosis:
    """The diagnosis of a whole round: org reference and one entry per team."""

    instrument_id: str
    instrument_version: int
    n_respondents: int
    threshold: int
    org: Mapping[str, OrgDimension]
    teams: Mapping[str, TeamDiagnosis]
    flag_fdr: float = FLAG_FDR
    tentative_below: int = SMALL_GROUP

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (no NaN; missing values are ``None``)."""
        return {
            "instrument": {"id": self.instrument_id, "version": self.instrument_version},
            "n_respondents": self.n_respondents,
            "anonymity_threshold": self.threshold,
            "thresholds": {"flag_fdr": self.flag_fdr, "tentative_below": self.tentative_below},
            "org": {k: v.to_dict() for k, v in self.org.items()},
            "teams": {k: v.to_dict() for k, v in self.teams.items()},
        }


def json_number(value: Any) -> float | None:
    """A float for JSON: ``None`` for missing, NaN or infinite values.

    Examples
    --------
    >>> import numpy as np
    >>> json_number(np.float64(2.5)), json_number(float("nan")), json_number(None)
    (2.5, None, None)
    """
    if value is None or value is pd.NA:
        return None
    number = float(value)
    return number if math.isfinite(number) else None
