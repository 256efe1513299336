"""The layers point one way (issue 14): gaidt_bridge <- gaidt (core) <- generators <- services <-
experiments (the application). Checked on the source: every first-party import, at module level
or inside a function, and the module import graph has no cycle."""
from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

from tests.conftest import REPO

LAYERS = ["gaidt_bridge", "gaidt", "generators", "services", "experiments"]


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in LAYERS:
        for f in sorted((REPO / pkg).glob("*.py")):
            out[f"{pkg}.{f.stem}" if f.stem != "__init__" else pkg] = f
    return out


def _imports(name: str, path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    pkg = name if path.stem == "__init__" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}
    return {m for m in found if m.split(".")[0] in LAYERS}


def _graph() -> nx.DiGraph:
    mods = _modules()
    g = nx.DiGraph()
    for name, path in mods.items():
        g.add_node(name)
        for imp in _imports(name, path):
            target = imp if imp in mods else imp.rsplit(".", 1)[0] if imp.rsplit(".", 1)[0] in mods else None
            if target and target != name:
                g.add_edge(name, target)
    return g


def test_no_layer_imports_a_layer_above_it():
    g = _graph()
    rank = {p: i for i, p in enumerate(LAYERS)}
    upward = [(a, b) for a, b in g.edges if rank[b.split(".")[0]] > rank[a.split(".")[0]]
              and not (a == "experiments" and b.split(".")[0] == "experiments")]
    assert not upward, upward


def test_no_import_cycles_between_modules():
    g = _graph()
    g.remove_nodes_from([n for n in LAYERS if n in g])  # a package's __init__ re-exports its own modules
    cycles = list(nx.simple_cycles(g))
    assert not cycles, cycles[:5]
