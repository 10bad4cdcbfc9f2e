"""Writing report pages to PDF quickly: caches of font and text work kept per process.

Most of the time of a report went to work that is the same in every report of
a round, and matplotlib redid it for each report (and often for each page):

* **Text shaping.** matplotlib 3.11 lays text out with libraqm/FreeType, which
  costs some 10 microseconds per character, and does it twice for every line
  (once to measure it, once to draw it). Most lines of a report (section
  intros, the method, plays, legends, tick labels) are the same for every team.
  :class:`CachingRendererPdf` keeps the measured sizes and the glyph layouts of
  the lines it has drawn, keyed by the text, the font object, the size and the
  font features.
* **Font subsets.** Embedding a TrueType font subsets it with fontTools, which
  parses the whole of DejaVu Sans (its kerning and mark tables above all) for
  each font of each report. The saved bytes of each subset are kept, keyed by
  font and glyph set; reports of one round need the same few glyph sets.
* **Garbage collection.** A report allocates a few hundred thousand objects in
  reference cycles (artists, transforms); in a process that also holds a round
  analysis, the collector kept walking the whole heap while they were created.
  :func:`gc_paused` holds automatic collection during a render and then collects
  the young objects once.

The caches are used only inside :func:`pdf_caches`, which puts the caching
versions in place of three matplotlib names (the PDF renderer class, the text
layout function and the font subsetting function) and restores them on exit.
The text caches return exactly what matplotlib computes, so the pages draw the
very same operators; the font subsets also hold the glyphs of
:data:`BASE_CHARACTERS`, unused ones included, so that reports share them
(tests check both). Callers hold :data:`reports.style._LOCK` (through
:func:`reports.style.rc_context`), so renders do not interleave. With a
matplotlib whose internals differ from those of 3.11, :func:`pdf_caches` does
nothing and the report is rendered without the caches.

Examples
--------
>>> with rc_context(), gc_paused(), pdf_caches():  # doctest: +SKIP
...     with PdfPages(buffer) as pdf:
...         pdf.savefig(page)
"""

from __future__ import annotations

import gc
import inspect
import io
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, BinaryIO

import matplotlib as mpl
from fontTools.ttLib import TTFont
from matplotlib import _text_helpers
from matplotlib.backends import _backend_pdf_ps, backend_pdf
from matplotlib.font_manager import get_font

__all__ = ["CachingRendererPdf", "clear_caches", "gc_paused", "pdf_caches"]

#: matplotlib's own functions and renderer, which the caching versions call on a miss.
_LAYOUT = _text_helpers.layout
_GET_GLYPHS_SUBSET = _backend_pdf_ps.get_glyphs_subset
_RENDERER_PDF = backend_pdf.RendererPdf

#: Bounds of the caches (entries); when one is full, its least recently used entry goes.
#: A report draws some 400 distinct lines, most of them the same in every report;
#: a layout takes about 250 bytes per character.
MAX_METRICS = 16384
MAX_LAYOUTS = 2048
MAX_SUBSETS = 32

_METRICS: OrderedDict[tuple[Any, ...], tuple[float, float, float]] = OrderedDict()
_LAYOUTS: OrderedDict[tuple[Any, ...], list[Any]] = OrderedDict()
_SUBSETS: OrderedDict[tuple[Any, frozenset[int]], tuple[bytes, dict[int, int]]] = OrderedDict()

_CACHE_LOCK = threading.Lock()

#: Per thread: the font size of the text being drawn by a CachingRendererPdf.
_DRAWING = threading.local()

#: Whether matplotlib has the internals the caches stand in for (those of 3.11).
SUPPORTED = hasattr(_backend_pdf_ps, "SubsetResults") and "features" in (
    inspect.signature(_LAYOUT).parameters
)


def _lookup(cache: OrderedDict[Any, Any], key: Any) -> Any:
    with _CACHE_LOCK:
        value = cache.get(key)
        if value is not None:
            cache.move_to_end(key)
        return value


def _store(cache: OrderedDict[Any, Any], key: Any, value: Any, limit: int) -> None:
    with _CACHE_LOCK:
        cache[key] = value
        while len(cache) > limit:
            cache.popitem(last=False)


class CachingRendererPdf(_RENDERER_PDF):  # type: ignore[misc, valid-type]
    """matplotlib's PDF renderer, remembering text sizes and glyph layouts across renders.

    Only plain text in TrueType fonts is cached (not mathtext, TeX or the 14
    core fonts). The key holds the font object matplotlib resolved for the
    text's properties, which already reflects the font settings in force.
    """

    def get_text_width_height_descent(
        self, s: str, prop: Any, ismath: bool | str
    ) -> tuple[float, float, float]:
        if ismath or mpl.rcParams["pdf.use14corefonts"]:
            return super().get_text_width_height_descent(s, prop, ismath)
        key = (s, self._get_font_ttf(prop), prop.get_size_in_points())
        metrics = _lookup(_METRICS, key)
        if metrics is None:
            metrics = super().get_text_width_height_descent(s, prop, ismath)
            _store(_METRICS, key, metrics, MAX_METRICS)
        return metrics

    def draw_text(
        self,
        gc: Any,
        x: float,
        y: float,
        s: str,
        prop: Any,
        angle: float,
        ismath: bool | str = False,
        mtext: Any = None,
    ) -> None:
        if ismath:
            super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
            return
        # The layout function is called with the font only; tell it the size.
        _DRAWING.size = prop.get_size_in_points()
        try:
            super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
        finally:
            _DRAWING.size = None


