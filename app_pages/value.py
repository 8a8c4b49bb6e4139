"""Value page: modelled asset values, a concession-terms simulator, what each rule costs."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

import planner
from app_pages import state, ui

SIMULATED = "simulated terms (from the simulator below)"
VALUE_COLUMNS = [
    "asset_id",
    "name",
    "asset_type",
    "format",
    "faces",
    "digital",
    "weekly_impacts",
    "impacts_source",
    "price_per_cycle",
    "price_source",
    "annual_value_low",
    "annual_value_central",
    "annual_value_high",
    "council_income_central",
    "value_out_of_reach_central",
]


def position(options: list[str], value: object) -> int:
    return options.index(value) if value in options else 0


def pricing_form() -> None:
    pricing = st.session_state["pricing"]
    cards, deals = state.builtin_names("rates"), state.builtin_names("terms")
    custom = not isinstance(pricing["terms"], str)
    deal_options = [*deals, SIMULATED] if custom else deals
    with st.form("pricing_form"):
        left, right = st.columns(2)
        card = left.selectbox(
            "Rate card", cards, key="rate_card_choice", index=position(cards, pricing["rate_card"])
        )
        deal = right.selectbox(
            "Concession terms",
            deal_options,
            key="terms_choice",
            index=len(deals) if custom else position(deals, pricing["terms"]),
        )
        chosen = st.form_submit_button("Use these prices and terms", icon=":material/check:")
    if chosen:
        with ui.guard("changing the prices and terms") as outcome:
            terms = pricing["terms"] if deal == SIMULATED else deal
            planner.check_currency(card, terms)
        if outcome.ok:
            st.session_state["pricing"] = {"rate_card": card, "terms": terms}
            st.rerun()


def portfolio(values: pd.DataFrame) -> dict:
    summary = planner.portfolio_summary(values, state.terms())
    cur = summary["currency"]
    cols = st.columns(4)
    cols[0].metric("Assets / faces", f"{summary['assets']:,} / {summary['faces']:,}")
    for col, s in zip(cols[1:], ("low", "central", "high"), strict=True):
        col.metric(
            f"Council income a year ({s})",
            ui.money(summary[f"council_income_{s}"], cur, short=True),
            help=f"{ui.money(summary[f'council_income_{s}'], cur)} a year to the council "
            f"({s} estimate); annual media value {ui.money(summary[f'annual_value_{s}'], cur)}; "
            f"expected net sales {ui.money(summary[f'expected_sales_{s}'], cur)}",
        )
    note = str(summary["note"]).replace("(assumptions_table)", "(listed below the table)")
    st.caption(
        ui.plain(
            f"Modelled estimates ({summary['impacts_modelled']:,} audiences modelled, "
            f"{summary['impacts_measured']:,} measured): {note}. "
            f"Prices in {cur}; terms: {summary['terms']}."
        )
    )
    return summary


def value_charts(values: pd.DataFrame) -> None:
    """The value map (assets coloured by annual value) and the spread of values."""
    cur = str(values["currency"].iloc[0]) if "currency" in values and len(values) else ""
    left, right = st.columns([3, 2])
    with left, ui.guard("drawing the value map"), st.spinner("Drawing the value map…"):
        m = planner.asset_map(values, values=values, color_by="value")
        ui.show_map(m, key="value_map", height=460)
    bands = planner.value_bands(values)
    chart = (
        alt.Chart(bands)
        .mark_bar(color="#fd8d3c")
        .encode(
            x=alt.X(
                "band:N",
                sort=None,
                title=f"annual media value per asset ({cur} a year)",
                axis=alt.Axis(labelAngle=-35),
            ),
            y=alt.Y("assets:Q", title="assets", axis=alt.Axis(format=",.0f")),
            tooltip=[
                alt.Tooltip("band:N", title=f"value ({cur} a year)"),
                alt.Tooltip("assets:Q", title="assets", format=","),
                alt.Tooltip("value:Q", title=f"their value ({cur} a year)", format=",.0f"),
            ],
        )
        .properties(height=420, title="How the assets' annual value is spread (central)")
    )
    right.altair_chart(chart, width="stretch")
    right.caption(
        "Each bar counts the assets whose central annual media value falls in the band; each "
        "band's top is the same multiple of its bottom, as in the map's colour classes."
    )


def valuation_table(values: pd.DataFrame) -> None:
    shown = ui.without_geometry(values)[[c for c in VALUE_COLUMNS if c in values.columns]]
    numbers = [
        c
        for c in shown.columns
        if c.startswith(("annual_", "council_", "value_", "price_", "weekly_"))
    ]
    cur = str(values["currency"].iloc[0]) if "currency" in values and len(values) else ""
    money_columns = [c for c in numbers if not c.startswith("weekly_")]
    config = {c: st.column_config.NumberColumn(c, format="localized") for c in numbers}
    config |= {
        c: st.column_config.NumberColumn(c, format=ui.money_format(cur)) for c in money_columns
    }
    st.dataframe(shown.round(0), hide_index=True, width="stretch", column_config=config)
    p = st.session_state["pricing"]
    assumptions = planner.assumptions_table(rate_card=p["rate_card"], terms=p["terms"])
    with st.expander("The assumptions behind these figures"):
        st.dataframe(assumptions.astype({"value": str}), hide_index=True, width="stretch")
    layers = {"values": values, "assumptions": assumptions}
    ui.table_downloads(layers, "asset-values", key="values")


def terms_from(
    currency: str, bands: pd.DataFrame, guarantee: float, fee: float, indexation: float
) -> planner.ConcessionTerms:
    """Terms from the simulator's inputs, checked by `planner.terms_from_dict`."""
    rows = bands.dropna(how="all")[["from", "share"]].astype(float)
    return planner.terms_from_dict(
        {
            "name": "Simulated terms",
            "currency": currency,
            "revenue_share": [
                {"from": start, "share": share} for start, share in rows.itertuples(index=False)
            ],
            "minimum_annual_guarantee": float(guarantee),
            "fixed_annual_fee": float(fee),
            "indexation": float(indexation),
        }
    )


