"""DVD-Video: everything digitizer knows about the format (IFOs, VIDEO_TS, cells, the
dvdvideo demuxer, NTSC timing, LPCM) lives here, behind the interface of formats/__init__.

Ids
---
Computed from a DiscFS (drive, image or folder alike). ``dvd_ids(fs)`` returns three ids. Only the first is digitizer's key; the others exist so
that a disc can be looked up in other people's databases.

``dvdread_md5`` (primary; 32 lower-case hex digits)
    What libdvdread's ``DVDDiscID()`` returns (dvd_reader.c, libdvdread 6.x, Debian 12 ships
    6.1.3): MD5 over the concatenated contents of ``VIDEO_TS.IFO``, ``VTS_01_0.IFO``,
    ``VTS_02_0.IFO``, ... in title-set order. The number of title sets is
    ``vmg_nr_of_title_sets`` (big-endian u16 at byte 0x3E of the VMG IFO; libdvdread falls
    back to ``VIDEO_TS.BUP`` when the IFO does not parse) and libdvdread hashes at most 10
    files, so title sets 10 and up never count, nor does a VTS IFO beyond the VMG's count.
    A missing VTS IFO is skipped. Each file contributes ``size // 2048 * 2048`` bytes: its
    size in whole 2048-byte blocks, rounded down as libdvdread <= 6.1 does (real IFOs are
    always whole blocks; libdvdread's development branch rounds up, so a damaged rip with a
    ragged IFO would hash differently there). Only IFO contents count: no names, sizes or
    dates, so the id is the same for the disc, an ISO of it and a copied VIDEO_TS folder.
    libdvdread accepts a VMG IFO only after parsing all its tables; we only check the
    ``DVDVIDEO-VMG`` magic, so we give an id to some discs libdvdread would refuse.

``dvd_crc64`` (16 lower-case hex digits, or None)
    The Windows Media Center id (IDvdInfo2::GetDiscID) as pydvdid 1.1 computes it
    (github.com/sjwood/pydvdid, ``functions.compute``): CRC-64, reflected, polynomial
    0x92C64265D32139A4, initial value 2**64-1, no final xor, fed with, for every regular file
    in ``VIDEO_TS`` sorted by name: its creation time as a Windows FILETIME truncated to whole
    seconds (u64 little-endian, 100 ns units since 1601-01-01 UTC), its size (u32
    little-endian) and its name (UTF-8, NUL-terminated); then the first 64 KiB of
    ``VIDEO_TS.IFO`` and of ``VTS_01_0.IFO``. Creation time is the directory record's
    recording time on ISO9660, the creation time of a UDF Extended File Entry, else (UDF
    1.02 File Entries have none) its modification time, and ``st_ctime`` for a folder, as
    pydvdid uses ``os.path.getctime``. Because it mixes in timestamps it is NOT stable
    between an ISO and a folder copied from it (they agree only if created in the same
    second) and not between two rips of one disc. None when a time or VTS_01_0.IFO is missing.

``thediscdb`` (32 upper-case hex digits, the format of TheDiscDb's ``ContentHash``)
    TheDiscDb's content hash (github.com/TheDiscDb/web, ImportBuddy ``DiskContentHash.
    HashMediaDisc`` + TheDiscDb.Core ``HashingExtensions.CalculateHash``): MD5 over the
    size of every file in ``VIDEO_TS`` (``Directory.GetFiles``, so regular files only, all
    of them: IFO, BUP and VOB) ordered by name, each size as an 8-byte little-endian signed
    integer; no names, dates or contents. .NET orders names with the culture comparer, which
    looks at case last; we sort by case-folded name, which for DVD names (upper case, same
    length, ``_`` and ``.`` at the same places) is plain name order. Size-only: two discs
    whose files have the same sizes collide.
    (TheDiscDb's newer code also keys DVDs by ``DvdDiscId``, the same value as our
    ``dvdread_md5`` in upper case.)
"""

from __future__ import annotations

import hashlib
import os
import struct
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

# Tools, roles and names are imported by the functions that use them: detect and
# fingerprint (whose start-up is measured) read only the IFOs.
from digitizer.errors import DamagedRead, SourceError
from digitizer.formats.discfs import DiscFS, Entry, MissingFile, _show

NAME = "dvd"
STEPS = ("rip", "transcode", "insert")
RIP_SUFFIX = ".mkv"
CATCH_ALL = False
RESUMES_PART = False  # ffmpeg cannot continue a partial MKV: a failed rip starts over
NEEDS_NAME = True  # a movie or a show: a guessed name waits for review
IMAGE_FIRST = True  # a file system on a drive: ddrescue can image it, ffmpeg rip from that

