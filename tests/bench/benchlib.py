"""Measurement helpers for tests/bench/bench.py: timed runs with whole-tree read counts,
interleaved paired rounds, CPU time of a process tree, and the table/JSON report.

Bytes read (method). The kernel's per-process I/O counters (/proc/<pid>/io) count every
read() syscall in `rchar`, page cache or not (`read_bytes` counts only block-device reads,
so it is ~0 when the image is cached, as it is here). When a child is reaped, its counters
and those of everything it reaped are added to the parent's (kernel/exit.c,
wait_task_zombie), for all fields. So the bench process reads /proc/self/io before starting
a command and after the command exits, and the difference is the whole process tree's
reads. The bench is made a child subreaper and reaps any orphaned descendant before the
second reading, so a grandchild whose parent did not wait is still counted. rchar counts all
read() bytes, not only the source's: Python loading modules, pipes (digitizer reading
ffmpeg's progress), probes of the output. mmap'd files (shared libraries) are not counted.
"""

from __future__ import annotations

import ctypes
import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path


class BenchError(RuntimeError):
    pass


class Skip(Exception):
    """A part (or row) cannot run here; the message says why."""


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def make_subreaper() -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def self_io() -> dict:
    with open("/proc/self/io") as f:
        return {k: int(v) for k, v in (line.split(":") for line in f if ":" in line)}


