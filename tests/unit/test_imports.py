"""The layout holds without import-order tricks: no import cycle among our modules, every module imports on its own
in a fresh interpreter, the scheduler engine (jobs/) imports nothing of ours, and every import block is sorted
(issue 12)."""
from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "knowledge", "jobs", "prompts")
SORTED = (*PACKAGES, "tests", "bench")


def modules() -> dict[str, Path]:
    """Every module of ours by dotted name (Alembic's env.py and revision scripts are run by Alembic, not imported)."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "migrations" in parts:
                continue
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def module_level_imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The modules of ours that `name` imports when it is imported (imports inside functions are deferred)."""
    targets = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        for target in names:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                targets.add(target)
    return targets


def every_import(path: Path) -> set[str]:
    """Every module `path` imports anywhere: at module level, deferred inside a function or under TYPE_CHECKING, or
    by a literal name through importlib.import_module or __import__."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Call) and ast.unparse(node.func).endswith(("import_module", "__import__")) and \
                node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            names.add(node.args[0].value)
    return names


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while (top := stack.pop()) != node:
                group.append(top)
            if group:
                found.append(sorted([node, *group]))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_module_of_ours_is_part_of_an_import_cycle():
    known = modules()
    graph = {name: module_level_imports(name, path, known) for name, path in known.items()}

    assert len(known) > 50 and cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_scheduler_engine_imports_nothing_of_ours():
    # jobs/ is the generic engine (triggers, runs, lease, fan-out); the features plug into it, never the reverse.
    others = set(PACKAGES) - {"jobs"}
    engine = {name: path for name, path in modules().items() if name.partition(".")[0] == "jobs"}
    ours = {name: sorted(n for n in every_import(path) if n.partition(".")[0] in others)
            for name, path in engine.items()}

    assert len(engine) >= 6 and {name: found for name, found in ours.items() if found} == {}


def test_every_import_is_seen_wherever_it_is_written(tmp_path):
    path = tmp_path / "engine.py"
    path.write_text("import importlib\nfrom typing import TYPE_CHECKING\n\nfrom jobs import runs\n\n"
                    "if TYPE_CHECKING:\n    from bot.comms.tables import ScheduledRun\n\n\n"
                    "def later():\n    from bot.metrics import metrics\n    import knowledge.errors\n"
                    "    return importlib.import_module('bot.store'), __import__('prompts')\n", encoding="utf-8")

    assert every_import(path) == {"importlib", "typing", "jobs", "bot.comms.tables", "bot.metrics",
                                  "knowledge.errors", "bot.store", "prompts"}


def test_every_module_imports_on_its_own_in_a_fresh_interpreter():
    # Each module in a child forked from an interpreter holding only third-party packages (tests/unit/import_each.py).
    done = subprocess.run([sys.executable, str(Path(__file__).with_name("import_each.py")), json.dumps(list(modules()))],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout) == []


def test_a_module_that_cannot_be_imported_on_its_own_is_named_with_its_error(tmp_path):
    (tmp_path / "needs_first.py").write_text("import json\nvalue = json.decoder.JSONDecodeError\n"
                                             "other = sys.modules\n", encoding="utf-8")
    (tmp_path / "fine.py").write_text("import json\n", encoding="utf-8")
    script = Path(__file__).with_name("import_each.py")
    done = subprocess.run([sys.executable, str(script), json.dumps(["fine", "needs_first"])], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert json.loads(done.stdout) == [["needs_first", "NameError: name 'sys' is not defined"]]


def test_imports_are_sorted():
    """isort's order through ruff (its I rules, configured in pyproject.toml): `ruff check --fix` puts them right."""
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "--select", "I", "--no-cache", "--output-format",
                           "concise", *SORTED], cwd=ROOT, capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stdout + done.stderr
