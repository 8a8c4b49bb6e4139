"""Small UI helpers shared by the pages: safe text, errors in place, maps and downloads."""

from __future__ import annotations

import contextlib
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
    """Whether a guarded block finished without an error."""

    ok: bool = True


@contextlib.contextmanager
def guard(action: str) -> Iterator[Outcome]:
    """Show a planner error where it happened, never a traceback.

    A `planner.PlannerError` is shown as its plain message (with the problem table of a
    `DataValidationError`); anything else gets a friendly message and goes to the log.
    Streamlit's own control flow (reruns, stops) passes through.
    """
    outcome = Outcome()
    try:
        yield outcome
    except planner.DataValidationError as exc:
        outcome.ok = False
        st.error(plain(f"{action.capitalize()} failed: {exc}"), icon=":material/error:")
        problems_table(exc.problems)
    except planner.PlannerError as exc:
        outcome.ok = False
        st.error(plain(f"{action.capitalize()} failed: {exc}"), icon=":material/error:")
    except Exception:
        outcome.ok = False
        LOG.exception("unexpected error while %s", action)
        st.error(
            f"Something unexpected went wrong while {plain(action)}. The details are in the "
            "app's log; please try again or report it.",
            icon=":material/error:",
        )


def problems_table(problems: list[planner.Problem]) -> None:
    """Every validation problem as a table: where, what was found, how to fix it."""
    if not problems:
        return
    rows = [
        {
            "severity": p.severity,
            "where": p.where or "whole file",
            "column": p.column,
            "found": p.found,
            "how to fix": p.fix,
        }
        for p in problems
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


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
    """A Folium map whose panning and zooming never rerun the page (nothing is returned)."""
    st_folium(m, key=key, height=height, use_container_width=True, returned_objects=[])


def money(value: float, currency: str) -> str:
    """``EUR 12,345`` (or ``n/a`` when the value is missing)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{currency} {value:,.0f}"


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