def _reap_orphans(timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            if time.monotonic() > deadline:
                return
            time.sleep(0.01)


def children_cpu() -> float:
    """User+system CPU seconds of every reaped descendant: less sensitive than wall time to
    the other jobs of a shared machine (they take turns, they do not add work)."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run(argv: list, *, env: dict | None = None, cwd=None, log_path=None, check: bool = True) -> dict:
    """Run a command to completion: wall seconds, exit code and whole-tree read counters."""
    argv = [str(a) for a in argv]
    out = open(log_path, "wb") if log_path else subprocess.DEVNULL
    before = self_io()
    cpu0 = children_cpu()
    t0 = time.perf_counter()
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT if log_path else subprocess.DEVNULL,
                                env=env, cwd=cwd)
        rc = proc.wait()
        seconds = time.perf_counter() - t0
    finally:
        if log_path:
            out.close()
    _reap_orphans()
    after = self_io()
    res = {"seconds": seconds, "rc": rc, "cpu": children_cpu() - cpu0,
           "rchar": after["rchar"] - before["rchar"],
           "read_bytes": after.get("read_bytes", 0) - before.get("read_bytes", 0)}
    if check and rc != 0:
        raise BenchError(f"{Path(argv[0]).name} exited {rc}: {tail(log_path)}")
    return res


def tail(path, n: int = 3) -> str:
    if not path or not Path(path).exists():
        return "(no log)"
    lines = [ln for ln in Path(path).read_text(errors="replace").splitlines() if ln.strip()]
    return " | ".join(lines[-n:]) or "(empty log)"


def paired(cases: dict, rounds: int, label: str) -> dict:
    """Run every case once per round, interleaved (A, B, C, A, B, C, ...) so that a noisy
    machine slows all cases of a round alike; the order rotates each round so no case is
    always first. Returns {name: [result per round]}."""
    names = list(cases)
    results = {n: [] for n in names}
    for r in range(rounds):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            results[name].append(cases[name](r))
        log(f"{label}: round {r + 1}/{rounds}: " + ", ".join(
            f"{n} {results[n][-1]['seconds']:.3f}s" for n in names))
    return results


def med(results: list, key: str = "seconds") -> float:
    return statistics.median(r[key] for r in results)


def paired_ratio(a: list, b: list, key: str = "seconds") -> float:
    """Median over rounds of a[i]/b[i]: each ratio compares runs made side by side."""
    return statistics.median(x[key] / y[key] for x, y in zip(a, b) if y[key])


def tree_cpu_ticks(pid: int) -> int:
    """utime+stime of pid and all its live descendants, plus cutime+cstime (the reaped)."""
    info = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", "rb") as f:
                rest = f.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        info[int(d)] = (int(rest[1]), sum(int(x) for x in rest[11:15]))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        if p in info:
            total += info[p][1]
            todo += [c for c, (ppid, _) in info.items() if ppid == p]
    return total


def idle_cpu(argv: list, env: dict, log_path, settle: float, window: float) -> dict:
    """Start a long-running command, let it settle, and measure its tree's CPU over `window`
    seconds. Stops it with SIGTERM (then SIGKILL) to its own process group."""
    hz = os.sysconf("SC_CLK_TCK")
    with open(log_path, "wb") as out:
        proc = subprocess.Popen([str(a) for a in argv], stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        time.sleep(settle)
        if proc.poll() is not None:
            raise Skip(f"exited with {proc.returncode} within {settle:.0f} s: {tail(log_path)}")
        startup = tree_cpu_ticks(proc.pid)
        t0 = time.monotonic()
        time.sleep(window)
        ticks = tree_cpu_ticks(proc.pid) - startup
        elapsed = time.monotonic() - t0
        if proc.poll() is not None:
            raise Skip(f"exited with {proc.returncode} during the window: {tail(log_path)}")
        return {"cpu_seconds": ticks / hz, "window": elapsed, "startup_cpu_seconds": startup / hz,
                "percent_of_core": 100.0 * ticks / hz / elapsed}
    finally:
        for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            if proc.poll() is not None:
                break
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                pass


# -- report -----------------------------------------------------------------------------
def fmt_value(value, unit: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if unit == "B":
        for u, div in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
            if abs(value) >= div:
                return f"{value / div:.2f} {u}"
        return f"{value:.0f} B"
    if unit.startswith("%"):
        return f"{value:.3f} {unit}"
    if unit == "s" and value < 1:
        return f"{value * 1000:.1f} ms"
    return f"{value:.4g} {unit}".strip() if abs(value) < 1000 else f"{value:.0f} {unit}".strip()


def table(rows: list) -> str:
    head = ("part", "measure", "value", "ratio vs baseline")
    body = []
    for r in rows:
        x = r.get("ratio")
        ratio = "" if x is None else (f"{x:.2f}x " if x >= 0.1 else f"{x:.2g}x ") + (r.get("vs") or "")
        value = fmt_value(r.get("value"), r.get("unit", ""))
        if r.get("extra"):
            value += f" ({r['extra']})"
        body.append((r["part"], r["measure"], value, ratio))
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h)
              for i, h in enumerate(head)]
    line = lambda cells: " | ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([line(head), "-+-".join("-" * w for w in widths)] + [line(b) for b in body])


def digitizer_commands(digitizer: list, env: dict) -> set:
    done = subprocess.run(digitizer + ["--help"], capture_output=True, text=True, env=env)
    text = done.stdout.split("Commands:", 1)[-1] if "Commands:" in done.stdout else ""
    return set(re.findall(r"^  (\S+)\s{2,}", text, re.M))


# -- media ------------------------------------------------------------------------------
def run_text(argv) -> str:
    done = subprocess.run([str(a) for a in argv], capture_output=True, text=True, errors="replace")
    return done.stdout + done.stderr


def main_title(iso) -> tuple[int, int]:
    """(title number, payload bytes) of the longest title, from lsdvd's cells."""
    from digitizer.tools.lsdvd import parse as parse_lsdvd

    data = parse_lsdvd(run_text(["lsdvd", "-x", "-Oy", iso]))
    n = int(data["longest_track"])
    track = next(t for t in data["track"] if t["ix"] == n)
    return n, sum((c["last_sector"] - c["first_sector"] + 1) * 2048 for c in track["cell"])


def count_frames(ffmpeg, path) -> int:
    text = run_text([ffmpeg, "-hide_banner", "-nostdin", "-i", path, "-map", "0:v:0", "-c", "copy",
                     "-f", "null", "-"])
    return int(re.findall(r"frame=\s*(\d+)", text)[-1])


def vmaf(ffmpeg, distorted, reference, subsample: int) -> tuple[float, int]:
    """(VMAF score, frames compared) of distorted against reference. Both are 720x480 with no
    crop or scale anywhere, so they are compared at their own size (the default model is
    meant for 1080p at 3H, so read the scores as relative). Timestamps are reset to 0 on both
    sides and `shortest` stops at the shorter one; a dropped frame would show as a low score.
    n_subsample scores every Nth frame (all frames are still decoded)."""
    graph = ("[0:v]setpts=PTS-STARTPTS[d];[1:v]setpts=PTS-STARTPTS[r];[d][r]libvmaf="
             f"n_subsample={subsample}:n_threads={os.cpu_count()}:shortest=1")
    text = run_text([ffmpeg, "-hide_banner", "-nostdin", "-i", distorted, "-i", reference,
                     "-lavfi", graph, "-f", "null", "-"])
    score = re.search(r"VMAF score: ([\d.]+)", text)
    if not score:
        raise BenchError(f"no VMAF score: {text.strip().splitlines()[-1:]}")
    return float(score.group(1)), int(re.findall(r"frame=\s*(\d+)", text)[-1])
