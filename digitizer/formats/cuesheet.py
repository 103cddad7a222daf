"""CUE sheets of audio CDs, both ways: parsing a CUE/BIN image's sheet into an ``AudioDisc``
(tracks on the disc's sector scale), and writing the CUE sheet and rip log that go beside a
ripped album in the library. formats/cd.py reads and rips the disc; this is the text around it.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

# names and accuraterip are imported where the album files are written: parsing a CUE
# sheet (detect, fingerprint) needs neither.
from digitizer.errors import SourceError

SECTOR = 2352  # bytes of audio per CD sector: 588 stereo 16-bit samples


@dataclass
class Track:
    number: int
    start: int  # INDEX 01, 0-based LBA
    length: int = 0  # sectors up to the next track's INDEX 01 (or the lead-out)
    audio: bool = True
    pregap: int = 0  # sectors of INDEX 00 before INDEX 01
    preemphasis: bool = False
    isrc: str | None = None
    title: str | None = None
    performer: str | None = None


@dataclass
class AudioDisc:
    """An audio CD or its image, open: what ``read_ids`` and ``scan`` read. Quacks like a
    DiscFS where steps look (source, kind, label, bytes_read, exists, context manager)."""

    source: str
    kind: str  # "image" | "drive"
    tracks: list[Track]
    leadout: int  # 0-based LBA of the lead-out
    title: str | None = None  # CD-TEXT
    performer: str | None = None
    htoa: int = 0  # sectors of audio before track 1's INDEX 01
    bytes_read: int = 0
    filesystem: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def label(self) -> str | None:
        if self.performer and self.title:
            return f"{self.performer} - {self.title}"
        return self.title

    def exists(self, path: str) -> bool:
        return False  # no files on an audio CD

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass


# ---------------------------------------------------------------- CUE sheets

def _msf(text: str) -> int:
    m = re.fullmatch(r"(\d+):(\d{2}):(\d{2})", text)
    if not m:
        raise SourceError(f"bad CUE time {text!r}")
    mm, ss, ff_ = (int(x) for x in m.groups())
    return (mm * 60 + ss) * 75 + ff_


def _unquote(rest: str) -> str:
    try:
        parts = shlex.split(rest)
    except ValueError:
        parts = [rest.strip('"')]
    return parts[0] if parts else ""


def parse_cue(text: str, folder: Path) -> AudioDisc:
    """A CUE sheet's tracks on the disc's sector scale (several FILEs follow each other);
    file sizes give the lead-out. Only raw BINARY files (2352-byte sectors) are read."""
    tracks: list[Track] = []
    disc = {"title": None, "performer": None}
    base = 0  # sector where the current FILE starts
    file_end = 0
    current: Track | None = None
    index0: dict[int, int] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        word, _, rest = line.partition(" ")
        word = word.upper()
        if word == "FILE":
            name = _unquote(rest)
            kind = rest.rsplit(None, 1)[-1].upper() if rest.split() else ""
            if kind != "BINARY":
                raise SourceError(f"CUE FILE {name!r} is {kind or 'untyped'}; only BINARY "
                                  "(raw CD sectors) images are read")
            path = folder / name
            if os.sep in name or name.startswith(".."):
                path = folder / os.path.basename(name)
            try:
                size = path.stat().st_size
            except OSError:
                raise SourceError(f"the CUE sheet names {name!r}, which is not beside it") from None
            base = file_end
            file_end = base + size // SECTOR
        elif word == "TRACK":
            bits = rest.split()
            if len(bits) < 2:
                raise SourceError(f"bad CUE line {line!r}")
            current = Track(int(bits[0]), -1, audio=bits[1].upper() == "AUDIO")
            tracks.append(current)
        elif word == "INDEX" and current is not None:
            num, at = rest.split()[:2]
            if int(num) == 1:
                current.start = base + _msf(at)
            elif int(num) == 0:
                index0[current.number] = base + _msf(at)
        elif word in ("TITLE", "PERFORMER"):
            key = word.lower()
            if current is None:
                disc[key] = _unquote(rest)
            else:
                setattr(current, key, _unquote(rest))
        elif word == "ISRC" and current is not None:
            current.isrc = rest.strip()
        elif word == "FLAGS" and current is not None:
            current.preemphasis = "PRE" in rest.upper().split()
    if not tracks or any(t.start < 0 for t in tracks):
        raise SourceError("the CUE sheet has no tracks (or a track without INDEX 01)")
    for t in tracks:
        if t.number in index0:
            t.pregap = t.start - index0[t.number]
    for a, b in zip(tracks, tracks[1:]):
        a.length = b.start - a.start
    tracks[-1].length = file_end - tracks[-1].start
    htoa = tracks[0].start
    return AudioDisc("", "image", tracks, file_end, disc["title"], disc["performer"], htoa)


# ---------------------------------------------------------------- beside the album

def _msf_text(sectors: int) -> str:
    return "%02d:%02d:%02d" % (sectors // 75 // 60, sectors // 75 % 60, sectors % 75)


def _quoted(text) -> str:
    return '"' + str(text or "").replace('"', "'").replace("\n", " ") + '"'


def _offset_text(track: dict) -> str:
    if "read_offset" not in track:
        return "not recorded"
    origin = {"option": "given", "config": "from the config", "accuraterip": "from "
              "AccurateRip's drive list", "image": "none: an image, read as it is",
              "unknown": "UNKNOWN: the drive is in no list, nothing corrected"}
    return f"{track['read_offset']:+d} samples ({origin.get(track.get('read_offset_source'), '')})"


def album_files(tracks: list[dict]) -> dict[str, str]:
    """A CUE sheet and a rip log for the tracks of one album in the library (their insert
    markers, any order). The CUE is EAC's "gaps appended" form: each track is a file, and
    a pregap is an INDEX 00 at the end of the previous file."""
    from digitizer.services import accuraterip
    from digitizer import names

    tracks = sorted(tracks, key=lambda t: t["title"])
    if not tracks:
        return {}
    first = tracks[0]
    ids = first.get("ids") or {}
    stem = names.safe_component(first.get("album") or "album")
    cue = []
    if ids.get("freedb"):
        cue.append(f"REM DISCID {ids['freedb'].upper()}")
    if ids.get("musicbrainz"):
        cue.append(f"REM MUSICBRAINZ_DISCID {ids['musicbrainz']}")
    if first.get("year"):
        cue.append(f"REM DATE {first['year']}")
    cue += [f"PERFORMER {_quoted(first.get('album_artist'))}",
            f"TITLE {_quoted(first.get('album'))}"]
    for i, t in enumerate(tracks):
        cue += [f"FILE {_quoted(t['file'])} WAVE", f"  TRACK {t['title']:02d} AUDIO",
                f"    TITLE {_quoted(t.get('track_title'))}",
                f"    PERFORMER {_quoted(t.get('track_artist'))}"]
        if t.get("isrc"):
            cue.append(f"    ISRC {t['isrc']}")
        cue.append("    INDEX 01 00:00:00")
        following = tracks[i + 1] if i + 1 < len(tracks) else None
        if following and following.get("pregap") and t.get("sectors"):
            cue += [f"  TRACK {following['title']:02d} AUDIO",
                    f"    INDEX 00 {_msf_text(t['sectors'] - following['pregap'])}"]
    log = [f"digitizer rip log: {first.get('album_artist') or ''} - {first.get('album') or ''}",
           f"MusicBrainz disc id: {ids.get('musicbrainz')}",
           f"freedb id: {ids.get('freedb')}", f"AccurateRip id: {ids.get('accuraterip')}",
           f"TOC: {ids.get('toc')}", f"Drive: {first.get('drive') or '-'}",
           f"Read offset correction: {_offset_text(first)}", "",
           "track  test CRC32  copy CRC32  AR v1     AR v2     verified by     AccurateRip"]
    for t in tracks:
        log.append(f"{t['title']:>5}  {t.get('test_crc32') or '-':<10}  "
                   f"{t.get('copy_crc32') or '':<10}  {t.get('accuraterip_v1', ''):<8}  "
                   f"{t.get('accuraterip_v2', ''):<8}  {t.get('verified_by') or 'test and copy':<14}"
                   f"  {accuraterip.describe(t.get('accuraterip') or {})}")
    once = sum(1 for t in tracks if t.get("verified_by") == "accuraterip")
    differ = [t["title"] for t in tracks if t.get("test_crc32") and
              t.get("test_crc32") != t.get("copy_crc32")]
    log += ["", f"{len(tracks)} track(s): {once} read once and confirmed by AccurateRip, "
                f"{len(tracks) - once} by test and copy"
                + (f"; test and copy DIFFER on track(s) {', '.join(map(str, differ))}"
                   if differ else "")]
    # The CUE names the files beside it, so it is written only with every track in place.
    total = first.get("track_total")
    out = {f"{stem}.log": "\n".join(log) + "\n"}
    if total is None or len(tracks) == total:
        out[f"{stem}.cue"] = "\n".join(cue) + "\n"
    return out
