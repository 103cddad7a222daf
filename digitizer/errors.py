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
CLUSTER = 5  # the Dask scheduler (config `cluster`) cannot be reached or went away
INTERRUPTED = 130  # SIGINT / SIGTERM: work stopped, state left consistent

EXIT_CODES = {
    OK: "success (also: nothing to do)",
    ERROR: "error: a step failed (verification, conflict in the library, not enough space, "
           "disk full, read-only library)",
    USAGE: "usage error: bad option or argument, malformed JSON input, bad config",
    TOOL: "an external tool is missing (the message names the package) or failed (its last "
          "error line)",
    SOURCE: "no disc, or the source is unreadable or not a disc",
    CLUSTER: "the Dask scheduler (config `cluster`) cannot be reached or went away; the "
             "steps it had are pending again",
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


class NoSpace(DigitizerError):
    pass


class Conflict(DigitizerError):
    pass


class Interrupted(DigitizerError):
    exit_code = INTERRUPTED


class ClusterUnavailable(DigitizerError):
    """The scheduler cannot be reached: the work was not done, nor did it fail, so the
    step it was for goes back to pending (like an interruption), with its own exit code."""

    exit_code = CLUSTER


def describe_os_error(exc: BaseException) -> str:
    """One line for an unexpected failure: `ReadOnly...Error: [Errno 30] ...: 'path'`."""
    if isinstance(exc, DigitizerError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"


# Failures whose cause may go away by itself or by a person's hand (a full disk cleaned up,
# a read-only or missing folder fixed, permissions given): a long-running `watch` retries
# the step with a growing pause. Other failures (a bad file, a tool error) stay failed.
_TRANSIENT = ("[Errno 28]", "[Errno 30]", "[Errno 13]", "[Errno 1]", "[Errno 2]",
              "[Errno 20]", "[Errno 122]", "not enough space", "disk full")


def transient(error: str | None) -> bool:
    return bool(error) and any(mark in error for mark in _TRANSIENT)


def retry_wait(attempts: int | None, base: float) -> float:
    """Seconds a running `watch` waits before it retries a transient failure: `base`,
    doubling with each attempt, at most an hour (watch retries, status says when)."""
    return min(base * 2 ** max((attempts or 1) - 1, 0), 3600)


def warn(message: str, kind: str = "warning") -> None:
    """A one-line warning or notice on stderr: work goes on."""
    import sys

    sys.stderr.write(f"digitizer: {kind}: {message}\n")
    sys.stderr.flush()