SIM_KEYS = ("sim_bands", "sim_guarantee", "sim_fee", "sim_index", "sim_year", "sim_sales", "sim")


def simulator(sales_default: float) -> None:
    base = state.terms()
    # Other terms chosen (or other prices, so other sales): start again from them.
    started = state.pricing_key() + f"{sales_default:.0f}"
    if st.session_state.get("sim_base") != started:
        for key in SIM_KEYS:
            st.session_state.pop(key, None)
        st.session_state["sim_base"] = started
    with st.form("terms_form"):
        st.caption(ui.plain(f"Starting from: {base.name}. Bands are marginal, like tax bands."))
        bands = st.data_editor(
            pd.DataFrame(base.bands, columns=["from", "share"]),
            num_rows="dynamic",
            hide_index=True,
            key="sim_bands",
            column_config={
                "from": st.column_config.NumberColumn("from (annual net sales)", min_value=0.0),
                "share": st.column_config.NumberColumn(
                    "council share", min_value=0.0, max_value=1.0, format="%.2f"
                ),
            },
        )
        c1, c2, c3, c4, c5 = st.columns(5)
        guarantee = c1.number_input(
            "Minimum annual guarantee",
            min_value=0.0,
            step=1000.0,
            value=base.minimum_annual_guarantee,
            key="sim_guarantee",
        )
        fee = c2.number_input(
            "Fixed annual fee",
            min_value=0.0,
            step=500.0,
            value=base.fixed_annual_fee,
            key="sim_fee",
        )
        index = c3.number_input(
            "Indexation a year",
            min_value=-0.49,
            max_value=0.99,
            step=0.01,
            value=base.indexation,
            key="sim_index",
        )
        year = c4.number_input(
            "Contract year", min_value=1, max_value=30, value=1, step=1, key="sim_year"
        )
        sales = c5.number_input(
            "Annual net sales",
            min_value=0.0,
            step=10_000.0,
            value=float(round(sales_default)),
            key="sim_sales",
        )
        run = st.form_submit_button("Simulate", icon=":material/calculate:")
    if run:
        with ui.guard("checking the terms") as outcome:
            terms = terms_from(base.currency, bands, guarantee, fee, index)
        if outcome.ok:
            st.session_state["sim"] = {"terms": terms, "sales": sales, "year": int(year)}
    sim = st.session_state.get("sim")
    if sim:
        simulation(**sim)


