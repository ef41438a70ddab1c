"""The report's charts as self-contained SVG: drawn by hand with presentation attributes only
(no script, no style attribute, no external font), so they inline into HTML and PDF and
pass a strict Content-Security-Policy. Every label is escaped before it is placed."""

from __future__ import annotations

import html

from curemap.analysis.forest import _NOT_XML

PALETTE = ("#1b6ca8", "#e07b39", "#3a9e5c", "#b33c5a", "#7b5ea7", "#8c6d31", "#2aa1a8", "#c9a227", "#5b6770", "#d45087")
WIDTH = 680  # the PDF text width at 96 px per inch, so charts print at full size
LEFT = 230
RIGHT = 20
BAR = 18
GAP = 8
FONT = 'font-family="DejaVu Sans, Arial, sans-serif" font-size="12"'


def _text(value: str) -> str:
    return html.escape(_NOT_XML.sub("", value), quote=True)


def _svg(height: int, title: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{_text(title)}">'
        f"<title>{_text(title)}</title>"
        f'<text x="0" y="16" {FONT} font-weight="bold">{_text(title)}</text>' + "".join(body) + "</svg>"
    )


def bar_chart(items: list[tuple[str, int]], title: str) -> str:
    """Horizontal bars, one per (label, count)."""
    top = 30
    most = max((n for _, n in items), default=0) or 1
    span = WIDTH - LEFT - RIGHT - 50
    body = []
    for row, (label, n) in enumerate(items):
        y = top + row * (BAR + GAP)
        width = round(span * n / most, 1)
        body.append(f'<text x="{LEFT - 6}" y="{y + 13}" text-anchor="end" {FONT}>{_text(label[:34])}</text>')
        body.append(f'<rect class="bar" x="{LEFT}" y="{y}" width="{width}" height="{BAR}" fill="{PALETTE[0]}"><title>{_text(label)}: {n:,}</title></rect>')
        body.append(f'<text x="{LEFT + width + 4}" y="{y + 13}" {FONT}>{n:,}</text>')
    return _svg(top + len(items) * (BAR + GAP) + 10, title, body)


def stacked_bars(categories: list[str], series: list[tuple[str, list[int]]], title: str) -> str:
    """Horizontal stacked bars: one bar per category, one coloured part per series, a legend below."""
    top = 30
    totals = [sum(values[i] for _, values in series) for i in range(len(categories))]
    most = max(totals, default=0) or 1
    span = WIDTH - LEFT - RIGHT - 50
    body = []
    for row, category in enumerate(categories):
        y = top + row * (BAR + GAP)
        x = float(LEFT)
        body.append(f'<text x="{LEFT - 6}" y="{y + 13}" text-anchor="end" {FONT}>{_text(category[:34])}</text>')
        for index, (name, values) in enumerate(series):
            if values[row]:
                width = round(span * values[row] / most, 1)
                body.append(
                    f'<rect class="bar" x="{x:.1f}" y="{y}" width="{width}" height="{BAR}" fill="{PALETTE[index % len(PALETTE)]}">'
                    f"<title>{_text(category)}, {_text(name)}: {values[row]:,}</title></rect>"
                )
                x += width
        body.append(f'<text x="{x + 4:.1f}" y="{y + 13}" {FONT}>{totals[row]:,}</text>')
    legend_top = top + len(categories) * (BAR + GAP) + 8
    per_row = 3
    for index, (name, _) in enumerate(series):
        lx = 20 + (index % per_row) * 220
        ly = legend_top + (index // per_row) * 18
        body.append(f'<rect x="{lx}" y="{ly}" width="10" height="10" fill="{PALETTE[index % len(PALETTE)]}"/>')
        body.append(f'<text x="{lx + 14}" y="{ly + 9}" {FONT}>{_text(name[:30])}</text>')
    height = legend_top + ((len(series) + per_row - 1) // per_row) * 18 + 6
    return _svg(height, title, body)
