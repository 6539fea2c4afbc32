"""The layout holds: front ends ask the use-cases and never the database, no module reaches
into another's private names, no two modules import each other (however indirectly), and no
module or handler grows past what a reader takes in at once."""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import typer

from opendvi.app import OpenDVI

SRC = Path(__file__).resolve().parents[1] / "src" / "opendvi"
FRONT_ENDS = ("cli", "web")
# Table definitions and migrations are long by nature: one class or step per table.
LONG_BY_NATURE = ("db/tables.py", "db/migrations/")
MODULE_LINES = 500
HANDLER_LINES = 40


@dataclass(frozen=True)
class Import:
    importer: str  # the importing module, dotted
    target: str  # the module imported (the module a name comes from)
    names: tuple[str, ...]  # the names taken from it ("" for ``import x``)
    line: int


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def sources() -> Iterator[tuple[Path, str, ast.Module]]:
    for path in sorted(SRC.rglob("*.py")):
        yield path, module_name(path), ast.parse(path.read_text(), str(path))


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING")


def imports(tree: ast.Module, name: str, is_package: bool) -> Iterator[Import]:
    """Every import that runs, at the top of the module or inside a function (imports only
    for type checking are left out: they never run)."""
    stack: list[ast.AST] = [tree]
    package = name if is_package else name.rpartition(".")[0]
    while stack:
        node = stack.pop()
        if _type_checking_only(node):
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(name, alias.name, ("",), node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")
                parent = parent[: len(parent) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            yield Import(name, base, tuple(a.name for a in node.names), node.lineno)
        stack.extend(ast.iter_child_nodes(node))


def all_imports() -> list[Import]:
    found = []
    for path, name, tree in sources():
        found += imports(tree, name, path.name == "__init__.py")
    return found


def known_modules() -> set[str]:
    return {name for _, name, _ in sources()}


def test_the_import_reader_sees_lazy_relative_and_private_imports() -> None:
    code = """
from typing import TYPE_CHECKING
from . import sibling
if TYPE_CHECKING:
    from opendvi.db.tables import User
def late():
    from opendvi.review.decisions import _mark
"""
    found = list(imports(ast.parse(code), "opendvi.web.pages.review", is_package=False))
    taken = {(i.target, i.names) for i in found}
    assert ("opendvi.web.pages", ("sibling",)) in taken
    assert ("opendvi.review.decisions", ("_mark",)) in taken
    assert all(i.target != "opendvi.db.tables" for i in found)


def test_our_modules_import_each_other_as_the_layout_says() -> None:
    graph = _edges()
    assert "opendvi.records.intake" in graph["opendvi.web.pages.intake"] or any(
        target.startswith("opendvi.records") for target in graph["opendvi.web.pages.intake"]
    )
    assert "opendvi.audit" in graph["opendvi.review.decisions"]


def test_the_front_ends_never_touch_the_database() -> None:
    """The CLI and the web ask use-cases; they import no SQLAlchemy and no table."""
    wrong = [
        f"{i.importer}:{i.line} imports {i.target}"
        for i in all_imports()
        if i.importer.split(".")[1:2] in ([f] for f in FRONT_ENDS)
        and (i.target.split(".")[0] == "sqlalchemy" or i.target.startswith("opendvi.db"))
    ]
    assert wrong == []


def test_no_module_imports_another_modules_private_names() -> None:
    wrong = [
        f"{i.importer}:{i.line} imports {name} from {i.target}"
        for i in all_imports()
        for name in i.names
        if name.startswith("_") and not name.startswith("__") and i.target != i.importer
    ]
    assert wrong == []


def _edges() -> dict[str, set[str]]:
    """Which of our modules each of our modules imports (``from package import module``
    counts as importing the module)."""
    modules = known_modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for i in all_imports():
        if not i.target.startswith("opendvi"):
            continue
        for name in i.names:
            target = f"{i.target}.{name}" if f"{i.target}.{name}" in modules else i.target
            if target in modules and target != i.importer:
                graph[i.importer].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_the_cycle_finder_finds_a_cycle_through_three_modules() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_two_modules_import_each_other_however_indirectly() -> None:
    # A package's __init__ that gathers its modules is left out: Python imports the package
    # first, so ``from opendvi.records import x`` inside records/ would read as a cycle.
    graph = _edges()
    packages = {name for path, name, _ in sources() if path.name == "__init__.py"}
    for package in packages:
        graph[package] = set()
    assert cycles(graph) == []


def test_no_module_outside_tables_and_migrations_passes_500_lines() -> None:
    long = [
        f"{path.relative_to(SRC)}: {lines} lines"
        for path in sorted(SRC.rglob("*.py"))
        if not str(path.relative_to(SRC)).startswith(LONG_BY_NATURE)
        and (lines := len(path.read_text().splitlines())) > MODULE_LINES
    ]
    assert long == []


def _commands(group: typer.Typer) -> Iterator[Callable[..., object]]:
    for command in group.registered_commands:
        assert command.callback is not None
        yield command.callback
    for sub in group.registered_groups:
        assert sub.typer_instance is not None
        yield from _commands(sub.typer_instance)


def _too_long(handlers: list[Callable[..., object]]) -> list[str]:
    out = []
    for handler in handlers:
        lines = len(inspect.getsourcelines(handler)[0])
        if lines > HANDLER_LINES:
            out.append(f"{handler.__module__}.{handler.__qualname__}: {lines} lines")
    return out


def test_no_command_passes_40_lines() -> None:
    from opendvi.cli import app

    handlers = list(_commands(app))
    assert len(handlers) >= 30
    assert _too_long(handlers) == []


def test_no_page_or_api_route_passes_40_lines(dvi: OpenDVI) -> None:
    from opendvi.web import api_routes, create_app

    routes = api_routes(create_app(dvi=dvi))
    assert len(routes) >= 50
    assert _too_long([route.endpoint for route in routes]) == []
