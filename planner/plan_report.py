"""A one-page printable report of a plan and a valuation, as a self-contained HTML page.

Pure: `plan_report` returns the page as a string (inline CSS, the chart as inline SVG, no
script and no network resource); `planner.io.writers.write_report` writes it. The page is
laid out for A4 and prints on one sheet for a plan of up to a dozen campaigns; the
browser's "Print, Save as PDF" makes the PDF. Every figure of audience and value is
labelled as a modelled estimate, with the assumptions it rests on.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Sequence
from datetime import date

import pandas as pd

from planner.calendar import DEFAULT_START
from planner.plan import ESTIMATE_NOTE, Plan
from planner.policy.rules import Policy
from planner.report import plan_by_cycle
from planner.value.valuation import ESTIMATE_NOTE as VALUE_NOTE

__all__ = ["REPORT_TITLE", "format_money", "plan_report"]

#: The report's default heading.
REPORT_TITLE = "Plan and valuation report"
#: Currency symbols written before amounts; other currencies are written as their ISO code.
_SYMBOLS = {"EUR": "€", "GBP": "£", "USD": "$"}
#: The assumptions shown on the page (group, name prefix); `assumptions_table` has them all.
_KEY_ASSUMPTIONS = (
    ("valuation", "cycles_per_year"),
    ("valuation", "sell_through_central"),
    ("valuation", "audience_uncertainty"),
    ("rate card", "agency_commission"),
    ("rate card", "pricing"),
    ("terms", "revenue_share"),
    ("terms", "minimum_annual_guarantee"),
    ("terms", "fixed_annual_fee"),
)


def format_money(amount: float | None, currency: str) -> str:
    """Write an amount of money as people read it: ``€12,345``, ``CHF 12,345``.

    Parameters
    ----------
    amount
        The amount in major units (euros, pounds, ...); None or NaN for unknown.
    currency
        ISO 4217 code; EUR, GBP and USD are written with their symbol, any other code
        before the number (several codes joined by ``", "`` too).

    Returns
    -------
    str
        Rounded to whole units with thousands separators; ``n/a`` when unknown.

    Examples
    --------
    >>> format_money(-14_881.6, "EUR")
    '-€14,882'
    >>> format_money(250, "CHF")
    'CHF 250'
    """
    if amount is None or not math.isfinite(float(amount)):
        return "n/a"
    sign = "-" if round(float(amount)) < 0 else ""
    number = f"{abs(float(amount)):,.0f}"
    symbol = _SYMBOLS.get(currency)
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{currency} {number}".strip()


def plan_report(
    result: Plan | None = None,
    values: pd.DataFrame | None = None,
    *,
    policy: Policy | None = None,
    assumptions: pd.DataFrame | None = None,
    title: str = REPORT_TITLE,
    subtitle: str = "",
    made_on: date | None = None,
    top: int = 5,
    first_monday: date = DEFAULT_START,
) -> str:
    """Build the one-page printable report of a plan and a valuation (HTML).

    Sections: the plan's KPIs (council revenue and gross sales in the plan's currency,
    placements, fill rate, impacts, de-duplicated reach, cover, average frequency, GRPs
    and how good the plan is: status, gap and where the bound comes from); gross sales
    by cycle (inline SVG bars); one row per campaign (faces, cycles, sales, impacts,
    reach, frequency); the valuation (assets, modelled annual value low-central-high,
    council income, the ``top`` sites by value); the policy and its rules; and the
    modelled-estimates note with the key assumptions and sources. Without a plan, or with
    a plan that has no placements, the plan section says so in words; without values the
    valuation section says how to get them.

    Parameters
    ----------
    result
        A plan (`planner.plan`), or None for a valuation-only report.
    values
        `planner.value_assets` output (one row per asset; ``attrs`` carry the rate card,
        terms, commission and notes), or None.
    policy
        The policy in force, or None.
    assumptions
        `planner.value.valuation.assumptions_table` output for the rate card and terms
        used; its key rows are printed (cycles a year, sell-through, audience
        uncertainty, commission, revenue share, guarantee, fee, reach model). None to list
        only what ``values.attrs`` record.
    title, subtitle
        Heading and the line under it (e.g. the council, the area or the scenario);
        escaped, like every text from the user's data.
    made_on
        Date printed in the heading; None prints none (the page stays a pure function
        of its inputs).
    top
        Number of highest-value sites listed.
    first_monday
        The Monday cycle 1 starts on (for the cycle dates of the chart).

    Returns
    -------
    str
        A complete HTML5 document (UTF-8) with inline CSS and SVG: no script, no external
        resource, A4 print layout (``@page``).

    Examples
    --------
    >>> page = plan_report(result, values, policy=policy, subtitle="Greenwich, 2027")
    >>> write_report(page, "report.html")
    PosixPath('report.html')
    """
    head = " · ".join(t for t in (subtitle, f"made {made_on:%-d %b %Y}" if made_on else "") if t)
    body = [
        "<header>",
        f'<p class="badge">Modelled estimates</p><h1>{_e(title)}</h1>',
        f'<p class="sub">{_e(head)}</p>' if head else "",
        "</header>",
        _plan_section(result, first_monday),
        _valuation_section(values, top),
        _policy_section(policy),
        _notes_section(result, values, assumptions),
    ]
    return _page(title, "\n".join(part for part in body if part))


# --- sections -------------------------------------------------------------------------------


def _plan_section(result: Plan | None, first_monday: date) -> str:
    """Show the plan's KPIs, sales by cycle and campaigns; say so when there is no plan."""
    if result is None:
        return _section(
            "Plan", '<p class="empty">No plan in this report: solve a plan to add one.</p>'
        )
    if not result.ok:
        reasons = "".join(f"<li>{_e(line)}</li>" for line in result.explanation)
        text = (
            f'<p class="empty">No plan: {_e(_status_words(result))}.</p>'
            + (f"<ul>{reasons}</ul>" if reasons else "")
            + _notes_list(result.notes)
        )
        return _section("Plan", text)
    parts = [_kpi_grid(_plan_kpis(result))]
    if len(result.placements):
        parts.append(_cycle_chart(result, first_monday))
        parts.append(_campaign_table(result))
    else:
        parts.append('<p class="empty">The plan books no placements.</p>')
    parts.append(_notes_list(result.notes))
    return _section("Plan", "\n".join(parts))


