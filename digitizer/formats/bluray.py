"""Blu-ray (BDMV): everything digitizer knows about the format (index.bdmv, playlists, clips,
AACS) lives here and in formats/bdmv.py (the playlist parser), behind the interface of
formats/__init__.

A title is a playlist, numbered by its file (``00800.mpls`` is title 800). Its duration,
chapters, streams and languages come from the playlist; its ``segments`` are the clips it
plays with their in/out times, so roles can tell a play-all, a duplicate, the feature's own
clips listed on their own and decoys (the same clips in another order) apart.

The rip (formats/bdrip.py) reads each byte of a title once, straight from the disc, through
ffmpeg's concat demuxer fed by this parse: ffmpeg's own `bluray:` protocol refuses discs whose
playlists are all under 180 s, tags no language, writes no chapter, loses audio frames at clip
joins and failed on a mid-clip start; mkvmerge reads playlists only from an extracted folder
(disc-sized scratch space, every byte read twice).

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
import re
import struct
from pathlib import Path
from typing import TYPE_CHECKING

from digitizer.errors import SourceError, warn
from digitizer.formats.discfs import DiscFS, MissingFile, _show, open_disc

if TYPE_CHECKING:
    from digitizer.formats import bdmv

# Only what detect and fingerprint need is imported here (their start-up is measured): the
# playlist parser, roles, names and the rip are imported by the functions that use them.

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
    from xml.etree import ElementTree

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


DECRYPT_HINT = ("the disc is AACS-encrypted: install MakeMKV and set `makemkvcon` in the "
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
    from digitizer.formats import bdmv

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
    from digitizer.formats import bdmv

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
        warn(f"{_show(source)}: {DECRYPT_HINT}")
    return {"disc": disc, "titles": titles, "tool_versions": {}}


def probe(source: str, title: dict, cfg) -> None:
    """Nothing to measure: a Blu-ray's playlist says whether its video is interlaced."""


def assign_roles(titles: list[dict], cfg, kind: str | None = None) -> None:
    from digitizer import roles

    roles.assign(titles, cfg.min_title_seconds, kind)
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


# ---------------------------------------------------------------- manifest
# The Blu-ray parts of an Optical Disc Manifest v1 (TheDiscDb/optical-disc-manifest): the
# file inventory is every file on the disc; a title is its playlist's path, its segments the
# clips it plays (in and out on the clip's time line), streams as the playlist declares them.
_ODM_CODECS = {"mpeg1video": "MPEG-1", "mpeg2video": "MPEG-2", "h264": "AVC",
               "h264_mvc": "MVC", "hevc": "HEVC", "vc1": "VC-1", "mp1": "MPEG Audio",
               "mp2": "MPEG Audio", "pcm_bluray": "LPCM", "ac3": "AC-3", "eac3": "E-AC-3",
               "dts": "DTS", "truehd": "TrueHD", "hdmv_pgs_subtitle": "PGS"}


def _files(fs: DiscFS, folder: str = "") -> list[dict]:
    out = []
    for e in sorted(fs.listdir(folder), key=lambda e: e.name.encode("utf-8", "surrogateescape")):
        path = f"{folder}/{e.name}" if folder else e.name
        out += _files(fs, path) if e.is_dir else [{"path": path, "sizeBytes": e.size}]
    return out


def manifest_disc(fs: DiscFS, ids: dict, titles: list[dict]) -> dict:
    from digitizer.formats import bdmv

    identifiers = [{"kind": "thediscdb-content-hash", "value": ids["thediscdb"]}]
    if ids.get("aacs"):
        identifiers.insert(0, {"kind": "aacs-disc-id", "value": ids["aacs"]})
    uhd = any(((t.get("video") or {}).get("height") or 0) > 1080 for t in titles)
    disc = {"format": "uhd-blu-ray" if uhd else "blu-ray"}
    name = disc_title(fs)
    if name:
        disc["name"] = name[:255]
    disc.update(identifiers=identifiers, files=_files(fs),
                titles=[_manifest_title(t, bdmv.CLOCK) for t in titles])
    return disc


def _codec(name: str | None) -> str:
    return _ODM_CODECS.get(name or "", name or "unknown")


def _manifest_title(t: dict, clock: int) -> dict:
    starts = t.get("chapters") or []
    ends = starts[1:] + [t["duration"]]
    video = t.get("video") or {}
    streams = []
    if video.get("codec"):
        stream = {"type": "video", "codec": _codec(video["codec"])}
        if video.get("width") and video.get("height"):
            stream["resolution"] = f"{video['width']}x{video['height']}"
        if video.get("fps"):
            stream["frameRate"] = video["fps"]
        if video.get("interlaced") is not None:
            stream["isInterlaced"] = bool(video["interlaced"])
        streams.append(stream)
    for kind, found in (("audio", t.get("audio")), ("subtitle", t.get("subtitles"))):
        for a in found or []:
            stream = {"type": kind, "codec": _codec(a.get("codec"))}
            if a.get("lang") and a["lang"] != "und":
                stream["language"] = a["lang"]
            if a.get("channels"):
                stream["audioLayout"] = f"{a['channels']} channels"
            streams.append(stream)
    return {"source": {"path": f"BDMV/PLAYLIST/{t['title']:05d}.mpls"},
            "durationSeconds": t["duration"], "sizeBytes": t.get("size") or 0,
            "chapterCount": len(starts),
            "chapters": [{"startSeconds": a, "durationSeconds": round(max(b - a, 0.0), 3)}
                         for a, b in zip(starts, ends)],
            "segments": [{"clip": i["clip"], "startSeconds": round(i["in"] / clock, 3),
                          "durationSeconds": round((i["out"] - i["in"]) / clock, 3)}
                         for i in t.get("items") or []],
            "streams": streams}


# ---------------------------------------------------------------- rip
# The rip route and the MakeMKV backend are in formats/bdrip.py, imported when a title is
# ripped: detect and fingerprint never pay for ffmpeg's and MakeMKV's modules.

def rip(source: str, title: dict, part: Path, cfg, progress) -> dict:
    from digitizer.formats import bdrip

    with open_disc(source) as fs:
        if encryption(fs, title["items"][0]["clip"]):
            return bdrip.rip_encrypted(source, fs.kind, title, part, cfg, progress,
                                       DECRYPT_HINT)
        return bdrip.rip(fs, title, part, cfg, progress)


def library_root(cfg) -> Path:
    return cfg.path_of("library")


def library_path(library: Path, name, item: dict, episode: int | None,
                 extra_type: str) -> Path:
    from digitizer import names

    return names.video_path(library, name, item, episode=episode, extra_type=extra_type)
