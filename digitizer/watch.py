"""watch: digitize every disc that goes into a drive (or every image given), unattended.

The main thread polls the drives with one cheap ioctl each (no disc reads while idle) and
rips a new disc as soon as it appears, then ejects it. Transcode and insert steps run from
the catalog's queue in worker threads, each with its own catalog connection, so the next
disc rips while earlier ones transcode. One flock per drive keeps a udev-started
`watch --once /dev/sr0` and a running `watch` from ever reading the same drive at once.
"""

from __future__ import annotations

import fcntl
import os
import signal
import threading
import time
from pathlib import Path

from digitizer import drives, identity, notify, pipeline
from digitizer.catalog import Catalog, open_catalog
from digitizer.cluster import Cluster
from digitizer.errors import (ERROR, ClusterUnavailable, Conflict, DigitizerError,
                              Interrupted, describe_os_error, retry_at, retry_wait, transient,
                              warn)
from digitizer.names import Name, label_slug
from digitizer.steps import claim


class DriveLock:
    """An exclusive, non-blocking lock per source; released by the kernel if we die."""

    def __init__(self, folder: Path, source: str):
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{label_slug(os.path.realpath(source))}.lock"
        self.fd = None

    def acquire(self) -> bool:
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            self.fd = None
            return False
        return True

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _about(source: str, message: str) -> str:
    """A message about a source that names it once (the error may already start with it)."""
    return message if source in message else f"{source}: {message}"


