"""A small progress bar on stderr, one line per phase (stdout stays clean for `--json`)."""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import TextIO

WIDTH = 30


class Bar:
    """`with Bar("pipeline", total) as bar: bar.update()`; redraws at most ten times a second."""

    def __init__(self, label: str, total: int, stream: TextIO | None = None) -> None:
        self.label, self.total, self.done = label, max(1, total), 0
        self._stream = stream or sys.stderr
        self._started = time.perf_counter()
        self._drawn = 0.0

    def update(self, n: int = 1) -> None:
        """Count `n` more units of work."""
        self.done += n
        now = time.perf_counter()
        if now - self._drawn >= 0.1 or self.done >= self.total:
            self._draw(now)

    def set(self, done: int) -> None:
        """Set the absolute count (for phases that poll a total)."""
        self.update(done - self.done)

    def _draw(self, now: float) -> None:
        self._drawn = now
        filled = int(WIDTH * min(self.done, self.total) / self.total)
        bar = "#" * filled + "-" * (WIDTH - filled)
        elapsed = now - self._started
        self._stream.write(f"\r{self.label:<14} [{bar}] {self.done}/{self.total} {elapsed:6.1f}s")
        self._stream.flush()

    def __enter__(self) -> Bar:
        self._draw(time.perf_counter())
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._draw(time.perf_counter())
        self._stream.write("\n")
        self._stream.flush()