def _plan_kpis(result: Plan) -> list[tuple[str, str, str]]:
    """(label, figure, small print) for each KPI tile of a plan."""
    cur = result.currency
    reached = result.universe > 0
    return [
        ("Council revenue", format_money(result.council_revenue, cur), "share of net sales"),
        ("Gross sales", format_money(result.sales, cur), "paid by advertisers"),
        ("Placements", f"{len(result.placements):,}", "face-cycles booked"),
        ("Fill rate", _percent(result.fill_rate), "of face-cycles on offer"),
        ("Impacts", f"{result.impacts:,}", "modelled"),
        (
            "People reached",
            f"{result.reach:,}" if reached else "n/a",
            f"of {result.universe:,}, modelled" if reached else "needs demand zones",
        ),
        ("Cover", _percent(result.cover_pct / 100) if reached else "n/a", "of residents"),
        ("Avg frequency", _number(result.avg_frequency, 1) if reached else "n/a", "per person"),
        ("GRPs", _number(result.grps, 0) if reached else "n/a", "cover % x frequency"),
        ("Status", _status_words(result), _bound_words(result)),
    ]


def _status_words(result: Plan) -> str:
    """How good the plan is, in words: optimal, feasible with its gap, or no plan."""
    if result.fallback:
        return "heuristic plan (time limit)"
    if result.status == "OPTIMAL":
        return "optimal"
    if result.status == "FEASIBLE":
        gap = result.gap
        return f"feasible, gap {gap:.1%}" if math.isfinite(gap) else "feasible, gap unknown"
    if result.status == "TIME_LIMIT":
        return "no plan found in the time allowed"
    if result.status == "INFEASIBLE":
        return "no plan satisfies every rule"
    return result.status.lower()


