"""Running one step of one title under a catalog claim: the bookkeeping every step shares.

Every stage (run by hand, by `resume` or by `watch`) goes through `claimed`: it takes the
step atomically (or refuses if a live worker has it), keeps a heartbeat with progress, and
records done / failed. An interruption gives the claim back as pending, so nothing is ever
left 'running' by a worker that is gone; a kill -9 leaves a claim that `release_stale`
recognises by the dead pid.
"""

from __future__ import annotations

import os
import socket
import threading
from contextlib import contextmanager

from digitizer.errors import (AlreadyDone, Busy, ClusterUnavailable, DigitizerError,
                              Interrupted, cause_of, describe_os_error, exit_code_of)

# Set by `watch` on SIGTERM/SIGINT: a step whose tool dies because we stopped it is handed
# back as pending, not recorded as failed.
STOPPING = threading.Event()

# The step a queue worker thread claimed and hands to the step function it calls: only that
# thread may run it. Other threads of the same process are other workers (same pid).
_handed = threading.local()


def _ours(row: dict) -> bool:
    return row["worker_pid"] == os.getpid() and row["worker_host"] == socket.gethostname() \
        and row["id"] == getattr(_handed, "step_id", None)


@contextmanager
def handing(step_id: int):
    """Within this block the calling thread runs the step it claimed (watch's queue)."""
    _handed.step_id = step_id
    try:
        yield
    finally:
        _handed.step_id = None


def chain_of(catalog, fingerprint: str, disc_type: str | None = None) -> tuple[str, ...]:
    """The step chain of a disc's format (its type from the caller, else the catalog)."""
    from digitizer import formats

    if disc_type is None:
        disc_type = (catalog.disc(fingerprint) or {}).get("disc_type")
    return formats.by_name(disc_type).STEPS


@contextmanager
def claimed(catalog, fingerprint: str, title: int, kind: str, chain: tuple[str, ...], *,
            redo_done: bool = True):
    """Yields the claimed step row; its 'heartbeat(progress)' is available as step['beat'].

    Busy when another live worker holds the step; with `redo_done` False (the pipeline,
    which planned from the files a moment ago), AlreadyDone when another worker finished
    it since: a step is never run twice because two processes planned it at once."""
    catalog.ensure_steps(fingerprint, title, chain)
    catalog.release_stale()
    step, why = catalog.take(fingerprint, title, kind, redo_done=redo_done)
    if why == "running" and _ours(step):
        pass  # claimed by this thread's queue worker, which runs it now
    elif why == "running":
        raise Busy(f"title {title} {kind} is being worked on by "
                   f"{step['worker_host']}:{step['worker_pid']}")
    elif why == "done":
        raise AlreadyDone(f"title {title} {kind} was finished by another worker")
    step["beat"] = lambda progress=None: catalog.heartbeat(step["id"], progress)
    try:
        yield step
    except (KeyboardInterrupt, Interrupted, ClusterUnavailable):
        # Not done and not failed: whoever runs next (or this process, once the
        # scheduler is back) takes the step up again.
        catalog.release(step["id"])
        raise
    except DigitizerError as exc:
        if STOPPING.is_set():
            catalog.release(step["id"])
            raise Interrupted("stopped") from None
        record_failure(catalog, step, exc)
        raise
    except Exception as exc:  # noqa: BLE001 - recorded, then handed on
        record_failure(catalog, step, exc)
        raise
    except BaseException:
        catalog.release(step["id"])
        raise


def record_failure(catalog, step: dict, exc: BaseException) -> str:
    """A step failed: its error, its cause (may it go away?) and exit code, and the event."""
    why = describe_os_error(exc)
    catalog.fail(step["id"], why, cause_of(exc), exit_code_of(exc))
    catalog.add_event("step_failed", step["fingerprint"], step["title"], step=step["kind"],
                      error=why, cause=cause_of(exc))
    return why
