"""Campaigns: what agencies want to book, parsed and checked row by row.

A campaigns table has one row per campaign; `parse_campaigns` turns it into `Campaign`
values or raises one `CampaignError` listing every bad row and column.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field

import pandas as pd

from planner import schema
from planner.calendar import CYCLES_PER_YEAR, parse_cycles
from planner.errors import CampaignError

__all__ = ["CAMPAIGN_COLUMNS", "Area", "Campaign", "parse_campaigns"]

#: Column: (required, meaning) — the README documents the same table.
CAMPAIGN_COLUMNS: dict[str, tuple[bool, str]] = {
    "campaign_id": (True, "unique id"),
    "advertiser": (True, "advertiser name"),
    "category": (True, "advertiser category (alcohol, gambling, hfss, ..., general)"),
    "budget": (
        True,
        "most the campaign may spend over all its cycles, in the rate card's currency",
    ),
    "cycles": (True, "2-week cycle numbers: 3, 3-4 or 1;5;9"),
    "min_faces": (True, "fewest faces per cycle"),
    "max_faces": (True, "most faces per cycle"),
    "formats": (False, "allowed formats, ';'-separated (e.g. 6-sheet;d6); empty: any"),
    "asset_types": (False, "allowed asset types, ';'-separated; empty: any"),
    "digital": (False, "only, never or any (default any)"),
    "area": (False, "empty: anywhere; wards:A;B; or circle:LON,LAT,RADIUS_M"),
    "competitor_group": (False, "campaigns sharing a group are kept apart"),
    "min_spacing_m": (False, "least distance between two faces of this campaign (default 0)"),
    "priority": (
        False,
        "weight of the campaign in the impacts and reach objectives (whole number ≥ 1, default 1)",
    ),
}


@dataclass(frozen=True)
class Area:
    """Where a campaign may run: a list of wards, or a circle around a point.

    Written in a campaigns table as ``wards:Ward A;Ward B`` or ``circle:LON,LAT,RADIUS_M``;
    an empty cell is anywhere.

    Attributes
    ----------
    wards
        Ward names, matched against the assets' ``ward`` column; empty for no ward limit.
    lon, lat
        Centre of the circle, in degrees (EPSG:4326); None without a circle.
    radius_m
        Radius of the circle, in metres (> 0); None without a circle.

    Examples
    --------
    >>> Area().is_anywhere
    True
    >>> Area(lon=24.94, lat=60.17, radius_m=800).is_anywhere
    False
    """

    wards: tuple[str, ...] = ()
    lon: float | None = None
    lat: float | None = None
    radius_m: float | None = None

    @property
    def is_anywhere(self) -> bool:
        """True when the campaign is not restricted by area."""
        return not self.wards and self.radius_m is None


@dataclass(frozen=True)
class Campaign:
    """One campaign to place. Money is in the rate card's currency units.

    Attributes
    ----------
    campaign_id
        Unique id, as in the campaigns table.
    advertiser
        Advertiser name (the id when the cell is empty).
    category
        Advertiser category, lower-case, from the policy's taxonomy (e.g. ``"alcohol"``);
        the policy decides where it may run.
    budget
        Most the campaign may spend over all its cycles, in the rate card's currency
        (pounds for the UK presets), gross.
    cycles
        2-week cycle numbers it runs in (`planner.calendar`), sorted.
    min_faces, max_faces
        Fewest and most faces booked per cycle.
    formats, asset_types
        Allowed formats and asset types, lower-case; empty allows any.
    digital
        ``"only"``, ``"never"`` or ``"any"``.
    area
        Where it may run; anywhere by default.
    competitor_group
        Campaigns sharing a non-empty group are kept apart: never on one asset, nor
        within ``PlanSettings.competitor_separation_m`` of each other, in the same cycle
        (`planner.optimise.instance`); empty for none.
    min_spacing_m
        Least distance between two of its faces in one cycle, in metres; 0 for none.
    priority
        Weight of the campaign in the impacts and reach objectives, whole number >= 1.
    """

    campaign_id: str
    advertiser: str
    category: str
    budget: float
    cycles: tuple[int, ...]
    min_faces: int
    max_faces: int
    formats: tuple[str, ...] = ()
    asset_types: tuple[str, ...] = ()
    digital: str = "any"
    area: Area = field(default_factory=Area)
    competitor_group: str = ""
    min_spacing_m: float = 0.0
    priority: int = 1


def _text(value: object) -> str:
    """Return a cell as stripped text; None, NaN and ``pd.NA`` (empty cells) become ``""``."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    return str(value).strip()