_VMG = "VIDEO_TS/VIDEO_TS.IFO"
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=timezone.utc)
_CRC64_POLY = 0x92C64265D32139A4  # reflected form, as pydvdid/Windows use it
_IFO_LIMIT = 8 << 20  # real IFOs stay well under 1 MiB; a bigger one is corrupt or hostile


def dvd_ids(fs: DiscFS) -> dict:
    """All ids of the DVD-Video in ``fs``; SourceError if it is not one."""
    if not fs.exists(_VMG):
        raise SourceError(f"{_show(fs.source)} is not a DVD-Video: it has no VIDEO_TS/VIDEO_TS.IFO")
    files = sorted((e for e in fs.listdir("VIDEO_TS") if not e.is_dir), key=lambda e: e.name)
    return {
        "dvdread_md5": dvdread_md5(fs),
        "dvd_crc64": dvd_crc64(fs, files),
        "thediscdb": thediscdb_hash(files),
    }


def primary(ids: dict) -> str:
    return ids["dvdread_md5"]


def recognises(fs: DiscFS) -> bool:
    return fs.exists(_VMG)


def read_ids(fs: DiscFS) -> dict:
    ids = dvd_ids(fs)
    return {"fingerprint": primary(ids), "ids": ids}


def _read_or_none(fs: DiscFS, path: str, limit: int | None = None) -> bytes | None:
    try:
        size = fs.stat(path).size
    except MissingFile:
        return None
    if limit is None and size > _IFO_LIMIT:
        raise SourceError(f"{_show(fs.source)}: {path} is {size} bytes, too big for an IFO")
    return fs.read(path, limit)


def _title_sets(fs: DiscFS, vmg: bytes) -> int:
    for data in (vmg, None):
        if data is None:  # like libdvdread's ifoOpen, try the backup only when the IFO fails
            data = _read_or_none(fs, "VIDEO_TS/VIDEO_TS.BUP")
        if data and len(data) >= 0x40 and data.startswith(b"DVDVIDEO-VMG"):
            return struct.unpack_from(">H", data, 0x3E)[0]
    raise SourceError(f"{_show(fs.source)}: VIDEO_TS.IFO is not a DVD-Video manager IFO")


def dvdread_md5(fs: DiscFS) -> str:
    vmg = _read_or_none(fs, _VMG)
    if vmg is None:
        raise SourceError(f"{_show(fs.source)} is not a DVD-Video: it has no VIDEO_TS/VIDEO_TS.IFO")
    md5 = hashlib.md5()
    for title in range(min(_title_sets(fs, vmg) + 1, 10)):
        data = vmg if title == 0 else _read_or_none(fs, f"VIDEO_TS/VTS_{title:02d}_0.IFO")
        if data is not None:
            md5.update(data[:len(data) - len(data) % 2048])
    return md5.hexdigest()


@lru_cache(maxsize=1)
def _crc64_tables() -> tuple:
    # Slicing-by-8 tables: pure Python bytewise CRC over 128 KiB takes ~20 ms, this ~6 ms.
    t0 = []
    for i in range(256):
        for _ in range(8):
            i = (i >> 1) ^ _CRC64_POLY if i & 1 else i >> 1
        t0.append(i)
    tables = [t0]
    for _ in range(7):
        tables.append([(v >> 8) ^ t0[v & 0xFF] for v in tables[-1]])
    return tuple(tables)


def crc64(data: bytes, crc: int = 0xFFFFFFFFFFFFFFFF) -> int:
    t0, t1, t2, t3, t4, t5, t6, t7 = _crc64_tables()
    whole = len(data) // 8
    for word in struct.unpack_from(f"<{whole}Q", data):
        b = (crc ^ word).to_bytes(8, "little")
        crc = t7[b[0]] ^ t6[b[1]] ^ t5[b[2]] ^ t4[b[3]] ^ t3[b[4]] ^ t2[b[5]] ^ t1[b[6]] ^ t0[b[7]]
    for byte in data[whole * 8:]:
        crc = (crc >> 8) ^ t0[(crc ^ byte) & 0xFF]
    return crc


