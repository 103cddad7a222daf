"""rip: one lossless MKV per selected title, straight from the drive, image or folder.

ffmpeg's dvdvideo demuxer (ffmpeg >= 7) reads the title through libdvdread in one pass
with every stream, language tag and VobSub palette. Its NTSC chapter marks drift unless
-preindex reads the title twice, so chapters come from the scan (IFO times x 1.001) as an
ffmetadata input instead. LPCM cannot be stream-copied into Matroska; it becomes FLAC,
which is lossless, and the marker says so. Output goes to NAME.part and is renamed only
after it verifies.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from digitizer import drives, markers, media, roles, tools
from digitizer.errors import NoSpace, UsageError, warn
from digitizer.progress import Bar
from digitizer.steps import claimed


def select(titles: list[dict], *, numbers=(), main=False, all_=False, roles_=None) -> list[dict]:
    """Default: the main title, episodes and extras; never duplicates, play-all or short."""
    if numbers:
        by_number = {t["title"]: t for t in titles}
        missing = [n for n in numbers if n not in by_number]
        if missing:
            raise UsageError(f"no title {missing[0]} on this disc (it has 1-{len(titles)})")
        return [by_number[n] for n in numbers]
    if all_:
        return list(titles)
    wanted = set(roles_ or roles.DEFAULT_ROLES)
    if main:
        wanted = {"main", "episode"}
    unknown = wanted - set(roles.ALL_ROLES)
    if unknown:
        raise UsageError(f"unknown role {sorted(unknown)[0]!r}; roles are {', '.join(roles.ALL_ROLES)}")
    return [t for t in titles if t.get("role") in wanted]


def ffmetadata(starts: list[float], duration: float) -> str:
    lines = [";FFMETADATA1"]
    ends = starts[1:] + [duration]
    for n, (start, end) in enumerate(zip(starts, ends), 1):
        lines += ["[CHAPTER]", "TIMEBASE=1/1000", f"START={round(start * 1000)}",
                  f"END={max(round(end * 1000), round(start * 1000) + 1)}", f"title=Chapter {n}"]
    return "\n".join(lines) + "\n"


def output_path(folder: Path, title: int) -> Path:
    return folder / f"title_{title:02d}.mkv"


def rip_argv(ffmpeg: str, source: str, title: dict, meta: Path, part: Path) -> list[str]:
    # dvdvideo hands its input to libdvdread verbatim, so no `file:` prefix there; an
    # absolute path cannot be taken for a protocol or an option.
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-y", "-v", "error",
            "-f", "dvdvideo", "-title", str(title["title"]), "-i", os.path.abspath(source),
            "-f", "ffmetadata", "-i", tools.ffmpeg_path(meta),
            "-map", "0", "-map_chapters", "1", "-c", "copy"]
    for i, a in enumerate(title.get("audio", [])):
        if a.get("codec") == "lpcm":
            argv += [f"-c:a:{i}", "flac"]
    # bitexact: no random segment UID or version strings, so a re-rip after a crash gives
    # the same bytes as an uninterrupted run.
    return argv + ["-fflags", "+bitexact", "-progress", "pipe:1", "-nostats",
                   "-f", "matroska", tools.ffmpeg_path(part)]


def finished(path: Path) -> dict | None:
    data = markers.artefact(path)
    return data if data and data.get("step") == "rip" else None


def check_space(folder: Path, titles: list[dict]) -> None:
    need = sum(t.get("size") or 0 for t in titles)
    free = shutil.disk_usage(folder).free
    # MKV overhead is well under 1 %; keep a margin so the disk is never filled to the brim.
    if need and free < need * 1.02 + 16 * 2**20:
        raise NoSpace(f"not enough space in {folder}: {need / 2**20:.0f} MiB needed for "
                      f"{len(titles)} title(s), {free / 2**20:.0f} MiB free")


def rip_title(source: str, title: dict, folder: Path, fingerprint: str, catalog, ffmpeg: str,
              extra: dict) -> dict:
    final = output_path(folder, title["title"])
    part = final.with_name(final.name + ".part")
    meta = folder / f".title_{title['title']:02d}.chapters"
    with claimed(catalog, fingerprint, title["title"], "rip") as step:
        meta.write_text(ffmetadata(title["chapters"], title["duration"]))
        bar = Bar(title["duration"], f"rip title {title['title']}", step["beat"])
        try:
            with tools.Process(rip_argv(ffmpeg, source, title, meta, part)) as proc:
                for stream, line in proc.lines():
                    bar.feed(stream, line)
                proc.wait()
        except BaseException:
            # ffmpeg cannot continue a partial MKV; a failed part is worthless.
            part.unlink(missing_ok=True)
            raise
        finally:
            bar.close()
            meta.unlink(missing_ok=True)
        try:
            info = media.verify(part, ffmpeg, duration=title["duration"],
                                audio=len(title.get("audio", [])),
                                subtitles=len(title.get("subtitles", [])))
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        os.replace(part, final)
        flac = [a["lang"] for a in title.get("audio", []) if a.get("codec") == "lpcm"]
        markers.write_artefact(
            final, step="rip", fingerprint=fingerprint, title=title["title"],
            duration=info["duration"], chapters=len(info["chapters"]),
            streams=info["streams"], role=title.get("role"), episode=title.get("episode"),
            source=source, scanned_duration=title["duration"],
            lpcm_converted_to_flac=bool(flac),
            tool_versions={"ffmpeg": tools.version(ffmpeg)}, **extra)
        catalog.finish(step["id"], str(final))
    catalog.add_event("title_ripped", fingerprint, title["title"], path=str(final))
    return {"path": str(final), "duration": info["duration"], "size": final.stat().st_size}


def record_selection(catalog, folder: Path, fingerprint: str, chosen: list[dict]) -> None:
    """Add titles to the disc's selection: their steps in the catalog, their numbers in the
    disc marker (from which `resume` and `catalog rebuild` know what was asked for)."""
    from digitizer.fingerprint import update_disc_marker

    for t in chosen:
        catalog.ensure_steps(fingerprint, t["title"])
    marker = markers.read(markers.disc_marker(folder)) or {}
    selected = sorted(set(marker.get("selected") or []) | {t["title"] for t in chosen})
    update_disc_marker(folder, selected=selected)


def rip_disc(scan: dict, catalog, cfg, *, numbers=(), main=False, all_=False, roles_=None,
             emit=None) -> list[dict]:
    """Rip the selected titles of a scanned disc; already verified rips are not redone."""
    source, fp = scan["source"], scan["fingerprint"]
    folder = Path(scan["folder"])
    folder.mkdir(parents=True, exist_ok=True)
    chosen = select(scan["titles"], numbers=numbers, main=main, all_=all_, roles_=roles_)
    record_selection(catalog, folder, fp, chosen)
    todo = [t for t in chosen if not finished(output_path(folder, t["title"]))]
    if todo:
        check_space(folder, todo)
    ffmpeg = tools.ffmpeg_binary(cfg.ffmpeg) if todo else None
    results = []
    base = {"fingerprint": fp, "label": scan.get("label"), "source": source}
    for t in chosen:
        path = output_path(folder, t["title"])
        done = finished(path)
        if done:
            catalog.set_step(fp, t["title"], "rip", state="done", output=str(path))
            row = dict(base, title=t["title"], role=t.get("role"), episode=t.get("episode"),
                       path=str(path), duration=done.get("duration"), size=done["size"],
                       step="rip", skipped=True)
        else:
            got = rip_title(source, t, folder, fp, catalog, ffmpeg,
                            {"label": scan.get("label")})
            row = dict(base, title=t["title"], role=t.get("role"), episode=t.get("episode"),
                       step="rip", skipped=False, **got)
        results.append(row)
        if emit:
            emit(row)
    if todo and cfg.eject_after_rip and drives.is_block_device(source):
        warning = drives.eject(source, cfg.eject)
        if warning:
            warn(warning)
        catalog.add_event("disc_ejected", fp, source=source)
    if chosen:
        catalog.add_event("disc_read", fp, titles=[t["title"] for t in chosen])
    return results
