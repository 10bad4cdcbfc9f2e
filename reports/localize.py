"""A team's diagnosis worded in another language.

The analysis of a round is computed once (and stored) with the English
framework; its findings - which blockers, which plays, which levels, the counts -
do not depend on the language, but the sentences it wrote out do. This module
re-words those sentences from the same findings with the framework of another
language (:func:`analytics.advice.load_advice`), using the very functions the
analysis used, so the French summary says what the English one says.

Examples
--------
>>> localized = localize_diagnosis(diagnosis, load_advice(language="fr"))  # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from types import SimpleNamespace

from analytics.advice import Advice
from analytics.diagnosis import TeamDiagnosis
from analytics.diagnosis_plays import checklist_lines, summary_sentence, with_note

__all__ = ["localize_diagnosis", "profile_name"]


def localize_diagnosis(
    diagnosis: TeamDiagnosis, advice: Advice, names: dict[str, str]
) -> TeamDiagnosis:
    """The diagnosis with its sentences, plays, pillars and checklist from ``advice``.

    ``names`` gives each dimension's name in the language (for a blocker the
    framework does not describe).
    """
    if diagnosis.suppressed:
        return diagnosis
    findings = diagnosis.dimensions
    blocker_advice = {
        b: advice.blocker_or_generic(b, names.get(b, b)) for b in diagnosis.ranking if b in findings
    }
    flags = diagnosis.flags
    team_flags = SimpleNamespace(
        ranking=diagnosis.ranking,
        above=tuple(b for b in diagnosis.ranking if flags.get(b) is not None and flags[b].above),
        flags=flags,
    )
    top = diagnosis.top_blockers
    plays = tuple(
        replace(p, name=found.name, rationale=found.rationale, questions=found.questions)
        if (found := advice.play(p.id)) is not None
        else p
        for p in diagnosis.recommended_plays
    )
    pillars = tuple(
        replace(p, name=found.name, description=found.description)
        if (found := next((q for q in advice.pillars if q.id == p.id), None)) is not None
        else p
        for p in diagnosis.pillars
    )
    return replace(
        diagnosis,
        summary=summary_sentence(team_flags, findings, blocker_advice, advice)
        if diagnosis.summary is not None
        else None,
        strength_sentences=tuple(
            with_note(
                blocker_advice[b].strength_sentence(findings[b].n_prevalent, findings[b].n_scored),
                flags[b],
                findings[b],
                advice,
            )
            for b in diagnosis.strengths
        ),
        checklist=checklist_lines(blocker_advice.get(top[0]) if top else None, advice),
        recommended_plays=plays,
        pillars=pillars,
    )


#: The fixed words of a profile name (:mod:`analytics.profile_names`), by language.
_PROFILE_WORDS = {
    "fr": {
        "All respondents": "Tous les répondants",
        "High on all dimensions": "Élevé sur toutes les dimensions",
        "Low on all dimensions": "Bas sur toutes les dimensions",
        "Average": "Dans la moyenne",
        "Other profiles": "Autres profils",
        "high on ": "élevé en ",
        "low on ": "bas en ",
        " & ": " et ",
        "higher ": "plus haut en ",
        "lower ": "plus bas en ",
    }
}

_PROFILE_NAME = re.compile(
    r"^(?P<body>.*?)(?: \((?P<dir>higher|lower) (?P<dim>[^)]*)\))?(?P<num> \d+)?$"
)


def profile_name(name: str, dimension_names: Mapping[str, str], language: str) -> str:
    """A profile's name (built by :func:`analytics.profile_names.name_profiles` in English)
    in ``language``.

    ``dimension_names`` maps each English dimension name as it appears inside a
    profile name (lower case first, as :mod:`analytics.profile_names` writes it)
    to its name in the language. A name not built by those rules is returned
    unchanged.

    Examples
    --------
    >>> names = {"time pressure": "pression de l'échéance", "trust": "information retenue"}
    >>> profile_name("High on time pressure & trust", names, "fr")
    "Élevé en pression de l'échéance et information retenue"
    >>> profile_name("Average (higher trust) 2", names, "fr")
    'Dans la moyenne (plus haut en information retenue) 2'
    """
    words = _PROFILE_WORDS.get(language)
    if not words:
        return name
    match = _PROFILE_NAME.match(name)
    if match is None:  # pragma: no cover - the pattern matches any string
        return name
    body = match["body"]
    if body in words:
        text = words[body]
    else:
        parts = []
        for index, part in enumerate(body.split(", low on ")):
            prefix = "low on " if index else ""
            lowered = prefix + part[0].lower() + part[1:] if part else part
            head = next((w for w in ("high on ", "low on ") if lowered.startswith(w)), None)
            if head is None:
                return name
            dims = re.split(r", | & ", lowered[len(head) :])
            dims = [_dimension(d, dimension_names) for d in dims]
            if any(d is None for d in dims):
                return name
            parts.append(words[head] + _join_words(dims, words))  # type: ignore[arg-type]
        text = ", ".join(parts)
        text = text[0].upper() + text[1:]
    if match["dir"]:
        dim = _dimension(match["dim"], dimension_names)
        if dim is None:
            return name
        text += f" ({words[match['dir'] + ' ']}{dim})"
    return text + (match["num"] or "")


def _dimension(name: str, dimension_names: Mapping[str, str]) -> str | None:
    return dimension_names.get(name)


def _join_words(names: list[str], words: Mapping[str, str]) -> str:
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + words[" & "] + names[-1]
