"""Run a command on a pseudo-terminal, as a person at a terminal runs it: stdin, stdout and stderr are a tty, so
progress bars, line editing and history behave as they do for them."""
from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import termios
import time
from pathlib import Path


class Terminal:
    """A process on a pseudo-terminal: `expect` text on its screen, `send` keys to it."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path, columns: int = 120):
        self._master, slave = pty.openpty()
        # A terminal window's size, as a terminal emulator sets it (a new pseudo-terminal has 0 columns).
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
        os.set_blocking(self._master, False)
        env = dict(env, TERM="xterm")
        self.process = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd,
                                        start_new_session=True)
        os.close(slave)
        self.screen = ""  # everything written so far, control sequences included

    def expect(self, text: str, timeout: float = 120, since: int = 0) -> int:
        """Wait until `text` has been written (after the first `since` characters); where it ends on the screen."""
        deadline = time.monotonic() + timeout
        while text not in self.screen[since:]:
            if not self._read(deadline - time.monotonic()):
                raise AssertionError(f"{text!r} never appeared within {timeout}s; the screen:\n{self.screen[-3000:]}")
        return self.screen.index(text, since) + len(text)

    def send(self, keys: str) -> None:
        os.write(self._master, keys.encode())

    def finish(self, timeout: float = 120) -> int:
        """Read until the process exits; its exit code."""
        deadline = time.monotonic() + timeout
        while self._read(deadline - time.monotonic()):
            pass
        code = self.process.wait(timeout=max(deadline - time.monotonic(), 1))
        os.close(self._master)
        return code

    def _read(self, timeout: float) -> bool:
        """Read what is there within `timeout`; False once the process has closed the terminal or time is up."""
        if timeout <= 0:
            return False
        ready, _, _ = select.select([self._master], [], [], timeout)
        if not ready:
            return False
        try:
            data = os.read(self._master, 65536)
        except OSError:  # EIO: every end of the terminal's other side is closed
            return False
        self.screen += data.decode("utf-8", errors="replace")
        return bool(data)
