"""Run as a script by tests/unit/test_imports.py: import each module named in argv[1] (a JSON list) on its own, in a
child forked from an interpreter that has imported the third-party packages they use but none of ours, and print
the failures as JSON ([name, error] pairs).

A fresh interpreter per module would prove the same thing about our modules, at ~0.5 s of third-party imports each
(measured: 70 s for ~170 modules under load, against ~11 s forked)."""
from __future__ import annotations

import importlib
import json
import os
import sys

OURS = frozenset({"bot", "knowledge", "jobs", "prompts", "tests", "bench"})


def in_child(work) -> tuple[int, str]:
    """Run `work` in a forked child; its exit status and what it wrote."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read)
        try:
            message = work() or ""
        except BaseException as exc:  # noqa: BLE001  (any failure to import is the finding)
            message = f"!{type(exc).__name__}: {exc}"
        os.write(write, message.encode())
        os._exit(1 if message.startswith("!") else 0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        message = pipe.read().decode()
    _, status = os.waitpid(pid, 0)
    return status, message


def third_party(names: list[str]) -> list[str]:
    """The top-level packages not ours that importing every module loads (found in a child, so this one stays clean)."""
    def load_all() -> str:
        for name in names:
            importlib.import_module(name)
        return json.dumps(sorted({m.partition(".")[0] for m in sys.modules} - OURS))

    status, found = in_child(load_all)
    return json.loads(found) if status == 0 else []  # a module that fails is reported below, on its own


def main(names: list[str]) -> list[list[str]]:
    for package in third_party(names):
        try:
            importlib.import_module(package)
        except Exception:  # noqa: BLE001  (optional extras that fail here fail in the child too, and are reported)
            pass
    assert not OURS.intersection(m.partition(".")[0] for m in sys.modules), "a third-party import loaded ours"
    failed = []
    for name in names:
        status, message = in_child(lambda name=name: importlib.import_module(name) and "")
        if status:
            failed.append([name, message.lstrip("!")])
    return failed


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))))
