"""Coarsened figures: how a team's results are rounded and worded wherever they are shown.

Exact figures about a small team can be differenced or point at one member:
"1 of 6 members holds back ..." names a person to anyone who knows the team,
and a mean to four decimals, compared with last round's or another group's,
can give away one answer. Every figure about a team that reaches a reader -
the PDF report, the dashboard and its SVG charts, the advice sentences and
the published JSON - is therefore passed through this module, which is the
one place that decides how it is rounded and worded.

Rounding
--------
Means, spreads (standard deviations), confidence limits and organization
quantiles are shown to **one decimal**, halves rounded **away from zero**
(:func:`display_round`: 2.45 -> 2.5, 2.55 -> 2.6, -0.25 -> -0.3), using the
decimal the number is written as (``str(x)``), not its binary expansion.
Charts are drawn at the rounded value, so the printed number is the drawn
one. Percentiles and percentages are shown as whole numbers, by the same rule.

A mean on a labelled response scale reads as the label of the nearest scale
point **of its rounded value**, halves up (:func:`scale_label`): a mean shown
as 2.5 on the 1-5 frequency scale always reads "Sometimes", whether it was
2.45 or 2.54.

Counts of members
-----------------
A count ``k`` of the ``n`` members of a group (members at or above "Agree" on
a blocker, members a profile could be estimated for) is shown in words
(:func:`count_word`, :func:`count_phrase`):

* "none" for 0 and "all" for ``n``;
* "a few" for 1 or 2 members and "most" for all but 1 or 2 (``n - k`` of 1
  or 2) - counts that would point at one or two people - in groups of every
  size;
* in groups of fewer than :data:`SMALL_GROUP` (10) members, "about half" for
  everything between;
* in groups of :data:`SMALL_GROUP` or more, the exact "k of n" for
  everything between.

In groups of 3 or 4, where a count can be both "1 or 2" and "all but 1 or 2",
the count reads "a few" below half, "about half" at half and "most" above.
For the group sizes below 10 this gives (``k`` per word):

======  ======  ======  ==========  ======  ======
n       none    a few   about half  most    all
======  ======  ======  ==========  ======  ======
1       0       -       -           -       1
2       0       -       1           -       2
3       0       1       -           2       3
4       0       1       2           3       4
5       0       1-2     -           3-4     5
6       0       1-2     3           4-5     6
7       0       1-2     3-4         5-6     7
8       0       1-2     3-5         6-7     8
9       0       1-2     3-6         7-8     9
======  ======  ======  ==========  ======  ======

So in a group of 5 or more, one member and two members read the same, and
so do all but one and all but two. In groups of 3 or 4 (under the default
anonymity threshold of 5) the words cannot hide the count. "none" and "all"
still say something about every member; they are shown because a team needs
to know that a blocker is shared by everyone or by no one.

The size of a group (how many answered) is a completion count and is shown
as it is.

Publication
-----------
:func:`published_json` applies the same rules to the JSON of a round's
analysis (:meth:`analytics.pipeline.RoundAnalysis.to_json_dict`) before it is
published; the analysis itself keeps exact figures for analysts working on
their own data.

Examples
--------
>>> display_round(2.45), display_round(2.55), format_score(float("nan"))
(2.5, 2.6, '–')
>>> [count_word(k, 6) for k in range(7)]
['none', 'a few', 'a few', 'about half', 'most', 'most', 'all']
>>> count_phrase(7, 12), count_phrase(1, 12), count_phrase(0, 6)
('7 of 12 members', 'a few members', 'none of the members')
>>> scale_label(2.5, ("Never", "Rarely", "Sometimes", "Often", "Always"))
'Sometimes'
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from analytics.language import current_language

__all__ = [
    "COARSENING_NOTE",
    "COARSENING_NOTE_FR",
    "COUNT_WORDS",
    "COUNT_WORDS_FR",
    "DISPLAY_DIGITS",
    "MISSING_SCORE",
    "POINTING",
    "SMALL_GROUP",
    "coarsening_note",
    "count_phrase",
    "count_word",
    "display_round",
    "display_round_or_none",
    "format_percent",
    "format_score",
    "published_json",
    "scale_label",
    "scale_point",
    "shows_exact_count",
]

#: Decimals of a displayed mean, spread, confidence limit or quantile.
DISPLAY_DIGITS = 1

#: Groups smaller than this get every count of members in words.
SMALL_GROUP = 10

#: A count of this many members or fewer, at either end ("k" or "n - k"),
#: would point at individuals and is always given in words.
POINTING = 2

#: The words for a count, keyed by what they stand for (see the module table).
COUNT_WORDS: Mapping[str, str] = {
    "none": "none",
    "few": "a few",
    "half": "about half",
    "most": "most",
    "all": "all",
}

#: The words for a count in French ("la plupart des membres", "7 membres sur 12").
COUNT_WORDS_FR: Mapping[str, str] = {
    "none": "aucun",
    "few": "quelques-uns",
    "half": "environ la moiti\u00e9",
    "most": "la plupart",
    "all": "tous",
}
_PHRASES_FR = {
    "none": "aucun des {noun}",
    "few": "quelques {noun}",
    "half": "environ la moiti\u00e9 des {noun}",
    "most": "la plupart des {noun}",
    "all": "tous les {noun}",
}
#: French nouns for the English plural nouns counted here.
_NOUNS_FR = {"members": "membres", "people": "personnes", "teams": "\u00e9quipes"}

#: How a missing score is written by :func:`format_score`.
MISSING_SCORE = "\u2013"

#: Plain-language statement of the rules, for a report's method section.
COARSENING_NOTE = (
    "Averages and spreads are rounded to one decimal (halves away from zero), and the "
    "charts are drawn at the rounded values. Counts of members are given in words: "
    f"\u201c{COUNT_WORDS['few']}\u201d means one or two members and "
    f"\u201c{COUNT_WORDS['most']}\u201d all but one or two, in a team of any size; in a "
    f"team of fewer than {SMALL_GROUP} members, \u201c{COUNT_WORDS['half']}\u201d is "
    "anything in between. Larger teams see exact counts in between. No minimum or "
    "maximum of individual scores is shown."
)

COARSENING_NOTE_FR = (
    "Les moyennes et les dispersions sont arrondies \u00e0 une d\u00e9cimale (les demis "
    "s\u2019\u00e9loignant de z\u00e9ro), et les graphiques sont trac\u00e9s aux valeurs "
    "arrondies. Les effectifs de membres sont donn\u00e9s en mots\u00a0: "
    f"\u00ab\u00a0{_PHRASES_FR['few'].format(noun='membres')}\u00a0\u00bb signifie un ou "
    f"deux membres et \u00ab\u00a0{_PHRASES_FR['most'].format(noun='membres')}\u00a0\u00bb "
    "tous sauf un ou deux, quelle que soit la taille de l\u2019\u00e9quipe\u00a0; dans une "
    f"\u00e9quipe de moins de {SMALL_GROUP} membres, "
    f"\u00ab\u00a0{_PHRASES_FR['half'].format(noun='membres')}\u00a0\u00bb d\u00e9signe "
    "tout ce qui est entre les deux. Les \u00e9quipes plus grandes voient les effectifs "
    "exacts entre les deux. Aucun minimum ni maximum des scores individuels n\u2019est "
    "montr\u00e9."
)


def coarsening_note() -> str:
    """:data:`COARSENING_NOTE` in the language results are worded in."""
    return COARSENING_NOTE_FR if current_language() == "fr" else COARSENING_NOTE


#: Keys of the published JSON that would be one person's score (dropped anywhere).
_EXTREMES = frozenset({"min", "max", "minimum", "maximum"})

# Beyond this magnitude a float has no fractional part to round.
_INTEGRAL = 2.0**52


def display_round(x: float, digits: int = DISPLAY_DIGITS) -> float:
    """Round a figure for display: ``digits`` decimals, halves away from zero.

    The number is rounded as it is written (``str(x)``), so 2.55 becomes 2.6
    although the float nearest 2.55 lies just below it. NaN and infinities
    pass through; -0.0 becomes 0.0.

    Parameters
    ----------
    x : float
        The figure (anything ``float()`` accepts).
    digits : int, default 1
        Decimals kept; 0 for whole numbers (percentiles, percentages).

    Returns
    -------
    float

    Examples
    --------
    >>> display_round(2.5), display_round(2.55), display_round(2.449), display_round(-0.25)
    (2.5, 2.6, 2.4, -0.3)
    >>> display_round(72.5, 0), display_round(-0.04)
    (73.0, 0.0)
    """
    value = float(x)
    if not math.isfinite(value) or abs(value) >= _INTEGRAL:
        return value
    exponent = Decimal(1).scaleb(-digits)
    rounded = Decimal(str(value)).quantize(exponent, rounding=ROUND_HALF_UP)
    return float(rounded) + 0.0  # "+ 0.0" turns -0.0 into 0.0


def display_round_or_none(x: float | None, digits: int = DISPLAY_DIGITS) -> float | None:
    """:func:`display_round`, with ``None`` for a missing, NaN or infinite value.

    Examples
    --------
    >>> display_round_or_none(3.25), display_round_or_none(None), display_round_or_none(math.nan)
    (3.3, None, None)
    """
    if x is None:
        return None
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return display_round(value, digits) if math.isfinite(value) else None


def format_score(x: float | None, digits: int = DISPLAY_DIGITS) -> str:
    """A figure as text with ``digits`` decimals, rounded by :func:`display_round`.

    Missing values (``None``, NaN, infinite) are :data:`MISSING_SCORE`.

    Examples
    --------
    >>> format_score(3.45), format_score(3), format_score(None), format_score(0.705, 2)
    ('3.5', '3.0', '–', '0.71')
    """
    rounded = display_round_or_none(x, digits)
    if rounded is None:
        return MISSING_SCORE
    text = f"{rounded:.{digits}f}"
    return text.replace(".", ",") if current_language() == "fr" else text


def format_percent(share: float | None) -> str:
    """A share (0-1) as a whole percentage, halves up; :data:`MISSING_SCORE` if missing.

    Examples
    --------
    >>> format_percent(0.875), format_percent(0.125), format_percent(None)
    ('88%', '13%', '–')
    """
    if share is None:
        return MISSING_SCORE
    percent = display_round_or_none(100 * float(share), 0)
    if percent is None:
        return MISSING_SCORE
    return f"{percent:.0f}\u00a0%" if current_language() == "fr" else f"{percent:.0f}%"


def scale_label(mean: float, labels: Sequence[str], scale_min: int = 1) -> str:
    """The label of the scale point a mean reads as, judged on its displayed value.

    The mean is first rounded for display (:func:`display_round`), then to the
    nearest scale point with halves up, so the label always agrees with the
    printed one-decimal number: 2.45 and 2.54 both print as 2.5 and both read
    as the third point.

    Parameters
    ----------
    mean : float
        A mean on the scale.
    labels : sequence of str
        The labels of the scale points, lowest first.
    scale_min : int, default 1
        The value of the lowest point.

    Returns
    -------
    str
        The label, ``""`` when the mean is missing or there are no labels.

    Examples
    --------
    >>> frequency = ("Never", "Rarely", "Sometimes", "Often", "Always")
    >>> [scale_label(m, frequency) for m in (2.44, 2.45, 2.5, 2.55, 0.2, 9.0)]
    ['Rarely', 'Sometimes', 'Sometimes', 'Sometimes', 'Never', 'Always']
    """
    if not labels:
        return ""
    point = scale_point(mean, scale_min, scale_min + len(labels) - 1)
    return "" if point is None else labels[point - scale_min]


def scale_point(mean: float | None, scale_min: int, scale_max: int) -> int | None:
    """The scale point a mean reads as: its displayed value to the nearest point, halves up.

    The rule behind :func:`scale_label`, for code that compares with a point
    rather than a label ("used often" = reads as 4 or more on 1-5).

    Examples
    --------
    >>> [scale_point(m, 1, 5) for m in (2.44, 2.45, 3.96, 0.2, None)]
    [2, 3, 4, 1, None]
    """
    shown = display_round_or_none(mean)
    if shown is None:
        return None
    point = int(Decimal(str(shown)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return min(max(point, scale_min), scale_max)


def _word_key(k: int, n: int) -> str | None:
    """The key of :data:`COUNT_WORDS` for ``k`` of ``n``, or ``None`` for an exact count."""
    if k <= 0:
        return "none"
    if k >= n:
        return "all"
    few, most = k <= POINTING, n - k <= POINTING
    if few and most:  # groups of up to 2 * POINTING: compare with half
        return "few" if 2 * k < n else "most" if 2 * k > n else "half"
    if few:
        return "few"
    if most:
        return "most"
    return "half" if n < SMALL_GROUP else None


def _check_count(k: int, n: int) -> None:
    if n < 0 or not 0 <= k <= max(n, 0):
        raise ValueError(f"a count must lie between 0 and the group size: {k} of {n}")


def shows_exact_count(k: int, n: int) -> bool:
    """Whether ``k`` of ``n`` members is shown as the exact number.

    Only in groups of :data:`SMALL_GROUP` or more, and only when neither ``k``
    nor ``n - k`` is 0, 1 or 2.

    Examples
    --------
    >>> shows_exact_count(7, 12), shows_exact_count(2, 12), shows_exact_count(4, 8)
    (True, False, False)
    """
    _check_count(k, n)
    return _word_key(k, n) is None


def count_word(k: int, n: int) -> str:
    """How ``k`` of ``n`` members is shown: a word, or the exact "k of n".

    The rules and the table of thresholds are in the module docstring.

    Parameters
    ----------
    k : int
        Members counted (0 to ``n``).
    n : int
        Members in the group.

    Returns
    -------
    str
        "none", "a few", "about half", "most", "all" or, only in groups of
        :data:`SMALL_GROUP` or more, "k of n".

    Raises
    ------
    ValueError
        When ``k`` is not between 0 and ``n``.

    Examples
    --------
    >>> count_word(1, 9), count_word(4, 9), count_word(8, 9)
    ('a few', 'about half', 'most')
    >>> count_word(2, 14), count_word(3, 14), count_word(12, 14)
    ('a few', '3 of 14', 'most')
    """
    _check_count(k, n)
    key = _word_key(k, n)
    if current_language() == "fr":
        return f"{k} sur {n}" if key is None else COUNT_WORDS_FR[key]
    return f"{k} of {n}" if key is None else COUNT_WORDS[key]


def count_phrase(k: int, n: int, noun: str = "members") -> str:
    """``k`` of ``n`` members as the subject of a sentence.

    Every phrase takes a plural verb ("a few members hold back ...", "7 of 12
    members hold back ..."): an exact count is never 1 (see
    :func:`shows_exact_count`).

    Parameters
    ----------
    k : int
        Members counted (0 to ``n``).
    n : int
        Members in the group.
    noun : str, default "members"
        The plural noun.

    Returns
    -------
    str

    Examples
    --------
    >>> [count_phrase(k, 7) for k in (0, 2, 3, 6, 7)]  # doctest: +NORMALIZE_WHITESPACE
    ['none of the members', 'a few members', 'about half of the members', 'most members',
     'all members']
    >>> count_phrase(5, 11, "people")
    '5 of 11 people'
    """
    _check_count(k, n)
    key = _word_key(k, n)
    if current_language() == "fr":
        noun_fr = _NOUNS_FR.get(noun, noun)
        return f"{k} {noun_fr} sur {n}" if key is None else _PHRASES_FR[key].format(noun=noun_fr)
    if key is None:
        return f"{k} of {n} {noun}"
    word = COUNT_WORDS[key]
    if key in ("none", "half"):
        return f"{word} of the {noun}"
    return f"{word} {noun}"


# --- publication ------------------------------------------------------------------------


def published_json(d: Mapping[str, Any]) -> dict[str, Any]:
    """Coarsen the JSON of a round's analysis for publication.

    Takes the dict of :meth:`analytics.pipeline.RoundAnalysis.to_json_dict`
    and returns a new one (the argument is not changed) in which:

    * every mean, standard deviation, confidence limit, spread threshold,
      practice mean and profile centroid is rounded to one decimal, and
      percentiles and the response rate to whole percentage points
      (:func:`display_round`); Cronbach's alpha (and its interval and omega,
      when given) and the profile stability to two decimals, as the report
      prints them;
    * in each shown team dimension, the count of members at or above the
      prevalence threshold is published as ``"prevalent"``, the words of
      :func:`count_word`; ``"n_prevalent"`` and ``"prevalence"`` keep the
      exact count and share only where :func:`shows_exact_count` allows it
      and are ``None`` otherwise; ``"severity"`` (which combines the
      percentile with the exact share, and so would give both back) is
      rounded to two decimals where the count is exact and ``None`` otherwise
      - ``top_blockers`` and ``strengths`` carry its verdict;
    * a profile mix's ``"n_assigned"`` is treated the same way (words in
      ``"assigned"``), and its expected counts are rounded to whole members,
      or given in words in a team under :data:`SMALL_GROUP`;
    * any ``min``/``max`` (an individual's score) of the organization, a team
      or a team's dimension is removed;
    * a profile with fewer members than the anonymity threshold keeps no
      centroid, and its size reads "fewer than 5".

    Team sizes (``n``, ``invited``) and the scored members of a dimension stay
    as they are: they are completion counts. Sentences (``summary``,
    ``strength_sentences``) are already worded by :mod:`analytics.advice`.

    Parameters
    ----------
    d : mapping
        ``RoundAnalysis.to_json_dict()``.

    Returns
    -------
    dict
        JSON-safe, like its input.

    Examples
    --------
    >>> team = {"n": 6, "suppressed": False, "response_rate": 0.75, "dimensions": {
    ...     "trust": {"n": 6, "mean": 3.4567, "ci": [2.71, 4.2], "sd": 0.912,
    ...               "percentile": 61.5, "prevalence": 1 / 6, "n_prevalent": 1,
    ...               "disagreeing": None, "severity": 0.39, "withheld": False}}}
    >>> out = published_json({"teams": {"red": team}})["teams"]["red"]
    >>> out["response_rate"], out["dimensions"]["trust"]  # doctest: +NORMALIZE_WHITESPACE
    (0.75, {'n': 6, 'mean': 3.5, 'ci': [2.7, 4.2], 'sd': 0.9, 'percentile': 62.0,
      'prevalence': None, 'n_prevalent': None, 'disagreeing': None, 'severity': None,
      'withheld': False, 'prevalent': 'a few'})
    """
    out: dict[str, Any] = _copy(dict(d))
    reliability = out.get("reliability")
    if isinstance(reliability, dict):
        for entry in reliability.values():
            _round_keys(entry, ("alpha", "alpha_ci_low", "alpha_ci_high", "omega"), 2)
    profiles = out.get("profiles")
    if isinstance(profiles, dict):
        _round_profiles(profiles)
        _withhold_small_profiles(profiles, out.get("anonymity_threshold"))
    org = out.get("org")
    if isinstance(org, dict):
        for entry in org.values():
            _drop_extremes(entry)
            _round_keys(entry, ("mean", "sd", "spread_threshold"), DISPLAY_DIGITS)
    teams = out.get("teams")
    if isinstance(teams, dict):
        for team in teams.values():
            if isinstance(team, dict) and not team.get("suppressed"):
                _coarsen_team(team)
    return out


def _copy(value: Any) -> Any:
    """A deep copy of JSON-like data that shares nothing (unlike ``copy.deepcopy``,
    which keeps an object reached twice as one object, so it would be coarsened twice)."""
    if isinstance(value, Mapping):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_copy(v) for v in value]
    return value


def _drop_extremes(entry: Any) -> None:
    if isinstance(entry, dict):
        for key in _EXTREMES & entry.keys():
            del entry[key]


def _round_keys(entry: Any, keys: Sequence[str], digits: int) -> None:
    if not isinstance(entry, dict):
        return
    for key in keys:
        if key in entry and entry[key] is not None:
            entry[key] = display_round_or_none(entry[key], digits)


def _round_profiles(profiles: dict[str, Any]) -> None:
    centroids = profiles.get("centroids")
    if isinstance(centroids, dict):
        for centroid in centroids.values():
            if isinstance(centroid, dict):
                _round_keys(centroid, list(centroid), DISPLAY_DIGITS)
    _round_keys(profiles, ("stability_ari",), 2)
    jaccard = profiles.get("stability_jaccard")
    if isinstance(jaccard, dict):
        _round_keys(jaccard, list(jaccard), 2)


def _withhold_small_profiles(profiles: dict[str, Any], threshold: object) -> None:
    """A profile of fewer than ``threshold`` people: no centroid, its size in words.

    A centroid is the mean of the profile's members: over one or two people it
    is their scores.
    """
    if not isinstance(threshold, int):
        return
    sizes = profiles.get("sizes")
    centroids = profiles.get("centroids")
    if not isinstance(sizes, dict):
        return
    for name, size in list(sizes.items()):
        if isinstance(size, int) and size < threshold:
            sizes[name] = f"fewer than {threshold}"
            if isinstance(centroids, dict) and name in centroids:
                centroids[name] = None


def _coarsen_team(team: dict[str, Any]) -> None:
    _drop_extremes(team)
    _round_keys(team, ("response_rate",), 2)
    dimensions = team.get("dimensions")
    if isinstance(dimensions, dict):
        for finding in dimensions.values():
            if isinstance(finding, dict) and not finding.get("withheld"):
                _coarsen_finding(finding)
    pillars = team.get("pillars")
    if isinstance(pillars, dict):
        for pillar in pillars.values():
            _round_keys(pillar, ("percentile",), 0)
    for key in ("practice_gaps", "recommended_plays"):
        for entry in team.get(key) or ():
            _round_keys(entry, ("practice_mean",), DISPLAY_DIGITS)
    mix = team.get("profile_mix")
    if isinstance(mix, dict):
        _coarsen_mix(mix, team.get("n"))


def _coarsen_finding(finding: dict[str, Any]) -> None:
    _drop_extremes(finding)
    _round_keys(finding, ("mean", "sd"), DISPLAY_DIGITS)
    _round_keys(finding, ("percentile",), 0)
    if isinstance(finding.get("ci"), list):
        finding["ci"] = [display_round_or_none(v) for v in finding["ci"]]
    k, n = finding.get("n_prevalent"), finding.get("n")
    if not isinstance(k, int) or not isinstance(n, int) or not 0 <= k <= n:
        finding["prevalence"] = finding["n_prevalent"] = finding["severity"] = None
        return
    finding["prevalent"] = count_word(k, n)
    if shows_exact_count(k, n):
        _round_keys(finding, ("prevalence", "severity"), 2)
    else:
        finding["prevalence"] = finding["n_prevalent"] = finding["severity"] = None


def _coarsen_mix(mix: dict[str, Any], n: Any) -> None:
    k = mix.get("n_assigned")
    if isinstance(k, int) and isinstance(n, int) and 0 <= k <= n:
        mix["assigned"] = count_word(k, n)
        if not shows_exact_count(k, n):
            mix["n_assigned"] = None
    counts = mix.get("counts")
    if not isinstance(counts, dict):
        return
    for name, value in counts.items():
        whole = display_round_or_none(value, 0)
        if whole is not None and isinstance(n, int) and n < SMALL_GROUP:
            counts[name] = count_word(min(max(int(whole), 0), n), n)
        else:
            counts[name] = whole