def _bound_words(result: Plan) -> str:
    """Where the plan's best bound comes from, for the status tile."""
    if result.bound_source in ("", "none") or not math.isfinite(result.best_bound):
        return "no proven bound"
    return f"bound: {result.bound_source}; {result.seconds:,.1f} s"


def _campaign_table(result: Plan) -> str:
    """One row per campaign: faces, cycles, sales, impacts, reach and frequency."""
    table = result.campaigns
    cur = result.currency
    head = (
        "<tr><th>Campaign</th><th>Advertiser</th><th class=n>Faces</th><th class=n>Cycles</th>"
        f"<th class=n>Sales ({_e(cur)})</th><th class=n>Impacts</th><th class=n>Reach</th>"
        "<th class=n>Frequency</th></tr>"
    )
    rows = []
    for row in table.to_dict("records"):
        reach = row.get("reach", math.nan)
        frequency = row.get("avg_frequency", math.nan)
        rows.append(
            "<tr>"
            f"<td>{_e(row.get('campaign_id', ''))}</td><td>{_e(row.get('advertiser', ''))}</td>"
            f"<td class=n>{_number(row.get('faces_booked'), 0)}</td>"
            f"<td class=n>{_number(row.get('cycles'), 0)}</td>"
            f"<td class=n>{format_money(row.get('spend'), cur)}</td>"
            f"<td class=n>{_number(row.get('impacts'), 0)}</td>"
            f"<td class=n>{_number(reach, 0)}</td><td class=n>{_number(frequency, 1)}</td>"
            "</tr>"
        )
    caption = (
        "<caption>Delivery per campaign. Faces: face-cycles booked over the flight. Reach "
        "and frequency: modelled, over each campaign's universe.</caption>"
    )
    return f"<table>{caption}<thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"


def _valuation_section(values: pd.DataFrame | None, top: int) -> str:
    """Show the portfolio's modelled annual value and income, and its best sites."""
    if values is None or not len(values):
        text = (
            '<p class="empty">No valuation in this report: value the assets '
            "(planner.value_assets, the Value page or <code>python -m planner value</code>) "
            "to add one.</p>"
        )
        return _section("Valuation (a year, modelled)", text)
    cur = _values_currency(values)
    low, central, high = (_total(values, f"annual_value_{s}") for s in ("low", "central", "high"))
    income = _total(values, "council_income_central")
    faces = _total(values, "faces")
    kpis = [
        ("Assets", f"{len(values):,}", f"{faces:,.0f} faces" if math.isfinite(faces) else ""),
        ("Annual value", format_money(central, cur), "gross media value, central case"),
        ("Range", f"{format_money(low, cur)} to {format_money(high, cur)}", "low to high case"),
        ("Council income", format_money(income, cur), "central case, under the terms"),
    ]
    deal = [
        f"concession terms: {values.attrs['terms']}" if values.attrs.get("terms") else "",
        f"rate card: {values.attrs['rate_card']}" if values.attrs.get("rate_card") else "",
    ]
    said = "; ".join(d for d in deal if d)
    text = _kpi_grid(kpis) + (
        f'<p class="muted">{_e(said[:1].upper() + said[1:])}.</p>' if said else ""
    )
    return _section("Valuation (a year, modelled)", text + _top_sites(values, top))


