"""The command line: the `digitizer` group and its entry point. The commands live in this
package by family (admin, identify, steps, unattended), are thin (parse options, call a
step, print JSON or a table) and are listed here explicitly (COMMANDS).

A command's family module is imported only when that command is asked for: `digitizer
fingerprint` does not build the other fifteen commands and their options (measured: 8 ms of
a 87 ms run). Heavy modules (sqlite-utils, tqdm, the steps) are imported inside the
commands, so that `digitizer --help` and tab completion stay fast.
"""

from __future__ import annotations

import errno
import os
import signal
import sys

import click

from digitizer import __version__
from digitizer.cli.common import EPILOG_EXIT, SuggestingGroup
from digitizer.errors import DigitizerError, Interrupted

# command name -> the module of digitizer.cli that defines it (as a function of that name)
COMMANDS = {"config": "admin", "catalog": "admin", "completion": "admin", "discdb": "admin",
            "cluster": "admin",
            "detect": "identify", "fingerprint": "identify", "scan": "identify",
            "manifest": "identify", "rip": "steps", "transcode": "steps", "insert": "steps",
            "verify": "steps", "resume": "unattended", "watch": "unattended",
            "status": "unattended", "review": "unattended", "offset": "admin"}


# TMDb's terms ask every application using its API to say so, in these words.
TMDB_NOTICE = "This product uses the TMDB API but is not endorsed or certified by TMDB."
VERSION_MESSAGE = ("%(prog)s %(version)s\n"
                   "Names from TheDiscDb (thediscdb.com), TMDb (themoviedb.org), MusicBrainz "
                   "and AccurateRip when online.\n" + TMDB_NOTICE)


def _go_offline() -> None:
    # Through the environment, like every config key: commands load the config later, and
    # the processes they start (hooks) see it too.
    os.environ["DIGITIZER_ONLINE"] = "false"


class Commands(SuggestingGroup):
    """The group whose commands come from COMMANDS, each module imported on first use."""

    def list_commands(self, ctx) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx, name: str):
        family = COMMANDS.get(name)
        if family is None:
            return None
        # __import__, not importlib.import_module: the import statement's path, which
        # `python -X importtime` sees (import_module's pure-Python path goes unlogged).
        return getattr(__import__(f"digitizer.cli.{family}", fromlist=[name]), name)


@click.group(cls=Commands, epilog=EPILOG_EXIT,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="digitizer", message=VERSION_MESSAGE)
@click.option("--offline", is_flag=True, expose_value=False, is_eager=True,
              callback=lambda ctx, param, value: value and _go_offline(),
              help="Ask no online service (TheDiscDb, TMDb, AccurateRip, MusicBrainz); as "
                   "config `online = false`.")
def cli():
    """Digitize DVDs, Blu-rays, audio CDs and data discs into a Plex/Jellyfin library,
    unattended and crash-safe.

    A film or TV disc (DVD, Blu-ray; a drive, an ISO/UDF image or a VIDEO_TS/BDMV folder)
    becomes Movies/ or TV Shows/ with Plex/Jellyfin names, an audio CD (or CUE/BIN image)
    becomes FLAC tracks checked against AccurateRip in Music/, and a data disc becomes a
    bit-for-bit ISO image in Discs/. A disc named only by a guess from its label waits in
    `digitizer review` for a name.

    The steps detect, fingerprint, scan, rip, transcode and insert each print JSON
    (one object per line) and read the previous step's JSON from stdin (`-`), so they
    chain in a pipe; `watch` runs them all by itself and `resume` finishes what stopped.

    \b
    Example:
      digitizer scan disc.iso | digitizer rip - | digitizer transcode - \\
        | digitizer insert - --movie "Big Buck Bunny (2008)"
    """


def main(argv=None):
    """Entry point: maps DigitizerError to one line on stderr and its exit code."""

    def on_term(signum, frame):
        raise Interrupted("stopped by SIGTERM; run the same command or `digitizer resume` "
                          "to continue")

    signal.signal(signal.SIGTERM, on_term)
    try:
        cli.main(args=argv, prog_name="digitizer", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("digitizer: interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("digitizer: interrupted; run it again to continue", err=True)
        sys.exit(130)
    except DigitizerError as exc:
        click.echo(f"digitizer: {exc.message}", err=True)
        sys.exit(exc.exit_code)
    except BrokenPipeError:
        # The reader went away (`| head`): not an error of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)
    except OSError as exc:
        # What the system refused (a read-only or full disk, a folder that cannot be made,
        # permissions): one line naming the path, exit 1 as for any disk error; nothing a
        # step leaves half-written is taken as finished (outputs are renamed into place).
        what = "disk full" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc)).lower()
        where = f": {exc.filename}" if exc.filename else ""
        click.echo(f"digitizer: {what}{where}", err=True)
        sys.exit(1)
