"""The package's architecture, checked: stages import only the stages below them, no import circles,
no private names across modules, and the lower stages stay free of Streamlit, Folium and Dask."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

GEO = Path(__file__).resolve().parents[2] / "geo"

# Lowest first.  A module may import from its own layer or any layer before it, never after it.
# The foundation modules (errors, settings, i18n, privacy) are plain modules at the top of ``geo``.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("geo", "geo.errors", "geo.settings", "geo.i18n", "geo.privacy"),
    ("geo.grid",),
    ("geo.store",),
    ("geo.ingest",),
    ("geo.access",),
    ("geo.analysis",),
    ("geo.planning",),
    ("geo.synthetic",),
    ("geo.scale",),
    ("geo.maps",),
    ("geo.app",),
    ("geo.cli",),
)
HEAVY = ("streamlit", "folium", "dask", "distributed", "streamlit_folium", "pydeck")
# Packages allowed to import each heavy dependency (and their subpackages).
HEAVY_ALLOWED = {"streamlit": ("geo.app",), "streamlit_folium": ("geo.app",), "pydeck": ("geo.maps", "geo.app"),
                 "folium": ("geo.maps", "geo.app"), "dask": ("geo.scale",), "distributed": ("geo.scale",)}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(GEO.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, ast.Module]:
    return {module_name(p): ast.parse(p.read_text(encoding="utf-8"), str(p)) for p in GEO.rglob("*.py")}


def resolve(mod: str, node: ast.ImportFrom, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = mod.split(".") if is_package else mod.split(".")[:-1]
    base = base[: len(base) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def geo_imports(mods: dict[str, ast.Module]) -> dict[str, set[tuple[str, str, int]]]:
    """module → {(imported module, imported name or '', line)}; ``from geo.x import y`` where y is a module
    counts as importing ``geo.x.y``."""
    out: dict[str, set[tuple[str, str, int]]] = defaultdict(set)
    for mod, tree in mods.items():
        is_pkg = (GEO.parent / Path(*mod.split("."), "__init__.py")).exists()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name == "geo" or a.name.startswith("geo."):
                        out[mod].add((a.name, "", node.lineno))
            elif isinstance(node, ast.ImportFrom):
                target = resolve(mod, node, is_pkg)
                if target != "geo" and not target.startswith("geo."):
                    continue
                for a in node.names:
                    sub = f"{target}.{a.name}"
                    if sub in mods:
                        out[mod].add((sub, "", node.lineno))
                    else:
                        out[mod].add((target, a.name, node.lineno))
    return out


def layer_of(mod: str) -> int:
    best, rank = -1, -1
    for i, names in enumerate(LAYERS):
        for n in names:
            if (mod == n or mod.startswith(n + ".")) and len(n) > best and not (n == "geo" and mod != "geo"):
                best, rank = len(n), i
    assert rank >= 0, f"{mod} is in no layer: add it to LAYERS"
    return rank


def test_every_module_has_a_layer():
    for mod in modules():
        layer_of(mod)


def test_no_upward_imports():
    mods = modules()
    bad = [f"{m}:{line} imports {t} ({LAYERS[layer_of(t)][0]} is above {LAYERS[layer_of(m)][0]})"
           for m, imps in geo_imports(mods).items() for t, _, line in imps if layer_of(t) > layer_of(m)]
    assert bad == []


def test_no_import_circles():
    mods = modules()
    graph = {m: {t for t, _, _ in imps if t in mods and t != m} for m, imps in geo_imports(mods).items()}
    # A package's __init__ importing its own modules is how it re-exports; those edges do not make a circle
    # unless the module also imports the package back, which the second check below catches.
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [])
    assert cycles == []


def test_no_private_names_across_modules():
    mods = modules()
    bad = [f"{m}:{line} imports {name} from {t}" for m, imps in geo_imports(mods).items()
           for t, name, line in imps if name.startswith("_") and t != m]
    assert bad == []


def test_heavy_dependencies_stay_in_their_layers():
    bad = []
    for mod, tree in modules().items():
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
            for name in names:
                top = name.split(".")[0]
                if top in HEAVY and not any(mod == p or mod.startswith(p + ".") for p in HEAVY_ALLOWED[top]):
                    bad.append(f"{mod}:{node.lineno} imports {name}")
    assert bad == []


def test_the_library_stages_import_no_ui_or_cluster_engine():
    """``import geo.ingest, geo.grid, …`` and every module under them loads none of the heavy dependencies."""
    code = ("import sys, json, importlib, pkgutil\n"
            "import geo.ingest, geo.grid, geo.store, geo.analysis, geo.planning, geo.access\n"
            "for pkg in (geo.ingest, geo.grid, geo.store, geo.analysis, geo.planning, geo.access):\n"
            "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
            "        importlib.import_module(m.name)\n"
            f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {list(HEAVY)!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


@pytest.mark.parametrize("planted", ["upward", "circle", "private"])
def test_the_checks_catch_what_they_look_for(planted, tmp_path, monkeypatch):
    """The walk above is not vacuous: a planted violation is found."""
    fake = {"upward": {"geo.grid.x": "from geo.analysis.y import f\n", "geo.analysis.y": "def f(): ...\n"},
            "circle": {"geo.grid.a": "from geo.grid.b import g\n", "geo.grid.b": "from geo.grid.a import h\n"},
            "private": {"geo.grid.a": "from geo.grid.b import _g\n", "geo.grid.b": "def _g(): ...\n"}}[planted]
    mods = {m: ast.parse(src) for m, src in fake.items()}
    monkeypatch.setattr(sys.modules[__name__], "modules", lambda: mods)
    check = {"upward": test_no_upward_imports, "circle": test_no_import_circles,
             "private": test_no_private_names_across_modules}[planted]
    with pytest.raises(AssertionError):
        check()