def _top_sites(values: pd.DataFrame, top: int) -> str:
    """List the ``top`` assets by central annual value, with their name, type and ward."""
    if top <= 0 or "annual_value_central" not in values:
        return ""
    cur = _values_currency(values)
    best = values.assign(
        _v=pd.to_numeric(values["annual_value_central"], errors="coerce").fillna(0.0)
    )
    best = best.sort_values("_v", ascending=False, kind="stable").head(top)
    rows = []
    for row in best.to_dict("records"):
        rows.append(
            "<tr>"
            f"<td>{_e(row.get('asset_id', ''))}</td><td>{_e(_blank(row.get('name')))}</td>"
            f"<td>{_e(_blank(row.get('asset_type')))}</td><td>{_e(_blank(row.get('ward')))}</td>"
            f"<td class=n>{format_money(row['_v'], cur)}</td>"
            f"<td class=n>{format_money(row.get('council_income_central'), cur)}</td>"
            "</tr>"
        )
    head = (
        "<tr><th>Asset</th><th>Name</th><th>Type</th><th>Ward</th>"
        "<th class=n>Annual value</th><th class=n>Council income</th></tr>"
    )
    caption = f"<caption>Top {len(best)} sites by modelled annual value (central case)</caption>"
    return f"<table>{caption}<thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"


def _policy_section(policy: Policy | None) -> str:
    """Show the policy in force: its name, aim, source and each rule in words."""
    if policy is None:
        return ""
    rules = "".join(f"<li>{_e(_rule_words(rule))}</li>" for rule in policy.rules)
    text = f"<p><strong>{_e(policy.name)}</strong>"
    text += f": {_e(policy.description)}" if policy.description else ""
    text += f" <span class=muted>Source: {_e(policy.source)}</span>" if policy.source else ""
    columns = ' class="rules"' if len(policy.rules) > 2 else ""  # two columns for many
    text += "</p>"
    text += f"<ul{columns}>{rules}</ul>" if rules else "<p>No rules: every asset is open.</p>"
    return _section("Policy in force", text)


def _rule_words(rule: object) -> str:
    """Say one rule in a sentence: ``cap-schools-100m: no alcohol adverts within 100 m``."""
    kind = getattr(rule, "type", "")
    what = ", ".join(c.replace("_", " ") for c in getattr(rule, "categories", ()) or ())
    if kind == "ban":
        text = f"no {what} adverts"
    elif kind == "exclusion":
        near = ", ".join(rule.near)  # type: ignore[attr-defined]
        text = f"no {what} adverts within {rule.within_m:,.0f} m of a {near}"  # type: ignore[attr-defined]
    elif kind == "density":
        text = (
            f"at most {rule.max_faces} faces booked within "  # type: ignore[attr-defined]
            f"{rule.within_m:,.0f} m of any booked asset"  # type: ignore[attr-defined]
        )
    elif kind == "share":
        text = f"{what} at most {rule.max_share:.0%} of each cycle's faces"  # type: ignore[attr-defined]
    elif kind == "period":
        text = f"no {what} adverts from {rule.start:%-d %b %Y} to {rule.end:%-d %b %Y}"  # type: ignore[attr-defined]
    else:
        text = kind
    scope = getattr(rule, "asset_types", None)
    digital = getattr(rule, "digital", None)
    if scope:
        text += f" (on {', '.join(scope)})"
    if digital is not None:
        text += " (digital faces only)" if digital else " (classic faces only)"
    return f"{getattr(rule, 'id', '')}: {text}"


