"""Commands for unattended operation: resume, watch, status, review."""

from __future__ import annotations

import os
import sys

import click

from digitizer.cli.common import (Env, LiveTable, SuggestingGroup, cluster_option,
                                  disc_option, json_option, name_options, output, pass_env,
                                  path_roots, read_offset_option, stdout_is_terminal,
                                  terminal_width)
from digitizer.cli.complete import complete_fingerprints, complete_sources
from digitizer.errors import ClusterUnavailable, DigitizerError
from digitizer.names import EXTRA_TYPES


# -- resume / watch / status / review -------------------------------------------------
@click.command(short_help="Finish what stopped: plan from the files, run what is missing.")
@click.argument("targets", nargs=-1, shell_complete=complete_fingerprints)
@click.option("--dry-run", is_flag=True, help="Print the plan, change nothing.")
@click.option("--reset", "reset_title", type=int, metavar="TITLE",
              help="Delete this title's outputs and state so it starts over.")
@click.option("--retry", is_flag=True,
              help="Re-queue every failed step first, also those whose cause cannot go away "
                   "by itself (without it: those whose cause may have gone).")
@click.option("--dismiss", is_flag=True, help="Drop failed steps instead of running anything.")
@cluster_option
@name_options
@disc_option
@json_option
@pass_env
def resume(env, targets, dry_run, reset_title, retry, dismiss, movie, show, season, edition,
           disc_number, as_array, table):
    """Bring discs as far as they can go. Works backwards from the files and their markers:
    an inserted file that verifies is done, a verified transcode needs only insert, a
    verified rip needs transcode and insert, anything else is ripped again (which needs
    the disc). TARGETS are fingerprints (or prefixes), drives or images; none means every
    unfinished disc in the catalog. Steps that failed for a cause that may have gone (a
    disk full, read-only or gone, a read error) are tried again; a disc that still has a
    failed step gets one line and a non-zero exit.

    \b
    Example:
      digitizer resume
      digitizer resume --dry-run
      digitizer resume 0bff7fd7 --reset 3
      digitizer resume --retry
    """
    from digitizer import pipeline
    from digitizer.names import Name

    name = Name.from_options(movie, show, season, edition=edition)
    cat = env.catalog
    cat.release_stale()
    pairs = pipeline.resolve_targets(cat, list(targets)) if targets else \
        [(fp, None) for fp in pipeline.unfinished(cat)]
    out = output(as_array, table, ["fingerprint", "title", "next", "path", "error"],
                 rows=_short_fingerprint, drop=("fingerprint",), paths=path_roots(env.cfg))
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

    def emit(row):
        # A title that failed is reported in its row and on stderr, and sets the exit code.
        out.emit(row)
        if row.get("next") == "failed":
            click.echo(f"digitizer: title {row['title']} of {row['fingerprint'][:12]}: "
                       f"{row.get('error')}", err=True)
            failures.append(row.get("exit_code") or 1)

    plan_out = out
    touched: list[str] = []  # discs resumed: each ends with the command that moves it on
    for fp, source in pairs:
        try:
            if dry_run:
                if retry:
                    cat.retry_failed(fp)
                plan_out.emit_all(pipeline.plan(cat, env.cfg, fp))
                continue
            if disc_number:
                cat.set_numbering(fp, disc_number=disc_number)
            pipeline.resume_disc(cat, env.cfg, fp, source=source, name=name,
                                 retry=True if retry else "now", emit=emit)
            touched.append(fp)
        except DigitizerError as exc:
            click.echo(f"digitizer: {exc.message}", err=True)
            failures.append(exc.exit_code)
            if isinstance(exc, ClusterUnavailable):
                break  # every other disc would meet the same
    out.close()
    if not dry_run:
        # Never exit 0 over unfinished work: a line for each disc still failed.
        for line, code in pipeline.failed_summary(cat, env.cfg, [fp for fp, _ in pairs]):
            click.echo(f"digitizer: {line}", err=True)
            failures.append(code)
    for fp in touched:
        _say_next(cat, fp)
    if failures:
        sys.exit(max(failures))


@click.command(short_help="Digitize every disc put into a drive, unattended.")
@click.argument("sources", nargs=-1, shell_complete=complete_sources)
@click.option("--once", is_flag=True,
              help="Handle the discs present and the pending steps, then exit (cron).")
