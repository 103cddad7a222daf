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
from digitizer.complete import complete_fingerprints, complete_sources
from digitizer.errors import DigitizerError, Interrupted

EPILOG_EXIT = ("Exit codes: 0 ok, 1 error, 2 usage, 3 external tool missing or failed, "
               "4 no disc or unreadable source, 130 interrupted (see man digitizer).")


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
@click.option("--fingerprint", help="Only this disc's events.",
              shell_complete=complete_fingerprints)
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


def sources_from(args, objects) -> list[str]:
    """Sources named on the command line plus those in JSON objects from stdin/files."""
    from digitizer.detect import normalise

    found = [normalise(a) for a in args]
    for obj in objects:
        if not obj.get("source"):
            raise click.UsageError("a JSON input object has no \"source\"")
        found.append(obj["source"])
    return list(dict.fromkeys(found))


def run_each(items, fn, out):
    """Run fn on every item (a source, a file, a scanned disc) and emit what it returns; a
    bad item is reported on one line and the others still run. The exit code is the worst."""
    failures = []
    for item in items:
        try:
            result = fn(item)
            if result is not None:
                out.emit(result)
        except DigitizerError as exc:
            click.echo(f"digitizer: {exc.message}", err=True)
            failures.append(exc)
    out.close()
    if failures:
        sys.exit(max(f.exit_code for f in failures))


# -- detect / fingerprint / scan ------------------------------------------------------
@cli.command(short_help="List drives, or say what each source is.")
@click.argument("sources", nargs=-1, type=click.Path(), shell_complete=complete_sources)
@click.option("--table", is_flag=True, help="A readable table instead of JSON.")
@json_option
@pass_env
def detect(env, sources, table, as_array):
    """Without SOURCES: list the optical drives with their state (disc, no_disc,
    tray_open, not_ready) and media type. With SOURCES (drives, ISO images, VIDEO_TS
    folders): say what each is and read its volume label, without mounting.

    \b
    Example:
      digitizer detect
      digitizer detect /dev/sr0 ~/isos/film.iso --table
      digitizer detect /dev/sr0 | digitizer fingerprint -
    """
    from digitizer import detect as det

    out = TableOutput(["source", "kind", "status", "disc_type", "label"]) if table \
        else output(as_array)
    if sources:
        run_each([det.normalise(s) for s in sources], det.detect, out)
        return
    out.emit_all(det.detect_drives())
    if table and not out.items:
        click.echo("no optical drives found", err=True)
        return
    out.close()


class TableOutput:
    """Rows collected and printed as a readable table on close (jsonio.Output's interface)."""

    def __init__(self, columns):
        self.columns = columns
        self.items: list[dict] = []

    def emit(self, obj: dict) -> None:
        self.items.append(obj)

    def emit_all(self, objs) -> None:
        self.items.extend(objs)

    def close(self) -> None:
        print_table(self.items, self.columns)


def print_table(rows, columns):
    widths = {c: max([len(c)] + [len(_cell(r.get(c))) for r in rows]) for c in columns}
    click.echo("  ".join(c.upper().ljust(widths[c]) for c in columns))
    for r in rows:
        click.echo("  ".join(_cell(r.get(c)).ljust(widths[c]) for c in columns))


def _cell(value) -> str:
    # repr-like escaping: a label with newlines or escape codes cannot garble the terminal
    text = "-" if value is None else str(value)
    return text.encode("unicode_escape").decode("ascii") if not text.isprintable() else text


@cli.command(short_help="Identify discs by content (reads only the IFO files).")
@click.argument("sources", nargs=-1, required=True, shell_complete=complete_sources)
@json_option
@pass_env
def fingerprint(env, sources, as_array):
    """Compute each disc's fingerprint (libdvdread's disc id: MD5 of the IFO files) and
    the ids other tools use, record the disc in the catalog, and say whether it is known
    and how far its titles have got. SOURCES may be `-` to read detect's JSON.

    \b
    Example:
      digitizer fingerprint /dev/sr0
      digitizer detect ~/isos/*.iso | digitizer fingerprint -
    """
    from digitizer import fingerprint as fpmod
    from digitizer.jsonio import read_inputs

    args, objects = read_inputs(sources)
    staging = env.cfg.path_of("staging")
    run_each(sources_from(args, objects),
                lambda s: fpmod.fingerprint(s, env.catalog, staging), output(as_array))


@cli.command(short_help="List every title with streams, chapters and role.")
@click.argument("sources", nargs=-1, required=True, shell_complete=complete_sources)
@click.option("--no-probe", is_flag=True,
              help="Skip the interlace probe (reads a second of video per title).")
@json_option
@pass_env
def scan(env, sources, no_probe, as_array):
    """Read every title of each disc: duration, chapters, video, audio and subtitle
    streams with languages, size, and a role (main, extra, episode, duplicate,
    play_all, short). Results go to the catalog, the disc marker and stdout.

    \b
    Example:
      digitizer scan film.iso
      digitizer detect /dev/sr0 | digitizer fingerprint - | digitizer scan -
    """
    from digitizer import scan as scanmod
    from digitizer.jsonio import read_inputs

    args, objects = read_inputs(sources)
    run_each(sources_from(args, objects),
                lambda s: scanmod.scan_disc(s, env.catalog, env.cfg, probe=not no_probe),
                output(as_array))


def files_from(args, objects) -> list[dict]:
    items = [{"path": a} for a in args]
    for obj in objects:
        if not obj.get("path"):
            raise click.UsageError("a JSON input object has no \"path\"")
        items.append(obj)
    return items


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


# The other commands live beside this module; importing them registers them on `cli`.
from digitizer import cli_steps, cli_unattended  # noqa: E402,F401
