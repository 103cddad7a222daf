"""Ripping a Blu-ray playlist (formats/bluray.py's rip), kept apart so that detect and
fingerprint never import ffmpeg's and MakeMKV's modules.

Route (measured, lab notes A1/A2 and tests/bench): digitizer's own playlist parse drives
ffmpeg's concat demuxer, one entry per play item: the clip (a file of a folder, or its byte
ranges inside an image or drive through the `subfile` protocol), its in and out points, its
streams picked by PID in the playlist's order, languages and chapters from the playlist.
Encrypted discs go through MakeMKV's makemkvcon when it is there.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from digitizer.errors import EncryptedDisc, SourceError, ToolFailed, ToolMissing
from digitizer.formats import bdmv
from digitizer.formats.discfs import DiscFS, _show
from digitizer.tools import ffmpeg as ff
from digitizer.tools import makemkv, run


def _quote(text: str) -> str:
    """A string as the concat demuxer's script reads it: in single quotes, each quote
    escaped, so a hostile file name stays one argument."""
    return "'" + text.replace("'", "'\\''") + "'"


def clip_url(fs: DiscFS, clip: str) -> str:
    """An ffmpeg URL for a clip: a folder's file, or its byte ranges inside the image or
    drive (the subfile protocol; several extents are joined by the concat protocol)."""
    path = f"BDMV/STREAM/{clip}.m2ts"
    real = fs.real_path(path)
    if real is not None:
        return ff.url(real)
    ranges = fs.file_ranges(path)
    if not ranges:
        raise SourceError(f"{_show(fs.source)}: {path} is not recorded on the disc")
    source = os.path.abspath(fs.source)
    if "|" in source and len(ranges) > 1:
        raise SourceError(f"{_show(source)}: a path with '|' cannot hold a clip of several "
                          "extents; rename the image")
    parts = [f"subfile,,start,{at},end,{at + n},,:{source}" for at, n in ranges]
    return parts[0] if len(parts) == 1 else "concat:" + "|".join(parts)


def concat_script(fs: DiscFS, title: dict) -> str:
    """The concat demuxer's script for a playlist: its streams by PID (the playlist's order),
    then each play item as the clip between its in and out points."""
    lines = ["ffconcat version 1.0"]
    for pid in stream_pids(title):
        lines += ["stream", f"exact_stream_id {pid:#x}"]
    for item in title["items"]:
        lines += [f"file {_quote(clip_url(fs, item['clip']))}",
                  f"inpoint {item['in'] / bdmv.CLOCK:.6f}",
                  f"outpoint {item['out'] / bdmv.CLOCK:.6f}"]
    return "\n".join(lines) + "\n"


def stream_pids(title: dict) -> list[int]:
    video = [title["video"]["pid"]] if (title.get("video") or {}).get("pid") else []
    return video + [a["pid"] for a in title.get("audio", [])] + \
        [s["pid"] for s in title.get("subtitles", [])]


def rip_argv(ffmpeg: str, title: dict, script: Path, meta: Path, part: Path) -> list[str]:
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-y", "-v", "error",
            "-f", "concat", "-safe", "0", "-protocol_whitelist", "file,subfile,concat",
            "-i", ff.url(script), "-f", "ffmetadata", "-i", ff.url(meta)]
    for k in range(len(stream_pids(title))):
        argv += ["-map", f"0:{k}"]
    argv += ["-map_chapters", "1", "-map_metadata", "-1", "-c", "copy"]
    for k, a in enumerate(title.get("audio", [])):
        argv += [f"-metadata:s:a:{k}", f"language={a['lang']}"]
        if a["codec"] == "pcm_bluray":  # Matroska cannot hold Blu-ray LPCM; FLAC is lossless
            argv += [f"-c:a:{k}", "flac"]
    for k, s in enumerate(title.get("subtitles", [])):
        argv += [f"-metadata:s:s:{k}", f"language={s['lang']}"]
    # bitexact: a re-rip after a crash gives the same bytes as an uninterrupted run.
    return argv + ["-fflags", "+bitexact", "-progress", "pipe:1", "-nostats",
                   "-f", "matroska", ff.url(part)]


def rip(fs: DiscFS, title: dict, part: Path, cfg, progress) -> dict:
    """One clear playlist of the open disc to `part`, verified (duration, every stream); the
    facts for its marker."""
    ffmpeg = ff.binary(cfg.ffmpeg)
    script = part.with_name(f".{part.name}.ffconcat")
    meta = part.with_name(f".{part.name}.chapters")
    script.write_text(concat_script(fs, title), encoding="utf-8")
    meta.write_text(ff.chapters_metadata(title["chapters"], title["duration"]))
    try:
        with run.Process(rip_argv(ffmpeg, title, script, meta, part)) as proc:
            for stream, line in proc.lines():
                if stream == "stdout":
                    progress(ff.progress_seconds(line))
            proc.wait()
    finally:
        script.unlink(missing_ok=True)
        meta.unlink(missing_ok=True)
    return _verified(part, title, ffmpeg, lpcm_converted_to_flac=any(
        a["codec"] == "pcm_bluray" for a in title["audio"]))


def _verified(part: Path, title: dict, ffmpeg: str, **facts) -> dict:
    """The rip checked against the playlist (duration, every stream): its marker's facts."""
    info = ff.verify(part, ffmpeg, duration=title["duration"], audio=len(title["audio"]),
                     subtitles=len(title["subtitles"]))
    tools = dict(facts.pop("tool_versions", {}), ffmpeg=run.version(ffmpeg))
    return {"duration": info["duration"], "chapters": len(info["chapters"]),
            "streams": info["streams"], "scanned_duration": title["duration"],
            "playlist": title.get("source_file"), **facts, "tool_versions": tools}


