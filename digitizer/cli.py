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
from digitizer.errors import DigitizerError, Interrupted, EXIT_CODES

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


def each_source(sources, fn, out):
    """Run fn on every source; a bad source is reported and the others still run."""
    failures = []
    for source in sources:
        try:
            out.emit(fn(source))
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

    rows = []

    class Collect:
        def emit(self, obj):
            rows.append(obj)

        def close(self):
            pass

    out = Collect() if table else output(as_array)
    if not sources:
        for row in det.detect_drives():
            out.emit(row)
        if not rows and table:
            click.echo("no optical drives found", err=True)
    else:
        try:
            each_source([det.normalise(s) for s in sources], det.detect, out)
        finally:
            if table:
                print_table(rows, ["source", "kind", "status", "disc_type", "label"])
    if not table:
        out.close()


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
    each_source(sources_from(args, objects),
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
    each_source(sources_from(args, objects),
                lambda s: scanmod.scan_disc(s, env.catalog, env.cfg, probe=not no_probe),
                output(as_array))


def scans_from(env, args, objects, probe=True) -> list[dict]:
    """Scan results for rip: taken from scan's JSON when piped, else scanned now."""
    from digitizer import scan as scanmod

    results = [o for o in objects if o.get("titles") and o.get("folder")]
    sources = sources_from(args, [o for o in objects if o not in results])
    for source in sources:
        results.append(scanmod.scan_disc(source, env.catalog, env.cfg, probe=probe))
    return results


# -- rip / transcode / insert ---------------------------------------------------------
@cli.command(short_help="Rip titles losslessly to MKV in the staging folder.")
@click.argument("sources", nargs=-1, required=True, shell_complete=complete_sources)
@click.option("--title", "-t", "numbers", multiple=True, type=int,
              help="Rip this title number (repeatable).")
@click.option("--main", is_flag=True, help="Only the main feature (or the episodes).")
@click.option("--all", "all_", is_flag=True, help="Every title, whatever its role.")
@click.option("--roles", help="Comma-separated roles to rip (default: main,extra,episode).")
@json_option
@pass_env
def rip(env, sources, numbers, main, all_, roles, as_array):
    """Rip the selected titles of each disc to one lossless MKV per title (every video,
    audio and subtitle stream, chapters, languages), verified before it counts. Already
    verified rips are not redone. SOURCES may be `-` to read scan's JSON.

    \b
    Example:
      digitizer rip /dev/sr0
      digitizer rip film.iso --title 1 --title 3
      digitizer scan film.iso | digitizer rip - --roles main
    """
    from digitizer import rip as ripmod
    from digitizer.jsonio import read_inputs

    args, objects = read_inputs(sources)
    roles_ = [r.strip() for r in roles.split(",") if r.strip()] if roles else None
    out = output(as_array)
    failures = []
    for scan_result in scans_from(env, args, objects):
        try:
            ripmod.rip_disc(scan_result, env.catalog, env.cfg, numbers=numbers, main=main,
                            all_=all_, roles_=roles_, emit=out.emit)
        except DigitizerError as exc:
            click.echo(f"digitizer: {exc.message}", err=True)
            failures.append(exc)
    out.close()
    if failures:
        sys.exit(max(f.exit_code for f in failures))


def files_from(args, objects) -> list[dict]:
    items = [{"path": a} for a in args]
    for obj in objects:
        if not obj.get("path"):
            raise click.UsageError("a JSON input object has no \"path\"")
        items.append(obj)
    return items


def each_file(items, fn, out):
    failures = []
    for item in items:
        try:
            out.emit(fn(item))
        except DigitizerError as exc:
            click.echo(f"digitizer: {exc.message}", err=True)
            failures.append(exc)
    out.close()
    if failures:
        sys.exit(max(f.exit_code for f in failures))


@cli.command(short_help="Re-encode ripped files with a preset.")
@click.argument("files", nargs=-1)
@click.option("--preset", "-p", help="Preset name (default: config `preset`, h264).",
              shell_complete=lambda ctx, param, incomplete: _complete_presets(incomplete))
@click.option("--list-presets", is_flag=True, help="List the presets and exit.")
@json_option
@pass_env
def transcode(env, files, preset, list_presets, as_array):
    """Transcode ripped MKVs with a preset: deinterlaced when the video is interlaced
    (measured), every audio and subtitle stream and the chapters kept, verified before
    it counts. FILES may be `-` to read rip's JSON.

    \b
    Example:
      digitizer transcode --list-presets
      digitizer transcode ~/.local/share/digitizer/staging/FILM-*/title_01.mkv -p hevc
      digitizer rip film.iso | digitizer transcode - --preset h264
    """
    from digitizer import transcode as tc
    from digitizer.jsonio import read_inputs

    if list_presets:
        out = output(as_array)
        for name, body in tc.presets(env.cfg.presets).items():
            out.emit({"preset": name, "description": body.get("description"),
                      "hardware": body.get("hw")})
        out.close()
        return
    if not files:
        raise click.UsageError("give FILES (or - to read rip's JSON)")
    args, objects = read_inputs(files)
    each_file(files_from(args, objects),
              lambda item: tc.transcode(item["path"], env.catalog, env.cfg,
                                        preset_name=preset),
              output(as_array))


@cli.command(short_help="Move finished files into the Plex/Jellyfin library.")
@click.argument("files", nargs=-1, required=True)
@click.option("--library", type=click.Path(file_okay=False),
              help="Library root (default: config `library`).")
@click.option("--movie", metavar='"TITLE (YEAR)"', help="Name the disc as this movie.")
@click.option("--show", metavar='"SHOW (YEAR)"', help="Name the disc as a season of this show.")
@click.option("--season", type=click.IntRange(0, 999), help="Season number (with --show; default 1).")
@click.option("--episode", type=click.IntRange(1, 9999),
              help="Episode number of this file, or of the disc's first episode when several "
                   "files are given (default: continue after the season's highest).")
@click.option("--extra-type", type=click.Choice(["featurette", "behindthescenes", "deleted",
                                                 "trailer", "other"]),
              help="Folder for extras (default: other).")
@click.option("--mode", type=click.Choice(["move", "hardlink", "copy"]),
              help="How files get there (default: config `insert_mode`, move).")
@click.option("--on-conflict", type=click.Choice(["error", "skip", "suffix"]), default="error",
              show_default=True, help="When a different file already has the name.")
@json_option
@pass_env
def insert(env, files, library, movie, show, season, episode, extra_type, mode, on_conflict,
           as_array):
    """Insert transcoded (or ripped) files into the library with Plex/Jellyfin names:
    Movies/Title (Year)/Title (Year).mkv with extras in typed folders, or
    TV Shows/Show (Year)/Season 01/Show (Year) - s01e01.mkv. Never overwrites a
    different file. FILES may be `-` to read transcode's JSON.

    \b
    Example:
      digitizer insert title_01.h264.mkv --movie "Big Buck Bunny (2008)"
      digitizer transcode - < ripped.json | digitizer insert - --show "Show (2020)" --season 1
    """
    from pathlib import Path

    from digitizer import insert as ins
    from digitizer import refresh
    from digitizer.jsonio import read_inputs

    if movie and show:
        raise click.UsageError("give --movie or --show, not both")
    if (season or episode) and not show:
        raise click.UsageError("--season and --episode go with --show")
    ident = None
    if movie or show:
        ident = ins.Identity("movie" if movie else "show", movie or show, season)
    root = Path(library).expanduser() if library else env.cfg.path_of("library")
    root.mkdir(parents=True, exist_ok=True)
    args, objects = read_inputs(files)
    items = files_from(args, objects)
    counter = {"n": 0}

    def one(item):
        number = None
        if episode is not None:
            number = episode + counter["n"]
        result = ins.insert_file(item["path"], env.catalog, library=root, ident=ident,
                                 episode=number, mode=mode or env.cfg.insert_mode,
                                 on_conflict=on_conflict, extra_type=extra_type)
        if result.get("episode") is not None:
            counter["n"] += 1
        if ident is not None:
            from digitizer import identity

            identity.record(env.catalog, result["fingerprint"],
                            {"kind": ident.kind, "name": ident.name, "season": ident.season,
                             "source": "cli"})
        for warning in refresh.refresh(env.cfg, result["path"]):
            click.echo(f"digitizer: warning: library refresh failed: {warning}", err=True)
        return result

    each_file(items, one, output(as_array))


# -- resume / watch / status / review -------------------------------------------------
def name_options(f):
    f = click.option("--season", type=click.IntRange(0, 999),
                     help="Season number with --show (default 1).")(f)
    f = click.option("--show", metavar='"SHOW (YEAR)"', help="Name the disc(s) as this show.")(f)
    f = click.option("--movie", metavar='"TITLE (YEAR)"', help="Name the disc(s) as this movie.")(f)
    return f


@cli.command(short_help="Finish what stopped: plan from the files, run what is missing.")
@click.argument("targets", nargs=-1, shell_complete=complete_fingerprints)
@click.option("--dry-run", is_flag=True, help="Print the plan, change nothing.")
@click.option("--reset", "reset_title", type=int, metavar="TITLE",
              help="Delete this title's outputs and state so it starts over.")
@click.option("--retry", is_flag=True, help="Re-queue failed steps first.")
@click.option("--dismiss", is_flag=True, help="Drop failed steps instead of running anything.")
@name_options
@json_option
@pass_env
def resume(env, targets, dry_run, reset_title, retry, dismiss, movie, show, season, as_array):
    """Bring discs as far as they can go. Works backwards from the files and their markers:
    an inserted file that verifies is done, a verified transcode needs only insert, a
    verified rip needs transcode and insert, anything else is ripped again (which needs
    the disc). TARGETS are fingerprints (or prefixes), drives or images; none means every
    unfinished disc in the catalog.

    \b
    Example:
      digitizer resume
      digitizer resume --dry-run
      digitizer resume 0bff7fd7 --reset 3
      digitizer resume --retry
    """
    from digitizer import pipeline

    cat = env.catalog
    cat.release_stale()
    pairs = pipeline.resolve_targets(cat, list(targets)) if targets else \
        [(fp, None) for fp in pipeline.unfinished(cat)]
    out = output(as_array)
    if dismiss:
        for fp, _ in pairs or [(None, None)]:
            out.emit({"fingerprint": fp, "dismissed": cat.dismiss_failed(fp)})
        out.close()
        return
    if reset_title is not None:
        if len(pairs) != 1:
            raise click.UsageError("--reset needs exactly one disc")
        fp = pairs[0][0]
        out.emit({"fingerprint": fp, "title": reset_title,
                  "removed": pipeline.reset_title(cat, env.cfg, fp, reset_title)})
        if dry_run:
            out.close()
            return
    failures = []
    table_rows = []
    for fp, source in pairs:
        try:
            if dry_run:
                if retry:
                    cat.retry_failed(fp)
                rows = pipeline.plan(cat, env.cfg, fp)
                if stdout_is_terminal() and not as_array:
                    table_rows += rows
                else:
                    out.emit_all(rows)
                continue
            ident = None
            if movie or show:
                from digitizer import identity

                _, marker = pipeline.disc_marker(cat, fp)
                ident = identity.resolve(cat, env.cfg, fp, marker.get("label"),
                                         marker.get("titles") or [], movie=movie, show=show,
                                         season=season)
            pipeline.run_disc(cat, env.cfg, fp, source=source, ident=ident, retry=retry,
                              emit=out.emit)
        except DigitizerError as exc:
            click.echo(f"digitizer: {exc.message}", err=True)
            failures.append(exc)
    if table_rows:
        print_table(table_rows, ["fingerprint", "title", "next", "path"])
    out.close()
    if failures:
        sys.exit(max(f.exit_code for f in failures))


@cli.command(short_help="Digitize every disc put into a drive, unattended.")
@click.argument("sources", nargs=-1, shell_complete=complete_sources)
@click.option("--once", is_flag=True,
              help="Handle the discs present and the pending steps, then exit (cron).")
@click.option("--workers", type=click.IntRange(1, 16),
              help="Transcode workers (default: config `transcode_workers`).")
@click.option("--print-systemd", is_flag=True, help="Print the systemd unit and exit.")
@click.option("--print-udev", is_flag=True, help="Print the udev rule (and the unit it starts) and exit.")
@name_options
@pass_env
def watch(env, sources, once, workers, print_systemd, print_udev, movie, show, season):
    """Watch the drives (or the SOURCES given: drives or images). A new disc is
    fingerprinted; a known one resumes and is never ripped twice; a new one is scanned,
    its main title and extras ripped, and the drive ejected. Transcode and insert run
    from the queue meanwhile. Discs named only by a guess from their label wait in
    `digitizer review` before insert. SIGTERM/SIGINT stop cleanly.

    \b
    Example:
      digitizer watch
      digitizer watch --once ~/isos/*.iso
      */10 * * * * digitizer watch --once        (crontab)
      digitizer watch --print-systemd > ~/.config/systemd/user/digitizer-watch.service
    """
    from digitizer import watch as watchmod

    if print_systemd or print_udev:
        if print_systemd:
            click.echo(watchmod.service_file("digitizer-watch.service"), nl=False)
        if print_udev:
            click.echo(watchmod.service_file("60-digitizer.rules"), nl=False)
            click.echo("\n# and the unit it starts, digitizer-once@.service:")
            click.echo(watchmod.service_file("digitizer-once@.service"), nl=False)
        return
    from digitizer.detect import normalise

    out = output(False)
    watcher = watchmod.Watcher(env.cfg, [normalise(s) for s in sources], once=once,
                               movie=movie, show=show, season=season, workers=workers,
                               emit=out.emit)
    code = watcher.run()
    sys.exit(code)


@cli.command(short_help="Show drives, unfinished discs, running steps, failures, review.")
@click.option("--follow", "-f", is_flag=True, help="Redraw every 2 seconds until Ctrl-C.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of text.")
@pass_env
def status(env, follow, as_json):
    """Show the drives and their state; every unfinished disc with, per title, how far
    rip, transcode and insert have got; running steps with progress; failures with
    their error; and titles waiting for review.

    \b
    Example:
      digitizer status
      digitizer status --json | jq '.failed'
      digitizer status --follow
    """
    import json as jsonmod
    import time

    from digitizer import status as statusmod

    while True:
        state = statusmod.collect(env.catalog)
        if as_json:
            click.echo(jsonmod.dumps(state, ensure_ascii=False))
        else:
            if follow and sys.stdout.isatty():
                click.clear()
            click.echo(statusmod.render(state))
        if not follow:
            return
        time.sleep(2)


@cli.group(invoke_without_command=True, short_help="List or approve discs waiting for a name.")
@click.pass_context
def review(ctx):
    """Discs named only by a guess from their volume label are ripped and transcoded but
    not inserted. Without a subcommand: list them, one JSON object per disc.

    \b
    Example:
      digitizer review
      digitizer review approve 0bff7fd7 --movie "Big Buck Bunny (2008)"
    """
    if ctx.invoked_subcommand is None:
        env = ctx.ensure_object(Env)
        out = output(False)
        waiting: dict = {}
        for step in env.catalog.steps(state="review", kind="insert"):
            disc = env.catalog.disc(step["fingerprint"])
            entry = waiting.setdefault(step["fingerprint"], {
                "fingerprint": step["fingerprint"], "label": disc["label"],
                "suggestion": {"kind": disc["identity_kind"], "name": disc["identity_name"],
                               "season": disc["identity_season"]}, "titles": []})
            entry["titles"].append(step["title"])
        out.emit_all(waiting.values())
        out.close()


@review.command("approve", short_help="Name a disc and insert its waiting titles.")
@click.argument("fingerprint", shell_complete=complete_fingerprints)
@name_options
@json_option
@pass_env
def review_approve(env, fingerprint, movie, show, season, as_array):
    """Give a disc its library name (or accept the suggestion with neither option) and
    insert its titles that were waiting.

    \b
    Example:
      digitizer review approve 0bff7fd7 --movie "Big Buck Bunny (2008)"
      digitizer review approve 5e94 --show "Some Show (2020)" --season 2
    """
    from digitizer import pipeline

    cat = env.catalog
    [(fp, _)] = pipeline.resolve_targets(cat, [fingerprint])
    disc = cat.disc(fp)
    if movie or show:
        from digitizer.insert import Identity

        ident = Identity("movie" if movie else "show", movie or show, season)
        kind, name, season_ = ident.kind, ident.name, ident.season
    elif disc.get("identity_name"):
        kind, name, season_ = disc["identity_kind"], disc["identity_name"], disc["identity_season"]
    else:
        raise click.UsageError("give --movie or --show")
    from digitizer import identity

    identity.record(cat, fp, {"kind": kind, "name": name, "season": season_,
                              "source": "review"})
    for step in cat.steps(fp, state="review", kind="insert"):
        cat.set_step(fp, step["title"], "insert", state="pending")
    cat.add_event("review_approved", fp, name=name)
    out = output(as_array)
    pipeline.run_disc(cat, env.cfg, fp, emit=out.emit, do_rip=False)
    out.close()


def _complete_presets(incomplete):
    try:
        from digitizer import config as cfgmod
        from digitizer.transcode import presets

        names = presets(cfgmod.load().presets)
    except Exception:  # completion must never print a traceback into the shell
        return []
    return [n for n in names if n.startswith(incomplete)]


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
