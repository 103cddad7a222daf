"""Audio CD: everything digitizer knows about CD-DA (TOCs, CUE sheets, CD-TEXT, disc ids,
AccurateRip) lives here, behind the interface of formats/__init__.

Sources
-------
An audio CD has no file system, so this format opens its sources itself (``open_source``): a
CUE sheet (with its BIN files) is parsed by formats/cuesheet.py; a drive whose kernel disc
status says audio or mixed has its whole TOC read from the kernel (cdread.read_toc: data
tracks too, which ``cd-paranoia -Q`` leaves out), else from ``cd-paranoia -Q``. Both give the same
``AudioDisc``: tracks with their start sector (INDEX 01, 0-based LBA), length, pregap
(INDEX 00), type, pre-emphasis, ISRC and CD-TEXT, and the lead-out. A track's length runs
to the next track's INDEX 01, so a pregap is ripped as the end of the previous track (the
EAC/whipper default) and the tracks add up to the disc exactly; audio before track 1's
INDEX 01 (hidden track one audio) is reported, not ripped.

Ids
---
``musicbrainz`` (primary, 28 characters), ``freedb`` (8 hex digits), ``accuraterip``
(``NNN-id1-id2-freedb``) and ``dbar`` (the dBAR file's path on accuraterip.com): cdids.py,
which says how each counts a data track (Enhanced and mixed-mode CDs).

Checksums of a ripped track (``checksums``): the CRC32 of its PCM (EAC's copy CRC), and
AccurateRip v1 and v2 over 32-bit samples ``L | R << 16`` with multipliers counting from 1,
skipping the first 5 x 588 - 1 samples of the first track and the last 5 x 588 of the last
(ARver's, whipper's and CUETools' definition). numpy does it at ~1 GB/s; pure Python takes
~37 s for a 70-minute CD.
"""

from __future__ import annotations

import os
import re
import stat
import zlib
from pathlib import Path

from digitizer import drives
# ffmpeg, cd-paranoia, AccurateRip, MusicBrainz and names are imported by the functions that
# use them: detect and fingerprint (whose start-up is measured) need none of them.
from digitizer.errors import SourceError, VerificationFailed
# album_files is this format's hook for insert (the CUE and log beside an album); the CUE
# text both ways lives in cuesheet.py
from digitizer.formats.cuesheet import (SECTOR, AudioDisc, Track, album_files,  # noqa: F401
                                        parse_cue)
# the ids of a TOC (MusicBrainz, freedb, AccurateRip) live in cdids.py
from digitizer.formats.cdids import (SESSION_GAP, accuraterip_ids, disc_ids,  # noqa: F401
                                     freedb_id, musicbrainz_id)

NAME = "cd"
STEPS = ("rip", "insert")
RIP_SUFFIX = ".flac"
CATCH_ALL = False
RESUMES_PART = False  # a track is read again whole: its two reads must be compared
NEEDS_NAME = True  # an album: a guessed name waits for review
TITLE_WORD = "track"  # progress says "rip track 3", as people call a CD's titles
# Facts of a track's rip marker that insert passes to library_path and keeps in its marker.
KEPT_FACTS = ("index", "ar_index", "track_title", "track_artist", "track_total", "disc_number", "disc_total",
              "sectors", "pregap", "date", "compilation",
              "isrc", "test_crc32", "copy_crc32", "crc32", "accuraterip_v1",
              "accuraterip_v2", "accuraterip", "ids", "album", "album_artist", "year",
              "verified_by", "read_count", "read_offset", "read_offset_source", "drive")

_CUE_LIMIT = 1 << 20  # a CUE sheet is a few KiB; anything this big is not one


def _is_cue(path: str) -> bool:
    return path.lower().endswith(".cue")


def open_source(source: str) -> AudioDisc | None:
    """The audio disc at `source`, or None when it is not one (a DVD, a folder, ...)."""
    if _is_cue(source) and os.path.isfile(source):
        with open(source, "rb") as f:
            raw = f.read(_CUE_LIMIT + 1)
        if len(raw) > _CUE_LIMIT:
            raise SourceError(f"{source} is too big to be a CUE sheet")
        text = raw.decode("utf-8-sig", errors="replace")
        disc = parse_cue(text, Path(source).parent)
        disc.source, disc.bytes_read = source, len(raw)
        return disc
    try:
        is_block = stat.S_ISBLK(os.stat(source).st_mode)
    except OSError:
        return None
    if is_block:
        status, kind = drives.drive_status(source)
        if status == "disc" and kind in ("audio", "mixed"):
            return from_drive(source)
    return None


