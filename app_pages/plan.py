"""Plan page: solve with a progress bar; KPIs, map, placements, audit and downloads."""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import altair as alt
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
        latest.update(fraction=float(fraction), message=ui.progress_words(str(message)))

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
        return "optimal"
    if plan.method.startswith("greedy") or plan.gap is None or math.isnan(plan.gap):
        return "not proven"
    return ui.percent(plan.gap)


def how_found(plan: planner.Plan) -> str:
    """How the plan was found, in words (no solver or objective names)."""
    if plan.method.startswith("greedy"):
        how = "by the quick heuristic (the optimiser found no plan in the time allowed)"
    elif plan.status == "OPTIMAL":
        how = "by the optimiser, proven the best possible"
    else:
        how = "by the optimiser: the best plan found in the time allowed"
    goal = OBJECTIVES.get(plan.objective_name, plan.objective_name).lower()
    return f"Maximising {goal}; found {how}, in {plan.seconds:.1f} s."


def kpis(result: state.Result) -> None:
    plan = result.plan
    cur = plan.currency
    top = st.columns(4)
    top[0].metric(
        "Council revenue",
        ui.money(plan.council_revenue, cur, short=True),
        help=f"{ui.money(plan.council_revenue, cur)}: the council's revenue share of the net "
        "sales this plan books (before any guarantee or fixed fee)",
    )
    top[1].metric(
        "Gross sales",
        ui.money(plan.sales, cur, short=True),
        help=f"{ui.money(plan.sales, cur)}: what the advertisers pay for these bookings",
    )
    top[2].metric(
        "Fill rate",
        ui.percent(plan.fill_rate),
        help="Booked face-cycles over the face-cycles on offer in the campaigns' "
        "cycles (slots for digital faces)",
    )
    top[3].metric(
        "Gap to best",
        gap_text(plan),
        help="How far the plan may be from the best possible, as proven by the optimiser",
    )
    bottom = st.columns(4)
    bottom[0].metric(
        "Placements",
        f"{len(plan.placements):,}",
        help="Booked faces, one per face (or digital slot) and cycle",
    )
    bottom[1].metric(
        "Impacts",
        f"{plan.impacts / 1e6:,.1f}M" if plan.impacts >= 1e6 else f"{plan.impacts:,}",
        help=f"{plan.impacts:,} adult impressions over the plan's cycles (modelled estimate)",
    )
    bottom[2].metric(
        "People reached",
        f"{plan.reach:,}" if plan.universe else "n/a",
        help="Residents who see at least one of the plan's ads, each counted once however "
        "many faces and campaigns they see (modelled); needs demand zones",
    )
    bottom[3].metric(
        "Cover",
        ui.percent(plan.cover_pct / 100) if plan.universe else "n/a",
        help=f"People reached as a share of the {plan.universe:,} residents of the demand "
        "zones (modelled)",
    )
    st.caption(ui.plain(how_found(plan)))
    if plan.universe:
        st.caption(
            ui.plain(
                f"Modelled: {plan.reach:,} of {plan.universe:,} residents reached, each "
                f"{plan.avg_frequency:.1f} times on average ({plan.grps:,.0f} GRPs). Each "
                "campaign's reach, cover, frequency and GRPs are in the delivery table."
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


ALL = "all"


def map_filters(plan: planner.Plan) -> tuple[str, str]:
    """The campaign and cycle the map shows (``ALL`` for every one)."""
    placed = plan.placements
    labels = (placed["campaign_id"].astype(str) + " " + placed["advertiser"].astype(str)).unique()
    cycles = sorted({int(c) for c in placed["cycle"]})
    left, right = st.columns(2)
    campaign = left.selectbox("Campaign on the map", [ALL, *sorted(labels)], key="map_campaign")
    cycle = right.selectbox(
        "Cycle on the map",
        [ALL, *map(str, cycles)],
        format_func=lambda c: c if c == ALL else cycle_label(int(c)),
        key="map_cycle",
    )
    return campaign, cycle


def cycle_label(cycle: int) -> str:
    """``cycle 3 (1 Feb – 14 Feb 2027)``."""
    first, last = planner.cycle_dates(cycle)
    return f"cycle {cycle} ({first:%-d %b} – {last:%-d %b %Y})"


def map_arguments(result: state.Result, campaign: str, cycle: str) -> dict:
    """What the plan map draws: every asset, the placements of the chosen campaign and cycle."""
    inp = state.inputs()
    placed = result.plan.placements
    if campaign != ALL:
        placed = placed[
            (placed["campaign_id"].astype(str) + " " + placed["advertiser"]) == campaign
        ]
    if cycle != ALL:
        placed = placed[placed["cycle"].astype(int) == int(cycle)]
    return {
        "assets": inp.assets,
        "sites": inp.get("sites"),
        "zones": inp.get("zones"),
        "placements": placed.assign(campaign_name=placed["advertiser"]),
        "values": state.values(),
        "color_by": "campaign",
    }


WHOLE_PLAN = "the whole plan"


def reach_curve(result: state.Result) -> None:
    """Modelled reach as faces are added, biggest audiences first, for one campaign."""
    names = [WHOLE_PLAN, *sorted(result.plan.placements["campaign_id"].astype(str).unique())]
    chosen = st.selectbox("Campaign", names, key="curve_campaign")
    curve = state.reach_curve(result, None if chosen == WHOLE_PLAN else chosen)
    chart = (
        alt.Chart(curve)
        .mark_line(point=True)
        .encode(
            x=alt.X("faces:Q", title="faces booked (largest audiences first)"),
            y=alt.Y("reach:Q", title="people reached (modelled)", axis=alt.Axis(format=",.0f")),
            tooltip=[
                alt.Tooltip("faces:Q"),
                alt.Tooltip("reach:Q", title="people reached", format=",.0f"),
                alt.Tooltip("cover_pct:Q", title="cover (%)", format=".1f"),
                alt.Tooltip("avg_frequency:Q", title="average frequency", format=".1f"),
            ],
        )
        .properties(height=300)
    )
    st.altair_chart(chart, width="stretch")
    st.caption(
        "Each point adds the next face with the largest audience: reach grows ever more "
        "slowly as the same residents see the ads again (modelled estimates)."
    )


def charts(plan: planner.Plan) -> None:
    """Gross sales and faces by cycle and campaign; spend, faces and reach by campaign."""
    cur = plan.currency
    cycles = planner.plan_by_cycle(plan)
    cycles["starts"] = [
        f"{c} ({d:%-d %b})" for c, d in zip(cycles["cycle"], cycles["cycle_start"], strict=True)
    ]
    campaigns = planner.plan_by_campaign(plan)
    order = list(dict.fromkeys(cycles["starts"]))
    colour = alt.Color("campaign:N", title="campaign", legend=alt.Legend(orient="right"))
    sales_tab, faces_tab, campaign_tab = st.tabs(
        ["Sales by cycle", "Faces by cycle", "By campaign"]
    )
    for tab, measure, title in (
        (sales_tab, "sales", f"gross sales ({cur})"),
        (faces_tab, "faces", "faces booked"),
    ):
        chart = (
            alt.Chart(cycles)
            .mark_bar()
            .encode(
                x=alt.X(
                    "starts:N", sort=order, title="cycle (first day)", axis=alt.Axis(labelAngle=0)
                ),
                y=alt.Y(f"{measure}:Q", title=title, axis=alt.Axis(format=",.0f")),
                color=colour,
                tooltip=[
                    alt.Tooltip("starts:N", title="cycle (first day)"),
                    alt.Tooltip("campaign:N"),
                    alt.Tooltip(f"{measure}:Q", title=title, format=",.0f"),
                ],
            )
            .properties(height=340, title=f"{title[0].upper()}{title[1:]} in each 2-week cycle")
        )
        tab.altair_chart(chart, width="stretch")
        tab.caption(
            "Each bar is one 2-week cycle, split by campaign. Sales are what advertisers pay "
            f"({cur}); the council's share is the Council revenue figure above."
        )
    with campaign_tab:
        measures = [("spend", f"spend ({cur})"), ("faces_booked", "face-cycles booked")]
        if campaigns["reach"].notna().any():
            measures.append(("reach", "people reached (modelled)"))
        for column, (measure, title) in zip(st.columns(len(measures)), measures, strict=True):
            chart = (
                alt.Chart(campaigns)
                .mark_bar()
                .encode(
                    x=alt.X(f"{measure}:Q", title=title, axis=alt.Axis(format="~s")),
                    y=alt.Y("campaign:N", sort="-x", title=None),
                    color=alt.Color("campaign:N", legend=None),
                    tooltip=[
                        alt.Tooltip("campaign:N"),
                        alt.Tooltip(f"{measure}:Q", title=title, format=",.0f"),
                    ],
                )
                .properties(
                    height=max(160, 28 * len(campaigns)), title=f"{title[0].upper()}{title[1:]}"
                )
            )
            column.altair_chart(chart, width="stretch")


def booking_bytes(plan: planner.Plan, assets, suffix: str) -> bytes:
    """The booking sheet (`planner.booking_sheet`) as an Excel or CSV file's bytes."""
    sheet = planner.booking_sheet(plan, assets)
    with tempfile.TemporaryDirectory(prefix="planner-booking-") as tmp:
        return planner.write_booking_sheet(sheet, Path(tmp) / f"booking-sheet{suffix}").read_bytes()


def report_page(result: state.Result) -> str:
    """The one-page printable plan and valuation report (`planner.plan_report`), as HTML."""
    pricing = st.session_state["pricing"]
    assumptions = planner.assumptions_table(rate_card=pricing["rate_card"], terms=pricing["terms"])
    said = [f"Scenario: {result.name}"] if result.name else []
    if result.key != state.inputs_key():  # the valuation and policy shown are the current ones
        said.append("inputs changed since this plan was made: solve again")
    return planner.plan_report(
        result.plan,
        state.values(),
        policy=state.policy(),
        assumptions=assumptions,
        subtitle="; ".join(said),
        made_on=date.today(),
    )


def downloads(result: state.Result, arguments: dict) -> None:
    plan = result.plan
    assets = arguments["assets"]
    page = report_page(result)
    st.markdown(
        "**Printable report** (one A4 page: KPIs, campaigns, valuation, policy and the "
        "modelled-estimates note; open it and print, or save as PDF from the browser)"
    )
    left, _ = st.columns([1, 3])
    with left:
        ui.download("Plan report (HTML)", page, "plan-report.html")
    st.markdown(
        "**Booking sheet** (asset, name, type, format, ward, face, campaign, cycle "
        "dates, price and impacts: one row per face and cycle)"
    )
    left, right, _ = st.columns([1, 1, 2])
    with left:
        ui.download(
            "Booking sheet (Excel)",
            lambda: booking_bytes(plan, assets, ".xlsx"),
            "booking-sheet.xlsx",
        )
    with right:
        ui.download(
            "Booking sheet (CSV)", lambda: booking_bytes(plan, assets, ".csv"), "booking-sheet.csv"
        )
    layers = {"placements": plan.placements, "delivery": plan.campaigns, "summary": plan.summary()}
    st.caption("Placements (GeoPackage and Excel also hold delivery per campaign and the summary)")
    ui.table_downloads(layers, "placements", key="placements")
    left, right = st.columns(2)
    with left:
        # Drawn again for the file: the map on the page belongs to the component.
        ui.download(
            "Map (HTML)", lambda: ui.map_bytes(planner.asset_map(**arguments)), "plan-map.html"
        )
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
    st.subheader("Charts")
    with ui.guard("drawing the charts"):
        charts(result.plan)
    if result.plan.universe:
        with (
            st.expander("Reach curve: people reached as faces are added"),
            ui.guard("tracing the reach curve"),
        ):
            reach_curve(result)
    st.subheader("Map")
    campaign, cycle = map_filters(result.plan)
    with ui.guard("drawing the plan map") as drawn, st.spinner("Drawing the plan map…"):
        arguments = map_arguments(result, campaign, cycle)
        ui.show_map(planner.asset_map(**arguments), key="plan_map", height=600)
    cur = result.plan.currency
    st.subheader("Placements")
    st.dataframe(
        ui.without_geometry(result.plan.placements),
        hide_index=True,
        width="stretch",
        column_config={
            "price": st.column_config.NumberColumn("price", format=ui.money_format(cur))
        },
    )
    st.subheader("Delivery per campaign")
    st.caption(
        "Reach, cover, frequency and GRPs are modelled estimates over each campaign's "
        "universe (the residents of its area, or of every zone)."
    )
    money = {
        c: st.column_config.NumberColumn(c, format=ui.money_format(cur))
        for c in ("spend", "budget")
    }
    st.dataframe(
        result.plan.campaigns,
        hide_index=True,
        width="stretch",
        column_config=money
        | {
            "budget_used": st.column_config.NumberColumn("budget_used", format="percent"),
            "cover_pct": st.column_config.NumberColumn("cover_pct", format="%.1f%%"),
        },
    )
    if drawn.ok:
        downloads(result, arguments)


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
