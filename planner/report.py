"""A plan and a valuation as the tables people read: the booking sheet and chart data.

Pure functions of a `planner.Plan`, the assets and their values: the booking sheet an
agency sends to the operator (one row per booked face and cycle, with the asset's name,
type, format and ward and the cycle's dates), delivery by cycle and by campaign, and the
spread of asset values. Writing the booking sheet is `planner.io.writers.write_booking_sheet`.
"""

from __future__ import annotations

import itertools
from datetime import date

import numpy as np
import pandas as pd

from planner.calendar import DEFAULT_START, cycle_dates
from planner.errors import PlannerError
from planner.plan import Plan

__all__ = ["BOOKING_COLUMNS", "booking_sheet", "plan_by_campaign", "plan_by_cycle", "value_bands"]

#: The booking sheet's columns, in order.
BOOKING_COLUMNS = (
    "asset_id",
    "name",
    "asset_type",
    "format",
    "ward",
    "face",
    "campaign_id",
    "advertiser",
    "category",
    "cycle",
    "cycle_start",
    "cycle_end",
    "price",
    "currency",
    "impacts",
    "impacts_source",
)
_ASSET_DETAILS = ("name", "asset_type", "format", "ward")


def booking_sheet(
    result: Plan, assets: pd.DataFrame, *, first_monday: date = DEFAULT_START
) -> pd.DataFrame:
    """List a plan's bookings as an operator's booking sheet: one row per face and cycle.

    Parameters
    ----------
    result
        A plan (`planner.plan`); its ``placements`` give asset, face, campaign, cycle,
        price (``result.currency`` per cycle) and modelled impacts (adult impressions in the
        cycle).
    assets
        The assets planned, with ``asset_id`` and any of ``name``, ``asset_type``,
        ``format`` and ``ward`` (missing ones are left blank).
    first_monday
        The Monday cycle 1 starts on (`planner.calendar.DEFAULT_START` unless the plan's
        trading year starts on another).

    Returns
    -------
    pandas.DataFrame
        `BOOKING_COLUMNS`, sorted by cycle, campaign, asset and face; ``cycle_start`` and
        ``cycle_end`` are `datetime.date` (first and last day, 14 days inclusive);
        ``attrs["currency"]`` is the plan's currency. No rows for a plan without
        placements.

    Raises
    ------
    PlannerError
        When a placement's asset is not in ``assets`` (the plan was made from other data).

    Examples
    --------
    >>> sheet = booking_sheet(result, assets)
    >>> sheet.loc[0, ["asset_id", "cycle", "cycle_start", "cycle_end"]].tolist()
    ['A17', 1, datetime.date(2027, 1, 4), datetime.date(2027, 1, 17)]
    """
    placed = pd.DataFrame(result.placements).drop(columns="geometry", errors="ignore")
    details = pd.DataFrame(assets).drop_duplicates("asset_id").set_index("asset_id")
    unknown = sorted(set(placed["asset_id"].astype(str)) - set(details.index.astype(str)))
    if unknown:
        raise PlannerError(
            f"The plan books {len(unknown)} asset(s) not in the assets given "
            f"({', '.join(unknown[:5])}); pass the assets the plan was made from"
        )
    details.index = details.index.astype(str)
    ids = placed["asset_id"].astype(str)
    for column in _ASSET_DETAILS:
        source = details[column] if column in details else pd.Series("", index=details.index)
        placed[column] = ids.map(source.fillna("")).to_numpy()
    cycles = placed["cycle"].astype(int)
    dates = {c: cycle_dates(c, first_monday) for c in sorted(set(cycles))}
    placed["cycle"] = cycles
    placed["cycle_start"] = [dates[c][0] for c in cycles]
    placed["cycle_end"] = [dates[c][1] for c in cycles]
    placed["currency"] = result.currency
    sheet = placed.reindex(columns=list(BOOKING_COLUMNS))
    sheet = sheet.sort_values(["cycle", "campaign_id", "asset_id", "face"], kind="stable")
    sheet = sheet.reset_index(drop=True)
    sheet.attrs["currency"] = result.currency
    return sheet


def plan_by_cycle(result: Plan, *, first_monday: date = DEFAULT_START) -> pd.DataFrame:
    """Sum a plan's bookings per cycle and campaign: faces, gross sales and impacts.

    Parameters
    ----------
    result
        A plan (`planner.plan`).
    first_monday
        The Monday cycle 1 starts on.

    Returns
    -------
    pandas.DataFrame
        One row per (cycle, campaign) with bookings: ``cycle``, ``cycle_start``
        (`datetime.date`), ``campaign_id``, ``advertiser``, ``campaign`` (id and
        advertiser, for legends), ``faces`` (face-cycles booked), ``sales`` (gross, in
        ``result.currency``) and ``impacts`` (modelled adult impressions in the cycle).
        Sorted by cycle, then campaign; no rows for a plan without placements.

    Examples
    --------
    >>> plan_by_cycle(result).groupby("cycle")["sales"].sum()
    """
    placed = pd.DataFrame(result.placements)
    columns = ["cycle", "cycle_start", "campaign_id", "advertiser", "campaign"]
    columns += ["faces", "sales", "impacts"]
    if placed.empty:
        return pd.DataFrame(columns=columns)
    placed = placed.assign(cycle=placed["cycle"].astype(int))
    table = (
        placed.groupby(["cycle", "campaign_id", "advertiser"], sort=True)
        .agg(faces=("asset_id", "size"), sales=("price", "sum"), impacts=("impacts", "sum"))
        .reset_index()
    )
    table["cycle_start"] = [cycle_dates(c, first_monday)[0] for c in table["cycle"]]
    table["campaign"] = _campaign_label(table)
    return table[columns]


