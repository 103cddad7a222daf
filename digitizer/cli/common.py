"""What every command shares: the config and catalog (`Env`), JSON and table output,
reading inputs, running a command over many items, and the exit-code epilogue. Command
modules import this and nothing else of the CLI, so there are no import cycles."""

from __future__ import annotations

import sys

import click

from digitizer.errors import DigitizerError

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


def files_from(args, objects) -> list[dict]:
    from digitizer.jsonio import field

    for n, obj in enumerate(objects, 1):
        field(obj, "path", str, n)
    return [{"path": a} for a in args] + list(objects)


def json_dumps(obj) -> str:
    import json

    return json.dumps(obj, ensure_ascii=False)


def name_options(f):
    f = click.option("--season", type=click.IntRange(0, 999),
                     help="Season number with --show (default 1).")(f)
    f = click.option("--show", metavar='"SHOW (YEAR)"', help="Name the disc(s) as this show.")(f)
    f = click.option("--movie", metavar='"TITLE (YEAR)"', help="Name the disc(s) as this movie.")(f)
    return f
