"""Blu-ray (BDMV): everything digitizer knows about the format (index.bdmv, playlists, clips,
AACS) lives here and in formats/bdmv.py (the playlist parser), behind the interface of
formats/__init__.

A title is a playlist, numbered by its file (``00800.mpls`` is title 800). Its duration,
chapters, streams and languages come from the playlist; its ``segments`` are the clips it
plays with their in/out times, so roles can tell a play-all, a duplicate, the feature's own
clips listed on their own and decoys (the same clips in another order) apart.

Rip route (measured, lab notes A1/A2 and tests/bench): digitizer's own playlist parse drives
ffmpeg's concat demuxer, one entry per play item: the clip (a file of a folder, or its byte
ranges inside an image or drive through the `subfile` protocol), its in and out points, its
streams picked by PID in the playlist's order, languages and chapters from the playlist.
Each byte of a title is read once, straight from the disc, whatever the playlist's length;
ffmpeg's own `bluray:` protocol refuses discs whose playlists are all under 180 s, tags no
language, writes no chapter, loses audio frames at clip joins and failed on a mid-clip
start; mkvmerge reads playlists only from an extracted folder (disc-sized scratch space,
every byte read twice).

Ids
---
Computed from a DiscFS, so the same for a drive, an image and a folder.

``bdmv_nav_sha1`` (primary; 40 lower-case hex digits)
    SHA-1 over the navigation files only: ``BDMV/index.bdmv``, ``BDMV/MovieObject.bdmv``,
    then every ``BDMV/PLAYLIST/*.mpls`` and ``BDMV/CLIPINF/*.clpi`` in name order, each as
    its name, its size (u64 big-endian) and its bytes. A few hundred KiB at most, read in
    milliseconds, and no file dates, so a folder copied from a disc keeps the disc's id.
    The clip infos carry each clip's packet count and stream layout, so two discs authored
    from the same template but with different content differ, which libbluray's pseudo id
    (index.bdmv and MovieObject.bdmv only) does not: it collides between such discs. Its
    ``disc_id`` is the AACS id below, all zeros on unencrypted discs; neither is used.

``thediscdb`` (32 upper-case hex digits)
    TheDiscDb's content hash (optical-disc-manifest, specification v1 identifiers): MD5 over
    the sizes of ``BDMV/STREAM/*.m2ts`` (no ``.ssif``, nothing under BACKUP), ordered by name
    ordinally, each as an 8-byte little-endian signed integer.

``aacs`` (40 upper-case hex digits, or None)
    The AACS disc id as libaacs computes it (and KEYDB.cfg and TheDiscDb key it): SHA-1 of
    ``AACS/Unit_Key_RO.inf``, else of ``AACS/DUPLICATE/Unit_Key_RO.inf``; None on a disc
    without AACS.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import struct
from pathlib import Path
from xml.etree import ElementTree

from digitizer import names, roles
from digitizer.errors import EncryptedDisc, SourceError, ToolFailed, ToolMissing, warn
from digitizer.formats import bdmv
from digitizer.formats.discfs import DiscFS, MissingFile, _show, open_disc
from digitizer.tools import ffmpeg as ff
from digitizer.tools import makemkv, run

NAME = "bluray"
STEPS = ("rip", "transcode", "insert")
RIP_SUFFIX = ".mkv"
CATCH_ALL = False
RESUMES_PART = False  # a partial MKV cannot be continued: a failed rip starts over
NEEDS_NAME = True  # a movie or a show: a guessed name waits for review
IMAGE_FIRST = True  # a file system on a drive: ddrescue can image it, the rip reads that
_INDEX = "BDMV/index.bdmv"
_NAV_LIMIT = 4 << 20  # navigation files stay well under 1 MiB; a bigger one is corrupt or hostile
_META_LIMIT = 1 << 20


def recognises(fs: DiscFS) -> bool:
    return fs.exists(_INDEX)


def _names(fs: DiscFS, folder: str, suffix: str) -> list[str]:
    try:
        entries = fs.listdir(folder)
    except MissingFile:
        return []
    return sorted((e.name for e in entries if not e.is_dir and e.name.lower().endswith(suffix)),
                  key=lambda n: n.encode())


def _small(fs: DiscFS, path: str) -> bytes:
    size = fs.stat(path).size
    if size > _NAV_LIMIT:
        raise SourceError(f"{_show(fs.source)}: {path} is {size} bytes, too big for a "
                          f"navigation file")
    return fs.read(path)


def navigation_id(fs: DiscFS) -> str:
    if not fs.exists(_INDEX):
        raise SourceError(f"{_show(fs.source)} is not a Blu-ray: it has no {_INDEX}")
    paths = [_INDEX] + (["BDMV/MovieObject.bdmv"] if fs.exists("BDMV/MovieObject.bdmv") else [])
    paths += [f"BDMV/PLAYLIST/{n}" for n in _names(fs, "BDMV/PLAYLIST", ".mpls")]
    paths += [f"BDMV/CLIPINF/{n}" for n in _names(fs, "BDMV/CLIPINF", ".clpi")]
    sha = hashlib.sha1()
    for path in paths:
        data = _small(fs, path)
        name = path.rsplit("/", 1)[-1].upper().encode()
        sha.update(struct.pack(">H", len(name)) + name + struct.pack(">Q", len(data)) + data)
    return sha.hexdigest()


def thediscdb_hash(fs: DiscFS) -> str:
    md5 = hashlib.md5()
    stream = {e.name: e.size for e in fs.listdir("BDMV/STREAM") if not e.is_dir} \
        if fs.exists("BDMV/STREAM") else {}
    for name in _names(fs, "BDMV/STREAM", ".m2ts"):
        md5.update(struct.pack("<q", stream[name]))
    return md5.hexdigest().upper()


def aacs_id(fs: DiscFS) -> str | None:
    for path in ("AACS/Unit_Key_RO.inf", "AACS/DUPLICATE/Unit_Key_RO.inf"):
        if fs.exists(path):
            return hashlib.sha1(_small(fs, path)).hexdigest().upper()
    return None


def read_ids(fs: DiscFS) -> dict:
    ids = {"bdmv_nav_sha1": navigation_id(fs), "thediscdb": thediscdb_hash(fs),
           "aacs": aacs_id(fs)}
    return {"fingerprint": ids["bdmv_nav_sha1"], "ids": ids}


def disc_title(fs: DiscFS) -> str | None:
    """The disc's title from BDMV/META/DL/bdmt_<lang>.xml (English first), or None.

    Text as the studio wrote it: callers treat it as data. A file that does not parse is
    ignored, like a player ignores it."""
    files = _names(fs, "BDMV/META/DL", ".xml")
    files = [n for n in files if re.fullmatch(r"bdmt_[a-z]{3}\.xml", n, re.I)]
    files.sort(key=lambda n: (n.lower() != "bdmt_eng.xml", n))
    for name in files:
        path = f"BDMV/META/DL/{name}"
        if fs.stat(path).size > _META_LIMIT:
            continue
        try:
            root = ElementTree.fromstring(fs.read(path))
        except ElementTree.ParseError:
            continue
        for element in root.iter():
            if element.tag.rsplit("}", 1)[-1] == "name" and (element.text or "").strip():
                return " ".join(element.text.split())
    return None


# ---------------------------------------------------------------- encryption
_UNIT = 6144  # an aligned unit: 32 source packets of 192 bytes; AACS encrypts all but 16 bytes


def encryption(fs: DiscFS, clip: str | None = None) -> str | None:
    """"aacs" when the disc's clips are encrypted, else None. A disc may carry an AACS folder
    and still hold clear clips (discs pressed without keys, home-authored discs): the first
    aligned unit of a clip decides, as a clear transport stream has a sync byte (0x47) after
    every 4-byte header, which encrypted bytes do not."""
    if not (fs.exists("AACS") or fs.exists("BDMV/BDMV/AACS")):
        return None
    clips = [clip] if clip else [n[:-5] for n in _names(fs, "BDMV/STREAM", ".m2ts")][:1]
    for name in clips:
        head = fs.read(f"BDMV/STREAM/{name}.m2ts", _UNIT)
        if len(head) == _UNIT and any(head[k * 192 + 4] != 0x47 for k in range(32)):
            return "aacs"
    return None


_DECRYPT_HINT = ("the disc is AACS-encrypted: install MakeMKV and set `makemkvcon` in the "
                 "config to rip it through MakeMKV, or decrypt it (libaacs and a KEYDB.cfg) "
                 "and give digitizer the decrypted folder or image")


# ---------------------------------------------------------------- scan

def _clip_sizes(fs: DiscFS) -> dict[str, int]:
    if not fs.exists("BDMV/STREAM"):
        return {}
    return {e.name[:-5].upper(): e.size for e in fs.listdir("BDMV/STREAM")
            if not e.is_dir and e.name.lower().endswith(".m2ts")}


def title_from_playlist(number: int, playlist: bdmv.Playlist, sizes: dict[str, int]) -> dict:
    """One playlist as digitizer's title: the keys roles.assign reads (title, duration,
    chapters, segments, size) and what rip needs (streams with their PIDs, the clips)."""
    streams = playlist.streams
    video = next((s for s in streams if s.kind == "video"), None)
    width, height, interlaced = bdmv.VIDEO_FORMATS.get(video.video_format if video else None,
                                                       (None, None, None))
    rate = bdmv.FRAME_RATES.get(video.frame_rate if video else None)
    audio = [{"index": k, "pid": s.pid, "codec": s.codec, "channels": s.channels,
              "lang": s.language or "und"}
             for k, s in enumerate(x for x in streams if x.kind == "audio")]
    subtitles = [{"index": k, "pid": s.pid, "codec": s.codec, "lang": s.language or "und"}
                 for k, s in enumerate(x for x in streams if x.kind == "subtitle"
                                       and x.codec == "hdmv_pgs_subtitle")]
    # A clip's bytes for each item that plays it: an estimate (an item may play part of a
    # clip) that errs on the large side, which is the side space checks want.
    size = sum(sizes.get(item.clip.upper(), 0) for item in playlist.items)
    return {
        "title": number,
        "source_file": f"{number:05d}.mpls",  # how TheDiscDb and MakeMKV name a Blu-ray title
        "playlist": f"{number:05d}",
        "duration": round(playlist.seconds, 3),
        "chapters": list(playlist.chapters) or [0.0],
        "segments": [[c, a, b] for c, a, b in playlist.segments] or None,
        "video": {"width": width, "height": height, "codec": video.codec if video else None,
                  "pid": video.pid if video else None, "frame_rate": rate,
                  "fps": round(_rate(rate), 3) if rate else None, "interlaced": interlaced},
        "angles": 1 + max((len(i.angles) for i in playlist.items), default=0),
        "audio": audio,
        "subtitles": subtitles,
        "size": size,
        "items": [{"clip": i.clip, "in": i.in_time, "out": i.out_time} for i in playlist.items],
    }


def _rate(text: str) -> float:
    num, _, den = text.partition("/")
    return int(num) / int(den or 1)


def read_titles(fs: DiscFS) -> list[dict]:
    sizes = _clip_sizes(fs)
    titles = []
    for name in _names(fs, "BDMV/PLAYLIST", ".mpls"):
        if not re.fullmatch(r"\d{5}\.mpls", name, re.I):
            continue  # players only play playlists with five-digit names
        try:
            playlist = bdmv.parse(_small(fs, f"BDMV/PLAYLIST/{name}"))
        except bdmv.PlaylistError as exc:
            warn(f"{_show(fs.source)}: playlist {name} skipped: {exc}")
            continue
        if playlist.items:
            titles.append(title_from_playlist(int(name[:5]), playlist, sizes))
    return titles


def scan(source: str, cfg) -> dict:
    with open_disc(source) as fs:
        titles = read_titles(fs)
        disc = {"name": disc_title(fs), "playlists": len(titles),
                "encrypted": encryption(fs)}
    if disc["encrypted"]:
        warn(f"{_show(source)}: {_DECRYPT_HINT}")
    return {"disc": disc, "titles": titles, "tool_versions": {}}


def probe(source: str, title: dict, cfg) -> None:
    """Nothing to measure: a Blu-ray's playlist says whether its video is interlaced."""


