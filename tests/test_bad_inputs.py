"""The malformed-input corpus: every file fails safely, with a message naming the problem.

Each entry of ``tests/bad_inputs/manifest.toml`` is read through the library (a
`PlannerError` whose message contains the expected fragment) and through the command line
(exit code 2, the same fragment, no traceback, no output file left behind). The binary
files are regenerated for every run by ``scripts/make_bad_inputs.py``.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tomllib
import warnings
from pathlib import Path

import pytest
from conftest import make_assets

import planner
import planner.io.readers as pio
from planner.cli import main
from planner.errors import DataValidationError, PlannerError, PolicyError

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "bad_inputs"
VALID = CORPUS / "valid"
ENTRIES = tomllib.loads((CORPUS / "manifest.toml").read_text(encoding="utf-8"))["input"]
ERRORS = [e for e in ENTRIES if e.get("outcome", "error") == "error"]


def _make_bad_inputs():
    spec = importlib.util.spec_from_file_location(
        "make_bad_inputs", ROOT / "scripts/make_bad_inputs.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def generated(tmp_path_factory) -> Path:
    """The binary inputs, written afresh by the generator script."""
    out = tmp_path_factory.mktemp("generated")
    _make_bad_inputs().make_all(out)
    return out


def _path(entry: dict, generated: Path) -> Path:
    return (generated if entry.get("generated") else CORPUS) / entry["file"]


def _id(entry: dict) -> str:
    return entry["file"]


# --- the library -------------------------------------------------------------------------


def _valid_inputs():
    return (
        planner.load_assets(VALID / "assets.csv"),
        planner.load_sites(VALID / "sites.csv"),
        planner.load_policy(VALID / "policy.toml"),
    )


def _read(entry: dict, path: Path):
    """Read one input with the library entry point its kind names."""
    options = dict(entry.get("options", {}))
    kind = entry["kind"]
    if kind in {"assets", "sites", "zones"}:
        return getattr(planner, f"load_{kind}")(path, **options)
    if kind == "osm":
        bbox = options.get("bbox")
        return planner.import_osm(path, bbox=tuple(bbox.split(",")) if bbox else None)
    if kind == "plans":
        assets, sites, policy = _valid_inputs()
        return planner.audit(planner.load_placements(path), assets, sites, policy)
    loader = {
        "policy": planner.load_policy,
        "campaigns": planner.load_campaigns,
        "rates": planner.load_rate_card,
        "terms": planner.load_terms,
    }[kind]
    return loader(path)


def test_the_corpus_has_at_least_fifty_malformed_inputs_of_every_kind():
    kinds = {e["kind"] for e in ERRORS}
    assert len(ERRORS) >= 50
    assert kinds == {
        "assets",
        "sites",
        "zones",
        "policy",
        "campaigns",
        "osm",
        "rates",
        "terms",
        "plans",
    }


def test_every_file_is_in_the_manifest_and_every_entry_exists(generated):
    listed = {e["file"] for e in ENTRIES if not e.get("generated")}
    on_disk = {
        p.relative_to(CORPUS).as_posix()
        for p in CORPUS.rglob("*")
        if p.is_file() and p.parts[len(CORPUS.parts)] not in {"valid", "generated"}
    }
    assert on_disk - {"manifest.toml", ".gitignore"} == listed
    missing = [e["file"] for e in ENTRIES if not _path(e, generated).is_file()]
    assert missing == []


@pytest.mark.parametrize("entry", ERRORS, ids=_id)
def test_library_raises_a_planner_error_naming_the_problem(entry, generated):
    path = _path(entry, generated)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # GDAL's notes about damaged files are not answers
            _read(entry, path)
    except PlannerError as exc:
        message = str(exc)
    except Exception as exc:  # a crash: what this test looks for
        pytest.fail(f"crashed: {type(exc).__name__}: {exc}")
    else:
        pytest.fail(f"{entry['file']} was accepted; expected an error naming: {entry['expect']}")
    assert entry["expect"] in message


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e not in ERRORS], ids=_id)
def test_repairable_inputs_load_with_a_warning_naming_the_repair(entry, generated):
    frame = _read(entry, _path(entry, generated))

    report = frame.attrs["report"]
    assert report.errors == []
    assert entry["expect"] in "\n".join(str(p) for p in report.warnings)


# --- the command line ----------------------------------------------------------------------


def _options(entry: dict) -> list[str]:
    argv = []
    for key, value in entry.get("options", {}).items():
        argv.append(f"--{key}={value}")
    return argv


def _argv(entry: dict, path: Path, out: Path) -> list[str]:
    """The subcommand that reads this kind of input, writing into ``out``."""
    kind = entry["kind"]
    assets, sites, policy = (
        str(VALID / "assets.csv"),
        str(VALID / "sites.csv"),
        str(VALID / "policy.toml"),
    )
    p = str(path)
    commands = {
        "assets": ["validate", "--assets", p],
        "sites": ["validate", "--sites", p],
        "zones": ["validate", "--zones", p],
        "policy": ["eligibility", "--assets", assets, "--sites", sites, "--policy", p,
                   "--out", str(out / "eligibility.csv")],
        "campaigns": ["plan", "--assets", assets, "--sites", sites, "--policy", policy,
                      "--campaigns", p, "--time-limit", "2", "--out", str(out / "plan.gpkg")],
        "osm": ["import-osm", p, "--out", str(out / "osm")],
        "rates": ["value", "--assets", assets, "--rates", p, "--out", str(out / "values.csv")],
        "terms": ["value", "--assets", assets, "--terms", p, "--out", str(out / "values.csv")],
        "plans": ["audit", "--plan", p, "--assets", assets, "--sites", sites, "--policy", policy,
                  "--out", str(out / "violations.csv")],
    }  # fmt: skip
    return commands[kind] + _options(entry)


def _files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("entry", ENTRIES, ids=_id)
def test_cli_exits_2_with_the_message_and_no_traceback(entry, generated, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            code = main(_argv(entry, _path(entry, generated), out))
    except SystemExit as exc:
        code = exc.code
    except Exception as exc:  # a crash: what this test looks for
        pytest.fail(f"crashed: {type(exc).__name__}: {exc}")
    text = "".join(capsys.readouterr())

    assert "Traceback" not in text
    assert entry["expect"] in text
    if entry.get("outcome", "error") == "error":
        assert code == 2
        assert _files_under(out) == []
    else:
        assert code == 0


@pytest.mark.parametrize(
    "name", ["assets/zip_bomb.zip", "osm/truncated.osm.pbf", "policy/deeply_nested.toml"]
)
def test_a_real_process_prints_no_traceback(name, generated, tmp_path):
    entry = next(e for e in ENTRIES if e["file"] == name)
    argv = _argv(entry, _path(entry, generated), tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "planner", *argv], capture_output=True, text=True, cwd=ROOT
    )

    assert done.returncode == 2
    assert "Traceback" not in done.stdout + done.stderr
    assert entry["expect"] in done.stdout + done.stderr


def test_generator_writes_every_generated_input(tmp_path):
    written = _make_bad_inputs().make_all(tmp_path)

    names = {p.relative_to(tmp_path).as_posix() for p in written}
    assert {e["file"] for e in ENTRIES if e.get("generated")} <= names


def test_zip_bomb_is_refused_from_its_headers_alone(generated, monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("the zip bomb reached a reader")

    monkeypatch.setattr(pio.pyogrio, "read_dataframe", never)
    with pytest.raises(DataValidationError, match="GB limit"):
        planner.load_assets(generated / "assets" / "zip_bomb.zip")


# --- inputs that are not files in the corpus ------------------------------------------------


def test_a_missing_file_and_a_folder_are_named(tmp_path, capsys):
    with pytest.raises(DataValidationError, match="does not exist"):
        planner.load_assets(tmp_path / "nope.csv")
    with pytest.raises(DataValidationError, match="this is a folder, not a file"):
        planner.load_sites(tmp_path)
    assert main(["validate", "--zones", str(tmp_path / "nope.gpkg")]) == 2
    assert "does not exist" in capsys.readouterr().out


def test_an_unknown_layer_is_named(generated):
    with pytest.raises(DataValidationError, match=r"has no layer 'no_such_layer' \(layers: bng\)"):
        planner.load_assets(generated / "assets" / "bng.gpkg", layer="no_such_layer")


def test_preset_names_cannot_reach_other_files():
    with pytest.raises(PolicyError, match="neither a file nor a preset"):
        planner.load_policy("../rates/demo")
    with pytest.raises(PlannerError, match="not found"):
        planner.load_rate_card("../policies/climate")


_ASSETS = str(VALID / "assets.csv")
_PLAN = [
    "plan", "--assets", _ASSETS, "--sites", str(VALID / "sites.csv"),
    "--policy", str(VALID / "policy.toml"), "--campaigns", str(CORPUS / "campaigns/empty_id.csv"),
]  # fmt: skip
BAD_OPTIONS = {
    "column without =": ["validate", "--assets", _ASSETS, "--column", "nonsense"],
    "default without name": ["validate", "--assets", _ASSETS, "--default", "=x"],
    "unknown encoding": ["validate", "--assets", _ASSETS, "--encoding", "no-such-codec"],
    "unknown campaigns encoding": [*_PLAN[:-2], "--campaigns", str(VALID / "campaigns.csv"),
                                   "--encoding", "no-such-codec"],
    "bbox not numbers": ["import-osm", str(CORPUS / "osm/bad_bbox.osm"), "--bbox=a,b"],
    "start not a date": ["audit", "--plan", "x.csv", "--assets", _ASSETS, "--policy",
                         "uk-cap-code", "--start", "yesterday"],
    "unknown objective": [*_PLAN, "--objective", "profit"],
    "time limit not a number": [*_PLAN, "--time-limit", "abc"],
    "no subcommand option": ["validate"],
    "unknown subcommand": ["no-such-command"],
}  # fmt: skip


@pytest.mark.parametrize("argv", BAD_OPTIONS.values(), ids=BAD_OPTIONS.keys())
def test_bad_cli_options_exit_2_without_traceback(argv, tmp_path, capsys):
    if argv[0] in {"import-osm", "plan"}:
        argv = [*argv, "--out", str(tmp_path / "out.gpkg")]
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    except Exception as exc:  # a crash: what this test looks for
        pytest.fail(f"crashed: {type(exc).__name__}: {exc}")
    text = "".join(capsys.readouterr())

    assert code == 2
    assert "Traceback" not in text
    assert "error" in text.lower()
    assert _files_under(tmp_path) == []


# --- a million rows ---------------------------------------------------------------------------


def _million_rows(path: Path, n: int = 1_000_000) -> Path:
    with path.open("w", encoding="utf-8") as f:
        f.write("asset_id,asset_type,format,lon,lat\n")
        step = 0.4 / n
        f.writelines(
            f"A{i},bus_shelter,6-sheet,{-0.3 + i * step:.6f},{51.4 + i * step:.6f}\n"
            for i in range(n)
        )
    return path


_LOAD_AND_MEASURE = """
import resource, sys
import planner
frame = planner.load_assets(sys.argv[1])
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(len(frame), frame["asset_id"].is_unique, frame.crs.to_epsg(), round(peak_mb))
"""


@pytest.mark.slow
def test_a_million_rows_load_in_bounded_memory(tmp_path):
    path = _million_rows(tmp_path / "million.csv")

    done = subprocess.run(
        [sys.executable, "-c", _LOAD_AND_MEASURE, str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    rows, unique, epsg, peak_mb = done.stdout.split()

    assert (rows, unique, epsg) == ("1000000", "True", "4326")
    # The file is 47 MB; a bounded loader holds a small multiple of it, never the whole
    # file per row (measured about 0.8 GB before the loader was vectorised).
    assert int(peak_mb) < 1500


def test_more_rows_than_the_limit_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(pio, "MAX_ROWS", 1000)
    path = _million_rows(tmp_path / "big.csv", n=1001)
    with pytest.raises(DataValidationError, match=r"more than 1,000 rows"):
        planner.load_assets(path)
    frame = make_assets(1001)
    frame.to_file(tmp_path / "big.gpkg")
    frame.to_parquet(tmp_path / "big.parquet")

    def never(*args, **kwargs):
        raise AssertionError("a file over the limit was read into memory")

    monkeypatch.setattr(pio.pyogrio, "read_dataframe", never)
    monkeypatch.setattr(pio.gpd, "read_parquet", never)
    for name in ("big.gpkg", "big.parquet"):
        with pytest.raises(DataValidationError, match=r"1,001 rows, more than the limit of 1,000"):
            planner.load_assets(tmp_path / name)


# --- the app ----------------------------------------------------------------------------------

APP = ROOT / "app.py"
#: The app's uploaders, by the kind of input: (uploader key, submit button).
UPLOADERS = {
    "assets": ("file_assets", "Load assets"),
    "sites": ("file_sites", "Load sites"),
    "zones": ("file_zones", "Load zones"),
    "transit": ("file_transit", "Load transit"),
    "pois": ("file_pois", "Load pois"),
    "osm": ("file_osm", "Import extract"),
}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    if not APP.is_file():
        pytest.skip("app.py is not in this checkout")
    from streamlit.testing.v1 import AppTest

    mp = pytest.MonkeyPatch()
    mp.setenv("PLANNER_SCENARIOS_DIR", str(tmp_path_factory.mktemp("scenarios")))
    mp.setenv("PLANNER_MAP_TILES", "none")
    at = AppTest.from_file(str(APP), default_timeout=180).run()
    yield at
    mp.undo()


#: File endings each uploader accepts (the browser refuses others before the app sees them);
#: kept in step with the app's uploaders by `test_uploader_types_match_the_app`.
FILE_TYPES = [
    *("gpkg", "geojson", "json", "zip", "fgb", "parquet", "geoparquet", "csv", "txt", "tsv"),
    *("xlsx", "xlsm", "ods"),
]
OSM_TYPES = ["pbf", "osm", "gz", "bz2", "o5m"]


def _uploadable(entry: dict) -> bool:
    if entry["kind"] not in UPLOADERS or set(entry.get("options", {})) - {"crs"}:
        return False  # the app's forms have no such option (e.g. an OSM bounding box)
    types = OSM_TYPES if entry["kind"] == "osm" else FILE_TYPES
    return entry["file"].rsplit(".", 1)[-1].lower() in types


def test_uploader_types_match_the_app(app) -> None:
    """The endings the running app's uploaders accept are the ones the corpus is sent with."""
    accepted = {
        u.key: [t.removeprefix(".") for t in u.proto.type] for u in app.get("file_uploader")
    }
    expected = {
        key: OSM_TYPES if kind == "osm" else FILE_TYPES for kind, (key, _) in UPLOADERS.items()
    }
    assert accepted == expected


@pytest.mark.parametrize("entry", [e for e in ERRORS if _uploadable(e)], ids=_id)
def test_app_upload_shows_the_message_and_no_traceback(entry, generated, app):
    import re

    key, button = UPLOADERS[entry["kind"]]
    path = _path(entry, generated)
    app.file_uploader(key=key).upload(path.name, path.read_bytes())
    crs = entry.get("options", {}).get("crs")
    if crs:
        app.text_input(key=f"crs_{entry['kind']}").set_value(crs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        next(b for b in app.button if b.label == button).click().run()
    if crs:
        app.text_input(key=f"crs_{entry['kind']}").set_value("")
    shown = [re.sub(r"\\(.)", r"\1", e.value) for e in app.error]

    assert [e.value for e in app.exception] == []
    # The app names its own controls where the library names keywords (planner.for_form).
    expect = planner.for_form(entry["expect"])
    assert any(expect in text for text in shown), shown
    assert not any("Something unexpected went wrong" in text for text in shown)
