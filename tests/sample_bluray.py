"""Build REAL synthetic Blu-ray discs (BDMV folder + UDF 2.50 image) for tests and benchmarks.

bdmvkit authors the BDMV tree (clips with H.264 + AC-3 + PGS, playlists, clip infos,
index.bdmv, MovieObject.bdmv); udfkit writes the folder as a BD-ROM image: UDF 2.50 with a
metadata partition and no ISO 9660, as pressed discs are. ffmpeg makes the mezzanines.
Video is short (seconds) so a build costs seconds; builds are cached by a hash of their
parameters, like tests/sample_disc.py's DVDs.

    python tests/sample_bluray.py --cache DIR [--main-seconds N]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

# Bump whenever the disc content or expected.json changes, so stale caches are not reused.
BUILDER_VERSION = 2
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
# 1280x720 is a Blu-ray format too, and a quarter of 1080p's encoding work.
WIDTH, HEIGHT, FPS = 1280, 720, (24000, 1001)


class SampleBlurayError(RuntimeError):
    """A tool is missing or one step of the disc build failed."""


@dataclass(frozen=True)
class SampleBluray:
    image: Path  # the UDF 2.50 image; its volume identifier is expected["label"]
    folder: Path  # the directory CONTAINING BDMV
    expected: dict  # ground truth, also written as expected.json beside them


def _run(cmd: list[str]) -> bytes:
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except FileNotFoundError:
        raise SampleBlurayError(f"tool not found: {cmd[0]}") from None
    if p.returncode:
        tail = (p.stderr.decode(errors="replace").strip().splitlines() or ["no output"])[-1]
        raise SampleBlurayError(f"{Path(cmd[0]).name} failed (exit {p.returncode}): {tail}")
    return p.stdout


def _movie_plan(main_seconds: int) -> list[dict]:
    step = main_seconds / 4
    return [
        {"name": "MAIN", "seconds": main_seconds, "source": "testsrc2",
         "chapters": [round(i * step, 3) for i in range(4)],
         "audio": [["ac3", 6, "en"], ["ac3", 2, "fr"]], "subtitles": ["en", "fr"]},
        {"name": "EXTRA", "seconds": 4, "source": "smptehdbars", "chapters": [0],
         "audio": [["ac3", 2, "en"]], "subtitles": []},
    ]


def _tv_plan() -> list[dict]:
    # Episodes far under ffmpeg's 180 s `bluray:` floor, one stereo track each, and a
    # play-all playlist: a TV disc whose only long playlist plays the others.
    return [{"name": f"EPISODE {n}", "seconds": s, "source": src, "chapters": [0, 3],
             "audio": [["ac3", 2, "en"]], "subtitles": ["en"] if n == 1 else []}
            for n, (s, src) in enumerate(((7, "testsrc2"), (6, "mandelbrot"),
                                          (8, "rgbtestsrc")), 1)]


def _decoy_plan() -> list[dict]:
    # The clips of a film, each also listed on its own as a playlist (as pressed discs do),
    # and a trailer. The playlists that join them are added in _author.
    feature = {"audio": [["ac3", 6, "en"], ["ac3", 2, "de"]], "subtitles": ["en"]}
    return [dict(feature, name="PART A", seconds=8, source="testsrc2", chapters=[0, 4]),
            dict(feature, name="PART B", seconds=8, source="mandelbrot", chapters=[0, 4]),
            dict(feature, name="PART C", seconds=4, source="rgbtestsrc", chapters=[0]),
            dict(feature, name="PART D", seconds=8, source="testsrc", chapters=[0, 4]),
            {"name": "TRAILER", "seconds": 5, "source": "smptehdbars", "chapters": [0],
             "audio": [["ac3", 2, "en"]], "subtitles": []}]


# Playlists beyond one per clip: (name, items); an item is a title number or
# (title, first chapter, last chapter or None) for a mid-clip start.
PLAYLISTS = {
    "movie": [],
    "tv": [("playall", [1, 2, 3])],
    "decoys": [("theatrical", [1, 2, 4]), ("extended", [1, 2, 3, 4]),
               ("decoy1", [2, 1, 4]), ("decoy2", [4, 2, 1]), ("dup", [1, 2, 4]),
               ("partial", [(1, 2, None), 2, 4])],
}
PLANS = {"movie": None, "tv": _tv_plan, "decoys": _decoy_plan}


def _mezzanine(ffmpeg: str, path: Path, title: dict) -> None:
    """A picture with its name and running time burnt in, and one sine tone per audio track."""
    rate = f"{FPS[0]}/{FPS[1]}"
    video = (f"{title['source']}=size={WIDTH}x{HEIGHT}:rate={rate},drawtext=fontfile={FONT}:"
             f"text='{title['name']} %{{pts\\:hms}}':fontsize=48:fontcolor=white:box=1:"
             f"boxcolor=black@0.6:x=60:y=60")
    cmd = [ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", video]
    graph = []
    for k, (_, channels, _) in enumerate(title["audio"]):
        cmd += ["-f", "lavfi", "-i", f"sine=frequency={440 + 110 * k}:sample_rate=48000"]
        layout = "5.1" if channels == 6 else "stereo"
        graph.append(f"[{k + 1}:a]aformat=channel_layouts=mono,pan={layout}|"
                     + "|".join(f"c{i}=c0" for i in range(channels)) + f"[a{k}]")
    cmd += ["-t", str(title["seconds"]), "-map", "0:v", "-filter_complex", ";".join(graph)]
    for k in range(len(title["audio"])):
        cmd += ["-map", f"[a{k}]"]
    cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-qp", "23", "-c:a", "pcm_s16le", str(path)]
    _run(cmd)


def _cue_picture(ffmpeg: str, text: str) -> bytes:
    """White outlined text on a transparent frame, as RGBA bytes for bdmvkit's PGS writer."""
    return _run([ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-f", "lavfi", "-i",
                 f"color=c=black@0.0:s={WIDTH}x{HEIGHT},format=rgba,drawtext=fontfile={FONT}:"
                 f"text='{text}':fontsize=40:fontcolor=white:borderw=3:bordercolor=black:"
                 f"x=(w-tw)/2:y=h-120", "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgba", "-"])


