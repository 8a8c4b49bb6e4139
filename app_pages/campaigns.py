"""Campaigns page: the campaigns table (edit or upload), revenue target, locked placements."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import planner
from app_pages import state, ui


def read_campaigns_csv(name: str, data: bytes) -> pd.DataFrame:
    """An uploaded campaigns CSV as text cells; `planner.CampaignError` when unreadable.

    Headings are lower-cased so that the editor's column help finds them.
    """
    table = planner.read_campaigns_table(data, filename=name)
    table.columns = [str(c).strip().lower() for c in table.columns]
    return table


def bump(flash: str) -> None:
    st.session_state["campaigns_rev"] = st.session_state.get("campaigns_rev", 0) + 1
    st.session_state["campaigns_flash"] = flash
    st.rerun()


def upload_form() -> None:
    with st.form("campaigns_upload"):
        file = st.file_uploader(
            "Campaigns CSV (replaces the table)", type=["csv"], key="file_campaigns"
        )
        submitted = st.form_submit_button("Load campaigns", icon=":material/upload:")
    if submitted and file is None:
        st.warning("Choose a campaigns CSV first.")
    elif submitted:
        # Checked before it replaces anything: a bad file never costs the good table.
        with ui.guard(f"reading {file.name}") as outcome:
            table = read_campaigns_csv(file.name, file.getvalue())
            planner.parse_campaigns(table, categories=state.policy().categories, source=file.name)
        if outcome.ok:
            st.session_state["campaigns"] = table
            bump(f"Loaded {len(table)} campaign row(s) from {file.name}.")
        else:
            kept = len(st.session_state["campaigns"])
            st.info(
                f"Nothing was replaced: the {kept} campaign(s) below are still the ones in use. "
                "Fix the file and load it again.",
                icon=":material/info:",
            )


def editor() -> None:
    rev = st.session_state.get("campaigns_rev", 0)
    helps = state.campaign_help()
    table = st.session_state["campaigns"]
    config = {c: st.column_config.TextColumn(c, help=helps.get(c, "")) for c in table.columns}
    with st.form("campaigns_form"):
        edited = st.data_editor(
            table,
            num_rows="dynamic",
            hide_index=True,
            column_config=config,
            key=f"campaigns_{rev}",
            width="stretch",
        )
        applied = st.form_submit_button("Apply changes", icon=":material/check:")
    if applied:
        st.session_state["campaigns"] = edited.fillna("").astype(str)
        bump("Campaigns updated.")
    with ui.guard("checking the campaigns") as outcome:
        camps = state.campaigns()
    if outcome.ok:
        budget = sum(c.budget for c in camps)
        with ui.guard("reading the rate card") as priced:
            currency = state.rate_card().currency
        total = ui.money(budget, currency) if priced.ok else f"{budget:,.0f}"
        st.success(
            f"{len(camps)} campaigns ready to plan, {total} of budget in all.",
            icon=":material/check_circle:",
        )
    ui.download("Download the campaigns (CSV)", table.to_csv(index=False), "campaigns.csv")


def targets_form() -> None:
    targets = st.session_state["targets"]
    with ui.guard("reading the rate card") as priced:
        currency = state.rate_card().currency
    if not priced.ok:
        currency = ""
    with st.form("targets_form"):
        left, middle, right = st.columns(3)
        revenue = left.number_input(
            f"Council revenue target {currency}".strip(),
            min_value=0.0,
            step=1000.0,
            value=float(targets["revenue_target"]),
            key="revenue_target",
            help="Least council revenue share the plan must earn (0: no target)",
        )
        separation = middle.number_input(
            "Competitor separation (m)",
            min_value=0.0,
            step=25.0,
            value=float(targets["competitor_separation_m"]),
            key="competitor_separation",
            help="Campaigns of one competitor group stay this far apart in a cycle",
        )
        walk = right.number_input(
            "Walking distance for reach (m)",
            min_value=50.0,
            step=50.0,
            value=float(targets["walk_m"]),
            key="walk_m",
            help="A zone is reached when a face is within this distance of it",
        )
        skip = st.checkbox(
            "Leave out campaigns that cannot be placed at all (and say so)",
            value=bool(targets["skip_unplaceable"]),
            key="skip_unplaceable",
        )
        saved = st.form_submit_button("Save targets", icon=":material/check:")
    if saved:
        st.session_state["targets"] = {
            "revenue_target": revenue,
            "competitor_separation_m": separation,
            "walk_m": walk,
            "skip_unplaceable": skip,
        }
        bump("Targets saved.")


def locked_editor() -> None:
    rev = st.session_state.get("campaigns_rev", 0)
    result = st.session_state.get("result")
    with st.form("locked_form"):
        edited = st.data_editor(
            st.session_state["locked"],
            num_rows="dynamic",
            hide_index=True,
            key=f"locked_{rev}",
            width="stretch",
        )
        applied = st.form_submit_button("Apply locked placements", icon=":material/lock:")
    if applied:
        st.session_state["locked"] = edited.fillna("").astype(str)
        bump("Locked placements updated.")
    has_plan = result is not None and len(result.plan.placements) > 0
    if has_plan and st.button("Lock every placement of the current plan", icon=":material/lock:"):
        placements = result.plan.placements[list(state.LOCKED_COLUMNS)]
        st.session_state["locked"] = placements.drop_duplicates().astype(str)
        bump(f"Locked {len(placements):,} placements of the current plan.")


st.title("Campaigns")
st.caption(
    "What agencies want to book: one row per campaign, with its category, budget, cycles "
    "(2-week periods such as 1-4 or 1;3) and how many faces per cycle. Hover a column "
    "heading for its meaning."
)
message = st.session_state.pop("campaigns_flash", None)
if message:
    st.success(ui.plain(message), icon=":material/check_circle:")
upload_form()
editor()

st.subheader("Targets")
targets_form()

st.subheader("Locked placements")
st.caption("Placements the plan must keep (asset_id, campaign_id, cycle); checked when solving.")
locked_editor()
