"""The app's session state: current inputs, cached loaders and the tables derived from them.

Everything a page shows comes from here, so the pages stay descriptions of the UI. Loaders
and derived tables are cached with ``st.cache_data`` under content keys (a hash of the
uploaded bytes, the policy's TOML, ...), never under the frames themselves.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import streamlit as st

import planner

ROOT = Path(__file__).resolve().parents[1]
DATA = planner.DATA_DIR
LAYERS = ("assets", "sites", "zones", "transit", "pois")
UPLOAD_KINDS = {
    "assets": planner.load_assets,
    "sites": planner.load_sites,
    "zones": planner.load_zones,
}
#: Layers read as they are (no contract): any columns, a geometry and a CRS.
PLAIN_LAYERS = ("transit", "pois")
LAYER_NAMES = {
    "assets": "Street assets",
    "sites": "Sensitive sites",
    "zones": "Demand zones",
    "transit": "Transit stops",
    "pois": "Points of interest",
}
DEMO_POLICY = "uk-cap-code"
DEMO_PRICING = {"rate_card": "demo", "terms": "demo"}
LOCKED_COLUMNS = ("asset_id", "campaign_id", "cycle")


@dataclass
class Inputs:
    """The spatial inputs in use, where each came from, and a content key for caches."""

    frames: dict[str, gpd.GeoDataFrame | None]
    sources: dict[str, str]
    version: str

    @property
    def assets(self) -> gpd.GeoDataFrame:
        return self.frames["assets"]

    def get(self, layer: str) -> gpd.GeoDataFrame | None:
        return self.frames.get(layer)

    def origin(self, layer: str) -> str:
        """``"demo"``, ``"yours"`` or ``"none"`` (not loaded) for one layer."""
        if self.frames.get(layer) is None:
            return "none"
        source = self.sources.get(layer, "")
        return "demo" if source.startswith("demo") or "(demo:" in source else "yours"

    def demo_layers(self) -> list[str]:
        return [k for k in LAYERS if self.origin(k) == "demo"]

    def user_layers(self) -> list[str]:
        return [k for k in LAYERS if self.origin(k) == "yours"]


@dataclass
class Result:
    """A solved plan with its audit and the inputs key it was made from."""

    plan: planner.Plan
    audit: pd.DataFrame | None
    key: str
    solve: dict[str, Any]
    name: str = ""


def _digest(*parts: object) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part if isinstance(part, bytes) else str(part).encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()[:20]


@st.cache_data(show_spinner="Loading the demo data…")
def demo_layers() -> dict[str, gpd.GeoDataFrame]:
    """The Helsinki demo: assets, sensitive sites, demand zones, transit and POIs."""
    layers = {kind: load(DATA / f"{kind}.gpkg") for kind, load in UPLOAD_KINDS.items()}
    layers["transit"] = planner.load_layer(DATA / "transit.gpkg")
    layers["pois"] = planner.load_layer(DATA / "pois.gpkg")
    return layers


@st.cache_data(show_spinner=False)
def demo_campaigns() -> pd.DataFrame:
    """The demo campaigns as text (the editor's table); checked by `planner.parse_campaigns`."""
    return planner.read_campaigns_table(DATA / "campaigns.csv")


@st.cache_data(show_spinner=False, max_entries=16)
def load_upload(
    kind: str, name: str, data: bytes, crs: str, drop_invalid: bool, **options: Any
) -> gpd.GeoDataFrame:
    """An uploaded layer: assets, sites or zones validated by the planner's loader; transit
    stops and points of interest read as they are.

    ``options`` are the form's per-file loader options (`upload_options`).
    """
    if kind in PLAIN_LAYERS:
        return planner.load_layer(data, filename=name, crs=crs.strip() or None)
    load = UPLOAD_KINDS[kind]
    if kind != "sites":
        options.pop("kinds", None)
    return load(data, filename=name, crs=crs.strip() or None, drop_invalid=drop_invalid, **options)


@st.cache_data(show_spinner=False, max_entries=8)
def preview(name: str, data: bytes, encoding: str, sheet: str, layer: str = "") -> pd.DataFrame:
    """The first 2,000 rows of an uploaded file as it is (for the preview and suggestions)."""
    return planner.preview_file(
        data,
        filename=name,
        rows=2000,
        encoding=encoding.strip() or None,
        sheet=sheet.strip() or None,
        layer=layer.strip() or None,
    )


def _pairs_of(text: str, what: str) -> dict[str, str]:
    """``name = value`` lines as a dict; a line without ``=`` is a `PlannerError`."""
    pairs = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise planner.PlannerError(
                f"{what}, line {number}: write 'name = value'; got '{line.strip()}'"
            )
        pairs[key.strip()] = value.strip()
    return pairs


def upload_options(
    columns: dict[str, str], defaults: str, kinds: dict[str, str], encoding: str, sheet: str
) -> dict[str, Any]:
    """The upload form's per-file options as loader keywords (empty ones left out).

    ``columns`` is ``{file column: contract column}`` from the column selectors, ``kinds``
    ``{file value: site kind}`` from the kind map; ``defaults`` is the text box's
    ``column = value`` lines.

    Raises
    ------
    PlannerError
        When a line of the defaults box is not ``column = value``.
    """
    options: dict[str, Any] = {
        "columns": dict(columns),
        "defaults": _pairs_of(defaults, "Values for missing columns"),
        "kinds": {k: v for k, v in kinds.items() if v},
        "encoding": encoding.strip() or None,
        "sheet": sheet.strip() or None,
    }
    return {k: v for k, v in options.items() if v}


@st.cache_data(show_spinner=False, max_entries=4)
def import_extract(name: str, data: bytes) -> tuple[dict[str, gpd.GeoDataFrame], list[str]]:
    """Assets, sites, transit and POIs from an uploaded OpenStreetMap extract, and warnings."""
    wanted = ("assets", "sites", "transit", "pois")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        layers = planner.import_osm_layers(data, filename=name, layers=wanted)
    return layers, [str(w.message) for w in caught]


def ensure_defaults() -> None:
    """Demo data, the default policy, campaigns and settings on a session's first run."""
    ss = st.session_state
    if "inputs" not in ss:
        sources = {k: f"demo: data/{k}.gpkg" for k in LAYERS}
        ss["inputs"] = Inputs(dict(demo_layers()), sources, version="demo")
    if "policy" not in ss:
        ss["policy"] = planner.load_policy(DEMO_POLICY)
        ss["policy_label"] = f"preset {DEMO_POLICY}"
    ss.setdefault("campaigns", demo_campaigns())
    ss.setdefault("locked", pd.DataFrame({c: pd.Series(dtype=str) for c in LOCKED_COLUMNS}))
    ss.setdefault(
        "targets",
        {
            "revenue_target": 0.0,
            "competitor_separation_m": 100.0,
            "walk_m": 400.0,
            "skip_unplaceable": False,
        },
    )
    ss.setdefault("solve", {"objective": "revenue", "time_limit": 10.0, "reproducible": True})
    ss.setdefault("pricing", dict(DEMO_PRICING))
    ss.setdefault("result", None)
    ss.setdefault("store_dir", os.environ.get("PLANNER_SCENARIOS_DIR", str(ROOT / "scenarios")))


def inputs() -> Inputs:
    return st.session_state["inputs"]


def policy() -> planner.Policy:
    return st.session_state["policy"]


def policy_key() -> str:
    return planner.policy_to_toml(policy())


def replace_layers(new: dict[str, gpd.GeoDataFrame | None], source: str, token: str) -> list[str]:
    """Swap some input layers; other layers stay, the cache key changes.

    New assets drop the demo layers that lie nowhere near them (a Helsinki school protects
    no London stop), and while the prices are still the demo's, the prices follow the
    assets (`match_pricing`). Returns what else changed, in words, for the user.
    """
    old = inputs()
    frames = {**old.frames, **new}
    sources = {**old.sources, **dict.fromkeys(new, source)}
    notes = []
    assets = new.get("assets")
    if assets is not None:
        demo = [k for k in LAYERS if k not in new and old.origin(k) == "demo"]
        far = [k for k in demo if planner.check_layers_overlap({"assets": assets, k: frames[k]})]
        for layer in far:
            frames[layer], sources[layer] = None, "none (the demo's layer was removed)"
        if far:
            names = ", ".join(LAYER_NAMES[k].lower() for k in far)
            notes.append(
                f"The demo's {names} lie nowhere near your assets, so they are no longer "
                "used; upload your own below if you have them."
            )
        notes += match_pricing(assets)
    st.session_state["inputs"] = Inputs(frames, sources, _digest(old.version, token, *new))
    return notes


def remove_demo_layers() -> list[str]:
    """Stop using the demo's layers beside the user's assets; returns the layers removed."""
    old = inputs()
    gone = [k for k in old.demo_layers() if k != "assets"]
    frames = {**old.frames, **dict.fromkeys(gone)}
    sources = {**old.sources, **dict.fromkeys(gone, "none (the demo's layer was removed)")}
    st.session_state["inputs"] = Inputs(frames, sources, _digest(old.version, "no demo", *gone))
    return gone


def match_pricing(assets: gpd.GeoDataFrame) -> list[str]:
    """While the demo's prices are in use, use the bundled rate card whose area holds the
    assets, with terms in its currency; returns what changed, in words."""
    if st.session_state.get("pricing") != DEMO_PRICING:
        return []  # the user chose prices: keep them
    cards = [c for c in planner.card_for_location(assets) if c != DEMO_PRICING["rate_card"]]
    if not cards:
        return []
    card = planner.load_rate_card(cards[0])
    deals = [d for d in builtin_names("terms") if planner.load_terms(d).currency == card.currency]
    if not deals:
        return []
    deal = cards[0] if cards[0] in deals else deals[0]
    st.session_state["pricing"] = {"rate_card": cards[0], "terms": deal}
    return [
        f"Prices now come from the rate card '{cards[0]}' ({card.currency}), whose area holds "
        f"your assets, with the concession terms '{deal}'; change them on the Value page."
    ]


def upload_token(name: str, data: bytes, *options: object) -> str:
    return _digest(name, data, *options)


def terms() -> planner.ConcessionTerms:
    return planner.load_terms(st.session_state["pricing"]["terms"])


def rate_card() -> planner.RateCard:
    return planner.load_rate_card(st.session_state["pricing"]["rate_card"])


def pricing_key() -> str:
    p = st.session_state["pricing"]
    return _digest(repr(p["rate_card"]), repr(p["terms"]))


def builtin_names(folder: str) -> list[str]:
    """Rate cards (``rates``) or concession terms (``terms``) bundled with the planner."""
    return planner.preset_names(folder)


@st.cache_data(show_spinner="Checking eligibility…", max_entries=8)
def _eligibility(version: str, policy_toml: str, _inp: Inputs, _policy) -> pd.DataFrame:
    return planner.eligibility(_inp.assets, _inp.get("sites"), _policy)


def eligibility() -> pd.DataFrame:
    """Asset x category eligibility under the current policy (cached)."""
    return _eligibility(inputs().version, policy_key(), inputs(), policy())


@st.cache_data(show_spinner=False, max_entries=8)
def _exclusions(version: str, policy_toml: str, _inp: Inputs, _policy) -> gpd.GeoDataFrame:
    sites = _inp.get("sites")
    if sites is None or not len(sites):
        return None
    return planner.exclusion_zones(sites, _policy)


def exclusion_zones() -> gpd.GeoDataFrame | None:
    """The policy's exclusion zones around the sensitive sites (cached)."""
    return _exclusions(inputs().version, policy_key(), inputs(), policy())


@st.cache_data(show_spinner="Valuing the assets…", max_entries=8)
def _values(version: str, policy_toml: str, pricing: str, _inp: Inputs, _elig, _p: dict):
    return planner.value_assets(
        _inp.assets,
        zones=_inp.get("zones"),
        transit=_inp.get("transit"),
        pois=_inp.get("pois"),
        rate_card=_p["rate_card"],
        terms=_p["terms"],
        eligibility=_elig,
    )


def values() -> gpd.GeoDataFrame:
    """Every asset's modelled audience, price and annual value (cached).

    Valued without eligibility when the policy cannot be checked yet (e.g. exclusion
    rules but no sensitive sites): the policy's cost then shows why, not the values.
    """
    pricing = st.session_state["pricing"]
    try:
        elig = eligibility()
    except planner.PlannerError:
        elig = None
    return _values(inputs().version, policy_key(), pricing_key(), inputs(), elig, pricing)


def campaigns() -> list[planner.Campaign]:
    """The campaigns table, checked; `planner.CampaignError` names every bad cell."""
    return planner.parse_campaigns(
        st.session_state["campaigns"], categories=policy().categories, source="campaigns table"
    )


def locked() -> pd.DataFrame | None:
    """Placements to keep, blank rows dropped; None when there are none."""
    table = st.session_state["locked"].replace("", np.nan).dropna(how="all")
    return table if len(table) else None


def plan_settings() -> planner.PlanSettings:
    t = st.session_state["targets"]
    return planner.PlanSettings(
        revenue_target=float(t["revenue_target"]),
        competitor_separation_m=float(t["competitor_separation_m"]),
        walk_m=float(t["walk_m"]),
        skip_unplaceable=bool(t["skip_unplaceable"]),
    )


def inputs_key() -> str:
    """Changes whenever anything a plan depends on changes."""
    ss = st.session_state
    return _digest(
        inputs().version,
        policy_key(),
        pricing_key(),
        ss["campaigns"].to_csv(index=False),
        ss["locked"].to_csv(index=False),
        json.dumps(ss["targets"], sort_keys=True),
    )


def campaign_help() -> dict[str, str]:
    """Each campaign column's meaning (shown as the editor's column help)."""
    return {
        name: ("required: " if req else "") + text
        for name, (req, text) in planner.CAMPAIGN_COLUMNS.items()
    }


def plan_inputs() -> dict[str, Any]:
    """Every argument of `planner.plan` but the objective and solver settings."""
    inp = inputs()
    return {
        "assets": inp.assets,
        "campaigns": campaigns(),
        "policy": policy(),
        "sites": inp.get("sites"),
        "eligibility": eligibility(),
        "values": values(),
        "zones": inp.get("zones"),
        "locked": locked(),
        "settings": plan_settings(),
        "terms": terms(),
        "rate_card": rate_card(),
    }


@st.cache_data(show_spinner="Tracing the reach curve…", max_entries=16)
def _reach_curve(key: str, campaign: str | None, _plan, _inp: Inputs, _values, _campaigns):
    return planner.plan_reach_curve(
        _plan,
        _inp.assets,
        _inp.get("zones"),
        campaign_id=campaign,
        campaigns=_campaigns,
        values=_values,
    )


def reach_curve(result: Result, campaign: str | None) -> pd.DataFrame:
    """A campaign's (or the whole plan's) modelled reach against the faces it books."""
    key = _digest(result.key, result.name, result.plan.seconds, len(result.plan.placements))
    return _reach_curve(key, campaign, result.plan, inputs(), values(), campaigns())


def audit_plan(plan: planner.Plan) -> pd.DataFrame | None:
    """The independent re-check of a plan's placements (None when there are none)."""
    if not plan.ok or not len(plan.placements):
        return None
    inp = inputs()
    return planner.audit(plan.placements, inp.assets, inp.get("sites"), policy())