def _subtitles(ffmpeg: str, path: Path, title: dict, lang: str) -> int:
    from bdmvkit import pgs

    palette = pgs.palette("#FFFFFF", "#000000")
    cues, start = [], 0.5
    while start + 2 <= title["seconds"]:
        picture = _cue_picture(ffmpeg, f"[{lang}] {title['name']} {len(cues) + 1}")
        cues.append((start, start + 2, pgs.indexed(picture, WIDTH, HEIGHT), palette))
        start += 3
    pgs.write_sup(str(path), cues, (WIDTH, HEIGHT))
    return len(cues)


def _author(plan: list[dict], work: Path, folder: Path, ffmpeg: str,
            playlists=()) -> None:
    from bdmvkit import Disc
    from bdmvkit.encode import AudioTrack, encode_clip

    disc = Disc()
    for number, title in enumerate(plan, 1):
        mezz = work / f"{title['name']}.mkv"
        _mezzanine(ffmpeg, mezz, title)
        sups = []
        for lang in title["subtitles"]:
            sup = work / f"{title['name']}.{lang}.sup"
            title.setdefault("cues", {})[lang] = _subtitles(ffmpeg, sup, title, lang)
            sups.append(str(sup))
        clip = work / f"{number:05d}.m2ts"
        encode_clip(str(mezz), str(clip), fps=FPS, chapters=title["chapters"], fast=True,
                    audio=[AudioTrack(None, codec, channels, stream=k)
                           for k, (codec, channels, _) in enumerate(title["audio"])],
                    sups=sups, ffmpeg=ffmpeg)
        disc.add_title(str(clip), fps=FPS, chapters=title["chapters"],
                       audio=[tuple(a) for a in title["audio"]], subtitles=title["subtitles"])
    for name, items in playlists:
        disc.add_playlist(name, [tuple(i) if isinstance(i, (list, tuple)) else i for i in items])
    disc.write(str(folder), move=True, play_all=False)


def _disc_name_file(folder: Path, name: str) -> None:
    """BDMV/META/DL/bdmt_eng.xml: the disc library metadata where players find the disc's title."""
    meta = folder / "BDMV" / "META" / "DL"
    meta.mkdir(parents=True, exist_ok=True)
    from xml.sax.saxutils import escape
    (meta / "bdmt_eng.xml").write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<disclib xmlns="urn:BDA:bdmv;disclib" xmlns:di="urn:BDA:bdmv;discinfo">\n'
        '  <di:discinfo>\n    <di:date>2026-11-22</di:date>\n    <di:language>eng</di:language>\n'
        f'    <di:title>\n      <di:name>{escape(name)}</di:name>\n    </di:title>\n'
        '  </di:discinfo>\n</disclib>\n', encoding="utf-8")


