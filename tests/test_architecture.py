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
