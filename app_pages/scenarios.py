"""Scenarios page: save the inputs and plan, reload them, compare two side by side."""

from __future__ import annotations

import math

import altair as alt
import pandas as pd
import streamlit as st

import planner
from app_pages import state, ui


def terms_setting(terms: str | planner.ConcessionTerms) -> str | dict:
    """Preset terms by name; simulated terms as the dict of a terms file (JSON-ready)."""
    return terms if isinstance(terms, str) else planner.terms_to_dict(terms)


def terms_from_setting(value: str | dict) -> str | planner.ConcessionTerms:
    return value if isinstance(value, str) else planner.load_terms(value)


def current_scenario(name: str, note: str) -> planner.Scenario:
    ss = st.session_state
    inp = state.inputs()
    result = ss.get("result")
    fresh = result is not None and result.key == state.inputs_key()
    tables = {k: f for k, f in inp.frames.items() if f is not None}
    tables |= {"campaigns": ss["campaigns"], "locked": ss["locked"]}
    settings = {
        **ss["solve"],
        **ss["targets"],
        "rate_card": ss["pricing"]["rate_card"],
        "terms": terms_setting(ss["pricing"]["terms"]),
        "policy_label": ss.get("policy_label", ""),
        "sources": inp.sources,
    }
    if fresh:
        settings |= result.solve
    return planner.Scenario(
        name=name,
        tables=tables,
        settings=settings,
        policy_toml=state.policy_key(),
        plan=result.plan if fresh else None,
        kpis={"fill_rate": result.plan.fill_rate} if fresh else {},
        note=note,
    )


def restore(sc: planner.Scenario, folder: str) -> None:
    ss = st.session_state
    frames = {k: sc.tables.get(k) for k in state.LAYERS}
    if frames["assets"] is None:
        raise planner.PlannerError(f"Scenario '{sc.name}' has no assets table; it cannot be used")
    sources = sc.settings.get("sources") or {}
    sources = {k: f"scenario '{sc.name}' ({sources.get(k, 'saved')})" for k in state.LAYERS}
    version = state.upload_token("scenario", folder.encode(), sc.name, sc.saved_at)
    policy = planner.policy_from_text(sc.policy_toml, source=f"scenario {sc.name}")
    pricing = {
        "rate_card": sc.settings.get("rate_card", "demo"),
        "terms": terms_from_setting(sc.settings.get("terms", "demo")),
    }
    ss["inputs"] = state.Inputs(frames, sources, version)
    ss["policy"], ss["policy_label"] = policy, f"scenario '{sc.name}'"
    ss["campaigns"] = sc.tables["campaigns"].fillna("").astype(str)
    ss["locked"] = sc.tables.get("locked", ss["locked"]).fillna("").astype(str)
    ss["targets"] = {k: sc.settings.get(k, v) for k, v in ss["targets"].items()}
    ss["solve"] = {k: sc.settings.get(k, v) for k, v in ss["solve"].items()}
    ss["pricing"] = pricing
    for rev in ("policy_rev", "campaigns_rev"):
        ss[rev] = ss.get(rev, 0) + 1
    ss["result"] = None
    if sc.plan is not None:
        ss["result"] = state.Result(
            sc.plan,
            state.audit_plan(sc.plan),
            state.inputs_key(),
            dict(ss["solve"]),
            name=sc.name,
        )


def folder_form() -> str:
    with st.form("folder_form"):
        folder = st.text_input(
            "Scenarios folder (an SQLite file is kept in it)",
            value=st.session_state["store_dir"],
            key="store_dir_input",
        )
        chosen = st.form_submit_button("Use this folder", icon=":material/folder_open:")
    if chosen:
        with ui.guard("opening the scenarios folder") as outcome:
            planner.list_scenarios(folder)
        if outcome.ok:
            st.session_state["store_dir"] = folder
    return st.session_state["store_dir"]


def save_form(folder: str) -> None:
    result = st.session_state.get("result")
    if result is None or result.key != state.inputs_key():
        st.info(
            "No plan for the current inputs: the scenario will hold the inputs only. "
            "Solve on the Plan page first to keep the plan too.",
            icon=":material/info:",
        )
    with st.form("save_form"):
        name = st.text_input("Scenario name", key="scenario_name", max_chars=120)
        note = st.text_input("Note (optional)", key="scenario_note")
        replace = st.checkbox("Replace a scenario of the same name", key="scenario_replace")
        saved = st.form_submit_button("Save scenario", icon=":material/save:")
    if saved:
        with ui.guard("saving the scenario") as outcome:
            kept = planner.save_scenario(folder, current_scenario(name, note), overwrite=replace)
        if outcome.ok:
            st.success(
                ui.plain(f"Saved '{kept.name}' in {planner.store_path(folder)}."),
                icon=":material/check_circle:",
            )


