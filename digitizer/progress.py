"""Progress of a running ffmpeg: parsed from `-progress pipe:1`, shown with tqdm on a
terminal, and passed to a callback (the catalog heartbeat) either way."""

from __future__ import annotations

import sys
import time


def out_seconds(key: str, value: str) -> float | None:
    if key in ("out_time_us", "out_time_ms"):  # both are microseconds, despite the name
        try:
            return int(value) / 1_000_000
        except ValueError:
            return None
    return None


class Bar:
    """tqdm on stderr when it is a terminal, nothing when piped; ticks the callback."""

    def __init__(self, total: float, desc: str, on_progress=None, every: float = 2.0):
        self.total = max(total, 0.001)
        self.on_progress = on_progress
        self.every = every
        self._last_tick = 0.0
        self.bar = None
        if sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=round(self.total, 1), desc=desc, unit="s", file=sys.stderr,
                            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} s"
                                       " [{elapsed}<{remaining}]", leave=False)
        self.done = 0.0

    def update(self, seconds: float) -> None:
        seconds = min(max(seconds, 0.0), self.total)
        if self.bar is not None:
            self.bar.update(round(seconds - self.done, 3))
        self.done = seconds
        now = time.monotonic()
        if self.on_progress and now - self._last_tick >= self.every:
            self._last_tick = now
            self.on_progress(self.done / self.total)

    def feed(self, stream: str, line: str) -> None:
        if stream == "stdout" and "=" in line:
            key, _, value = line.partition("=")
            sec = out_seconds(key.strip(), value.strip())
            if sec is not None:
                self.update(sec)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