def build_bluray(cache_dir: Path, *, layout: str = "movie", main_seconds: int = 12,
                 label: str = "DIGITIZER_BD", disc_name: str | None = "Digitizer Test Movie",
                 ffmpeg: str | None = None) -> SampleBluray:
    """Build (or reuse from cache_dir) a synthetic Blu-ray and return its paths and ground truth."""
    if layout not in PLANS:
        raise ValueError(f"layout must be one of {', '.join(PLANS)}, not {layout!r}")
    if main_seconds < 4:
        raise ValueError("need main_seconds >= 4")
    params = {"v": BUILDER_VERSION, "layout": layout, "main_seconds": main_seconds,
              "label": label, "disc_name": disc_name}
    key = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:12]
    cache_dir = Path(cache_dir).resolve()
    final = cache_dir / f"bluray-{layout}-{key}"
    if (final / "complete").exists():
        return _load(final)

    ffmpeg = ffmpeg or os.environ.get("DIGITIZER_SAMPLE_FFMPEG") or shutil.which("ffmpeg")
    if not ffmpeg:
        raise SampleBlurayError("tool not found: ffmpeg (install it or set DIGITIZER_SAMPLE_FFMPEG)")
    if not FONT.is_file():
        raise SampleBlurayError(f"font not found: {FONT} (Debian package fonts-dejavu-core)")
    try:
        import bdmvkit  # noqa: F401
        from udfkit import bluray as udf_bluray
    except ImportError as exc:
        raise SampleBlurayError(f"{exc.name} not installed (pip install -e '.[test]')") from None

    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=cache_dir))
    try:
        tmp.chmod(0o755)  # mkdtemp's 0700 would make the shared cache unreadable to other users
        work = tmp / "work"
        work.mkdir()
        plan = _movie_plan(main_seconds) if layout == "movie" else PLANS[layout]()
        _author(plan, work, tmp / "bd", ffmpeg, PLAYLISTS[layout])
        if disc_name is not None:
            _disc_name_file(tmp / "bd", disc_name)
        shutil.rmtree(work)
        udf_bluray.write_image(str(tmp / "bd"), str(tmp / "disc.iso"), label)
        expected = {"label": label, "disc_name": disc_name, "layout": layout,
                    "fps": f"{FPS[0]}/{FPS[1]}", "size": [WIDTH, HEIGHT],
                    "titles": [{"title": n, "playlist": f"{n:05d}.mpls", "name": t["name"],
                                "seconds": t["seconds"], "chapter_starts": t["chapters"],
                                "audio": [{"codec": c, "channels": ch, "lang": lang}
                                          for c, ch, lang in t["audio"]],
                                "subtitles": t["subtitles"], "cues": t.get("cues", {})}
                               for n, t in enumerate(plan, 1)],
                    "playlists": [{"playlist": f"{len(plan) + k:05d}.mpls", "name": name,
                                   "items": items}
                                  for k, (name, items) in enumerate(PLAYLISTS[layout], 1)]}
        (tmp / "expected.json").write_text(json.dumps(expected, indent=1) + "\n", encoding="utf-8")
        (tmp / "complete").write_text(f"{BUILDER_VERSION}\n")  # last: only complete builds carry it
        try:
            os.rename(tmp, final)
        except OSError:
            if not (final / "complete").exists():  # not a concurrent build's finished result
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return _load(final)


def _load(final: Path) -> SampleBluray:
    expected = json.loads((final / "expected.json").read_text(encoding="utf-8"))
    return SampleBluray(image=final / "disc.iso", folder=final / "bd", expected=expected)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, required=True)
    ap.add_argument("--main-seconds", type=int, default=12)
    ap.add_argument("--layout", default="movie", choices=sorted(PLANS))
    ap.add_argument("--label", default="DIGITIZER_BD")
    a = ap.parse_args(argv)
    disc = build_bluray(a.cache, layout=a.layout, main_seconds=a.main_seconds, label=a.label)
    print(json.dumps({"image": str(disc.image), "folder": str(disc.folder)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
