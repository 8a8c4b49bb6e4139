"""What the map says about each asset: its status or campaign colour and its popup data."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from planner.errors import PlannerError
from planner.maps.layers import (
    CAMPAIGN_PALETTE,
    STATUS_COLOURS,
    Category,
    format_cycles,
    text_column,
)
from planner.styles import (
    NO_DATA_COLOUR,
    NOT_BOOKED_COLOUR,
    OTHER_COLOUR,
    STATUS_LABELS,
    ramp_colour,
)

__all__ = ["STATUS_LABELS", "AssetView", "asset_status", "asset_view"]

_TRUE = frozenset({"true", "1", "yes", "y", "t"})


@dataclass(frozen=True)
class AssetView:
    """The asset layer's data: ``data`` is the payload the map script reads.

    Attributes
    ----------
    data
        JSON-ready dict for ``PlannerMap.assetLayer`` and ``assetPopup``: ``x`` and ``y``
        (longitude and latitude, 5 decimals, one per asset), ``members`` (asset positions
        of each class), ``classes`` (``label`` and ``colour``), ``cols`` (popup columns,
        see `planner.maps.layers.text_column`), ``elig`` (eligibility profiles, or None)
        and ``book`` (bookings per asset, or None).
    classes
        One `planner.maps.layers.Category` per layer, in ``members`` order.
    """

    data: dict[str, Any]
    classes: list[Category]


def _need(frame: pd.DataFrame, argument: str, columns: tuple[str, ...]) -> None:
    """Raise `PlannerError` naming the ``columns`` ``frame`` lacks and the columns it has."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise PlannerError(
            f"'{argument}' lacks column(s) {', '.join(missing)}; it has "
            f"{', '.join(map(str, frame.columns))}. Add them or rename the matching columns."
        )


def _truthy(values: pd.Series) -> np.ndarray:
    """Read a yes/no column: bools as they are, else text true/1/yes/y/t (any case) is True."""
    if values.dtype == bool:
        return values.to_numpy()
    return values.astype(str).str.strip().str.lower().isin(_TRUE).to_numpy()


def _refused_ids(eligibility: pd.DataFrame, category: str | None) -> np.ndarray:
    """Return the ids of assets refused for ``category``, or for any category when None.

    Raises
    ------
    PlannerError
        When ``category`` is not in a non-empty eligibility table; the message lists the
        categories it has.
    """
    rows = eligibility
    if category is not None:
        known = set(eligibility["category"].astype(str))
        if known and category not in known:
            raise PlannerError(
                f"category={category!r} is not in the eligibility table; it has "
                f"{', '.join(sorted(known))}. Pick one of those or pass category=None."
            )
        rows = eligibility[eligibility["category"].astype(str) == category]
    refused = ~_truthy(rows["allowed"])
    return rows.loc[refused, "asset_id"].astype(str).unique()


def asset_status(
    assets: pd.DataFrame,
    *,
    eligibility: pd.DataFrame | None = None,
    placements: pd.DataFrame | None = None,
    category: str | None = None,
) -> pd.Series:
    """Give each asset its map status, in order of precedence.

    ``booked`` (in ``placements``), ``unavailable`` (``status`` column), ``restricted``
    (refused for ``category``, or for any category when ``category`` is None),
    ``eligible``; ``available`` instead of eligible when no eligibility table is given.

    Parameters
    ----------
    assets
        Assets with ``asset_id`` and optionally ``status`` (``"unavailable"`` in any
        case marks an asset out of use).
    eligibility
        ``asset_id, category, allowed`` rows (`planner.policy.eligibility.eligibility`);
        ``allowed`` as bools or text such as ``true``/``false``.
    placements
        Rows with ``asset_id``: every asset in it is booked.
    category
        Advertiser category whose refusals make an asset restricted.

    Returns
    -------
    pandas.Series
        One of ``booked``, ``unavailable``, ``restricted``, ``eligible`` or
        ``available`` per asset, indexed like ``assets``.

    Raises
    ------
    PlannerError
        When ``eligibility`` lacks ``asset_id``, ``category`` or ``allowed``,
        ``placements`` lacks ``asset_id``, or ``category`` is not in the eligibility
        table.

    Examples
    --------
    >>> asset_status(assets, eligibility=elig, category="alcohol").value_counts()
    """
    ids = assets["asset_id"].astype(str)
    status = pd.Series("eligible" if eligibility is not None else "available", index=ids.index)
    if eligibility is not None:
        _need(eligibility, "eligibility", ("asset_id", "category", "allowed"))
        status[ids.isin(_refused_ids(eligibility, category))] = "restricted"
    if "status" in assets.columns:
        status[assets["status"].astype(str).str.strip().str.lower() == "unavailable"] = (
            "unavailable"
        )
    if placements is not None and len(placements):
        _need(placements, "placements", ("asset_id",))
        status[ids.isin(placements["asset_id"].astype(str).unique())] = "booked"
    return status


