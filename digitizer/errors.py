"""The one error hierarchy of digitizer, and the one place that maps it to exit codes.

Every user-facing failure is a DigitizerError; the CLI prints ``digitizer: <message>`` on
one line and exits with ``exit_code``. Anything else that escapes is a bug.
"""

from __future__ import annotations

# Exit codes: this table is the one the man pages print and README repeats
# (tests/test_docs.py holds the three in step).
OK = 0
ERROR = 1  # generic failure: verification failed, conflict, disk full, bad input
USAGE = 2  # bad command line, malformed JSON on stdin, bad config
TOOL = 3  # an external program is missing or failed
SOURCE = 4  # no disc in the drive, or the source is unreadable / not a disc
CLUSTER = 5  # the Dask scheduler (config `cluster`) cannot be reached, went away or refused
INTERRUPTED = 130  # SIGINT / SIGTERM: work stopped, state left consistent

EXIT_CODES = {
    OK: "success (also: nothing to do)",
    ERROR: "error: a step failed (verification, conflict in the library, not enough space, "
           "a disk full, read-only or gone, whichever program met it)",
    USAGE: "usage error: bad option or argument, malformed JSON input, bad config",
    TOOL: "an external tool is missing (the message names the package) or failed (its last "
          "error line)",
    SOURCE: "no disc, or the source is missing, unreadable or not a disc",
    CLUSTER: "the Dask scheduler (config `cluster`) cannot be reached or went away, or it "
             "and this machine do not admit each other (certificates, TLS, plain TCP off this "
             "machine); the steps it had are pending again",
    INTERRUPTED: "interrupted by SIGINT/SIGTERM; re-run or `digitizer resume` continues",
}


class DigitizerError(Exception):
    exit_code = ERROR

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(DigitizerError):
    exit_code = USAGE


class InputError(UsageError):
    """Malformed JSON (or other structured input) handed to a command."""


class ToolMissing(DigitizerError):
    exit_code = TOOL


class ToolFailed(DigitizerError):
    exit_code = TOOL


class SourceError(DigitizerError):
    """The source is not a disc, cannot be read, or the drive holds no disc."""

    exit_code = SOURCE


class NoDisc(SourceError):
    pass


class DamagedRead(SourceError):
    """Sectors of the disc could not be read: what was read is kept, never taken as done."""


class EncryptedDisc(SourceError):
    """The disc's content is encrypted (AACS) and nothing here can decrypt it: it waits."""


class VerificationFailed(DigitizerError):
    pass


class DiskError(DigitizerError):
    """A disk (staging, transcoded, library) is full, read-only or gone: not the tool's
    fault, whoever reported it, and it may go away (space freed, the disk remounted)."""


class NoSpace(DiskError):
    pass


class Conflict(DigitizerError):
    pass


class Busy(Conflict):
    """Another live worker holds the step: nothing failed, the other one is doing it."""


class AlreadyDone(Conflict):
    """The step was finished by another worker after this one planned it."""


class Interrupted(DigitizerError):
    exit_code = INTERRUPTED


class ClusterUnavailable(DigitizerError):
    """The scheduler cannot be reached: the work was not done, nor did it fail, so the
    step it was for goes back to pending (like an interruption), with its own exit code."""

    exit_code = CLUSTER


class ClusterRefused(ClusterUnavailable):
    """The scheduler and this coordinator do not admit each other: a certificate missing,
    expired or from another CA, TLS on one side only, or plain TCP off this machine. Like
    an unreachable scheduler, the work waits (pending) until the setup is fixed."""


class NoWorker(DigitizerError):
    """No worker of the cluster took a transcode in `worker_wait_seconds` (none offers the
    resources its preset asks for, or none is connected): the step fails, to be retried
    after its back-off, instead of waiting for ever."""

    exit_code = CLUSTER


