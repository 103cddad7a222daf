"""Running external programs: the only user of subprocess in digitizer.

Every tool runs from an argument list (never a shell), with stdin closed, in its own process
group so that a stop kills its whole tree, and with PR_SET_PDEATHSIG so that even a kill -9
of digitizer itself leaves no orphaned ffmpeg behind. Output is streamed and split on both
``\\r`` and ``\\n`` because ffmpeg and HandBrake redraw progress with ``\\r``.
"""

from __future__ import annotations

import collections
import ctypes
import functools
import os
import re
import selectors
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from typing import Iterator

from digitizer.errors import DiskError, ToolFailed, ToolMissing, disk_failure

# What to install when a program is missing. Each tool module registers its own hint
# (tools/ffmpeg.py, tools/lsdvd.py, ...); programs the tests and benchmarks use are here.
INSTALL_HINT = {
    "dvdauthor": "apt install dvdauthor",
    "spumux": "apt install dvdauthor",
    "genisoimage": "apt install genisoimage",
    "HandBrakeCLI": "apt install handbrake-cli",
    "dvdbackup": "apt install dvdbackup",
}
# The flag that makes a program print its version (default: -version, ffmpeg's).
VERSION_FLAG = {"HandBrakeCLI": "--version"}


def register(program: str, *, hint: str, version_flag: str | None = None) -> None:
    """A tool module tells the runner how to install its program and ask its version."""
    INSTALL_HINT[program] = hint
    if version_flag:
        VERSION_FLAG[program] = version_flag

_SPLIT = re.compile(rb"[\r\n]")
# Library banners some programs print before their version line.
_BANNER = re.compile(r"^lib\w+: ")
_PR_SET_PDEATHSIG = 1


def _child_setup() -> None:
    # Runs in the child between fork and exec: die with the parent, even on SIGKILL.
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def resolve(program: str) -> str:
    """Absolute path of a program (a name looked up on PATH, or a path), or ToolMissing."""
    name = os.path.basename(program)
    if os.sep in program:
        if os.access(program, os.X_OK) and os.path.isfile(program):
            return program
        found = None
    else:
        found = shutil.which(program)
    if not found:
        hint = INSTALL_HINT.get(name, f"install {name}")
        raise ToolMissing(f"{name} not found: {hint}")
    return found


@dataclass
class Completed:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str


# ffmpeg closes a failure with generic lines; the cause is the line before them.
_GENERIC = re.compile(r"Conversion failed!|Nothing was written into output file|"
                      r"Error opening output files?|Error while filtering|^Exiting normally|"
                      r"^\[q\] command received|Error opening input files?")
_CONTEXT = re.compile(r"^\[[^\]]* @ 0x[0-9a-f]+\] ")


def _last_line(text) -> str:
    """The tool's last meaningful stderr line, without ffmpeg's `[ctx @ 0x...]` prefix."""
    lines = text if isinstance(text, (list, collections.deque)) else \
        [l.decode(errors="replace") for l in _SPLIT.split(text.encode(errors="replace"))]
    fallback = ""
    for line in reversed(lines):
        line = _CONTEXT.sub("", line.strip())
        if not line:
            continue
        fallback = fallback or line
        if not _GENERIC.search(line):
            return line
    return fallback


def display_name(program: str) -> str:
    name = os.path.basename(program)
    return "ffmpeg" if name.startswith("ffmpeg") else name


def _failure(argv: list[str], code: int, stderr_tail: str, lines=()) -> ToolFailed | DiskError:
    """The tool's failure; a DiskError (exit 1, retried) when any of its last lines says a
    disk is full, read-only or gone: the tool was fine, the disk was not."""
    name = display_name(argv[0])
    disk = next((_CONTEXT.sub("", line.strip()) for line in reversed(list(lines))
                 if disk_failure(line)), None)
    if code < 0:
        try:
            why = f"killed by {signal.Signals(-code).name}"
        except ValueError:
            why = f"killed by signal {-code}"
    else:
        why = f"exited with {code}"
    if disk is not None and code > 0:
        return DiskError(f"{name} {why}: {disk}")
    detail = f": {stderr_tail}" if stderr_tail else ""
    return ToolFailed(f"{name} {why}{detail}")


