"""scan: every title of a DVD with its streams, chapters and role.

Reader: lsdvd (libdvdread, IFO only). It reads the same IFOs from a drive, an image or a
folder in milliseconds without touching the VOBs, gives cells with sectors (sizes, and
exact duplicate / play-all detection) and the languages and stream ids of every track.
Its quirks, handled here: the libdvdread CSS banner comes on stdout before the data; no
JSON mode (we parse `-Oy`, a Python literal, with ast.literal_eval, which evaluates no
code); NTSC times are nominal 30 fps, so they are multiplied by 1.001.
"""

from __future__ import annotations

import ast
import os

from digitizer import media, roles, tools
from digitizer.errors import SourceError, ToolFailed

NTSC_FACTOR = 1.001
CODECS = {"ac3": "ac3", "lpcm": "lpcm", "mpeg1": "mp2", "mpeg2ext": "mp2", "dts": "dts",
          "sdds": "sdds"}


def parse_lsdvd(text: str) -> dict:
    """The dict of ``lsdvd -x -Oy`` output (banner and anything before the data skipped)."""
    start = text.find("lsdvd = {")
    if start < 0:
        raise ToolFailed("lsdvd printed no disc data")
    body = text[start + len("lsdvd = "):]
    try:
        data = ast.literal_eval(body.strip())
    except (ValueError, SyntaxError) as exc:
        raise ToolFailed(f"lsdvd output could not be parsed: {exc}") from None
    if not isinstance(data, dict) or "track" not in data:
        raise ToolFailed("lsdvd output has no titles")
    return data


def _factor(track: dict) -> float:
    return NTSC_FACTOR if str(track.get("format", "")).upper() == "NTSC" else 1.0


def title_from_track(track: dict) -> dict:
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
    return {
        "title": int(track["ix"]),
        "duration": round(float(track.get("length", 0)) * f, 3),
        "chapters": starts or [0.0],
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
        "vts": track.get("vts"),
        "ttn": track.get("ttn"),
        "cells": cells,
        "palette": track.get("palette"),
    }


def read_titles(source: str, lsdvd: str = "lsdvd") -> tuple[dict, list[dict]]:
    """Run lsdvd on a drive, image or folder: (disc-level facts, titles)."""
    # An absolute path can never be mistaken for an option by lsdvd.
    path = os.path.abspath(source)
    done = tools.run([lsdvd, "-x", "-Oy", path], check=False, timeout=120)
    if done.returncode != 0 or "lsdvd = {" not in done.stdout:
        why = done.stderr.strip().splitlines()[-1:] or ["no output"]
        raise SourceError(f"{source}: lsdvd cannot read this disc: {why[0]}")
    data = parse_lsdvd(done.stdout)
    titles = [title_from_track(t) for t in data["track"]]
    disc = {"vmg_id": data.get("vmg_id"), "provider_id": data.get("provider_id"),
            "longest_track": data.get("longest_track")}
    return disc, titles


def probe_interlace(source: str, title: int, ffmpeg: str) -> bool | None:
    """Is this title's video interlaced? (see media.interlaced for how it is decided)"""
    return media.interlaced(ffmpeg, ["-f", "dvdvideo", "-title", str(title),
                                     "-i", os.path.abspath(source)])


def scan(source: str, *, lsdvd: str, min_seconds: float, ffmpeg: str | None = None) -> dict:
    disc, titles = read_titles(source, lsdvd)
    roles.assign(titles, min_seconds)
    if ffmpeg:
        for t in titles:
            if t["role"] in ("main", "episode", "extra"):
                t["video"]["interlaced"] = probe_interlace(source, t["title"], ffmpeg)
    return {"disc": disc, "titles": titles}


def scan_disc(source: str, catalog, cfg, *, probe: bool = True) -> dict:
    """fingerprint + scan, recorded in the catalog and the disc marker."""
    from pathlib import Path

    from digitizer.fingerprint import fingerprint, update_disc_marker

    info = fingerprint(source, catalog, cfg.path_of("staging"))
    ffmpeg = tools.ffmpeg_binary(cfg.ffmpeg) if probe else None
    result = scan(source, lsdvd=cfg.lsdvd, min_seconds=cfg.min_title_seconds, ffmpeg=ffmpeg)
    fp = info["fingerprint"]
    titles = result["titles"]
    catalog.record_titles(fp, titles)
    update_disc_marker(Path(info["folder"]), titles=titles, disc_info=result["disc"],
                       tool_versions={"lsdvd": tools.version(cfg.lsdvd)})
    catalog.add_event("disc_scanned", fp, titles=len(titles),
                      roles={t["title"]: t["role"] for t in titles})
    return {"source": source, "fingerprint": fp, "label": info["label"],
            "disc_type": info["disc_type"], "known": info["known"], "folder": info["folder"],
            "identity": info.get("identity"), "titles": titles}
