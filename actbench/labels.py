"""Names written beside a scatter's points, each where it covers no other name or point.

A legend of seventeen entries asks the reader to match colours; a name by its point does
not. Each name tries a ring of places around its point (right, left, above, below, the
diagonals, then farther out) and takes the first that overlaps no marker, no error bar, no
name placed before it and nothing outside the axes; when every place is taken it takes the least
covered. Places are reckoned in pixels once the figure's layout is final, so the
names are left out of the layout and cannot move it afterwards.
"""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.collections import LineCollection

FONT = 7  # points
MARKER = 4.5  # a marker's half-width, points (a ring's is larger: the near places clear it)
NEAR = 8.0
RING = ((1, 0), (-1, 0), (0, 1), (0, -1), (0.8, 0.8), (0.8, -0.8), (-0.8, 0.8), (-0.8, -0.8))
PLACES = [(d * dx, d * dy) for d in (NEAR, 2 * NEAR, 3 * NEAR) for dx, dy in RING]  # points

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels


def _overlap(a: Box, b: Box) -> float:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    return max(width, 0.0) * max(height, 0.0)


def _outside(a: Box, frame: Box) -> float:
    """How much of `a` lies outside the axes (a name cut at the edge is no name)."""
    return (a[2] - a[0]) * (a[3] - a[1]) - _overlap(a, frame)


def _box(centre: tuple[float, float], offset: tuple[float, float], size: tuple[float, float],
         scale: float) -> Box:  # fmt: skip
    """The pixels a name of `size` takes at `offset` points from its point, aligned away
    from the point (left-aligned to its right, right-aligned to its left, ...)."""
    (cx, cy), (dx, dy), (w, h) = centre, offset, size
    x = cx + dx * scale
    y = cy + dy * scale
    x0 = x if dx > 0 else x - w if dx < 0 else x - w / 2
    y0 = y if dy > 0 else y - h if dy < 0 else y - h / 2
    return (x0, y0, x0 + w, y0 + h)


def _bars(ax: Axes) -> list[Box]:
    """The pixels the error bars cover: a name across a bar hides the bar's end."""
    out = []
    for collection in ax.collections:
        if isinstance(collection, LineCollection):
            for segment in collection.get_segments():
                (x0, y0), (x1, y1) = ax.transData.transform(segment[[0, -1]])
                out.append((min(x0, x1) - 1, min(y0, y1) - 1, max(x0, x1) + 1, max(y0, y1) + 1))
    return out


def place(ax: Axes, points: list[tuple[float, float, str, str]]) -> None:
    """Write each (x, y, name, colour) point's name beside it, in data coordinates of `ax`."""
    fig = ax.get_figure()
    fig.draw_without_rendering()  # the layout settles first: places are pixels
    scale = fig.dpi / 72
    frame = tuple(ax.get_window_extent().extents)
    centres = [tuple(ax.transData.transform((x, y))) for x, y, _, _ in points]
    r = MARKER * scale
    taken = [(cx - r, cy - r, cx + r, cy + r) for cx, cy in centres] + _bars(ax)
    for (x, y, name, colour), centre in zip(points, centres, strict=True):
        size = (len(name) * FONT * 0.62 * scale, FONT * 1.25 * scale)
        scored = []
        for offset in PLACES:
            box = _box(centre, offset, size, scale)
            covered = sum(_overlap(box, t) for t in taken) + 4 * _outside(box, frame)
            scored.append((covered, offset, box))
            if covered == 0:
                break
        _, (dx, dy), box = min(scored, key=lambda s: s[0])
        taken.append(box)
        text = ax.annotate(
            name, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=FONT,
            color=colour, ha="left" if dx > 0 else "right" if dx < 0 else "center",
            va="bottom" if dy > 0 else "top" if dy < 0 else "center",
        )  # fmt: skip
        text.set_in_layout(False)
