"""Shared fixtures for the analytics tests.

``small_instrument`` is a two-dimension instrument built directly from the
dataclasses, with a reverse-keyed item and a dimension on its own scale.
``default_instrument`` is the shipped instrument when
:mod:`analytics.instrument_parser` can load it, otherwise an equivalent built
from the dataclasses (same dimension ids, item ids, scales and context).
"""

from __future__ import annotations

import pytest

from analytics.instrument import ContextQuestion, Dimension, Instrument, Item, ResponseScale

AGREEMENT = ResponseScale(
    1, 5, ("Strongly disagree", "Disagree", "Neither", "Agree", "Strongly agree")
)
FREQUENCY = ResponseScale(1, 5, ("Never", "Rarely", "Sometimes", "Often", "Always"))
SEVEN_POINT = ResponseScale(1, 7, tuple(str(v) for v in range(1, 8)))

BLOCKERS = {
    "trust": "TR",
    "time_pressure": "TP",
    "fixed_pie": "FP",
    "misalignment": "MA",
    "power": "PW",
}
PRACTICES = {
    "meso": "ME",
    "contingent": "CA",
    "logrolling": "LR",
    "objective_criteria": "OC",
    "joint_framing": "JF",
    "post_settlement": "PS",
}


def build_small_instrument() -> Instrument:
    """Dimension ``alpha`` (3 items on 1-5, A3 reversed), ``beta`` (2 items on 1-7, B2 reversed)."""
    alpha = Dimension(
        id="alpha",
        name="Alpha",
        description="A three-item blocker.",
        items=(Item("A1", "First."), Item("A2", "Second."), Item("A3", "Third.", reverse=True)),
        kind="blocker",
    )
    beta = Dimension(
        id="beta",
        name="Beta",
        description="A two-item practice on a 1-7 scale.",
        items=(Item("B1", "Fourth."), Item("B2", "Fifth.", reverse=True)),
        kind="practice",
        response_scale=SEVEN_POINT,
    )
    role = ContextQuestion("role", "Your role", ("sales", "engineering", "other"))
    return Instrument(
        id="small",
        version=1,
        title="Small test instrument",
        response_scale=AGREEMENT,
        dimensions=(alpha, beta),
        context=(role,),
    )


def build_default_like_instrument() -> Instrument:
    """A dataclass-built stand-in with the ids and scales of negotiation-blockers-v1."""
    dimensions = []
    for dim_id, prefix in BLOCKERS.items():
        items = tuple(
            Item(f"{prefix}{n}", f"{dim_id} statement {n}.", reverse=(n == 5)) for n in range(1, 6)
        )
        dimensions.append(Dimension(dim_id, dim_id, "", items, kind="blocker"))
    for dim_id, prefix in PRACTICES.items():
        items = tuple(Item(f"{prefix}{n}", f"{dim_id} practice {n}.") for n in (1, 2))
        dimensions.append(
            Dimension(dim_id, dim_id, "", items, kind="practice", response_scale=FREQUENCY)
        )
    context = (
        ContextQuestion(
            "role", "Role", ("sales", "procurement", "engineering", "management", "other")
        ),
        ContextQuestion(
            "tenure", "Tenure", ("under 1 year", "1-3 years", "3-10 years", "over 10 years")
        ),
    )
    return Instrument(
        id="negotiation-blockers",
        version=1,
        title="Negotiation blockers (test stand-in)",
        response_scale=AGREEMENT,
        dimensions=tuple(dimensions),
        context=context,
    )


def _load_default_instrument() -> Instrument:
    try:
        from analytics.instrument_parser import load_default_instrument
    except ImportError:
        return build_default_like_instrument()
    return load_default_instrument()


@pytest.fixture(scope="session")
def small_instrument() -> Instrument:
    return build_small_instrument()


@pytest.fixture(scope="session")
def default_instrument() -> Instrument:
    return _load_default_instrument()
