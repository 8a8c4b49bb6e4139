"""OOH planner: a council officer's or agency planner's whole workflow, without code.

Run with ``streamlit run app.py``. Six pages: load the data, set the policy, enter the
campaigns, plan, value the assets, and keep scenarios. The Helsinki demo is loaded at
start; every figure comes from the public API of ``planner``.
"""

from __future__ import annotations

import streamlit as st

from app_pages import state, ui

st.set_page_config(page_title="OOH planner", page_icon=":material/signpost:", layout="wide")

with ui.guard("loading the demo data") as started:
    state.ensure_defaults()  # demo data, default policy and campaigns on a first visit
if not started.ok:
    st.stop()

page = st.navigation(
    [
        st.Page("app_pages/data.py", title="Data", icon=":material/database:", default=True),
        st.Page("app_pages/policy.py", title="Policy", icon=":material/policy:"),
        st.Page("app_pages/campaigns.py", title="Campaigns", icon=":material/campaign:"),
        st.Page("app_pages/plan.py", title="Plan", icon=":material/map:"),
        st.Page("app_pages/value.py", title="Value", icon=":material/payments:"),
        st.Page("app_pages/scenarios.py", title="Scenarios", icon=":material/compare:"),
    ]
)

with ui.guard("showing this page"):
    page.run()

with st.sidebar:  # after the page, so that it shows what the page just did
    st.caption(ui.plain(f"Data: {state.inputs().sources.get('assets', '')}"))
    st.caption(ui.plain(f"Policy: {state.policy().name}"))
    result = st.session_state.get("result")
    status = result.plan.status if result else ""
    words = {
        "OPTIMAL": "the best possible",
        "FEASIBLE": "solved",
        "INFEASIBLE": "impossible under the rules",
        "TIME_LIMIT": "a first plan (no better one in the time allowed)"
        if result is not None and result.plan.ok
        else "none found in the time allowed",
    }
    st.caption(ui.plain(f"Plan: {words.get(status, status.lower()) or 'not solved yet'}"))
