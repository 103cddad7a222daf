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


class SuggestingGroup(click.Group):
    """A command group that answers a mistyped command with the one it most likely meant
    (`digitizer wacth`: did you mean 'watch'?)."""

    def resolve_command(self, ctx, args):
        name = args[0] if args else ""
        if name and not name.startswith("-") and not ctx.resilient_parsing and \
                self.get_command(ctx, name) is None:
            from digitizer.config import closest

            guess = closest(name, self.list_commands(ctx))
            if guess:
                ctx.fail(f"No such command {name!r}. Did you mean {guess!r}?")
        return super().resolve_command(ctx, args)


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


def output(as_array: bool, table: bool = False, columns=(), rows=None, heading=None,
           drop=(), paths=None):
    """Where results go: a readable table on a terminal (or with --table), JSON lines when
    piped (or one array with --json), as gh, docker and kubectl do. On a terminal the table
    fits its width: `paths` (path_roots) shortens paths, long cells are cut in the middle,
    and the `drop` columns go first, in that order, when that is not enough."""
    if table or (columns and not as_array and stdout_is_terminal()):
        return TableOutput(columns if callable(columns) else list(columns), rows=rows,
                           heading=heading, drop=drop, paths=paths)
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


def terminal_width() -> int | None:
    """The width of the terminal stdout is on; None when it is not on one (a table is then
    printed whole, for whoever reads the file)."""
    if not stdout_is_terminal():
        return None
    import shutil

    return shutil.get_terminal_size((100, 40)).columns


def path_roots(cfg) -> list[tuple[str, str]]:
    """(folder, shown as) for the folders whose files tables show: a path inside one is
    shown relative to it, "library/Movies/...", which a person recognises."""
    roots = [(cfg.path_of(key), key) for key in ("library", "transcoded", "staging")]
    if (cfg.values.get("data_library") or "").strip():
        roots.insert(0, (cfg.path_of("data_library"), "data_library"))
    return [(str(folder).rstrip("/") + "/", shown + "/") for folder, shown in roots]


def short_path(text: str, roots) -> str:
    for folder, shown in roots or ():
        if text.startswith(folder):
            return shown + text[len(folder):]
    return text


def cut(text: str, width: int) -> str:
    """`text` in at most `width` characters, cut in the middle (a path keeps its start and
    its file name)."""
    if len(text) <= width:
        return text
    if width < 2:
        return text[:width]
    head = (width - 1) // 3
    return text[:head] + "\u2026" + text[len(text) - (width - 1 - head):]


MIN_CELL = 16  # a cut cell keeps at least this much (or its header's width)
FREE_MIN = 40  # a live table's free column (a path) gets this much before others go


def fit(columns: list[str], widths: dict[str, int], width: int | None,
        drop=()) -> list[str]:
    """The columns to show and their widths (changed in place) so that a line stays short
    of the terminal's last column: the widest cells are cut first, down to MIN_CELL, then
    the `drop` columns are left out in order."""
    shown = list(columns)
    if width is None:
        return shown
    budget = width - 1  # a line ending in the last column makes some terminals wrap

    def total():
        return sum(widths[c] for c in shown) + 2 * (len(shown) - 1)

    while total() > budget:
        widest = max(shown, key=lambda c: widths[c] - max(len(c), MIN_CELL))
        floor = max(len(widest), MIN_CELL)
        if widths[widest] > floor:
            widths[widest] = max(floor, widths[widest] - (total() - budget))
            continue
        left = [c for c in drop if c in shown]
        if not left:
            break
        shown.remove(left[0])
    return shown


class TableOutput:
    """Results collected and printed as a readable table on close (jsonio.Output's
    interface). `rows(obj)` turns one result into table rows (default: itself); with
    `heading(obj)`, each result gets its own table under a heading line."""

    def __init__(self, columns, rows=None, heading=None, drop=(), paths=None):
        self.columns = columns
        self.rows = rows or (lambda obj: [obj])
        self.heading = heading
        self.drop = drop
        self.paths = paths
        self.items: list[dict] = []

    def emit(self, obj: dict) -> None:
        self.items.append(obj)

    def emit_all(self, objs) -> None:
        self.items.extend(objs)

    def close(self) -> None:
        from digitizer.progress import echo

        if self.heading is None:
            print_table([r for obj in self.items for r in self.rows(obj)], self.columns,
                        self.drop, self.paths)
            return
        width = terminal_width()
        for n, obj in enumerate(self.items):
            if n:
                echo("")
            heading = _cell(self.heading(obj))
            echo(_style(cut(heading, width - 1) if width else heading, bold=True))
            # columns may depend on the result (a data disc has files, not audio tracks)
            columns = self.columns(obj) if callable(self.columns) else self.columns
            print_table(self.rows(obj), columns, self.drop, self.paths)