def dvd_crc64(fs: DiscFS, files: list[Entry] | None = None) -> str | None:
    if files is None:
        files = sorted((e for e in fs.listdir("VIDEO_TS") if not e.is_dir), key=lambda e: e.name)
    vts1 = _read_or_none(fs, "VIDEO_TS/VTS_01_0.IFO", 65536)
    if vts1 is None:
        return None
    parts = []
    for e in files:
        if e.ctime is None:
            return None
        delta = e.ctime - _FILETIME_EPOCH
        seconds = delta.days * 86400 + delta.seconds  # whole seconds, as pydvdid truncates
        if seconds < 0:
            return None
        parts.append(struct.pack("<QI", seconds * 10_000_000, e.size & 0xFFFFFFFF))
        parts.append(e.name.encode("utf-8", "surrogateescape") + b"\0")
    parts += [fs.read(_VMG, 65536), vts1]
    return format(crc64(b"".join(parts)), "016x")


def thediscdb_hash(files: list) -> str:
    """TheDiscDb's content hash: MD5 over the sizes (8-byte little-endian) of the VIDEO_TS
    .VOB, .IFO and .BUP files, ordered by byte-wise name (optical-disc-manifest v1,
    identifiers.md). `files`: Entry objects, or (name, size) pairs."""
    md5 = hashlib.md5()
    pairs = [(e.name, e.size) if isinstance(e, Entry) else e for e in files
             if not (isinstance(e, Entry) and e.is_dir)]
    payload = [(n, size) for n, size in pairs if n.upper().endswith((".VOB", ".IFO", ".BUP"))]
    for _, size in sorted(payload, key=lambda p: p[0].encode("utf-8", "surrogateescape")):
        md5.update(struct.pack("<q", size))
    return md5.hexdigest().upper()


# ---------------------------------------------------------------- manifest
# The DVD parts of an Optical Disc Manifest v1 (TheDiscDb/optical-disc-manifest): the file
# inventory is every file under VIDEO_TS/ (and AUDIO_TS/, empty on most discs); a title is
# its number, title set and number in the set; streams as lsdvd reads them from the IFOs.
_ODM_CODECS = {"ac3": "AC-3", "lpcm": "LPCM", "mp2": "MPEG Audio", "dts": "DTS", "sdds": "SDDS"}


def manifest_disc(fs: DiscFS, ids: dict, titles: list[dict]) -> dict:
    files = []
    for folder in ("VIDEO_TS", "AUDIO_TS"):
        if fs.exists(folder):
            files += [{"path": f"{folder}/{e.name}", "sizeBytes": e.size}
                      for e in sorted(fs.listdir(folder), key=lambda e: e.name) if not e.is_dir]
    identifiers = [{"kind": "thediscdb-content-hash", "value": ids["thediscdb"]}]
    return {"format": "dvd", "identifiers": identifiers, "files": files,
            "titles": [_manifest_title(t) for t in titles]}


def _manifest_title(t: dict) -> dict:
    source = {"title": t["title"]}
    if t.get("vts"):
        source["titleSet"] = t["vts"]
    if t.get("ttn"):
        source["titleSetTitle"] = t["ttn"]
    starts = t.get("chapters") or []
    ends = starts[1:] + [t["duration"]]
    video = t.get("video") or {}
    streams = [{"type": "video", "codec": "MPEG-2",
                "resolution": f"{video.get('width')}x{video.get('height')}",
                "aspectRatio": video.get("aspect") or "4:3"}]
    for a in t.get("audio") or []:
        stream = {"type": "audio", "codec": _ODM_CODECS.get(a["codec"], a["codec"] or "unknown")}
        if a.get("lang") and a["lang"] != "und":
            stream["language"] = a["lang"]
        if a.get("channels"):
            stream["audioLayout"] = f"{a['channels']} channels"
        streams.append(stream)
    for s in t.get("subtitles") or []:
        stream = {"type": "subtitle", "codec": "VobSub"}
        if s.get("lang") and s["lang"] != "und":
            stream["language"] = s["lang"]
        streams.append(stream)
    return {"source": source, "durationSeconds": t["duration"], "sizeBytes": t.get("size") or 0,
            "chapterCount": len(starts),
            "chapters": [{"startSeconds": a, "durationSeconds": round(max(b - a, 0.0), 3)}
                         for a, b in zip(starts, ends)],
            "streams": streams}


# ---------------------------------------------------------------- scan
# lsdvd reads the IFOs (tools/lsdvd.py); its times are nominal 30 fps for NTSC, so they are
# multiplied by 1.001 to match what players and ffmpeg measure.
NTSC_FACTOR = 1.001
CODECS = {"ac3": "ac3", "lpcm": "lpcm", "mpeg1": "mp2", "mpeg2ext": "mp2", "dts": "dts",
          "sdds": "sdds"}


