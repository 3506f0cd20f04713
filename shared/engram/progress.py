"""Progress of long CLI commands (import, export, reindex), on stderr.

On a terminal: a tqdm bar with the count, the total when known, and the rate. Elsewhere (CI, a
pipe, a log file): a plain line every few seconds and one at the end, so logs stay readable.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import Any, TextIO


class Progress:
    def __init__(
        self,
        what: str,
        *,
        total: int | None = None,
        unit: str = "items",
        stream: TextIO | None = None,
        every: float = 5.0,
    ) -> None:
        self.what, self.total, self.unit = what, total, unit
        self.count = 0
        self._stream = stream or sys.stderr
        self._every = every
        self._started = self._last = time.monotonic()
        self._bar: Any = None
        if self._stream.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=what, unit=f" {unit}", file=self._stream, dynamic_ncols=True)

    def update(self, n: int = 1) -> None:
        self.count += n
        if self._bar is not None:
            self._bar.update(n)
            return
        now = time.monotonic()
        if now - self._last >= self._every:
            self._last = now
            self._line()

    def rate(self) -> float:
        elapsed = time.monotonic() - self._started
        return self.count / elapsed if elapsed > 0 else 0.0

    def _line(self, done: bool = False) -> None:
        of = f"/{self.total}" if self.total is not None else ""
        state = "done" if done else "..."
        print(f"{self.what}: {self.count}{of} {self.unit} ({self.rate():.0f}/s) {state}", file=self._stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        else:
            self._line(done=True)

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
