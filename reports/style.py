"""Typography, colours and matplotlib settings shared by the charts and the PDF.

The palette is built from the Okabe-Ito colour-blind-safe colours. Every
distinction a chart makes is carried by lightness, marker shape or hatching as
well as hue, so a report printed in greyscale still reads correctly.

All rendering happens inside :func:`rc_context`, which pins the settings that
make the output embeddable and deterministic (TrueType fonts embedded in PDF,
text kept as text in SVG, a fixed SVG hash salt) without touching the global
matplotlib state of the process.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import matplotlib as mpl

__all__ = [
    "ACCENT",
    "ACCENT_DARK",
    "BAND_COLOURS",
    "FONT_FAMILY",
    "GRID",
    "HIGHLIGHT",
    "INK",
    "LEVEL_STYLES",
    "MUTED",
    "PAPER",
    "RULE",
    "SIZES",
    "TINT",
    "rc_context",
]

#: The one typeface used everywhere; it ships with matplotlib.
FONT_FAMILY = "DejaVu Sans"

# Okabe-Ito blue (#0072B2) and vermillion (#D55E00), with tints of the blue for
# the percentile bands (light to dark, so they separate in greyscale).
ACCENT = "#0072B2"
ACCENT_DARK = "#004A75"
HIGHLIGHT = "#D55E00"
INK = "#1B2430"
MUTED = "#5B6573"
RULE = "#C9D1DA"
GRID = "#E6EAEF"
TINT = "#EEF4F9"
PAPER = "#FFFFFF"

#: Fill colours of the organisation's percentile bands, outermost first
#: (5-95, 10-90, 25-75).
BAND_COLOURS = ("#DCEAF5", "#B3D1EA", "#7FB2D9")

#: Pillar levels: fill colour, hatch and text colour. "mixed" (light) and
#: "strong" (dark) differ in lightness; "at risk" is also hatched, so the three
#: stay apart in greyscale.
LEVEL_STYLES: dict[str, dict[str, str]] = {
    "at risk": {"fill": HIGHLIGHT, "hatch": "////", "text": "#A34500"},
    "mixed": {"fill": "#E69F00", "hatch": "", "text": "#8A5F00"},
    "strong": {"fill": ACCENT, "hatch": "", "text": ACCENT_DARK},
}

#: The type scale, in points.
SIZES: dict[str, float] = {
    "display": 30.0,
    "title": 20.0,
    "h1": 17.0,
    "h2": 11.5,
    "lead": 11.0,
    "body": 9.5,
    "small": 8.2,
    "caption": 7.4,
    "footer": 7.0,
    "chart": 8.0,
}

_RC: dict[str, Any] = {
    "font.family": "sans-serif",
    "font.sans-serif": [FONT_FAMILY],
    "font.size": SIZES["chart"],
    "mathtext.fontset": "dejavusans",
    "text.usetex": False,
    "text.color": INK,
    "axes.edgecolor": RULE,
    "axes.labelcolor": INK,
    "axes.linewidth": 0.6,
    "axes.titlesize": SIZES["chart"] + 1,
    "axes.labelsize": SIZES["chart"],
    "xtick.color": MUTED,
    "ytick.color": INK,
    "xtick.labelsize": SIZES["chart"] - 0.5,
    "ytick.labelsize": SIZES["chart"],
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.0,
    "legend.fontsize": SIZES["chart"] - 0.5,
    "legend.frameon": False,
    "hatch.linewidth": 0.6,
    "hatch.color": PAPER,
    "figure.facecolor": PAPER,
    "savefig.facecolor": PAPER,
    "pdf.fonttype": 42,
    # matplotlib 3.11's PDF backend sizes its font subsets from ps.fonttype: with
    # the default (3) every font is split into 256-glyph subsets, embedded twice.
    "ps.fonttype": 42,
    "pdf.compression": 6,
    "svg.fonttype": "none",
    "svg.hashsalt": "negoscope",
    "path.simplify": True,
}


# matplotlib's rcParams are process-global; rendering holds this (re-entrant) lock
# so that two threads never see each other's settings.
_LOCK = threading.RLock()


@contextmanager
def rc_context(extra: dict[str, Any] | None = None) -> Iterator[None]:
    """Apply the report's matplotlib settings for the duration of a block.

    The block holds a process-wide re-entrant lock: rcParams are global, so
    rendering in several threads at once is serialised rather than mixed up.

    Parameters
    ----------
    extra : dict, optional
        Further rcParams that override the defaults.

    Examples
    --------
    >>> with rc_context():
    ...     import matplotlib as mpl
    ...     mpl.rcParams["pdf.fonttype"]
    42
    """
    params = dict(_RC)
    if extra:
        params.update(extra)
    with _LOCK, mpl.rc_context(params):
        yield
