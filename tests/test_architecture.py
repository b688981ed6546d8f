"""The house rules of docs/architecture.md, checked on the source (ast) so that they cannot drift.

Each rule is a function of the import graph of the repository's Python modules: an edge ``a -> b`` for
every ``import``/``from ... import`` statement of module ``a`` (at any depth: lazy imports inside
functions count, imports under ``if TYPE_CHECKING:`` do not), where ``b`` is the most specific module the
statement names. Every rule is also run on a small hand-made graph that breaks it, so a rule that could
never fail would be caught here too.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOP = ("stochdepth", "theory", "validation", "tests")
#: Library subpackages that must stay generic (solvers that know nothing of networks) and what they must
# not import.
GENERIC = ("stochdepth.stopping", "stochdepth.freeboundary")
APPLICATION = ("stochdepth.limits", "stochdepth.networks", "stochdepth.depth", "stochdepth.nn")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _type_checking_block(node: ast.AST) -> bool:
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement of ``tree`` outside ``if TYPE_CHECKING:`` blocks."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        if _type_checking_block(node):
            for child in node.orelse:  # the else branch runs
                visit(child)
            return
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _sources() -> dict[str, Path]:
    out = {}
    for top in TOP:
        for path in sorted((ROOT / top).rglob("*.py")):
            if "__pycache__" not in path.parts:
                out[_module_name(path)] = path
    return out


SOURCES = _sources()


def _edges(modules: dict[str, Path]) -> list[tuple[str, str, tuple[str, ...]]]:
    """``(importer, imported module, names imported from it)`` for every import of the given modules."""
    edges = []
    for name, path in modules.items():
        package = name if _is_package(path) else name.rpartition(".")[0]
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                edges += [(name, alias.name, ()) for alias in node.names]
                continue
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in modules:  # ``from package import module``
                    edges.append((name, sub, ()))
                else:
                    edges.append((name, base, (alias.name,)))
    return edges


EDGES = _edges(SOURCES)


def _cycles(nodes: set[str], edges: list[tuple[str, str, tuple[str, ...]]]) -> list[list[str]]:
    """Strongly connected components with more than one module (or a self-import), by Tarjan."""
    graph: dict[str, set[str]] = {n: set() for n in nodes}
    for a, b, _ in edges:
        if a in graph and b in graph:
            graph[a].add(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))

    def strong(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph[v]:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def _library_cycles(edges: list[tuple[str, str, tuple[str, ...]]], nodes: set[str]) -> list[list[str]]:
    # a package's __init__ re-exports its modules: the edge "package -> its own module" is the
    # re-export, and "module -> its own package" (``from . import x`` resolved above to the module
    # when x is one) would only close a cycle through that re-export, which Python resolves by
    # importing the module first. Cycles are therefore counted among modules, not through __init__.
    modules = {n for n in nodes if not _is_package(SOURCES.get(n, Path("x.py")))}
    return _cycles(modules, edges)


def _generic_violations(edges: list[tuple[str, str, tuple[str, ...]]]) -> list[str]:
    bad = []
    for a, b, _ in edges:
        if a.startswith(GENERIC) and any(b == p or b.startswith(p + ".") for p in APPLICATION):
            bad.append(f"{a} imports {b}")
    return bad


def _upward_violations(edges: list[tuple[str, str, tuple[str, ...]]]) -> list[str]:
    return [
        f"{a} imports {b}"
        for a, b, _ in edges
        if a.startswith("stochdepth") and b.split(".")[0] in ("theory", "validation", "tests")
    ]


def _package_of(module: str) -> str:
    """The package a module belongs to for the privacy rule: ``stochdepth.<sub>`` or a top folder.

    Tests mirror the library (``tests/<sub>/`` tests ``stochdepth.<sub>``, ``tests/foundation/`` the
    root modules), so a test may look inside the package it tests, and only that one.
    """
    parts = module.split(".")
    if parts[0] == "tests" and len(parts) > 2:
        parts = ["stochdepth"] + ([] if parts[1] == "foundation" else [parts[1]]) + ["x"]
    if parts[0] == "stochdepth" and len(parts) > 1 and not parts[1].startswith("_"):
        sub = f"stochdepth.{parts[1]}"
        if sub in SOURCES and _is_package(SOURCES[sub]):
            return sub
    return parts[0]


def _private_violations(edges: list[tuple[str, str, tuple[str, ...]]]) -> list[str]:
    """Private names (a module or an attribute starting with ``_``) imported from another package.

    The root modules ``stochdepth._checks`` and ``stochdepth._results`` are the library's own
    foundation, shared by all of its subpackages (not by ``theory``, ``validation`` or ``tests``).
    """
    bad = []
    for a, b, names in edges:
        if not b.startswith("stochdepth"):
            continue
        src, dst = _package_of(a), _package_of(b)
        if src == dst:
            continue
        private_module = any(p.startswith("_") for p in b.split(".")[1:])
        private_names = [n for n in names if n.startswith("_") and n != "__version__"]
        foundation = dst == "stochdepth" and src.startswith("stochdepth")
        if (private_module and not foundation) or private_names:
            bad.append(f"{a} imports {b} {list(private_names)}")
    return bad


def _confined_violations(edges: list[tuple[str, str, tuple[str, ...]]], package: str, home: str) -> list[str]:
    """Library modules outside ``home`` importing the third-party ``package``."""
    return [
        f"{a} imports {b}"
        for a, b, _ in edges
        if a.startswith("stochdepth") and not a.startswith(home) and b.split(".")[0] == package
    ]


def _torch_violations(edges: list[tuple[str, str, tuple[str, ...]]]) -> list[str]:
    return _confined_violations(edges, "torch", "stochdepth.nn")


def _matplotlib_violations(edges: list[tuple[str, str, tuple[str, ...]]]) -> list[str]:
    return _confined_violations(edges, "matplotlib", "stochdepth.plot")


# --------------------------------------------------------------------------------------------------
# The rules on the repository
# --------------------------------------------------------------------------------------------------


def test_sources_found():
    assert "stochdepth.stopping" in SOURCES and "stochdepth.depth" in SOURCES
    assert len(EDGES) > 500


def test_no_import_cycle():
    nodes = {n for n in SOURCES if n.startswith("stochdepth")}
    assert _library_cycles(EDGES, nodes) == []


def test_generic_solvers_know_nothing_of_networks():
    assert _generic_violations(EDGES) == []


def test_library_never_imports_theory_validation_or_tests():
    assert _upward_violations(EDGES) == []


def test_no_private_name_across_packages():
    assert _private_violations(EDGES) == []


def test_torch_only_in_nn():
    assert _torch_violations(EDGES) == []


def test_matplotlib_only_in_plot():
    assert _matplotlib_violations(EDGES) == []


def test_import_stochdepth_does_not_import_torch_dask_or_matplotlib():
    code = (
        "import sys, stochdepth\n"
        "import stochdepth.testing, stochdepth.executors, stochdepth.montecarlo\n"
        "for name in ('networks', 'sde', 'limits', 'stats', 'stopping', 'freeboundary', 'depth'):\n"
        "    getattr(stochdepth, name)\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
        "assert 'dask' not in sys.modules and 'distributed' not in sys.modules, 'dask imported'\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported'\n"
        "stochdepth.plot\n"
        "assert 'matplotlib' in sys.modules, 'the check above cannot fail'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


# --------------------------------------------------------------------------------------------------
# Each rule fails on a graph that breaks it
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "edge"),
    [
        (_generic_violations, ("stochdepth.stopping.markov", "stochdepth.limits.linear", ())),
        (_generic_violations, ("stochdepth.freeboundary.solve", "stochdepth.depth", ("x",))),
        (_upward_violations, ("stochdepth.stopping.markov", "validation.runner", ())),
        (_private_violations, ("stochdepth.freeboundary.solve", "stochdepth.stopping._kernels", ())),
        (_private_violations, ("theory.b6_bridge", "stochdepth.stopping.markov", ("_reach",))),
        (_private_violations, ("validation.runner", "stochdepth._checks", ())),
        (_private_violations, ("tests.stats.test_gof", "stochdepth.stopping._reference", ())),
        (_torch_violations, ("stochdepth.limits.linear", "torch", ())),
        (_matplotlib_violations, ("stochdepth.depth.traces", "matplotlib.figure", ())),
    ],
)
def test_rules_catch_a_violation(rule, edge):
    assert rule([edge]) != []


def test_allowed_edges_pass_the_rules():
    allowed = [
        ("stochdepth.depth.bridge", "stochdepth.stopping.markov", ("solve",)),
        ("stochdepth.stopping.markov", "stochdepth._checks", ("check_int",)),
        ("stochdepth.nn.random_resnet", "torch", ()),
        ("stochdepth.plot.style", "matplotlib.figure", ()),
        ("stochdepth.stopping.markov", "stochdepth.stopping._kernels", ()),
        ("tests.stopping.test_markov", "stochdepth.stopping._kernels", ()),
        ("tests.foundation.test_checks", "stochdepth._checks", ("check_int",)),
    ]
    rules = (_generic_violations, _upward_violations, _private_violations, _torch_violations)
    for rule in (*rules, _matplotlib_violations):
        assert rule(allowed) == []


def test_cycle_detection():
    nodes = {"p.a", "p.b", "p.c"}
    assert _cycles(nodes, [("p.a", "p.b", ()), ("p.b", "p.c", ()), ("p.c", "p.a", ())]) == [
        ["p.a", "p.b", "p.c"]
    ]
    assert _cycles(nodes, [("p.a", "p.b", ()), ("p.b", "p.c", ())]) == []


def test_edges_resolve_relative_imports(tmp_path):
    pkg = tmp_path / "stochdepth" / "sub"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("from .a import f\n")
    (pkg / "a.py").write_text("from . import b\nfrom ..other import _g\ndef f():\n    import torch\n")
    (pkg / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import f\n")
    mods = {
        "stochdepth.sub": pkg / "__init__.py",
        "stochdepth.sub.a": pkg / "a.py",
        "stochdepth.sub.b": pkg / "b.py",
    }
    edges = set(_edges(mods))
    assert ("stochdepth.sub.a", "stochdepth.sub.b", ()) in edges
    assert ("stochdepth.sub.a", "stochdepth.other", ("_g",)) in edges
    assert ("stochdepth.sub.a", "torch", ()) in edges
    assert not any(a == "stochdepth.sub.b" and b.startswith("stochdepth") for a, b, _ in edges)


# --------------------------------------------------------------------------------------------------
# Rooms stay small
# --------------------------------------------------------------------------------------------------

MAX_FILE_LINES = 800
MAX_FUNCTION_LINES = 150
SIZED = ("stochdepth", "theory", "validation")


def _long_functions(tree: ast.AST, limit: int) -> list[tuple[str, int]]:
    return [
        (node.name, node.end_lineno - node.lineno + 1)
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.end_lineno - node.lineno + 1 > limit
    ]


def test_files_and_functions_stay_small():
    too_long = []
    for name, path in SOURCES.items():
        if not name.startswith(SIZED):
            continue
        text = path.read_text(encoding="utf-8")
        n_lines = text.count("\n") + 1
        if n_lines > MAX_FILE_LINES:
            too_long.append(f"{name}: {n_lines} lines")
        too_long += [
            f"{name}.{f}: {n} lines" for f, n in _long_functions(ast.parse(text), MAX_FUNCTION_LINES)
        ]
    assert too_long == []


def test_long_function_detection():
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    tree = ast.parse(f"def f():\n{body}\n\ndef g():\n    return 1\n")
    assert _long_functions(tree, MAX_FUNCTION_LINES) == [("f", MAX_FUNCTION_LINES + 1)]
