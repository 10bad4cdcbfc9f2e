"""A small flow layout for A4 pages drawn with matplotlib figures.

:class:`PageFlow` keeps a list of page figures and a vertical cursor, in
points from the top of the page. Text is wrapped to the column width by
measuring it (:func:`reports.text.wrap`), every line is one ``Text`` artist,
and a block that does not fit in the space left moves to a new page, so no
text can run past the bottom margin. Charts get a box of the column
(:meth:`PageFlow.axes`).

Examples
--------
>>> flow = PageFlow()
>>> flow.paragraph("Hello " * 2000)
>>> len(flow.pages) > 1
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.transforms import Affine2D, Transform

from reports.style import ACCENT, INK, MUTED, RULE, SIZES, TINT
from reports.text import text_width, wrap

__all__ = ["A4", "Margins", "PageFlow"]

#: A4 portrait in points.
A4 = (595.276, 841.89)

LEADING = 1.42


@dataclass(frozen=True)
class Margins:
    """Page margins in points."""

    top: float = 62.0
    bottom: float = 74.0
    left: float = 66.0
    right: float = 66.0


class PageFlow:
    """Flows text and charts down A4 pages, starting a new page when one is full.

    Parameters
    ----------
    margins : Margins, optional
    size : (float, float), default A4
        Page width and height in points.
    """

    def __init__(self, margins: Margins | None = None, size: tuple[float, float] = A4) -> None:
        self.margins = margins or Margins()
        self.width, self.height = size
        self.pages: list[Figure] = []
        self.y = 0.0
        self.sections: list[tuple[int, str, int]] = []
        self._transforms: dict[int, Transform] = {}
        self._order: dict[int, int] = {}

    # --- geometry -----------------------------------------------------------------

    @property
    def left(self) -> float:
        """Left edge of the text column (points)."""
        return self.margins.left

    @property
    def column(self) -> float:
        """Width of the text column (points)."""
        return self.width - self.margins.left - self.margins.right

    @property
    def bottom_limit(self) -> float:
        """Lowest cursor position for content (points from the top)."""
        return self.height - self.margins.bottom

    @property
    def page(self) -> Figure:
        """The current page (a new one is started when there is none)."""
        if not self.pages:
            self.new_page()
        return self.pages[-1]

    def space_left(self) -> float:
        """Points between the cursor and the bottom margin."""
        return self.bottom_limit - self.y

    def transform(self, page: Figure | None = None) -> Transform:
        """Transform from points (origin bottom left) to display coordinates."""
        page = page or self.page
        key = id(page)
        if key not in self._transforms:
            self._transforms[key] = Affine2D().scale(1 / 72) + page.dpi_scale_trans
        return self._transforms[key]

    def _z(self, page: Figure) -> float:
        """Increasing z-order per page: artists are drawn (and their text written to
        the PDF) in the order they were placed, so text extracts in reading order."""
        count = self._order.get(id(page), 0) + 1
        self._order[id(page)] = count
        return 1 + count / 10000

    def new_page(self) -> Figure:
        """Start a new page and put the cursor at the top margin."""
        page = Figure(figsize=(self.width / 72, self.height / 72))
        self.pages.append(page)
        self.y = self.margins.top
        return page

    def ensure(self, height: float) -> None:
        """Start a new page unless ``height`` points fit below the cursor."""
        if self.pages and height <= self.space_left():
            return
        if not self.pages or self.y > self.margins.top:
            self.new_page()

    def skip(self, points: float) -> None:
        """Move the cursor down (never past the bottom margin)."""
        self.y = min(self.y + points, self.bottom_limit)

    # --- drawing primitives -------------------------------------------------------

    def text_at(
        self,
        x: float,
        y: float,
        text: str,
        *,
        size: float,
        bold: bool = False,
        colour: str = INK,
        ha: str = "left",
        va: str = "baseline",
        italic: bool = False,
        page: Figure | None = None,
    ) -> None:
        """Draw one line of text at ``(x, y)`` points (``y`` from the top)."""
        page = page or self.page
        page.text(
            x,
            self.height - y,
            text,
            transform=self.transform(page),
            fontsize=size,
            fontweight="bold" if bold else "normal",
            fontstyle="italic" if italic else "normal",
            color=colour,
            ha=ha,
            va=va,
            parse_math=False,
            zorder=self._z(page),
        )

    def rect(
        self,
        x: float,
        y: float,
        width: float,
        height: float,
        *,
        colour: str,
        page: Figure | None = None,
    ) -> None:
        """A filled rectangle; ``(x, y)`` is its top-left corner (points, y from the top)."""
        page = page or self.page
        page.add_artist(
            Rectangle(
                (x, self.height - y - height),
                width,
                height,
                transform=self.transform(page),
                facecolor=colour,
                edgecolor="none",
                zorder=self._z(page),
            )
        )

    def rule(
        self,
        *,
        colour: str = RULE,
        weight: float = 0.6,
        x: float | None = None,
        width: float | None = None,
        page: Figure | None = None,
    ) -> None:
        """A horizontal line at the cursor across the column."""
        x = self.left if x is None else x
        self.rect(x, self.y - weight / 2, width or self.column, weight, colour=colour, page=page)

    # --- flowing blocks -----------------------------------------------------------

    def lines(
        self,
        lines: Sequence[str],
        *,
        size: float,
        bold: bool = False,
        colour: str = INK,
        indent: float = 0.0,
        leading: float = LEADING,
        italic: bool = False,
        keep_together: bool = False,
        page: Figure | None = None,
    ) -> None:
        """Draw pre-wrapped lines, moving to a new page when the next line does not fit.

        With ``page`` the lines go on that page at the cursor, without page breaks
        (for fixed layouts such as the cover).
        """
        step = size * leading
        if page is None:
            # Never leave a single line at the foot of a page.
            self.ensure(step * (len(lines) if keep_together else min(len(lines), 2)))
        for line in lines:
            if page is None:
                self.ensure(step)
            self.y += size
            self.text_at(
                self.left + indent,
                self.y,
                line,
                size=size,
                bold=bold,
                colour=colour,
                italic=italic,
                page=page,
            )
            self.y += step - size

    def paragraph(
        self,
        text: str,
        *,
        size: float = SIZES["body"],
        bold: bool = False,
        colour: str = INK,
        indent: float = 0.0,
        width: float | None = None,
        after: float | None = None,
        italic: bool = False,
        keep_together: bool = False,
        page: Figure | None = None,
    ) -> None:
        """Wrap ``text`` to the column (minus ``indent``) and draw it."""
        available = (width or self.column) - indent
        self.lines(
            wrap(text, available, size, bold),
            size=size,
            bold=bold,
            colour=colour,
            indent=indent,
            italic=italic,
            keep_together=keep_together,
            page=page,
        )
        self.skip(size * 0.6 if after is None else after)

    def height_of(
        self, text: str, *, size: float, indent: float = 0.0, bold: bool = False
    ) -> float:
        """Height in points that :meth:`paragraph` would use for ``text`` (without spacing)."""
        return len(wrap(text, self.column - indent, size, bold)) * size * LEADING

    def bullet(
        self,
        text: str,
        *,
        size: float = SIZES["body"],
        marker: str = "\u2022",
        indent: float = 14.0,
        colour: str = INK,
        marker_colour: str = ACCENT,
        lead: str | None = None,
        after: float | None = None,
        hang: float = 0.0,
    ) -> None:
        """A hanging-indent list item; ``lead`` is an optional bold first line.

        The marker sits ``hang`` points and the text ``indent`` points right of
        the column's left edge.
        """
        body = wrap(text, self.column - indent, size) if text else []
        heading = wrap(lead, self.column - indent, size, bold=True) if lead else []
        step = size * LEADING
        self.ensure(step * min(len(heading) + len(body), 3))
        first = True
        for line, bold in [(h, True) for h in heading] + [(b, False) for b in body]:
            self.ensure(step)
            self.y += size
            if first:
                self.text_at(
                    self.left + hang, self.y, marker, size=size, bold=True, colour=marker_colour
                )
                first = False
            self.text_at(self.left + indent, self.y, line, size=size, bold=bold, colour=colour)
            self.y += step - size
        self.skip(size * 0.45 if after is None else after)

    def heading(
        self, text: str, *, size: float = SIZES["h2"], colour: str = INK, keep_with: float = 40.0
    ) -> None:
        """A bold sub-heading kept on the same page as the next ``keep_with`` points."""
        lines = wrap(text, self.column, size, bold=True)
        self.ensure(len(lines) * size * 1.3 + keep_with)
        if self.y > self.margins.top + 1:
            self.skip(size * 0.5)
        self.lines(lines, size=size, bold=True, colour=colour, leading=1.3, keep_together=True)
        self.skip(size * 0.35)

    def section(self, number: int, title: str, intro: str | None = None) -> None:
        """Start a numbered section on a new page (recorded in :attr:`sections`)."""
        self.new_page()
        self.sections.append((number, title, len(self.pages)))
        self.text_at(
            self.left,
            self.y + SIZES["small"],
            f"SECTION {number}",
            size=SIZES["small"],
            bold=True,
            colour=ACCENT,
        )
        self.y += SIZES["small"] + 10
        self.lines(
            wrap(title, self.column, SIZES["h1"], bold=True),
            size=SIZES["h1"],
            bold=True,
            leading=1.25,
            keep_together=True,
        )
        self.skip(4)
        self.rule(colour=ACCENT, weight=1.2, width=36)
        self.skip(16)
        if intro:
            self.paragraph(intro, size=SIZES["lead"] - 0.5, colour=MUTED, after=10)

    def callout(self, text: str, *, size: float = SIZES["lead"], bold: bool = False) -> None:
        """Text on a tinted panel with an accent bar, kept on one page."""
        pad = 10.0
        lines = wrap(text, self.column - 2 * pad - 4, size, bold)
        height = len(lines) * size * LEADING + 2 * pad - size * (LEADING - 1)
        self.ensure(height + 6)
        top = self.y
        self.rect(self.left, top, self.column, height, colour=TINT)
        self.rect(self.left, top, 3.0, height, colour=ACCENT)
        self.y = top + pad
        for line in lines:
            self.y += size
            self.text_at(self.left + pad + 4, self.y, line, size=size, bold=bold)
            self.y += size * (LEADING - 1)
        self.y = top + height
        self.skip(12)

    def table(
        self,
        rows: Sequence[Sequence[str]],
        widths: Sequence[float],
        *,
        header: Sequence[str] | None = None,
        size: float = SIZES["small"],
        align: Sequence[str] | None = None,
    ) -> None:
        """A simple ruled table; cell text wraps within its column width (points)."""
        scale = self.column / sum(widths)
        widths = [w * scale for w in widths]
        align = align or ["left"] * len(widths)
        pad = 4.0
        step = size * LEADING

        def draw_row(cells: Sequence[str], bold: bool, colour: str) -> None:
            wrapped = [wrap(c, w - 2 * pad, size, bold) for c, w in zip(cells, widths, strict=True)]
            height = max(len(w) for w in wrapped) * step + pad
            self.ensure(height + 2)
            top = self.y + pad / 2
            x = self.left
            for lines, w, a in zip(wrapped, widths, align, strict=True):
                y = top
                for line in lines:
                    y += size
                    at = x + pad if a == "left" else x + w - pad
                    self.text_at(at, y, line, size=size, bold=bold, colour=colour, ha=a)
                    y += step - size
                x += w
            self.y = top + height - pad / 2
            self.rule(weight=0.5)

        if header:
            self.rule(colour=INK, weight=0.8)
            draw_row(header, True, INK)
        for row in rows:
            draw_row(row, False, INK)
        self.skip(10)

    def axes(
        self,
        height: float,
        *,
        left: float = 0.0,
        right: float = 0.0,
        bottom: float = 0.0,
        top: float = 0.0,
    ) -> Axes:
        """Axes in a box of the column ``height`` points tall at the cursor.

        ``left`` ... ``top`` are paddings (points) inside the box for tick
        labels, notes and the legend. The cursor moves below the box.
        """
        self.ensure(height)
        page = self.page
        x0 = self.left + left
        y0 = self.height - (self.y + height) + bottom
        w = self.column - left - right
        h = height - top - bottom
        ax = page.add_axes((x0 / self.width, y0 / self.height, w / self.width, h / self.height))
        ax.set_zorder(self._z(page))
        self.y += height
        return ax

    def label_width(self, labels: Sequence[str], size: float, bold: bool = True) -> float:
        """Width of the widest label, in points."""
        return max((text_width(s, size, bold) for s in labels), default=0.0)