@click.option("--workers", type=click.IntRange(1, 16),
              help="Transcode workers (default: config `transcode_workers`).")
@cluster_option
@read_offset_option
@click.option("--print-systemd", is_flag=True,
              help="Print the systemd unit that runs this watch and exit.")
@click.option("--print-udev", is_flag=True,
              help="Print the udev rule (and the unit it starts) and exit.")
@click.option("--system", is_flag=True,
              help="With --print-systemd: a system service running as --run-as, state in "
                   "/var/lib/digitizer (default: a user service).")
@click.option("--run-as", metavar="USER[:GROUP]", default="digitizer", show_default=True,
              help="The user (and group) of a system service and of the udev-started unit.")
@name_options
@disc_option
@click.option("--json", "as_json", is_flag=True,
              help="JSON lines even on a terminal (piped, they are the default).")
@click.option("--table", is_flag=True, help="A table row per result even when piped.")
@pass_env
def watch(env, sources, once, workers, print_systemd, print_udev, system, run_as, movie, show,
          season, edition, disc_number, as_json, table):
    """Watch the drives (or the SOURCES given: drives or images). A new disc is
    fingerprinted; a known one resumes and is never ripped twice; a new one is scanned,
    its main title and extras ripped, and the drive ejected. Transcode and insert run
    from the queue meanwhile. Discs named only by a guess from their label wait in
    `digitizer review` before insert. A step that failed for a cause that may go away (a
    disk full or read-only, a read error) is tried again after `retry_seconds` (doubling),
    and at once when its disc is put back in. SIGTERM/SIGINT stop cleanly. The units
    printed start this very program (its path as it was run), with the cluster's
    certificate files of the config.

    \b
    Example:
      digitizer watch
      digitizer watch --once ~/isos/*.iso
      digitizer watch --cluster tls://nas:8786
      */10 * * * * digitizer watch --once        (crontab)
      digitizer watch --print-systemd > ~/.config/systemd/user/digitizer-watch.service
      digitizer watch --print-systemd --system --run-as media:media
    """
    from digitizer import units
    from digitizer import watch as watchmod

    if print_systemd or print_udev:
        user, _, group = run_as.partition(":")
        exe = units.program()
        tls = {key: env.cfg.values.get(key) for key in units.CREDENTIALS}
        if print_systemd:
            click.echo(units.watch_unit(exe, system=system, user=user, group=group or None,
                                        tls=tls), nl=False)
        if print_udev:
            click.echo(units.udev_rule(), nl=False)
            click.echo(f"\n# and the unit it starts, {units.ONCE_UNIT}:")
            click.echo(units.once_unit(exe, user=user, group=group or None, tls=tls),
                       nl=False)
        return
    from digitizer import drives
    from digitizer.errors import SOURCE
    from digitizer.progress import echo
    from digitizer.steps.detect import normalise

    if table or (stdout_is_terminal() and not as_json):
        # A row as each step finishes: watch runs for hours, a table at exit is no use.
        # verified: a CD track's AccurateRip verdict (cut to its start on a narrow terminal)
        out = LiveTable({"time": 8, "fingerprint": 12, "title": 5, "next": 9, "verified": 12,
                         "path": 0},
                        rows=_watch_row, drop=("time", "verified", "fingerprint"),
                        paths=path_roots(env.cfg))
    else:
        out = output(False)
    sources = [normalise(s) for s in sources]
    found = sources or drives.list_drives()
    if once and not found:
        echo("digitizer: no optical drive found, and no SOURCES given: nothing to do "
             "(digitizer watch --once disc.iso reads an image)", err=True)
        sys.exit(SOURCE)
    if not once:
        what = " ".join(found) if found else "optical drives (none found yet)"
        echo(f"digitizer: watching {what} every {env.cfg.poll_seconds:g} s, and running "
             f"the queue; Ctrl-C stops (steps in flight go back to the queue)", err=True)
    touched: set = set()

    def emit(row):
        touched.add(row.get("fingerprint"))
        out.emit(row)

    watcher = watchmod.Watcher(env.cfg, sources, once=once, movie=movie, show=show,
                               season=season, edition=edition, disc=disc_number,
                               workers=workers, emit=emit)
    code = watcher.run()
    if once:
        import shutil
        import textwrap

        # stderr's terminal (stdout may be piped): long lines wrap under their start
        width = shutil.get_terminal_size((100, 40)).columns if sys.stderr.isatty() else None
        for line in _watch_summary(env, watcher.handled, touched):
            for part in textwrap.wrap(line, width - 1, subsequent_indent="  ",
                                      break_on_hyphens=False, break_long_words=False) \
                    if width else [line]:
                echo(part, err=True)
    sys.exit(code)


