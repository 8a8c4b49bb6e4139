"""The built wheel works on its own: presets, demo data and the demo command, no repository.

Builds the wheel from a copy of the project (so the checkout gets no ``build/`` folder),
installs it without dependencies into a fresh virtual environment that sees this
environment's packages (nothing is downloaded but the build backend, from the configured
index), then runs the installed planner from an empty folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

import planner

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
#: What a source distribution holds: all the wheel may be built from.
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "planner", "data")
#: The files `python -m planner demo` writes.
DEMO_OUTPUTS = (
    "plan.gpkg",
    "placements.parquet",
    "values.gpkg",
    "eligibility.csv",
    "map.html",
    "report.html",
    "summary.txt",
)
#: What pip says when the build backend cannot be fetched (e.g. offline with no index).
NO_BACKEND = ("Could not find a version that satisfies the requirement setuptools",)


def _run(*command: str | Path, **options) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(c) for c in command], capture_output=True, text=True, timeout=600, **options
    )


def _clean_env() -> dict[str, str]:
    """This environment without anything that would put the repository on ``sys.path``."""
    drop = {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP"}
    return {k: v for k, v in os.environ.items() if k not in drop} | {"PYTHONNOUSERSITE": "1"}


def _source_copy(target: Path) -> Path:
    target.mkdir()
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=skip)
        else:
            shutil.copy2(source, target / name)
    return target


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """``pip wheel . --no-deps`` on a copy of the project."""
    folder = tmp_path_factory.mktemp("wheel")
    if _run(sys.executable, "-m", "pip", "--version").returncode != 0:
        pytest.skip("pip is not available to build the wheel")
    source = _source_copy(folder / "src")
    built = _run(sys.executable, "-m", "pip", "wheel", source, "--no-deps", "-w", folder / "dist")
    if built.returncode != 0 and any(words in built.stderr for words in NO_BACKEND):
        pytest.skip(f"pip wheel cannot fetch the build backend: {built.stderr[-300:]}")
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    [path] = (folder / "dist").glob("ooh_planner-*.whl")
    return path


@pytest.fixture(scope="module")
def venv_python(wheel, tmp_path_factory) -> Path:
    """The Python of a fresh venv with the wheel installed (dependencies from this one)."""
    env = tmp_path_factory.mktemp("venv") / "env"
    made = _run(sys.executable, "-m", "venv", "--system-site-packages", env)
    if made.returncode != 0:
        pytest.skip(f"cannot create a virtual environment: {made.stderr.strip()[-300:]}")
    python = env / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    installed = _run(
        python, "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed", wheel
    )
    assert installed.returncode == 0, installed.stdout[-2000:] + installed.stderr[-2000:]
    return python


def test_the_wheel_holds_every_module_preset_and_demo_file(wheel) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "planner").rglob("*.py")}
    presets = {p.relative_to(ROOT).as_posix() for p in (ROOT / "planner").rglob("*.toml")}
    demo = {f"planner/demo_data/{p.name}" for p in (ROOT / "data").iterdir() if p.is_file()}
    assert modules - names == set(), "add the subpackage to [tool.setuptools] packages"
    assert presets - names == set()
    assert "planner/maps/maps.js" in names and "planner/py.typed" in names
    assert demo == {
        f"planner/demo_data/{name}"
        for name in ("assets.gpkg", "sites.gpkg", "zones.gpkg", "transit.gpkg", "pois.gpkg",
                     "campaigns.csv", "README.md")
    }  # fmt: skip
    assert demo <= names


CHECK = """
import json, sys
from pathlib import Path

import planner

package = Path(planner.__file__).resolve().parent
loaded = {
    "file": str(package),
    "prefix": str(Path(sys.prefix).resolve()),
    "sys_path": [str(Path(p or ".").resolve()) for p in sys.path],
    "data_dir": str(planner.DATA_DIR),
    "policies": {n: len(planner.load_policy(n).rules) for n in planner.list_presets()},
    "rates": {n: planner.load_rate_card(n).currency for n in planner.preset_names("rates")},
    "terms": {n: planner.load_terms(n).currency for n in planner.preset_names("terms")},
    "demo_files": sorted(p.name for p in planner.DATA_DIR.iterdir()),
}
print(json.dumps(loaded))
"""


def test_the_installed_wheel_loads_every_preset_without_the_repository(
    venv_python, tmp_path
) -> None:
    run = _run(venv_python, "-c", textwrap.dedent(CHECK), cwd=tmp_path, env=_clean_env())
    assert run.returncode == 0, run.stderr[-3000:]
    got = json.loads(run.stdout.splitlines()[-1])

    package = Path(got["file"])
    assert Path(got["prefix"]) in package.parents, "planner was imported from outside the venv"
    assert str(ROOT) not in got["sys_path"], "the repository is on sys.path"
    assert Path(got["data_dir"]) == package / "demo_data"
    assert list(got["policies"]) == [
        "climate",
        "healthier-advertising",
        "transport-authority",
        "uk-cap-code",
    ]
    # The same presets as the checkout, read the same way.
    assert got["policies"] == {n: len(planner.load_policy(n).rules) for n in got["policies"]}
    assert list(got["rates"]) == planner.preset_names("rates") == ["demo", "uk-default"]
    assert got["rates"] == {"demo": "EUR", "uk-default": "GBP"}
    terms = ["demo", "uk-default", "uk-fixed-fee", "uk-operator-funded"]
    assert list(got["terms"]) == planner.preset_names("terms") == terms
    assert got["terms"] == {"demo": "EUR", "uk-default": "GBP", "uk-fixed-fee": "GBP",
                            "uk-operator-funded": "GBP"}  # fmt: skip
    assert got["demo_files"] == sorted(p.name for p in (ROOT / "data").iterdir())


def test_the_installed_demo_command_writes_its_outputs(venv_python, tmp_path) -> None:
    out = tmp_path / "out"
    run = _run(
        venv_python, "-m", "planner", "demo", "--out", out, "--time-limit", "2",
        cwd=tmp_path, env=_clean_env(),
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    assert sorted(p.name for p in out.iterdir()) == sorted(DEMO_OUTPUTS)
    assert all((out / name).stat().st_size > 0 for name in DEMO_OUTPUTS)
    summary = (out / "summary.txt").read_text(encoding="utf-8")
    assert "710 assets" in summary and "Audit: compliant with every rule." in summary
    script = venv_python.parent / ("ooh-planner.exe" if os.name == "nt" else "ooh-planner")
    assert _run(script, "--help", cwd=tmp_path, env=_clean_env()).returncode == 0
