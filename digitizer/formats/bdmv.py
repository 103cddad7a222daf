"""Blu-ray movie playlists (``BDMV/PLAYLIST/*.mpls``), parsed from their bytes.

Pure and stdlib-only: bytes in, a `Playlist` out, so it reads the same from a drive, an image
or a folder. The layout is the BD-ROM one that libbluray's ``mpls_parse.c`` documents: a
header of section addresses, the PlayList (play items: clip, in/out times on the 45 kHz
clock, angles, and the STN table of streams the item may play) and the PlayListMark section
(entry marks are the chapters). Sub-paths and extension data (PiP, 3D, UHD) are skipped by
their length fields: a title plays its main path.

Chapters are relative to the playlist: the start of the mark's play item on the playlist's
time line, plus the mark's time minus that item's in-time.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

CLOCK = 45000  # ticks per second of in/out times and marks

# STN coding types (BD-ROM part 3, stream_coding_type) -> the codec names ffprobe uses.
CODECS = {0x01: "mpeg1video", 0x02: "mpeg2video", 0x1B: "h264", 0x20: "h264_mvc",
          0x24: "hevc", 0xEA: "vc1",
          0x03: "mp1", 0x04: "mp2", 0x80: "pcm_bluray", 0x81: "ac3", 0x82: "dts",
          0x83: "truehd", 0x84: "eac3", 0x85: "dts", 0x86: "dts", 0xA1: "eac3", 0xA2: "dts",
          0x90: "hdmv_pgs_subtitle", 0x91: "hdmv_igs", 0x92: "hdmv_text_subtitle"}
# audio presentation_type -> channels (1 mono, 3 stereo, 6 multi-channel, 12 stereo+multi)
_CHANNELS = {1: 1, 3: 2, 6: 6, 12: 6}
# video_format -> (width, height, interlaced); frame_rate -> the rate as ffmpeg writes it
VIDEO_FORMATS = {1: (720, 480, True), 2: (720, 576, True), 3: (720, 480, False),
                 4: (1920, 1080, True), 5: (1280, 720, False), 6: (1920, 1080, False),
                 7: (720, 576, False), 8: (3840, 2160, False)}
FRAME_RATES = {1: "24000/1001", 2: "24/1", 3: "25/1", 4: "30000/1001", 6: "50/1",
               7: "60000/1001"}


class PlaylistError(ValueError):
    """The bytes are not a playlist this parser understands."""


@dataclass(frozen=True)
class Stream:
    kind: str  # "video", "audio", "subtitle"
    pid: int
    codec: str
    language: str | None = None  # ISO 639-2 as stored ("eng"), None for video
    channels: int | None = None
    video_format: int | None = None  # VIDEO_FORMATS key, video only
    frame_rate: int | None = None  # FRAME_RATES key, video only


@dataclass(frozen=True)
class PlayItem:
    clip: str  # "00001": BDMV/STREAM/00001.m2ts, BDMV/CLIPINF/00001.clpi
    in_time: int  # 45 kHz ticks on the clip's time line
    out_time: int
    connection: int  # 1 not seamless, 5/6 seamless
    angles: tuple[str, ...] = ()  # clips of the other angles of a multi-angle item
    streams: tuple[Stream, ...] = ()

    @property
    def seconds(self) -> float:
        return (self.out_time - self.in_time) / CLOCK


@dataclass(frozen=True)
class Playlist:
    items: tuple[PlayItem, ...]
    chapters: tuple[float, ...]  # seconds from the start of the playlist
    version: str = "0200"
    streams: tuple[Stream, ...] = field(default=())  # the first item's STN table

    @property
    def seconds(self) -> float:
        return sum(item.out_time - item.in_time for item in self.items) / CLOCK

    @property
    def segments(self) -> tuple[tuple[str, int, int], ...]:
        """The clips it plays with their in/out times: hashable, comparable between playlists."""
        return tuple((i.clip, i.in_time, i.out_time) for i in self.items)


def _u8(b, o):
    return b[o]


def _u16(b, o):
    return struct.unpack_from(">H", b, o)[0]


def _u32(b, o):
    return struct.unpack_from(">I", b, o)[0]


def _lang(raw: bytes) -> str | None:
    text = raw.decode("ascii", "replace").strip("\x00 ").lower()
    return text if len(text) == 3 and text.isalpha() else None


def _stream(data: bytes, pos: int, kind: str) -> tuple[Stream, int]:
    """One STN entry (stream_entry + stream_attributes) at pos; returns it and the next pos."""
    entry_len = _u8(data, pos)
    stype = _u8(data, pos + 1)
    pid_at = {1: 2, 2: 4, 3: 3, 4: 3}.get(stype)
    if pid_at is None:
        raise PlaylistError(f"unknown STN stream entry type {stype}")
    pid = _u16(data, pos + pid_at)
    pos += 1 + entry_len
    attr_len, coding = _u8(data, pos), _u8(data, pos + 1)
    attrs = data[pos + 2:pos + 1 + attr_len]
    pos += 1 + attr_len
    codec = CODECS.get(coding, f"0x{coding:02x}")
    if kind == "audio":
        return Stream(kind, pid, codec, _lang(attrs[1:4]), _CHANNELS.get(attrs[0] >> 4)), pos
    if kind == "subtitle":
        lang = attrs[1:4] if coding == 0x92 else attrs[0:3]  # text subtitles: charset first
        return Stream(kind, pid, codec, _lang(lang)), pos
    if kind == "video" and attrs:
        return Stream(kind, pid, codec, video_format=attrs[0] >> 4,
                      frame_rate=attrs[0] & 0x0F), pos
    return Stream(kind, pid, codec), pos


def _stn(data: bytes, pos: int) -> tuple[Stream, ...]:
    n_video, n_audio, n_pg, n_ig = data[pos + 4], data[pos + 5], data[pos + 6], data[pos + 7]
    pos += 16  # length, reserved, 7 counts, 5 reserved
    out = []
    for kind, count in (("video", n_video), ("audio", n_audio), ("subtitle", n_pg),
                        ("menu", n_ig)):
        for _ in range(count):
            stream, pos = _stream(data, pos, kind)
            if kind != "menu":  # interactive graphics are the disc's menus, not a track
                out.append(stream)
    return tuple(out)


def _play_item(data: bytes, pos: int) -> PlayItem:
    clip = data[pos + 2:pos + 7].decode("ascii", "replace")
    flags = _u16(data, pos + 11)
    multi_angle, connection = bool(flags & 0x10), flags & 0x0F
    in_time, out_time = _u32(data, pos + 14), _u32(data, pos + 18)
    at = pos + 34  # after UO mask (8), random access flag, still mode and time
    angles = []
    if multi_angle:
        count = data[at]
        at += 2
        for _ in range(count - 1):
            angles.append(data[at:at + 5].decode("ascii", "replace"))
            at += 10
    if out_time < in_time:
        raise PlaylistError(f"play item {clip} ends before it starts")
    return PlayItem(clip, in_time, out_time, connection, tuple(angles), _stn(data, at))


def parse(data: bytes) -> Playlist:
    """A playlist from the bytes of an .mpls file; PlaylistError when they are not one."""
    try:
        if data[:4] != b"MPLS":
            raise PlaylistError("not a movie playlist (no MPLS magic)")
        version = data[4:8].decode("ascii", "replace")
        list_at, marks_at = _u32(data, 8), _u32(data, 12)
        n_items = _u16(data, list_at + 6)
        pos, items = list_at + 10, []
        for _ in range(n_items):
            items.append(_play_item(data, pos))
            pos += 2 + _u16(data, pos)
        starts, t = [], 0
        for item in items:
            starts.append(t)
            t += item.out_time - item.in_time
        chapters = []
        for k in range(_u16(data, marks_at + 4)):
            mark = marks_at + 6 + 14 * k
            if data[mark + 1] != 1:  # link points are not chapters
                continue
            ref, time = _u16(data, mark + 2), _u32(data, mark + 4)
            if ref >= len(items):
                raise PlaylistError(f"mark refers to play item {ref} of {len(items)}")
            chapters.append(round((starts[ref] + time - items[ref].in_time) / CLOCK, 3))
    except (IndexError, struct.error):
        raise PlaylistError("truncated movie playlist") from None
    return Playlist(tuple(items), tuple(sorted(set(chapters))), version,
                    items[0].streams if items else ())
