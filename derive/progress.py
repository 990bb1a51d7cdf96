"""What a running build tells its user: how long each stage took, and a status line while it works.

`Stages` is plain data (stage name -> seconds) that the build fills in and the command line or the
benchmark prints. `Progress` is one line on stderr, rewritten in place, shown only on a terminal:
never in a pipe, a log file or with --quiet, where it would only be noise.
"""
from __future__ import annotations

import shutil
import sys
import threading
import time
from contextlib import contextmanager
from typing import Iterator, TextIO

# The stages of `derive build` for one spec, in the order they run.
STAGES = ("import", "parse", "derive", "emit", "load", "check", "answers", "prove", "render", "compile", "write")


class Stages(dict):
    """Seconds per stage; `with stages("derive"): ...` adds the time the block took."""

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self[name] = self.get(name, 0.0) + time.perf_counter() - start

    def line(self) -> str:
        """'derive 45 ms, emit 12 ms, …' in pipeline order."""
        order = [s for s in STAGES if s in self] + sorted(set(self) - set(STAGES))
        return ", ".join(f"{name} {1e3 * self[name]:.0f} ms" for name in order)


class Progress:
    """A status line such as "[2/9] iris-423: prove · compiling PDFs 14/27" on a terminal."""

    def __init__(self, stream: TextIO | None = None, enabled: bool | None = None):
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            isatty = getattr(self.stream, "isatty", None)
            enabled = bool(isatty and isatty())
        self.enabled = enabled
        self._lock = threading.Lock()
        self._spec = self._stage = self._count = ""
        self._shown = 0

    def spec(self, index: int, total: int, name: str) -> None:
        self._spec = f"[{index}/{total}] {name}"
        self._stage = ""
        self._show()

    def stage(self, name: str) -> None:
        self._stage = name
        self._show()

    def idle(self) -> None:
        """Every spec is derived: only a counter (the PDFs still compiling) remains on the line."""
        self._spec = self._stage = ""
        self._show()

    def count(self, what: str, done: int, total: int) -> None:
        self._count = f"{what} {done}/{total}" if done < total else ""
        self._show()

    def clear(self) -> None:
        """Remove the line, so that ordinary output starts at the left margin."""
        if not self.enabled:
            return
        with self._lock:
            if self._shown:
                self.stream.write("\r" + " " * self._shown + "\r")
                self.stream.flush()
                self._shown = 0

    def _show(self) -> None:
        if not self.enabled:
            return
        head = f"{self._spec}: {self._stage}" if self._stage else self._spec
        text = " · ".join(part for part in (head, self._count) if part)
        width = max(20, shutil.get_terminal_size().columns - 1)
        text = text[:width]
        with self._lock:
            padded = text.ljust(self._shown)  # spaces over what a longer line left behind, then back
            self.stream.write("\r" + padded + ("\r" + text if len(padded) > len(text) else ""))
            self.stream.flush()
            self._shown = len(text)
