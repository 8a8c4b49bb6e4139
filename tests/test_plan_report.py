"""The one-page printable report (`planner.plan_report`), its writer, the CLI's ``--report``
and the progress bars of the long commands."""

from __future__ import annotations

import io
import pathlib
import re
import sys
import threading
from dataclasses import replace
from datetime import date

import pytest
from conftest import _campaign, make_assets, make_zones, offline_page

import planner
from planner.cli import main
from planner.cli.common import progress_bar, progress_steps
from planner.errors import PlannerError
from planner.io.writers import write_report
from planner.optimise.settings import SolverSettings
from planner.plan import ESTIMATE_NOTE, plan
from planner.plan_report import format_money, plan_report
from planner.policy.load import Policy, load_policy
from planner.policy.rules import BanRule
from planner.value.valuation import assumptions_table, value_assets

FAST = SolverSettings(time_limit=2)
ROW = [(0, 0), (300, 0), (600, 0)]
EVIL = "<script>alert('x')</script>"


@pytest.fixture(scope="module")
def planned():
    """Three named assets (one name a script), two campaigns, zones: every face booked."""
    assets = make_assets(
        ROW,
        price=[10.0, 20.0, 30.0],
        impacts=[100.0, 200.0, 300.0],
        name=["High St", EVIL, "Park Rd"],
        ward=["North", "South", "South"],
    )
    camps = [
        _campaign("C1", advertiser="Harbour & Bank", cycles=(1, 2), min_faces=3, max_faces=3),
        _campaign("C2", advertiser='<img src=x onerror="alert(1)">', cycles=(3,), max_faces=1),
    ]
    zones = make_zones([(0, 50), (600, 50)], population=[1000.0, 500.0])
    policy = Policy("No <b>payday</b> loans", rules=(BanRule("no-payday", ("payday_loans",)),))
    result = plan(assets, camps, policy, zones=zones, solver=FAST)
    values = value_assets(assets, zones=zones, rate_card="uk-default", terms="uk-default")
    return result, values, policy


def _page(planned, **options) -> str:
    result, values, policy = planned
    assumptions = assumptions_table(rate_card="uk-default", terms="uk-default")
    return plan_report(result, values, policy=policy, assumptions=assumptions, **options)


def test_the_report_shows_the_plan_kpis_with_their_currency(planned):
    result, _, _ = planned
    page = _page(planned)

    assert result.ok and len(result.placements) == 7
    for figure in (
        format_money(result.council_revenue, "GBP"),
        format_money(result.sales, "GBP"),
        f"{result.impacts:,}",
        f"{result.reach:,}",
        f"{100 * result.fill_rate:.1f}%",
        f"{result.cover_pct:.1f}%",
        f"{result.avg_frequency:,.1f}",
        f"{result.grps:,.0f}",
    ):
        assert figure in page, figure
    assert format_money(result.sales, "GBP").startswith("£")
    assert 'Placements</div><div class="v">7<' in page
    assert result.status.lower() in page  # "optimal" or "feasible, gap ..."
    assert f"bound: {result.bound_source}" in page


def test_the_report_has_a_row_per_campaign(planned):
    result, _, _ = planned
    page = _page(planned)
    rows = re.findall(r"<tr><td>(C\d)</td>.*?</tr>", page)

    assert rows == ["C1", "C2"]
    c1 = re.search(r"<tr><td>C1</td>.*?</tr>", page).group(0)
    spend = result.campaigns.set_index("campaign_id").loc["C1", "spend"]
    assert ">6<" in c1  # 3 faces in each of 2 cycles
    assert format_money(spend, "GBP") in c1


def test_the_report_summarises_the_valuation_and_top_sites(planned):
    _, values, _ = planned
    page = _page(planned, top=2)
    total = values["annual_value_central"].sum()

    assert "Valuation (a year, modelled)" in page
    assert format_money(total, "GBP") in page
    assert "Top 2 sites by modelled annual value" in page
    best = values.sort_values("annual_value_central", ascending=False)["asset_id"].iloc[0]
    assert f"<td>{best}</td>" in page


def test_the_report_says_what_is_modelled_and_on_what_assumptions(planned):
    page = _page(planned)

    assert "Modelled estimates" in page
    assert ESTIMATE_NOTE.replace("'", "&#x27;") in page
    for name in ("cycles_per_year", "sell_through_central", "agency_commission"):
        assert f"<td>{name}</td>" in page
    assert "no payday loans adverts" in page  # the policy's rule in words


def test_every_user_text_is_escaped(planned):
    page = _page(planned, title="Plan <i>A</i>", subtitle="Greenwich & Woolwich")

    assert "<script" not in page.lower()
    assert "<img" not in page and "<b>payday" not in page and "<i>A" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page or EVIL not in page
    assert "Harbour &amp; Bank" in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
    assert "No &lt;b&gt;payday&lt;/b&gt; loans" in page
    assert "Greenwich &amp; Woolwich" in page


