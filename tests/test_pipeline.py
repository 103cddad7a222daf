"""rip, transcode and insert end to end on real sample DVDs with the real tools."""

import http.server
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from conftest import CACHE
from digitizer import markers
from digitizer.tools import ffmpeg as media
from digitizer.tools import run as tools
from sample_disc import build_dvd

pytestmark = pytest.mark.slow
FF = media.binary()
VENV_BIN = Path(sys.executable).parent


def probe(path):
    return media.probe(path, FF)


def streams(info, kind):
    return [s for s in info["streams"] if s["type"] == kind]


def test_rip_main_title_is_complete_and_chapters_match_the_disc(run_cli, movie_disc, home):
    r = run_cli("rip", movie_disc.iso, "--title", "1")
    assert r.code == 0, r
    out = r.objects[0]
    path = Path(out["path"])
    assert path.name == "title_01.mkv" and path.parent.parent == home / "data" / "staging"
    info = probe(path)
    assert info["duration"] == pytest.approx(120, abs=0.5)
    assert [(s["codec"], s["lang"]) for s in streams(info, "audio")] == [("ac3", "eng"),
                                                                         ("ac3", "fre")]
    assert [(s["codec"], s["lang"]) for s in streams(info, "subtitle")] == [
        ("dvd_subtitle", "eng"), ("dvd_subtitle", "fre")]
    # The oracle: ffmpeg's own two-pass chapter index (-preindex) of the same title.
    ref = tools.run([FF, "-hide_banner", "-f", "dvdvideo", "-preindex", "1", "-title", "1",
                     "-i", str(movie_disc.iso)], check=False).stderr
    ref_starts = media.parse_probe(ref)["chapters"]
    assert len(info["chapters"]) == len(ref_starts) == 8
    for got, want in zip(info["chapters"], ref_starts):
        assert abs(got - want) <= 0.1, (info["chapters"], ref_starts)
    marker = markers.artefact(path)
    assert marker["step"] == "rip" and marker["title"] == 1
    assert marker["tool_versions"]["ffmpeg"].startswith("ffmpeg version")
    assert not list(path.parent.glob("*.part"))


def test_default_selection_lpcm_and_no_rerip(run_cli, movie_disc):
    r = run_cli("rip", movie_disc.iso)
    assert r.code == 0, r
    assert [o["title"] for o in r.objects] == [1, 2, 3, 5]  # not the 3 s title
    bonus = Path(r.objects[-1]["path"])
    assert [s["codec"] for s in streams(probe(bonus), "audio")] == ["flac"]
    assert markers.artefact(bonus)["lpcm_converted_to_flac"] is True
    mtimes = {o["path"]: os.stat(o["path"]).st_mtime_ns for o in r.objects}
    again = run_cli("rip", movie_disc.iso)
    assert [o["skipped"] for o in again.objects] == [True] * 4
    assert mtimes == {o["path"]: os.stat(o["path"]).st_mtime_ns for o in again.objects}


def test_not_enough_space_stops_before_writing(run_cli, movie_disc, monkeypatch, home):
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr("digitizer.steps.rip.shutil.disk_usage", lambda p: usage(10**9, 10**9, 10**6))
    r = run_cli("rip", movie_disc.iso)
    assert r.code == 1 and "not enough space" in r.stderr
    assert not list((home / "data" / "staging").rglob("*.mkv*"))


def test_failing_encoder_leaves_nothing_that_looks_finished(run_cli, movie_disc, home):
    ripped = run_cli("rip", movie_disc.iso, "--title", "3").objects[0]
    cfg = home / "config" / "config.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text('[presets.broken]\nvideo = ["-c:v", "libx264", "-profile:v", "no-such-profile"]\n')
    r = run_cli("transcode", ripped["path"], "--preset", "broken")
    assert r.code == 3 and r.stderr.startswith("digitizer: ffmpeg exited with")
    out_dir = home / "data" / "transcoded"
    assert not [p for p in out_dir.rglob("*") if p.is_file()]
    from digitizer.catalog import Catalog

    step = Catalog(home / "data" / "catalog.db").step(ripped["fingerprint"], 3, "transcode")
    assert step["state"] == "failed" and "ffmpeg" in step["error"]


