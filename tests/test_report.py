"""The booking sheet and the chart tables of `planner.report`, and the booking sheet's files."""

from __future__ import annotations

import csv
from datetime import date

import openpyxl
import pandas as pd
import pytest
from conftest import _campaign, make_assets, make_zones

import planner
from planner.errors import PlannerError
from planner.io.writers import write_booking_sheet
from planner.optimise.settings import SolverSettings
from planner.plan import plan
from planner.policy.load import Policy
from planner.report import (
    BOOKING_COLUMNS,
    booking_sheet,
    plan_by_campaign,
    plan_by_cycle,
    value_bands,
)

FAST = SolverSettings(time_limit=2)
ROW = [(0, 0), (300, 0), (600, 0)]


@pytest.fixture(scope="module")
def planned():
    """Three named assets, two campaigns over cycles 1-2 and 3: every face booked."""
    assets = make_assets(
        ROW,
        price=[10.0, 20.0, 30.0],
        impacts=[100.0, 200.0, 300.0],
        name=["High St", "=HYPERLINK(1)", "Park Rd"],
        asset_type=["bus_shelter", "billboard", "kiosk"],
        format=["6-sheet", "48-sheet", "6-sheet"],
        ward=["North", "South", "South"],
    )
    camps = [
        _campaign("C1", advertiser="Harbour Bank", cycles=(1, 2), min_faces=3, max_faces=3),
        _campaign("C2", advertiser="Kallio Café", cycles=(3,), min_faces=1, max_faces=1),
    ]
    zones = make_zones([(0, 50), (600, 50)], population=[1000.0, 500.0])
    return assets, plan(assets, camps, Policy("open"), zones=zones, solver=FAST)


def test_booking_sheet_has_one_row_per_face_and_cycle_with_dates(planned):
    assets, result = planned
    sheet = booking_sheet(result, assets)
    assert list(sheet.columns) == list(BOOKING_COLUMNS)
    assert len(sheet) == len(result.placements) == 7
    first = sheet.iloc[0]
    assert (first["cycle"], first["cycle_start"], first["cycle_end"]) == (
        1,
        date(2027, 1, 4),
        date(2027, 1, 17),
    )
    park = sheet[sheet["asset_id"] == "A2"].iloc[0]
    assert (park["name"], park["asset_type"], park["format"], park["ward"]) == (
        "Park Rd",
        "kiosk",
        "6-sheet",
        "South",
    )
    assert sheet["cycle"].is_monotonic_increasing
    assert sheet.attrs["currency"] == result.currency == sheet["currency"].iloc[0]
    assert sheet["price"].sum() == pytest.approx(result.sales)


def test_booking_sheet_refuses_assets_the_plan_was_not_made_from(planned):
    assets, result = planned
    with pytest.raises(PlannerError, match=r"not in the assets given \(A2\)"):
        booking_sheet(result, assets[assets["asset_id"] != "A2"])


def test_booking_sheet_excel_is_ready_to_send(planned, tmp_path):
    assets, result = planned
    path = write_booking_sheet(booking_sheet(result, assets), tmp_path / "booking.xlsx")
    ws = openpyxl.load_workbook(path).active
    header = [c.value for c in ws[1]]
    assert header == list(BOOKING_COLUMNS) and ws.freeze_panes == "A2"
    assert all(c.font.bold for c in ws[1]) and ws.auto_filter.ref
    col = {name: i + 1 for i, name in enumerate(header)}
    price = ws.cell(row=2, column=col["price"])
    assert price.number_format == f'#,##0.00 "{result.currency}"'
    start = ws.cell(row=2, column=col["cycle_start"])
    assert start.number_format == "yyyy-mm-dd" and start.value.date() == date(2027, 1, 4)
    assert ws.cell(row=2, column=col["impacts"]).number_format == "#,##0"
    name_width = ws.column_dimensions[openpyxl.utils.get_column_letter(col["name"])].width
    assert name_width >= len("=HYPERLINK(1)")
    formula = next(ws.cell(row=r, column=col["name"]) for r in range(2, 9)
                   if ws.cell(row=r, column=col["name"]).value == "=HYPERLINK(1)")  # fmt: skip
    assert formula.data_type == "s"  # text, never a live formula


def test_booking_sheet_csv_keeps_formulas_as_text(planned, tmp_path):
    assets, result = planned
    path = write_booking_sheet(booking_sheet(result, assets), tmp_path / "booking.csv")
    with path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert rows[0]["cycle_start"] == "2027-01-04"
    assert "'=HYPERLINK(1)" in {r["name"] for r in rows}
    with pytest.raises(PlannerError, match=r"use \.xlsx or \.csv"):
        write_booking_sheet(booking_sheet(result, assets), tmp_path / "booking.gpkg")


def test_plan_by_cycle_and_by_campaign_add_up_to_the_plan(planned):
    _, result = planned
    cycles = plan_by_cycle(result)
    assert cycles.groupby("cycle")["faces"].sum().to_dict() == {1: 3, 2: 3, 3: 1}
    assert cycles["sales"].sum() == pytest.approx(result.sales)
    assert cycles["impacts"].sum() == result.impacts
    assert cycles.loc[cycles["cycle"] == 3, "campaign"].tolist() == ["C2 Kallio Café"]
    campaigns = plan_by_campaign(result).set_index("campaign_id")
    assert campaigns.loc["C1", "faces_booked"] == 6
    assert 0 < campaigns.loc["C1", "reach"] <= result.universe


def test_value_bands_count_every_asset_once():
    values = pd.DataFrame({"annual_value_central": [0.0, 50.0, 150.0, 1000.0], "currency": "GBP"})
    bands = value_bands(values, bands=4, spacing="equal")
    assert bands["assets"].tolist() == [3, 0, 0, 1]
    assert bands["value"].sum() == 1200.0 and bands["band"].iloc[-1] == "750-1,000"
    assert bands.attrs["currency"] == "GBP"
    # By ratio: 50 to 1,000 in 4 bands, each x2.11; 0 goes to the first.
    ratio = value_bands(values, bands=4)
    assert ratio["band"].tolist() == ["50-106", "106-224", "224-473", "473-1,000"]
    assert ratio["assets"].tolist() == [2, 1, 0, 1]
    with pytest.raises(PlannerError, match="no 'price' column"):
        value_bands(values, column="price")
    with pytest.raises(PlannerError, match="spacing='log' is not valid"):
        value_bands(values, spacing="log")


def test_the_report_is_public():
    for name in ("booking_sheet", "plan_by_cycle", "plan_by_campaign", "value_bands",
                 "write_booking_sheet"):  # fmt: skip
        assert name in planner.__all__
