"""ffmpeg: which binary, file URLs, and the parsers of what it prints: the probe of a
media file from `ffmpeg -i` (imageio-ffmpeg ships no ffprobe), the checks every step runs
before it calls a file finished, idet's interlace verdict and `-progress` lines."""

from __future__ import annotations

import os
import re
from pathlib import Path

from digitizer.errors import ToolMissing, VerificationFailed
from digitizer.tools import run

HINT = "pip install imageio-ffmpeg (ffmpeg >= 7 with the dvdvideo demuxer)"
run.register("ffmpeg", hint=HINT)


def binary(configured: str = "") -> str:
    """The ffmpeg to use: the configured one, else imageio-ffmpeg's bundled ffmpeg 9."""
    if configured:
        return run.resolve(configured)
    try:
        import imageio_ffmpeg
    except ImportError:
        raise ToolMissing("ffmpeg not found: " + HINT) from None
    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError as exc:
        raise ToolMissing(f"ffmpeg not found: {exc}") from None


def url(path: str | Path) -> str:
    """A file path as an ffmpeg URL: ``file:`` stops ``Title: Part 2.mkv`` being a protocol."""
    return "file:" + os.path.abspath(path)


def chapters_metadata(starts: list[float], duration: float) -> str:
    """An ffmetadata file with a chapter at each start (seconds), the last ending at
    `duration`: the chapters a rip gets when its source's own marks cannot be trusted or
    reach ffmpeg only through digitizer's parse."""
    lines = [";FFMETADATA1"]
    ends = starts[1:] + [duration]
    for n, (start, end) in enumerate(zip(starts, ends), 1):
        lines += ["[CHAPTER]", "TIMEBASE=1/1000", f"START={round(start * 1000)}",
                  f"END={max(round(end * 1000), round(start * 1000) + 1)}", f"title=Chapter {n}"]
    return "\n".join(lines) + "\n"


def progress_seconds(line: str) -> float | None:
    """Seconds written so far, from one line of `-progress pipe:1` (None for other keys)."""
    key, sep, value = line.partition("=")
    if not sep or key.strip() not in ("out_time_us", "out_time_ms"):
        return None  # both are microseconds, despite the name
    try:
        return int(value.strip()) / 1_000_000
    except ValueError:
        return None


def progress_frames(line: str) -> int | None:
    if line.startswith("frame="):
        try:
            return int(line[6:] or 0)
        except ValueError:
            return None
    return None

# libdvdnav's words when a sector of the disc cannot be read: ffmpeg then ends the title
# early and still exits 0, so the rip would be short with nothing else to say why.
_READ_ERROR = re.compile(r"Error reading from DVD|Unable to read next block")


def read_error(line: str) -> bool:
    """True for an ffmpeg stderr line saying the disc could not be read."""
    return bool(_READ_ERROR.search(line))


_DURATION = re.compile(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)")
_CHAPTER = re.compile(r"Chapter #\d+:\d+: start (-?\d+(?:\.\d+)?), end (-?\d+(?:\.\d+)?)")
_STREAM = re.compile(r"Stream #\d+:(\d+)(?:\[(0x[0-9a-fA-F]+)\])?(?:\((\w+)\))?: "
                     r"(Video|Audio|Subtitle|Data|Attachment): (\w+)(.*)")
_FIELD = re.compile(r"\b(progressive|top first|bottom first|top coded first|"
                    r"bottom coded first)\b")


def parse_probe(stderr: str) -> dict:
    info = {"duration": None, "chapters": [], "streams": []}
    m = _DURATION.search(stderr)
    if m:
        h, mnt, s = m.groups()
        info["duration"] = round(int(h) * 3600 + int(mnt) * 60 + float(s), 3)
    for m in _CHAPTER.finditer(stderr):
        info["chapters"].append(round(float(m.group(1)), 3))
    for m in _STREAM.finditer(stderr):
        index, sid, lang, kind, codec, rest = m.groups()
        stream = {"index": int(index), "type": kind.lower(), "codec": codec,
                  "lang": lang or "und"}
        if sid:
            stream["stream_id"] = sid.lower()
        if kind == "Audio":
            ch = re.search(r"\b(mono|stereo|5\.1(?:\(side\))?|7\.1|(\d+) channels)\b", rest)
            if ch:
                word = ch.group(1)
                stream["channels"] = {"mono": 1, "stereo": 2}.get(
                    word, 6 if word.startswith("5.1") else 8 if word == "7.1"
                    else int(ch.group(2) or 0))
        if kind == "Video":
            dims = re.search(r"\b(\d{2,5})x(\d{2,5})\b", rest)
            if dims:
                stream["width"], stream["height"] = int(dims.group(1)), int(dims.group(2))
            field = _FIELD.search(rest)
            if field:
                stream["field_order"] = field.group(1)
        info["streams"].append(stream)
    return info