def test_the_report_is_self_contained_and_laid_out_for_a4(planned):
    page = _page(planned, made_on=date(2026, 11, 30))

    assert page.startswith("<!DOCTYPE html>")
    assert "size: A4" in page and "@media print" in page
    assert "<svg" in page  # sales by cycle, inline
    assert not re.search(r"<(script|link|iframe|img)\b|<[^>]*\s(src|href)=|url\(", page)
    assert not re.findall(r"https?://(?!www\.w3\.org/2000/svg)", page)
    assert "made 30 Nov 2026" in page


def test_a_report_without_a_plan_or_values_still_reads_clearly():
    page = plan_report()

    assert "No plan in this report" in page
    assert "No valuation in this report" in page
    assert "Modelled estimates" in page


def test_a_plan_without_placements_says_so(planned):
    result, values, policy = planned
    empty = replace(result, placements=result.placements.iloc[0:0], sales=0.0, impacts=0)

    page = plan_report(empty, values, policy=policy)

    assert "The plan books no placements." in page
    assert "<svg" not in page
    assert "£0" in page


def test_an_infeasible_plan_gives_its_reasons():
    assets = make_assets(2)
    result = plan(assets, [_campaign("C1", min_faces=5, max_faces=5)], Policy("p"), solver=FAST)

    page = plan_report(result)

    assert not result.ok
    assert "No plan: no plan satisfies every rule." in page
    assert "C1" in page  # the explanation names the campaign


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (14_881.6, "EUR", "€14,882"),
        (-2_500, "GBP", "-£2,500"),
        (250, "CHF", "CHF 250"),
        (float("nan"), "EUR", "n/a"),
        (None, "EUR", "n/a"),
    ],
)
def test_money_has_its_currency_and_thousands(amount, currency, expected):
    assert format_money(amount, currency) == expected


# --- the writer and the command line ----------------------------------------------------------


def test_write_report_replaces_the_file_whole_or_not_at_all(tmp_path, monkeypatch):
    path = tmp_path / "report.html"
    path.write_text("old report", encoding="utf-8")

    def half_then_fail(self, text, encoding=None):
        with open(self, "w", encoding=encoding) as handle:
            handle.write(text[:50])
        raise OSError("No space left on device")

    monkeypatch.setattr(pathlib.Path, "write_text", half_then_fail)
    with pytest.raises(OSError, match="No space"):
        write_report("<!DOCTYPE html><p>new</p>" * 10, path)
    monkeypatch.undo()

    assert path.read_text(encoding="utf-8") == "old report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
    assert write_report("<p>new</p>", path) == path
    assert path.read_text(encoding="utf-8") == "<p>new</p>"


def test_write_report_refuses_other_endings(tmp_path):
    with pytest.raises(PlannerError, match=r"use \.html"):
        write_report("<p></p>", tmp_path / "report.pdf")


ASSETS = """asset_id,asset_type,format,faces,price_per_cycle,weekly_impacts,name,lon,lat
A1,bus_shelter,6-sheet,1,100,5000,<b>Hill</b> Rd,-0.1000,51.5000
A2,bus_shelter,6-sheet,1,100,5000,Mill Ln,-0.1100,51.5000
"""
SITES = "site_id,kind,name,lon,lat\nS1,school,Hill Primary,-0.1000,51.5003\n"
CAMPAIGNS = """campaign_id,advertiser,category,budget,cycles,min_faces,max_faces
C1,Bank,general,1000,1,1,2
"""


@pytest.fixture
def inputs(tmp_path):
    (tmp_path / "assets.csv").write_text(ASSETS, encoding="utf-8")
    (tmp_path / "campaigns.csv").write_text(CAMPAIGNS, encoding="utf-8")
    (tmp_path / "sites.csv").write_text(SITES, encoding="utf-8")
    return tmp_path


def _plan_argv(folder, *extra: str) -> list[str]:
    return [
        "plan",
        "--assets",
        str(folder / "assets.csv"),
        "--sites",
        str(folder / "sites.csv"),
        "--policy",
        "healthier-advertising",
        "--campaigns",
        str(folder / "campaigns.csv"),
        "--time-limit",
        "2",
        "--out",
        str(folder / "plan.csv"),
        *extra,
    ]


def test_plan_report_option_writes_the_printable_report(capsys, inputs):
    report = inputs / "out" / "report.html"

    code = main(_plan_argv(inputs, "--report", str(report)))
    out = capsys.readouterr().out

    page = report.read_text(encoding="utf-8")
    assert code == 0
    assert f"Wrote {report} (printable report)" in out
    assert "Plan and valuation report" in page and "£200" in page  # both faces, £100 each
    assert "Healthier advertising" in page and "&lt;b&gt;Hill&lt;/b&gt; Rd" in page
    assert sorted(p.name for p in report.parent.iterdir()) == ["report.html"]  # no temp left


