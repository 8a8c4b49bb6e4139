"""The package's layout rules, checked on the code's own imports (read with `ast`).

Stages run load (io) -> policy -> value -> optimise -> plan; the edges (maps, cli,
scenarios, demo) may use any stage. These tests fail when a module reaches forward to a
later stage, when a library is imported outside the one subpackage allowed to, or when
modules import each other in a circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "planner"

#: Stage of each part of the package; a module may import only its own or earlier stages.
STAGES = {
    "planner": 0,
    "planner.errors": 0,
    "planner.schema": 0,
    "planner.styles": 0,
    "planner.geo": 0,
    "planner.calendar": 0,
    "planner.campaigns": 0,
    "planner.presets": 0,
    "planner.io": 1,
    "planner.policy": 2,
    "planner.value": 3,
    "planner.optimise": 4,
    "planner.plan": 5,
    "planner.report": 5,
    "planner.plan_report": 5,
    "planner.scenarios": 6,
    "planner.demo": 6,
    "planner.maps": 6,
    "planner.scale": 6,
    "planner.cli": 7,
    "planner.__main__": 7,
}


def _modules() -> dict[str, ast.Module]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = ast.parse(path.read_text(encoding="utf-8"))
    return out


MODULES = _modules()


def _imports(tree: ast.Module) -> set[str]:
    """Every module named by an import anywhere in the file (lazy imports included)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


def _stage(module: str) -> int:
    best = max((k for k in STAGES if module == k or module.startswith(k + ".")), key=len)
    return STAGES[best]


def _internal(module: str) -> set[str]:
    return {m for m in _imports(MODULES[module]) if m in MODULES and m != "planner"}


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m != "planner"))
def test_no_module_imports_a_later_stage(module):
    later = sorted(m for m in _internal(module) if _stage(m) > _stage(module))
    assert not later, f"{module} (stage {_stage(module)}) imports later stages: {later}"


def test_io_never_imports_policy_and_the_optimiser_never_imports_io_value_or_maps():
    for module in MODULES:
        used = _internal(module)
        if module.startswith("planner.io"):
            assert not {m for m in used if m.startswith("planner.policy")}, module
        if module.startswith("planner.optimise"):
            bad = {m for m in used if m.startswith(("planner.io", "planner.value", "planner.maps"))}
            assert not bad, f"{module} imports {sorted(bad)}"


@pytest.mark.parametrize(
    ("library", "allowed"),
    [
        ("folium", ("planner.maps",)),
        ("ortools", ("planner.optimise",)),
        ("streamlit", ()),
    ],
)
def test_each_library_is_imported_in_one_place_only(library, allowed):
    users = sorted(
        m
        for m, tree in MODULES.items()
        if any(i == library or i.startswith(library + ".") for i in _imports(tree))
    )
    outside = [m for m in users if not m.startswith(allowed) or not allowed]
    assert not outside, f"{library} imported outside {allowed}: {outside}"


def test_modules_import_each_other_in_no_circle():
    graph = {m: _internal(m) for m in MODULES if m != "planner"}
    # A package's __init__ re-exports its modules: an edge into the package is an edge to them.
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if nxt.startswith(node + "."):
                continue  # a package importing its own modules is not a circle
            if state.get(nxt) == 1:
                raise AssertionError("import circle: " + " -> ".join([*path, node, nxt]))
            if state.get(nxt) is None:
                visit(nxt, [*path, node])
        state[node] = 2

    for module in sorted(graph):
        if state.get(module) is None:
            visit(module, [])


def test_money_becomes_minor_units_only_in_the_money_module():
    for module, tree in MODULES.items():
        if module == "planner.optimise.money":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult | ast.Div):
                for side in (node.left, node.right):
                    if isinstance(side, ast.Constant) and side.value in (100, 100.0):
                        line = ast.unparse(node)
                        money = any(
                            w in line
                            for w in (
                                "price",
                                "budget",
                                "pence",
                                "spend",
                                "capex",
                                "revenue",
                                "value",
                                "sales",
                            )
                        )
                        assert not money, f"{module}: money scaled by 100 outside money.py: {line}"