def _notes_section(
    result: Plan | None, values: pd.DataFrame | None, assumptions: pd.DataFrame | None
) -> str:
    """Write the modelled-estimates note: what is modelled, the assumptions, their sources."""
    notes = [ESTIMATE_NOTE, f"Values: {VALUE_NOTE}."]
    if values is not None:
        attrs = values.attrs
        if attrs.get("impacts_note"):
            notes.append(f"Audience: {attrs['impacts_note']}.")
        pricing = [
            f"rate card: {attrs['rate_card']}" if attrs.get("rate_card") else "",
            f"agency commission {float(attrs['agency_commission']):.0%}"
            if attrs.get("agency_commission") is not None
            else "",
            f"contract year {attrs['contract_year']}" if attrs.get("contract_year") else "",
        ]
        if any(pricing):
            notes.append("Prices: " + "; ".join(p for p in pricing if p) + ".")
        notes += [str(w) for w in attrs.get("warnings", []) or []]
    if result is not None and result.ok and result.universe > 0:
        model = result.campaigns.attrs.get("note") or (
            "modelled with a negative binomial exposure model over the demand zones' residents"
        )
        notes.append(f"Reach and frequency, de-duplicated across faces and campaigns: {model}.")
    notes.append(
        "Every assumption with its source: planner.assumptions_table, the Value page's "
        "assumptions table, or docs/valuation.md; the key ones:"
        if assumptions is not None and len(assumptions)
        else "Every assumption with its source: planner.assumptions_table, the Value "
        "page's assumptions table, or docs/valuation.md."
    )
    text = "<ul>" + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>"
    text += _assumption_table(assumptions)
    return (
        f'<section class="estimate"><h2>Modelled estimates: how to read them</h2>{text}</section>'
    )


def _assumption_table(assumptions: pd.DataFrame | None) -> str:
    """Tabulate the key rows of an assumptions table (`_KEY_ASSUMPTIONS`) with their source."""
    if assumptions is None or not len(assumptions):
        return ""
    group = assumptions["group"].astype(str)
    name = assumptions["name"].astype(str)
    keep = pd.Series(False, index=assumptions.index)
    for g, prefix in _KEY_ASSUMPTIONS:
        keep |= group.str.startswith(g) & name.str.startswith(prefix)
    cells, said = [], ""
    for r in assumptions[keep].to_dict("records"):
        # Rows of one source (the terms' bands, guarantee and fee) say it once.
        text = "" if r["description"] == said else r["description"]
        said = r["description"]
        cells.append(
            f"<tr><td>{_e(r['name'])}</td><td class=n>{_e(r['value'])}</td>"
            f"<td>{_e(r['unit'])}</td><td>{_e(text)}</td></tr>"
        )
    rows = "".join(cells)
    if not rows:
        return ""
    head = (
        "<tr><th>Assumption</th><th class=n>Value</th><th>Unit</th><th>Meaning and source</th></tr>"
    )
    return f'<table class="assumptions"><thead>{head}</thead><tbody>{rows}</tbody></table>'


def _notes_list(notes: Sequence[str], *, most: int = 5) -> str:
    """List the plan's notes (campaigns left out and why); nothing without notes.

    Notes that differ only in their cycle are said once with every cycle ("in cycles 2,
    3"), and at most ``most`` are listed, then how many more, so the page stays one page.
    """
    merged = _merge_cycles(notes)
    shown = [f"<li>{_e(n)}</li>" for n in merged[:most]]
    if len(merged) > most:
        shown.append(f"<li>and {len(merged) - most} more (shown with the plan)</li>")
    return f'<ul class="notes">{"".join(shown)}</ul>' if shown else ""


_CYCLE = re.compile(r"\bcycle (\d+)\b")


def _merge_cycles(notes: Sequence[str]) -> list[str]:
    """Say notes that differ only in their cycle number once, with every cycle, in order."""
    groups: dict[str, list[str]] = {}
    for note in notes:
        cycles = _CYCLE.findall(note)
        key = _CYCLE.sub("cycle {}", note) if len(cycles) == 1 else note
        groups.setdefault(key, []).extend(cycles if len(cycles) == 1 else [])
    merged = []
    for key, cycles in groups.items():
        if len(cycles) > 1:
            key = key.replace("cycle {}", "cycles " + ", ".join(cycles), 1)
        merged.append(key.replace("cycle {}", f"cycle {cycles[0]}") if len(cycles) == 1 else key)
    return merged


