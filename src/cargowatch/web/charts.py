"""Charts and maps drawn on the server as SVG: nothing to download, nothing to load from a tile
server, readable without JavaScript."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape

from markupsafe import Markup

PALETTE = ("#1f5f99", "#c0392b", "#2e8b57", "#b8860b", "#6a3d9a", "#555555")


def _svg(width: int, height: int, body: str, label: str, linked: bool = False) -> Markup:
    """An SVG chart; one with links inside is a group of them, not a single image."""
    role = "group" if linked else "img"
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="{role}" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(label)}</title>{body}</svg>"
    )


def bars(
    items: Sequence[tuple[str, int]],
    label: str,
    width: int = 560,
    links: Sequence[str | None] | None = None,
) -> Markup:
    """Horizontal bars, one per (name, value); with links, each bar opens its page."""
    if not items:
        return Markup('<p class="empty">nothing yet</p>')
    row, left = 22, 230
    height = row * len(items) + 10
    top = max(v for _, v in items) or 1
    parts = []
    for i, (name, value) in enumerate(items):
        y = 5 + i * row
        w = (width - left - 60) * value / top
        href = links[i] if links else None
        # a linked bar is named by its visible text alone (name and count), as a link should be
        hint = "" if href else f"<title>{escape(name)}: {value:,}</title>"
        bar = (
            f'<text x="{left - 8}" y="{y + 15}" text-anchor="end">{escape(name)}</text>'
            f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" fill="{PALETTE[0]}">'
            f"{hint}</rect>"
            f'<text x="{left + w + 6:.1f}" y="{y + 15}">{value:,}</text>'
        )
        if href:
            bar = f'<a href="{escape(href)}" class="bar-link">{bar}</a>'
        parts.append(bar)
    return _svg(width, height, "".join(parts), label, linked=bool(links))


@dataclass
class Line:
    """One series of a time chart."""

    name: str
    points: list[tuple[datetime, float]]
    step: bool = False


@dataclass
class Mark:
    """A moment marked across a time chart: an alert, a hand-over."""

    at: datetime
    label: str
    kind: str = "handover"  # or "alert"


_STEPS = (  # tick spacing in seconds, and how a tick is labelled
    (3600, "%H:%M"),
    (3 * 3600, "%H:%M"),
    (6 * 3600, "%d %H:%M"),
    (12 * 3600, "%d %H:%M"),
    (86400, "%m-%d"),
    (2 * 86400, "%m-%d"),
    (7 * 86400, "%m-%d"),
    (14 * 86400, "%m-%d"),
    (30 * 86400, "%Y-%m"),
    (91 * 86400, "%Y-%m"),
    (182 * 86400, "%Y-%m"),
    (365 * 86400, "%Y"),
)


def time_ticks(t0: float, t1: float, most: int = 7) -> list[tuple[float, str]]:
    """Round moments between t0 and t1 (epoch seconds, UTC) to label a time axis with."""
    span = max(t1 - t0, 1.0)
    step, fmt = next(((s, f) for s, f in _STEPS if span / s <= most), _STEPS[-1])
    first = math.ceil(t0 / step) * step
    return [
        (t, datetime.fromtimestamp(t, UTC).strftime(fmt))
        for t in range(int(first), int(t1) + 1, step)
    ]


def _thin(points: list[tuple[datetime, float]], most: int) -> list[tuple[datetime, float]]:
    """At most `most` points to hover on, keeping every change of value."""
    if len(points) <= most:
        return points
    changes = [p for i, p in enumerate(points) if i == 0 or p[1] != points[i - 1][1]]
    if len(changes) <= most:
        return changes
    every = math.ceil(len(changes) / most)
    return changes[::every]


def lines(
    series: Sequence[Line],
    label: str,
    width: int = 640,
    height: int = 200,
    unit: str = "",
    span: tuple[datetime, datetime] | None = None,
    marks: Sequence[Mark] = (),
    links: Callable[[datetime], str] | None = None,
) -> Markup:
    """Series over time on one chart, with a time axis, the value of each point on hover and
    moments (alerts, hand-overs) drawn across it. Charts given the same span share one time
    line. With links, each point opens the page links(time) names."""
    pts = [p for s in series for p in s.points]
    if not pts:
        return Markup('<p class="empty">no readings</p>')
    left, right, top, bottom = 48, 12, 14, 34
    if span is not None:
        t0, t1 = span[0].timestamp(), span[1].timestamp()
    else:
        t0 = min(t for t, _ in pts).timestamp()
        t1 = max(t for t, _ in pts).timestamp()
    lo = min(0.0, min(v for _, v in pts))
    hi = max(v for _, v in pts)
    hi = hi if hi > lo else lo + 1
    width_t = (t1 - t0) or 1

    def x(t: datetime) -> float:
        return left + (width - left - right) * (t.timestamp() - t0) / width_t

    def y(v: float) -> float:
        return top + (height - top - bottom) * (1 - (v - lo) / (hi - lo))

    parts = [
        f'<line x1="{left}" y1="{y(lo):.1f}" x2="{width - right}" y2="{y(lo):.1f}" class="axis"/>',
        f'<text x="{left - 4}" y="{y(hi) + 4:.1f}" text-anchor="end">{hi:g}{escape(unit)}</text>',
        f'<text x="{left - 4}" y="{y(lo) + 4:.1f}" text-anchor="end">{lo:g}</text>',
    ]
    for tick, text in time_ticks(t0, t1):
        tx = left + (width - left - right) * (tick - t0) / width_t
        parts.append(
            f'<line x1="{tx:.1f}" y1="{y(lo):.1f}" x2="{tx:.1f}" y2="{y(lo) + 4:.1f}" '
            'class="axis"/>'
            f'<text x="{tx:.1f}" y="{height - 18}" text-anchor="middle" class="tick">{text}</text>'
        )
    parts.append(
        f'<text x="{left}" y="{height - 4}" class="tick">'
        f"{datetime.fromtimestamp(t0, UTC):%Y-%m-%d %H:%M} to "
        f"{datetime.fromtimestamp(t1, UTC):%Y-%m-%d %H:%M} UTC</text>"
    )
    for m in marks:
        if not t0 <= m.at.timestamp() <= t1:
            continue
        mx = x(m.at)
        parts.append(
            f'<line x1="{mx:.1f}" y1="{top}" x2="{mx:.1f}" y2="{y(lo):.1f}" class="mark-{m.kind}">'
            f"<title>{m.at:%Y-%m-%d %H:%M} UTC: {escape(m.label)}</title></line>"
        )
    for i, s in enumerate(series):
        color = PALETTE[i % len(PALETTE)]
        coords: list[str] = []
        prev_y: float | None = None
        ordered = sorted(s.points)
        for t, v in ordered:
            if s.step and prev_y is not None:  # hold the last value until the next reading
                coords.append(f"{x(t):.1f},{prev_y:.1f}")
            coords.append(f"{x(t):.1f},{y(v):.1f}")
            prev_y = y(v)
        parts.append(
            f'<polyline fill="none" stroke="{color}" stroke-width="1.8" '
            f'points="{" ".join(coords)}"><title>{escape(s.name)}</title></polyline>'
        )
        for t, v in _thin(ordered, 240):
            dot = (
                f'<circle cx="{x(t):.1f}" cy="{y(v):.1f}" r="4" class="hover" fill="{color}">'
                f"<title>{t:%Y-%m-%d %H:%M} UTC · {escape(s.name)}: {v:g}{escape(unit)}</title>"
                "</circle>"
            )
            if links is not None:
                dot = (
                    f'<a href="{escape(links(t))}" aria-label="{escape(s.name)} {t:%Y-%m-%d}: '
                    f'{v:g}, open the queue">{dot}</a>'
                )
            parts.append(dot)
        parts.append(
            f'<rect x="{left + 8 + i * 130}" y="{top - 12}" width="10" height="10" fill="{color}"/>'
            f'<text x="{left + 22 + i * 130}" y="{top - 3}">{escape(s.name)}</text>'
        )
    return _svg(width, height, "".join(parts), label, linked=links is not None)


@dataclass
class Place:
    """Something to draw on a map."""

    lat: float
    lon: float
    label: str
    kind: str  # "site", "position", "opening", "event"
    radius_m: float = 0.0


def map_svg(places: Sequence[Place], label: str, width: int = 640, height: int = 420) -> Markup:
    """Positions, openings and sites on a plain background, scaled to fit (equirectangular,
    corrected for latitude), with a scale bar: works with no map tiles at all."""
    if not places:
        return Markup('<p class="empty">no positions or sites to draw</p>')
    lats = [p.lat for p in places]
    lons = [p.lon for p in places]
    mid = math.radians((max(lats) + min(lats)) / 2)
    k = max(math.cos(mid), 0.05)
    span_x = max((max(lons) - min(lons)) * k, 0.01)
    span_y = max(max(lats) - min(lats), 0.01)
    pad = 30
    scale = min((width - 2 * pad) / span_x, (height - 2 * pad) / span_y)

    def xy(p: Place) -> tuple[float, float]:
        return (
            pad + (p.lon - min(lons)) * k * scale + ((width - 2 * pad) - span_x * scale) / 2,
            pad + (max(lats) - p.lat) * scale + ((height - 2 * pad) - span_y * scale) / 2,
        )

    parts = [f'<rect x="0" y="0" width="{width}" height="{height}" class="map-bg"/>']
    track = [xy(p) for p in places if p.kind == "position"]
    if len(track) > 1:
        pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in track)
        parts.append(f'<polyline points="{pts}" class="track"><title>route</title></polyline>')
    order = {"site": 0, "position": 1, "event": 2, "opening": 3}
    for p in sorted(places, key=lambda p: order.get(p.kind, 9)):
        x, y = xy(p)
        text = escape(p.label)
        if p.kind == "site":
            r = max(3.0, p.radius_m / 111_000 * scale)
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" class="site"><title>{text}'
                f'</title></circle><text x="{x + r + 2:.1f}" y="{y + 4:.1f}" class="site-label">'
                f"{text}</text>"
            )
        elif p.kind == "position":
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2" class="position">'
                f"<title>{text}</title></circle>"
            )
        elif p.kind == "event":
            parts.append(
                f'<rect x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" '
                f'class="event"><title>{text}</title></rect>'
            )
        else:
            parts.append(
                f'<path d="M{x:.1f},{y - 7:.1f} L{x + 6:.1f},{y + 5:.1f} L{x - 6:.1f},{y + 5:.1f} '
                f'Z" class="opening"><title>{text}</title></path>'
            )
    km = span_x / k * 111 / 4 if span_x else 1
    nice = 10 ** math.floor(math.log10(km)) if km > 0 else 1
    bar = nice / 111 * k * scale
    parts.append(
        f'<line x1="{pad}" y1="{height - 12}" x2="{pad + bar:.1f}" y2="{height - 12}" '
        f'class="scale"/><text x="{pad + bar + 4:.1f}" y="{height - 8}">{nice:g} km</text>'
    )
    return _svg(width, height, "".join(parts), label)


def regions(places: Sequence[Place], most: int = 3) -> list[tuple[str, list[Place]]]:
    """Places grouped into regions one map shows legibly (within about two degrees), those
    where the container moved or stood first, busiest first (up to most), each named after a
    site there or its coordinates."""
    groups: list[list[Place]] = []
    for p in places:
        for g in groups:
            if abs(g[0].lat - p.lat) <= 2 and abs(g[0].lon - p.lon) <= 2:
                g.append(p)
                break
        else:
            groups.append([p])
    moving = [g for g in groups if any(p.kind != "site" for p in g)] or groups
    moving.sort(key=lambda g: -sum(1 for p in g if p.kind != "site"))
    out = []
    for g in moving[:most]:
        site = next((p.label for p in g if p.kind == "site"), None)
        out.append((site or f"{g[0].lat:.2f}, {g[0].lon:.2f}", g))
    return out


def spans(
    rows: Sequence[tuple[str, datetime, datetime, Sequence[tuple[datetime, str]]]],
    label: str,
    width: int = 720,
) -> Markup:
    """A time line of spans, one row each (label, from, until, marks): contamination windows
    with the custody alerts inside them as ticks."""
    if not rows:
        return Markup('<p class="empty">nothing yet</p>')
    row, left, right = 24, 230, 20
    t0 = min(r[1] for r in rows).timestamp()
    t1 = max(r[2] for r in rows).timestamp()
    scale = (width - left - right) / max(t1 - t0, 1.0)
    height = row * len(rows) + 30

    def x(t: datetime) -> float:
        return left + (t.timestamp() - t0) * scale

    parts = []
    for i, (name, a, b, marks) in enumerate(rows):
        y = 5 + i * row
        w = max(x(b) - x(a), 2.0)
        parts.append(
            f'<text x="{left - 8}" y="{y + 15}" text-anchor="end">{escape(name)}</text>'
            f'<rect x="{x(a):.1f}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" '
            f'fill="{PALETTE[i % len(PALETTE)]}" opacity="0.75"><title>{escape(name)}: '
            f"{a:%Y-%m-%d %H:%M} to {b:%Y-%m-%d %H:%M} UTC</title></rect>"
        )
        for at, what in marks:
            parts.append(
                f'<line x1="{x(at):.1f}" x2="{x(at):.1f}" y1="{y}" y2="{y + row - 2}" '
                f'stroke="#000" stroke-width="2"><title>{escape(what)} at '
                f"{at:%Y-%m-%d %H:%M} UTC</title></line>"
            )
    base = 5 + len(rows) * row
    for t, text in time_ticks(t0, t1, 6):
        xt = left + (t - t0) * scale
        parts.append(
            f'<line x1="{xt:.1f}" x2="{xt:.1f}" y1="{base}" y2="{base + 4}" stroke="#555"/>'
            f'<text x="{xt:.1f}" y="{base + 16}" text-anchor="middle">{escape(text)}</text>'
        )
    return _svg(width, height, "".join(parts), label)