def from_drive(source: str, program: str = "cd-paranoia") -> AudioDisc:
    """The TOC of a CD in a drive: the kernel's whole TOC (data tracks and the real
    lead-out too, which the ids of Enhanced and mixed-mode CDs need), else the audio
    tracks cd-paranoia reports."""
    from digitizer.formats import cdread

    toc = cdread.read_toc(source)
    if toc is not None and toc[0]:
        rows, leadout = toc
        ends = [r["start"] for r in rows[1:]] + [leadout]
        tracks = []
        for r, end in zip(rows, ends):
            if not r["data"] and end != leadout and rows[len(tracks) + 1]["data"] and \
                    end - r["start"] > SESSION_GAP:
                end -= SESSION_GAP  # the audio session ends before the data session's gap
            tracks.append(Track(r["number"], r["start"], end - r["start"], audio=not r["data"],
                                preemphasis=r["preemphasis"]))
        return AudioDisc(source, "drive", tracks, leadout,
                         htoa=tracks[0].start if tracks[0].audio else 0)
    from digitizer.tools import cdparanoia

    rows = cdparanoia.query(source, program)
    tracks = [Track(r["number"], r["start"], r["length"], preemphasis=r["preemphasis"])
              for r in rows]
    return AudioDisc(source, "drive", tracks, rows[-1]["start"] + rows[-1]["length"],
                     htoa=rows[0]["start"])


def recognises(fs) -> bool:
    return isinstance(fs, AudioDisc)


# ---------------------------------------------------------------- ids

def read_ids(fs: AudioDisc) -> dict:
    ids = disc_ids(fs)
    return {"fingerprint": ids["musicbrainz"], "ids": ids}


# ---------------------------------------------------------------- scan

def scan(source: str, cfg) -> dict:
    """Every audio track, named by MusicBrainz (when configured and it answers), else by
    the disc's CD-TEXT, else left for the review gate."""
    from digitizer.services import musicbrainz
    from digitizer.tools import run

    disc = open_source(source)
    if disc is None:
        raise SourceError(f"{source} is not an audio CD or a CUE sheet")
    audio = [t for t in disc.tracks if t.audio]
    ids = disc_ids(disc)
    mb = musicbrainz.lookup(cfg, ids["musicbrainz"])
    if mb:
        album = dict(mb, name_source="musicbrainz")
    elif disc.title:
        album = {"album": disc.title, "album_artist": disc.performer or None,
                 "name_source": "cdtext", "compilation": False, "tracks": {}}
    else:
        album = {"tracks": {}, "name_source": None, "compilation": False}
    titles = []
    for i, t in enumerate(audio):
        named = album["tracks"].get(t.number) or {}
        titles.append({
            "title": t.number, "role": "main", "duration": round(t.length / 75, 3),
            "chapters": [0.0], "segments": [[t.start, t.start + t.length - 1]],
            "size": t.length * SECTOR, "start": t.start, "sectors": t.length,
            "pregap": t.pregap, "preemphasis": t.preemphasis, "isrc": t.isrc,
            "track_title": named.get("title") or t.title,
            "track_artist": named.get("artist") or t.performer or album.get("album_artist"),
            "index": i, "first": i == 0, "last": i == len(audio) - 1,
            # AccurateRip's entries count from the disc's first track, data or not
            "ar_index": t.number - disc.tracks[0].number,
            "track_total": len(audio), "album": album.get("album"),
            "album_artist": album.get("album_artist"), "date": album.get("date"),
            "year": album.get("year"), "compilation": bool(album.get("compilation")),
            "disc_number": album.get("disc_number") or 1,
            "disc_total": album.get("disc_total") or 1,
            "name_source": album["name_source"], "ids": ids})
    info = {"tracks": len(disc.tracks), "audio_tracks": len(audio),
            "data_tracks": [t.number for t in disc.tracks if not t.audio],
            "leadout": disc.leadout, "hidden_track_one_audio": disc.htoa,
            "cdtext": {"title": disc.title, "performer": disc.performer,
                       "tracks": {t.number: t.title for t in audio if t.title}},
            "musicbrainz_release": (mb or {}).get("release_id")}
    return {"disc": info, "titles": titles,
            "tool_versions": {"cd-paranoia": run.version(cfg.cd_paranoia)}}


def assign_roles(titles: list[dict], cfg, kind: str | None = None) -> list[dict]:
    """Every audio track is part of the album, however short."""
    for t in titles:
        t["role"] = "main"
    return titles


def probe(source: str, title: dict, cfg) -> None:
    """Nothing only decoding tells: the TOC says it all."""


def disc_name(titles: list[dict]):
    """The album's name from MusicBrainz or CD-TEXT when the scan found one, else an
    uncertain placeholder for the review gate."""
    from digitizer import names

    first = titles[0] if titles else {}
    if not (first.get("album") and first.get("name_source")):
        # A guess, so the review gate holds the album and suggests an album's name.
        return names.Name("album", "Unknown Artist - Unknown Album", source="label")
    artist = names.VARIOUS_ARTISTS if first.get("compilation") else \
        (first.get("album_artist") or "Unknown Artist")
    year = f" ({first['year']})" if first.get("year") else ""
    return names.Name("album", f"{artist} - {first['album']}{year}",
                      source=first["name_source"])


# ---------------------------------------------------------------- checksums

def checksums(pcm: bytes, first: bool, last: bool) -> dict:
    """CRC32 and AccurateRip v1/v2 of one track's PCM (see the module docstring)."""
    import numpy as np

    samples = np.frombuffer(pcm[:len(pcm) - len(pcm) % 4], dtype="<u4").astype(np.uint64)
    n = len(samples)
    mult = np.arange(1, n + 1, dtype=np.uint64)
    lo = 5 * 588 - 1 if first else 0  # multipliers from 2940 count on the first track
    hi = n - 5 * 588 if last else n
    prod = samples[lo:hi] * mult[lo:hi]
    v1 = int((prod & 0xFFFFFFFF).sum() & 0xFFFFFFFF) if hi > lo else 0
    v2 = int(((prod & 0xFFFFFFFF).sum() + (prod >> 32).sum()) & 0xFFFFFFFF) if hi > lo else 0
    return {"crc32": "%08X" % zlib.crc32(pcm), "accuraterip_v1": "%08X" % v1,
            "accuraterip_v2": "%08X" % v2}


# ---------------------------------------------------------------- rip

def tags(title: dict) -> dict:
    from digitizer import names

    out = {"TITLE": title.get("track_title") or f"Track {title['title']}",
           "ARTIST": title.get("track_artist") or title.get("album_artist"),
           "ALBUM": title.get("album"),
           "ALBUMARTIST": names.VARIOUS_ARTISTS if title.get("compilation")
           else title.get("album_artist"),
           "TRACKNUMBER": str(title["title"]), "TRACKTOTAL": str(title.get("track_total")),
           "DISCNUMBER": str(title.get("disc_number") or 1),
           "DISCTOTAL": str(title.get("disc_total") or 1), "DATE": title.get("date"),
           "ISRC": title.get("isrc"),
           "MUSICBRAINZ_DISCID": (title.get("ids") or {}).get("musicbrainz"),
           "COMPILATION": "1" if title.get("compilation") else None}
    return {k: v for k, v in out.items() if v}


def encode_argv(ffmpeg: str, pcm: Path, part: Path, tag: dict) -> list[str]:
    from digitizer.tools import ffmpeg as ff

    argv = [ffmpeg, "-hide_banner", "-nostdin", "-y", "-v", "error",
            "-f", "s16le", "-ar", "44100", "-ac", "2", "-i", ff.url(pcm)]
    for k, v in tag.items():
        argv += ["-metadata", f"{k}={v}"]
    return argv + ["-c:a", "flac", "-fflags", "+bitexact", "-flags:a", "+bitexact",
                   "-f", "flac", ff.url(part)]