def test_transcode_plays_through_and_keeps_streams(run_cli, movie_disc):
    ripped = run_cli("rip", movie_disc.iso, "--title", "2").objects[0]
    r = run_cli("transcode", ripped["path"], "--preset", "h264")
    assert r.code == 0, r
    out = Path(r.objects[0]["path"])
    info = probe(out)
    assert streams(info, "video")[0]["codec"] == "h264"
    assert [s["lang"] for s in streams(info, "audio")] == ["eng", "fre"]
    assert [s["lang"] for s in streams(info, "subtitle")] == ["eng", "fre"]
    assert len(info["chapters"]) == 2
    assert media.decode_errors(out, FF) == ""
    assert markers.artefact(out)["deinterlaced"] is False


def test_interlaced_source_is_deinterlaced(run_cli):
    disc = build_dvd(CACHE, main_seconds=20, interlaced=True, label="INTERLACED")
    ripped = run_cli("rip", disc.iso, "--title", "1").objects[0]
    r = run_cli("transcode", ripped["path"], "--preset", "h264")
    out = Path(r.objects[0]["path"])
    assert r.objects[0]["deinterlaced"] is True
    assert markers.artefact(out)["deinterlaced"] is True
    assert streams(probe(out), "video")[0].get("field_order") == "progressive"


def test_list_presets(run_cli):
    names = [o["preset"] for o in run_cli("transcode", "--list-presets").objects]
    assert {"h264", "hevc", "av1", "copy"} <= set(names)


def _rip_and_copy(run_cli, source, *args):
    ripped = run_cli("rip", source, *args)
    assert ripped.code == 0, ripped
    done = run_cli("transcode", "-", "--preset", "copy", input=ripped.stdout)
    assert done.code == 0, done
    return done.stdout


def test_insert_movie_with_extras(run_cli, movie_disc, home):
    piped = _rip_and_copy(run_cli, movie_disc.iso)
    lib = home / "lib"
    r = run_cli("insert", "-", "--library", lib, "--movie", "Big Buck Bunny (2008)",
                input=piped)
    assert r.code == 0, r
    files = sorted(str(p.relative_to(lib)) for p in lib.rglob("*.mkv"))
    assert files == ["Movies/Big Buck Bunny (2008)/Big Buck Bunny (2008).mkv",
                     "Movies/Big Buck Bunny (2008)/Other/DIGITIZER_TEST - title 02.mkv",
                     "Movies/Big Buck Bunny (2008)/Other/DIGITIZER_TEST - title 03.mkv",
                     "Movies/Big Buck Bunny (2008)/Other/DIGITIZER_TEST - title 05.mkv"]
    main = lib / files[0]
    assert markers.read(markers.sidecar(main))["step"] == "insert"
    assert not list((home / "data" / "transcoded").rglob("*.mkv"))  # moved, not copied


def test_insert_tv_discs_keep_counting_episodes(run_cli, episode_disc, home):
    lib = home / "lib"
    piped = _rip_and_copy(run_cli, episode_disc.iso)
    r = run_cli("insert", "-", "--library", lib, "--show", "Test Show (2020)", input=piped)
    assert r.code == 0, r
    disc2 = build_dvd(CACHE, layout="episodes", episodes=2, episode_seconds=20,
                      label="SHOW_S1_D2")
    piped2 = _rip_and_copy(run_cli, disc2.iso)
    r2 = run_cli("insert", "-", "--library", lib, "--show", "Test Show (2020)", input=piped2)
    assert r2.code == 0, r2
    season = lib / "TV Shows" / "Test Show (2020)" / "Season 01"
    assert sorted(p.name for p in season.glob("*.mkv")) == [
        f"Test Show (2020) - s01e{n:02d}.mkv" for n in range(1, 7)]


