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


CLI = Path(__file__).parents[1] / "tracker" / "cli"


def module_name(path: Path) -> str:
    parts = path.relative_to(CLI.parents[1]).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def cli_imports(path: Path, modules: set[str]) -> set[str]:
    """The tracker.cli modules `path` imports, at the top or inside a function: `from tracker.cli import x`
    is module x when x is one, else the package itself."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolved from the importing module's package
                package = module_name(path).split(".")
                package = package if path.name == "__init__.py" else package[:-1]
                base = ".".join([*package[: len(package) - node.level + 1], *filter(None, [node.module])])
            found.update(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names)
    return found & modules


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    cycles, done = [], set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            cycles.append([*path[path.index(module) :], module])
            return
        if module in done:
            return
        for imported in sorted(graph[module]):
            visit(imported, [*path, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])
    return cycles


def test_the_cli_package_has_no_import_cycle():
    paths = {module_name(path): path for path in CLI.glob("*.py")}
    graph = {name: cli_imports(path, set(paths)) - {name} for name, path in paths.items()}
    assert import_cycles(graph) == []
    assert "tracker.cli.poll" in graph["tracker.cli"]  # the scan saw the app adding the commands
    assert len(paths) >= 8


def test_an_import_cycle_is_found():
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert import_cycles({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []
