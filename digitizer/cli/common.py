"""What every command shares: the config and catalog (`Env`), JSON and table output,
reading inputs, running a command over many items, and the exit-code epilogue. Command
modules import this and nothing else of the CLI, so there are no import cycles."""

from __future__ import annotations

import os
import sys

import click

from digitizer.errors import DigitizerError

EPILOG_EXIT = ("Exit codes: 0 ok, 1 error, 2 usage, 3 external tool missing or failed, "
               "4 no disc or unreadable source, 5 cluster scheduler unreachable or refused, "
               "130 interrupted (see man digitizer).")


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


def read_offset_option(f):
    """--read-offset SAMPLES: config `read_offset` for this run (an audio CD's read offset
    correction, whatever drive or image it is read from)."""

    def remember(ctx, param, value):
        if value is not None:
            from digitizer.config import read_offset

            try:
                ctx.ensure_object(Env).cfg.values["read_offset"] = read_offset(
                    value, "--read-offset")
            except Exception as exc:  # a UsageError: click's own message and exit 2
                raise click.BadParameter(str(exc)) from None

    return click.option("--read-offset", metavar="SAMPLES", type=int, expose_value=False,
                        callback=remember,
                        help="Audio CDs: the drive's read offset correction in samples "
                             "(EAC's sign, e.g. 667 or -24; default: config `read_offset`, "
                             "the drive's [drives] entry, AccurateRip's list). An image is "
                             "read as a drive with this offset would read it.")(f)


def cluster_option(f):
    """--cluster ADDRESS: config `cluster` for this run (the scheduler the transcodes go to)."""

    def remember(ctx, param, value):
        if value is not None:
            ctx.ensure_object(Env).cfg.values["cluster"] = value

    return click.option("--cluster", metavar="tls://HOST:PORT", expose_value=False,
                        callback=remember,
                        help="Send the transcodes to this Dask scheduler (default: config "
                             "`cluster`; \"\" encodes here).")(f)


def json_option(f):
    """--json and --table: machine output or a table, whatever stdout is."""
    f = click.option("--table", is_flag=True,
                     help="A readable table even when stdout is not a terminal.")(f)
    return click.option("--json", "as_array", is_flag=True,
                        help="JSON even on a terminal: one array instead of one object per "
                             "line.")(f)


def output(as_array: bool, table: bool = False, columns=(), rows=None, heading=None):
    """Where results go: a readable table on a terminal (or with --table), JSON lines when
    piped (or one array with --json), as gh, docker and kubectl do."""
    if table or (columns and not as_array and stdout_is_terminal()):
        return TableOutput(list(columns), rows=rows, heading=heading)
    from digitizer.jsonio import Output

    return Output(as_array)


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def sources_from(args, objects) -> list[str]:
    """Sources named on the command line plus those in JSON objects from stdin/files."""
    from digitizer.steps.detect import normalise

    from digitizer.jsonio import field

    found = [normalise(a) for a in args]
    found += [field(obj, "source", str, n) for n, obj in enumerate(objects, 1)]
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


class TableOutput:
    """Results collected and printed as a readable table on close (jsonio.Output's
    interface). `rows(obj)` turns one result into table rows (default: itself); with
    `heading(obj)`, each result gets its own table under a heading line."""

    def __init__(self, columns, rows=None, heading=None):
        self.columns = columns
        self.rows = rows or (lambda obj: [obj])
        self.heading = heading
        self.items: list[dict] = []

    def emit(self, obj: dict) -> None:
        self.items.append(obj)

    def emit_all(self, objs) -> None:
        self.items.extend(objs)

    def close(self) -> None:
        if self.heading is None:
            print_table([r for obj in self.items for r in self.rows(obj)], self.columns)
            return
        for n, obj in enumerate(self.items):
            if n:
                click.echo()
            click.echo(_style(_cell(self.heading(obj)), bold=True))
            print_table(self.rows(obj), self.columns)


class LiveTable:
    """A table printed row by row as results come, for a command that runs for hours
    (`watch`): the widths are fixed up front, a longer cell is shown whole and pushes the
    rest of its row along."""

    def __init__(self, columns: dict[str, int], rows=None):
        self.columns = columns  # name -> width
        self.rows = rows or (lambda obj: [obj])
        self.started = False

    def emit(self, obj: dict) -> None:
        from digitizer.jsonio import write_out

        lines = []
        if not self.started:
            self.started = True
            lines.append(_style("  ".join(c.upper().ljust(w) for c, w in self.columns.items())
                                .rstrip(), bold=True))
        for r in self.rows(obj):
            lines.append("  ".join(_cell(r.get(c)).ljust(w)
                                   for c, w in self.columns.items()).rstrip())
        # A terminal closed or a pipe whose reader left: the work goes on.
        write_out(sys.stdout, "".join(line + "\n" for line in lines))

    def emit_all(self, objs) -> None:
        for obj in objs:
            self.emit(obj)

    def close(self) -> None:
        pass


def _style(text: str, **how) -> str:
    # Colour and bold only on a terminal, and never with NO_COLOR set (no-color.org).
    if os.environ.get("NO_COLOR") or not stdout_is_terminal():
        return text
    return click.style(text, **how)


def print_table(rows, columns):
    widths = {c: max([len(c)] + [len(_cell(r.get(c))) for r in rows]) for c in columns}
    click.echo(_style("  ".join(c.upper().ljust(widths[c]) for c in columns).rstrip(),
                      bold=True))
    for r in rows:
        click.echo("  ".join(_cell(r.get(c)).ljust(widths[c]) for c in columns).rstrip())


def length(seconds) -> str | None:
    """1:02:03 / 4:05: a title's length as people read it."""
    if seconds is None:
        return None
    whole = int(round(seconds))
    h, rest = divmod(whole, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


def size(value) -> str | None:
    if value is None:
        return None
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024


def _cell(value) -> str:
    # repr-like escaping: a label with newlines or escape codes cannot garble the terminal
    text = "-" if value is None else str(value)
    return text.encode("unicode_escape").decode("ascii") if not text.isprintable() else text


def files_from(args, objects) -> list[dict]:
    from digitizer.jsonio import field

    for n, obj in enumerate(objects, 1):
        field(obj, "path", str, n)
    return [{"path": a} for a in args] + list(objects)


def json_dumps(obj) -> str:
    import json

    return json.dumps(obj, ensure_ascii=False)


def name_options(f):
    f = click.option("--edition", metavar='"EDITION"',
                     help='With --movie: the cut on this disc ("Extended Edition"), filed '
                          "beside the others as {edition-...}.")(f)
    f = click.option("--season", type=click.IntRange(0, 999),
                     help="Season number with --show (default 1).")(f)
    f = click.option("--show", metavar='"SHOW (YEAR)"', help="Name the disc(s) as this show.")(f)
    f = click.option("--movie", metavar='"TITLE (YEAR)"', help="Name the disc(s) as this movie.")(f)
    return f