def decode_argv(ffmpeg: str, flac: Path, out: Path) -> list[str]:
    from digitizer.tools import ffmpeg as ff

    return [ffmpeg, "-hide_banner", "-nostdin", "-y", "-v", "error", "-i", ff.url(flac),
            "-f", "s16le", "-c:a", "pcm_s16le", ff.url(out)]


def read_setup(source: str, cfg, catalog) -> dict:
    """What reading every track of the disc needs, found once a disc (the rip step merges
    it into each title): the TOC, and the read offset with where it came from."""
    disc = open_source(source)
    if disc is None:
        raise SourceError(f"{source} is not an audio CD or a CUE sheet")
    offset, origin, drive = read_offset_of(source, disc, cfg, catalog)
    return {"toc": [{"number": t.number, "start": t.start, "length": t.length,
                     "audio": t.audio} for t in disc.tracks],
            "read_offset": offset, "read_offset_source": origin, "drive": drive}


def read_offset_of(source: str, disc: AudioDisc, cfg, catalog) -> tuple[int, str, str | None]:
    """(offset in samples, where it came from, the drive's name): `read_offset` (config or
    --read-offset) > the drive's `[drives."VENDOR MODEL"]` > AccurateRip's drive offset
    list (fetched once, kept in the catalog) > unknown (0, and the marker says so). An
    image is read as it is (0) unless told."""
    if cfg.read_offset != "":
        return int(cfg.read_offset), "option", None
    if disc.kind != "drive":
        return 0, "image", None
    name = drives.drive_name(source)
    configured = cfg.drive_offset(name)
    if configured is not None:
        return configured, "config", name
    from digitizer.services import accuraterip

    known = accuraterip.drive_offset(accuraterip.drive_offsets(cfg, catalog), name) \
        if name else None
    if known is not None:
        return known, "accuraterip", name
    from digitizer.errors import warn

    warn(f"{source}: the read offset of {name or 'this drive'} is unknown (not in the config, "
         f"not in AccurateRip's drive list): read uncorrected, its rips will not match "
         f"AccurateRip; `digitizer offset find {source} --save` finds it")
    return 0, "unknown", name


def rip(source: str, title: dict, part: Path, cfg, progress) -> dict:
    """One track to a FLAC `part`: secure read (formats/cdread.py), encode, decode back
    and compare."""
    from digitizer.formats import cdread
    from digitizer.tools import ffmpeg as ff
    from digitizer.tools import run

    ffmpeg = ff.binary(cfg.ffmpeg)
    if "toc" not in title:  # ripped on its own: the track alone, as the disc's TOC says
        title = dict(title, **read_setup(source, cfg, None))

    def verdict_of(pcm: bytes) -> tuple[dict, dict]:
        sums = checksums(pcm, title.get("first", False), title.get("last", False))
        return sums, verify_track(title, sums, cfg)

    pcm, how = cdread.secure_read(source, title, part, cfg, verdict_of)
    progress(title["duration"] / 2)
    sums, verified = how["checksums"], how["verdict"]
    raw = part.with_name(f".{part.name}.pcm")
    back = part.with_name(f".{part.name}.back")
    try:
        raw.write_bytes(pcm)
        run.run(encode_argv(ffmpeg, raw, part, tags(title)))
        run.run(decode_argv(ffmpeg, part, back))
        if zlib.crc32(back.read_bytes()) != zlib.crc32(pcm):
            raise VerificationFailed(f"track {title['title']}: the FLAC does not decode to "
                                     "the audio read")
    finally:
        raw.unlink(missing_ok=True)
        back.unlink(missing_ok=True)
    progress(title["duration"])
    return {"duration": title["duration"], "track": title["title"],
            **{k: title.get(k) for k in KEPT_FACTS if k in title}, "reads": how["reads"],
            "test_crc32": how["test_crc32"], "copy_crc32": how["copy_crc32"],
            "verified_by": how["verified_by"], "read_count": how["read_count"],
            **sums, "accuraterip": verified, "samples": len(pcm) // 4,
            "tool_versions": {"cd-paranoia": run.version(cfg.cd_paranoia),
                              "ffmpeg": run.version(ffmpeg)}}


def library_root(cfg) -> Path:
    return cfg.path_of("library")