def saved_list(folder: str) -> list[str]:
    table = planner.list_scenarios(folder)
    if table.empty:
        st.info("No scenarios saved in this folder yet.", icon=":material/info:")
        return []
    numbers = table.select_dtypes("number").columns
    config = {c: st.column_config.NumberColumn(c, format="localized") for c in numbers}
    if "fill_rate" in table:
        config["fill_rate"] = st.column_config.NumberColumn("fill_rate", format="percent")
    shown = table.dropna(axis=1, how="all").assign(saved_at=table["saved_at"].map(ui.when))
    st.dataframe(shown, hide_index=True, width="stretch", column_config=config)
    return table["name"].astype(str).tolist()


def reload_or_delete(folder: str, names: list[str]) -> None:
    left, middle, right = st.columns([3, 1, 1], vertical_alignment="bottom")
    name = left.selectbox("Scenario", names, key="scenario_pick")
    if middle.button("Load", icon=":material/upload:"):
        with (
            ui.guard(f"loading the scenario '{name}'") as outcome,
            st.spinner(f"Loading '{name}'…"),
        ):
            restore(planner.load_scenario(folder, name), folder)
        if outcome.ok:
            # Rerun, so that everything above (the save box too) shows the loaded scenario.
            st.session_state["scenarios_flash"] = (
                f"Loaded '{name}': its data, policy, campaigns and plan are in use on every page."
            )
            st.rerun()
    if right.button("Delete", icon=":material/delete:"):
        with ui.guard(f"deleting the scenario '{name}'") as outcome:
            planner.delete_scenario(folder, name)
        if outcome.ok:
            st.rerun()


def shown_value(value: object) -> str:
    """A compared value as text: numbers rounded, missing ones as 'n/a'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"


def compare(folder: str, names: list[str]) -> None:
    ss = st.session_state
    if ss.get("compare_names") != names:
        # Newest as B and the one before as A ("what changed since the last scenario"),
        # chosen again whenever the list changes, so that A and B start different.
        ss["compare_names"] = names
        ss["compare_a"], ss["compare_b"] = names[min(1, len(names) - 1)], names[0]
    left, right = st.columns(2)
    name_a = left.selectbox("Scenario A", names, key="compare_a")
    name_b = right.selectbox("Scenario B", names, key="compare_b")
    if name_a == name_b:
        st.caption("A and B are the same scenario: choose another for one of them.")
    with ui.guard("comparing the scenarios") as outcome:
        a, b = planner.load_scenario(folder, name_a), planner.load_scenario(folder, name_b)
        table = planner.compare_scenarios(a, b)
    if not outcome.ok:
        return
    comparison_chart(a, b)
    shown = table.map(shown_value).rename(columns={"a": f"A: {a.name}", "b": f"B: {b.name}"})
    st.dataframe(shown, hide_index=True, width="stretch")
    for column, sc, key in zip(st.columns(2), (a, b), ("map_a", "map_b"), strict=True):
        with column:
            side(sc, key)


def comparison_chart(a: planner.Scenario, b: planner.Scenario) -> None:
    """Council revenue, gross sales and placements of A and B side by side."""
    rows = [
        {"scenario": f"{side}: {sc.name}", "measure": label, "value": sc.summary.get(key)}
        for side, sc in (("A", a), ("B", b))
        for key, label in (
            ("council_revenue", f"council revenue ({sc.summary.get('currency', '')})"),
            ("sales", f"gross sales ({sc.summary.get('currency', '')})"),
            ("placements", "placements"),
        )
    ]
    data = pd.DataFrame(rows).dropna(subset=["value"])
    if data.empty:
        return
    chart = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("value:Q", title=None, axis=alt.Axis(format=",")),
            y=alt.Y("scenario:N", title=None),
            color=alt.Color("scenario:N", legend=None),
            row=alt.Row("measure:N", title=None),
            tooltip=["scenario", "measure", alt.Tooltip("value:Q", format=",.0f")],
        )
        .properties(height=60)
        .resolve_scale(x="independent")
    )
    st.altair_chart(chart)


def side(sc: planner.Scenario, key: str) -> None:
    st.markdown(f"**{ui.plain(sc.name)}**")
    if sc.plan is None or "assets" not in sc.tables:
        st.caption("Inputs only: no plan saved.")
        return
    placements = sc.plan.placements
    placements = placements.assign(campaign_name=placements.get("advertiser", ""))
    with ui.guard("drawing the map"):
        ui.show_map(
            planner.asset_map(sc.tables["assets"], placements=placements, color_by="campaign"),
            key=key,
            height=380,
        )
    st.dataframe(pd.DataFrame(sc.plan.campaigns), hide_index=True, width="stretch")


st.title("Scenarios")
st.caption(
    "Keep a plan with everything it was made from (data, policy, campaigns, targets, "
    "settings), reload it later, and compare two side by side. Saves are all-or-nothing."
)
message = st.session_state.pop("scenarios_flash", None)
if message:
    st.success(ui.plain(message), icon=":material/check_circle:")
store = folder_form()
st.subheader("Save the current scenario")
save_form(store)
st.subheader("Saved scenarios")
with ui.guard("reading the scenarios folder") as listed:
    saved = saved_list(store)
if listed.ok and saved:
    reload_or_delete(store, saved)
    st.subheader("Compare two scenarios")
    compare(store, saved)