def _status_classes(status: pd.Series) -> tuple[list[list[int]], list[Category]]:
    """Return the asset positions and `Category` of each status present, in legend order."""
    order = [s for s in STATUS_COLOURS if (status == s).any()]
    values = status.to_numpy()
    members = [np.flatnonzero(values == s).tolist() for s in order]
    classes = [
        Category(s, STATUS_LABELS[s], STATUS_COLOURS[s], len(m))
        for s, m in zip(order, members, strict=True)
    ]
    return members, classes


def _campaign_labels(placements: pd.DataFrame) -> pd.Series:
    """``name (id)`` from ``campaign_name`` or else ``advertiser``; the id alone without."""
    ids = placements["campaign_id"].astype(str)
    column = next((c for c in ("campaign_name", "advertiser") if c in placements.columns), None)
    if column is None:
        return ids
    names = placements[column].fillna("").astype(str).str.strip()
    labels = ids.copy()
    named = (names != "") & (names != ids)
    labels[named] = names[named] + " (" + ids[named] + ")"
    return labels


def _campaign_classes(
    ids: pd.Series, placements: pd.DataFrame | None
) -> tuple[list[list[int]], list[Category]]:
    """Return one class per campaign with every asset it books (an asset may be in several).

    The 12 campaigns booking the most assets get their own colour
    (`planner.maps.layers.CAMPAIGN_PALETTE`), largest first; the rest share "other
    campaigns", and unbooked assets are "not booked". Placements of unknown assets are
    ignored.

    Raises
    ------
    PlannerError
        When ``placements`` lacks ``asset_id`` or ``campaign_id``.
    """
    members: list[list[int]] = []
    classes: list[Category] = []
    booked = np.zeros(len(ids), dtype=bool)
    if placements is not None and len(placements):
        _need(placements, "placements", ("asset_id", "campaign_id"))
        pos = pd.Index(ids).get_indexer(placements["asset_id"].astype(str))
        pairs = pd.DataFrame({"pos": pos, "label": _campaign_labels(placements).to_numpy()})
        pairs = pairs[pairs["pos"] >= 0].drop_duplicates()
        sizes = pairs.groupby("label", sort=True).size().sort_values(ascending=False, kind="stable")
        top = list(sizes.index[: len(CAMPAIGN_PALETTE)])
        for colour, label in zip(CAMPAIGN_PALETTE, top, strict=False):
            members.append(sorted(pairs.loc[pairs["label"] == label, "pos"].tolist()))
            classes.append(Category("campaign", label, colour, len(members[-1])))
        rest = sorted(set(pairs.loc[~pairs["label"].isin(top), "pos"]))
        if rest:
            members.append(rest)
            classes.append(Category("other", "other campaigns", OTHER_COLOUR, len(rest)))
        booked[pairs["pos"].to_numpy()] = True
    if not booked.all():
        members.append(np.flatnonzero(~booked).tolist())
        classes.append(Category("none", "not booked", NOT_BOOKED_COLOUR, len(members[-1])))
    return members, classes