def simulation(terms: planner.ConcessionTerms, sales: float, year: int) -> None:
    parts = planner.income_breakdown(sales, terms, year=year)
    cur = terms.currency
    st.caption(
        ui.plain(
            f"{terms.name}, contract year {year}, at {ui.money(sales, cur)} of annual net sales:"
        )
    )
    cols = st.columns(4)
    cols[0].metric("Revenue share", ui.money(parts["revenue_share"], cur))
    cols[1].metric(
        "Guarantee",
        ui.money(parts["guarantee"], cur),
        help="binding" if parts["guarantee_binding"] else "not binding",
    )
    cols[2].metric("Fixed fee", ui.money(parts["fixed_fee"], cur))
    cols[3].metric("Council income", ui.money(parts["income"], cur))
    grid = np.linspace(0.0, max(2 * sales, 1.0), 60)
    curve = pd.DataFrame({"sales": grid, "income": planner.council_income(grid, terms, year=year)})
    chart = (
        alt.Chart(curve)
        .mark_line()
        .encode(
            x=alt.X("sales:Q", title=f"annual net sales ({cur} a year)", axis=alt.Axis(format=",")),
            y=alt.Y("income:Q", title=f"council income ({cur} a year)", axis=alt.Axis(format=",")),
        )
        .properties(height=280)
    )
    st.altair_chart(chart, width="stretch")
    if st.button("Use these terms for planning and valuation", icon=":material/check:"):
        st.session_state["pricing"] = {**st.session_state["pricing"], "terms": terms}
        st.rerun()


def rule_costs(values: pd.DataFrame) -> None:
    risk = planner.policy_value_at_risk(
        values, state.eligibility(), state.policy(), terms=state.terms()
    )
    cur = str(values["currency"].iloc[0]) if "currency" in values and len(values) else ""
    total = risk.loc[risk["level"] == "total", "value_out_of_reach_central"].sum()
    by_rule = risk[risk["level"] == "rule"]
    if by_rule.empty or not total > 0:
        st.info(
            "The policy refuses no asset here, so it puts no value out of reach.",
            icon=":material/info:",
        )
    else:
        bars = by_rule.assign(label=by_rule["rule_id"].astype(str))
        chart = (
            alt.Chart(bars)
            .mark_bar(color="#d73027")
            .encode(
                x=alt.X(
                    "value_out_of_reach_central:Q",
                    title=f"annual media value out of reach ({cur} a year, central)",
                    axis=alt.Axis(format=","),
                ),
                y=alt.Y("label:N", sort="-x", title="rule"),
                tooltip=[
                    alt.Tooltip("label:N", title="rule"),
                    alt.Tooltip("rule:N", title="what it says"),
                    alt.Tooltip("assets:Q", title="assets refused", format=","),
                    alt.Tooltip(
                        "value_out_of_reach_central:Q", title=f"{cur} a year", format=",.0f"
                    ),
                    alt.Tooltip(
                        "council_income_out_of_reach_central:Q",
                        title=f"council income, {cur} a year",
                        format=",.0f",
                    ),
                ],
            )
            .properties(height=max(80, 40 * len(bars)))
        )
        st.altair_chart(chart, width="stretch")
        st.caption(
            ui.plain(
                f"Each bar is the media value a year ({cur}, central estimate) that advertisers "
                "of the refused categories could no longer buy because of that rule, if nobody "
                f"else bought the space; {ui.money(total, cur)} a year for the whole policy. "
                "Rules can overlap, so the bars need not add up to the total."
            )
        )
    note = str(risk.attrs.get("note", "")).replace("(assumptions_table)", "(listed above)")
    st.caption(ui.plain(note))
    config = {
        c: st.column_config.NumberColumn(c, format=ui.money_format(cur))
        for c in risk.columns
        if "_out_of_reach_" in c
    }
    config["share_of_portfolio_value"] = st.column_config.NumberColumn(
        "share_of_portfolio_value", format="percent"
    )
    st.dataframe(risk, hide_index=True, width="stretch", column_config=config)


