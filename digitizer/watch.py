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
                              Interrupted, describe_os_error, retry_wait, transient, warn)
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


class Watcher:
    def __init__(self, cfg, sources: list[str], *, once: bool, movie=None, show=None,
                 season=None, edition=None, workers: int | None = None, emit=None):
        self.cfg = cfg
        self.sources = list(sources)
        self.once = once
        self.name = Name.from_options(movie, show, season, edition=edition)
        self.workers = max(1, workers or cfg.transcode_workers)
        self.emit = emit or (lambda obj: None)
        self.stop = threading.Event()
        self.ripping = threading.Event()  # the main thread is still handling discs
        self.lock_dir = cfg.path_of("catalog").parent / "locks"
        self.seen: dict[str, str] = {}  # source -> last status, to act on changes only
        self.failures: list[int] = []  # exit codes of what failed, for `watch --once`
        self._failures_lock = threading.Lock()

    def cluster_gone(self, exc: ClusterUnavailable) -> None:
        """The scheduler went away: stop claiming; the first worker to see it says so."""
        with self._failures_lock:
            first = not any(code == exc.exit_code for code in self.failures)
            self.failures.append(exc.exit_code)
        self.stop.set()
        if first:
            warn(str(exc), "error")

    def failed(self, code: int, message: str) -> None:
        """Count a failure (its exit code decides watch's) and say it on one line."""
        with self._failures_lock:
            self.failures.append(code)
        warn(message)

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
            return
        try:
            if drives.is_block_device(source):
                status, _ = drives.drive_status(source)
                catalog.update_drive(source, status=status)
                if status not in ("disc", "not_a_drive", "no_info"):
                    return
            for row in pipeline.digitize(source, catalog, self.cfg, do_rest=False,
                                         name=self.name):
                self.emit(row)
        except Conflict as exc:
            warn(f"{source}: {exc}", "notice")
        except Interrupted:
            raise
        except DigitizerError as exc:
            self.failed(exc.exit_code, f"{source}: {exc}")
        except OSError as exc:
            self.failed(ERROR, f"{source}: {describe_os_error(exc)}")
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
        if step is not None:
            fp, title, kind = step["fingerprint"], step["title"], step["kind"]
            result = None
            try:
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
                self.emit(result)
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
                why = str(exc) if isinstance(exc, DigitizerError) else describe_os_error(exc)
                catalog.fail(step["id"], why)
                catalog.add_event("step_failed", fp, title, step=kind, error=why)
                result = {"error": why, "exit_code": getattr(exc, "exit_code", ERROR)}
            finally:
                current = catalog.step(fp, title, kind)
                if current and current["state"] == "running" and \
                        current["worker_pid"] == os.getpid():
                    catalog.release(current["id"])
            if result and result.get("error") and result.get("next") != "review":
                self.failed(result.get("exit_code") or ERROR,
                            f"title {title} of {fp[:12]}: {result['error']}")
            return True
        return False

    def retry_transient(self, catalog: Catalog) -> None:
        """A long-running watch re-queues steps that failed for a cause that may have gone
        (disk full, read-only or missing folder, permissions), with a growing pause."""
        base = self.cfg.retry_seconds
        now = time.time()
        for step in catalog.steps(state="failed"):
            if not transient(step.get("error")):
                continue
            wait = retry_wait(step["attempts"], base)
            if now - (step["updated"] or 0) >= wait:
                catalog.set_step(step["fingerprint"], step["title"], step["kind"],
                                 state="pending")
                catalog.add_event("step_retry", step["fingerprint"], step["title"],
                                  step=step["kind"], attempts=step["attempts"],
                                  waited=round(wait, 1), error=step["error"])

    # -- main loop --------------------------------------------------------------------
    def run(self) -> int:
        old = {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        catalog = open_catalog(self.cfg)
        released = catalog.release_stale()
        if released:
            warn(f"took over {len(released)} step(s) left by dead workers", "notice")
        cluster = Cluster.from_config(self.cfg)
        if cluster is not None:
            # As many steps in flight as the cluster has threads, so that none idles; a
            # scheduler that cannot be reached stops the watch before it rips anything.
            try:
                self.workers = max(self.workers, cluster.threads())
            except ClusterUnavailable:
                catalog.close()
                for s, handler in old.items():
                    signal.signal(s, handler)
                raise
        self.ripping.set()
        threads = [threading.Thread(target=self._work_guarded, daemon=True,
                                    name=f"worker-{n}") for n in range(self.workers)]
        for t in threads:
            t.start()
        try:
            while not self.stop.is_set():
                self.poll(catalog)
                if self.once:
                    break
                self.retry_transient(catalog)
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
            catalog.close()
            if cluster is not None:
                Cluster.close_all()
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