def rip_encrypted(source: str, kind: str, title: dict, part: Path, cfg, progress,
                  missing: str) -> dict:
    """An encrypted playlist through MakeMKV: its title for this playlist written into a
    scratch folder beside `part`, moved to `part`, verified like our own rips. Without
    MakeMKV, EncryptedDisc: the disc waits, nothing is written."""
    try:
        program = run.resolve(cfg.makemkvcon or "makemkvcon")
    except ToolMissing:
        raise EncryptedDisc(f"{_show(source)}: {missing}") from None
    where = makemkv.source_argument(source, kind)
    listing = makemkv.parse(run.run(makemkv.info_argv(program, where)).stdout)
    index = listing.title_of(title["source_file"])
    if index is None:
        raise SourceError(f"{_show(source)}: MakeMKV lists no title for playlist "
                          f"{title['source_file']}")
    scratch = part.with_name(f".{part.name}.makemkv")
    shutil.rmtree(scratch, ignore_errors=True)  # a killed attempt's leftovers
    scratch.mkdir()
    try:
        robot = makemkv.Robot()
        with run.Process(makemkv.mkv_argv(program, where, index, str(scratch))) as proc:
            for stream, line in proc.lines():
                if stream == "stdout":
                    makemkv.feed(robot, line)
                    if line.startswith("PRGV") and robot.progress is not None:
                        progress(robot.progress * title["duration"])
            code = proc.wait(check=False)
        if code != 0:  # robot mode says why on stdout, in its last message
            said = robot.messages[-1][1] if robot.messages else "no message"
            raise ToolFailed(f"makemkvcon failed (exit {code}) on playlist "
                             f"{title['source_file']}: {said}")
        made = sorted(scratch.glob("*.mkv"))
        if len(made) != 1:
            raise SourceError(f"{_show(source)}: MakeMKV wrote {len(made)} files for playlist "
                              f"{title['source_file']}, expected one")
        os.replace(made[0], part)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return _verified(part, title, ff.binary(cfg.ffmpeg), decrypted_by="makemkvcon",
                     makemkv_title=index,
                     tool_versions={"makemkvcon": listing.version() or "unknown"})
