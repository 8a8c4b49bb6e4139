"""Small UI helpers shared by the pages: safe text, errors in place, maps and downloads."""

from __future__ import annotations

import contextlib
import copy
import logging
import math
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import folium
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

import planner

LOG = logging.getLogger("planner.app")
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:])")
_MIME = {
    ".gpkg": "application/geopackage+sqlite3",
    ".geojson": "application/geo+json",
    ".csv": "text/csv",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".html": "text/html",
    ".toml": "application/toml",
}


def plain(text: object) -> str:
    """Text shown literally by Streamlit's markdown (user text never becomes markup).

    Examples
    --------
    >>> plain("**x** <b>")
    '\\\\*\\\\*x\\\\*\\\\* \\\\<b\\\\>'
    """
    lines = str(text).splitlines() or [""]
    return "  \n".join(_MARKDOWN.sub(r"\\\1", line) for line in lines)


@dataclass
class Outcome:
    """Whether a guarded block finished without an error, and whether every error was in a
    row of its own (so dropping invalid rows would load the rest)."""

    ok: bool = True
    rows_only: bool = False


@contextlib.contextmanager
def guard(action: str, *, controls: dict[str, str] | None = None) -> Iterator[Outcome]:
    """Show a planner error where it happened, never a traceback.

    A `planner.PlannerError` is shown as its plain message (with the problem table of a
    `DataValidationError`); with ``controls`` (``{loader keyword: control label}``) its
    hints name the form's controls instead of Python keywords (`planner.for_form`).
    Anything else gets a friendly message and goes to the log. Streamlit's own control
    flow (reruns, stops) passes through.
    """
    outcome = Outcome()
    words = (lambda text: planner.for_form(text, controls)) if controls else str
    try:
        yield outcome
    except planner.DataValidationError as exc:
        outcome.ok = False
        errors = [p for p in exc.problems if p.severity == "error"]
        outcome.rows_only = bool(errors) and all(p.where for p in errors)
        # Dropping rows cannot help when every row is bad (the loader refuses that too).
        outcome.rows_only &= getattr(getattr(exc, "report", None), "rows_valid", 1) > 0
        st.error(plain(f"{action.capitalize()} failed: {words(str(exc))}"), icon=":material/error:")
        problems_table(exc.problems, words)
    except planner.PlannerError as exc:
        outcome.ok = False
        st.error(plain(f"{action.capitalize()} failed: {words(str(exc))}"), icon=":material/error:")
    except Exception:
        outcome.ok = False
        LOG.exception("unexpected error while %s", action)
        st.error(
            f"Something unexpected went wrong while {plain(action)}. The details are in the "
            "app's log; please try again or report it.",
            icon=":material/error:",
        )


def problems_table(problems: list[planner.Problem], words: Callable[[str], str] = str) -> None:
    """Every validation problem as a full-width table: where, what was found, how to fix it.

    ``words`` rewrites each text for the page (e.g. naming the form's controls).
    """
    if not problems:
        return
    rows = [
        {
            "severity": p.severity,
            "where": p.where or "whole file",
            "column": p.column,
            "found": words(p.found),
            "how to fix": words(p.fix),
        }
        for p in problems
    ]
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        width="stretch",
        column_config={
            "found": st.column_config.TextColumn("found", width="large"),
            "how to fix": st.column_config.TextColumn("how to fix", width="large"),
        },
    )


def report_box(report: planner.ValidationReport | None, source: str) -> None:
    """A layer's validation report in plain words, problems listed in a table."""
    if report is None:
        st.caption(plain(f"{source}: no validation report (read by the OpenStreetMap importer)"))
        return
    errors, warnings = len(report.errors), len(report.warnings)
    dropped = report.rows_read - report.rows_valid
    words = f"{report.rows_read:,} rows read, {report.rows_valid:,} usable"
    words += f" ({dropped:,} dropped)" if dropped else ""
    if not errors and not warnings:
        words += "; no problems found."
    else:
        words += f"; {errors} error(s) and {warnings} warning(s) listed below."
    st.markdown(plain(f"{report.source} (CRS {report.crs or 'unknown'}): {words}"))
    problems_table(report.problems)


