"""Charts as inline SVG, drawn here: no script, no library, nothing fetched.

Each function returns one `<svg>` element sized in CSS pixels with a viewBox,
so it scales to the page and prints sharply. Labels are escaped like the rest
of the page.
"""

from __future__ import annotations

from collections.abc import Sequence

from monitor.reports.page import esc

# One colour per action group (client_data.GROUPS), readable in grey print too.
GROUP_COLOURS = {
    "read": "#2f6db5", "open": "#8fb4dd", "write": "#2b9a66", "delete": "#c0392b",
    "rename": "#e08e0b", "permission": "#7b3fa0", "other": "#9aa5b1",
}
STATUS_COLOURS = {"assigned": "#2f6db5", "not_assigned": "#c0392b", "not_staff": "#9aa5b1"}


def _svg(width: int, height: int, label: str, parts: Sequence[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="100%" '
            f'viewBox="0 0 {width} {height}" style="max-width:{width}px" '
            f'aria-label="{esc(label)}"><title>{esc(label)}</title>'
            + "".join(parts) + "</svg>")


def _nice_max(value: int) -> int:
    """A round axis maximum at or above `value` (1, 2, 5 × 10^k)."""
    if value <= 0:
        return 1
    step = 1
    while True:
        for m in (1, 2, 5):
            if step * m >= value:
                return step * m
        step *= 10


def stacked_days(label: str, days: Sequence[tuple[str, dict[str, int]]],
                 groups: Sequence[str], names: dict[str, str]) -> str:
    """Stacked bars per day; `days` is (axis label, {group: count}) in order."""
    width, height, left, top, bottom = 960, 260, 44, 12, 58
    plot_w, plot_h = width - left - 10, height - top - bottom
    top_value = _nice_max(max((sum(d.values()) for _, d in days), default=0))
    slot = plot_w / max(1, len(days))
    bar = max(2.0, slot * 0.7)
    parts: list[str] = []
    for frac in (0, 0.5, 1):
        y = top + plot_h * (1 - frac)
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" '
                     'stroke="#d5dde6" stroke-width="1"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" '
                     f'fill="#5b6b7b">{round(top_value * frac)}</text>')
    for i, (day_label, counts) in enumerate(days):
        x = left + i * slot + (slot - bar) / 2
        y = top + plot_h
        for g in groups:
            n = counts.get(g, 0)
            if not n:
                continue
            h = plot_h * n / top_value
            y -= h
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                         f'fill="{GROUP_COLOURS.get(g, "#9aa5b1")}">'
                         f'<title>{esc(day_label)} {esc(names[g])}: {n}</title></rect>')
        if len(days) <= 16 or i % 2 == 0:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{top + plot_h + 14}" font-size="10" '
                         f'text-anchor="middle" fill="#5b6b7b">{esc(day_label)}</text>')
    parts.extend(_legend([(names[g], GROUP_COLOURS.get(g, "#9aa5b1")) for g in groups],
                         left, height - 18))
    return _svg(width, height, label, parts)


def _legend(items: Sequence[tuple[str, str]], x0: int, y: int) -> list[str]:
    parts: list[str] = []
    x = float(x0)
    for name, colour in items:
        parts.append(f'<rect x="{x:.1f}" y="{y - 9}" width="11" height="11" fill="{colour}"/>')
        parts.append(f'<text x="{x + 15:.1f}" y="{y}" font-size="11" fill="#1d2733">'
                     f'{esc(name)}</text>')
        x += 30 + 7.5 * max(len(name), 4)
    return parts


def heatmap(label: str, cells: Sequence[Sequence[int]], rows: Sequence[str],
            outlined: Sequence[Sequence[bool]]) -> str:
    """A rows × 24 grid (weekday × hour); darker = more; `outlined` cells get a border."""
    cell, left, top = 34, 52, 20
    width, height = left + 24 * cell + 10, top + len(rows) * cell + 10
    peak = max((v for row in cells for v in row), default=0) or 1
    parts: list[str] = []
    for h in range(24):
        parts.append(f'<text x="{left + h * cell + cell / 2}" y="{top - 6}" font-size="10" '
                     f'text-anchor="middle" fill="#5b6b7b">{h:02d}</text>')
    for r, name in enumerate(rows):
        y = top + r * cell
        parts.append(f'<text x="{left - 8}" y="{y + cell / 2 + 4}" font-size="11" '
                     f'text-anchor="end" fill="#1d2733">{esc(name)}</text>')
        for h in range(24):
            v = cells[r][h]
            x = left + h * cell
            stroke = ('stroke="#1d2733" stroke-width="1.5"' if outlined[r][h]
                      else 'stroke="#ffffff" stroke-width="1"')
            parts.append(f'<rect x="{x + 1}" y="{y + 1}" width="{cell - 2}" height="{cell - 2}" '
                         f'fill="{_shade(v / peak) if v else "#f3f6fa"}" {stroke}>'
                         f'<title>{esc(name)} {h:02d}:00 {v}</title></rect>')
            if v:
                colour = "#ffffff" if v / peak > 0.55 else "#1d2733"
                parts.append(f'<text x="{x + cell / 2}" y="{y + cell / 2 + 4}" font-size="10" '
                             f'text-anchor="middle" fill="{colour}">{v}</text>')
    return _svg(width, height, label, parts)


def _shade(frac: float) -> str:
    """From a pale blue (little) to the report's dark blue (the busiest hour)."""
    lo, hi = (0xd6, 0xe4, 0xf2), (0x1f, 0x4e, 0x79)
    f = 0.15 + 0.85 * max(0.0, min(1.0, frac))
    return "#" + "".join(f"{round(a + (b - a) * f):02x}" for a, b in zip(lo, hi, strict=True))


def hbars(label: str, bars: Sequence[tuple[str, int, str]],
          legend: Sequence[tuple[str, str]]) -> str:
    """Horizontal bars, largest first: (name, value, colour)."""
    row, left, top = 26, 170, 8
    width = 960
    height = top + row * max(1, len(bars)) + 34
    peak = max((v for _, v, _ in bars), default=0) or 1
    plot_w = width - left - 80
    parts: list[str] = []
    for i, (name, value, colour) in enumerate(bars):
        y = top + i * row
        w = max(1.0, plot_w * value / peak)
        shown = name if len(name) <= 24 else name[:23] + "…"
        parts.append(f'<text x="{left - 8}" y="{y + row / 2 + 4}" font-size="12" '
                     f'text-anchor="end" fill="#1d2733">{esc(shown)}</text>')
        parts.append(f'<rect x="{left}" y="{y + 4}" width="{w:.1f}" height="{row - 8}" '
                     f'fill="{colour}"><title>{esc(name)}: {value}</title></rect>')
        parts.append(f'<text x="{left + w + 6:.1f}" y="{y + row / 2 + 4}" font-size="12" '
                     f'fill="#1d2733">{value}</text>')
    parts.extend(_legend(legend, left, height - 10))
    return _svg(width, height, label, parts)
