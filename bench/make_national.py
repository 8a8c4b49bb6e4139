"""Make a national benchmark inventory: SYNTHETIC, built from real London data.

Great Britain's largest towns each get a copy of the real London pattern around Charing
Cross: the N TfL bus stops nearest to it (``../shared/data/london_tfl_bus_stops``) become
bus-shelter assets, the London schools within the same disc (GIAS,
``london_schools_gias``) sensitive sites, and the LSOA population centroids within it
(``london_lsoa_population``) demand zones, all moved to the town's centre. N follows a
rough share of each town's urban population, capped at London's own stop count. The
result has the street pattern and school density of a real city, the size of a national
estate and nothing else real: it is labelled synthetic in every file (column
``source``). Also 200 campaigns (150 national, 50 regional: a 15 km circle around a
town), each booking a few cycles of the year.

    python bench/make_national.py --assets 400000 --out /tmp/ooh-national

Writes GeoParquet files (``assets.parquet``, ``sites.parquet``, ``zones.parquet``) and
``campaigns.csv`` to ``--out``; nothing is written into the repository.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
LONDON_CENTRE = (530_000.0, 180_500.0)  # Charing Cross, British National Grid
SOURCE = "SYNTHETIC: London stops/schools/LSOAs laid over GB town centres (bench/make_national.py)"

#: Town, British National Grid centre (approximate), region, weight (urban population, 1000s).
TOWNS = [
    ("London", 530_000, 180_500, "London", 9_000),
    ("Birmingham", 407_000, 286_500, "West Midlands", 2_600),
    ("Manchester", 384_000, 398_000, "North West", 2_500),
    ("Leeds", 430_000, 433_500, "Yorkshire", 1_800),
    ("Glasgow", 259_000, 665_000, "Scotland", 1_000),
    ("Liverpool", 335_000, 390_500, "North West", 900),
    ("Newcastle", 425_000, 564_000, "North East", 800),
    ("Sheffield", 435_000, 387_000, "Yorkshire", 700),
    ("Bristol", 359_000, 173_000, "South West", 650),
    ("Nottingham", 457_000, 340_000, "East Midlands", 700),
    ("Leicester", 458_500, 304_500, "East Midlands", 500),
    ("Edinburgh", 325_500, 673_500, "Scotland", 500),
    ("Southampton", 442_000, 112_000, "South East", 450),
    ("Portsmouth", 464_000, 100_500, "South East", 450),
    ("Cardiff", 318_000, 176_500, "Wales", 450),
    ("Coventry", 433_500, 279_000, "West Midlands", 350),
    ("Stoke-on-Trent", 388_000, 347_000, "West Midlands", 370),
    ("Brighton", 531_000, 104_500, "South East", 470),
    ("Hull", 509_000, 429_000, "Yorkshire", 300),
    ("Plymouth", 248_000, 55_000, "South West", 260),
    ("Reading", 471_500, 173_500, "South East", 320),
    ("Derby", 435_000, 336_000, "East Midlands", 270),
    ("Bournemouth", 408_500, 91_500, "South West", 460),
    ("Middlesbrough", 449_500, 519_500, "North East", 370),
    ("Milton Keynes", 485_000, 238_500, "South East", 230),
    ("Aberdeen", 394_000, 806_000, "Scotland", 220),
    ("Norwich", 623_000, 308_500, "East", 210),
    ("Luton", 509_000, 221_500, "East", 260),
    ("Swansea", 265_500, 193_000, "Wales", 300),
    ("Sunderland", 439_500, 557_000, "North East", 180),
    ("Oxford", 451_500, 206_000, "South East", 170),
    ("Cambridge", 545_000, 258_500, "East", 160),
    ("York", 460_000, 451_500, "Yorkshire", 160),
    ("Preston", 354_000, 429_500, "North West", 330),
    ("Dundee", 340_000, 730_500, "Scotland", 150),
    ("Exeter", 292_000, 92_500, "South West", 130),
    ("Ipswich", 616_500, 244_500, "East", 180),
    ("Peterborough", 519_000, 298_500, "East", 200),
    ("Northampton", 475_500, 260_500, "East Midlands", 220),
    ("Blackpool", 331_500, 436_000, "North West", 240),
]


def _london(data: Path):
    """The real London layers: stops (easting, northing, name, code), schools, LSOA centroids."""
    stops = pd.read_csv(data / "london_tfl_bus_stops" / "bus-stops.csv")
    stops = stops[(stops["Location_Easting"] > 0) & (stops["Virtual_Bus_Stop"] == 0)]
    schools = pd.read_csv(
        data / "london_schools_gias" / "london_nurseries_edubase_2019.csv",
        encoding="latin-1",
        low_memory=False,
    )
    schools = schools[schools["EstablishmentStatus (name)"] == "Open"].dropna(
        subset=["Easting", "Northing"]
    )
    lsoa = pd.read_csv(
        data / "london_lsoa_population" / "london_lsoa2011_pop_mid2020_centroids.csv"
    )
    return stops, schools, lsoa


def _distance(frame: pd.DataFrame, x: str, y: str) -> np.ndarray:
    """Metres from the London centre, per row."""
    return np.hypot(frame[x].to_numpy() - LONDON_CENTRE[0], frame[y].to_numpy() - LONDON_CENTRE[1])


def make_national(n_assets: int = 400_000, *, seed: int = 0, data: Path = SHARED):
    """Return (assets, sites, zones, campaigns) of a synthetic national estate of ~n_assets.

    ``data`` is the folder of the real London data (``../shared/data`` beside the
    repository by default). Raises SystemExit with a message when it is absent.
    """
    if not data.is_dir():
        sys.exit(
            f"the real London data are not at {data}; they are needed to make the estate "
            "(give their folder with --data DIR)"
        )
    rng = np.random.default_rng(seed)
    stops, schools, lsoa = _london(data)
    stops = stops.iloc[np.argsort(_distance(stops, "Location_Easting", "Location_Northing"))]
    s_dist = _distance(schools, "Easting", "Northing")
    z_dist = _distance(lsoa, "centroid_x", "centroid_y")
    counts = _town_sizes(n_assets, len(stops))
    assets, sites, zones = [], [], []
    for (town, ex, ny, region, _), k in zip(TOWNS, counts.tolist(), strict=True):
        if k == 0:
            continue
        mine = stops.iloc[:k]
        radius = float(_distance(mine, "Location_Easting", "Location_Northing").max())
        dx, dy = ex - LONDON_CENTRE[0], ny - LONDON_CENTRE[1]
        formats = rng.choice(["6-sheet", "d6", "48-sheet"], k, p=[0.6, 0.25, 0.15])
        assets.append(
            pd.DataFrame(
                {
                    "asset_id": [f"{town[:4].upper()}-{c}" for c in mine["Stop_Code_LBSL"]],
                    "name": mine["Stop_Name"].astype(str).to_numpy(),
                    "asset_type": "bus_shelter",
                    "format": formats,
                    "faces": rng.choice([1, 2], k, p=[0.7, 0.3]),
                    "digital": formats == "d6",
                    "slots": 6,
                    "status": "available",
                    "ward": town,
                    "region": region,
                    "x": mine["Location_Easting"].to_numpy(dtype=float) + dx,
                    "y": mine["Location_Northing"].to_numpy(dtype=float) + dy,
                }
            )
        )
        near = schools[s_dist <= radius]
        sites.append(
            pd.DataFrame(
                {
                    "site_id": [f"{town[:4].upper()}-{u}" for u in near["URN"]],
                    "kind": "school",
                    "name": near["EstablishmentName"].astype(str).to_numpy(),
                    "x": near["Easting"].to_numpy(dtype=float) + dx,
                    "y": near["Northing"].to_numpy(dtype=float) + dy,
                }
            )
        )
        z = lsoa[z_dist <= radius + 800]
        zones.append(
            pd.DataFrame(
                {
                    "zone_id": [f"{town[:4].upper()}-{c}" for c in z["LSOA11CD"]],
                    "population": z["Persons_All-Ages"].to_numpy(dtype=float),
                    "x": z["centroid_x"].to_numpy(dtype=float) + dx,
                    "y": z["centroid_y"].to_numpy(dtype=float) + dy,
                }
            )
        )
    frames = [_geo(pd.concat(f, ignore_index=True)) for f in (assets, sites, zones)]
    frames[0] = frames[0].drop_duplicates("asset_id").reset_index(drop=True)
    frames[1] = frames[1].drop_duplicates("site_id").reset_index(drop=True)
    return (*frames, make_campaigns(len(frames[0]), rng))


def _town_sizes(n_assets: int, most: int) -> np.ndarray:
    """Assets per town: shares of ``n_assets`` by weight, at most ``most`` (London's stops).

    What a capped town cannot take goes to the others, by weight, until all is placed.
    """
    weights = np.array([t[4] for t in TOWNS], dtype=float)
    counts = np.zeros(len(TOWNS))
    for _ in range(len(TOWNS)):
        room = counts < most
        left = n_assets - counts.sum()
        if left < 1 or not room.any():
            break
        counts[room] += left * weights[room] / weights[room].sum()
        counts = np.minimum(counts, most)
    return np.round(counts).astype(int)


def _geo(frame: pd.DataFrame) -> gpd.GeoDataFrame:
    """Points from x/y in EPSG:27700, labelled synthetic."""
    geometry = shapely.points(frame[["x", "y"]].to_numpy())
    out = gpd.GeoDataFrame(frame.drop(columns=["x", "y"]), geometry=geometry, crs=27700)
    out["source"] = SOURCE
    return out


#: Price of a face (a slot for d6) a cycle on the uk-default rate card, GBP; "" is any format.
PRICE = {"6-sheet": 92.0, "d6": 60.0, "48-sheet": 300.0, "": 92.0}


def make_campaigns(n_assets: int, rng: np.random.Generator, n: int = 200) -> pd.DataFrame:
    """200 campaigns: 150 national, 50 regional (a 15 km circle around a town)."""
    to_lonlat = Transformer.from_crs(27700, 4326, always_xy=True)
    scale = n_assets / 400_000
    categories = ["general"] * 12 + ["hfss"] * 3 + ["alcohol"] * 2 + ["gambling", "fossil_fuels"]
    formats = ["6-sheet", "d6", "48-sheet", ""]
    rows = []
    for i in range(n):
        national = i < 150
        category = str(rng.choice(categories))
        fmt = str(rng.choice(formats))
        if national:
            max_faces = max(4, round(float(rng.uniform(150, 600)) * scale))
            area = ""
        else:
            town = TOWNS[int(rng.integers(0, len(TOWNS)))]
            lon, lat = to_lonlat.transform(town[1], town[2])
            area = f"circle:{lon:.5f},{lat:.5f},15000"
            max_faces = max(2, round(float(rng.uniform(20, 80)) * scale))
        start = int(rng.integers(1, 26))
        length = int(rng.integers(1, 3))
        rows.append(
            {
                "campaign_id": f"{'NAT' if national else 'REG'}{i:03d}",
                "advertiser": f"Advertiser {i % 120}",
                "category": category,
                "budget": round(max_faces * length * PRICE[fmt] * float(rng.uniform(0.7, 1.1)), 2),
                "cycles": f"{start}-{start + length - 1}" if length > 1 else str(start),
                "min_faces": max(1, round(max_faces * 0.5)),
                "max_faces": max_faces,
                "formats": fmt,
                "area": area,
                "competitor_group": {"alcohol": "drinks", "gambling": "betting"}.get(category, ""),
                "min_spacing_m": 200 if i % 5 == 0 else 0,
            }
        )
    return pd.DataFrame(rows)


def main() -> None:
    """Write the estate to ``--out`` and print its size."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--assets", type=int, default=400_000, help="target number of assets")
    parser.add_argument("--out", default="/tmp/ooh-national", help="output folder (not the repo)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--data", type=Path, default=SHARED, help=f"folder of the real London data ({SHARED})"
    )
    args = parser.parse_args()
    assets, sites, zones, campaigns = make_national(args.assets, seed=args.seed, data=args.data)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in (("assets", assets), ("sites", sites), ("zones", zones)):
        frame.to_parquet(out / f"{name}.parquet")
    campaigns.to_csv(out / "campaigns.csv", index=False)
    print(
        f"{len(assets):,} assets, {len(sites):,} sites, {len(zones):,} zones, "
        f"{len(campaigns)} campaigns in {out} (SYNTHETIC)"
    )


if __name__ == "__main__":
    main()