def _watch_summary(env, handled: dict, touched: set) -> list[str]:
    """What became of each disc `watch --once` was given, and the command that moves it on."""
    from digitizer import status as statusmod

    lines = []
    for source, info in handled.items():
        fp = info.get("fingerprint")
        disc = env.catalog.disc(fp) if fp else None
        # A drive by its device, an image by its file name: the line stays short.
        shown = source if source.startswith("/dev/") else os.path.basename(source)
        what = f"{shown} ({disc['label']})" if disc and disc.get("label") else shown
        if info.get("status"):
            lines.append(f"digitizer: {what}: {info['status'].replace('_', ' ')}")
            continue
        if info.get("error"):
            continue  # said on its own line when it happened, the path once
        if not disc:
            lines.append(f"digitizer: {what}: not read")
            continue
        found = statusmod.outcome(env.catalog, fp)
        if found["state"] == "failed":
            continue  # the watch said it, with the command that tries it again
        if found["state"] == "done" and fp not in touched:
            lines.append(f"digitizer: {what}: already in the library, nothing to do")
            continue
        next_disc = "; put the next disc in" if found["state"] == "done" and \
            source.startswith("/dev/") else ""
        lines.append(f"digitizer: {what}: {found['why']}{next_disc}")
        if found["next"]:
            lines.append(f"  next: {found['next']}")
    return lines


@click.command(short_help="Show drives, unfinished discs, running steps, failures, review.")
@click.option("--follow", "-f", is_flag=True, help="Redraw every 2 seconds until Ctrl-C.")
@click.option("--limit", "-n", type=click.IntRange(0), default=20, show_default=True,
              help="Unfinished discs (and running, failed, review steps) to show, most "
                   "recent first; 0: all.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of text.")
@click.option("--table", is_flag=True, help="Text even when stdout is not a terminal.")
@pass_env
def status(env, follow, limit, as_json, table):
    """Show the drives and their state; every unfinished disc with, per title, how far
    rip, transcode and insert have got; running steps with progress; failures with
    their error; and everything waiting for a person (names to approve, decoys to pick,
    damaged titles, failures), one disc at a time with the command that resolves it.
    Piped, one JSON object per line, "record" saying what each is (drive, disc, running,
    failed, review, waiting).

    \b
    Example:
      digitizer status
      digitizer status --json | jq '.failed'
      digitizer status | jq -r 'select(.record == "waiting") | .next'
      digitizer status --follow
    """
    import json as jsonmod
    import time

    from digitizer import status as statusmod

    while True:
        state = statusmod.collect(env.catalog, limit or None, env.cfg.retry_seconds)
        if as_json:
            click.echo(jsonmod.dumps(state, ensure_ascii=False))
        elif not table and not stdout_is_terminal():
            for record in statusmod.records(state):
                click.echo(jsonmod.dumps(record, ensure_ascii=False))
        else:
            if follow and sys.stdout.isatty():
                click.clear()
            click.echo(statusmod.render(state, terminal_width()))
        if not follow:
            return
        time.sleep(2)


@click.group(cls=SuggestingGroup, invoke_without_command=True,
             short_help="List or approve discs waiting for a name.")