# --- chart ------------------------------------------------------------------------------------

_CHART_W, _CHART_H, _AXIS = 700, 70, 19


def _cycle_chart(result: Plan, first_monday: date) -> str:
    """Draw gross sales in each cycle as SVG bars, labelled with the cycle and its first day."""
    by_cycle = plan_by_cycle(result, first_monday=first_monday)
    totals = by_cycle.groupby(["cycle", "cycle_start"], sort=True)["sales"].sum().reset_index()
    if totals.empty:
        return ""
    peak = float(totals["sales"].max()) or 1.0
    n = len(totals)
    slot = (_CHART_W - 60) / n
    bar = max(min(slot * 0.7, 60.0), 1.0)
    label_every = max(1, math.ceil(n / 14))
    cur = result.currency
    marks = []
    for i, (cycle, start, sales) in enumerate(
        zip(
            totals["cycle"].astype(int),
            totals["cycle_start"],
            totals["sales"].astype(float),
            strict=True,
        )
    ):
        h = (_CHART_H - _AXIS - 14) * sales / peak
        x = 60 + i * slot + (slot - bar) / 2
        y = _CHART_H - _AXIS - h
        tip = f"cycle {cycle} ({start:%-d %b}): {format_money(sales, cur)}"
        marks.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="#2f6690">'
            f"<title>{_e(tip)}</title></rect>"
        )
        if i % label_every == 0:
            cx = x + bar / 2
            marks.append(
                f'<text x="{cx:.1f}" y="{_CHART_H - _AXIS + 10}" text-anchor="middle">'
                f"{cycle}</text>"
                f'<text x="{cx:.1f}" y="{_CHART_H - _AXIS + 19}" text-anchor="middle" '
                f'class="d">{start:%-d %b}</text>'
            )
    axis = (
        f'<line x1="58" y1="{_CHART_H - _AXIS}" x2="{_CHART_W}" y2="{_CHART_H - _AXIS}" '
        'stroke="#555" stroke-width="0.6"/>'
        f'<text x="54" y="12" text-anchor="end">{_e(format_money(peak, cur))}</text>'
        f'<text x="54" y="{_CHART_H - _AXIS}" text-anchor="end">0</text>'
    )
    label = f"Gross sales by cycle, {cur}; peak {format_money(peak, cur)}"
    return (
        f"<figure><figcaption>Gross sales in each 2-week cycle ({_e(cur)}; cycle number "
        "and first day)</figcaption>"
        f'<svg viewBox="0 0 {_CHART_W} {_CHART_H}" role="img" aria-label="{_e(label)}" '
        f'xmlns="http://www.w3.org/2000/svg">{axis}{"".join(marks)}</svg></figure>'
    )


# --- page and small formatters -----------------------------------------------------------------

