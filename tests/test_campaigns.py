"""Campaigns table: every column, the cycle and area forms, and one error per kind of bad row."""

from __future__ import annotations

import pandas as pd
import pytest

from planner.campaigns import CAMPAIGN_COLUMNS, Area, Campaign, parse_campaigns
from planner.errors import CampaignError


def row(**overrides: object) -> dict[str, object]:
    """A valid campaigns row, with ``overrides`` replacing or adding columns."""
    base: dict[str, object] = {
        "campaign_id": "C1",
        "advertiser": "Acme",
        "category": "general",
        "budget": 5000,
        "cycles": "1-2",
        "min_faces": 2,
        "max_faces": 10,
    }
    base.update(overrides)
    return base


def error_of(*rows: dict[str, object], **options: object) -> str:
    with pytest.raises(CampaignError) as info:
        parse_campaigns(list(rows), **options)
    return str(info.value)


def test_every_column_is_read() -> None:
    [campaign] = parse_campaigns(
        [
            row(
                budget="£5,000.50",
                cycles="3",
                min_faces="1",
                max_faces="4",
                formats="6-sheet; D6",
                asset_types="Bus_Shelter,kiosk",
                digital="Only",
                area="wards:Soho;Mayfair",
                competitor_group="banks",
                min_spacing_m="150",
                priority="3",
                category="Alcohol",
            )
        ]
    )
    assert campaign == Campaign(
        campaign_id="C1",
        advertiser="Acme",
        category="alcohol",
        budget=5000.5,
        cycles=(3,),
        min_faces=1,
        max_faces=4,
        formats=("6-sheet", "d6"),
        asset_types=("bus_shelter", "kiosk"),
        digital="only",
        area=Area(wards=("Soho", "Mayfair")),
        competitor_group="banks",
        min_spacing_m=150.0,
        priority=3,
    )


def test_optional_columns_take_their_defaults() -> None:
    [campaign] = parse_campaigns(
        pd.DataFrame([row(advertiser="", min_faces=None, digital="", area="")])
    )
    assert campaign.advertiser == "C1"
    assert campaign.min_faces == 0
    assert campaign.digital == "any"
    assert campaign.area.is_anywhere
    assert campaign.formats == campaign.asset_types == ()
    assert campaign.competitor_group == ""
    assert campaign.min_spacing_m == 0.0
    assert campaign.priority == 1


def test_column_names_are_matched_without_case_or_spaces() -> None:
    table = pd.DataFrame([row()]).rename(columns=lambda c: f" {c.upper()} ")
    assert parse_campaigns(table)[0].campaign_id == "C1"


def test_every_column_is_documented() -> None:
    required = {c for c, (needed, _) in CAMPAIGN_COLUMNS.items() if needed}
    assert required == {
        "campaign_id",
        "advertiser",
        "category",
        "budget",
        "cycles",
        "min_faces",
        "max_faces",
    }
    assert all(text for _, text in CAMPAIGN_COLUMNS.values())


@pytest.mark.parametrize(
    ("text", "cycles"),
    [
        ("3", (3,)),
        (3, (3,)),
        ("3-4", (3, 4)),
        ("1;5;9", (1, 5, 9)),
        ("1-3;7", (1, 2, 3, 7)),
        ("9;1;5;5", (1, 5, 9)),
    ],
)
def test_cycle_forms(text: object, cycles: tuple[int, ...]) -> None:
    assert parse_campaigns([row(cycles=text)])[0].cycles == cycles


@pytest.mark.parametrize(
    ("text", "area"),
    [
        ("wards:A;B", Area(wards=("A", "B"))),
        ("Ward: Soho ", Area(wards=("Soho",))),
        ("circle:-0.1276,51.5072,800", Area(lon=-0.1276, lat=51.5072, radius_m=800.0)),
        ("CIRCLE: 24.94, 60.17, 250.5", Area(lon=24.94, lat=60.17, radius_m=250.5)),
        ("", Area()),
    ],
)
def test_area_forms(text: str, area: Area) -> None:
    assert parse_campaigns([row(area=text)])[0].area == area


