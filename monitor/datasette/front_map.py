"""The map of the front drawn from coordinates alone: towns projected into an SVG frame and coloured by holder.

Pure: rows in, positions and colours out. No tiles and no JavaScript library, so the map works without internet;
`monitor.datasette.plugin` serves it and `templates/front_map.html` draws it.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAP_STYLE_FILE = Path(__file__).parent / "map.json"
NO_HOLDER = "no claim"
MIN_SPAN_DEG = 0.1  # a single town still gets a frame around it


@dataclass(frozen=True, slots=True)
class MapStyle:
    """Colours per holder and the frame of the map (from map.json)."""

    holders: Mapping[str, str]
    other_holder: str
    no_holder: str
    width: int
    height: int
    margin: int
    grid_step_deg: float


@dataclass(frozen=True, slots=True)
class MapTown:
    """One watched town with coordinates, as the front_map canned query returns it."""

    town_id: str
    name: str
    governorate: str | None
    holder: str | None
    since: str | None
    confidence: str | None
    lat: float | None
    lon: float | None
    kind: str | None = None  # gazetteer kind: cities are labelled even when nobody claimed them


@dataclass(frozen=True, slots=True)
class Marker:
    """A town placed on the map, with its colour."""

    town: MapTown
    x: float
    y: float
    colour: str


@dataclass(frozen=True, slots=True)
class GridLine:
    """A meridian or parallel, with its label (e.g. 36.00°E)."""

    x1: float
    y1: float
    x2: float
    y2: float
    label: str


@dataclass(frozen=True, slots=True)
class LegendEntry:
    """A holder, its colour and how many towns it holds on the map."""

    holder: str
    colour: str
    count: int


@dataclass(frozen=True, slots=True)
class FrontMap:
    """Everything the template needs to draw the map."""

    width: int
    height: int
    markers: tuple[Marker, ...]
    grid: tuple[GridLine, ...]
    legend: tuple[LegendEntry, ...]
    unplaced: tuple[MapTown, ...] = ()  # held towns without coordinates: listed, not drawn


def load_map_style(path: Path = MAP_STYLE_FILE) -> MapStyle:
    """Read the map's colours and frame from a JSON file."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return MapStyle(holders=dict(data["holders"]), other_holder=data["other_holder"], no_holder=data["no_holder"],
                    width=int(data["width"]), height=int(data["height"]), margin=int(data["margin"]),
                    grid_step_deg=float(data["grid_step_deg"]))


def holder_colour(holder: str | None, style: MapStyle) -> str:
    """The colour of a holder; towns nobody claimed and sides missing from the style get their own colours."""
    if not holder:
        return style.no_holder
    return style.holders.get(holder, style.other_holder)


def town_from_row(row: Mapping[str, Any]) -> MapTown:
    """A MapTown from a front_map query row."""
    lat, lon = row["lat"], row["lon"]
    return MapTown(town_id=str(row["town_id"]), name=str(row["town"]), governorate=row["governorate"],
                   holder=row["holder"], since=row["since"], confidence=row["confidence"],
                   lat=None if lat is None else float(lat), lon=None if lon is None else float(lon),
                   kind=row.get("kind"))


def draw_front_map(towns: Sequence[MapTown], style: MapStyle) -> FrontMap:
    """Project towns into the style's frame (equirectangular, north up) and colour them by holder."""
    placed = [(t, t.lat, t.lon) for t in towns if t.lat is not None and t.lon is not None]
    unplaced = tuple(sorted((t for t in towns if t.lat is None or t.lon is None), key=lambda t: t.name))
    if not placed:
        return FrontMap(style.width, style.height, (), (), (), unplaced)
    frame = _Frame.around([(lat, lon) for _, lat, lon in placed], style)
    # Unclaimed towns first, so the held ones are drawn on top of them.
    placed.sort(key=lambda item: (item[0].holder is not None, item[0].name))
    markers = tuple(Marker(t, *frame.point(lat, lon), holder_colour(t.holder, style)) for t, lat, lon in placed)
    counts = Counter(t.holder or NO_HOLDER for t, _, _ in placed)
    legend = tuple(
        LegendEntry(holder, holder_colour(None if holder == NO_HOLDER else holder, style), count)
        for holder, count in sorted(counts.items(), key=lambda item: (item[0] == NO_HOLDER, -item[1], item[0]))
    )
    return FrontMap(style.width, style.height, markers, frame.grid(style.grid_step_deg), legend, unplaced)


@dataclass(frozen=True, slots=True)
class _Frame:
    """The bounding box of the towns and the scale that fits it into the picture."""

    west: float
    east: float
    south: float
    north: float
    scale: float  # pixels per degree of latitude
    x_factor: float  # a degree of longitude is shorter than one of latitude away from the equator
    left: float
    top: float
    width: int
    height: int

    @classmethod
    def around(cls, points: Sequence[tuple[float, float]], style: MapStyle) -> _Frame:
        west, east = _span(min(lon for _, lon in points), max(lon for _, lon in points))
        south, north = _span(min(lat for lat, _ in points), max(lat for lat, _ in points))
        x_factor = math.cos(math.radians((south + north) / 2))
        inner_w, inner_h = style.width - 2 * style.margin, style.height - 2 * style.margin
        scale = min(inner_w / ((east - west) * x_factor), inner_h / (north - south))
        # Centre the drawing in whichever direction has room to spare.
        left = style.margin + (inner_w - (east - west) * x_factor * scale) / 2
        top = style.margin + (inner_h - (north - south) * scale) / 2
        return cls(west, east, south, north, scale, x_factor, left, top, style.width, style.height)

    def point(self, lat: float, lon: float) -> tuple[float, float]:
        x = self.left + (lon - self.west) * self.x_factor * self.scale
        y = self.top + (self.north - lat) * self.scale
        return round(x, 1), round(y, 1)

    def grid(self, step: float) -> tuple[GridLine, ...]:
        """Meridians and parallels every `step` degrees across the whole picture."""
        per_lon = self.x_factor * self.scale  # pixels per degree of longitude
        lon_left, lon_right = self.west - self.left / per_lon, self.west + (self.width - self.left) / per_lon
        lat_top, lat_bottom = self.north + self.top / self.scale, self.north - (self.height - self.top) / self.scale
        lines = []
        for lon in _steps(lon_left, lon_right, step):
            x, _ = self.point(self.north, lon)
            lines.append(GridLine(x, 0, x, self.height, f"{lon:.2f}°E"))
        for lat in _steps(lat_bottom, lat_top, step):
            _, y = self.point(lat, self.west)
            lines.append(GridLine(0, y, self.width, y, f"{lat:.2f}°N"))
        return tuple(lines)


def _span(low: float, high: float) -> tuple[float, float]:
    pad = max(MIN_SPAN_DEG - (high - low), 0) / 2 + 0.02
    return low - pad, high + pad


def _steps(low: float, high: float, step: float) -> list[float]:
    first = math.ceil(low / step)
    return [round(i * step, 6) for i in range(first, math.floor(high / step) + 1)]
