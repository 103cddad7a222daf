"""Commands for the steps that make files: rip, transcode, insert."""

from __future__ import annotations

import click

from digitizer.cli.common import (cluster_option, files_from, json_option, length, output,
                                  pass_env, path_roots, read_offset_option, run_each, size,
                                  sources_from)
from digitizer.cli.complete import complete_sources
from digitizer.names import EXTRA_TYPES


def scans_from(env, args, objects, probe=True) -> list[dict]:
    """Scan results for rip: a piped scan is looked up in the catalog (where its titles go
    is never taken from the input), else the source is scanned now."""
    from digitizer.steps import rip as ripmod
    from digitizer.steps import scan as scanmod

    results = [ripmod.recorded_scan(o, n, env.catalog, env.cfg)
               for n, o in enumerate(objects, 1) if "titles" in o]
    sources = sources_from(args, [o for o in objects if "titles" not in o])
    sources += [r["source"] for r in results if r.get("rescan")]
    for source in dict.fromkeys(sources):
        results.append(scanmod.scan_disc(source, env.catalog, env.cfg, probe=probe))
    return [r for r in results if not r.get("rescan")]


# -- rip / transcode / insert ---------------------------------------------------------
@click.command(short_help="Rip titles losslessly to MKV in the staging folder.")
@click.argument("sources", nargs=-1, required=True, shell_complete=complete_sources)
@click.option("--title", "-t", "numbers", multiple=True, type=int,
              help="Rip this title number (repeatable).")
@click.option("--main", is_flag=True, help="Only the main feature (or the episodes).")
@click.option("--all", "all_", is_flag=True, help="Every title, whatever its role.")
@click.option("--roles", help="Comma-separated roles to rip (default: main,extra,episode).")
@click.option("--image-first", is_flag=True,
              help="Image the whole disc with ddrescue first (retrying unreadable areas), "
                   "then rip from the image: for scratched discs (config `image_first`).")
@read_offset_option
@json_option
@pass_env
def rip(env, sources, numbers, main, all_, roles, image_first, as_array, table):
    """Rip the selected titles of each disc to one lossless MKV per title (every video,
    audio and subtitle stream, chapters, languages), verified before it counts. Already
    verified rips are not redone. SOURCES may be `-` to read scan's JSON.

    \b
    Example:
      digitizer rip /dev/sr0
      digitizer rip film.iso --title 1 --title 3
      digitizer scan film.iso | digitizer rip - --roles main
      digitizer rip /dev/sr0 --image-first
      digitizer rip /dev/sr0 --read-offset 667        (an audio CD)
    """
    from digitizer.steps import rip as ripmod
    from digitizer.jsonio import read_inputs

    args, objects = read_inputs(sources)
    roles_ = [r.strip() for r in roles.split(",") if r.strip()] if roles else None
    out = output(as_array, table, ["title", "role", "length", "size", "done", "path"],
                 rows=_result_row,
                 drop=("role", "size"), paths=path_roots(env.cfg))

    def one(scan_result):
        ripmod.rip_disc(scan_result, env.catalog, env.cfg, numbers=numbers, main=main,
                        all_=all_, roles_=roles_, emit=out.emit, image_first=image_first)

    # rip needs no interlace verdict (transcode measures it on the file): skip the probe.
    run_each(scans_from(env, args, objects, probe=False), one, out)


@click.command(short_help="Re-encode ripped files with a preset.")
@click.argument("files", nargs=-1)
@click.option("--preset", "-p", help="Preset name (default: config `preset`, h264).",
              shell_complete=lambda ctx, param, incomplete: _complete_presets(incomplete))
@click.option("--list-presets", is_flag=True, help="List the presets and exit.")
@cluster_option
@json_option
@pass_env
def transcode(env, files, preset, list_presets, as_array, table):
    """Transcode ripped MKVs with a preset: deinterlaced when the video is interlaced
    (measured), every audio and subtitle stream and the chapters kept, verified before
    it counts. FILES may be `-` to read rip's JSON.

    \b
    Example:
      digitizer transcode --list-presets
      digitizer transcode ~/.local/share/digitizer/staging/FILM-*/title_01.mkv -p hevc
      digitizer rip film.iso | digitizer transcode - --preset h264
      digitizer transcode title_01.mkv --cluster tls://nas:8786
    """
    from digitizer.steps import transcode as tc
    from digitizer.jsonio import read_inputs

    if list_presets:
        out = output(as_array, table, ["preset", "hardware", "description"])
        for name, body in tc.presets(env.cfg.presets).items():
            out.emit({"preset": name, "description": body.get("description"),
                      "hardware": body.get("hw")})
        out.close()
        return
    if not files:
        raise click.UsageError("give FILES (or - to read rip's JSON)")
    args, objects = read_inputs(files)
    run_each(files_from(args, objects),
             lambda item: tc.transcode(item["path"], env.catalog, env.cfg,
                                       preset_name=preset),
             output(as_array, table, ["title", "preset", "length", "size", "fps", "done",
                                      "path"], rows=_result_row, drop=("fps", "size"),
                    paths=path_roots(env.cfg)))


