"""Build REAL synthetic DVD-Video discs (ISO + VIDEO_TS folder) for tests, `make demo` and benchmarks.

Pipeline (Python port of the lab's make_dvd.sh): ffmpeg encodes each clip as DVD MPEG-2 from lavfi
sources with a burnt-in timecode; spumux renders en/fr SRT cues as subpictures; dvdauthor authors
the VIDEO_TS folder; genisoimage -dvd-video makes the ISO (xorriso writes no UDF, which libdvdread
needs). Builds are cached by a hash of the parameters, so only the first call pays for encoding.

    python tests/sample_disc.py --cache DIR [--layout movie|episodes] [--main-seconds N] ...
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

# Bump whenever the disc content or expected.json changes, so stale caches are not reused.
BUILDER_VERSION = 1
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
STANDARDS = {  # size, ffmpeg rate, fps, dvdauthor/spumux format
    "ntsc": ("720x480", "30000/1001", 29.97, "NTSC"),
    "pal": ("720x576", "25", 25, "PAL"),
}
AC3_AUDIO = [{"lang": "en", "codec": "ac3", "channels": 6}, {"lang": "fr", "codec": "ac3", "channels": 2}]
LPCM_AUDIO = [{"lang": "en", "codec": "lpcm", "channels": 2}]
SOURCES = ("testsrc2", "smptebars", "testsrc", "rgbtestsrc", "smptehdbars", "pal75bars", "yuvtestsrc")
STALE_TMP_SECONDS = 6 * 3600  # leftovers of killed builds; a live build is never this old


class SampleDiscError(RuntimeError):
    """A tool is missing or one step of the disc build failed."""


@dataclass(frozen=True)
class SampleDisc:
    iso: Path  # the ISO image; its volume label is expected["label"]
    folder: Path  # the directory CONTAINING VIDEO_TS
    expected: dict  # ground truth, also written as expected.json beside them


@dataclass(frozen=True)
class _Clip:  # one encoded MPEG file; several pgcs may reference it
    name: str
    seconds: int
    source: str
    lpcm: bool = False
    chapters: tuple[int, ...] = (0,)


@dataclass(frozen=True)
class _Title:
    name: str
    kind: str
    vts: int
    clips: tuple[_Clip, ...]


def _chapters(seconds: int, n: int) -> tuple[int, ...]:
    step = max(1, math.ceil(seconds / n))
    return tuple(i * step for i in range(n) if i * step < seconds)


def _plan(layout: str, main_seconds: int, duplicate: bool, episodes: int, episode_seconds: int,
          equal_episodes: bool = False) -> list[_Title]:
    short = _Clip("SHORT", 3, "rgbtestsrc")
    if layout == "episodes":
        eps = []
        for i in range(episodes):
            # most real episodes differ by seconds; cartoon and anime discs have equal ones
            secs = episode_seconds + (0 if equal_episodes else i)
            chapters = (0, secs // 2) if secs >= 8 else (0,)
            eps.append(_Clip(f"EP{i + 1}", secs, SOURCES[i % len(SOURCES)], chapters=chapters))
        return [_Title("PLAYALL", "play_all", 1, tuple(eps))] + [
            _Title(c.name, "episode", 1, (c,)) for c in eps] + [_Title("SHORT", "short", 1, (short,))]
    # extras (and the bonus) stay shorter than the main title, so "longest title == main" holds
    ex1, ex2, bonus = 35, 22, 15
    if main_seconds <= 40:
        ex1, ex2 = max(4, main_seconds * 6 // 10), max(4, main_seconds * 4 // 10)
    if main_seconds <= 15:
        bonus = max(4, main_seconds // 2)
    main = _Clip("MAIN", main_seconds, "testsrc2", chapters=_chapters(main_seconds, 8))
    extra1 = _Clip("EXTRA1", ex1, "smptebars", chapters=(0, 20) if ex1 > 25 else (0,))
    titles = [
        _Title("MAIN", "main", 1, (main,)),
        _Title("EXTRA1", "extra", 1, (extra1,)),
        _Title("EXTRA2", "extra", 1, (_Clip("EXTRA2", ex2, "testsrc"),)),
        _Title("SHORT", "short", 1, (short,)),
    ]
    if duplicate:
        titles.append(_Title("MAIN_DUP", "duplicate", 1, (main,)))
    bonus_clip = _Clip("BONUS43", bonus, "smptehdbars", lpcm=True, chapters=_chapters(bonus, 3))
    return titles + [_Title("BONUS43", "extra", 2, (bonus_clip,))]


def _expected(titles: list[_Title], label: str, requested: str, standard: str, layout: str) -> dict:
    out = []
    for n, t in enumerate(titles, 1):
        starts, offset = [], 0
        for c in t.clips:
            starts += [float(offset + s) for s in c.chapters]
            offset += c.seconds
        lpcm = t.clips[0].lpcm
        out.append({"title": n, "name": t.name, "vts": t.vts, "seconds": float(offset),
                    "aspect": "4:3" if t.vts == 2 else "16:9", "chapters": len(starts), "chapter_starts": starts,
                    "audio": LPCM_AUDIO if lpcm else AC3_AUDIO, "subtitles": [] if lpcm else ["en", "fr"],
                    "kind": t.kind})
    return {"label": label, "requested_label": requested, "standard": standard, "layout": layout, "titles": out}


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    kw.setdefault("stdout", subprocess.PIPE)
    try:
        p = subprocess.run(cmd, stderr=subprocess.PIPE, **kw)
    except FileNotFoundError:
        raise SampleDiscError(f"tool not found: {cmd[0]}") from None
    if p.returncode:
        text = (p.stderr or b"").decode(errors="replace") or (p.stdout or b"").decode(errors="replace")
        lines = [ln for ln in text.splitlines() if ln.strip()]
        raise SampleDiscError(f"{Path(cmd[0]).name} failed (exit {p.returncode}): "
                              f"{lines[-1] if lines else 'no output'}\n  command: {shlex.join(cmd)}")
    return p


def _find_ffmpeg(ffmpeg: str | None) -> str:
    exe = ffmpeg or os.environ.get("DIGITIZER_SAMPLE_FFMPEG") or shutil.which("ffmpeg")
    if not exe:
        try:
            import imageio_ffmpeg
            exe = imageio_ffmpeg.get_ffmpeg_exe()
        except Exception:  # not installed, or it found no binary either
            pass
    if not exe:
        raise SampleDiscError("tool not found: ffmpeg (install it or set DIGITIZER_SAMPLE_FFMPEG)")
    return exe


def _srt(path: Path, name: str, seconds: int, lang: str) -> None:
    text = "English line" if lang == "en" else "Réplique française"
    ts = lambda s: f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"  # noqa: E731
    cues = [(0, 2)] if seconds < 6 else [(t, t + 3) for t in range(0, seconds - 3, 5)]
    path.write_text("".join(f"{i}\n{ts(a)},500 --> {ts(b)},500\n[{lang}] {name} {text} {i}\n\n"
                            for i, (a, b) in enumerate(cues, 1)), encoding="utf-8")


def _make_clip(clip: _Clip, aspect: str, work: Path, ffmpeg: str, standard: str, kbps: int, noise: int,
               env: dict, interlaced: bool = False) -> None:
    size, rate, fps, fmt = STANDARDS[standard]
    # Real interlaced video: render at twice the frame rate and weave consecutive frames
    # into the two fields, so the fields differ in time (what idet measures).
    src_rate = f"({rate})*2" if interlaced else rate
    vf = (f"{clip.source}=size={size}:rate={src_rate},drawtext=fontfile={FONT}:text='{clip.name} %{{pts\\:hms}}'"
          f":fontsize=36:fontcolor=white:box=1:boxcolor=black@0.6:x=40:y=40")
    if interlaced:
        vf += ",interlace=scan=tff"
    if noise > 0:
        vf += f",noise=alls={noise}:allf=t"
    raw, final = work / f"{clip.name}.raw.mpg", work / f"{clip.name}.mpg"
    cmd = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i", vf]
    if clip.lpcm:
        cmd += ["-f", "lavfi", "-i", "sine=frequency=550:sample_rate=48000", "-t", str(clip.seconds),
                "-map", "0:v", "-map", "1:a", "-target", f"{standard}-dvd", "-aspect", aspect,
                "-b:v", f"{kbps}k", "-c:a", "pcm_dvd", "-ac", "2"]
    else:
        cmd += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:beep_factor=4",
                "-f", "lavfi", "-i", "sine=frequency=660:sample_rate=48000", "-t", str(clip.seconds),
                "-filter_complex", "[1:a]pan=5.1|FL=c0|FR=c0|FC=c0|LFE=c0|BL=c0|BR=c0[a51]",
                "-map", "0:v", "-map", "[a51]", "-map", "2:a", "-target", f"{standard}-dvd", "-aspect", aspect,
                "-b:v", f"{kbps}k", "-c:a", "ac3", "-b:a:0", "448k", "-b:a:1", "192k", "-ac:a:1", "2",
                "-metadata:s:a:0", "language=eng", "-metadata:s:a:1", "language=fre"]
    if interlaced:
        cmd += ["-flags", "+ilme+ildct", "-top", "1"]
    _run(cmd + ["-threads", "2", str(raw)], env=env)
    if clip.lpcm:
        raw.rename(final)
        return
    src = raw
    for stream, lang in enumerate(("en", "fr")):
        srt, xml = work / f"{clip.name}.{lang}.srt", work / f"{clip.name}.{lang}.xml"
        dst = work / f"{clip.name}.s{stream}.mpg"
        _srt(srt, clip.name, clip.seconds, lang)
        width, height = size.split("x")
        xml.write_text(
            f'<subpictures format="{fmt}"><stream><textsub filename={quoteattr(str(srt))} characterset="UTF-8"'
            ' fontsize="24.0" font="DejaVuSans.ttf" horizontal-alignment="center" vertical-alignment="bottom"'
            ' left-margin="60" right-margin="60" top-margin="20" bottom-margin="40"'
            f' subtitle-fps="{fps}" movie-fps="{fps}" movie-width="{width}" movie-height="{int(height) - 2}"/>'
            "</stream></subpictures>\n", encoding="utf-8")
        with open(src, "rb") as fin, open(dst, "wb") as fout:
            _run(["spumux", "-s", str(stream), str(xml)], stdin=fin, stdout=fout, env=env, cwd=work)
        src.unlink()
        src = dst
    src.rename(final)


def _read_label(iso: Path) -> str:
    # The primary volume descriptor's volume id is what lsdvd and most readers report.
    with open(iso, "rb") as f:
        f.seek(16 * 2048 + 40)
        return f.read(32).decode("utf-8", errors="replace").rstrip(" \0")


def _author(titles: list[_Title], label: str, work: Path, out: Path, ffmpeg: str, standard: str, kbps: int,
            noise: int, env: dict, log, interlaced: bool = False) -> None:
    size, rate, _fps, _fmt = STANDARDS[standard]
    clips = {c.name: (c, "4:3" if t.vts == 2 else "16:9") for t in titles for c in t.clips}
    # Clips are independent and lavfi+drawtext is single-threaded: two at a time keeps both cores busy.
    with ThreadPoolExecutor(max_workers=2) as pool:
        jobs = [pool.submit(_make_clip, clip, aspect, work, ffmpeg, standard, kbps, noise, env,
                            interlaced)
                for clip, aspect in clips.values()]
        jobs.append(pool.submit(_run, [
            ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
            f"color=c=navy:size={size}:rate={rate},drawtext=fontfile={FONT}:text='DIGITIZER TEST DISC'"
            ":fontsize=48:fontcolor=white:x=(w-tw)/2:y=(h-th)/2",
            "-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo", "-t", "1", "-target", f"{standard}-dvd",
            "-aspect", "16:9", "-c:a", "ac3", "-b:a", "192k", str(work / "menu.mpg")], env=env))
        try:
            for j in jobs:
                j.result()
        except BaseException:
            for j in jobs:  # don't encode the rest of a disc that can no longer be built
                j.cancel()
            raise
    log(f"encoded {len(clips)} clips + menu")

    def pgc(t: _Title) -> str:
        vobs = "".join(f"<vob file={quoteattr(str(work / f'{c.name}.mpg'))} chapters=\""
                       + ",".join(f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" for s in c.chapters) + '"/>'
                       for c in t.clips)
        return f"    <pgc>{vobs}</pgc>\n"

    xml = (f'<dvdauthor dest={quoteattr(str(out / "dvd"))} jumppad="0">\n'
           f'  <vmgm><fpc>jump menu 1;</fpc><menus><pgc entry="title"><vob file={quoteattr(str(work / "menu.mpg"))}/>'
           "<post>jump title 1;</post></pgc></menus></vmgm>\n"
           f'  <titleset><titles>\n    <video format="{standard}" aspect="16:9" widescreen="nopanscan"/>\n'
           '    <audio lang="en"/><audio lang="fr"/><subpicture lang="en"/><subpicture lang="fr"/>\n'
           + "".join(pgc(t) for t in titles if t.vts == 1) + "  </titles></titleset>\n")
    if any(t.vts == 2 for t in titles):
        xml += (f'  <titleset><titles>\n    <video format="{standard}" aspect="4:3"/><audio lang="en"/>\n'
                + "".join(pgc(t) for t in titles if t.vts == 2) + "  </titles></titleset>\n")
    (work / "dvdauthor.xml").write_text(xml + "</dvdauthor>\n", encoding="utf-8")
    # stdout is discarded: the LPCM title alone makes dvdauthor print thousands of harmless WARN lines.
    _run(["dvdauthor", "-x", str(work / "dvdauthor.xml")], env=env, cwd=work, stdout=subprocess.DEVNULL)
    log("dvdauthor done")
    iso_cmd = ["genisoimage", "-quiet", "-dvd-video", "-V", label, "-o", str(out / "disc.iso"), str(out / "dvd")]
    _run(iso_cmd, env=env)
    log("genisoimage done")


def build_dvd(cache_dir: Path, *, layout: str = "movie", main_seconds: int = 120, standard: str = "ntsc",
              label: str = "DIGITIZER_TEST", noise: int = 0, video_kbps: int = 6000, episodes: int = 4,
              episode_seconds: int = 20, duplicate: bool = False, ffmpeg: str | None = None,
              interlaced: bool = False, equal_episodes: bool = False) -> SampleDisc:
    """Build (or reuse from cache_dir) a synthetic DVD and return its paths and ground truth."""
    if layout not in ("movie", "episodes"):
        raise ValueError(f"layout must be 'movie' or 'episodes', not {layout!r}")
    if standard not in STANDARDS:
        raise ValueError(f"standard must be 'ntsc' or 'pal', not {standard!r}")
    if main_seconds < 5 or episodes < 1 or episode_seconds < 3 or video_kbps < 500 or noise < 0:
        raise ValueError("need main_seconds >= 5, episodes >= 1, episode_seconds >= 3, video_kbps >= 500, noise >= 0")
    if "\0" in label:
        raise ValueError("label must not contain NUL")
    # genisoimage refuses volume ids over 32 bytes; cut (on a character boundary) like a real disc would.
    disc_label = label.encode()[:32].decode(errors="ignore")
    params = {"v": BUILDER_VERSION, "layout": layout, "standard": standard, "label": label, "noise": noise,
              "kbps": video_kbps}
    params.update({"episodes": episodes, "episode_seconds": episode_seconds} if layout == "episodes"
                  else {"main_seconds": main_seconds, "duplicate": duplicate})
    if interlaced:  # only when asked, so earlier cache keys stay valid
        params["interlaced"] = True
    if equal_episodes:
        params["equal_episodes"] = True
    key = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:12]
    cache_dir = Path(cache_dir).resolve()
    final = cache_dir / f"{layout}-{standard}-{key}"
    if (final / "complete").exists():
        return _load(final)

    ffmpeg = _find_ffmpeg(ffmpeg)
    for tool in ("spumux", "dvdauthor", "genisoimage"):
        if not shutil.which(tool):
            raise SampleDiscError(f"tool not found: {tool} (Debian packages dvdauthor, genisoimage)")
    if not FONT.is_file():
        raise SampleDiscError(f"font not found: {FONT} (Debian package fonts-dejavu-core)")
    cache_dir.mkdir(parents=True, exist_ok=True)
    for old in cache_dir.glob(".*.tmp-*"):
        try:
            if time.time() - old.stat().st_mtime > STALE_TMP_SECONDS:
                shutil.rmtree(old, ignore_errors=True)
        except FileNotFoundError:  # another process swept it first
            pass

    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=cache_dir))
    try:
        tmp.chmod(0o755)  # mkdtemp's 0700 would make the shared cache unreadable to other users
        work = tmp / "work"
        home = work / "home"  # spumux only finds fonts in ~/.spumux; never touch the real HOME
        (home / ".spumux").mkdir(parents=True)
        (home / ".spumux" / FONT.name).symlink_to(FONT)
        env = dict(os.environ, HOME=str(home), VIDEO_FORMAT=STANDARDS[standard][3])
        t0, lines = time.monotonic(), []

        def log(msg: str) -> None:
            lines.append(f"{time.monotonic() - t0:7.2f}s  {msg}\n")

        titles = _plan(layout, main_seconds, duplicate, episodes, episode_seconds, equal_episodes)
        log(f"start: {json.dumps(params, sort_keys=True)} ffmpeg={ffmpeg}")
        _author(titles, disc_label, work, tmp, ffmpeg, standard, video_kbps, noise, env, log,
                interlaced)
        shutil.rmtree(work)
        expected = _expected(titles, _read_label(tmp / "disc.iso"), label, standard, layout)
        text = json.dumps(expected, indent=1, ensure_ascii=False) + "\n"
        (tmp / "expected.json").write_text(text, encoding="utf-8")
        log("total done")
        (tmp / "build.log").write_text("".join(lines), encoding="utf-8")
        (tmp / "complete").write_text(f"{BUILDER_VERSION}\n")  # last: only complete builds carry it
        for _ in range(3):
            try:
                os.rename(tmp, final)
                break
            except OSError:
                if (final / "complete").exists():  # a concurrent build won the race: use its result
                    break
                # A dir without the stamp was never produced by a finished build (those are renamed in
                # whole); it is debris or a hand-made decoy, so replace it.
                shutil.rmtree(final, ignore_errors=True)
        else:
            raise SampleDiscError(f"could not move the build into place at {final}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return _load(final)


def _load(final: Path) -> SampleDisc:
    expected = json.loads((final / "expected.json").read_text(encoding="utf-8"))
    return SampleDisc(iso=final / "disc.iso", folder=final / "dvd", expected=expected)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Build (or reuse) a synthetic DVD-Video disc; print it as JSON.")
    ap.add_argument("--cache", required=True, type=Path, help="cache directory for builds")
    ap.add_argument("--layout", choices=("movie", "episodes"), default="movie")
    ap.add_argument("--main-seconds", type=int, default=120)
    ap.add_argument("--standard", choices=tuple(STANDARDS), default="ntsc")
    ap.add_argument("--label", default="DIGITIZER_TEST")
    ap.add_argument("--noise", type=int, default=0)
    ap.add_argument("--kbps", type=int, default=6000)
    ap.add_argument("--episodes", type=int, default=4)
    ap.add_argument("--episode-seconds", type=int, default=20)
    ap.add_argument("--interlaced", action="store_true", help="encode real interlaced video (TFF)")
    ap.add_argument("--duplicate", action="store_true", help="movie: add the main feature again as a last title")
    a = ap.parse_args(argv)
    try:
        disc = build_dvd(a.cache, layout=a.layout, main_seconds=a.main_seconds, standard=a.standard,
                         label=a.label, noise=a.noise, video_kbps=a.kbps, episodes=a.episodes,
                         episode_seconds=a.episode_seconds, duplicate=a.duplicate,
                         interlaced=a.interlaced)
    except (SampleDiscError, ValueError) as e:
        print(f"sample_disc: {e}", file=sys.stderr)
        return 1
    print(json.dumps({"iso": str(disc.iso), "folder": str(disc.folder), "expected": disc.expected},
                     ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