@json_option
@click.pass_context
def review(ctx, as_array, table):
    """Discs named only by a guess from their volume label are ripped and transcoded but
    not inserted; titles of a damaged disc that were read with unreadable sectors are held
    back; a Blu-ray whose film hides among decoys (playlists of the same clips in other
    orders) waits for a person to pick the true one. Without a subcommand: list them (a table
    on a terminal, one JSON object per disc and reason when piped: "reason" is "name",
    "episodes" (a show's disc whose place in its season's box set is not sure: approve it
    with --disc N or --first-episode N), "damaged" or "decoys"). TMDb's candidates for a
    disc it could not name surely are listed by number (approve one with --candidate N).

    \b
    Example:
      digitizer review
      digitizer review approve 0bff7fd7 --movie "Big Buck Bunny (2008)"
      digitizer review accept 0bff7fd7 2
      digitizer review approve 9f2c41 --pick 800
    """
    if ctx.invoked_subcommand is None:
        from digitizer import pipeline
        from digitizer import status as statusmod
        from digitizer.cli.common import TableOutput
        from digitizer.progress import echo

        env = ctx.ensure_object(Env)
        out = output(as_array, table, ["fingerprint", "label", "reason", "suggestion",
                                       "title", "role", "length"], rows=_review_row,
                     drop=("label", "reason"))
        waiting: dict = {}
        for step in env.catalog.steps(state="review", kind="insert"):
            disc = env.catalog.disc(step["fingerprint"])
            guess = env.catalog.name(step["fingerprint"]) or {}
            entry = waiting.setdefault(step["fingerprint"], {
                "fingerprint": step["fingerprint"], "label": disc["label"], "reason": "name",
                "suggestion": {k: guess.get(k) for k in ("kind", "name", "season")},
                "candidates": [dict(c, number=n) for n, c in enumerate(
                    env.catalog.candidates(step["fingerprint"]), 1)],
                "titles": []})
            entry["titles"].append(step["title"])
        for entry in waiting.values():
            _episodes_reason(env, entry)
        entries = list(waiting.values()) + pipeline.damaged_waiting(env.catalog) \
            + pipeline.decoys_waiting(env.catalog)
        for entry in entries:
            entry["titles"].sort()
            # Each title as a person tells them apart: its length and what scan made of it.
            known = {t["title"]: t for t in env.catalog.titles(entry["fingerprint"])}
            entry["title_info"] = [{"title": n, "role": (known.get(n) or {}).get("role"),
                                    "duration": (known.get(n) or {}).get("duration")}
                                   for n in entry["titles"]]
            entry["next"] = statusmod.outcome(env.catalog, entry["fingerprint"])["next"]
        out.emit_all(entries)
        out.close()
        if isinstance(out, TableOutput):
            for entry in entries:
                for c in entry.get("candidates") or []:
                    echo(f"{entry['fingerprint'][:12]}: TMDb candidate {c['number']}: "
                         f"{c['name']} ({c['kind']}): --candidate {c['number']}")
            for fp, command in dict.fromkeys((e["fingerprint"][:12], e["next"])
                                             for e in entries if e["next"]):
                echo(f"next: {command}")


def _episodes_reason(env, entry: dict) -> None:
    """A show named surely whose titles wait: it is their episode numbers that wait."""
    from digitizer import identity
    from digitizer.names import Name

    name = Name.from_dict(env.catalog.name(entry["fingerprint"]))
    if name is None or not name.certain or name.kind != "show":
        return
    numbered = identity.numbering(env.catalog, env.cfg, entry["fingerprint"], name)
    entry.update(reason="episodes", why=numbered["why"],
                 suggestion=dict(entry["suggestion"], first_episode=numbered["first"]))


@review.command("accept", short_help="Take damaged titles as they are and carry them on.")
@click.argument("fingerprint", shell_complete=complete_fingerprints)
@click.argument("titles", nargs=-1, type=int)
@json_option
@pass_env
def review_accept(env, fingerprint, titles, as_array, table):
    """Titles of a disc imaged with `rip --image-first` that read unreadable sectors wait
    until the disc reads whole (`resume --retry`, e.g. after cleaning it) or until you take
    them as they are: the unreadable sectors read as zeros (a glitch or a gap in the
    picture), and each title's marker keeps saying which sectors were missing. Without
    TITLES: every damaged title of the disc. No drive is needed: the image is staged.

    \b
    Example:
      digitizer review accept 0bff7fd7
      digitizer review accept 0bff7fd7 2 3
    """
    from digitizer import pipeline

    cat = env.catalog
    [(fp, _)] = pipeline.resolve_targets(cat, [fingerprint])
    out = output(as_array, table, ["fingerprint", "title", "next", "path", "error"],
                 rows=_short_fingerprint, drop=("fingerprint",), paths=path_roots(env.cfg))
    pipeline.accept_damage(cat, env.cfg, fp, list(titles), emit=out.emit)
    out.close()
    _say_next(cat, fp)


