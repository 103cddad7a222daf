"""The synthetic DVD builder must produce discs that real DVD readers (libdvdread, ffmpeg) accept.

Builds are cached in $DIGITIZER_TEST_CACHE (default tests/.cache), so only the first run encodes.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sample_disc import build_dvd

HERE = Path(__file__).resolve().parent
CACHE = Path(os.environ.get("DIGITIZER_TEST_CACHE") or HERE / ".cache")
MISSING = [t for t in ("ffmpeg", "spumux", "dvdauthor", "genisoimage", "lsdvd") if not shutil.which(t)]
pytestmark = [pytest.mark.slow]


def test_builder_tools_are_installed():
    assert not MISSING, f"missing tools (run `make setup`): {MISSING}"


def lsdvd(path: Path) -> dict:
    p = subprocess.run(["lsdvd", "-x", "-Oy", str(path)], capture_output=True, text=True, errors="replace")
    assert p.returncode == 0, p.stderr
    # libdvdread prints its "no css library" banner on stdout before the Python literal
    return ast.literal_eval(p.stdout[p.stdout.index("lsdvd = ") + len("lsdvd = "):])


def close(got: float, want: float) -> bool:
    # NTSC lengths come back ~0.1% short (29.97 vs 30 fps)
    return abs(got - want) <= 0.05 + 0.002 * want


@pytest.fixture(scope="module")
def movie():
    return build_dvd(CACHE, main_seconds=30)


@pytest.mark.parametrize("source", ["iso", "folder"])
def test_movie_reads_back_with_lsdvd(movie, source):
    path = movie.iso if source == "iso" else movie.folder
    assert (movie.folder / "VIDEO_TS" / "VIDEO_TS.IFO").is_file()
    info, expected = lsdvd(path), movie.expected["titles"]
    if source == "iso":  # a folder has no volume label
        assert info["title"] == movie.expected["label"] == "DIGITIZER_TEST"
    assert [t["name"] for t in expected] == ["MAIN", "EXTRA1", "EXTRA2", "SHORT", "BONUS43"]
    assert len(info["track"]) == 5 and info["longest_track"] == 1
    for got, want in zip(info["track"], expected):
        assert close(got["length"], want["seconds"]), (got["length"], want)
        assert got["vts"] == want["vts"]
        assert got["aspect"] == want["aspect"].replace(":", "/")
        assert len(got["chapter"]) == want["chapters"]
        # lsdvd pads the format name ("lpcm ")
        assert [(a["langcode"], a["format"].strip(), a["channels"]) for a in got["audio"]] == [
            (a["lang"], a["codec"], a["channels"]) for a in want["audio"]]
        assert [s["langcode"] for s in got.get("subp", [])] == want["subtitles"]
        # chapters snap to GOP starts (0.6 s apart), so nominal starts are only close
        starts = [sum(c["length"] for c in got["chapter"][:i]) for i in range(len(got["chapter"]))]
        assert all(abs(g - w) <= 0.7 for g, w in zip(starts, want["chapter_starts"])), (starts, want)
    main = info["track"][0]
    assert len(main["chapter"]) == 8 and len(main["audio"]) == 2 and len(main["subp"]) == 2


def test_movie_probes_with_ffmpeg_dvdvideo(movie):
    import imageio_ffmpeg  # a runtime dependency: never skipped
    p = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-f", "dvdvideo", "-title", "1",
                        "-i", str(movie.iso)], capture_output=True, text=True, errors="replace")
    # no output file given: ffmpeg exits non-zero after printing the input description, as intended
    assert "Input #0, dvdvideo" in p.stderr, p.stderr[-2000:]
    assert "Audio: ac3" in p.stderr and "(eng)" in p.stderr and "(fre)" in p.stderr
    assert p.stderr.count("dvd_subtitle") == 2
    assert p.stderr.count("Chapter #0:") == 8


def test_episodes_layout_has_play_all_first():
    disc = build_dvd(CACHE, layout="episodes", episodes=4, episode_seconds=8)
    expected = disc.expected["titles"]
    assert [t["kind"] for t in expected] == ["play_all"] + ["episode"] * 4 + ["short"]
    assert [t["seconds"] for t in expected[1:5]] == [8, 9, 10, 11]
    info = lsdvd(disc.iso)
    tracks = info["track"]
    assert len(tracks) == 6
    episodes = [t["length"] for t in tracks[1:5]]
    assert close(tracks[0]["length"], sum(episodes)) and close(tracks[0]["length"], 38)
    assert all(close(g, w["seconds"]) for g, w in zip(episodes, expected[1:5]))
    assert len(tracks[0]["chapter"]) == 8 and all(len(t["chapter"]) == 2 for t in tracks[1:5])
    assert all(len(t["audio"]) == 2 and len(t["subp"]) == 2 for t in tracks)


def test_duplicate_title_and_hostile_label_reads_back():
    label = "../../$(reboot) x"
    disc = build_dvd(CACHE, main_seconds=6, standard="pal", duplicate=True, label=label)
    assert disc.iso.resolve().parent.parent == CACHE.resolve()  # the label never becomes a path
    assert disc.expected["label"] == label  # genisoimage keeps it verbatim (it is <= 32 bytes)
    kinds = [t["kind"] for t in disc.expected["titles"]]
    assert kinds == ["main", "extra", "extra", "short", "duplicate", "extra"]
    tracks = lsdvd(disc.iso)["track"]
    assert len(tracks) == 6 and tracks[4]["length"] == tracks[0]["length"] == 6.0
    assert tracks[5]["vts"] == 2 and tracks[5]["length"] < tracks[0]["length"]


def test_cache_is_reused_and_needs_the_complete_stamp(movie, tmp_path, monkeypatch):
    t0 = time.monotonic()
    again = build_dvd(CACHE, main_seconds=30)
    assert time.monotonic() - t0 < 1 and again == movie

    small = build_dvd(CACHE, main_seconds=5, standard="pal", label="CACHE_TEST")
    root = small.iso.parent
    (root / "complete").unlink()  # as if a build had died right before finishing
    (root / "decoy").write_text("x")
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    rebuilt = build_dvd(CACHE, main_seconds=5, standard="pal", label="CACHE_TEST")
    assert rebuilt.iso == small.iso and (root / "complete").exists() and not (root / "decoy").exists()
    assert not list(home.iterdir())  # spumux fonts went into a private HOME, not the user's
    assert not list(CACHE.glob(f".{root.name}.tmp-*"))


def test_cli_prints_the_disc_as_one_json_line(movie):
    cmd = [sys.executable, str(HERE / "sample_disc.py"), "--cache", str(CACHE), "--main-seconds", "30"]
    p = subprocess.run(cmd, capture_output=True, text=True, check=True)
    lines = p.stdout.splitlines()
    assert len(lines) == 1
    out = json.loads(lines[0])
    assert out == {"iso": str(movie.iso), "folder": str(movie.folder), "expected": movie.expected}
