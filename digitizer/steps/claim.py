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

from digitizer.errors import (ClusterUnavailable, Conflict, DigitizerError, Interrupted,
                              describe_os_error)

# Set by `watch` on SIGTERM/SIGINT: a step whose tool dies because we stopped it is handed
# back as pending, not recorded as failed.
STOPPING = threading.Event()


def _ours(row: dict) -> bool:
    return row["worker_pid"] == os.getpid() and row["worker_host"] == socket.gethostname()


def chain_of(catalog, fingerprint: str, disc_type: str | None = None) -> tuple[str, ...]:
    """The step chain of a disc's format (its type from the caller, else the catalog)."""
    from digitizer import formats

    if disc_type is None:
        disc_type = (catalog.disc(fingerprint) or {}).get("disc_type")
    return formats.by_name(disc_type).STEPS


@contextmanager
def claimed(catalog, fingerprint: str, title: int, kind: str, chain: tuple[str, ...]):
    """Yields the claimed step row; its 'heartbeat(progress)' is available as step['beat']."""
    catalog.ensure_steps(fingerprint, title, chain)
    catalog.release_stale()
    current = catalog.step(fingerprint, title, kind)
    if current["state"] == "running" and _ours(current):
        step = current  # claimed by this process's queue worker, which runs it now
    elif current["state"] == "running":
        raise Conflict(f"title {title} {kind} is being worked on by "
                       f"{current['worker_host']}:{current['worker_pid']}")
    else:
        if current["state"] != "pending":
            catalog.set_step(fingerprint, title, kind, state="pending")
        step = catalog.claim(kind, fingerprint=fingerprint, title=title) \
            if current["after"] is None \
            else _claim_ignoring_dependency(catalog, fingerprint, title, kind, current["after"])
    if step is None:
        raise Conflict(f"title {title} {kind} was claimed by another worker")
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
        catalog.fail(step["id"], str(exc))
        catalog.add_event("step_failed", fingerprint, title, step=kind, error=str(exc))
        raise
    except Exception as exc:  # noqa: BLE001 - recorded, then handed on
        catalog.fail(step["id"], describe_os_error(exc))
        catalog.add_event("step_failed", fingerprint, title, step=kind,
                          error=describe_os_error(exc))
        raise
    except BaseException:
        catalog.release(step["id"])
        raise


def _claim_ignoring_dependency(catalog, fingerprint, title, kind, prev):
    # Run by hand on a file the user hands us, a step need not wait for its catalog
    # predecessor: the input file's own marker is what was checked.
    catalog.set_step(fingerprint, title, kind, state="pending")
    before = catalog.step(fingerprint, title, prev)
    if before is None or before["state"] != "done":
        catalog.set_step(fingerprint, title, prev, state="done")
    return catalog.claim(kind, fingerprint=fingerprint, title=title)