def verify_track(title: dict, sums: dict, cfg, catalog=None) -> dict:
    """The AccurateRip verdict of one ripped track (services/accuraterip.py); the dBAR file
    is kept in the catalog, so a disc is fetched once."""
    from digitizer.services import accuraterip

    ids = title.get("ids") or {}
    if not ids.get("dbar"):
        return {"status": accuraterip.NOT_VERIFIED, "reason": "the disc has no AccurateRip id"}
    chunks, why = accuraterip.fetch(cfg, ids["dbar"], catalog)
    _, id1, id2, fd = ids["accuraterip"].split("-")
    index = title.get("ar_index", title.get("index", title["title"] - 1))
    return accuraterip.verdict(chunks, index, sums["accuraterip_v1"], sums["accuraterip_v2"],
                               (int(id1, 16), int(id2, 16), int(fd, 16)), why)


def retag_argv(ffmpeg: str, src: Path, out: Path, tag: dict) -> list[str]:
    from digitizer.tools import ffmpeg as ff

    argv = [ffmpeg, "-hide_banner", "-nostdin", "-y", "-v", "error", "-i", ff.url(src),
            "-map", "0", "-c", "copy", "-map_metadata", "-1"]
    for k, v in tag.items():
        argv += ["-metadata", f"{k}={v}"]
    return argv + ["-fflags", "+bitexact", "-f", "flac", ff.url(out)]


def retag(path: Path, info: dict, name, ffmpeg: str = "") -> dict | None:
    """Before insert: when the album's name is not the one the track was tagged with (a
    name approved in review, or corrected), rewrite its tags from the name (the audio is
    copied, not re-encoded). Returns the rip facts to keep in its marker, None when the
    tags were right."""
    from digitizer.tools import ffmpeg as ff
    from digitizer import names
    from digitizer.tools import run

    if getattr(name, "kind", None) != "album":
        return None
    artist, album = names.album_parts(name)
    album = re.sub(r"\s*\(\d{4}\)$", "", album)
    compilation = artist == names.VARIOUS_ARTISTS
    if (info.get("album"), info.get("album_artist"), info.get("year")) == \
            (album, artist, name.year) and bool(info.get("compilation")) == compilation:
        return None
    facts = dict(info, album=album, album_artist=artist, year=name.year,
                 date=str(name.year) if name.year else info.get("date"),
                 compilation=compilation)
    if not info.get("track_artist") or info.get("track_artist") == info.get("album_artist"):
        facts["track_artist"] = artist
    binary = ff.binary(ffmpeg)
    tmp = path.with_name(f".{path.name}.retag.part")
    try:
        run.run(retag_argv(binary, path, tmp, tags(dict(facts, title=info["title"]))))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return facts


def verified(info: dict) -> str:
    """A track's verdict as whipper prints it, with how it was read: "accurate
    (confidence 5, v2), read once", "mismatch, test and copy", "not verified: WHY, ..."."""
    from digitizer.services import accuraterip

    how = {"accuraterip": "read once", "test and copy": "test and copy"}.get(
        info.get("verified_by"), "test and copy")
    return f"{accuraterip.describe(info.get('accuraterip') or {})}, {how}"


def verify(info: dict, cfg) -> dict:
    """`digitizer verify` of one track's marker: AccurateRip asked again."""
    from digitizer.services import accuraterip

    title = {"title": info["title"], "ids": info.get("ids"),
             "index": info.get("index", info["title"] - 1)}
    if "ar_index" in info:
        title["ar_index"] = info["ar_index"]
    sums = {"accuraterip_v1": info.get("accuraterip_v1"),
            "accuraterip_v2": info.get("accuraterip_v2")}
    if not (sums["accuraterip_v1"] and sums["accuraterip_v2"]):
        raise SourceError(f"{info.get('file')}: its marker has no AccurateRip checksums")
    verdict = verify_track(title, sums, cfg)
    return {"facts": {"accuraterip": verdict}, "verdict": accuraterip.describe(verdict),
            "status": verdict["status"], "failed": verdict["status"] == "mismatch"}


def library_path(library: Path, name, item: dict, episode: int | None,
                 extra_type: str) -> Path:
    from digitizer import names

    return names.music_path(library, name, item)
