"""Progress of a running step: a tqdm bar on stderr when it is a terminal (the only user of
tqdm), and a callback (the catalog heartbeat) either way, at most every few seconds."""

from __future__ import annotations

import sys
import time


class Bar:
    """Counts seconds of media done out of `total`; a step's file work calls `update`."""

    def __init__(self, total: float, desc: str, on_progress=None, every: float = 2.0):
        self.total = max(total, 0.001)
        self.on_progress = on_progress
        self.every = every
        self._last_tick = 0.0
        self.bar = None
        if sys.stderr.isatty():
            from tqdm import tqdm

            # total and position are set, never summed from rounded steps: a sum that passed
            # the total made tqdm warn "clamping frac to range [0, 1]" on every rip.
            self.bar = tqdm(total=self.total, desc=desc, unit="s", file=sys.stderr,
                            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} s"
                                       " [{elapsed}<{remaining}]", leave=False)
        self.done = 0.0

    def update(self, seconds: float | None) -> None:
        if seconds is None:
            return
        seconds = min(max(seconds, 0.0), self.total)
        if self.bar is not None and seconds != self.done:
            self.bar.n = seconds
            self.bar.refresh()
        self.done = seconds
        now = time.monotonic()
        if self.on_progress and now - self._last_tick >= self.every:
            self._last_tick = now
            self.on_progress(self.done / self.total)

    __call__ = update

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