@review.command("approve", short_help="Name a disc and insert its waiting titles.")
@click.argument("fingerprint", shell_complete=complete_fingerprints)
@name_options
@click.option("--extra-type", "extra_types", multiple=True, metavar="TITLE=TYPE",
              help="The extras folder of one title (repeat for several): " + ", ".join(
                  EXTRA_TYPES) + "; kept with the disc's record, so a later resume agrees.")
@click.option("--album", metavar="'ARTIST - ALBUM (YEAR)'",
              help="An audio CD's name (\"Various Artists - ...\" for a compilation).")
@click.option("--disc", "disc_number", type=click.IntRange(1, 99), metavar="N",
              help="The disc's number in its season's box set (when its label does not say): "
                   "its episodes follow those of discs 1 to N-1.")
@click.option("--first-episode", type=click.IntRange(1, 9999), metavar="N",
              help="The number of the disc's first episode in its season.")
@click.option("--candidate", type=int, metavar="N",
              help="Take the Nth TMDb candidate `digitizer review` lists for the disc.")
@click.option("--pick", "picks", multiple=True, type=int, metavar="TITLE",
              help="Among a Blu-ray's decoys, the title that plays the film in its true order "
                   "(play them to tell); it is ripped, its rivals never are.")
@click.option("--force", is_flag=True,
              help="File the disc under this kind of name even when its titles say it is the "
                   "other kind (episodes named as a movie, a film named as a show).")
@json_option
@pass_env
def review_approve(env, fingerprint, movie, show, season, edition, extra_types, album,
                   disc_number, first_episode, candidate, picks, force, as_array, table):
    """Give a disc its library name (or accept the suggestion with neither option) and
    insert its titles that were waiting. A name of the other kind than the disc's titles
    (--movie for a disc of episodes, --show for a film) is asked about on a terminal and
    refused elsewhere unless --force is given; a name without a year is taken with a
    warning (Plex and Jellyfin match names with a year far better).

    \b
    Example:
      digitizer review approve 0bff7fd7 --movie "Big Buck Bunny (2008)"
      digitizer review approve 5e94 --show "Some Show (2020)" --season 2
      digitizer review approve 0bff --movie "Alien (1979)" --extra-type 3=trailer
      digitizer review approve QVfTsQ --album "Some Artist - Some Album (1999)"
      digitizer review approve 9f2c41 --pick 800
      digitizer review approve 0bff7fd7 --candidate 2
      digitizer review approve 5e94 --disc 3
    """
    from digitizer import pipeline

    from digitizer import identity
    from digitizer.names import Name

    from digitizer import status as statusmod
    from digitizer.errors import warn

    cat = env.catalog
    [(fp, _)] = pipeline.resolve_targets(cat, [fingerprint])
    columns = dict(columns=["fingerprint", "title", "next", "path", "error"],
                   rows=_short_fingerprint, drop=("fingerprint",), paths=path_roots(env.cfg))
    if picks:
        pipeline.pick_decoys(cat, fp, list(picks))
    if picks and not (movie or show or album or extra_types):
        out = output(as_array, table, **columns)
        pipeline.run_disc(cat, env.cfg, fp, emit=out.emit)
        out.close()
        _say_next(cat, fp)
        return
    if sum(map(bool, (album, movie or show, candidate))) > 1:
        raise click.UsageError("give --album, --movie, --show or --candidate, not two of them")
    name = Name("album", album, source="review") if album else \
        identity.candidate(cat, fp, candidate, season) if candidate is not None else \
        Name.from_options(movie, show, season, source="review", edition=edition)
    if name is None:
        known = Name.from_dict(cat.name(fp))
        if known is None:
            raise click.UsageError("give --movie, --show or --album")
        name = Name(known.kind, known.name, known.season, source="review")
    if "(YEAR)" in name.name:
        raise click.BadParameter(f"replace YEAR in {name.name!r} with the year it came out",
                                 param_hint="--" + name.kind)
    types = _extra_types(extra_types)
    unknown = set(types) - {t["title"] for t in cat.titles(fp)}
    if unknown:
        raise click.BadParameter(f"no title {min(unknown)} on this disc",
                                 param_hint="--extra-type")
    why = statusmod.contradiction(name.kind, pipeline.disc_marker(cat, fp)[1].get("titles")
                                  or [])
    if why and not force:
        if not (sys.stdin.isatty() and stdout_is_terminal()):
            other = "a show (--show ...)" if name.kind == "movie" else "a movie (--movie ...)"
            raise click.UsageError(f"{fp[:12]}: {why}; --force files it as a {name.kind} "
                                   f"anyway, or name it as {other}")
        import shutil
        import textwrap

        from digitizer.progress import echo

        for line in textwrap.wrap(f"digitizer: {fp[:12]}: {why}",
                                  shutil.get_terminal_size((100, 40)).columns - 1):
            echo(line, err=True)
        if not click.confirm(f"File it as the {name.kind} {name.name!r} anyway?",
                             default=False, err=True):
            sys.exit(1)  # nothing done: the titles still wait
    if name.kind in ("movie", "show") and name.year is None:
        warn(f"no year in {name.name!r}: Plex and Jellyfin match names with a year far "
             "better")
    cat.set_numbering(fp, disc_number=disc_number, first_episode=first_episode)
    identity.record(cat, fp, name)  # a reviewed name is certain: the titles go on
    cat.end_review(fp, episodes=True)  # and those held for their numbers are tried again
    for title, kind in types.items():
        cat.set_title(fp, title, extra_type=kind)
    cat.add_event("review_approved", fp, name=name.name)
    out = output(as_array, table, **columns)
    # Picked decoys were never ripped: they are read now (the rest only goes on).
    pipeline.run_disc(cat, env.cfg, fp, emit=out.emit, do_rip=bool(picks))
    out.close()
    _say_next(cat, fp)


