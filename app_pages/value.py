"""Value page: modelled asset values, a concession-terms simulator, what each rule costs."""

from __future__ import annotations

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
            f"Council income a year, {s}",
            ui.money(summary[f"council_income_{s}"], cur),
            help=f"Annual media value {ui.money(summary[f'annual_value_{s}'], cur)}; "
            f"expected net sales {ui.money(summary[f'expected_sales_{s}'], cur)}",
        )
    st.caption(
        ui.plain(
            f"Modelled estimates ({summary['impacts_modelled']:,} audiences modelled, "
            f"{summary['impacts_measured']:,} measured): {summary['note']}. "
            f"Terms: {summary['terms']}."
        )
    )
    return summary


def valuation_table(values: pd.DataFrame) -> None:
    shown = ui.without_geometry(values)[[c for c in VALUE_COLUMNS if c in values.columns]]
    numbers = [
        c
        for c in shown.columns
        if c.startswith(("annual_", "council_", "value_", "price_", "weekly_"))
    ]
    config = {c: st.column_config.NumberColumn(c, format="localized") for c in numbers}
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


def simulator(sales_default: float) -> None:
    base = state.terms()
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
    curve = pd.DataFrame(
        {"annual net sales": grid, "council income": planner.council_income(grid, terms, year=year)}
    )
    st.line_chart(curve, x="annual net sales", y="council income")
    if st.button("Use these terms for planning and valuation", icon=":material/check:"):
        st.session_state["pricing"] = {**st.session_state["pricing"], "terms": terms}
        st.rerun()


def rule_costs(values: pd.DataFrame) -> None:
    risk = planner.policy_value_at_risk(
        values, state.eligibility(), state.policy(), terms=state.terms()
    )
    by_rule = risk[risk["level"] == "rule"].set_index("rule_id")
    if by_rule.empty:
        st.info("The policy refuses no asset, so no value is out of reach.")
    else:
        st.bar_chart(
            by_rule["value_out_of_reach_central"],
            horizontal=True,
            y_label="annual value out of reach (central)",
        )
    st.caption(ui.plain(risk.attrs.get("note", "")))
    st.dataframe(risk, hide_index=True, width="stretch")


def replan_costs() -> None:
    left, right = st.columns([1, 3], vertical_alignment="bottom")
    limit = left.number_input(
        "Seconds per plan", min_value=1.0, max_value=60.0, value=2.0, key="cost_time_limit"
    )
    if right.button("Re-plan without each rule", icon=":material/replay:"):
        with ui.guard("re-planning without each rule") as outcome, st.spinner("Re-planning…"):
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
        st.bar_chart(
            cost.set_index("rule_id")["cost"],
            horizontal=True,
            y_label="council revenue gained without the rule",
        )
        st.dataframe(cost, hide_index=True, width="stretch")


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
        st.warning(ui.plain(message), icon=":material/warning:")
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