def show_map(m: folium.Map, *, key: str, height: int = 520) -> None:
    """A Folium map whose panning and zooming never rerun the page (nothing is returned).

    streamlit-folium renames the map's elements as it draws them, so it draws a copy:
    ``m`` can still be exported (`map_bytes`) with one legend and one layer control.
    """
    st_folium(
        copy.deepcopy(m), key=key, height=height, use_container_width=True, returned_objects=[]
    )


#: Currency symbols shown before amounts; other currencies show their ISO code.
SYMBOLS = {"EUR": "€", "GBP": "£", "USD": "$"}


def money(value: float | None, currency: str, *, short: bool = False) -> str:
    """``€12,345`` or ``CHF 12,345`` (``€1.2M`` with ``short``); ``n/a`` when missing.

    Examples
    --------
    >>> money(14_881_991.4, "EUR", short=True)
    '€14.9M'
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    sign, amount = ("-" if value < 0 else ""), abs(float(value))
    number = f"{amount / 1e6:,.1f}M" if short and amount >= 1e6 else f"{amount:,.0f}"
    symbol = SYMBOLS.get(currency)
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{currency} {number}"


def money_format(currency: str) -> str:
    """A `st.column_config.NumberColumn` format for amounts: ``€%,.0f`` style (printf)."""
    symbol = SYMBOLS.get(currency)
    return f"{symbol}%,.0f" if symbol else f"%,.0f {currency}"


def progress_words(message: str) -> str:
    """A solver's progress line in words: its objective is in minor units, not money.

    Examples
    --------
    >>> progress_words("solution 1,234,500 (bound 1,300,000)")
    'found a plan, looking for a better one'
    """
    if message.startswith("solution"):
        return "found a plan, looking for a better one"
    return message


def percent(fraction: float | None, digits: int = 1) -> str:
    """``75.0%`` from 0.75; ``n/a`` when missing."""
    if fraction is None or (isinstance(fraction, float) and math.isnan(fraction)):
        return "n/a"
    return f"{100 * fraction:.{digits}f}%"


def when(iso: str) -> str:
    """An ISO timestamp (UTC) as a date and time people read: ``30 Nov 2026, 06:15 UTC``."""
    stamp = pd.to_datetime(iso, errors="coerce", utc=True)
    return iso if pd.isna(stamp) else stamp.strftime("%d %b %Y, %H:%M UTC")


def layer_bytes(layers: dict[str, pd.DataFrame], suffix: str) -> bytes:
    """Tables written by `planner.write_layers` to a temporary file, as bytes."""
    with tempfile.TemporaryDirectory(prefix="planner-download-") as tmp:
        path = planner.write_layers(layers, Path(tmp) / f"export{suffix}")
        return path.read_bytes()


def map_bytes(m: folium.Map) -> bytes:
    """A map as one standalone HTML file (its libraries inlined)."""
    return planner.map_html(m).encode("utf-8")


def download(label: str, data: Callable[[], bytes] | bytes | str, file_name: str) -> None:
    """A download button; ``data`` may be a function, run only when the user clicks."""
    st.download_button(
        label,
        data=data,
        file_name=file_name,
        mime=_MIME.get(Path(file_name).suffix, "application/octet-stream"),
        on_click="ignore",
        icon=":material/download:",
    )


def table_downloads(layers: dict[str, pd.DataFrame], stem: str, *, key: str) -> None:
    """GeoPackage, GeoJSON, CSV and Excel downloads of ``layers`` (first layer for one-table
    formats), written only when clicked."""
    columns = st.columns(4)
    for column, (label, suffix) in zip(
        columns,
        (("GeoPackage", ".gpkg"), ("GeoJSON", ".geojson"), ("CSV", ".csv"), ("Excel", ".xlsx")),
        strict=True,
    ):
        with column:
            st.download_button(
                label,
                data=lambda s=suffix: layer_bytes(layers, s),
                file_name=f"{stem}{suffix}",
                mime=_MIME[suffix],
                on_click="ignore",
                icon=":material/download:",
                key=f"{key}{suffix}",
            )


def without_geometry(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy for `st.dataframe` (which cannot show shapes), geometry dropped."""
    if "geometry" in frame.columns:
        return pd.DataFrame(frame.drop(columns="geometry"))
    return frame