def probe(path, ffmpeg: str) -> dict:
    done = run.run([ffmpeg, "-hide_banner", "-nostdin", "-i", url(path)],
                     check=False, timeout=120)
    info = parse_probe(done.stderr)
    if info["duration"] is None and not info["streams"]:
        last = done.stderr.strip().splitlines()[-1:] or ["no output"]
        raise VerificationFailed(f"{path}: not a readable media file ({last[0]})")
    return info


def count(info: dict, kind: str) -> int:
    return sum(1 for s in info["streams"] if s["type"] == kind)


def verify(path, ffmpeg: str, *, duration: float, audio: int, subtitles: int,
           tolerance: float = 1.0) -> dict:
    """The file's probe, or VerificationFailed naming what is wrong."""
    info = probe(path, ffmpeg)
    problems = []
    if info["duration"] is None or abs(info["duration"] - duration) > tolerance:
        problems.append(f"duration {info['duration']} s, expected {duration:.3f} s")
    if count(info, "video") < 1:
        problems.append("no video stream")
    if count(info, "audio") < audio:
        problems.append(f"{count(info, 'audio')} audio streams, expected {audio}")
    if count(info, "subtitle") < subtitles:
        problems.append(f"{count(info, 'subtitle')} subtitle streams, expected {subtitles}")
    if problems:
        raise VerificationFailed(f"{path.name if hasattr(path, 'name') else path}: "
                                 + "; ".join(problems))
    return info


def decode_errors(path, ffmpeg: str) -> str:
    """Decode all video and audio; ffmpeg's error output ('' when the file plays through).

    Subtitles are bitmaps that the null muxer cannot take; they are checked by the probe."""
    done = run.run([ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-i",
                      url(path), "-map", "0:v", "-map", "0:a?", "-f", "null", "-"],
                     check=False)
    return done.stderr.strip() if done.returncode == 0 else (done.stderr.strip() or "failed")


def parse_idet(stderr: str) -> bool | None:
    """idet's verdict: True if its multi-frame detection saw mostly interlaced frames.

    ffmpeg may print the statistics of more than one idet instance (the graph is rebuilt
    when the first frame arrives); the last one with counts is the one that saw the video.
    """
    for line in reversed(stderr.splitlines()):
        if "Multi frame detection" not in line:
            continue
        counts = dict(re.findall(r"(TFF|BFF|Progressive|Undetermined):\s*(\d+)", line))
        inter = int(counts.get("TFF", 0)) + int(counts.get("BFF", 0))
        prog = int(counts.get("Progressive", 0))
        if inter + prog:
            return inter > prog
    return None


def interlaced(ffmpeg: str, input_args: list[str], frames: int = 240,
               env: dict | None = None) -> bool | None:
    """Interlaced or not: measured, not assumed.

    A stream whose frames are coded progressive is progressive. A stream coded interlaced
    (most DVDs, including film that is really progressive) is judged by idet over its first
    frames, which compares the two fields of each frame.
    """
    done = run.run([ffmpeg, "-hide_banner", "-nostdin", *input_args, "-map", "0:v:0",
                      "-frames:v", str(frames), "-vf", "idet", "-an", "-sn", "-f", "null", "-"],
                     check=False, timeout=300, env=env)
    if coded_progressive(parse_probe(done.stderr)):
        return False
    return parse_idet(done.stderr)


def coded_progressive(info: dict) -> bool:
    """True when a probe's first video stream says its frames are coded progressive: no
    field can differ from the other, so no idet is needed."""
    video = next((s for s in info.get("streams", []) if s["type"] == "video"), {})
    return video.get("field_order") == "progressive"