def _cached_layout(
    string: str, font: Any, *, features: Any = None, language: Any = None
) -> Iterator[Any]:
    """:func:`matplotlib._text_helpers.layout`, cached while a CachingRendererPdf draws."""
    size = getattr(_DRAWING, "size", None)
    if size is None:
        return _LAYOUT(string, font, features=features, language=language)
    key = (string, font, size, features, language)
    items = _lookup(_LAYOUTS, key)
    if items is None:
        items = list(_LAYOUT(string, font, features=features, language=language))
        _store(_LAYOUTS, key, items, MAX_LAYOUTS)
    return iter(items)


class _StoredFont(TTFont):  # type: ignore[misc]
    """A font subset loaded (lazily) from its saved bytes; saving it writes those bytes.

    matplotlib only reads the subset and saves it into the PDF, so writing the
    stored bytes back gives exactly what saving the freshly made subset gave.
    """

    def __init__(self, data: bytes) -> None:
        super().__init__(io.BytesIO(data), lazy=True)
        self._stored = data

    def save(self, file: str | BinaryIO, reorderTables: bool | None = True) -> None:
        if isinstance(file, str):
            with open(file, "wb") as handle:
                handle.write(self._stored)
        else:
            file.write(self._stored)


#: Characters whose glyphs every subset includes: printable ASCII and the punctuation
#: the report's own text uses. Reports then differ in glyph set (and miss the cache)
#: only when their names or answers bring other characters.
BASE_CHARACTERS = "".join(map(chr, range(32, 127))) + (
    "\u00b7\u2013\u2014\u2018\u2019\u201c\u201d\u2022\u2026\u2192\u2212\u2610\u26a0"
)


@lru_cache(maxsize=16)
def _base_glyphs(fontfile: Any) -> frozenset[int]:
    """Glyph indices of :data:`BASE_CHARACTERS` in a font (those it has)."""
    charmap = get_font(fontfile).get_charmap()
    return frozenset(charmap[ord(c)] for c in BASE_CHARACTERS if ord(c) in charmap)


def _cached_glyphs_subset(fontfile: Any, glyphs: Iterable[int]) -> Any:
    """:func:`matplotlib.backends._backend_pdf_ps.get_glyphs_subset`, cached.

    The subset also holds the glyphs of :data:`BASE_CHARACTERS`: the PDF refers
    only to the glyphs it uses, so the extra ones (a few kilobytes) change
    nothing on the page, and the reports of a round share one subset per font.
    """
    wanted = frozenset(glyphs) | _base_glyphs(fontfile)
    key = (fontfile, wanted)
    hit = _lookup(_SUBSETS, key)
    if hit is None:
        with _GET_GLYPHS_SUBSET(fontfile, set(wanted)) as subset:
            data = _backend_pdf_ps.font_as_file(subset.font).getvalue()
            hit = (data, dict(subset.glyph_index_map))
        _store(_SUBSETS, key, hit, MAX_SUBSETS)
    data, index_map = hit
    return _backend_pdf_ps.SubsetResults(_StoredFont(data), dict(index_map))._as_cm()


@contextmanager
def pdf_caches() -> Iterator[None]:
    """Let matplotlib's PDF backend use the caches of this module for a block."""
    if not SUPPORTED:
        yield
        return
    saved = (
        backend_pdf.RendererPdf,
        _text_helpers.layout,
        _backend_pdf_ps.get_glyphs_subset,
    )
    backend_pdf.RendererPdf = CachingRendererPdf
    _text_helpers.layout = _cached_layout
    _backend_pdf_ps.get_glyphs_subset = _cached_glyphs_subset
    try:
        yield
    finally:
        (
            backend_pdf.RendererPdf,
            _text_helpers.layout,
            _backend_pdf_ps.get_glyphs_subset,
        ) = saved


def clear_caches() -> None:
    """Forget every cached text size, glyph layout and font subset (tests, memory)."""
    with _CACHE_LOCK:
        _METRICS.clear()
        _LAYOUTS.clear()
        _SUBSETS.clear()


@contextmanager
def gc_paused() -> Iterator[None]:
    """Hold automatic garbage collection for a block, then collect the young objects.

    What the block allocated is still in the youngest generation afterwards, so
    one collection of that generation frees the block's garbage without walking
    the rest of the heap. Collection is restored as it was.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
            gc.collect(0)