def _value_classes(
    ids: pd.Series, values: pd.DataFrame | None
) -> tuple[list[list[int]], list[Category]]:
    """Return up to five classes of the assets' central annual value, low to high.

    Class breaks grow by a constant ratio from the lowest positive value to the highest
    (values of assets run over orders of magnitude, and many assets share one value, which
    would merge quantile breaks); colours run from orange to dark red along YlOrRd (its
    palest yellows vanish on a plain background). Assets without a value go to "no data",
    drawn first.

    Raises
    ------
    PlannerError
        When ``values`` is None or lacks ``annual_value_central``.
    """
    table = _aligned_values(ids, values)
    if table is None or "annual_value_central" not in table:
        raise PlannerError(
            "color_by='value' needs values with 'annual_value_central' (from "
            "planner.value_assets); pass values="
        )
    amounts = pd.to_numeric(table["annual_value_central"], errors="coerce").to_numpy(float)
    known = amounts[np.isfinite(amounts)]
    positive = known[known > 0]
    low, high = (positive.min(), positive.max()) if len(positive) else (0.0, 0.0)
    edges = np.geomspace(low, high, 6) if high > low > 0 else np.array([low, high])
    which = np.clip(np.searchsorted(edges, amounts, side="right") - 1, 0, len(edges) - 2)
    n = len(edges) - 1
    members: list[list[int]] = []
    classes: list[Category] = []
    missing = ~np.isfinite(amounts)
    if missing.any():
        members.append(np.flatnonzero(missing).tolist())
        classes.append(Category("none", "no value", NO_DATA_COLOUR, int(missing.sum())))
    for i in range(n):
        inside = np.flatnonzero((which == i) & ~missing).tolist()
        if inside:
            label = f"{edges[i]:,.0f} – {edges[i + 1]:,.0f}"
            colour = ramp_colour(0.35 + 0.65 * i / max(n - 1, 1))
            members.append(inside)
            classes.append(Category("value", label, colour, len(inside)))
    return members, classes


def _column(frame: pd.DataFrame, name: str) -> pd.Series | None:
    """Return the column, or None when it is absent or entirely missing (not worth a row)."""
    if name not in frame.columns or frame[name].isna().all():
        return None
    return frame[name]


def _detail_columns(assets: pd.DataFrame, status: pd.Series) -> list[dict[str, Any]]:
    """Return the popup's asset columns: id, name, type, format, faces, digital, ward, status.

    Loop slots are shown for digital assets only.
    """
    cols = [text_column(assets["asset_id"].astype(str), label="Asset id")]
    for name, label in (("name", "Name"), ("asset_type", "Type"), ("format", "Format")):
        if (values := _column(assets, name)) is not None:
            cols.append(text_column(values, label=label))
    if (faces := _column(assets, "faces")) is not None:
        cols.append(text_column(faces, label="Faces", f="int"))
    if (digital := _column(assets, "digital")) is not None:
        flags = _truthy(digital.fillna(False))
        cols.append(text_column(flags.tolist(), label="Digital", f="bool"))
        if (slots := _column(assets, "slots")) is not None:
            cols.append(text_column(slots.where(flags), label="Loop slots", f="int"))
    if (ward := _column(assets, "ward")) is not None:
        cols.append(text_column(ward, label="Ward"))
    cols.append(text_column(status.map(STATUS_LABELS), label="Status"))
    return cols


def _aligned_values(ids: pd.Series, values: pd.DataFrame | None) -> pd.DataFrame | None:
    """Return ``values`` indexed by asset id in the assets' order (NaN rows for missing ids).

    Raises
    ------
    PlannerError
        When ``values`` lacks ``asset_id`` or has two rows for one asset.
    """
    if values is None:
        return None
    _need(values, "values", ("asset_id",))
    keys = values["asset_id"].astype(str)
    if keys.duplicated().any():
        dupes = ", ".join(keys[keys.duplicated()].unique()[:5])
        raise PlannerError(
            f"'values' has more than one row for asset(s) {dupes}; give one row per asset."
        )
    return pd.DataFrame(values).set_index(keys).reindex(ids.to_numpy())