@click.command(short_help="Move finished files into the Plex/Jellyfin library.")
@click.argument("files", nargs=-1, required=True)
@click.option("--library", type=click.Path(file_okay=False),
              help="Library root (default: config `library`).")
@click.option("--movie", metavar='"TITLE (YEAR)"', help="Name the disc as this movie.")
@click.option("--show", metavar='"SHOW (YEAR)"', help="Name the disc as a season of this show.")
@click.option("--season", type=click.IntRange(0, 999), help="Season number (with --show; default 1).")
@click.option("--episode", type=click.IntRange(1, 9999),
              help="Episode number of this file, or of the disc's first episode when several "
                   "files are given (default: continue after the season's highest).")
@click.option("--extra-type", type=click.Choice(list(EXTRA_TYPES)), metavar="TYPE",
              help="Extras folder Plex and Jellyfin know: " + ", ".join(EXTRA_TYPES)
                   + " (default: the title's own type when known, else other).")
@click.option("--edition", metavar='"EDITION"',
              help='With --movie: this cut, beside the others ("Extended Edition").')
@click.option("--part", type=click.IntRange(1, 99),
              help="With --movie: this file is part N of the movie (- ptN).")
@click.option("--mode", type=click.Choice(["move", "hardlink", "copy"]),
              help="How files get there (default: config `insert_mode`, move).")
@click.option("--on-conflict", type=click.Choice(["error", "skip", "suffix"]), default="error",
              show_default=True, help="When a different file already has the name.")
@json_option
@pass_env
def insert(env, files, library, movie, show, season, episode, extra_type, edition, part, mode,
           on_conflict, as_array, table):
    """Insert transcoded (or ripped) files into the library with Plex/Jellyfin names:
    Movies/Title (Year)/Title (Year).mkv with extras in typed folders, or
    TV Shows/Show (Year)/Season 01/Show (Year) - s01e01.mkv (--season 0: the specials,
    Season 00). Never overwrites a different file. FILES may be `-` to read transcode's
    JSON.

    \b
    Example:
      digitizer insert title_01.h264.mkv --movie "Big Buck Bunny (2008)"
      digitizer insert t4.mkv --movie "Alien (1979)" --edition "Director's Cut"
      digitizer insert t2.mkv --show "Show (2020)" --season 0 --episode 1
      digitizer transcode - < ripped.json | digitizer insert - --show "Show (2020)" --season 1
    """
    from pathlib import Path

    from digitizer import identity
    from digitizer.jsonio import read_inputs
    from digitizer.names import Name
    from digitizer.steps import insert as ins

    if movie and show:
        raise click.UsageError("give --movie or --show, not both")
    if (season is not None or episode is not None) and not show:
        raise click.UsageError("--season and --episode go with --show")
    if part is not None and not movie:
        raise click.UsageError("--part goes with --movie")
    name = Name.from_options(movie, show, season, edition=edition)
    root = Path(library).expanduser() if library else env.cfg.path_of("library")
    root.mkdir(parents=True, exist_ok=True)
    ownership = ins.Ownership.from_config(env.cfg)
    args, objects = read_inputs(files)
    items = files_from(args, objects)
    counter = {"n": 0}

    def one(item):
        number = None
        if episode is not None:
            number = episode + counter["n"]
        result = ins.insert_file(item["path"], env.catalog, library=root, name=name,
                                 episode=number, mode=mode or env.cfg.insert_mode,
                                 on_conflict=on_conflict, extra_type=extra_type, part=part,
                                 ownership=ownership)
        if result.get("episode") is not None:
            counter["n"] += 1
        if name is not None:
            identity.record(env.catalog, result["fingerprint"], name)
        return result

    run_each(items, one, output(as_array, table, ["title", "role", "episode", "done", "path"],
                                rows=_result_row, drop=("role",), paths=path_roots(env.cfg)))


def _result_row(obj: dict) -> list[dict]:
    """A step's JSON result as a table row (lengths and sizes as people read them)."""
    done = "skipped" if obj.get("skipped") else "identical" if obj.get("identical") else "yes"
    return [dict(obj, length=length(obj.get("duration")), size=size(obj.get("size")),
                 done=done)]


def _complete_presets(incomplete):
    try:
        from digitizer import config as cfgmod
        from digitizer.steps.transcode import presets

        names = presets(cfgmod.load().presets)
    except Exception:  # completion must never print a traceback into the shell
        return []
    return [n for n in names if n.startswith(incomplete)]


@click.command(short_help="Check finished audio CD rips against AccurateRip.")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@json_option
@pass_env
def verify(env, paths, as_array, table):
    """Ask AccurateRip again about ripped or filed tracks (files, or folders such as an
    album in the library): a rip made offline says "not verified" until then. The verdict
    goes into each track's marker and the album's rip log. Exit code 1 when a track does
    not match the database.

    \b
    Example:
      digitizer verify ~/Music/"Some Artist"/"Some Album (1999)"
    """
    from digitizer.steps import verify as verifymod

    files = verifymod.files_of(list(paths))
    run_each(files, lambda f: verifymod.verify_file(f, env.cfg),
             output(as_array, table, ["title", "verdict", "path"]))
