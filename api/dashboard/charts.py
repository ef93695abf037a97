"""Inline SVG charts (no chart library, no CDN): stacked daily bars and horizontal bars."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from markupsafe import Markup, escape

from domain.kpis import ChannelDay

# Colour-blind-safe palette (Okabe-Ito), cycled by channel.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000")


def _nice_max(value: float) -> float:
    """A round axis maximum at or above `value`."""
    if value <= 0:
        return 1.0
    step = 10 ** (len(str(int(value))) - 1)
    for factor in (1, 2, 2.5, 5, 10):
        if value <= factor * step:
            return float(factor * step)
    return float(value)


def stacked_days(days: Sequence[ChannelDay], width: int = 1160, height: int = 240) -> Markup:
    """Orders per day, one stacked bar per day, one colour per channel, with a legend."""
    channels = sorted({c for d in days for c in d.counts})
    colours = {c: PALETTE[i % len(PALETTE)] for i, c in enumerate(channels)}
    left, bottom, top = 36, 22, 10
    plot_w, plot_h = width - left - 8, height - bottom - top
    peak = _nice_max(max((sum(d.counts.values()) for d in days), default=0))
    slot = plot_w / max(1, len(days))
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="Orders by channel per day">'
    ]
    for tick in (0, 0.5, 1):
        y = top + plot_h * (1 - tick)
        parts.append(
            f'<line x1="{left}" x2="{width - 8}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" class="axis" text-anchor="end">'
            f"{peak * tick:g}</text>"
        )
    for i, d in enumerate(days):
        x, y = left + i * slot + slot * 0.15, top + plot_h
        for channel in channels:
            n = d.counts.get(channel, 0)
            if not n:
                continue
            h = plot_h * n / peak
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" '
                f'fill="{colours[channel]}"><title>{escape(d.day.isoformat())} '
                f"{escape(channel)}: {n}</title></rect>"
            )
        if len(days) <= 14 or i % max(1, len(days) // 10) == 0:
            parts.append(
                f'<text x="{x + slot * 0.35:.1f}" y="{height - 6}" class="axis" '
                f'text-anchor="middle">{d.day.strftime("%m-%d")}</text>'
            )
    parts.append("</svg>")
    legend = "".join(
        f'<span class="legend-item"><i style="background:{colours[c]}"></i>{escape(c)}</span>'
        for c in channels
    )
    return Markup("".join(parts) + f'<div class="legend">{legend}</div>')


def hbars(values: Mapping[str, float], fmt: str = "{:.1%}", width: int = 560) -> Markup:
    """Horizontal bars, one per label, longest first."""
    if not values:
        return Markup('<p class="muted">No data in this window.</p>')
    items = sorted(values.items(), key=lambda kv: -kv[1])
    peak = max(v for _, v in items) or 1.0
    row, label_w = 24, 140
    height = row * len(items) + 4
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img">']
    for i, (label, value) in enumerate(items):
        y = 2 + i * row
        w = (width - label_w - 70) * value / peak
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 15}" class="axis" text-anchor="end">'
            f"{escape(label)}</text>"
            f'<rect x="{label_w}" y="{y + 3}" width="{max(w, 1):.1f}" height="16" '
            f'fill="{PALETTE[0]}" rx="2"/>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + 15}" class="axis">'
            f"{escape(fmt.format(value))}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))