def _value_columns(assets: pd.DataFrame, ids: pd.Series, values: pd.DataFrame | None):
    """Return the popup's money and audience columns, from ``values`` else the asset file.

    Weekly impacts (flagged "modelled estimate" where ``impacts_source`` says so), price
    per cycle, central annual media value and central council income a year, in each
    row's ``currency`` (GBP when none is given).
    """
    table = _aligned_values(ids, values)
    src = table if table is not None else assets.set_index(ids.to_numpy())
    cols: list[dict[str, Any]] = []
    currency: Any = "GBP"
    if table is not None and (cur := _column(table, "currency")) is not None:
        currency = text_column(cur.fillna("GBP"))
    if (impacts := _column(src, "weekly_impacts")) is not None:
        spec: dict[str, Any] = {"label": "Weekly impacts", "f": "int"}
        if (source := _column(src, "impacts_source")) is not None:
            spec |= {"flag": (source.astype(str) == "modelled").astype(int).tolist(),
                     "flagText": "modelled estimate"}  # fmt: skip
        cols.append(text_column(pd.to_numeric(impacts, errors="coerce").round(), **spec))
    for name, label in (
        ("price_per_cycle", "Price per cycle"),
        ("annual_value_central", "Annual media value (central estimate)"),
        ("council_income_central", "Council income a year (central estimate)"),
    ):
        if (money := _column(src, name)) is not None:
            numbers = pd.to_numeric(money, errors="coerce").round(2)
            cols.append(text_column(numbers, label=label, f="money", cur=currency))
    return cols


def _eligibility_payload(ids: pd.Series, eligibility: pd.DataFrame | None) -> dict | None:
    """Encode every asset's eligibility as a shared profile, for the popups.

    Many assets share the same allowed and refused categories with the same reasons, so
    each distinct profile is stored once: ``cats``, ``reasons`` and ``rules`` are lookup
    lists; ``profiles[k]`` is a list of ``[cat, 1]`` (allowed) or ``[cat, 0, reason,
    rule]`` (refused) by category code; ``p[i]`` is asset ``i``'s profile, -1 when it
    has no rows. Rows of unknown assets are ignored. None without eligibility rows.
    """
    if eligibility is None or not len(eligibility):
        return None
    asset_pos = pd.Index(ids).get_indexer(eligibility["asset_id"].astype(str))
    e, asset_pos = eligibility[asset_pos >= 0], asset_pos[asset_pos >= 0]
    cat_codes, cats = pd.factorize(e["category"].astype(str))
    allowed = _truthy(e["allowed"])
    reasons, rules = (
        e[c].astype(object).fillna("").astype(str) if c in e else pd.Series("", e.index)
        for c in ("reasons", "rule_ids")
    )
    reason_codes, reason_text = pd.factorize(reasons.where(~allowed, ""))
    rule_codes, rule_text = pd.factorize(rules.where(~allowed, ""))
    order = np.lexsort((cat_codes, asset_pos))
    columns = (cat_codes[order], allowed[order], reason_codes[order], rule_codes[order])
    rows = [
        (c, 1) if a else (c, 0, r, u)
        for c, a, r, u in zip(*(col.tolist() for col in columns), strict=True)
    ]
    sorted_pos = asset_pos[order]
    starts = np.flatnonzero(np.r_[True, np.diff(sorted_pos) != 0])
    ends = np.r_[starts[1:], len(order)]
    profiles: dict[tuple, int] = {}
    per_asset = np.full(len(ids), -1)
    for s, t in zip(starts.tolist(), ends.tolist(), strict=True):
        per_asset[sorted_pos[s]] = profiles.setdefault(tuple(rows[s:t]), len(profiles))
    return {
        "cats": list(cats),
        "reasons": list(reason_text),
        "rules": list(rule_text),
        "profiles": [[list(r) for r in key] for key in profiles],
        "p": per_asset.tolist(),
    }