def _list(value: object) -> tuple[str, ...]:
    """Split a ``;``- or ``,``-separated cell into lower-case names, dropping empty ones."""
    return tuple(p.strip().lower() for p in _text(value).replace(",", ";").split(";") if p.strip())


class _Rows:
    """Collects problems as 'row N, column C: ...' lines."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[str] = []

    def add(self, row: int, column: str, message: str) -> None:
        """Record one problem of spreadsheet row ``row`` in ``column``."""
        self.problems.append(f"row {row}, column '{column}': {message}")


def _number(
    raw: object,
    row: int,
    column: str,
    rows: _Rows,
    *,
    integer: bool,
    minimum: float,
    default: float | None = None,
) -> float:
    """Read a number cell, recording a problem and returning NaN when it is not usable.

    ``£``, ``€`` and thousands commas are ignored (``£5,000`` is 5000). An empty cell is
    ``default``, or a problem when there is none.
    """
    text = _text(raw)
    if not text:
        if default is None:
            rows.add(row, column, "is empty; enter a number")
            return math.nan
        return default
    try:
        value = float(text.replace("£", "").replace("€", "").replace(",", ""))
    except ValueError:
        rows.add(row, column, f"'{text}' is not a number")
        return math.nan
    if not math.isfinite(value) or value < minimum:
        rows.add(row, column, f"{text} is not allowed; use a number of at least {minimum:g}")
        return math.nan
    if integer and value != int(value):
        rows.add(row, column, f"{text} is not a whole number")
        return math.nan
    return value


def _area(raw: object, row: int, rows: _Rows) -> Area:
    """Parse an ``area`` cell (``wards:A;B`` or ``circle:LON,LAT,RADIUS_M``); empty is anywhere."""
    text = _text(raw)
    if not text:
        return Area()
    kind, sep, rest = text.partition(":")
    kind = kind.strip().lower()
    if sep and kind in {"ward", "wards"}:
        wards = tuple(w.strip() for w in rest.split(";") if w.strip())
        if wards:
            return Area(wards=wards)
    if sep and kind == "circle":
        try:
            lon, lat, radius = (float(p) for p in rest.split(","))
        except ValueError:
            lon = lat = radius = math.nan
        if -180 <= lon <= 180 and -90 <= lat <= 90 and radius > 0:
            return Area(lon=lon, lat=lat, radius_m=radius)
    rows.add(
        row,
        "area",
        f"'{text}' is not an area; write wards:Ward A;Ward B or "
        "circle:LON,LAT,RADIUS_M (e.g. circle:24.94,60.17,800)",
    )
    return Area()


def _row(
    record: Mapping[Hashable, object],
    row: int,
    rows: _Rows,
    categories: set[str],
    max_cycle: int,
) -> Campaign | None:
    """Check one campaign row; return it, or None after recording every problem it has."""
    before = len(rows.problems)
    cid = _text(record.get("campaign_id"))
    if not cid:
        rows.add(row, "campaign_id", "is empty; give every campaign a unique id")
    category = _text(record.get("category")).lower()
    if category not in categories:
        rows.add(
            row,
            "category",
            f"'{category}' is not a known category; use one of {', '.join(sorted(categories))}",
        )
    budget = _number(record.get("budget"), row, "budget", rows, integer=False, minimum=0)
    min_faces = _number(
        record.get("min_faces"), row, "min_faces", rows, integer=True, minimum=0, default=0
    )
    max_faces = _number(record.get("max_faces"), row, "max_faces", rows, integer=True, minimum=1)
    if min_faces > max_faces:
        rows.add(row, "min_faces", f"min_faces ({min_faces:g}) is above max_faces ({max_faces:g})")
    try:
        cycles = parse_cycles(_text(record.get("cycles")), max_cycle=max_cycle)
    except ValueError as exc:
        rows.add(row, "cycles", str(exc))
        cycles = ()
    digital = _text(record.get("digital")).lower() or "any"
    if digital not in {"only", "never", "any"}:
        rows.add(row, "digital", f"'{digital}' must be only, never or any")
    spacing = _number(
        record.get("min_spacing_m"), row, "min_spacing_m", rows, integer=False, minimum=0, default=0
    )
    priority = _number(
        record.get("priority"), row, "priority", rows, integer=True, minimum=1, default=1
    )
    area = _area(record.get("area"), row, rows)
    if len(rows.problems) > before:
        return None
    return Campaign(
        campaign_id=cid,
        advertiser=_text(record.get("advertiser")) or cid,
        category=category,
        budget=budget,
        cycles=cycles,
        min_faces=int(min_faces),
        max_faces=int(max_faces),
        formats=_list(record.get("formats")),
        asset_types=_list(record.get("asset_types")),
        digital=digital,
        area=area,
        competitor_group=_text(record.get("competitor_group")),
        min_spacing_m=spacing,
        priority=int(priority),
    )


def parse_campaigns(
    table: pd.DataFrame | Iterable[dict[str, object]],
    *,
    categories: Iterable[str] = schema.CATEGORIES,
    source: str = "campaigns",
    max_cycle: int = 10 * CYCLES_PER_YEAR,
    first_row: int = 2,
) -> list[Campaign]:
    """Check a campaigns table and return its campaigns.

    Parameters
    ----------
    table
        One row per campaign with the columns of `CAMPAIGN_COLUMNS` (names compared
        case-insensitively; extra columns ignored). Cells may be text, as read from a CSV.
    categories
        Known advertiser categories (the policy's, which may extend the default taxonomy).
    source
        File name for messages.
    max_cycle
        Highest cycle number accepted (default 260, ten years of 2-week cycles).
    first_row
        Row number of the first campaign as a spreadsheet shows it (2 below a header).

    Returns
    -------
    list of Campaign
        In table order. Optional cells left empty take their defaults: any format, asset
        type and area, ``digital="any"``, no competitor group, spacing 0 m, priority 1;
        an empty ``min_faces`` is 0 and an empty ``advertiser`` is the id.

    Raises
    ------
    CampaignError
        When a required column is missing, the table is empty, or any row is bad (empty
        or repeated id, unknown category, a number that is not one or below its minimum,
        ``min_faces`` above ``max_faces``, a bad cycle list, ``digital`` or ``area``):
        one error naming every bad row and column (the first 25 shown), with the fix.

    Examples
    --------
    >>> parse_campaigns([{"campaign_id": "C1", "advertiser": "Acme", "category": "general",
    ...                   "budget": 5000, "cycles": "1-2", "min_faces": 2, "max_faces": 10}])
    [Campaign(campaign_id='C1', ...)]
    """
    frame = pd.DataFrame(table) if not isinstance(table, pd.DataFrame) else table
    frame = frame.rename(columns={c: str(c).strip().lower() for c in frame.columns})
    rows = _Rows(source)
    missing = [
        c for c, (required, _) in CAMPAIGN_COLUMNS.items() if required and c not in frame.columns
    ]
    if missing:
        raise CampaignError(
            f"{source}: missing column(s) {', '.join(missing)}. Add them; "
            f"the README lists every campaign column."
        )
    if frame.empty:
        raise CampaignError(f"{source}: the table has no campaigns. Add at least one row.")
    known = {c.lower() for c in categories}
    campaigns, seen = [], set()
    for i, record in enumerate(frame.to_dict("records")):
        campaign = _row(record, i + first_row, rows, known, max_cycle)
        if campaign is not None:
            campaigns.append(campaign)
        # Every row's id counts, valid or not, and the repeat is named by its own row.
        cid = _text(record.get("campaign_id"))
        if cid and cid in seen:
            rows.add(i + first_row, "campaign_id", f"'{cid}' is used by more than one campaign")
        seen.add(cid)
    if rows.problems:
        shown = rows.problems[:25]
        more = len(rows.problems) - len(shown)
        raise CampaignError(
            f"{source}: {len(rows.problems)} problem(s):\n  - "
            + "\n  - ".join(shown)
            + (f"\n  ... and {more} more" if more else "")
        )
    return campaigns