def test_insert_conflicts_and_hostile_names(run_cli, movie_disc, home):
    lib = home / "lib"
    piped = _rip_and_copy(run_cli, movie_disc.iso, "--title", "3")
    target = lib / "Movies" / "Evil .. Movie (2000)"
    evil = "../../Evil: ../Movie (2000)"
    # A different file already has the extra's name.
    clash = target / "Other" / "DIGITIZER_TEST - title 03.mkv"
    clash.parent.mkdir(parents=True)
    clash.write_bytes(b"someone else's file")
    r = run_cli("insert", "-", "--library", lib, "--movie", evil, input=piped)
    assert r.code == 1 and "exists and is a different file" in r.stderr
    assert clash.read_bytes() == b"someone else's file"
    r = run_cli("insert", "-", "--library", lib, "--movie", evil, "--on-conflict", "skip",
                input=piped)
    assert r.code == 0 and r.objects[0]["skipped"] is True
    r = run_cli("insert", "-", "--library", lib, "--movie", evil, "--on-conflict", "suffix",
                input=piped)
    assert r.code == 0, r
    placed = Path(r.objects[0]["path"])
    assert placed.name == "DIGITIZER_TEST - title 03 (2).mkv"
    assert placed.resolve().is_relative_to(lib.resolve())
    assert all(p.resolve().is_relative_to(home.resolve()) for p in home.parent.rglob("*.mkv"))


def test_the_documented_pipe_from_a_shell(home, movie_disc, tmp_path):
    lib = tmp_path / "media"
    env = dict(os.environ, DIGITIZER_HOME=str(home), PATH=f"{VENV_BIN}:{os.environ['PATH']}")
    pipe = (f"digitizer scan '{movie_disc.iso}' | digitizer rip - | "
            "digitizer transcode - --preset h264 | "
            f"digitizer insert - --library '{lib}' --movie 'Big Buck Bunny (2008)'")
    done = subprocess.run(["bash", "-o", "pipefail", "-c", pipe], env=env, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 4
    movie = lib / "Movies" / "Big Buck Bunny (2008)" / "Big Buck Bunny (2008).mkv"
    info = probe(movie)
    assert info["duration"] == pytest.approx(120, abs=1) and len(info["chapters"]) == 8
    assert media.decode_errors(movie, FF) == ""


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen = []

    def _record(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        _Recorder.seen.append((self.command, self.path, dict(self.headers), body))
        self.send_response(204 if self.command == "POST" else 200)
        self.end_headers()

    do_GET = do_POST = _record

    def log_message(self, *a):
        pass


def test_media_server_refresh_requests(run_cli, movie_disc, home, monkeypatch):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    for key, value in (("PLEX_URL", url), ("PLEX_TOKEN", "ptok"), ("PLEX_SECTION", "3"),
                       ("JELLYFIN_URL", url), ("JELLYFIN_TOKEN", "jtok")):
        monkeypatch.setenv("DIGITIZER_" + key, value)
    _Recorder.seen.clear()
    piped = _rip_and_copy(run_cli, movie_disc.iso, "--title", "1")
    r = run_cli("insert", "-", "--movie", "Film (1999)", input=piped)
    server.shutdown()
    assert r.code == 0, r
    movie = Path(r.objects[0]["path"])
    (get, get_path, get_headers, _), (post, post_path, post_headers, body) = _Recorder.seen
    from urllib.parse import parse_qs, urlsplit

    assert get == "GET" and urlsplit(get_path).path == "/library/sections/3/refresh"
    assert parse_qs(urlsplit(get_path).query)["path"] == [str(movie.parent)]
    assert get_headers["X-Plex-Token"] == "ptok"
    assert post == "POST" and post_path == "/Library/Media/Updated"
    assert post_headers["X-Emby-Token"] == "jtok"
    assert json.loads(body) == {"Updates": [{"Path": str(movie), "UpdateType": "Created"}]}
