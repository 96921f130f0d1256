"""The domain core stays pure: only the standard library and tracker.domain itself (STYLE.md rule 1)."""

import ast
import sys
from pathlib import Path

DOMAIN = Path(__file__).parents[1] / "tracker" / "domain"


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_domain_core_imports_only_the_standard_library_and_itself():
    offenders = {
        f"{path.name}: {name}"
        for path in DOMAIN.glob("*.py")
        for name in imported_modules(path)
        if not name.startswith("tracker.domain") and name.split(".")[0] not in sys.stdlib_module_names
    }
    assert offenders == set()
    assert len(list(DOMAIN.glob("*.py"))) >= 5  # the scan saw the modules


TRACKER = DOMAIN.parent
STORE = TRACKER / "store"
# What code outside tracker/store/ may take from the ORM: the types it passes along and the errors it reports.
ORM_NAMES_OUTSIDE_STORE = {"Engine", "Session", "SQLAlchemyError", "IntegrityError", "OperationalError", "make_url"}
SESSION_QUERIES = {"exec", "execute", "add", "add_all", "get", "delete", "merge", "flush", "scalar", "scalars", "query"}


def _orm_uses(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in {"sqlmodel", "sqlalchemy"}:
            found += [f"imports {a.name}" for a in node.names if a.name not in ORM_NAMES_OUTSIDE_STORE]
        elif isinstance(node, ast.Import):
            found += [f"imports {a.name}" for a in node.names if a.name.split(".")[0] in {"sqlite3", "sqlmodel"}]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "session"
            and node.func.attr in SESSION_QUERIES
        ):
            found.append(f"line {node.lineno}: session.{node.func.attr}()")
    return found


def test_no_query_is_written_outside_the_store():
    modules = [p for p in TRACKER.rglob("*.py") if STORE not in p.parents]
    offenders = {f"{p.relative_to(TRACKER)}: {use}" for p in modules for use in _orm_uses(p)}
    assert offenders == set()
    assert len(modules) >= 40  # the scan saw the package


def test_the_store_scan_would_see_a_query():
    sample = STORE.parent / "notify" / "outbox.py"
    assert _orm_uses(sample) == []
    assert _orm_uses(STORE / "outbox.py")  # the store's own queries are what the rule looks for


def module_name(path: Path, root: Path = TRACKER.parent) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


TRACKER_MODULES = {module_name(path): path for path in TRACKER.rglob("*.py")}


def tracker_imports(path: Path, modules: set[str] | None = None, root: Path = TRACKER.parent) -> set[str]:
    """The tracker modules `path` imports: at the top, inside functions and under TYPE_CHECKING alike (a circle
    of type-only imports still means two modules that cannot be understood one without the other).

    `from tracker.a import b` is module tracker.a.b when b is one, else the package tracker.a itself (a name its
    __init__ defines or re-exports). Loading tracker.a.b also runs tracker/a/__init__.py, but that is not counted:
    a package's __init__ importing its submodules is no circle, unless a submodule imports the package back for a
    name the package gives."""
    modules = set(TRACKER_MODULES) if modules is None else modules
    name = module_name(path, root)
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolved from the importing module's package
                package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                base = ".".join([*package[: len(package) - node.level + 1], *filter(None, [node.module])])
            found.update(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names)
    return (found & modules) - {name}


def import_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every group of modules that import one another, directly or around a loop (the strongly connected
    components of the import graph with more than one module), each sorted, found by Tarjan's algorithm."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for imported in sorted(graph.get(module, ())):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = stack[stack.index(module) :]
            del stack[stack.index(module) :]
            if len(group) > 1:
                circles.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return sorted(circles)


def import_graph() -> dict[str, set[str]]:
    return {name: tracker_imports(path) for name, path in TRACKER_MODULES.items()}


def test_no_module_of_the_tracker_is_part_of_an_import_circle():
    graph = import_graph()
    circles = [
        " <-> ".join(f"{m} (imports {', '.join(sorted(graph[m] & set(group)))})" for m in group)
        for group in import_circles(graph)
    ]
    assert circles == []
    # the scan saw imports at the top, inside functions and in packages' __init__
    assert "tracker.domain.versions" in graph["tracker.domain.version_grammar"]
    assert "tracker.cli.poll" in graph["tracker.cli"]
    assert len(graph) >= 100


def test_an_import_circle_is_found():
    assert import_circles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c"]]
    assert import_circles({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []
    assert import_circles({"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"c", "a"}}) == [["a", "b"], ["c", "d"]]


def test_a_circle_hidden_in_a_function_or_through_a_package_is_seen(tmp_path: Path):
    package = tmp_path / "tracker" / "pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("from tracker.pkg.inner import helper\n\nNAME = 1\n")
    (package / "inner.py").write_text("def helper():\n    from tracker.pkg import NAME  # lazy: test\n")
    (package / "other.py").write_text("from . import inner\n")
    modules = {"tracker.pkg", "tracker.pkg.inner", "tracker.pkg.other"}
    graph = {module_name(path, tmp_path): tracker_imports(path, modules, tmp_path) for path in package.glob("*.py")}
    assert graph == {
        "tracker.pkg": {"tracker.pkg.inner"},
        "tracker.pkg.inner": {"tracker.pkg"},
        "tracker.pkg.other": {"tracker.pkg.inner"},
    }
    assert import_circles(graph) == [["tracker.pkg", "tracker.pkg.inner"]]


def test_the_orm_models_are_imported_only_inside_the_store():
    """Rows stay in store/ (issue 21 item 3): everything else gets frozen records typed with the domain's enums."""
    offenders = sorted(
        f"{name} imports tracker.store.models"
        for name, imported in import_graph().items()
        if not name.startswith("tracker.store") and "tracker.store.models" in imported
    )
    assert offenders == []
