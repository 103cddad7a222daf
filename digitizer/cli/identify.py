"""Commands that identify a disc: detect, fingerprint, scan, manifest."""

from __future__ import annotations

import click

from digitizer.cli.common import (TableOutput, json_option, length, name_options, output,
                                  pass_env, run_each, sources_from)
from digitizer.cli.complete import complete_sources


@click.command(short_help="List drives, or say what each source is.")
@click.argument("sources", nargs=-1, type=click.Path(), shell_complete=complete_sources)
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
    from digitizer.steps import detect as det

    out = output(as_array, table, ["source", "kind", "status", "disc_type", "label"])
    if sources:
        run_each([det.normalise(s) for s in sources], det.detect, out)
        return
    out.emit_all(det.detect_drives())
    if isinstance(out, TableOutput) and not out.items:
        click.echo("no optical drives found", err=True)
        return
    out.close()


@click.command(short_help="Identify discs by content (reads only the navigation files).")
@click.argument("sources", nargs=-1, required=True, shell_complete=complete_sources)
@json_option
@pass_env
def fingerprint(env, sources, as_array, table):
    """Compute each disc's fingerprint (libdvdread's disc id: MD5 of the IFO files) and
    the ids other tools use, record the disc in the catalog, and say whether it is known
    and how far its titles have got. SOURCES may be `-` to read detect's JSON.

    \b
    Example:
      digitizer fingerprint /dev/sr0
      digitizer detect ~/isos/*.iso | digitizer fingerprint -
    """
    from digitizer.steps import fingerprint as fpmod
    from digitizer.jsonio import read_inputs

    args, objects = read_inputs(sources)
    staging = env.cfg.path_of("staging")
    run_each(sources_from(args, objects),
             lambda s: fpmod.fingerprint(s, env.catalog, staging),
             output(as_array, table, ["source", "disc_type", "label", "fingerprint", "known"]))


@click.command(short_help="List every title with streams, chapters and role.")
@click.argument("sources", nargs=-1, required=True, shell_complete=complete_sources)
@click.option("--no-probe", is_flag=True,
              help="Skip the interlace probe (reads a second of video per title).")
@name_options
@json_option
@pass_env
def scan(env, sources, no_probe, movie, show, season, edition, as_array, table):
    """Read every title of each disc: duration, chapters, video, audio and subtitle
    streams with languages, size, and a role (main, extra, episode, duplicate,
    play_all, short). Results go to the catalog, the disc marker and stdout.
    --movie or --show names the disc and tells the roles its kind: a show disc gets no
    main feature from length, a movie disc no episodes.

    \b
    Example:
      digitizer scan film.iso
      digitizer scan --show "Some Show (2020)" --season 2 SHOW_S2_D1.iso
      digitizer detect /dev/sr0 | digitizer fingerprint - | digitizer scan -
    """
    from digitizer.names import Name
    from digitizer.steps import scan as scanmod
    from digitizer.jsonio import read_inputs

    given = Name.from_options(movie, show, season, edition=edition)
    args, objects = read_inputs(sources)
    run_each(sources_from(args, objects),
             lambda s: scanmod.scan_disc(s, env.catalog, env.cfg, probe=not no_probe,
                                         given=given),
             output(as_array, table, _scan_columns, rows=_title_rows, heading=_disc_heading,
                    drop=("chapters", "subtitles", "artist")))


# What a table shows of a disc's titles, by kind of disc: video titles, audio tracks, or
# a data disc's one title (the whole disc, imaged).
SCAN_COLUMNS = {"data": ["title", "size", "files", "created", "role"],
                "cd": ["track", "length", "name", "artist", "isrc"]}
VIDEO_COLUMNS = ["title", "length", "chapters", "audio", "subtitles", "role"]


def _scan_columns(disc: dict) -> list[str]:
    return SCAN_COLUMNS.get(disc.get("disc_type"), VIDEO_COLUMNS)


def _disc_heading(disc: dict) -> str:
    return f"{disc['source']}  {disc.get('label') or '-'}  {disc['fingerprint'][:12]}"


def _title_rows(disc: dict) -> list[dict]:
    from digitizer.cli.common import size

    if disc.get("disc_type") == "data":
        return [{"title": t["title"], "size": size(t.get("size")), "files": t.get("file_count"),
                 "created": t.get("created"), "role": t.get("role")} for t in disc["titles"]]
    if disc.get("disc_type") == "cd":
        return [{"track": t["title"], "length": length(t.get("duration")),
                 "name": t.get("track_title"), "artist": t.get("track_artist"),
                 "isrc": t.get("isrc")} for t in disc["titles"]]
    return [{"title": t["title"], "length": length(t.get("duration")),
             "chapters": len(t.get("chapters") or []),
             "audio": " ".join(a.get("lang") or "und" for a in t.get("audio") or []) or None,
             "subtitles": " ".join(s.get("lang") or "und" for s in t.get("subtitles") or [])
             or None,
             "role": t.get("role") + (f" {t['episode']}" if t.get("episode") else "")}
            for t in disc["titles"]]


@click.command(short_help="Print a disc's Optical Disc Manifest (TheDiscDb's JSON).")
@click.argument("source", shell_complete=complete_sources)
@pass_env
def manifest(env, source):
    """Print SOURCE's Optical Disc Manifest v1: the tool-neutral JSON of TheDiscDb
    (github.com/TheDiscDb/optical-disc-manifest) with its content hash, file inventory and
    titles (duration, chapters, streams). `scan` writes the same as disc.odm.json in the
    disc's staging folder.

    \b
    Example:
      digitizer manifest /dev/sr0 > film.odm.json
    """
    import json

    from digitizer import manifest as odm
    from digitizer.errors import UsageError

    found = odm.build(source, None, env.cfg)
    if found is None:
        raise UsageError(f"{source}: the Optical Disc Manifest describes video discs only")
    click.echo(json.dumps(found, indent=2, ensure_ascii=False))
