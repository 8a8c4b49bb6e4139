"""Policy page: pick a preset or edit the rules; eligibility by category, exclusions, reasons."""

from __future__ import annotations

import streamlit as st

import planner
from app_pages import state, ui

#: Each column of the rules table (`planner.policy_to_table`) and its meaning.
RULE_HELP = {
    "id": "a short unique name, e.g. no-alcohol-schools",
    "type": "ban, exclusion (near sites), density, share (of faces) or period (dates)",
    "categories": "advertiser categories, separated by ';' (e.g. alcohol; gambling)",
    "near": "exclusion: site kinds, separated by ';' (e.g. school; playground)",
    "within_m": "exclusion or density: distance in metres",
    "max_faces": "density: most booked faces within within_m of any booked asset",
    "max_share": "share: most share (0-1) of the faces booked in a cycle",
    "start": "period: first day, e.g. 2027-05-06",
    "end": "period: last day",
    "asset_types": "optional scope: asset types, separated by ';'",
    "digital": "optional scope: true (digital only) or false (classic only)",
}
ALL = "all categories"


def policy_from_table(current: planner.Policy, table) -> planner.Policy:
    """The edited rules table as a policy, keeping the current policy's name and vocabularies."""
    return planner.policy_from_table(
        table,
        name=current.name,
        description=current.description,
        source=current.source,
        categories=current.categories,
        kinds=current.kinds,
    )


def policy_from_toml(text: str) -> planner.Policy:
    return planner.policy_from_text(text, source="policy editor")


def use_policy(policy: planner.Policy, label: str) -> None:
    st.session_state["policy"] = policy
    st.session_state["policy_label"] = label
    st.session_state["policy_rev"] = st.session_state.get("policy_rev", 0) + 1
    st.session_state["policy_flash"] = f"Using {label}: {policy.name} ({len(policy.rules)} rules)."
    st.rerun()


def preset_picker() -> None:
    presets = planner.list_presets()
    in_use = st.session_state.get("policy_label", "").removeprefix("preset ")
    default = in_use if in_use in presets else state.DEMO_POLICY
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    name = left.selectbox(
        "Preset policies",
        presets,
        index=presets.index(default) if default in presets else 0,
        key="preset_choice",
    )
    if right.button("Use this preset", icon=":material/check:"):
        with ui.guard(f"loading the preset {name}") as outcome:
            chosen = planner.load_policy(name)
        if outcome.ok:
            use_policy(chosen, f"preset {name}")


def rule_editors(policy: planner.Policy) -> None:
    rev = st.session_state.get("policy_rev", 0)
    table_tab, toml_tab = st.tabs(["Rules table", "TOML"])
    with table_tab, st.form("rules_form"):
        config = {c: st.column_config.TextColumn(c, help=text) for c, text in RULE_HELP.items()}
        config["type"] = st.column_config.SelectboxColumn(
            "type",
            help=RULE_HELP["type"],
            options=["ban", "exclusion", "density", "share", "period"],
        )
        edited = st.data_editor(
            planner.policy_to_table(policy),
            num_rows="dynamic",
            hide_index=True,
            column_config=config,
            key=f"rules_{rev}",
            width="stretch",
        )
        applied = st.form_submit_button("Apply the rules", icon=":material/check:")
    if applied:
        with ui.guard("checking the rules") as outcome:
            new = policy_from_table(policy, edited)
        if outcome.ok:
            use_policy(new, "edited rules")
    with toml_tab, st.form("toml_form"):
        text = st.text_area(
            "The policy as TOML", planner.policy_to_toml(policy), height=320, key=f"toml_{rev}"
        )
        applied_toml = st.form_submit_button("Apply the TOML", icon=":material/check:")
    if applied_toml:
        with ui.guard("reading the policy") as outcome:
            new = policy_from_toml(text)
        if outcome.ok:
            use_policy(new, "edited TOML")
    ui.download("Download the policy (TOML)", planner.policy_to_toml(policy), "policy.toml")


st.title("Policy")
st.caption(
    "The ethical-use rules: which advertiser categories may not go where or when. Bans and "
    "exclusion zones decide eligibility here; density, share and period rules apply when "
    "planning."
)
message = st.session_state.pop("policy_flash", None)
if message:
    st.success(ui.plain(message), icon=":material/check_circle:")
preset_picker()
current = state.policy()
st.markdown(ui.plain(f"{current.name} — {current.description}"))
if current.source:
    st.caption(ui.plain(f"Source: {current.source}"))
rule_editors(current)

inp = state.inputs()
with ui.guard("checking eligibility") as checked:
    elig = state.eligibility()
    zones = state.exclusion_zones()
if not checked.ok and inp.get("sites") is None:
    st.page_link(
        "app_pages/data.py",
        label="Upload the sensitive sites on the Data page, or choose a preset without "
        "exclusion rules above",
        icon=":material/upload_file:",
    )
if checked.ok:
    st.subheader("Eligibility by category")
    summary = planner.eligibility_summary(elig)
    left, right = st.columns([3, 2])
    left.dataframe(summary, width="stretch")
    right.bar_chart(summary["refused"], y_label="assets refused", horizontal=True)

    refused_first = summary.sort_values("refused", ascending=False).index.astype(str).tolist()
    category = st.selectbox(
        "Category for the map and the reasons",
        [ALL, *refused_first],
        index=1 if refused_first else 0,
        key="policy_category",
    )
    st.subheader("Exclusion map")
    with ui.guard("drawing the exclusion map"), st.spinner("Drawing the exclusion map…"):
        m = planner.asset_map(
            inp.assets,
            sites=inp.get("sites"),
            eligibility=elig,
            exclusion_zones=zones,
            category=None if category == ALL else category,
        )
        ui.show_map(m, key="policy_map")
    st.subheader("Why assets are refused")
    table = planner.refusals(elig, inp.assets, None if category == ALL else category)
    st.caption(f"{len(table):,} refused asset-category pairs.")
    st.dataframe(table, hide_index=True, width="stretch")
    ui.download("Download the reasons (CSV)", table.to_csv(index=False), "refusals.csv")