def test_categories_come_from_the_policy() -> None:
    [campaign] = parse_campaigns([row(category="crypto")], categories=("general", "crypto"))
    assert campaign.category == "crypto"
    assert "'crypto' is not a known category" in error_of(row(category="crypto"))


@pytest.mark.parametrize(
    ("column", "value", "words"),
    [
        ("budget", -1, "-1 is not allowed"),
        ("budget", "lots", "'lots' is not a number"),
        ("budget", "", "is empty"),
        ("cycles", "0", "cycle 0 is outside 1-260"),
        ("cycles", "300", "cycle 300 is outside 1-260"),
        ("cycles", "4-2", "ends before it starts"),
        ("cycles", "soon", "'soon' is not a cycle number"),
        ("category", "weapons", "'weapons' is not a known category"),
        ("min_faces", "two", "'two' is not a number"),
        ("min_faces", 1.5, "not a whole number"),
        ("max_faces", 0, "0 is not allowed"),
        ("digital", "sometimes", "'sometimes' must be only, never or any"),
        ("area", "polygon:1,2,3", "is not an area"),
        ("area", "circle:-0.1,51.5", "is not an area"),
        ("area", "circle:-0.1,95,100", "is not an area"),
        ("area", "circle:-0.1,51.5,-5", "is not an area"),
        ("area", "wards:", "is not an area"),
        ("min_spacing_m", -10, "is not allowed; use a number of at least 0"),
        ("priority", 0, "0 is not allowed"),
        ("campaign_id", "", "is empty"),
    ],
)
def test_a_bad_value_names_its_row_and_column(column: str, value: object, words: str) -> None:
    message = error_of(row(campaign_id="C0"), row(**{column: value}), source="bookings.csv")
    assert message.startswith("bookings.csv: 1 problem(s)")
    assert f"row 3, column '{column}'" in message
    assert words in message


def test_min_above_max_names_the_row() -> None:
    message = error_of(row(min_faces=5, max_faces=4))
    assert "row 2, column 'min_faces': min_faces (5) is above max_faces (4)" in message


def test_duplicate_id_names_the_repeated_row() -> None:
    message = error_of(row(campaign_id="C1"), row(campaign_id="C2"), row(campaign_id="C1"))
    assert "row 4, column 'campaign_id': 'C1' is used by more than one campaign" in message
    assert "row 2" not in message


def test_duplicate_id_row_is_right_after_a_bad_row() -> None:
    message = error_of(row(campaign_id="C1"), row(campaign_id="C2", budget=-5), row())
    assert "row 3, column 'budget'" in message
    assert "row 4, column 'campaign_id': 'C1' is used by more than one campaign" in message


def test_every_problem_is_listed_at_once() -> None:
    message = error_of(row(budget=-1, digital="maybe"), row(), row(cycles="0", category="x"))
    assert message.startswith("campaigns: 6 problem(s)")
    assert message.count("\n  - ") == 6
    for where in (
        "row 2, column 'budget'",
        "row 2, column 'digital'",
        "row 3, column 'campaign_id'",
        "row 4, column 'cycles'",
        "row 4, column 'category'",
        "row 4, column 'campaign_id'",
    ):
        assert where in message


def test_missing_columns_are_named() -> None:
    table = pd.DataFrame([row()]).drop(columns=["budget", "max_faces"])
    with pytest.raises(CampaignError, match=r"missing column\(s\) budget, max_faces"):
        parse_campaigns(table)


def test_an_empty_table_is_an_error() -> None:
    with pytest.raises(CampaignError, match="no campaigns"):
        parse_campaigns(pd.DataFrame(columns=list(row())))


def test_first_row_and_max_cycle_are_options() -> None:
    message = error_of(row(cycles="27"), first_row=10, max_cycle=26)
    assert "row 10, column 'cycles': cycle 27 is outside 1-26" in message
