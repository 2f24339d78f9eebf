"""Import rules, checked on the source (no imports run):

* no import cycles between modules of ``bandprint``, counting imports inside functions as well
  as at module level (a function-level import only hides a cycle; it does not remove it);
  imports under ``if TYPE_CHECKING:`` never run and do not count;
* no ``from bandprint.x import _private`` from another module: what one module needs from
  another is public there.

Both hold for the whole package.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = "bandprint"


def _modules() -> dict[str, Path]:
    """Dotted module name → file, for every module of the package (``pkg/__init__.py`` → pkg)."""
    out = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement in the tree, at any depth, except those guarded by
    ``if TYPE_CHECKING:`` (their ``else`` branch still counts)."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module an ``ImportFrom`` names (relative imports resolved)."""
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def import_graph() -> tuple[dict[str, set[str]], list[str]]:
    """``(edges, private)``: the modules of the package each module imports, and one line per
    private name imported from another module."""
    modules = _modules()
    edges: dict[str, set[str]] = {m: set() for m in modules}
    private: list[str] = []
    for module, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        is_package = path.name == "__init__.py"
        for node in _import_nodes(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in modules:
                        edges[module].add(alias.name)
                continue
            source = _resolve(module, is_package, node)
            if source.split(".")[0] != PACKAGE:
                continue
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                if sub in modules:  # ``from pkg import module``
                    edges[module].add(sub)
                    continue
                if source in modules:
                    edges[module].add(source)
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    private.append(f"{module}:{node.lineno} imports {alias.name} from {source}")
    for targets in edges.values():
        targets.discard("")
    return edges, private


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            connect(v)
    return found


def test_the_checker_sees_function_level_cycles_and_private_names(tmp_path, monkeypatch):
    """The check itself, on a made-up package: a cycle closed only by an import inside a
    function, a TYPE_CHECKING import that closes none, and a private name."""
    pkg = tmp_path / PACKAGE
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from bandprint.b import thing\n")
    (pkg / "b.py").write_text("def thing():\n    from bandprint import a\n    return a\n")
    (pkg / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from bandprint.a import x\n"
    )
    (pkg / "sub" / "__init__.py").write_text("from .d import _hidden\n")
    (pkg / "sub" / "d.py").write_text("from ..c import y\n_hidden = 1\n")
    monkeypatch.setitem(globals(), "SRC", tmp_path)
    edges, private = import_graph()
    assert edges["bandprint.c"] == set()
    assert edges["bandprint.sub.d"] == {"bandprint.c"}
    assert cycles(edges) == [["bandprint.a", "bandprint.b"]]
    assert private == ["bandprint.sub:1 imports _hidden from bandprint.sub.d"]


def test_the_package_has_no_import_cycles_and_imports_nothing_private():
    """Enforced for every module of ``bandprint``; a failure lists the cycles (each a set of
    modules that import one another, directly or round a loop) and the private imports."""
    edges, private = import_graph()
    assert len(edges) > 50  # the whole package was read
    assert cycles(edges) == []
    assert private == []


def test_report_figures_and_pages_do_not_read_the_workspace():
    """Of ``bandprint.report`` only ``report.build`` reads a workspace; figures, pages and the
    map's data take plain data (``MapData``, tables, band structures)."""
    edges, _ = import_graph()
    assert "bandprint.store" in edges["bandprint.report.build"]  # the graph sees the reader
    for module in ("bandprint.report.data", "bandprint.report.figures", "bandprint.report.pages"):
        assert edges[module] <= {
            "bandprint.errors",
            "bandprint.report.data",
            "bandprint.report.figures",
            "bandprint.analyse.flatbands",
            "bandprint.render",
            "bandprint.plot",
        }, module


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_analyses_never_touch_the_workspace_and_the_cli_imports_nothing_private():
    """Layers: ``bandprint.analyse`` imports nothing from ``bandprint.workflows``,
    ``bandprint.cli`` or ``bandprint.store`` (analyses take arrays and tables; the workflows
    read and write the workspace), and ``bandprint.cli`` imports no private name."""
    edges, private = import_graph()
    assert "bandprint.store" in edges["bandprint.workflows.cluster"]  # the graph sees them
    banned = ("bandprint.workflows", "bandprint.cli", "bandprint.store")
    crossing = [
        f"{module} imports {target}"
        for module, targets in sorted(edges.items())
        if _within(module, "bandprint.analyse")
        for target in sorted(targets)
        if any(_within(target, b) for b in banned)
    ]
    assert crossing == []
    assert [line for line in private if _within(line.split(":")[0], "bandprint.cli")] == []


def test_the_estimator_and_the_analyses_take_no_workspace():
    """``bandprint.fingerprint`` (the estimator, its model files) and ``bandprint.analyse``
    import nothing from ``bandprint.store``, ``bandprint.workflows`` or ``bandprint.cli``, not
    even under ``if TYPE_CHECKING:`` for a type hint: no function there takes a workspace; the
    functions over a workspace are ``bandprint.workflows``."""
    banned = ("bandprint.store", "bandprint.workflows", "bandprint.cli")
    crossing = []
    for module, path in _modules().items():
        if not (module == "bandprint.fingerprint" or _within(module, "bandprint.analyse")):
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                source = _resolve(module, path.name == "__init__.py", node)
                targets = [f"{source}.{alias.name}" for alias in node.names]
            else:
                continue
            crossing += [
                f"{module}:{node.lineno} imports {t}"
                for t in targets
                if any(_within(t, b) for b in banned)
            ]
    assert crossing == []
