"""The package's layers, read from its import graph (docs/architecture.md).

The graph is built statically: every `import` and `from ... import` in every module of
`seqgan_music`, at any depth (inside functions and `if TYPE_CHECKING:` blocks too: an import
deferred to run time is still a dependency, so it counts). `from package import name` is an
edge to `package.name` when that is a module, else to `package`. Two rules:

- no circle between modules;
- no import from a lower layer to a higher one (`LAYERS`, lowest first; a module may import
  its own layer and the layers below).

And nothing of ours imports a path of the flat layout (`seqgan_music._deprecated`), so our own
code never sets off its DeprecationWarning.
"""

from __future__ import annotations

import ast
from pathlib import Path

from seqgan_music import _deprecated

PACKAGE = Path(__file__).resolve().parent.parent / "seqgan_music"
ROOT = PACKAGE.parent

# Lowest first. A module belongs to the layer of the longest prefix that names it.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("base", ("seqgan_music.errors", "seqgan_music.limits", "seqgan_music.config",
              "seqgan_music._version", "seqgan_music._deprecated")),
    ("runtime", ("seqgan_music.runtime",)),
    ("core", ("seqgan_music.core",)),
    ("io", ("seqgan_music.io",)),
    ("eval", ("seqgan_music.eval",)),
    ("representations", ("seqgan_music.music", "seqgan_music.text")),
    ("trainer", ("seqgan_music.trainer",)),
    ("tasks", ("seqgan_music.tasks",)),
    ("app", ("seqgan_music.app",)),
    ("faces", ("seqgan_music", "seqgan_music.__main__", "seqgan_music.api", "seqgan_music.cli",
               "seqgan_music.studio")),
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(folder: Path = PACKAGE) -> dict[str, Path]:
    return {module_name(p): p for p in sorted(folder.rglob("*.py"))}


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules of the package that module `name` (file `path`) imports, anywhere in it."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                child = f"{source}.{alias.name}"
                found.add(child if child in known else source)
    return {m for m in found if m.startswith("seqgan_music") and m != name}


def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found) | set(_deprecated.MOVED)
    return {name: imports(name, path, known) for name, path in found.items()}


def layer_of(name: str) -> int | None:
    best: tuple[int, int] | None = None  # (prefix length, layer index)
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".")) and (
                    best is None or len(prefix) > best[0]):
                best = (len(prefix), index)
    return None if best is None else best[1]


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(edges.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_every_module_has_a_layer() -> None:
    assert [name for name in modules() if layer_of(name) is None] == []


def test_the_import_graph_has_no_circle() -> None:
    assert cycles(graph()) == []


def test_no_layer_imports_a_higher_one() -> None:
    upward = []
    for name, targets in graph().items():
        mine = layer_of(name)
        for target in sorted(targets):
            theirs = layer_of(target)
            if mine is not None and theirs is not None and theirs > mine:
                upward.append(f"{name} ({LAYERS[mine][0]}) imports {target} "
                              f"({LAYERS[theirs][0]})")
    assert upward == []


def test_the_checks_see_a_circle_an_upward_and_a_lazy_import(tmp_path: Path) -> None:
    edges = {"seqgan_music.core.a": {"seqgan_music.core.b"},
             "seqgan_music.core.b": {"seqgan_music.core.a"}}
    assert cycles(edges) == [["seqgan_music.core.a", "seqgan_music.core.b"]]
    assert layer_of("seqgan_music.core.b") < layer_of("seqgan_music.app.train")  # type: ignore[operator]
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from seqgan_music.app import train\n"
                     "    from . import steps\n", encoding="utf-8")
    known = {"seqgan_music.app.train", "seqgan_music.core.steps"}
    assert imports("seqgan_music.core.probe", probe, known) == known


def test_nothing_of_ours_imports_an_old_path() -> None:
    """Package, tests, benchmarks and examples use the new paths (the deprecation test aside)."""
    ours = {**modules(PACKAGE)}
    for folder in ("tests", "benchmarks", "examples"):
        ours.update({f"{folder}/{p.relative_to(ROOT / folder)}": p
                     for p in (ROOT / folder).rglob("*.py")})
    moved_names = {module: _top_level_names(modules()[module])
                   for module in _deprecated.MOVED_NAMES}
    old = []
    for name, path in ours.items():
        if path.name == "test_deprecated.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                old += [f"{name}: import {a.name}" for a in node.names
                        if a.name in _deprecated.MOVED]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                source = node.module or ""
                for alias in node.names:
                    if source in _deprecated.MOVED or f"{source}.{alias.name}" in _deprecated.MOVED:
                        old.append(f"{name}: from {source} import {alias.name}")
                    elif source in moved_names and alias.name not in moved_names[source]:
                        old.append(f"{name}: from {source} import {alias.name} (moved)")
    assert old == []


def _top_level_names(path: Path) -> set[str]:
    """Names a module binds at its top level (definitions and imports)."""
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names
