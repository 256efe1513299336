"""The layers point one way (issue 14): gaidt_bridge <- gaidt (core) <- generators <- services <-
experiments (the application). Checked on the source: every first-party import, at module level
or inside a function, and the module import graph has no cycle."""
from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

from tests.helpers import REPO, source_modules

pytestmark = pytest.mark.unit

LAYERS = ["gaidt_bridge", "gaidt", "generators", "services", "experiments"]


def _modules() -> dict[str, Path]:
    return source_modules(LAYERS)


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


def _guarded_by_import_error(node: ast.AST, parents: list[ast.AST]) -> bool:
    """Inside the body of a `try:` whose handler catches ImportError (an optional dependency's guard)."""
    for p in parents:
        if isinstance(p, ast.Try) and any(n is node for s in p.body for n in ast.walk(s)):
            for h in p.handlers:
                types = h.type.elts if isinstance(h.type, ast.Tuple) else [h.type]
                if any(isinstance(t, ast.Name) and t.id in ("ImportError", "ModuleNotFoundError") for t in types):
                    return True
    return False


def _imports_in_functions(path: Path, root: Path = REPO) -> list[str]:
    """First-party imports inside function bodies, outside an ImportError guard: 'path:line statement'."""
    found = []

    def visit(node, parents, in_function):
        for child in ast.iter_child_nodes(node):
            if in_function and isinstance(child, (ast.Import, ast.ImportFrom)):
                names = [child.module or ""] if isinstance(child, ast.ImportFrom) else [a.name for a in child.names]
                relative = isinstance(child, ast.ImportFrom) and child.level > 0
                if (relative or any(n.split(".")[0] in LAYERS for n in names)) and \
                        not _guarded_by_import_error(child, parents):
                    found.append(f"{path.relative_to(root)}:{child.lineno} {ast.unparse(child)}")
            visit(child, parents + [child],
                  in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    visit(ast.parse(path.read_text()), [], False)
    return found


def test_no_first_party_import_inside_a_function():
    """Imports between our modules sit at module top (a cycle shows there, not at call time); only an
    optional dependency's guard (try: ... except ImportError) may import inside a function."""
    found = [hit for path in _modules().values() for hit in _imports_in_functions(path)]
    assert not found, found


def test_the_function_import_check_can_fail(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("from gaidt import config\n\n\ndef f():\n    from gaidt import ns3_runner\n\n\n"
                     "def g():\n    try:\n        from generators import llm_client\n    except ImportError:\n"
                     "        pass\n    from . import x\n    import json\n")
    assert _imports_in_functions(probe, tmp_path) == ["probe.py:5 from gaidt import ns3_runner",
                                                      "probe.py:13 from . import x"]


def _script_main(tree: ast.Module) -> bool:
    """The module runs as a script (`if __name__ == "__main__":`): its main() is a command line."""
    return any(isinstance(s, ast.If) and "__main__" in ast.unparse(s.test) for s in tree.body)


def test_library_layers_neither_print_nor_take_argparse_namespaces():
    """Below the application (experiments/) functions take explicit parameters and return data; the CLI
    parses and prints. Only a module's own script entry (main() under `if __name__ == "__main__"`) may."""
    found = []
    for name, path in _modules().items():
        if name.split(".")[0] == "experiments":
            continue
        tree = ast.parse(path.read_text())
        for fn in [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]:
            if fn.name == "main" and _script_main(tree):
                continue
            params = [a.arg for a in fn.args.args + fn.args.kwonlyargs]
            if "args" in params:
                found.append(f"{name}.{fn.name}: takes args")
            for call in ast.walk(fn):
                if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "print":
                    found.append(f"{name}.{fn.name}:{call.lineno} print()")
    assert not found, found


def _undocumented(tree: ast.Module, name: str) -> list[str]:
    """Public module-level functions and classes, and public methods of public classes, without a docstring."""
    out = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
            if ast.get_docstring(node) is None:
                out.append(f"{name}.{node.name}")
            if isinstance(node, ast.ClassDef):
                out += [f"{name}.{node.name}.{m.name}" for m in node.body
                        if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef)) and not m.name.startswith("_")
                        and ast.get_docstring(m) is None]
    return out


def test_every_public_class_and_function_has_a_docstring():
    missing = [m for name, path in _modules().items() for m in _undocumented(ast.parse(path.read_text()), name)]
    assert not missing, missing


def test_the_docstring_check_can_fail():
    tree = ast.parse("def f():\n    '''Doc.'''\n\n\ndef g():\n    pass\n\n\nclass C:\n    '''Doc.'''\n\n"
                     "    def m(self):\n        pass\n\n    def _p(self):\n        pass\n\n\ndef _h():\n    pass\n")
    assert _undocumented(tree, "x") == ["x.g", "x.C.m"]
