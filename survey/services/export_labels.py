"""Labels for statistics packages: SPSS (.sav) and Stata (.dta) exports, and R.

The codebook (:func:`survey.services.export._codebook`) is the one source of
every label: a column's *variable label* is its item text when it has one and
otherwise the first sentence of its meaning; its *value labels* are the labels
of its answer scale. Only the integer answer columns carry value labels: a
dimension score is a mean, so a label on 3 would wrongly suggest that 3.4 is
unlabelled rather than between two labels.

SPSS and Stata restrict variable names, so a column name that breaks their
rules (item ids may contain ``-``) is rewritten (``-`` becomes ``_``, and a
name that is taken gets a number). The codebook inside the file's bundle lists
the names used in that file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "STATS_FORMATS",
    "StatsLabels",
    "stats_labels",
    "value_label_rows",
    "variable_label",
    "variable_label_rows",
]

STATS_FORMATS = ("sav", "dta")
# Longest variable label each format stores, in bytes of UTF-8 (SPSS) or characters (Stata).
_LABEL_LIMIT = {"sav": 255, "dta": 80}
# Longest variable name: SPSS allows 64 bytes, Stata 32 characters.
_NAME_LIMIT = {"sav": 64, "dta": 32}
_SPSS_RESERVED = {"ALL", "AND", "BY", "EQ", "GE", "GT", "LE", "LT", "NE", "NOT", "OR", "TO", "WITH"}
_MEASURE = {"integer": "ordinal", "number": "scale", "text": "nominal"}


@dataclass(frozen=True)
class StatsLabels:
    """Everything pyreadstat needs beyond the data, for one format."""

    names: dict[str, str]  # export column -> name in the file
    column_labels: dict[str, str]  # file name -> variable label
    value_labels: dict[str, dict[int, str]]  # file name -> {value: label}
    measures: dict[str, str]  # file name -> SPSS measurement level


def stats_labels(fmt: str, codebook: Sequence[Mapping[str, Any]]) -> StatsLabels:
    """Variable names, variable labels, value labels and measures for ``fmt``."""
    if fmt not in STATS_FORMATS:
        raise ValueError(f"no statistics labels for format {fmt!r}")
    names: dict[str, str] = {}
    taken: set[str] = set()
    column_labels: dict[str, str] = {}
    value_labels: dict[str, dict[int, str]] = {}
    measures: dict[str, str] = {}
    for entry in codebook:
        column = str(entry["name"])
        name = _file_name(fmt, column, taken)
        taken.add(name.lower())
        names[column] = name
        column_labels[name] = _truncate(fmt, variable_label(entry))
        measures[name] = _MEASURE.get(str(entry.get("type")), "nominal")
        labels = entry.get("labels")
        if entry.get("type") == "integer" and isinstance(labels, Mapping) and labels:
            value_labels[name] = {int(value): str(label) for value, label in labels.items()}
    return StatsLabels(names, column_labels, value_labels, measures)


def variable_label(entry: Mapping[str, Any]) -> str:
    """The item text of an answer column, otherwise the first sentence of its meaning."""
    text = entry.get("item_text")
    if text:
        return str(text)
    meaning = str(entry.get("meaning") or entry["name"])
    first = re.split(r"(?<=[.;:])\s", meaning, maxsplit=1)[0]
    return first.rstrip(".;:")


def variable_label_rows(codebook: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    """``name, label`` rows (header first): the variable label of every column, for R."""
    return [["name", "label"]] + [[str(e["name"]), variable_label(e)] for e in codebook]


def value_label_rows(codebook: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    """``name, value, label`` rows (header first) of every labelled answer column, for R."""
    rows = [["name", "value", "label"]]
    for entry in codebook:
        labels = entry.get("labels")
        if entry.get("type") == "integer" and isinstance(labels, Mapping):
            for value, label in labels.items():
                rows.append([str(entry["name"]), str(value), str(label)])
    return rows


def _file_name(fmt: str, column: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_]", "_", column)
    if not base or not base[0].isalpha():
        base = f"v_{base}"
    if fmt == "sav" and base.upper() in _SPSS_RESERVED:
        base = f"{base}_v"
    if fmt == "sav":
        base = base.rstrip("_") or "v"  # SPSS names should not end with an underscore
    base = base[: _NAME_LIMIT[fmt]]
    name, number = base, 1
    while name.lower() in taken:
        number += 1
        suffix = f"_{number}"
        name = base[: _NAME_LIMIT[fmt] - len(suffix)] + suffix
    return name


def _truncate(fmt: str, label: str) -> str:
    limit = _LABEL_LIMIT[fmt]
    if fmt == "dta":
        return label if len(label) <= limit else label[: limit - 1] + "…"
    data = label.encode("utf-8")
    if len(data) <= limit:
        return label
    cut = data[: limit - len("…".encode())].decode("utf-8", errors="ignore")
    return cut + "…"