def _factor(track: dict) -> float:
    return NTSC_FACTOR if str(track.get("format", "")).upper() == "NTSC" else 1.0


def title_from_track(track: dict) -> dict:
    """One lsdvd track as digitizer's title: the keys roles.assign reads (title, duration,
    chapters, segments, size) and what rip needs (streams, ...)."""
    f = _factor(track)
    starts, pos = [], 0.0
    for ch in track.get("chapter", []):
        starts.append(round(pos * f, 3))
        pos += float(ch.get("length", 0))
    cells = [{"first_sector": c["first_sector"], "last_sector": c["last_sector"],
              "duration": round(float(c.get("length", 0)) * f, 3)}
             for c in track.get("cell", []) if "first_sector" in c]
    size = sum((c["last_sector"] - c["first_sector"] + 1) * 2048 for c in cells)
    audio = [{"index": a.get("ix"), "lang": (a.get("langcode") or "und").strip() or "und",
              "codec": CODECS.get(str(a.get("format", "")).strip(), str(a.get("format")).strip()),
              "channels": a.get("channels"), "frequency": a.get("frequency"),
              "stream_id": a.get("streamid"), "content": a.get("content")}
             for a in track.get("audio", [])]
    subs = [{"index": s.get("ix"), "lang": (s.get("langcode") or "und").strip() or "und",
             "stream_id": s.get("streamid"), "content": s.get("content")}
            for s in track.get("subp", [])]
    fps = float(track.get("fps") or 0)
    vts = track.get("vts")
    return {
        "title": int(track["ix"]),
        # how catalogues (TheDiscDb's SourceFile, MakeMKV) name a DVD title
        "source_file": f"{int(track['ix']):02d}",
        "duration": round(float(track.get("length", 0)) * f, 3),
        "chapters": starts or [0.0],
        # A cell is a piece of content: (title set, first sector, last sector).
        "segments": [[vts, c["first_sector"], c["last_sector"]] for c in cells] or None,
        "video": {"width": track.get("width"), "height": track.get("height"),
                  "aspect": str(track.get("aspect", "")).replace("/", ":"),
                  "standard": track.get("format"), "fps": fps,
                  "frame_rate": "30000/1001" if abs(fps - 29.97) < 0.01 else
                  ("25/1" if fps == 25 else None),
                  "interlaced": None},
        "angles": track.get("angles", 1),
        "audio": audio,
        "subtitles": subs,
        "size": size,
        "vts": vts,
        "ttn": track.get("ttn"),
        "cells": cells,
        "palette": track.get("palette"),
    }


