"""The command line: thin click commands that parse options and call the pipeline modules.

Heavy modules (sqlite-utils, tqdm, the stages) are imported inside the commands, so that
`digitizer --help` and tab completion stay fast.
"""

from __future__ import annotations

import os
import signal
import sys

import click

from digitizer import __version__
from digitizer.errors import DigitizerError, Interrupted, EXIT_CODES

EPILOG_EXIT = "Exit codes: " + ", ".join(f"{k} {v.split(':')[0]}" for k, v in EXIT_CODES.items())


class Env:
    """What every command needs: the config, and the catalog opened on first use."""

    def __init__(self):
        from digitizer import config

        self.cfg = config.load()
        self._catalog = None

    @property
    def catalog(self):
        if self._catalog is None:
            from digitizer.catalog import open_catalog

            self._catalog = open_catalog(self.cfg)
        return self._catalog


pass_env = click.make_pass_decorator(Env, ensure=True)


def json_option(f):
    return click.option("--json", "as_array", is_flag=True,
                        help="Print one JSON array instead of one object per line.")(f)


def output(as_array: bool):
    from digitizer.jsonio import Output

    return Output(as_array)


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


@click.group(epilog=EPILOG_EXIT, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="digitizer")
def cli():
    """Digitize DVDs into a Plex/Jellyfin library, unattended and crash-safe.

    The steps detect, fingerprint, scan, rip, transcode and insert each print JSON
    (one object per line) and read the previous step's JSON from stdin (`-`), so they
    chain in a pipe; `watch` runs them all by itself and `resume` finishes what stopped.

    \b
    Example:
      digitizer scan disc.iso | digitizer rip - | digitizer transcode - \\
        | digitizer insert - --movie "Big Buck Bunny (2008)"
    """


# -- config ---------------------------------------------------------------------------
@cli.group(short_help="Show or create the configuration.")
def config():
    """Show or create the TOML configuration.

    \b
    Example:
      digitizer config init && digitizer config show
    """


@config.command("init", short_help="Write a commented default config.toml.")
@click.option("--force", is_flag=True, help="Overwrite an existing config file.")
def config_init(force):
    """Write a commented default config.toml (XDG path, or under DIGITIZER_HOME).

    \b
    Example:
      digitizer config init
    """
    from digitizer import config as cfgmod
    from digitizer.markers import write_text_atomic

    path = cfgmod.config_path()
    if path.exists() and not force:
        raise click.ClickException(f"{path} exists (use --force to overwrite)")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, cfgmod.default_toml())
    click.echo(str(path))


@config.command("show", short_help="Print the effective configuration.")
@click.option("--toml", "as_toml", is_flag=True, help="Print TOML instead of JSON.")
@pass_env
def config_show(env, as_toml):
    """Print the effective configuration: defaults, config file and environment merged.

    \b
    Example:
      DIGITIZER_PRESET=hevc digitizer config show --toml
    """
    if as_toml:
        import tomli_w

        click.echo(tomli_w.dumps(env.cfg.values), nl=False)
    else:
        import json

        click.echo(json.dumps(dict(env.cfg.values, config_file=str(env.cfg.path)), indent=2))


# -- catalog --------------------------------------------------------------------------
@cli.group(short_help="Inspect or rebuild the catalog.")
def catalog():
    """Inspect or rebuild the SQLite catalog.

    \b
    Example:
      digitizer catalog rebuild
    """


@catalog.command("rebuild", short_help="Rebuild the catalog from the sidecar markers.")
@pass_env
def catalog_rebuild(env):
    """Forget discs, titles and steps, and read them back from the markers under the
    staging, transcoded and library folders (the history of events is kept).

    \b
    Example:
      digitizer catalog rebuild
    """
    from digitizer import rebuild

    click.echo(json_dumps(rebuild.rebuild(env.cfg, env.catalog)))


@catalog.command("events", short_help="Print the event history.")
@click.option("--fingerprint", help="Only this disc's events.")
@click.option("--limit", default=50, show_default=True, help="How many events, newest first.")
@pass_env
def catalog_events(env, fingerprint, limit):
    """Print the append-only event history, newest first, one JSON object per line.

    \b
    Example:
      digitizer catalog events --limit 10
    """
    out = output(False)
    out.emit_all(env.catalog.events(fingerprint, limit))


def json_dumps(obj) -> str:
    import json

    return json.dumps(obj, ensure_ascii=False)


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
        if exc.errno == 28:  # ENOSPC
            click.echo(f"digitizer: disk full: {exc.filename or ''}".rstrip(), err=True)
            sys.exit(1)
        raise
