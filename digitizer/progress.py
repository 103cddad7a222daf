"""Progress of a running step: a tqdm bar on stderr when it is a terminal (the only user of
tqdm), and a callback (the catalog heartbeat) either way, at most every few seconds.

Bars and text share one terminal: anything printed while bars are drawn goes through
`echo`, which clears the bars, prints, and draws them again below, so a line never lands
in the middle of a bar, and a closed bar leaves nothing behind (no bar stuck at 0 %, no
table header glued to the end of a bar's line)."""

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
            # dynamic_ncols: the bar follows the terminal's width (a bar wider than the
            # terminal wraps, and its redraws then stack up line after line).
            self.bar = tqdm(total=self.total, desc=desc, unit="s", file=sys.stderr,
                            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} s"
                                       " [{elapsed}<{remaining}]", leave=False,
                            dynamic_ncols=True)
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
        if self.bar is None:
            return
        bar, self.bar = self.bar, None
        with bar.get_lock():
            bar.close()
            # tqdm clears a bar below the first one and moves back up, but leaves the
            # cursor at the end of the blanks it wrote: back to the line's start, so the
            # next text starts at column 1.
            sys.stderr.write("\r")
            sys.stderr.flush()


def echo(text: str, err: bool = False) -> None:
    """Print one line (to stdout, or stderr with err) without garbling the bars being
    drawn: they are cleared first and drawn again after it."""
    stream = sys.stderr if err else sys.stdout
    tqdm_module = sys.modules.get("tqdm")
    bars = getattr(getattr(tqdm_module, "tqdm", None), "_instances", None)
    if not bars:  # no bar was ever drawn (or none is now): nothing to clear
        _write(stream, text + "\n", err)
        return
    from tqdm import tqdm

    with tqdm.external_write_mode(file=stream):
        _write(stream, text + "\n", err)


def _write(stream, text: str, err: bool) -> None:
    # A terminal closed or a reader gone (`| head`): the work goes on, output is a side
    # channel (jsonio.write_out sends stdout to /dev/null from then on).
    if not err:
        from digitizer.jsonio import write_out

        write_out(stream, text)
        return
    try:
        stream.write(text)
        stream.flush()
    except (OSError, ValueError):
        pass