def _booking_payload(ids: pd.Series, placements: pd.DataFrame | None) -> dict | None:
    """Encode every asset's bookings for the popups: campaign, cycles and categories.

    ``camps`` lists the campaign labels (``name (id)``); ``b[i]`` is asset ``i``'s list of
    ``[campaign code, cycles such as "1-3;7", categories]``, or None when not booked.
    None without placements.
    """
    if placements is None or not len(placements):
        return None
    _need(placements, "placements", ("asset_id", "campaign_id"))
    codes, labels = pd.factorize(_campaign_labels(placements))
    p = pd.DataFrame(
        {
            "asset_id": placements["asset_id"].astype(str).to_numpy(),
            "camp": codes,
            "cycle": placements.get("cycle", pd.Series(0, placements.index)).to_numpy(),
            "category": placements.get("category", pd.Series("", placements.index))
            .fillna("")
            .astype(str)
            .to_numpy(),
        }
    ).sort_values(["asset_id", "camp", "cycle"], kind="stable")
    has_cycles = "cycle" in placements.columns
    per_asset: dict[str, list] = {}
    rows = zip(p["asset_id"], p["camp"], p["cycle"], p["category"], strict=True)
    for (asset, camp), group in itertools.groupby(rows, key=lambda r: (r[0], r[1])):
        booked = list(group)
        cycles = format_cycles(r[2] for r in booked) if has_cycles else ""
        cats = "; ".join(sorted({r[3] for r in booked} - {""}))
        per_asset.setdefault(asset, []).append([int(camp), cycles, cats])
    return {"camps": list(labels), "b": [per_asset.get(i) for i in ids]}


def asset_view(
    assets: gpd.GeoDataFrame,
    *,
    eligibility: pd.DataFrame | None = None,
    placements: pd.DataFrame | None = None,
    values: pd.DataFrame | None = None,
    color_by: str = "status",
    category: str | None = None,
) -> AssetView:
    """Build the asset layer's payload: positions, classes, popup columns, eligibility, bookings.

    Parameters
    ----------
    assets
        Assets in EPSG:4326 (``asset_id``; other contract columns shown when present);
        polygons and lines are placed at a representative point.
    eligibility, placements, values, category
        As for `planner.maps.render.asset_map`.
    color_by
        ``"status"``, ``"campaign"`` or ``"value"`` (up to five classes of
        ``values["annual_value_central"]``, growing by a constant ratio).

    Returns
    -------
    AssetView
        The payload and the classes, one layer each.

    Raises
    ------
    PlannerError
        When ``color_by`` is not valid, ``assets`` lacks ``asset_id``, or as for
        `asset_status`; colouring by campaign when ``placements`` lacks ``campaign_id``,
        by value when ``values`` lacks ``annual_value_central``.

    Examples
    --------
    >>> view = asset_view(assets, placements=plan, color_by="campaign")
    >>> [c.label for c in view.classes]
    ['Spring sale', 'not booked']
    """
    if color_by not in ("status", "campaign", "value"):
        raise PlannerError(
            f"color_by={color_by!r} is not valid. Use 'status', 'campaign' or 'value'."
        )
    _need(assets, "assets", ("asset_id",))
    ids = assets["asset_id"].astype(str)
    points = assets.geometry
    if not (points.geom_type == "Point").all():
        points = points.representative_point()
    status = asset_status(assets, eligibility=eligibility, placements=placements, category=category)
    if color_by == "status":
        members, classes = _status_classes(status)
    elif color_by == "value":
        members, classes = _value_classes(ids, values)
    else:
        members, classes = _campaign_classes(ids, placements)
    data = {
        "x": np.round(points.x.to_numpy(), 5).tolist(),
        "y": np.round(points.y.to_numpy(), 5).tolist(),
        "members": members,
        "classes": [{"label": c.label, "colour": c.colour} for c in classes],
        "cols": _detail_columns(assets, status) + _value_columns(assets, ids, values),
        "elig": _eligibility_payload(ids, eligibility),
        "book": _booking_payload(ids, placements),
    }
    return AssetView(data, classes)