def test_plan_report_that_is_not_html_stops_before_planning(capsys, inputs):
    code = main(_plan_argv(inputs, "--report", str(inputs / "report.pdf")))
    _, err = capsys.readouterr()

    assert code == 2
    assert "--report" in err and ".html" in err
    assert not (inputs / "plan.csv").exists()


def test_value_report_option_writes_a_valuation_report(capsys, inputs):
    report = inputs / "values.html"
    argv = ["value", "--assets", str(inputs / "assets.csv"), "--out", str(inputs / "v.csv")]

    code = main([*argv, "--report", str(report)])
    capsys.readouterr()

    page = report.read_text(encoding="utf-8")
    assert code == 0
    assert "<h1>Valuation report</h1>" in page and "No plan in this report" in page
    assert "Annual value" in page and "£" in page


# --- progress on a terminal ---------------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_steps_draw_on_a_terminal_and_stop_their_ticker(monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)

    with progress_steps("value") as step:
        step(0.3, "valuing the assets")
        step(0.6, "solution 5,587,364 (bound 6,563,728)")

    shown = terminal.getvalue()
    assert "value:  30%" in shown and "valuing the assets" in shown
    assert "found a plan, looking for a better one" in shown  # not minor units
    assert "00:00" in shown  # the elapsed time
    assert not [t for t in threading.enumerate() if t.name == "planner-progress"]


def test_progress_is_silent_off_a_terminal_or_when_dask_draws_its_own(capsys, monkeypatch):
    bar, update = progress_bar("demo")
    update(0.5, "planning")
    bar.close()
    monkeypatch.setattr(sys, "stderr", _Terminal())
    with progress_steps("value", show=False) as step:
        step(0.5, "valuing the assets")
    assert sys.stderr.getvalue() == ""
    monkeypatch.undo()

    assert capsys.readouterr().err == ""
    assert not [t for t in threading.enumerate() if t.name == "planner-progress"]


def test_plan_progress_covers_loading_as_well_as_solving(monkeypatch, inputs):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)

    assert main(_plan_argv(inputs)) == 0

    shown = terminal.getvalue()
    assert "loading the inputs" in shown and "valuing the assets" in shown
    assert "planning: 100%" in shown


@pytest.mark.slow
def test_demo_shows_each_step_on_a_terminal(monkeypatch, tmp_path):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)

    assert main(["demo", "--out", str(tmp_path), "--time-limit", "1"]) == 0

    shown = terminal.getvalue()
    steps = ["loading the demo data", "checking eligibility", "valuing the assets"]
    steps += ["auditing the plan", "drawing the map", "demo: 100%"]
    assert all(step in shown for step in steps), shown[-400:]
    percents = [int(p) for p in re.findall(r"demo:\s+(\d+)%", shown)]
    assert percents == sorted(percents)  # never goes back
    assert (tmp_path / "report.html").is_file()


# --- in a real browser --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_values():
    """The bundled demo and its values (demo rate card and terms; zones only, for speed)."""
    demo = planner.load_demo()
    return demo, value_assets(demo.assets, zones=demo.zones, rate_card="demo", terms="demo")


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize(
    ("policy_name", "planned_campaigns"),
    [("uk-cap-code", 10), ("healthier-advertising", 6)],  # 5 rules; 4 campaigns left out
)
def test_the_demo_report_prints_on_one_a4_page_offline(
    browser, demo_values, policy_name, planned_campaigns
):
    """The demo's ten campaigns, or a five-rule policy with its notes, fit one A4 page."""
    demo, values = demo_values
    policy = load_policy(policy_name)
    result = _demo_plan(demo, policy, values)
    page_html = plan_report(
        result,
        values,
        policy=policy,
        assumptions=assumptions_table(rate_card="demo", terms="demo"),
        subtitle="Helsinki centre demo",
        made_on=date(2026, 11, 30),
    )

    page, seen = offline_page(browser, width=800)
    page.set_content(page_html)
    pdf = page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
    page.close()

    assert len(result.campaigns) == planned_campaigns
    assert len(re.findall(rb"/Type\s*/Page(?!s)", pdf)) == 1
    assert seen == {"blocked": [], "errors": [], "dialogs": []}


def _demo_plan(demo, policy, values):
    """The demo campaigns planned quickly (those the policy bars left out, with a note)."""
    campaigns = planner.parse_campaigns(demo.campaigns_table, categories=policy.categories)
    result = plan(
        demo.assets,
        campaigns,
        policy,
        sites=demo.sites,
        values=values,
        zones=demo.zones,
        settings=planner.PlanSettings(skip_unplaceable=True),
        solver=SolverSettings(time_limit=1),
        rate_card="demo",
        terms=planner.load_terms("demo"),
    )
    assert result.ok
    return result