_CSS = """
@page { size: A4; margin: 9mm 12mm; }
* { box-sizing: border-box; }
html { font: 8.5pt/1.25 "Helvetica Neue", Arial, "Liberation Sans", sans-serif; color: #1b1b1b; }
body { margin: 0 auto; max-width: 186mm; }
@media screen { body { padding: 10mm 0; } }
@media print { html { -webkit-print-color-adjust: exact; print-color-adjust: exact; } }
header { border-bottom: 1.5pt solid #1b1b1b; margin-bottom: 5pt; padding-bottom: 3pt; }
h1 { font-size: 14pt; margin: 0; }
h2 { font-size: 10pt; margin: 0 0 3pt; border-bottom: 0.6pt solid #888; }
.sub, .muted, caption, figcaption { color: #555; }
p.muted { font-size: 7.4pt; }
.badge { float: right; margin: 2pt 0 0; padding: 1pt 5pt; border: 0.8pt solid #a35d00;
  color: #a35d00; border-radius: 3pt; font-weight: 600; }
section { margin-top: 5pt; break-inside: avoid; }
.kpis { display: grid; grid-template-columns: repeat(5, 1fr); gap: 3pt; margin-bottom: 4pt; }
.valuation .kpis { grid-template-columns: repeat(4, 1fr); }
.kpi { border: 0.6pt solid #bbb; border-radius: 3pt; padding: 1.5pt 5pt; }
.kpi .l { font-size: 6.8pt; text-transform: uppercase; letter-spacing: 0.02em; color: #555; }
.kpi .v { font-size: 11pt; font-weight: 600; white-space: nowrap; }
.kpi .s { font-size: 6.8pt; color: #666; }
table { border-collapse: collapse; width: 100%; margin: 2pt 0 4pt; }
caption { text-align: left; font-size: 7.2pt; padding-bottom: 1pt; }
th, td { padding: 0.5pt 4pt; border-bottom: 0.5pt solid #d4d4d4; text-align: left;
  vertical-align: top; }
th { font-size: 7.2pt; border-bottom: 0.8pt solid #777; }
.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
thead { display: table-header-group; }
tr { break-inside: avoid; }
figure { margin: 2pt 0 4pt; }
figcaption { font-size: 7.2pt; }
svg { width: 100%; height: auto; display: block; font-size: 8px; fill: #333; }
svg .d { font-size: 6.5px; fill: #777; }
p { margin: 2pt 0; }
ul.rules, .estimate ul { columns: 2; column-gap: 14pt; }
li { break-inside: avoid; }
ul { margin: 1pt 0 3pt; padding-left: 12pt; }
.empty { font-weight: 600; }
.estimate { border: 0.8pt solid #a35d00; background: #fff7e8; padding: 3pt 6pt; }
.estimate li, .assumptions td, .estimate p, ul.notes li { font-size: 7pt; }
code { font-size: 7.6pt; }
"""


def _page(title: str, body: str) -> str:
    """Wrap the sections in an HTML5 document with the print CSS inline."""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n{body}\n"
        "</body>\n</html>\n"
    )


def _section(heading: str, content: str) -> str:
    """Wrap content in a titled section, classed by its first word (``plan``, ...)."""
    css = heading.split()[0].lower()
    return f'<section class="{css}"><h2>{_e(heading)}</h2>\n{content}\n</section>'


def _kpi_grid(tiles: Iterable[tuple[str, str, str]]) -> str:
    """KPI tiles, each a label, a figure and a line of small print (all escaped)."""
    cells = [
        f'<div class="kpi"><div class="l">{_e(label)}</div><div class="v">{_e(figure)}</div>'
        f'<div class="s">{_e(small)}</div></div>'
        for label, figure, small in tiles
    ]
    return f'<div class="kpis">{"".join(cells)}</div>'


def _e(text: object) -> str:
    """Escape text for HTML, quotes included (every user-given string goes through here)."""
    return html.escape(str(text), quote=True)


def _blank(value: object) -> object:
    """Return an empty string for a missing cell (None or NaN), else the cell."""
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _percent(fraction: float) -> str:
    """``75.0%`` from 0.75; ``n/a`` when unknown."""
    return f"{100 * fraction:.1f}%" if math.isfinite(fraction) else "n/a"


def _number(value: object, digits: int) -> str:
    """Write a number with thousands separators and ``digits`` decimals; ``n/a`` if missing."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "n/a"
    return f"{number:,.{digits}f}" if math.isfinite(number) else "n/a"


def _total(values: pd.DataFrame, column: str) -> float:
    """Sum of a values column; NaN when the column is missing."""
    if column not in values:
        return math.nan
    return float(pd.to_numeric(values[column], errors="coerce").fillna(0.0).sum())


def _values_currency(values: pd.DataFrame) -> str:
    """Return the values' currencies, comma-joined (one, normally)."""
    if "currency" not in values:
        return ""
    return ", ".join(sorted({str(c) for c in values["currency"].dropna()}))