def title_sectors(fs: DiscFS, title: dict) -> list[tuple[int, int]] | None:
    """The disc sectors that ripping `title` reads: its cells, placed where its title set's
    VOBs start (cell sectors count from there), and the IFOs. None when the VOBs are not
    one contiguous run on the disc: then any unreadable sector may be the title's."""
    vts = title.get("vts")
    start = fs.file_extent(f"VIDEO_TS/VTS_{vts:02d}_1.VOB") if vts else None
    if start is None or not title.get("cells"):
        return None
    spans = [(start[0] + c["first_sector"], start[0] + c["last_sector"])
             for c in title["cells"]]
    for name in ("VIDEO_TS/VIDEO_TS.IFO", f"VIDEO_TS/VTS_{vts:02d}_0.IFO"):
        extent = fs.file_extent(name)
        if extent is not None:
            spans.append((extent[0], extent[0] + max(1, -(-extent[1] // 2048)) - 1))
    return spans


def _input(source: str, title: int) -> list[str]:
    # dvdvideo hands its input to libdvdread verbatim, so no `file:` prefix there; an
    # absolute path cannot be taken for a protocol or an option.
    return ["-f", "dvdvideo", "-title", str(title), "-i", os.path.abspath(source)]


def environment(cfg) -> dict:
    """The environment of the programs that read a DVD: libdvdcss keeps its key cache in
    digitizer's data folder (under DIGITIZER_HOME when set), never in the user's ~/.dvdcss."""
    return dict(os.environ, DVDCSS_CACHE=str(cfg.path_of("catalog").parent / "dvdcss"))


def read_titles(source: str, program: str = "lsdvd",
                env: dict | None = None) -> tuple[dict, list[dict]]:
    """(disc-level facts, titles) of a drive, image or folder, from the IFOs only."""
    from digitizer.tools import lsdvd

    data = lsdvd.read(source, program, env)
    titles = [title_from_track(t) for t in data["track"]]
    disc = {"vmg_id": data.get("vmg_id"), "provider_id": data.get("provider_id"),
            "longest_track": data.get("longest_track")}
    return disc, titles


def scan(source: str, cfg) -> dict:
    from digitizer.tools import run

    disc, titles = read_titles(source, cfg.lsdvd, environment(cfg))
    return {"disc": disc, "titles": titles, "tool_versions": {"lsdvd": run.version(cfg.lsdvd)}}


def probe(source: str, title: dict, cfg) -> None:
    """What only decoding tells: is this title's video interlaced? (tools/ffmpeg.interlaced
    says how it is decided; a few seconds of video are read)"""
    from digitizer.tools import ffmpeg as ff

    title["video"]["interlaced"] = ff.interlaced(ff.binary(cfg.ffmpeg),
                                                 _input(source, title["title"]),
                                                 env=environment(cfg))


# ---------------------------------------------------------------- rip
# ffmpeg's dvdvideo demuxer (ffmpeg >= 7) reads the title through libdvdread in one pass
# with every stream, language tag and VobSub palette. Its NTSC chapter marks drift unless
# -preindex reads the title twice, so chapters come from the scan (IFO times x 1.001) as
# an ffmetadata input instead. LPCM cannot be stream-copied into Matroska; it becomes FLAC,
# which is lossless, and the marker says so.

def rip_argv(ffmpeg: str, source: str, title: dict, meta: Path, part: Path) -> list[str]:
    from digitizer.tools import ffmpeg as ff

    argv = [ffmpeg, "-hide_banner", "-nostdin", "-y", "-v", "error",
            *_input(source, title["title"]),
            "-f", "ffmetadata", "-i", ff.url(meta),
            "-map", "0", "-map_chapters", "1", "-c", "copy"]
    for i, a in enumerate(title.get("audio", [])):
        if a.get("codec") == "lpcm":
            argv += [f"-c:a:{i}", "flac"]
    # bitexact: no random segment UID or version strings, so a re-rip after a crash gives
    # the same bytes as an uninterrupted run.
    return argv + ["-fflags", "+bitexact", "-progress", "pipe:1", "-nostats",
                   "-f", "matroska", ff.url(part)]


def rip(source: str, title: dict, part: Path, cfg, progress) -> dict:
    """One title to `part`, verified (duration, every stream); the facts for its marker."""
    from digitizer.tools import ffmpeg as ff
    from digitizer.tools import run

    ffmpeg = ff.binary(cfg.ffmpeg)
    meta = part.with_name(f".{part.name}.chapters")
    meta.write_text(ff.chapters_metadata(title["chapters"], title["duration"]))
    unreadable, reached = False, 0.0
    try:
        with run.Process(rip_argv(ffmpeg, source, title, meta, part),
                         env=environment(cfg)) as proc:
            for stream, line in proc.lines():
                if stream == "stdout":
                    seconds = ff.progress_seconds(line)
                    reached = seconds if seconds is not None else reached
                    progress(seconds)
                elif ff.read_error(line):
                    unreadable = True
            proc.wait()
    finally:
        meta.unlink(missing_ok=True)
    if unreadable:
        # ffmpeg stops the title at the first sector it cannot read and exits 0: the rip
        # is short, and only this says why.
        raise DamagedRead(f"title {title['title']}: the disc could not be read past "
                          f"{reached:.1f} s of {title['duration']:.1f} s; clean it and run "
                          "`digitizer resume --retry`, or rip with `--image-first` to keep "
                          "what can be read")
    info = ff.verify(part, ffmpeg, duration=title["duration"],
                     audio=len(title.get("audio", [])),
                     subtitles=len(title.get("subtitles", [])))
    return {"duration": info["duration"], "chapters": len(info["chapters"]),
            "streams": info["streams"], "scanned_duration": title["duration"],
            "lpcm_converted_to_flac": any(a.get("codec") == "lpcm"
                                          for a in title.get("audio", [])),
            "tool_versions": {"ffmpeg": run.version(ffmpeg)}}


def assign_roles(titles: list[dict], cfg, kind: str | None = None) -> None:
    from digitizer import roles

    roles.assign(titles, cfg.min_title_seconds, kind)


def library_root(cfg) -> Path:
    return cfg.path_of("library")


def library_path(library: Path, name, item: dict, episode: int | None,
                 extra_type: str) -> Path:
    from digitizer import names

    return names.video_path(library, name, item, episode=episode, extra_type=extra_type)