def describe_os_error(exc: BaseException) -> str:
    """One line for an unexpected failure: `ReadOnly...Error: [Errno 30] ...: 'path'`."""
    if isinstance(exc, DigitizerError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"


# Failures whose cause may go away by itself or by a person's hand are retried: a disk
# that is full, read-only or gone (space freed, the disk remounted), permissions given, a
# scratch the disc was cleaned of, a worker or service that was not there. Each failure is
# judged by what happened (the exception, its errno, the errno text a tool printed), not by
# who reported it; the catalog keeps the cause with the failed step.
import errno as _errno
import os as _os

DISK_ERRNOS = (_errno.ENOSPC, _errno.EROFS, _errno.EDQUOT, _errno.EACCES, _errno.EPERM,
               _errno.ENOENT, _errno.ENOTDIR, _errno.ESTALE, _errno.ENOTCONN)
# What a tool prints when the disk it writes is full, read-only or gone: strerror texts
# (ffmpeg's "No space left on device"). Not "No such file or directory": from a tool that
# is as often a wrong input path, which no retry mends.
_DISK_TEXTS = tuple(_os.strerror(e) for e in (_errno.ENOSPC, _errno.EROFS, _errno.EDQUOT,
                                              _errno.ESTALE, _errno.ENOTCONN)) + \
    ("not enough space", "disk full")
# The exit code each cause means (README's table): a disk is an error (1), a read error
# the source's (4), an unreachable worker or service the cluster's (5).
CAUSE_EXIT = {"disk": ERROR, "read": SOURCE, "unreachable": CLUSTER}


def disk_failure(text: str | None) -> bool:
    """Does a tool's error line say a disk is full, read-only or gone?"""
    return bool(text) and any(mark in text for mark in _DISK_TEXTS)


def cause_of(exc: BaseException) -> str | None:
    """"disk", "read" or "unreachable" for a failure that may go away, None for one that
    cannot go away by itself (bad input, a missing or failing tool, a rejected name)."""
    if isinstance(exc, (DiskError, PermissionError)):
        return "disk"
    if isinstance(exc, DamagedRead):
        return "read"  # a scratch may be cleaned; a retry reads only what is missing
    if isinstance(exc, (ClusterUnavailable, NoWorker)):
        return "unreachable"
    if isinstance(exc, OSError) and exc.errno in DISK_ERRNOS:
        return "disk"
    if isinstance(exc, ToolFailed) and disk_failure(exc.message):
        return "disk"
    return None


def exit_code_of(exc: BaseException) -> int:
    return getattr(exc, "exit_code", ERROR)


def transient(error: str | None, cause: str | None = None) -> bool:
    """Whether a recorded failure is retried: by its cause, or for a step failed before
    causes were recorded, by the errno or errno text its message holds."""
    if cause:
        return cause in CAUSE_EXIT
    return bool(error) and (disk_failure(error) or
                            any(f"[Errno {e}]" in error for e in DISK_ERRNOS))


def retry_wait(attempts: int | None, base: float) -> float:
    """Seconds after a failure that may go away before `watch` (running or --once) tries the
    step again: `base`, doubling with each attempt, at most an hour (status says when). A
    disc put back in the drive, or named to `resume`, is due at once."""
    return min(base * 2 ** max((attempts or 1) - 1, 0), 3600)


def retry_at(step: dict, base: float) -> float:
    """When a failed step (a catalog row) whose cause may go away is due again."""
    return (step.get("updated") or 0) + retry_wait(step.get("attempts"), base)


def warn(message: str, kind: str = "warning") -> None:
    """A one-line warning or notice on stderr: work goes on."""
    import sys

    line = f"digitizer: {kind}: {message}"
    try:
        if sys.stderr.isatty():
            # On a terminal, wrapped under its start rather than into the last column.
            import shutil
            import textwrap

            width = shutil.get_terminal_size((100, 40)).columns - 1
            line = "\n".join(textwrap.wrap(line, width, subsequent_indent="  ",
                                            break_on_hyphens=False)) or line
    except (OSError, ValueError):
        pass
    # Progress bars exist only once digitizer.progress is loaded; then its echo clears
    # them around the line (looked up, not imported: progress imports what imports this).
    progress = sys.modules.get("digitizer.progress")
    if progress is not None:
        progress.echo(line, err=True)
        return
    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass  # stderr gone (its reader left): the work goes on