class LiveTable:
    """A table printed row by row as results come, for a command that runs for hours
    (`watch`): the widths are fixed up front; a column of width 0 takes what the terminal
    has left, and on a terminal a longer cell is cut in the middle (piped, it is shown whole
    and pushes the rest of its row along)."""

    def __init__(self, columns: dict[str, int], rows=None, drop=(), paths=None):
        self.rows = rows or (lambda obj: [obj])
        self.paths = paths
        self.width = terminal_width()
        widths = dict(columns)
        free = [c for c, w in widths.items() if not w]
        shown = list(widths)
        if self.width and free:
            # The free columns (paths) matter most: the `drop` columns go, in order, before
            # a free column gets less than FREE_MIN.
            left = [c for c in drop if c in shown]
            while True:
                fixed = sum(widths[c] for c in shown if c not in free) + 2 * (len(shown) - 1)
                room = (self.width - 1 - fixed) // len(free)
                if room >= FREE_MIN or not left:
                    break
                shown.remove(left.pop(0))
            for c in free:
                widths[c] = max(len(c), room)
        shown = fit(shown, widths, self.width, drop)
        self.columns = {c: widths[c] for c in shown}  # name -> width
        self.started = False

    def emit(self, obj: dict) -> None:
        from digitizer.progress import echo

        if not self.started:
            self.started = True
            echo(_style("  ".join(c.upper().ljust(w) for c, w in self.columns.items())
                        .rstrip(), bold=True))
        for r in self.rows(obj):
            cells = [_cell(r.get(c), self.paths) for c in self.columns]
            if self.width:
                cells = [cut(text, w) if w else text
                         for text, w in zip(cells, self.columns.values())]
            echo("  ".join(text.ljust(w) for text, w in zip(cells, self.columns.values()))
                 .rstrip())

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


def print_table(rows, columns, drop=(), paths=None):
    from digitizer.progress import echo

    cells = [{c: _cell(r.get(c), paths) for c in columns} for r in rows]
    widths = {c: max([len(c)] + [len(row[c]) for row in cells]) for c in columns}
    shown = fit(list(columns), widths, terminal_width(), drop)
    echo(_style("  ".join(c.upper().ljust(widths[c]) for c in shown).rstrip(), bold=True))
    for row in cells:
        echo("  ".join(cut(row[c], widths[c]).ljust(widths[c]) for c in shown).rstrip())


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


def _cell(value, paths=None) -> str:
    # repr-like escaping: a label with newlines or escape codes cannot garble the terminal
    text = "-" if value is None else str(value)
    text = text.encode("unicode_escape").decode("ascii") if not text.isprintable() else text
    return short_path(text, paths) if paths else text


def files_from(args, objects) -> list[dict]:
    from digitizer.jsonio import field

    for n, obj in enumerate(objects, 1):
        field(obj, "path", str, n)
    return [{"path": a} for a in args] + list(objects)


def json_dumps(obj) -> str:
    import json

    return json.dumps(obj, ensure_ascii=False)


def disc_option(f):
    return click.option("--disc", "disc_number", type=click.IntRange(1, 99), metavar="N",
                        help="With --show: the disc's number in its season's box set, when "
                             "its label does not say (its episodes follow discs 1 to N-1).")(f)


def name_options(f):
    f = click.option("--edition", metavar='"EDITION"',
                     help='With --movie: the cut on this disc ("Extended Edition"), filed '
                          "beside the others as {edition-...}.")(f)
    f = click.option("--season", type=click.IntRange(0, 999),
                     help="Season number with --show (default 1).")(f)
    f = click.option("--show", metavar='"SHOW (YEAR)"', help="Name the disc(s) as this show.")(f)
    f = click.option("--movie", metavar='"TITLE (YEAR)"', help="Name the disc(s) as this movie.")(f)
    return f