def replan_costs() -> None:
    left, right = st.columns([1, 3], vertical_alignment="bottom")
    limit = left.number_input(
        "Seconds per plan", min_value=1.0, max_value=60.0, value=2.0, key="cost_time_limit"
    )
    if right.button("Re-plan without each rule", icon=":material/replay:"):
        rules = len(state.policy().rules)
        with (
            ui.guard("re-planning without each rule") as outcome,
            st.spinner(
                f"Re-planning {rules + 1} times (the whole policy, then without each rule), "
                f"up to about {(rules + 1) * limit:.0f} s…"
            ),
        ):
            kwargs = state.plan_inputs()
            kwargs.pop("eligibility")  # each rule changes eligibility: recomputed per plan
            cost = planner.policy_cost(
                kwargs.pop("assets"),
                kwargs.pop("campaigns"),
                kwargs.pop("policy"),
                **kwargs,
                solver=planner.SolverSettings(time_limit=limit, deterministic=False),
            )
        if outcome.ok:
            st.session_state["rule_cost"] = (state.inputs_key(), cost)
    saved = st.session_state.get("rule_cost")
    if saved and saved[0] == state.inputs_key():
        cost = saved[1]
        cur = str(cost["currency"].iloc[0]) if len(cost) else ""
        chart = (
            alt.Chart(cost)
            .mark_bar(color="#d73027")
            .encode(
                x=alt.X(
                    "cost:Q",
                    title=f"council revenue gained without the rule ({cur}, the plan's cycles)",
                    axis=alt.Axis(format=","),
                ),
                y=alt.Y("rule_id:N", sort="-x", title="rule"),
                tooltip=["rule_id", "rule_type", alt.Tooltip("cost:Q", format=",.0f")],
            )
            .properties(height=max(80, 40 * len(cost)))
        )
        st.altair_chart(chart, width="stretch")
        st.caption(
            "Each bar is how much more council revenue the optimiser books for the same "
            "campaigns when that one rule is dropped: what the rule really costs this plan."
        )
        money = ("council_revenue_with", "council_revenue_without", "cost")
        money += ("sales_with", "sales_without")
        config = {c: st.column_config.NumberColumn(c, format=ui.money_format(cur)) for c in money}
        st.dataframe(cost, hide_index=True, width="stretch", column_config=config)


st.title("Value")
st.warning(
    "Every figure on this page is a **modelled estimate** from the stated assumptions "
    "(audiences, prices, sell-through), not audited or measured revenue.",
    icon=":material/science:",
)
pricing_form()
with ui.guard("valuing the assets") as valued:
    values = state.values()
    summary = portfolio(values)
if valued.ok:
    for message in values.attrs.get("warnings", []):
        st.warning(ui.plain(planner.for_form(message)), icon=":material/warning:")
    st.subheader("Value map")
    value_charts(values)
    st.subheader("Asset values")
    valuation_table(values)
    st.subheader("Concession terms simulator")
    simulator(summary["expected_sales_central"])
    st.subheader("What each policy rule costs")
    with ui.guard("pricing the policy"):
        rule_costs(values)
    st.caption(
        "Re-planning without each rule is slower (one solve per rule) but counts "
        "what the optimiser would really book."
    )
    replan_costs()
