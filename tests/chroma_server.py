"""A real `chroma run` server on a free loopback port that a test can stop and start again on the same port and data
(Chroma down, then back), shared by the Chroma server tests and the fault-injection tests."""
from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def chroma_executable() -> str | None:
    beside_python = Path(sys.executable).with_name("chroma")
    return str(beside_python) if beside_python.exists() else shutil.which("chroma")


def wait_for_heartbeat(url: str, process: subprocess.Popen, output: Callable[[], str], timeout: float = 60.0) -> None:
    """Until the Chroma server at `url` answers; fails with what `process` (it, or what runs it) printed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"chroma run exited with {process.returncode}:\n{output()}")
        try:
            with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"chroma run did not answer its heartbeat within {timeout:.0f}s:\n{output()}")


class ChromaServer:
    """`chroma run --host 127.0.0.1` over a data folder; `down()` stops it for a block and starts it again."""

    def __init__(self, executable: str, root: Path) -> None:
        self.executable, self.root, self.port = executable, root, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> ChromaServer:
        log = self.root / "server.log"
        with log.open("ab") as out:
            self.process = subprocess.Popen([self.executable, "run", "--host", "127.0.0.1", "--port", str(self.port),
                                             "--path", str(self.root / "db")], stdout=out, stderr=subprocess.STDOUT)
        wait_for_heartbeat(self.url, self.process, lambda: log.read_text(errors="replace"), timeout)
        return self

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    @contextmanager
    def down(self):
        """Chroma unavailable for the block (its port closed), then back with the same data."""
        self.stop()
        try:
            yield self
        finally:
            self.start()


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """A real Chroma server for the whole session (skipped if the `chroma` executable is missing)."""
    executable = chroma_executable()
    if executable is None:
        pytest.skip("the `chroma` executable (installed with chromadb) is not on PATH or beside python")
    server = ChromaServer(executable, tmp_path_factory.mktemp("chroma-server")).start()
    yield server
    server.stop()
