"""Forest plots of a pooled proportion: the plot's data, and a self-contained SVG.

The SVG is written by hand so it can be inlined in a page or saved as a file
with nothing else: no script, no external font or stylesheet. Study labels come
from registry records and abstracts, so every piece of text is stripped of
characters XML forbids and passed through ``html.escape`` before it is placed.
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import asdict, dataclass
from typing import Any

from curemap.analysis.meta import Interval, PooledEstimate

WIDTH = 900
ROW_HEIGHT = 24
LABEL_X = 16
COUNTS_X = 330
PLOT_LEFT = 360
PLOT_RIGHT = 660
ESTIMATE_X = 680
WEIGHT_X = 884
TOP = 84
MAX_SQUARE = 16
MIN_SQUARE = 3
DIAMOND_HALF_HEIGHT = 8
LABEL_MAX_CHARS = 40
TICKS = (0, 20, 40, 60, 80, 100)

_TRANSFORM_NAMES = {"logit": "logit", "freeman_tukey": "Freeman–Tukey"}
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class ForestRow:
    label: str
    events: int
    total: int
    proportion: float
    ci: Interval
    weight_percent: float


@dataclass(frozen=True)
class ForestData:
    """What a forest plot shows, on the proportion scale, ready for any renderer."""

    rows: tuple[ForestRow, ...]
    pooled_label: str
    pooled: float
    pooled_ci: Interval
    prediction_interval: Interval | None
    caption: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def forest_data(estimate: PooledEstimate) -> ForestData:
    """One row per study (label falls back to the study id), the pooled estimate, and the caption."""
    return ForestData(
        rows=tuple(
            ForestRow(
                label=row.label or row.study_id,
                events=row.events,
                total=row.total,
                proportion=row.proportion,
                ci=row.ci,
                weight_percent=row.weight_percent,
            )
            for row in estimate.studies
        ),
        pooled_label=_pooled_label(estimate),
        pooled=estimate.pooled.proportion,
        pooled_ci=estimate.pooled.ci,
        prediction_interval=estimate.prediction_interval,
        caption=_caption(estimate),
    )


def _pooled_label(estimate: PooledEstimate) -> str:
    if estimate.k == 1:
        return "Single study (nothing to pool)"
    return f"Random effects ({estimate.method}, {_TRANSFORM_NAMES[estimate.transform]})"


def _caption(estimate: PooledEstimate) -> str:
    studies = "study" if estimate.k == 1 else "studies"
    i2 = "n/a" if estimate.i2 is None else f"{estimate.i2:.1f}%"
    tau2 = "n/a" if estimate.tau2 is None else f"{estimate.tau2:.4g}"
    return f"k = {estimate.k} {studies}, n = {estimate.total_patients} patients; I² = {i2}, τ² = {tau2}"


def forest_svg(estimate: PooledEstimate, title: str) -> str:
    """The forest plot of ``estimate`` as a standalone SVG document string."""
    data = forest_data(estimate)
    pooled_y = TOP + len(data.rows) * ROW_HEIGHT + ROW_HEIGHT
    prediction_y = pooled_y + ROW_HEIGHT
    axis_y = prediction_y + (ROW_HEIGHT if data.prediction_interval else 0) + 4
    height = axis_y + 64
    largest_weight = max(row.weight_percent for row in data.rows)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="forest-title" '
        'font-family="sans-serif" font-size="12">',
        f'<title id="forest-title">{_text(title)}</title>',
        f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',
        f'<text x="{LABEL_X}" y="28" font-size="16" font-weight="bold">{_text(title)}</text>',
        _header(TOP - 24),
    ]
    for index, row in enumerate(data.rows):
        parts.append(_study_row(row, TOP + index * ROW_HEIGHT, largest_weight))
    parts.append(
        f'<line x1="{LABEL_X}" x2="{WEIGHT_X}" y1="{pooled_y - ROW_HEIGHT / 2}" '
        f'y2="{pooled_y - ROW_HEIGHT / 2}" stroke="#999999"/>'
    )
    parts.append(_pooled_row(data, pooled_y))
    if data.prediction_interval:
        parts.append(_prediction_row(data.prediction_interval, prediction_y))
    parts.append(_axis(axis_y))
    parts.append(f'<text class="caption" x="{LABEL_X}" y="{height - 12}">{_text(data.caption)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def _header(y: float) -> str:
    return (
        f'<g class="header" font-weight="bold">'
        f'<text x="{LABEL_X}" y="{y}">Study</text>'
        f'<text x="{COUNTS_X}" y="{y}" text-anchor="end">Events/N</text>'
        f'<text x="{ESTIMATE_X}" y="{y}">Proportion [95% CI]</text>'
        f'<text x="{WEIGHT_X}" y="{y}" text-anchor="end">Weight</text>'
        "</g>"
    )


def _study_row(row: ForestRow, y: float, largest_weight: float) -> str:
    side = max(MIN_SQUARE, MAX_SQUARE * math.sqrt(row.weight_percent / largest_weight))
    centre = _x(row.proportion)
    return (
        f'<g class="study"><title>{_text(row.label)}</title>'
        f'<text x="{LABEL_X}" y="{y + 4}">{_text(_shorten(row.label))}</text>'
        f'<text x="{COUNTS_X}" y="{y + 4}" text-anchor="end">{row.events}/{row.total}</text>'
        f'<line x1="{_x(row.ci.low):.1f}" x2="{_x(row.ci.high):.1f}" y1="{y}" y2="{y}" stroke="#333333"/>'
        f'<rect x="{centre - side / 2:.1f}" y="{y - side / 2:.1f}" width="{side:.1f}" height="{side:.1f}" '
        'fill="#1f4e79"/>'
        f'<text x="{ESTIMATE_X}" y="{y + 4}">{_interval_text(row.proportion, row.ci)}</text>'
        f'<text x="{WEIGHT_X}" y="{y + 4}" text-anchor="end">{row.weight_percent:.1f}%</text>'
        "</g>"
    )


def _pooled_row(data: ForestData, y: float) -> str:
    left, centre, right = _x(data.pooled_ci.low), _x(data.pooled), _x(data.pooled_ci.high)
    points = (
        f"{left:.1f},{y} {centre:.1f},{y - DIAMOND_HALF_HEIGHT} "
        f"{right:.1f},{y} {centre:.1f},{y + DIAMOND_HALF_HEIGHT}"
    )
    return (
        f'<text x="{LABEL_X}" y="{y + 4}" font-weight="bold">{_text(data.pooled_label)}</text>'
        f'<polygon class="pooled" points="{points}" fill="#c0392b"/>'
        f'<text x="{ESTIMATE_X}" y="{y + 4}" font-weight="bold">'
        f"{_interval_text(data.pooled, data.pooled_ci)}</text>"
    )


def _prediction_row(interval: Interval, y: float) -> str:
    return (
        f'<text x="{LABEL_X}" y="{y + 4}">Prediction interval</text>'
        f'<line class="prediction-interval" x1="{_x(interval.low):.1f}" x2="{_x(interval.high):.1f}" '
        f'y1="{y}" y2="{y}" stroke="#c0392b" stroke-width="2"/>'
        f'<text x="{ESTIMATE_X}" y="{y + 4}">[{interval.low:.1%}–{interval.high:.1%}]</text>'
    )


def _axis(y: float) -> str:
    ticks = "".join(
        f'<line x1="{_x(tick / 100):.1f}" x2="{_x(tick / 100):.1f}" y1="{y}" y2="{y + 5}" stroke="#333333"/>'
        f'<text x="{_x(tick / 100):.1f}" y="{y + 18}" text-anchor="middle">{tick}%</text>'
        for tick in TICKS
    )
    return (
        f'<g class="axis"><line x1="{PLOT_LEFT}" x2="{PLOT_RIGHT}" y1="{y}" y2="{y}" stroke="#333333"/>'
        f"{ticks}</g>"
    )


def _x(proportion: float) -> float:
    return PLOT_LEFT + min(1.0, max(0.0, proportion)) * (PLOT_RIGHT - PLOT_LEFT)


def _interval_text(proportion: float, ci: Interval) -> str:
    return f"{proportion:.1%} [{ci.low:.1%}–{ci.high:.1%}]"


def _shorten(label: str) -> str:
    return label if len(label) <= LABEL_MAX_CHARS else label[: LABEL_MAX_CHARS - 1] + "…"


def _text(value: str) -> str:
    """Untrusted text made safe to place in SVG: characters XML forbids dropped, markup escaped."""
    return html.escape(_NOT_XML.sub("", value), quote=True)