def plan_by_campaign(result: Plan) -> pd.DataFrame:
    """Each campaign's delivery in a plan, for charts: faces, spend, impacts, reach.

    Parameters
    ----------
    result
        A plan (`planner.plan`).

    Returns
    -------
    pandas.DataFrame
        One row per campaign in ``result.campaigns``: ``campaign_id``, ``advertiser``,
        ``campaign`` (id and advertiser), ``faces_booked`` (face-cycles), ``spend``
        (gross, in ``result.currency``), ``budget_used`` (0-1), ``impacts`` (modelled),
        ``reach`` (modelled people reached at least once, NaN without demand zones) and
        ``cover_pct`` (reach over the campaign's universe, in percent; NaN without zones).

    Examples
    --------
    >>> plan_by_campaign(result).set_index("campaign")["reach"]
    """
    table = pd.DataFrame(result.campaigns).copy()
    for column in ("reach", "cover_pct"):
        if column not in table:
            table[column] = np.nan
    table["campaign"] = _campaign_label(table)
    keep = ["campaign_id", "advertiser", "campaign", "faces_booked", "spend", "budget_used"]
    return table[[*keep, "impacts", "reach", "cover_pct"]].reset_index(drop=True)


def _campaign_label(table: pd.DataFrame) -> pd.Series:
    """``C01 Harbour Bank``: a campaign's id and advertiser, as legends show it."""
    return table["campaign_id"].astype(str) + " " + table["advertiser"].astype(str)


def value_bands(
    values: pd.DataFrame,
    *,
    column: str = "annual_value_central",
    bands: int = 10,
    spacing: str = "ratio",
) -> pd.DataFrame:
    """Spread of asset values: how many assets, and how much value, in each band.

    Parameters
    ----------
    values
        Output of `planner.value_assets` (one row per asset).
    column
        The value to band, e.g. ``annual_value_central`` (media value a year, in the
        values' currency) or ``council_income_central``.
    bands
        Number of bands.
    spacing
        ``"ratio"``: each band's upper edge is a constant multiple of its lower edge, from
        the lowest positive value to the highest (asset values run over orders of
        magnitude; the value map's classes grow the same way); ``"equal"``: equal widths
        from 0 to the highest value.

    Returns
    -------
    pandas.DataFrame
        One row per band: ``band_from`` and ``band_to`` (currency a year; values on an
        edge go to the band above it, the highest to the last band and values below the
        first edge, zeros included, to the first), ``band`` (the range in words, e.g.
        ``"1,000-2,000"``), ``assets`` (count) and ``value`` (their total).
        ``attrs["currency"]`` is the values' currency when they say it.

    Raises
    ------
    PlannerError
        When ``values`` has no ``column``, or ``spacing`` is neither choice.

    Examples
    --------
    >>> value_bands(values)[["band", "assets"]]
    """
    if column not in values:
        raise PlannerError(
            f"The values have no '{column}' column; pass the output of planner.value_assets"
        )
    if spacing not in ("ratio", "equal"):
        raise PlannerError(f"spacing={spacing!r} is not valid. Use 'ratio' or 'equal'.")
    amounts = pd.to_numeric(values[column], errors="coerce").fillna(0.0).clip(lower=0.0)
    top = float(amounts.max()) if len(amounts) else 0.0
    positive = amounts[amounts > 0]
    low = float(positive.min()) if len(positive) else 0.0
    if spacing == "ratio" and top > low > 0:
        edges = np.geomspace(low, top, bands + 1)
    else:
        edges = np.linspace(0.0, top if top > 0 else 1.0, bands + 1)
    which = np.clip(np.searchsorted(edges, amounts.to_numpy(), side="right") - 1, 0, bands - 1)
    table = pd.DataFrame(
        {
            "band_from": edges[:-1],
            "band_to": edges[1:],
            "assets": np.bincount(which, minlength=bands),
            "value": np.bincount(which, weights=amounts.to_numpy(), minlength=bands),
        }
    )
    words = [f"{a:,.0f}-{b:,.0f}" for a, b in itertools.pairwise(edges)]
    table.insert(2, "band", words)
    if "currency" in values and len(values):
        table.attrs["currency"] = str(values["currency"].iloc[0])
    return table
