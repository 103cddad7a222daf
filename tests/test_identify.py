"""detect, fingerprint and scan end to end on real sample DVDs, with the real tools."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sample_disc import build_dvd
from conftest import CACHE

pytestmark = pytest.mark.slow
VENV_BIN = Path(sys.executable).parent


def test_detect_classifies_each_source_and_reports_bad_ones(run_cli, movie_disc, tmp_path):
    junk = tmp_path / "junk.iso"
    junk.write_bytes(os.urandom(200_000))
    truncated = tmp_path / "truncated.iso"
    with open(movie_disc.iso, "rb") as src:
        truncated.write_bytes(src.read(40_000))
    empty = tmp_path / "empty"
    empty.mkdir()
    r = run_cli("detect", movie_disc.iso, junk, movie_disc.folder / "VIDEO_TS", truncated,
                empty, movie_disc.folder)
    assert r.code == 4
    rows = r.objects
    assert [(o["kind"], o["disc_type"], o["status"]) for o in rows] == [
        ("image", "dvd", "disc"), ("folder", "dvd", "disc"), ("folder", "dvd", "disc")]
    assert rows[0]["label"] == "DIGITIZER_TEST"
    errors = r.stderr.strip().splitlines()
    assert len(errors) == 3 and all(e.startswith("digitizer: ") for e in errors)
    assert "junk.iso" in errors[0] and "truncated.iso" in errors[1] and "empty" in errors[2]


def test_detect_without_arguments_lists_drives(run_cli):
    r = run_cli("detect")
    assert r.code == 0
    drives = sorted(f"/dev/{p.name}" for p in Path("/sys/block").glob("sr*"))
    assert [o["source"] for o in r.objects] == drives


def test_fingerprint_same_for_iso_and_folder_and_known_second_time(run_cli, movie_disc):
    first = run_cli("fingerprint", movie_disc.iso).objects[0]
    second = run_cli("fingerprint", movie_disc.folder / "VIDEO_TS").objects[0]
    assert first["fingerprint"] == second["fingerprint"]
    assert len(first["fingerprint"]) == 32
    assert set(first["ids"]) == {"dvdread_md5", "dvd_crc64", "thediscdb"}
    assert first["ids"]["thediscdb"] == second["ids"]["thediscdb"]
    assert first["known"] is False and second["known"] is True
    assert first["bytes_read"] <= 1 << 20 and second["bytes_read"] <= 1 << 20
    assert "progress" in second


def test_different_discs_differ(run_cli, movie_disc, pal_disc, episode_disc):
    fps = {run_cli("fingerprint", d.iso).objects[0]["fingerprint"]
           for d in (movie_disc, pal_disc, episode_disc)}
    assert len(fps) == 3


@pytest.mark.parametrize("which", ["iso", "folder"])
def test_scan_standard_disc(run_cli, movie_disc, which):
    source = movie_disc.iso if which == "iso" else movie_disc.folder
    out = run_cli("scan", source).objects[0]
    titles = {t["title"]: t for t in out["titles"]}
    expected = movie_disc.expected["titles"]
    assert [titles[e["title"]]["role"] for e in expected] == ["main", "extra", "extra", "short",
                                                             "extra"]
    main = titles[1]
    assert len(main["chapters"]) == 8
    assert main["duration"] == pytest.approx(120, abs=0.1)  # ffmpeg encoded 120 real seconds
    assert [a["lang"] for a in main["audio"]] == ["en", "fr"]
    assert [a["channels"] for a in main["audio"]] == [6, 2]
    assert [s["lang"] for s in main["subtitles"]] == ["en", "fr"]
    assert main["video"]["standard"] == "NTSC" and main["video"]["aspect"] == "16:9"
    assert main["video"]["interlaced"] is False
    assert titles[5]["video"]["aspect"] == "4:3" and titles[5]["audio"][0]["codec"] == "lpcm"
    assert all(t["size"] > 0 for t in titles.values())
    marker = json.loads((Path(out["folder"]) / ".digitizer-disc.json").read_text())
    assert marker["fingerprint"] == out["fingerprint"] and len(marker["titles"]) == 5


@pytest.mark.parametrize("which", ["iso", "folder"])
def test_scan_episode_disc(run_cli, episode_disc, which):
    source = episode_disc.iso if which == "iso" else episode_disc.folder
    titles = run_cli("scan", source).objects[0]["titles"]
    assert [t["role"] for t in titles] == ["play_all", "episode", "episode", "episode",
                                           "episode", "short"]
    assert [t.get("episode") for t in titles[1:5]] == [1, 2, 3, 4]
    assert titles[0]["duration"] == pytest.approx(sum(t["duration"] for t in titles[1:5]), abs=1)


@pytest.mark.parametrize("which", ["iso", "folder"])
def test_scan_pal_disc(run_cli, pal_disc, which):
    source = pal_disc.iso if which == "iso" else pal_disc.folder
    titles = run_cli("scan", source).objects[0]["titles"]
    main = titles[0]
    assert main["role"] == "main"
    assert main["video"]["standard"] == "PAL" and main["video"]["height"] == 576
    assert main["video"]["fps"] == 25
    assert main["duration"] == pytest.approx(30, abs=0.1)  # no NTSC correction for PAL


def test_detect_fingerprint_scan_pipe(home, movie_disc):
    env = dict(os.environ, DIGITIZER_HOME=str(home))
    exe = str(VENV_BIN / "digitizer")
    detect = subprocess.Popen([exe, "detect", str(movie_disc.iso)], stdout=subprocess.PIPE,
                              env=env)
    fpr = subprocess.Popen([exe, "fingerprint", "-"], stdin=detect.stdout,
                           stdout=subprocess.PIPE, env=env)
    scan = subprocess.run([exe, "scan", "-"], stdin=fpr.stdout, capture_output=True, env=env,
                          text=True)
    assert scan.returncode == 0, scan.stderr
    out = json.loads(scan.stdout)
    assert out["label"] == "DIGITIZER_TEST" and len(out["titles"]) == 5
    assert scan.stderr == ""  # no progress noise when piped


def test_malformed_json_on_stdin(run_cli):
    r = run_cli("scan", "-", input='{"source": "/x"}\n{not json\n')
    assert r.code == 2 and r.stderr.startswith("digitizer: stdin: line 2 is not JSON")


HOSTILE = ["../../etc", "$(reboot)", "a\nb\x1b[31m"]


@pytest.mark.parametrize("label", HOSTILE)
def test_hostile_labels_are_data(run_cli, home, label):
    disc = build_dvd(CACHE, main_seconds=5, label=label)
    det = run_cli("detect", disc.iso).objects[0]
    assert det["label"] == disc.expected["label"] == label
    fp = run_cli("fingerprint", disc.iso).objects[0]
    assert fp["label"] == label
    staging = (home / "data" / "staging").resolve()
    folder = Path(fp["folder"]).resolve()
    assert folder.parent == staging
    assert not any(c in folder.name for c in "/\n\x1b$()") and ".." not in folder.name.split("-")[0]
    table = run_cli("detect", disc.iso, "--table").stdout
    assert "\x1b" not in table and "\n" not in table.splitlines()[1]


def test_equal_length_episodes_are_episodes_not_duplicates(run_cli):
    # Four PAL episodes of exactly the same length and chapter layout, and a play-all: the
    # old rule took equal lengths for duplicates (main extra duplicate duplicate duplicate).
    disc = build_dvd(CACHE, layout="episodes", standard="pal", episodes=4, episode_seconds=12,
                     equal_episodes=True, label="PAL_EQUAL")
    titles = run_cli("scan", disc.iso).objects[0]["titles"]
    assert len({round(t["duration"], 1) for t in titles[1:5]}) == 1
    assert [t["role"] for t in titles] == ["play_all"] + ["episode"] * 4 + ["short"]
    assert [t.get("episode") for t in titles[1:5]] == [1, 2, 3, 4]