def _say_next(catalog, fingerprint: str) -> None:
    """After a command that leaves the disc waiting for a person: the command that goes on."""
    from digitizer import status as statusmod
    from digitizer.progress import echo

    found = statusmod.outcome(catalog, fingerprint)
    # a failed disc has had its line (pipeline.failed_summary), with the command
    if found["next"] and found["state"] != "failed":
        echo(f"digitizer: {fingerprint[:12]}: {found['why']}", err=True)
        echo(f"  next: {found['next']}", err=True)


def _extra_types(given: tuple[str, ...]) -> dict[int, str]:
    """--extra-type 3=trailer ... as {3: "trailer"}; anything else is a usage error."""
    types = {}
    for text in given:
        title, _, kind = text.partition("=")
        kind = kind.strip().lower()
        if not title.strip().isdigit() or kind not in EXTRA_TYPES:
            raise click.BadParameter(f"{text!r} is not TITLE=TYPE with TYPE one of "
                                     + ", ".join(EXTRA_TYPES), param_hint="--extra-type")
        types[int(title)] = kind
    return types


def _watch_row(obj: dict) -> list[dict]:
    import time

    where = obj.get("error") or obj.get("waiting") or obj.get("path")
    return [dict(obj, time=time.strftime("%H:%M:%S"), path=where,
                 fingerprint=(obj.get("fingerprint") or "")[:12] or None)]


def _short_fingerprint(obj: dict) -> list[dict]:
    return [dict(obj, fingerprint=(obj.get("fingerprint") or "")[:12] or None)]


def _review_row(entry: dict) -> list[dict]:
    """A row per title waiting (its length and role tell the main feature and the
    episodes apart); the disc's cells on its first row only."""
    from digitizer.cli.common import length

    if entry["reason"] == "decoys":
        what = "; ".join("pick one of " + ", ".join(map(str, g)) for g in entry["groups"])
    elif entry["reason"] == "damaged":
        what = "; ".join(f"{t}: {v}" for t, v in entry["unreadable"].items())
    else:
        guess = entry["suggestion"]
        season = f", season {guess['season']}" if guess.get("season") is not None else ""
        what = f"{guess.get('name')} ({guess.get('kind')}{season})"
        if entry["reason"] == "episodes":
            first = guess.get("first_episode")
            what += (f", from episode {first}" if first else "") + f": {entry['why']}"
    rows = []
    for n, info in enumerate(entry.get("title_info") or []):
        rows.append({"title": info["title"], "role": info.get("role"),
                     "length": length(info.get("duration"))})
    rows = rows or [{}]
    rows[0].update(fingerprint=entry["fingerprint"][:12], label=entry.get("label"),
                   reason=entry["reason"], suggestion=what)
    for row in rows[1:]:
        row.update(fingerprint="", label="", reason="", suggestion="")
    return rows