def run(argv: list[str], *, check: bool = True, timeout: float | None = None,
        env: dict | None = None, input: bytes | None = None) -> Completed:
    """Run to completion, capturing output (short probes: a disc reader, `ffmpeg -version`).

    stdin is closed unless `input` is given (the event hook reads its event there)."""
    argv = [resolve(argv[0])] + [str(a) for a in argv[1:]]
    stdin = {} if input is not None else {"stdin": subprocess.DEVNULL}
    try:
        proc = subprocess.run(argv, **stdin, input=input, capture_output=True,
                              timeout=timeout, env=env, process_group=0,
                              preexec_fn=_child_setup)
    except subprocess.TimeoutExpired:
        raise ToolFailed(f"{os.path.basename(argv[0])} timed out after {timeout} s") from None
    except OSError as exc:
        raise ToolMissing(f"{os.path.basename(argv[0])} cannot be started: {exc.strerror}") from None
    out = proc.stdout.decode("utf-8", errors="replace")
    err = proc.stderr.decode("utf-8", errors="replace")
    if check and proc.returncode != 0:
        raise _failure(argv, proc.returncode, _last_line(err) or _last_line(out),
                       err.splitlines()[-20:])
    return Completed(argv, proc.returncode, out, err)


_LIVE: set = set()  # running Processes, so a stop can kill them from the main thread


def kill_all() -> None:
    for proc in list(_LIVE):
        proc.kill(grace=1.0)


def _has_fd(stream) -> bool:
    try:
        stream.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    return True


class Process:
    """A running tool whose output is read line by line.

    Use as a context manager; leaving the block early (an exception, Ctrl-C, SIGTERM turned
    into an exception, or the caller no longer reading) kills the whole process group.
    """

    def __init__(self, argv: list[str], *, env: dict | None = None, cwd: str | None = None):
        self.argv = [resolve(argv[0])] + [str(a) for a in argv[1:]]
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=20)
        try:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                         env=env, cwd=cwd, process_group=0,
                                         preexec_fn=_child_setup)
        except OSError as exc:
            raise ToolMissing(f"{os.path.basename(self.argv[0])} cannot be started: "
                              f"{exc.strerror}") from None
        self.pid = self.proc.pid
        _LIVE.add(self)

    def lines(self) -> Iterator[tuple[str, str]]:
        """Yield ("stdout"|"stderr", line) as the tool writes them."""
        streams = (("stdout", self.proc.stdout), ("stderr", self.proc.stderr))
        if not all(_has_fd(stream) for _, stream in streams):
            # In-memory streams (pytest-subprocess replaying a tool's captured output):
            # nothing to wait on, each is read whole.
            for name, stream in streams:
                yield from self._emit(name, _SPLIT.split(stream.read()))
            return
        sel = selectors.DefaultSelector()
        pending = {}
        for name, stream in (("stdout", self.proc.stdout), ("stderr", self.proc.stderr)):
            sel.register(stream, selectors.EVENT_READ, name)
            pending[name] = b""
        try:
            while sel.get_map():
                for key, _ in sel.select():
                    name = key.data
                    chunk = os.read(key.fd, 65536)
                    if not chunk:
                        sel.unregister(key.fileobj)
                        rest = pending.pop(name)
                        if rest.strip():
                            yield from self._emit(name, [rest])
                        continue
                    parts = _SPLIT.split(pending[name] + chunk)
                    pending[name] = parts.pop()
                    yield from self._emit(name, parts)
        finally:
            sel.close()

    def _emit(self, name: str, parts: list[bytes]):
        for raw in parts:
            line = raw.decode("utf-8", errors="replace").strip()
            if not line:
                continue
            if name == "stderr":
                self.stderr_tail.append(line)
            yield name, line

    def wait(self, check: bool = True) -> int:
        code = self.proc.wait()
        if check and code != 0:
            raise _failure(self.argv, code, _last_line(self.stderr_tail), self.stderr_tail)
        return code

    def kill(self, grace: float = 2.0) -> None:
        if self.proc.poll() is not None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.pid, sig)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    return
                time.sleep(0.02)
        self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None or self.proc.poll() is None:
            self.kill()
        for stream in (self.proc.stdout, self.proc.stderr):
            stream.close()
        _LIVE.discard(self)
        return False


@functools.lru_cache(maxsize=None)
def version(program: str) -> str:
    """The tool's version line, probed once per process (recorded in markers)."""
    path = resolve(program)
    name = os.path.basename(path)
    flag = VERSION_FLAG.get(name, "-version")
    try:
        done = run([path, flag], check=False, timeout=10)
    except ToolMissing:
        return "unknown"
    text = (done.stdout + "\n" + done.stderr).strip()
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("*") and not _BANNER.search(line):
            return line[:200]
    return "unknown"
