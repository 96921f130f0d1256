"""apprise stays behind one module (STYLE.md layout), and is imported only when something is sent."""

import ast
import subprocess
import sys
from pathlib import Path

TRACKER = Path(__file__).parents[2] / "tracker"


def imports_apprise(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        if any(name.split(".")[0] == "apprise" for name in names):
            return True
    return False


def test_only_the_channels_module_imports_apprise():
    importers = {str(p.relative_to(TRACKER)) for p in TRACKER.rglob("*.py") if imports_apprise(p)}
    assert importers == {"notify/channels.py"}


def test_importing_the_notify_modules_does_not_load_apprise():
    code = "import sys, tracker.notify.channels, tracker.notify.render; print('apprise' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
