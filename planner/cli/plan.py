"""Command-line subcommands for money and plans: ``value``, ``plan`` and ``demo``."""

from __future__ import annotations

import argparse
import math
import sys
from typing import TYPE_CHECKING, Any

from planner.cli.common import (
    DATABASE_INPUT,
    DATABASE_OUTPUT,
    EXIT_FOUND,
    EXIT_OK,
    EXIT_TIME_LIMIT,
    add_input_options,
    example,
    load_input,
    non_negative_float,
    non_negative_int,
    policy_inputs,
    positive_float,
    positive_int,
    progress_bar,
    progress_steps,
    warn,
    write_output,
)
from planner.cli.scale import add_scale_options, cluster_settings
from planner.errors import PlannerError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["PRICING_CHOICES", "add_demo", "add_plan", "add_value"]


# --- audience and pricing options (value and plan) -----------------------------------------

#: ``--pricing`` choices on the command line, and the `planner.value.rates.PRICING` they name.
PRICING_CHOICES = {"cpt": "cpt", "rate-card": "rate card"}


def _add_value_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--traffic``, ``--traffic-year``, ``--roads`` and ``--pricing`` to a valuing subcommand.

    Parameters
    ----------
    parser
        The ``value`` or ``plan`` parser; changed in place.
    """
    parser.add_argument(
        "--traffic",
        metavar="FILE",
        help="DfT annual average daily flow file (roadtraffic.dft.gov.uk, AADF CSV): "
        "roadside formats (48/96-sheet, d48, d96) add the vehicle audience of the nearest "
        "count point within 300 m (modelled from measured counts)",
    )
    parser.add_argument(
        "--traffic-year",
        type=int,
        metavar="YEAR",
        help="with --traffic, use this year's counts (default: each count point's latest)",
    )
    parser.add_argument(
        "--roads",
        metavar="EXTRACT",
        help="OpenStreetMap extract (.osm.pbf or .osm): roadside formats with no count point "
        "within 300 m take the flow of their nearest road's class within 50 m (a documented "
        "proxy, labelled 'modelled (road-class proxy)'; measured counts win)",
    )
    parser.add_argument(
        "--pricing",
        choices=sorted(PRICING_CHOICES),
        help="cpt: price by audience (cost per thousand impacts) with the rate card as the "
        "floor; rate-card: every face of a format at its rate (flat). Default: the rate "
        "card's own choice (uk-default: cpt)",
    )


def _value_inputs(args: argparse.Namespace) -> dict[str, Any]:
    """Read ``--traffic``, ``--roads`` and ``--pricing`` into keywords of `value_assets`.

    Parameters
    ----------
    args
        Parsed arguments with ``traffic``, ``traffic_year``, ``roads`` and ``pricing``
        (`_add_value_options`).

    Returns
    -------
    dict
        ``pricing`` (``"cpt"``, ``"rate card"`` or None for the card's own), ``traffic``
        (count points from `planner.io.traffic.load_traffic_counts`, or None) and
        ``roads`` (motor roads from `planner.io.roads.load_roads`, or None).

    Raises
    ------
    PlannerError
        When ``--traffic-year`` is given without ``--traffic``, the traffic file cannot
        be read, lacks a DfT column, has bad rows or no count for ``--traffic-year``, or
        the roads extract is missing or not OpenStreetMap data; the message starts with
        the flag and the file.
    """
    from planner.io.roads import load_roads
    from planner.io.traffic import load_traffic_counts

    pricing = PRICING_CHOICES[args.pricing] if args.pricing else None
    if args.traffic is None and args.traffic_year is not None:
        raise PlannerError("--traffic-year needs --traffic FILE (a DfT AADF file)")
    traffic = roads = None
    try:
        if args.traffic is not None:
            traffic = load_traffic_counts(args.traffic, year=args.traffic_year)
    except PlannerError as exc:
        raise PlannerError(f"--traffic {args.traffic}: {exc}") from None
    try:
        if args.roads is not None:
            roads = load_roads(args.roads)
    except PlannerError as exc:
        raise PlannerError(f"--roads {args.roads}: {exc}") from None
    return {"pricing": pricing, "traffic": traffic, "roads": roads}


# --- value ----------------------------------------------------------------------------------


def add_value(sub: argparse._SubParsersAction) -> None:
    """Add the ``value`` subcommand: each asset's audience, price, sales and council income.

    Options: ``--assets`` and ``--out`` (required), ``--zones`` (population for the
    audience model), ``--policy`` with optional ``--sites`` (value out of reach),
    ``--rates`` and ``--terms`` (preset names or ``.toml`` files, default
    ``uk-default``), ``--traffic`` (a DfT AADF file) with ``--traffic-year``,
    ``--pricing`` (``cpt`` or ``rate-card``), ``--report FILE.html`` (a printable
    valuation report) and the shared input options.

    Parameters
    ----------
    sub
        The subparsers of the main parser; the new parser's handler is `_run_value`.
    """
    p = sub.add_parser(
        "value",
        help="value every asset a year (audience, price, sales, council income)",
        description=(
            "Estimate each asset's weekly impacts, price, annual media value, expected sales "
            "and council income (low/central/high), write the table and print portfolio "
            "totals. With --policy, also the value the policy puts out of reach. Every figure "
            "is a modelled estimate from the assumptions written beside it."
        ),
        epilog=example(
            "python -m planner value --assets assets.gpkg --zones lsoa.gpkg "
            "--sites schools.gpkg --policy uk-cap-code --out values.gpkg"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--assets", required=True, help="asset file, " + DATABASE_INPUT)
    p.add_argument("--sites", help="sensitive-sites file or table (for --policy exclusion rules)")
    p.add_argument("--policy", help="policy preset name or .toml file")
    p.add_argument("--zones", help="demand zones with population (e.g. LSOA polygons)")
    p.add_argument("--rates", default="uk-default", help="rate card name or .toml file")
    p.add_argument("--terms", default="uk-default", help="concession terms name or .toml file")
    _add_value_options(p)
    p.add_argument(
        "--out", required=True, help="output table: .gpkg, .csv, .xlsx, ... " + DATABASE_OUTPUT
    )
    _add_report_option(p, "valuation")
    add_input_options(p)
    add_scale_options(p)
    p.set_defaults(handler=_run_value)


def _run_value(args: argparse.Namespace) -> int:
    """Value every asset with `planner.value.valuation.value_assets` and write the tables.

    Reads the assets (shared input options), the zones and sites (``--crs`` and
    ``--encoding`` only), the traffic counts (``--traffic``), the rate card and the
    concession terms; prices as ``--pricing`` says (default: the card's own). Writes to ``--out``:
    layer ``values`` (one row per asset: weekly impacts and their source, price per cycle,
    annual value, expected net sales and council income, low/central/high), and in
    ``.gpkg``/``.xlsx`` also ``assumptions`` (`assumptions_table`) and, with ``--policy``,
    ``policy_cost`` (`policy_value_at_risk`). Other formats hold ``values`` only. Prints
    the portfolio totals (`_print_totals`); with ``--report``, writes the printable
    valuation report (`_write_report`). Every figure is a modelled estimate; the
    method and its sources are in ``docs/valuation.md``.

    Parameters
    ----------
    args
        ``assets``, ``zones``, ``sites``, ``policy``, ``rates``, ``terms``, ``traffic``,
        ``traffic_year``, ``pricing``, ``out`` and the shared input options.

    Returns
    -------
    int
        0 once the file is written. Bad input raises instead (exit 2 in `planner.cli.main`).

    Raises
    ------
    PlannerError
        When ``--sites`` is given without ``--policy``, an output format is not
        supported, ``--report`` is not an ``.html`` file, or the ``--traffic`` file is
        unreadable or not a DfT AADF file (the message names ``--traffic``).
    DataValidationError
        When the asset, zone or site file fails validation, or the policy has exclusion
        rules but no ``--sites`` is given.
    PolicyError
        When the policy is unknown or invalid.
    PricingError
        When the rate card or terms are missing or invalid, their currencies differ, or no
        rate matches an asset.
    """
    from planner.scale import (
        connect,
        partitioned_eligibility_and_values,
        partitioned_value_assets,
    )
    from planner.value.valuation import (
        assumptions_table,
        policy_value_at_risk,
        portfolio_summary,
    )

    if args.sites and not args.policy:
        raise PlannerError("--sites is only used with --policy; add --policy NAME_OR_FILE")
    _check_report_path(args.report)
    # With --scheduler, Dask draws its own progress bar.
    with progress_steps("value", show=not args.scheduler) as step:
        step(0.0, "loading the assets and zones")
        assets = load_input(args, "assets")
        zones = load_input(args, "zones")
        extra = _value_inputs(args)
        elig = policy = None
        # Without --scheduler, `connect` gives no client and both steps run in this process.
        cluster = cluster_settings(args)
        scale = {"cluster": cluster, "cell_m": args.cell_km * 1000}
        options = {"zones": zones, "rate_card": args.rates, "terms": args.terms, **extra}
        with connect(cluster) as client:
            if args.policy:
                from planner.policy.load import load_policy

                step(0.1, "checking the policy")
                policy = load_policy(args.policy)
                sites = load_input(args, "sites")
                step(0.3, "checking and valuing the assets")
                elig, values = partitioned_eligibility_and_values(
                    assets, sites, policy, client=client, **scale, **options
                )
                warn(elig.attrs.get("warnings", []))
            else:
                step(0.3, "valuing the assets")
                values = partitioned_value_assets(assets, client=client, **scale, **options)
        step(0.9, "writing the values")
        layers = {
            "values": values,
            "assumptions": assumptions_table(rate_card=args.rates, terms=args.terms),
        }
        if elig is not None:
            layers["policy_cost"] = policy_value_at_risk(values, elig, policy, terms=args.terms)
        written, every_layer = write_output(layers, args.out)
    _print_totals(portfolio_summary(values, args.terms), layers.get("policy_cost"))
    _print_audience_inputs(values, extra)
    for message in values.attrs.get("warnings", []):
        print(f"Warning: {message}", file=sys.stderr)
    note = "" if every_layer else " (values only: .gpkg/.xlsx add assumptions)"
    print(f"Wrote {written}{note}")
    if args.report:
        _write_report(args, None, values, policy, layers["assumptions"])
    return EXIT_OK


def _print_audience_inputs(values: pd.DataFrame, extra: dict[str, Any]) -> None:
    """Print how prices were set and how many faces have a vehicle audience, and from what.

    Parameters
    ----------
    values
        `value_assets` table (``price_source``, ``format``).
    extra
        `_value_inputs` keywords: ``pricing``, ``traffic`` and ``roads``.
    """
    import pandas as pd

    from planner.value.audience import ROAD_CLASS_PROXY, TRAFFIC_COUNT, AudienceParams

    by = values["price_source"].value_counts()
    cpt = int(by.get("cpt", 0))
    print(
        f"Pricing: {extra['pricing'] or 'the rate card default'}; {cpt} asset(s) priced by "
        "audience above their rate (modelled impacts x CPT)"
    )
    traffic, roads = extra["traffic"], extra.get("roads")
    source = values.get("vehicle_source", pd.Series(dtype=object))
    if traffic is not None:
        n = int((source == TRAFFIC_COUNT).sum())
        print(
            f"Traffic: {len(traffic)} DfT count point(s) from {traffic.attrs.get('source', '')}; "
            f"{n} roadside face(s) add the vehicle audience of the nearest count point within "
            f"{AudienceParams().traffic_radius_m:.0f} m (modelled from measured counts)"
        )
    if roads is not None:
        n = int((source == ROAD_CLASS_PROXY).sum())
        print(
            f"Roads: {len(roads)} OpenStreetMap road(s) from {roads.attrs.get('source', '')} "
            f"({roads.attrs.get('attribution', '')}); {n} roadside face(s) without a count "
            "take the flow of their road's class (modelled: road-class proxy)"
        )


def _print_totals(summary: dict, policy_cost: pd.DataFrame | None = None) -> None:
    """Print the portfolio totals: a low/central/high table a year, in the card's currency.

    Rows: gross media value sold, expected net sales and council income, then the media
    value if every cycle sold and the cases where the minimum guarantee binds. With a
    policy, the total value and council income out of reach (central), labelled an upper
    bound: the loss if no other advertiser buys the space.

    Parameters
    ----------
    summary
        `planner.value.valuation.portfolio_summary` of the values.
    policy_cost
        `planner.value.valuation.policy_value_at_risk` table (its ``level == "total"``
        row is printed), or None.
    """
    print(
        f"{summary['assets']} assets, {summary['faces']} faces; audiences: "
        f"{summary['impacts_modelled']} modelled, {summary['impacts_measured']} measured."
    )
    print(f"Modelled estimates, {summary['currency']} a year (terms: {summary['terms']}):")
    print(f"  {'':<34}{'low':>14}{'central':>14}{'high':>14}")
    for label, key in (
        ("gross media value sold", "annual_value"),
        ("expected net sales", "expected_sales"),
        ("council income", "council_income"),
    ):
        cells = "".join(f"{summary[f'{key}_{s}']:>14,.0f}" for s in ("low", "central", "high"))
        print(f"  {label:<34}{cells}")
    print(f"  {'media value if every cycle sold':<34}{summary['annual_value_full']:>14,.0f}")
    binding = [s for s in ("low", "central", "high") if summary[f"guarantee_binding_{s}"]]
    if binding:
        print(f"  the minimum guarantee binds in the {'/'.join(binding)} case")
    if policy_cost is not None:
        total = policy_cost[policy_cost["level"] == "total"].iloc[0]
        print(
            "Policy: value out of reach (upper bound, if no other advertiser buys the space): "
            f"{total['value_out_of_reach_central']:,.0f} gross, council income "
            f"{total['council_income_out_of_reach_central']:,.0f} (central)"
        )


# --- plan ---------------------------------------------------------------------------------


def add_plan(sub: argparse._SubParsersAction) -> None:
    """Add the ``plan`` subcommand: place campaigns on asset faces and cycles.

    Options: the inputs (``--assets``, ``--policy``, ``--campaigns``, ``--out`` required;
    ``--sites``, ``--zones``, ``--locked``), the business settings (``--revenue-target``
    in the rate card's currency, ``--objective``, ``--rates``, ``--terms``,
    ``--traffic``, ``--traffic-year``, ``--pricing``, ``--skip-unplaceable``), the
    solver settings (``--time-limit`` seconds, ``--fast``, ``--candidates-per-face``,
    ``--workers``, ``--seed``), ``--report FILE.html`` (the printable report) and the
    shared input options.

    Parameters
    ----------
    sub
        The subparsers of the main parser; the new parser's handler is `_run_plan`.
    """
    p = sub.add_parser(
        "plan",
        help="place campaigns on asset faces and cycles (CP-SAT), write the plan",
        description=(
            "Propose which campaign goes on which asset face in which 2-week cycle, meeting "
            "budgets, faces per cycle, spacing, competitor separation, the policy and the "
            "council's revenue target. Writes layers 'placements', 'campaigns' and "
            "'summary'. Exit 0 with a plan, 1 when no plan exists (with the rules in "
            "conflict), 2 on bad input, 3 when no plan was found in the time allowed (the "
            "construction heuristic's plan is written when it keeps every rule, and the "
            "output says what to change). With the same inputs and --seed the plan is the "
            "same on any machine unless --fast is given or the output says it is not "
            "reproducible."
        ),
        epilog=example(
            "python -m planner plan --assets data/assets.gpkg --sites data/sites.gpkg "
            "--zones data/zones.gpkg --policy uk-cap-code --campaigns data/campaigns.csv "
            "--rates demo --terms demo --objective 'revenue>reach' --out plan.gpkg"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--assets", required=True, help="asset file, " + DATABASE_INPUT)
    p.add_argument("--sites", help="sensitive-sites file or table (needed by exclusion rules)")
    p.add_argument("--zones", help="demand zones with population (audience and reach)")
    p.add_argument("--policy", required=True, help="policy preset name or .toml file")
    p.add_argument("--campaigns", required=True, help="campaigns CSV (see the README)")
    p.add_argument("--locked", help="CSV of placements to keep: asset_id,campaign_id,cycle")
    p.add_argument(
        "--revenue-target",
        type=non_negative_float,
        default=0.0,
        help="least council revenue from the plan, in the rate card's currency",
    )
    p.add_argument(
        "--objective",
        default="revenue",
        help="revenue, impacts, reach, a blend revenue=0.7+reach=0.3, or an "
        "order revenue>reach (default revenue)",
    )
    p.add_argument("--rates", default="uk-default", help="rate card name or .toml file")
    p.add_argument("--terms", default="uk-default", help="concession terms name or .toml file")
    _add_value_options(p)
    p.add_argument(
        "--time-limit", type=positive_float, default=30.0, help="solver seconds (default 30)"
    )
    p.add_argument(
        "--fast",
        action="store_true",
        help="plain parallel search: not reproducible run to run (the default search is "
        "deterministic: the same inputs and seed give the same plan)",
    )
    p.add_argument(
        "--candidates-per-face",
        type=non_negative_float,
        default=0.0,
        help="for very large instances: search only each campaign's best N x max_faces "
        "candidates per cycle (the bound still covers them all; default 0 keeps all)",
    )
    p.add_argument("--workers", type=positive_int, default=2, help="solver workers (default 2)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--skip-unplaceable",
        action="store_true",
        help="leave out campaigns that cannot be placed at all, with a note",
    )
    p.add_argument(
        "--out", required=True, help="plan file: .gpkg (layers), .xlsx or .csv, " + DATABASE_OUTPUT
    )
    _add_report_option(p, "plan and valuation")
    add_input_options(p)
    add_scale_options(p, plan=True)
    p.set_defaults(handler=_run_plan)


def _run_plan(args: argparse.Namespace) -> int:
    """Plan the campaigns with `planner.plan.plan` and write the plan.

    Reads the policy, assets and sites (`planner.cli.common.policy_inputs`), the campaigns
    CSV (categories checked against the policy's), the zones, the traffic counts, the
    locked placements, the rate card and the terms; values the assets (`value_assets`,
    priced as ``--pricing`` says) for prices and impacts.
    Shows a progress bar on a terminal. Prints the plan in words (`_plan_text`); with a
    plan, writes ``--out`` (`_report_plan`); with ``--report``, writes the printable plan
    and valuation report (`_write_report`), also when there is no plan (it says why).

    Parameters
    ----------
    args
        Every option of ``plan`` (see `add_plan`).

    Returns
    -------
    int
        0 with a plan (written), 1 when no plan meets every rule (nothing written; the
        printed explanation names the rules in conflict), 3 when the solver found no
        plan in the time allowed (the heuristic's plan is written when it keeps every
        rule; the explanation says what to change). Bad input raises instead (exit 2
        in `planner.cli.main`).

    Raises
    ------
    PlannerError
        When the policy has exclusion rules but no ``--sites``, the objective is not
        understood, a locked placement is impossible, a price is missing, the revenue
        target cannot be reached under the terms, ``--locked`` is not a readable CSV
        or plan GeoPackage, or ``--report`` is not an ``.html`` file (checked first).
    CampaignError
        When the campaigns CSV has bad rows or columns (every one named).
    DataValidationError, PolicyError, PricingError
        As for ``value``.
    """
    from planner.io.readers import load_placements
    from planner.optimise.settings import PlanSettings, SolverSettings
    from planner.plan import plan
    from planner.value.concession import load_terms
    from planner.value.valuation import value_assets

    _check_report_path(args.report)
    with progress_steps("planning") as step:
        step(0.0, "loading the inputs")
        policy, assets, sites = policy_inputs(args)
        from planner.io.readers import load_campaigns

        campaigns = load_campaigns(
            args.campaigns, categories=policy.categories, encoding=args.encoding or "utf-8"
        )
        zones = load_input(args, "zones")
        extra = _value_inputs(args)
        terms = load_terms(args.terms)
        settings = PlanSettings(
            revenue_target=args.revenue_target, skip_unplaceable=args.skip_unplaceable
        )
        solver = SolverSettings(
            time_limit=args.time_limit,
            workers=args.workers,
            seed=args.seed,
            deterministic=not args.fast,
            candidates_per_face=args.candidates_per_face,
        )
        locked = load_placements(args.locked) if args.locked else None
        if args.scheduler and locked is not None:
            raise PlannerError("--locked is not supported with --scheduler; plan in one process")
        if not args.scheduler:
            step(0.05, "valuing the assets")
            values = value_assets(
                assets, zones=zones, rate_card=args.rates, terms=args.terms, **extra
            )
            result = plan(
                assets,
                campaigns,
                policy,
                sites=sites,
                values=values,
                zones=zones,
                locked=locked,
                objective=args.objective,
                settings=settings,
                solver=solver,
                terms=terms,
                rate_card=args.rates,
                progress=lambda fraction, message: step(0.1 + 0.9 * fraction, message),
            )
    if args.scheduler:  # Dask shows its own progress
        national = _plan_national(
            args, policy, assets, sites, zones, campaigns, settings, solver, extra
        )
        code = _report_plan(national.plan, args.out)
        if args.report:
            _write_report(args, national.plan, None, policy)
        return code
    code = _report_plan(result, args.out)
    if args.report:
        _write_report(args, result, values, policy)
    return code


def _plan_national(args, policy, assets, sites, zones, campaigns, settings, solver, extra):
    """Value, check and plan on the Dask cluster ``--scheduler`` names, region by region.

    Eligibility and valuation are partitioned (`planner.scale.partitioned_eligibility`,
    `planner.scale.partitioned_value_assets`); the plan is decomposed into regional solves
    (`planner.scale.national.plan_national`). Prints the regional sub-problems, what the
    border pass did and the audit.

    Returns
    -------
    NationalPlan
        The national plan (its ``plan`` is reported like a one-process plan).
    """
    from planner.scale import connect, partitioned_eligibility_and_values, plan_national
    from planner.value.concession import load_terms

    cluster = cluster_settings(args)
    scale = {"cluster": cluster, "cell_m": args.cell_km * 1000}
    with connect(cluster) as client:
        elig, values = partitioned_eligibility_and_values(
            assets,
            sites,
            policy,
            zones=zones,
            rate_card=args.rates,
            terms=args.terms,
            client=client,
            **scale,
            **extra,
        )
        national = plan_national(
            assets,
            campaigns,
            policy,
            values=values,
            sites=sites,
            eligibility=elig,
            regions=args.regions,
            region_km=args.region_km,
            objective=args.objective,
            settings=settings,
            solver=solver,
            terms=load_terms(args.terms),
            rate_card=args.rates,
            client=client,
            cluster=cluster,
        )
    print(national.regions.to_string(index=False))
    print(
        f"Border pass: {national.border}; audit: {len(national.violations)} violation(s); "
        f"campaign rules broken: {len(national.breaches)}"
    )
    return national


def _report_plan(result, out: str) -> int:
    """Print the plan in words and, when there is one, write it.

    Parameters
    ----------
    result
        The `planner.plan.Plan`.
    out
        Plan file: ``.gpkg`` gets layers ``placements`` (one row per booked face and
        cycle, with the asset's point), ``campaigns`` (delivery per campaign, with its
        modelled universe, reach, cover, frequency, GRPs and j+ reach when there are
        zones) and ``summary`` (one row of KPIs, the plan's de-duplicated reach among
        them); ``.xlsx`` the same as sheets; single-table formats
        such as ``.csv`` the placements only.

    Returns
    -------
    int
        `EXIT_OK` (0) when a solved plan is written; `EXIT_TIME_LIMIT` (3) when the
        solver found no plan in time (the heuristic's fallback plan is written when
        there is one); `EXIT_FOUND` (1) when no plan exists (nothing written).
    """
    print(_plan_text(result))
    if not result.ok:
        return EXIT_TIME_LIMIT if result.status == "TIME_LIMIT" else EXIT_FOUND
    layers = {
        "placements": result.placements,
        "campaigns": result.campaigns,
        "summary": result.summary(),
    }
    written, _ = write_output(layers, out)
    print(f"Wrote {written}")
    return EXIT_TIME_LIMIT if result.status == "TIME_LIMIT" else EXIT_OK


def _plan_text(result) -> str:
    """Summarise a plan in plain words, one fact a line.

    The status, method and seconds; with a plan, the placements, gross sales and council
    revenue (the terms' revenue share of net sales) in the plan's currency, impacts and
    modelled reach and frequency (the plan's de-duplicated reach, cover, frequency and
    GRPs, then each campaign's), the objective with its best bound (and where it comes
    from) and gap, the starting plan's sales and whether the plan is reproducible; then
    the explanation (why there is no plan, or what to change) and the notes (campaigns
    left out).

    Parameters
    ----------
    result
        The `planner.plan.Plan`.

    Returns
    -------
    str
        Lines joined by newlines, without a final newline.
    """
    lines = [f"Plan status: {result.status} ({result.method}, {result.seconds:.1f} s)"]
    if result.ok:
        cur = result.currency
        lines += [
            f"  placements: {len(result.placements):,}",
            f"  gross sales: {result.sales:,.0f} {cur}; council revenue (revenue share of net "
            f"sales): {result.council_revenue:,.0f} {cur}",
            f"  impacts: {result.impacts:,} (modelled estimate)",
            *_reach_lines(result),
            f"  objective {result.objective_name}: {result.objective:,.0f} ({result.bound_text})",
        ]
        if "revenue" in result.greedy:
            lines.append(
                "  starting plan (greedy + repair + local search) sales: "
                f"{result.greedy['revenue']:,.0f} {cur}"
            )
        lines.append(
            "  reproducible: yes (same inputs and seed, same plan)"
            if getattr(result, "reproducible", True)
            else "  reproducible: no (fast search, or the time limit's wall-clock safety stop "
            "cut the deterministic search)"
        )
    lines += [f"  {text}" for text in result.explanation + result.notes]
    return "\n".join(lines)


def _reach_lines(result) -> list[str]:
    """Describe the plan's and each campaign's modelled reach and frequency, a line each.

    The plan's reach is de-duplicated (people who see at least one of its ads); without
    demand zones there is no universe, and the line says how to get one.
    """
    if result.universe <= 0:
        return ["  reach: not modelled (give --zones with population for reach and frequency)"]
    lines = [
        f"  reach (modelled, de-duplicated): {result.reach:,} of {result.universe:,} people "
        f"({result.cover_pct:.1f}% cover), average frequency {result.avg_frequency:.1f}, "
        f"{result.grps:,.0f} GRPs"
    ]
    table = result.campaigns
    if "cover_pct" not in table.columns:
        return lines
    for row in table.itertuples(index=False):
        if row.faces_booked:
            lines.append(
                f"    {row.campaign_id}: reach {row.reach:,.0f} of {row.universe:,.0f} "
                f"({row.cover_pct:.1f}%), frequency {row.avg_frequency:.1f}, "
                f"{row.grps:,.0f} GRPs, 3+ reach {getattr(row, 'reach_3plus', math.nan):,.0f}"
            )
    return lines


# --- printable report -------------------------------------------------------------------------


def _add_report_option(parser: argparse.ArgumentParser, what: str) -> None:
    """Add ``--report FILE.html``: a one-page printable report beside ``--out``.

    Parameters
    ----------
    parser
        The subcommand's parser; changed in place.
    what
        What the report holds, for the help text (``"plan and valuation"``).
    """
    parser.add_argument(
        "--report",
        metavar="FILE.html",
        help=f"also write a one-page printable {what} report (HTML for A4, no network "
        "resources; print it to PDF from a browser)",
    )


def _check_report_path(report: str | None) -> None:
    """Refuse a ``--report`` that is not ``.html`` before any long work starts.

    Raises
    ------
    PlannerError
        When ``report`` does not end in ``.html`` or ``.htm``.
    """
    if report and not report.lower().endswith((".html", ".htm")):
        raise PlannerError(
            f"--report '{report}': the report is HTML; give a file ending in .html "
            "(print it to PDF from a browser)"
        )


def _write_report(args: argparse.Namespace, result, values, policy, assumptions=None) -> None:
    """Write the printable report (`planner.plan_report.plan_report`) to ``--report``.

    Written atomically (`planner.io.writers.write_report`), also when there is no plan:
    the page then says why. The assumptions are those of ``--rates`` and ``--terms``.

    Parameters
    ----------
    args
        ``report``, ``rates`` and ``terms`` (and ``campaigns`` for the subtitle when set).
    result
        The `planner.plan.Plan`, or None (``value``: a valuation-only report).
    values
        The `value_assets` table, or None.
    policy
        The `planner.policy.load.Policy`, or None.
    assumptions
        `assumptions_table` output; made from ``--rates`` and ``--terms`` when None.
    """
    from datetime import date

    from planner.io.writers import write_report
    from planner.plan_report import plan_report
    from planner.value.valuation import assumptions_table

    if assumptions is None:
        assumptions = assumptions_table(rate_card=args.rates, terms=args.terms)
    said = [f"Policy: {policy.name}" if policy is not None else ""]
    said.append(f"campaigns: {args.campaigns}" if getattr(args, "campaigns", None) else "")
    page = plan_report(
        result,
        values,
        policy=policy,
        assumptions=assumptions,
        title="Plan and valuation report" if result is not None else "Valuation report",
        subtitle="; ".join(s for s in said if s),
        made_on=date.today(),
    )
    print(f"Wrote {write_report(page, args.report)} (printable report)")


# --- demo ---------------------------------------------------------------------------------


def add_demo(sub: argparse._SubParsersAction) -> None:
    """Add the ``demo`` subcommand: the whole chain on the bundled demo.

    Options: ``--out DIR`` (required), ``--policy`` (default ``uk-cap-code``),
    ``--objective`` (default ``revenue>reach``) and ``--time-limit`` (solver seconds,
    default 20).

    Parameters
    ----------
    sub
        The subparsers of the main parser; the new parser's handler is `_run_demo`.
    """
    p = sub.add_parser(
        "demo",
        help="run the whole chain on the bundled Helsinki demo and write the results",
        description=(
            "Load the bundled demo (Helsinki centre, OpenStreetMap), check eligibility under "
            "a policy, value the assets, plan the demo campaigns, audit the plan and write "
            "plan.gpkg (styled for QGIS), placements.parquet (GeoParquet), values.gpkg, "
            "eligibility.csv, map.html, report.html (one-page printable report) and "
            "summary.txt to DIR."
        ),
        epilog=example("python -m planner demo --out demo-output"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--policy", default="uk-cap-code", help="policy preset or .toml file")
    p.add_argument("--objective", default="revenue>reach", help="objective (see plan --help)")
    p.add_argument(
        "--time-limit", type=positive_float, default=20.0, help="solver seconds (default 20)"
    )
    p.set_defaults(handler=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    """Run `planner.demo.run_demo` into ``--out`` and print its summary.

    Reads the bundled Helsinki demo (OpenStreetMap data, © OpenStreetMap contributors,
    ODbL) and the policy. Writes to ``DIR`` (created when needed): ``values.gpkg``,
    ``eligibility.csv``, ``report.html`` (the printable plan and valuation report) and
    ``summary.txt``, and with a plan also ``plan.gpkg``, ``placements.parquet`` and
    ``map.html``. Prints the summary text; shows a progress bar on a terminal (each step:
    loading, eligibility, valuation, planning, writing), none when stderr is not one.

    Parameters
    ----------
    args
        ``out``, ``policy``, ``objective`` and ``time_limit``.

    Returns
    -------
    int
        0 when the demo has a plan and its audit finds no violation; 1 otherwise. Bad
        input raises instead (exit 2 in `planner.cli.main`).

    Raises
    ------
    PlannerError
        When ``--out`` is an existing file, or the objective is not understood.
    PolicyError
        When the policy is unknown or invalid.
    """
    from pathlib import Path

    from planner.demo import run_demo

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise PlannerError(f"--out '{out}' is a file; give a folder for the demo's outputs")
    bar, update = progress_bar("demo")
    try:
        result = run_demo(
            out,
            policy=args.policy,
            objective=args.objective,
            time_limit=args.time_limit,
            progress=update,
        )
    finally:
        bar.close()
    print(result.text)
    return EXIT_OK if result.ok else EXIT_FOUND