def assign_roles(titles: list[dict], cfg) -> None:
    roles.assign(titles, cfg.min_title_seconds)
    roles.mark_parts(titles)
    roles.mark_decoys(titles)


def title_sectors(fs: DiscFS, title: dict) -> list[tuple[int, int]] | None:
    """The disc sectors a title's rip reads: its clips and its playlist."""
    spans = []
    paths = [f"BDMV/STREAM/{c}.m2ts" for c in {i["clip"] for i in title.get("items") or []}]
    for path in paths + [f"BDMV/PLAYLIST/{title['title']:05d}.mpls"]:
        ranges = fs.file_ranges(path) if fs.exists(path) else None
        if ranges is None:
            return None
        spans += [(at // 2048, (at + n - 1) // 2048) for at, n in ranges]
    return spans or None


# ---------------------------------------------------------------- rip

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


def rip(source: str, title: dict, part: Path, cfg, progress) -> dict:
    """One playlist to `part`, verified (duration, every stream); the facts for its marker."""
    ffmpeg = ff.binary(cfg.ffmpeg)
    script = part.with_name(f".{part.name}.ffconcat")
    meta = part.with_name(f".{part.name}.chapters")
    with open_disc(source) as fs:
        if encryption(fs, title["items"][0]["clip"]):
            return rip_encrypted(source, fs.kind, title, part, cfg, progress)
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
    info = ff.verify(part, ffmpeg, duration=title["duration"], audio=len(title["audio"]),
                     subtitles=len(title["subtitles"]))
    return {"duration": info["duration"], "chapters": len(info["chapters"]),
            "streams": info["streams"], "scanned_duration": title["duration"],
            "playlist": title.get("source_file"),
            "lpcm_converted_to_flac": any(a["codec"] == "pcm_bluray" for a in title["audio"]),
            "tool_versions": {"ffmpeg": run.version(ffmpeg)}}


def rip_encrypted(source: str, kind: str, title: dict, part: Path, cfg, progress) -> dict:
    """An encrypted playlist through MakeMKV: its title for this playlist written into a
    scratch folder beside `part`, moved to `part`, verified like our own rips. Without
    MakeMKV, EncryptedDisc: the disc waits, nothing is written."""
    try:
        program = run.resolve(cfg.makemkvcon or "makemkvcon")
    except ToolMissing:
        raise EncryptedDisc(f"{_show(source)}: {_DECRYPT_HINT}") from None
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
    ffmpeg = ff.binary(cfg.ffmpeg)
    info = ff.verify(part, ffmpeg, duration=title["duration"], audio=len(title["audio"]),
                     subtitles=len(title["subtitles"]))
    return {"duration": info["duration"], "chapters": len(info["chapters"]),
            "streams": info["streams"], "scanned_duration": title["duration"],
            "playlist": title.get("source_file"), "decrypted_by": "makemkvcon",
            "makemkv_title": index,
            "tool_versions": {"ffmpeg": run.version(ffmpeg),
                              "makemkvcon": listing.version() or "unknown"}}


def library_root(cfg) -> Path:
    return cfg.path_of("library")


def library_path(library: Path, name, item: dict, episode: int | None,
                 extra_type: str) -> Path:
    return names.video_path(library, name, item, episode=episode, extra_type=extra_type)
