"""The house rules, read from the code (ast): who may know what, and who may do what.

Each rule names the only place allowed to break it. `test_the_rules_catch_breakage` builds a
small package that breaks every rule once and shows that each one is caught.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "digitizer"

# What one kind of disc knows stays in its format module (and the tool modules that read it).
FORMAT_TERMS = re.compile(r"\bIFOs?\b|VIDEO_TS|lsdvd|dvdvideo", re.IGNORECASE)
FORMAT_HOMES = ("formats/", "tools/")
# config.py may name a tool's path key ("lsdvd = ..."): that is configuration, not knowledge.
FORMAT_ALLOWED = {("config.py", "lsdvd"), ("config.py", "lsdvd binary")}
SQL = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|PRAGMA|BEGIN)\b")
PROCESS_CALLS = re.compile(r"^os\.(system|popen|exec\w*|spawn\w*|fork\w*)$|^pty\.spawn$")
# module-name prefix -> the only files that may import it
IMPORTS = {
    "subprocess": ("tools/run.py",),
    "sqlite3": ("catalog.py", "cli/complete.py"),  # completion's documented read-only query
    "sqlite_utils": ("catalog.py",),
    "click": ("cli/",),
    "tqdm": ("progress.py",),
    "dask": ("cluster.py",),
    "distributed": ("cluster.py",),
    "urllib": ("services/http.py",),
    "http.client": ("services/http.py",),
    # the steps ask TheDiscDb and TMDb through identity.py, never directly
    "digitizer.services.discdb": ("identity.py", "services/"),
    "digitizer.services.tmdb": ("identity.py", "services/"),
    "cryptography": ("certs.py",),
}


def modules(package: Path):
    """(path relative to the package, dotted module name, ast) of every module."""
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package).as_posix()
        parts = [package.name] + rel[:-3].split("/")
        if parts[-1] == "__init__":
            parts.pop()
        yield rel, ".".join(parts), ast.parse(path.read_text(encoding="utf-8"))


def _docstrings(tree) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _allowed(rel: str, homes) -> bool:
    return any(rel == h or (h.endswith("/") and rel.startswith(h)) for h in homes)


def _imported(node, module: str) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:  # relative: resolve against the importing module's package
            pkg = module.split(".")[:-node.level] if not module.endswith("__init__") else \
                module.split(".")
            base = ".".join(pkg + ([base] if base else []))
        return [base] + [f"{base}.{a.name}" for a in node.names]
    return []


def check(package: Path) -> list[str]:
    """Every broken rule in the package, one line each."""
    found = []
    graph: dict[str, set[str]] = {}
    names = {m for _, m, _ in modules(package)}
    for rel, module, tree in modules(package):
        docs = _docstrings(tree)
        graph[module] = set()
        for node in ast.walk(tree):
            where = f"{rel}:{getattr(node, 'lineno', 0)}"
            for target in _imported(node, module):
                for prefix, homes in IMPORTS.items():
                    if (target == prefix or target.startswith(prefix + ".")) and \
                            not _allowed(rel, homes):
                        found.append(f"{where}: imports {prefix} (only {', '.join(homes)})")
                if target in names and target != module:
                    graph[module].add(target)
            texts = []
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                    id(node) not in docs:
                texts.append(node.value)
                if SQL.match(node.value) and not _allowed(rel, ("catalog.py", "cli/complete.py")):
                    found.append(f"{where}: SQL outside catalog.py: {node.value[:40]!r}")
            elif isinstance(node, ast.Name):
                texts.append(node.id)
            elif isinstance(node, ast.Attribute):
                texts.append(node.attr)
                if isinstance(node.value, ast.Name) and \
                        PROCESS_CALLS.match(f"{node.value.id}.{node.attr}") and \
                        not _allowed(rel, ("tools/run.py",)):
                    found.append(f"{where}: starts a process outside tools/run.py")
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.arg)):
                texts.append(getattr(node, "name", None) or node.arg)
            for text in texts:
                if FORMAT_TERMS.search(text) and not _allowed(rel, FORMAT_HOMES) and \
                        (rel, text) not in FORMAT_ALLOWED:
                    found.append(f"{where}: format knowledge outside formats/ and tools/: "
                                 f"{text[:40]!r}")
    found += [f"import cycle: {' -> '.join(c)}" for c in cycles(graph)]
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Import cycles, each once (module-level and function-level imports alike)."""
    out, state, stack = [], {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            # importing a package's module goes through the package: ignore parent edges
            if node.startswith(nxt + "."):
                continue
            if state.get(nxt) == "open":
                out.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return out


def test_digitizer_keeps_the_house_rules():
    assert check(PACKAGE) == []


def test_the_rules_catch_breakage(tmp_path):
    pkg = tmp_path / "digitizer"
    files = {
        "__init__.py": "",
        "steps/__init__.py": "",
        "steps/rip.py": 'import subprocess\nPATH = "VIDEO_TS/VIDEO_TS.IFO"\n',
        "status.py": 'import tqdm\nQUERY = "SELECT * FROM steps"\n',
        "notify.py": "import urllib.request\n",
        "steps/scan.py": "from digitizer.services import tmdb\n",
        "pipeline.py": "import click\nfrom digitizer import watch\n",
        "watch.py": "from digitizer import pipeline\nimport os\nos.system('eject')\n",
        "names.py": "def lsdvd_title():\n    '''docstrings may speak of IFO files'''\n",
        "formats/__init__.py": "",
        "formats/dvd.py": 'VMG = "VIDEO_TS/VIDEO_TS.IFO"\n',
    }
    for rel, text in files.items():
        (pkg / rel).parent.mkdir(parents=True, exist_ok=True)
        (pkg / rel).write_text(text)
    found = check(pkg)
    expected = [
        "steps/rip.py:1: imports subprocess",
        "steps/rip.py:2: format knowledge",
        "status.py:1: imports tqdm",
        "status.py:2: SQL outside catalog.py",
        "notify.py:1: imports urllib",
        "steps/scan.py:1: imports digitizer.services.tmdb",
        "pipeline.py:1: imports click",
        "watch.py:3: starts a process",
        "names.py:1: format knowledge outside formats/ and tools/: 'lsdvd_title'",
        "import cycle: digitizer.pipeline -> digitizer.watch -> digitizer.pipeline",
    ]
    for line in expected:
        assert any(f.startswith(line) for f in found), (line, found)
    # The format module itself and docstrings are where that knowledge belongs.
    assert not any(f.startswith("formats/") for f in found)
    assert len(found) == len(expected), found
