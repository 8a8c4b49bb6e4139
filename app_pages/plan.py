"""Plan page: solve with a progress bar; KPIs, map, placements, audit and downloads."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import streamlit as st

import planner
from app_pages import state, ui

OBJECTIVES = {
    "revenue": "Council revenue",
    "impacts": "Impacts (audience)",
    "reach": "Catchment reach (residents within walking distance)",
    "revenue>reach": "Revenue first, then catchment reach",
    "revenue=0.7+reach=0.3": "Blend: 70% revenue, 30% catchment reach",
}


def run_with_progress(task: Callable, bar, expected_s: float) -> planner.Plan:
    """Run ``task(progress)`` in a worker thread and move ``bar`` from here.

    The solver reports from its own threads, where Streamlit cannot draw; this thread
    polls what it last said and the time spent.
    """
    latest = {"fraction": 0.0, "message": "preparing the plan"}

    def report(fraction: float, message: str) -> None:
        latest.update(fraction=float(fraction), message=str(message))

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="planner-solve")
    future = pool.submit(task, report)
    started = time.monotonic()
    try:
        while True:
            try:
                return future.result(timeout=0.3)
            except TimeoutError:
                elapsed = time.monotonic() - started
                shown = max(latest["fraction"], min(elapsed / expected_s, 0.97))
                text = f"Solving: {latest['message']} ({elapsed:.0f} s)"
                bar.progress(min(shown, 0.99), text=ui.plain(text))
    finally:
        pool.shutdown(wait=False)


def solve(objective: str, time_limit: float, reproducible: bool) -> None:
    kwargs = state.plan_inputs()
    key = state.inputs_key()
    solver = planner.SolverSettings(time_limit=time_limit, deterministic=reproducible)
    bar = st.progress(0.0, text="Preparing the plan…")
    expected = time_limit * (2 if reproducible else 1) + 3

    def task(progress: Callable[[float, str], None]) -> planner.Plan:
        return planner.plan(**kwargs, objective=objective, solver=solver, progress=progress)

    try:
        plan = run_with_progress(task, bar, expected)
        bar.progress(1.0, text="Checking the plan against the policy…")
        audit = state.audit_plan(plan)
    finally:
        bar.empty()
    st.session_state["result"] = state.Result(
        plan,
        audit,
        key,
        {"objective": objective, "time_limit": time_limit, "reproducible": reproducible},
    )


def solve_form() -> None:
    settings = st.session_state["solve"]
    names = list(OBJECTIVES)
    with st.form("solve_form"):
        left, middle, right = st.columns([2, 1, 1], vertical_alignment="bottom")
        objective = left.selectbox(
            "Objective",
            names,
            format_func=OBJECTIVES.get,
            key="objective",
            index=names.index(settings["objective"]) if settings["objective"] in names else 0,
        )
        limit = middle.number_input(
            "Time limit (s)",
            min_value=1.0,
            max_value=600.0,
            step=1.0,
            value=float(settings["time_limit"]),
            key="time_limit",
        )
        reproducible = right.checkbox(
            "Reproducible",
            value=bool(settings["reproducible"]),
            key="reproducible",
            help="Same inputs give the same plan; the search may then run up to twice the "
            "time limit on a busy machine",
        )
        go = st.form_submit_button("Solve", type="primary", icon=":material/play_arrow:")
    if go:
        st.session_state["solve"] = {
            "objective": objective,
            "time_limit": limit,
            "reproducible": reproducible,
        }
        with ui.guard("planning") as outcome:
            solve(objective, limit, reproducible)
        if not outcome.ok:
            st.page_link(
                "app_pages/campaigns.py",
                label="Campaigns, targets and locked placements",
                icon=":material/campaign:",
            )


def gap_text(plan: planner.Plan) -> str:
    if plan.status == "OPTIMAL":
        return "0% (optimal)"
    if plan.method.startswith("greedy") or plan.gap is None or math.isnan(plan.gap):
        return "not proven"
    return f"{plan.gap:.1%}"


def kpis(result: state.Result) -> None:
    plan = result.plan
    cols = st.columns(5)
    cols[0].metric(
        "Council revenue",
        ui.money(plan.council_revenue, plan.currency),
        help="The council's revenue share of the net sales this plan books "
        "(before any guarantee or fixed fee)",
    )
    cols[1].metric(
        "Fill rate",
        "n/a" if math.isnan(plan.fill_rate) else f"{plan.fill_rate:.1%}",
        help="Booked face-cycles over the face-cycles on offer in the campaigns' "
        "cycles (slots for digital faces)",
    )
    cols[2].metric(
        "Impacts",
        f"{plan.impacts:,}",
        help="Modelled estimate of adult impressions over the plan's cycles",
    )
    cols[3].metric(
        "Reach (modelled)",
        f"{plan.reach:,}" if plan.universe else "n/a",
        help="People who see at least one of the plan's ads, counted once however many "
        "faces and campaigns they see (modelled: catchments and a negative binomial "
        "exposure model); needs demand zones",
    )
    cols[4].metric(
        "Gap to bound",
        gap_text(plan),
        help="How far the plan may be from the best possible, as proven",
    )
    st.caption(
        ui.plain(
            f"Status {plan.status.lower()} by {plan.method} in {plan.seconds:.1f} s; "
            f"objective {plan.objective_name}; {len(plan.placements):,} placements; gross sales "
            f"{ui.money(plan.sales, plan.currency)}."
        )
    )
    if plan.universe:
        st.caption(
            ui.plain(
                f"Modelled reach {plan.reach:,} of {plan.universe:,} residents "
                f"({plan.cover_pct:.1f}% cover), average frequency {plan.avg_frequency:.1f}, "
                f"{plan.grps:,.0f} GRPs. Each campaign's reach, cover, frequency, GRPs and "
                "1+/2+/3+ reach are in the delivery table."
            )
        )


def explain(plan: planner.Plan) -> None:
    if not plan.ok:
        reasons = "\n".join(f"- {ui.plain(line)}" for line in plan.explanation)
        st.error(
            "**No plan satisfies every rule.**\n\n" + (reasons or "No reason was given."),
            icon=":material/block:",
        )
        st.caption(
            "Relax what the reasons name: fewer faces or cycles, a lower revenue target, "
            "another policy, or leave out campaigns that cannot be placed (Campaigns page)."
        )
        left, right = st.columns(2)
        left.page_link(
            "app_pages/campaigns.py", label="Campaigns and targets", icon=":material/campaign:"
        )
        right.page_link("app_pages/policy.py", label="Policy", icon=":material/policy:")
    for note in plan.notes:
        st.info(ui.plain(note), icon=":material/info:")


def audit_box(result: state.Result) -> None:
    rules = len(state.policy().rules)
    if result.audit is None:
        st.info("Nothing to audit: the plan has no placements.", icon=":material/info:")
    elif result.audit.empty:
        st.success(
            f"Audit passed: {len(result.plan.placements):,} placements re-checked "
            f"independently against {rules} rule(s); no violations.",
            icon=":material/verified:",
        )
    else:
        st.error(
            f"Audit found {len(result.audit)} violation(s) of the policy.",
            icon=":material/gpp_bad:",
        )
        st.dataframe(result.audit, hide_index=True, width="stretch")


def plan_map(result: state.Result):
    inp = state.inputs()
    placements = result.plan.placements.assign(campaign_name=result.plan.placements["advertiser"])
    return planner.asset_map(
        inp.assets,
        sites=inp.get("sites"),
        zones=inp.get("zones"),
        placements=placements,
        values=state.values(),
        color_by="campaign",
    )


def downloads(result: state.Result, m) -> None:
    plan = result.plan
    layers = {"placements": plan.placements, "delivery": plan.campaigns, "summary": plan.summary()}
    st.caption("Placements (GeoPackage and Excel also hold delivery per campaign and the summary)")
    ui.table_downloads(layers, "placements", key="placements")
    left, right = st.columns(2)
    with left:
        ui.download("Map (HTML)", lambda: ui.map_bytes(m), "plan-map.html")
    with right:
        log = plan.audit_log(state.policy(), result.audit)
        ui.download("Audit log (CSV)", log.to_csv(index=False), "audit-log.csv")


def show(result: state.Result) -> None:
    if result.key != state.inputs_key():
        st.warning(
            "The inputs have changed since this plan was made; solve again to update it.",
            icon=":material/update:",
        )
    if result.name:
        st.caption(ui.plain(f"Plan of the scenario '{result.name}'."))
    if not result.plan.ok:
        explain(result.plan)
        return
    kpis(result)
    explain(result.plan)
    audit_box(result)
    st.subheader("Map")
    with ui.guard("drawing the plan map") as drawn:
        m = plan_map(result)
        ui.show_map(m, key="plan_map", height=560)
    st.subheader("Placements")
    st.dataframe(ui.without_geometry(result.plan.placements), hide_index=True, width="stretch")
    st.subheader("Delivery per campaign")
    st.caption(
        "Reach, cover, frequency and GRPs are modelled estimates over each campaign's "
        "universe (the residents of its area, or of every zone)."
    )
    st.dataframe(result.plan.campaigns, hide_index=True, width="stretch")
    if drawn.ok:
        downloads(result, m)


st.title("Plan")
st.caption(
    "Choose what to maximise and how long the solver may search, then solve. Every plan is "
    "checked again, independently, against the policy. Impacts and values are modelled "
    "estimates."
)
solve_form()
current = st.session_state.get("result")
if current is None:
    st.info("No plan yet: press Solve.", icon=":material/info:")
else:
    show(current)
