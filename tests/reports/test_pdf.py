"""Tests for reports.pdf (the render caches) and the batch renderer that forks after one report."""

from __future__ import annotations

import gc
import io
from contextlib import nullcontext

import pypdf
import pytest
from matplotlib import _text_helpers
from matplotlib.backends import _backend_pdf_ps, backend_pdf
from matplotlib.backends.backend_pdf import PdfPages

from reports import pdf as report_pdf
from reports.style import rc_context
from reports.team_report import build_pages, render_team_report
from tests.reports.conftest import make_context

pytestmark = pytest.mark.skipif(
    not report_pdf.SUPPORTED, reason="the caches need matplotlib 3.11's internals"
)


def _write(pages, cached: bool) -> bytes:
    buffer = io.BytesIO()
    with (
        rc_context(),
        report_pdf.pdf_caches() if cached else nullcontext(),
        PdfPages(buffer) as pdf,
    ):
        for page in pages:
            pdf.savefig(page)
    return buffer.getvalue()


def _drawn(pdf: bytes) -> list[tuple[bytes, list[object], str]]:
    """Per page: the content stream, the widths of its fonts' glyphs, and its text."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    drawn = []
    for page in reader.pages:
        fonts = page["/Resources"]["/Font"]
        widths = [
            (name, fonts[name].get_object()["/DescendantFonts"][0].get_object()["/W"])
            for name in sorted(fonts)
        ]
        drawn.append((page.get_contents().get_data(), widths, page.extract_text()))
    return drawn


def test_text_caches_draw_exactly_what_matplotlib_draws(context, analysis, instrument) -> None:
    render_team_report(make_context(analysis, instrument, "north"))  # fills the caches
    with rc_context():
        pages = build_pages(context)
    plain = _drawn(_write(pages, cached=False))
    cached = _drawn(_write(pages, cached=True))
    assert cached == plain
    assert report_pdf._LAYOUTS and report_pdf._METRICS  # the caches were used


def test_a_report_is_the_same_from_cold_and_warm_caches(context) -> None:
    report_pdf.clear_caches()
    cold = render_team_report(context)
    assert render_team_report(context) == cold


def test_reports_of_a_round_share_the_font_subsets(analysis, instrument) -> None:
    report_pdf.clear_caches()
    for team in ("north", "south", "east", "deadline"):
        render_team_report(make_context(analysis, instrument, team))
    assert len(report_pdf._SUBSETS) == 2  # regular and bold


def test_base_characters_cover_the_text_of_a_report(context) -> None:
    text = "".join(page[2] for page in _drawn(render_team_report(context)))
    assert set(text) - {"\n"} <= set(report_pdf.BASE_CHARACTERS)


def test_pdf_caches_restore_matplotlib_even_on_errors() -> None:
    originals = (
        backend_pdf.RendererPdf,
        _text_helpers.layout,
        _backend_pdf_ps.get_glyphs_subset,
    )
    with pytest.raises(RuntimeError), report_pdf.pdf_caches():
        assert backend_pdf.RendererPdf is report_pdf.CachingRendererPdf
        raise RuntimeError
    assert (
        backend_pdf.RendererPdf,
        _text_helpers.layout,
        _backend_pdf_ps.get_glyphs_subset,
    ) == originals


@pytest.mark.parametrize("enabled", [True, False])
def test_gc_paused_restores_the_collector(enabled: bool) -> None:
    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        with report_pdf.gc_paused():
            assert not gc.isenabled()
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()


def test_batch_in_a_fork_pool_writes_what_one_process_writes(
    analysis, instrument, tmp_path
) -> None:
    from survey.services.report_batch import render_all

    contexts = [make_context(analysis, instrument, t) for t in ("north", "south", "east")]
    pooled = render_all(contexts, tmp_path / "pool", jobs=2)
    serial = render_all(contexts, tmp_path / "serial", jobs=1)
    assert [p.name for p in pooled] == ["east.pdf", "north.pdf", "south.pdf"]
    assert sorted(p.name for p in serial) == [p.name for p in pooled]
    for path in pooled:
        assert path.read_bytes() == (tmp_path / "serial" / path.name).read_bytes()
    assert gc.isenabled() and not gc.get_freeze_count()
