"""Inline SVG bar charts (reference vs current shares) for the HTML drift report."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

WIDTH = 640
HEIGHT = 220
MARGIN = 30
REF_COLOUR = "#4c78a8"
CUR_COLOUR = "#f58518"
MAX_CATEGORY_BARS = 20


def _shares(counts: Sequence[int]) -> list[float]:
    """Counts as shares of their total (zeros when empty)."""
    total = sum(counts)
    return [c / total if total else 0.0 for c in counts]


def grouped_bars(labels: Sequence[str], reference: Sequence[float], current: Sequence[float]) -> str:
    """An SVG with a reference and a current bar per label; values are shares in [0, 1]."""
    top = max([*reference, *current, 1e-12])
    slot = (WIDTH - 2 * MARGIN) / max(len(labels), 1)
    bar = slot * 0.4
    plot_h = HEIGHT - 2 * MARGIN
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{WIDTH}' height='{HEIGHT}' role='img'>",
        f"<text x='{MARGIN}' y='14' font-size='11'><tspan fill='{REF_COLOUR}'>&#9632; reference</tspan>"
        f" <tspan fill='{CUR_COLOUR}'>&#9632; current</tspan> (share of rows; max {top:.3f})</text>",
        f"<line x1='{MARGIN}' y1='{HEIGHT - MARGIN}' x2='{WIDTH - MARGIN}' y2='{HEIGHT - MARGIN}'"
        " stroke='#999'/>",
    ]
    for i, label in enumerate(labels):
        x0 = MARGIN + i * slot + slot * 0.1
        for offset, value, colour in ((0.0, reference[i], REF_COLOUR), (bar, current[i], CUR_COLOUR)):
            h = plot_h * value / top
            parts.append(
                f"<rect x='{x0 + offset:.1f}' y='{HEIGHT - MARGIN - h:.1f}' width='{bar:.1f}' "
                f"height='{h:.1f}' fill='{colour}'><title>{html.escape(label)}: {value:.4f}</title></rect>"
            )
        if len(labels) <= MAX_CATEGORY_BARS + 2:
            parts.append(
                f"<text x='{x0 + bar:.1f}' y='{HEIGHT - MARGIN + 12}' font-size='9' text-anchor='middle'>"
                f"{html.escape(label[:10])}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)


def histogram_chart(
    edges: Sequence[float], ref_counts: Sequence[int], cur_counts: Sequence[int], below: int, above: int
) -> str:
    """Numeric column: reference vs current shares per reference bin, plus out-of-range bars."""
    labels = ["<min"] + [f"{edges[i]:.3g}" for i in range(len(edges) - 1)] + [">max"]
    ref = _shares([0, *ref_counts, 0])
    cur = _shares([below, *cur_counts, above])
    return grouped_bars(labels, ref, cur)


def category_chart(ref_counts: Mapping[str, int], other: int, cur_counts: Mapping[str, int]) -> str:
    """Categorical column: the most frequent categories of either side, the rest pooled."""
    ref_total = sum(ref_counts.values()) + other
    cur_total = sum(cur_counts.values())
    ranked = sorted(
        set(ref_counts) | set(cur_counts),
        key=lambda k: -(ref_counts.get(k, 0) / max(ref_total, 1) + cur_counts.get(k, 0) / max(cur_total, 1)),
    )
    shown = ranked[:MAX_CATEGORY_BARS]
    ref = [ref_counts.get(k, 0) for k in shown]
    cur = [cur_counts.get(k, 0) for k in shown]
    labels = list(shown)
    rest_ref = ref_total - sum(ref)
    rest_cur = cur_total - sum(cur)
    if rest_ref or rest_cur:
        labels.append("(other)")
        ref.append(rest_ref)
        cur.append(rest_cur)
    return grouped_bars(
        labels,
        [c / ref_total if ref_total else 0.0 for c in ref],
        [c / cur_total if cur_total else 0.0 for c in cur],
    )
