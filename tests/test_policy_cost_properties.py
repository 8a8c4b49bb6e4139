"""Property tests: pricing a policy never crashes and never costs less than nothing.

Found by such a test: `policy_value_at_risk` raised a `TypeError` whenever the policy
refused no asset (an empty column of text multiplied by money).
"""

from __future__ import annotations

from conftest import _campaign, make_assets, make_sites
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.optimise.settings import SolverSettings
from planner.plan import POLICY_COST_COLUMNS, policy_cost
from planner.policy.eligibility import eligibility
from planner.policy.load import BanRule, DensityRule, ExclusionRule, Policy
from planner.value.valuation import SCENARIOS, policy_value_at_risk, value_assets

RULES = {
    "no-alcohol": BanRule("no-alcohol", ("alcohol",)),
    "no-digital-gambling": BanRule("no-digital-gambling", ("gambling",), digital=True),
    "hfss-schools": ExclusionRule("hfss-schools", ("hfss",), ("school",), within_m=150),
    "density": DensityRule("density", max_faces=3, within_m=100),
}
FORMATS = ["6-sheet", "48-sheet", "d6", "d48", "banner"]


@st.composite
def portfolios(draw):
    n = draw(st.integers(1, 6))
    metres = st.integers(0, 30).map(lambda v: v * 20)
    formats = draw(st.lists(st.sampled_from(FORMATS), min_size=n, max_size=n))
    assets = make_assets(
        [(draw(metres), draw(metres)) for _ in range(n)],
        price=float("nan"),
        impacts=float("nan"),
        format=formats,
        digital=[f.startswith("d") for f in formats],
        faces=draw(st.lists(st.integers(1, 2), min_size=n, max_size=n)),
    )
    chosen = draw(st.sets(st.sampled_from(sorted(RULES))))
    policy = Policy("random", rules=tuple(RULES[k] for k in sorted(chosen)))
    sites = make_sites([(draw(metres), draw(metres))], kind="school")
    return assets, policy, sites


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(portfolios(), st.sampled_from([None, "uk-default"]))
def test_value_at_risk_never_crashes_and_is_never_negative(case, terms) -> None:
    assets, policy, sites = case
    table = eligibility(assets, sites, policy)
    values = value_assets(assets)
    risk = policy_value_at_risk(values, table, policy, terms=terms)
    assert risk["level"].value_counts().get("total") == 1
    # One row per rule of the policy, refusing something or not.
    assert sorted(risk.loc[risk["level"] == "rule", "rule_id"]) == sorted(
        r.id for r in policy.rules
    )
    money = [
        f"{k}_out_of_reach_{s}" for k in ("value", "sales", "council_income") for s in SCENARIOS
    ]
    assert (risk[money] >= -1e-9).all().all()
    total = risk[risk["level"] == "total"].iloc[0]
    assert total["value_out_of_reach_central"] <= values["annual_value_central"].sum() + 1e-6


def test_a_policy_that_refuses_nothing_costs_zero_per_rule() -> None:
    # Classic faces only and the one school 5 km away: neither rule refuses anything.
    assets = make_assets(3, price=float("nan"), impacts=float("nan"))
    sites = make_sites([(5000, 0)], kind="school")
    rules = (RULES["no-digital-gambling"], RULES["hfss-schools"])
    policy = Policy("unused", rules=rules)
    table = eligibility(assets, sites, policy)
    assert table["allowed"].all()
    risk = policy_value_at_risk(value_assets(assets), table, policy, terms="uk-default")
    by_rule = risk[risk["level"] == "rule"].set_index("rule_id")
    assert sorted(by_rule.index) == ["hfss-schools", "no-digital-gambling"]
    assert (by_rule["value_out_of_reach_central"] == 0).all()
    assert (by_rule["council_income_out_of_reach_central"] == 0).all()
    solver = SolverSettings(time_limit=2)
    priced = assets.assign(price_per_cycle=10.0)
    cost = policy_cost(priced, [_campaign()], policy, sites=sites, solver=solver)
    assert (cost["cost"] == 0).all() and len(cost) == 2
    empty = policy_cost(priced, [_campaign()], Policy("none"), solver=solver)
    assert list(empty.columns) == list(POLICY_COST_COLUMNS) and empty.empty


@st.composite
def plans(draw):
    assets, policy, sites = draw(portfolios())
    assets = assets.assign(
        price_per_cycle=draw(
            st.lists(st.integers(1, 50), min_size=len(assets), max_size=len(assets))
        )
    )
    camps = [
        _campaign(
            f"C{i}",
            category=draw(st.sampled_from(["general", "alcohol", "hfss", "gambling"])),
            max_faces=draw(st.integers(1, 3)),
        )
        for i in range(draw(st.integers(1, 3)))
    ]
    return assets, policy, sites, camps


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans())
def test_re_planning_cost_never_crashes_and_is_never_negative(case) -> None:
    assets, policy, sites, camps = case
    cost = policy_cost(assets, camps, policy, sites=sites, solver=SolverSettings(time_limit=5))
    assert list(cost.columns) == list(POLICY_COST_COLUMNS)
    assert cost["rule_id"].tolist() == [r.id for r in policy.rules]
    proven = (cost["status_with"] == "OPTIMAL") & (cost["status_without"] == "OPTIMAL")
    # Dropping a rule only widens the choice, so a proven optimum earns at least as much.
    assert (cost.loc[proven, "cost"] >= -1e-6).all()