class Watcher:
    def __init__(self, cfg, sources: list[str], *, once: bool, movie=None, show=None,
                 season=None, edition=None, workers: int | None = None, emit=None,
                 disc: int | None = None):
        self.cfg = cfg
        self.sources = list(sources)
        self.once = once
        self.name = Name.from_options(movie, show, season, edition=edition)
        self.disc = disc  # --disc: the place in a box set of the discs this watch meets
        self.workers = max(1, workers or cfg.transcode_workers)
        self.emit = emit or (lambda obj: None)
        self.stop = threading.Event()
        self.ripping = threading.Event()  # the main thread is still handling discs
        self.lock_dir = cfg.path_of("catalog").parent / "locks"
        self.seen: dict[str, str] = {}  # source -> last status, to act on changes only
        self.failures: list[int] = []  # exit codes of what failed, for `watch --once`
        # source -> what became of it: {"fingerprint"}, {"status"} of an empty drive, or
        # {"error"}; `watch --once` ends with a line about each.
        self.handled: dict[str, dict] = {}
        self._failures_lock = threading.Lock()
        self.touched: set[str] = set()  # discs this run handled: --once names what waits
        self.next_look: dict[str, float] = {}  # fingerprint -> when to look for its disc again

    def cluster_gone(self, exc: ClusterUnavailable) -> None:
        """The scheduler went away: stop claiming; the first worker to see it says so."""
        with self._failures_lock:
            first = not any(code == exc.exit_code for code in self.failures)
            self.failures.append(exc.exit_code)
        self.stop.set()
        if first:
            warn(str(exc), "error")

    def failed(self, code: int, message: str, kind: str = "warning") -> None:
        """Count a failure (its exit code decides watch's) and say it on one line."""
        with self._failures_lock:
            self.failures.append(code)
        warn(message, kind)

    # -- signals ----------------------------------------------------------------------
    def _on_signal(self, signum, frame):
        # Stop claiming, stop children; the step in flight is handed back as pending.
        self.stop.set()
        claim.STOPPING.set()
        raise Interrupted(f"stopped by {signal.Signals(signum).name}")

    # -- discs ------------------------------------------------------------------------
    def handle(self, catalog: Catalog, source: str) -> None:
        lock = DriveLock(self.lock_dir, source)
        if not lock.acquire():
            warn(f"{source} is being handled by another digitizer process", "notice")
            self.handled[source] = {"error": "being handled by another digitizer process"}
            return
        try:
            if drives.is_block_device(source):
                status, _ = drives.drive_status(source)
                catalog.update_drive(source, status=status)
                if status not in ("disc", "not_a_drive", "no_info"):
                    self.handled[source] = {"status": status}
                    return
            from digitizer.steps.fingerprint import read_ids

            self.handled[source] = {"fingerprint": read_ids(source)["fingerprint"]}
            for row in pipeline.digitize(source, catalog, self.cfg, do_rest=False,
                                         name=self.name, touched=self.touched,
                                         disc=self.disc):
                self.emit(row)
        except Conflict as exc:
            warn(_about(source, str(exc)), "notice")
        except Interrupted:
            raise
        except DigitizerError as exc:
            self.handled[source] = dict(self.handled.get(source, {}), error=str(exc))
            self.failed(exc.exit_code, _about(source, str(exc)), "error")
        except OSError as exc:
            self.handled[source] = dict(self.handled.get(source, {}),
                                        error=describe_os_error(exc))
            self.failed(ERROR, _about(source, describe_os_error(exc)), "error")
        finally:
            lock.release()

    def poll(self, catalog: Catalog) -> None:
        sources = self.sources or drives.list_drives()
        for source in sources:
            if self.stop.is_set():
                return
            status = drives.drive_status(source)[0] if drives.is_block_device(source) else None
            if status not in (None, "not_a_drive"):
                before = self.seen.get(source)
                self.seen[source] = status
                if status != "disc" or before == "disc":
                    continue  # act on a disc arriving, not on one still sitting there
            elif source in self.seen:
                continue  # an image, or a block device that is no drive: once per run
            else:
                self.seen[source] = "disc"
            self.handle(catalog, source)

    # -- queue workers ----------------------------------------------------------------
    def work(self) -> None:
        catalog = Catalog(self.cfg.path_of("catalog"), listener=notify.listener(self.cfg))
        try:
            while not self.stop.is_set():
                if not self.run_one(catalog):
                    if self.once and not self.ripping.is_set() and \
                            not catalog.has_queued_work():
                        return
                    self.stop.wait(1.0)
        finally:
            catalog.close()

    def run_one(self, catalog: Catalog) -> bool:
        """Claim and run one step that follows a first step (transcode, insert, ...);
        False when there was none."""
        catalog.release_stale()
        step = catalog.claim(following=True)
        if step is None:
            return False
        fp, title, kind = step["fingerprint"], step["title"], step["kind"]
        self.touched.add(fp)
        result = None
        try:
            with claim.handing(step["id"]):
                folder, marker = pipeline.disc_marker(catalog, fp)
                name = identity.resolve(catalog, self.cfg, fp, marker.get("label"),
                                        marker.get("titles") or [], given=self.name)
                row = next(iter(pipeline.plan(catalog, self.cfg, fp, only=[title])), None)
                if row is None:
                    catalog.release(step["id"], "dismissed")
                    return True
                if row["next"] == "done":
                    catalog.finish(step["id"], row["path"])
                    return True
                result = pipeline.advance(catalog, self.cfg, row, name)
            pipeline.announce_if_done(catalog, fp)
        except Interrupted:
            catalog.release(step["id"])
            raise
        except ClusterUnavailable as exc:
            # Every step would meet the same: stop the watch, say it once.
            catalog.release(step["id"])
            self.cluster_gone(exc)
            return True
        except Exception as exc:  # noqa: BLE001 - a worker must survive any failure
            # Whatever went wrong (a bug included) is recorded on the step and counted,
            # and the worker goes on with the next step.
            why = claim.record_failure(catalog, step, exc)
            result = {"error": why, "exit_code": getattr(exc, "exit_code", ERROR)}
        finally:
            current = catalog.step(fp, title, kind)
            if current and current["state"] == "running" and \
                    current["worker_pid"] == os.getpid() and current["id"] == step["id"] \
                    and result is not None and result.get("next") == "failed":
                # It failed before its step function claimed it (a preset that does not
                # exist, a file that is gone): failed, never pending again, or this worker
                # would claim it again at once, and again.
                catalog.fail(step["id"], result.get("error") or "failed", result.get("cause"),
                             result.get("exit_code") or ERROR)
                catalog.add_event("step_failed", fp, title, step=kind,
                                  error=result.get("error"), cause=result.get("cause"))
            elif current and current["state"] == "running" and \
                    current["worker_pid"] == os.getpid() and current["id"] == step["id"]:
                catalog.release(current["id"])
        if result is not None:
            # Output is a side channel: a reader that went away never fails a step.
            self.emit(result)
        if result and result.get("error") and result.get("next") != "review":
            self.failed(result.get("exit_code") or ERROR,
                        f"title {title} of {fp[:12]}: {result['error']}")
        return True

    def retry_due(self, catalog: Catalog) -> None:
        """Steps that failed for a cause that may have gone (a full, read-only or missing
        disk, a read error, an unreachable worker) are tried again once their back-off is
        due: the following steps by the queue, a first step by reading its disc again when
        it is in a drive (or its image is there)."""
        pipeline.requeue_retryable(catalog, self.cfg, due_only=True, readable=False)
        now = time.time()
        firsts = {s["fingerprint"]: s for s in catalog.steps(state="failed")
                  if s["after"] is None and transient(s["error"], s["cause"])
                  and now >= retry_at(s, self.cfg.retry_seconds)}
        for fp, step in sorted(firsts.items()):
            if self.stop.is_set():
                return
            if now < self.next_look.get(fp, 0):
                continue
            source = pipeline.source_for(catalog, fp)
            if source is None:
                # Not in a drive now: reading every drive each poll for it would make an
                # idle watch read discs; look again after the step's own back-off.
                self.next_look[fp] = now + retry_wait(step["attempts"], self.cfg.retry_seconds)
                continue
            self.seen[source] = "disc"  # handled now: not again by this poll
            self.handle(catalog, source)

    # -- main loop --------------------------------------------------------------------
    def run(self) -> int:
        old = {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        catalog = open_catalog(self.cfg)
        released = catalog.release_stale()
        if released:
            warn(f"took over {len(released)} step(s) left by dead workers", "notice")
        # As many steps in flight as the cluster has threads, so that none idles; a
        # scheduler that cannot be reached, or that this coordinator may not use as
        # configured (ClusterRefused), stops the watch before it rips anything.
        try:
            cluster = Cluster.from_config(self.cfg)
            if cluster is not None:
                self.workers = max(self.workers, cluster.threads())
        except ClusterUnavailable:
            catalog.close()
            for s, handler in old.items():
                signal.signal(s, handler)
            raise
        self.ripping.set()
        if self.once:
            # A cron `watch --once`: what is due of the queue is tried again now, with the
            # discs it finds (each of those at once: the disc is there).
            self.retry_due(catalog)
        threads = [threading.Thread(target=self._work_guarded, daemon=True,
                                    name=f"worker-{n}") for n in range(self.workers)]
        for t in threads:
            t.start()
        try:
            while not self.stop.is_set():
                self.poll(catalog)
                if self.once:
                    break
                self.retry_due(catalog)
                self.stop.wait(self.cfg.poll_seconds)
            self.ripping.clear()
            while any(t.is_alive() for t in threads):
                for t in threads:
                    t.join(0.2)
        except Interrupted:
            self.stop.set()
            claim.STOPPING.set()
            from digitizer.tools import run

            # Workers see STOPPING, their tools die, their claims go back as pending; a
            # worker between two tool runs finishes that run first.
            deadline = time.monotonic() + 60
            while any(t.is_alive() for t in threads) and time.monotonic() < deadline:
                run.kill_all()
                for t in threads:
                    t.join(0.2)
            catalog.release_mine()
            raise
        finally:
            for s, handler in old.items():
                signal.signal(s, handler)
            if cluster is not None:
                Cluster.close_all()
        try:
            if self.once:
                # Never exit 0 over unfinished work: each disc of this run that still has a
                # failed step gets one line saying what, why, and how it is tried again.
                for line, code in pipeline.failed_summary(catalog, self.cfg,
                                                          sorted(self.touched)):
                    self.failed(code, line, "error")
        finally:
            catalog.close()
        return max(self.failures, default=0)

    def _work_guarded(self):
        # work() survives step failures itself; this keeps the thread alive even through a
        # failure of the catalog (locked, disk full) by starting over after a pause.
        while not self.stop.is_set():
            try:
                self.work()
                return
            except Interrupted:
                return
            except Exception as exc:  # noqa: BLE001
                self.failed(ERROR, f"worker: {describe_os_error(exc)}")
                self.stop.wait(5.0)
