"""resume, watch, status and review: crash safety with real processes and real SIGKILLs."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from digitizer.catalog import Catalog

pytestmark = pytest.mark.slow
EXE = str(Path(sys.executable).parent / "digitizer")
MOVIE = "Big Buck Bunny (2008)"


# The built-in h264 uses x264's frame threads, whose bytes vary from run to run; these tests
# compare a killed-and-resumed library with an uninterrupted one byte for byte, so they encode
# with the same settings on slices, which are reproducible.
REPRO = ('preset = "repro"\n[presets.repro]\nvideo = ["-c:v", "libx264", "-preset", '
         '"veryfast", "-crf", "20", "-x264-params", "sliced-threads=1"]\n')


def env_for(home, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGITIZER_")}
    # No real online service in a test (the online ones run a local server and say so)
    env.update({"DIGITIZER_HOME": str(home), "DIGITIZER_ONLINE": "false"})
    env.update(extra)
    cfg = Path(home) / "config" / "config.toml"
    if not cfg.exists():
        cfg.parent.mkdir(parents=True, exist_ok=True)
        cfg.write_text(REPRO)
    return env


def run(home, *args, check=True, **extra):
    done = subprocess.run([EXE, *map(str, args)], env=env_for(home, **extra),
                          capture_output=True, text=True, timeout=600)
    if check:
        assert done.returncode == 0, done.stderr
    return done


def kill_when(home, argv, ready, timeout=120, **extra):
    """Start digitizer in its own process group; SIGKILL the group once ready() is true."""
    proc = subprocess.Popen([EXE, *map(str, argv)], env=env_for(home, **extra),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    deadline = time.monotonic() + timeout
    while not ready():
        assert proc.poll() is None, "finished before it could be killed: " + proc.stderr.read().decode()
        assert time.monotonic() < deadline
        time.sleep(0.002)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return proc


def sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def library_files(home):
    lib = home / "data" / "library"
    return {str(p.relative_to(lib)): sha(p) for p in lib.rglob("*.mkv")}


def leftovers(home):
    return sorted(str(p) for p in (home / "data").rglob("*")
                  if p.name.endswith(".part") or ".tmp-" in p.name)


def steps(home):
    return Catalog(home / "data" / "catalog.db").steps()


@pytest.fixture(scope="module")
def reference(tmp_path_factory, movie_disc):
    """An uninterrupted run of title 1: rip, h264 (on slices) transcode, insert."""
    home = tmp_path_factory.mktemp("reference")
    run(home, "rip", movie_disc.iso, "--title", 1)
    run(home, "resume", "--movie", MOVIE)
    files = library_files(home)
    assert list(files) == [f"Movies/{MOVIE}/{MOVIE}.mkv"]
    return files


def staged(home, pattern):
    return list((home / "data").rglob(pattern))


def test_kill_during_rip_then_resume(tmp_path, movie_disc, reference):
    home = tmp_path / "h"
    kill_when(home, ["rip", movie_disc.iso, "--title", 1],
              lambda: any(p.stat().st_size > 1 << 20 for p in staged(home, "title_01.mkv.part")))
    assert not staged(home, "title_01.mkv")  # nothing looks finished
    assert [s["state"] for s in steps(home) if s["kind"] == "rip"] == ["running"]  # stale
    run(home, "resume", "--movie", MOVIE)
    assert library_files(home) == reference
    assert leftovers(home) == []
    rip = [s for s in steps(home) if s["kind"] == "rip"][0]
    assert rip["state"] == "done" and rip["attempts"] == 2  # the dead claim was taken over


def test_kill_during_transcode_then_resume(tmp_path, movie_disc, reference):
    home = tmp_path / "h"
    ripped = json.loads(run(home, "rip", movie_disc.iso, "--title", 1).stdout)
    kill_when(home, ["transcode", ripped["path"]],
              lambda: any(p.stat().st_size > 256 << 10 for p in staged(home, "*.repro.mkv.part")))
    assert not staged(home, "*.repro.mkv")
    run(home, "resume", "--movie", MOVIE)
    assert library_files(home) == reference
    assert leftovers(home) == []
    states = {s["kind"]: (s["state"], s["attempts"]) for s in steps(home)}
    assert states["transcode"] == ("done", 2)


def test_kill_during_insert_then_resume(tmp_path, movie_disc, reference):
    home = tmp_path / "h"
    run(home, "rip", movie_disc.iso, "--title", 1)
    plan = run(home, "resume", "--dry-run").stdout
    assert json.loads(plan)["next"] == "transcode"
    ripped = staged(home, "title_01.mkv")[0]
    done = json.loads(run(home, "transcode", ripped).stdout)
    lib = home / "data" / "library"
    kill_when(home, ["insert", done["path"], "--movie", MOVIE, "--mode", "copy"],
              lambda: any(p.stat().st_size > 0 for p in lib.rglob("*.mkv.part")))
    assert not list(lib.rglob("*.mkv"))
    run(home, "resume", "--movie", MOVIE)
    assert library_files(home) == reference
    assert leftovers(home) == []


def test_two_watchers_share_one_catalog_and_never_rip_a_disc_twice(tmp_path, movie_disc,
                                                                    pal_disc):
    home = tmp_path / "h"
    extra = {"DIGITIZER_PRESET": "copy"}
    procs = [subprocess.Popen([EXE, "watch", "--once", str(src), str(movie_disc.folder)],
                              env=env_for(home, **extra), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
             for src in (movie_disc.iso, pal_disc.iso)]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
        assert "locked" not in err
    events = Catalog(home / "data" / "catalog.db").events(limit=1000)
    ripped = [(e["fingerprint"], e["title"]) for e in events if e["event"] == "title_ripped"]
    assert len(ripped) == len(set(ripped)) == 8  # each disc: titles 1, 2, 3, 5; none twice
    review = json.loads("[" + ",".join(run(home, "review").stdout.splitlines()) + "]")
    assert len(review) == 2  # both discs are named only by their labels: held in review


def test_watch_once_over_a_folder_of_images(tmp_path, movie_disc, episode_disc):
    isos = tmp_path / "isos"
    isos.mkdir()
    os.symlink(movie_disc.iso, isos / "film.iso")
    os.symlink(episode_disc.iso, isos / "show.iso")
    home = tmp_path / "h"
    cfg = home / "config" / "config.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text('preset = "copy"\n[sources."SHOW_S1_D1"]\nshow = "Test Show (2020)"\n')
    hook_log = tmp_path / "hook.ndjson"
    hook = f"{sys.executable} -c \"import sys; open('{hook_log}', 'a').write(sys.stdin.read() + '\\n')\""
    run(home, "watch", "--once", *sorted(isos.iterdir()), DIGITIZER_HOOK=hook)
    lib = home / "data" / "library"
    season = lib / "TV Shows" / "Test Show (2020)" / "Season 01"
    assert sorted(p.name for p in season.glob("*.mkv")) == [
        f"Test Show (2020) - s01e{n:02d}.mkv" for n in range(1, 5)]
    assert not (lib / "Movies").exists()  # the film's name is a guess: it waits for review
    waiting = [json.loads(l) for l in run(home, "review").stdout.splitlines()]
    assert [w["label"] for w in waiting] == ["DIGITIZER_TEST"]
    assert waiting[0]["suggestion"]["name"] == "Digitizer Test"
    fp = waiting[0]["fingerprint"]
    extras = [t["title"] for t in Catalog(home / "data" / "catalog.db").titles(fp) if t["role"] == "extra"]
    for bad in ("99=trailer", f"{extras[0]}=bloopers", "trailer"):
        refused = run(home, "review", "approve", fp[:8], "--movie", MOVIE, "--extra-type", bad,
                      check=False)
        assert refused.returncode == 2 and "--extra-type" in refused.stderr, refused.stderr
    assert not (lib / "Movies").exists()  # a refused approval inserts nothing
    # The type of one extra, known at review: it goes to its own folder, the rest to Other.
    approved = run(home, "review", "approve", fp[:8], "--movie", MOVIE,
                   "--extra-type", f"{extras[0]}=featurette")
    assert len(approved.stdout.splitlines()) == 4
    assert (lib / "Movies" / MOVIE / f"{MOVIE}.mkv").exists()
    paths = {json.loads(l)["title"]: Path(json.loads(l)["path"])
             for l in approved.stdout.splitlines()}
    assert paths[extras[0]].parent == lib / "Movies" / MOVIE / "Featurettes"
    assert all(paths[t].parent.name == "Other" for t in extras[1:])
    events = [json.loads(l)["event"] for l in hook_log.read_text().split("\n") if l.strip()]
    assert {"disc_detected", "title_inserted", "review_waiting", "disc_done"} <= set(events)
    status = json.loads(run(home, "status", "--json").stdout)
    assert status["discs"] == [] and status["failed"] == [] and status["review"] == []


def test_events_reach_the_webhook_and_a_failing_hook_is_only_a_warning(tmp_path, movie_disc):
    import http.server
    import threading

    got = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    home = tmp_path / "h"
    done = run(home, "watch", "--once", movie_disc.iso, DIGITIZER_PRESET="copy",
               DIGITIZER_WEBHOOK=f"http://127.0.0.1:{server.server_address[1]}/digitizer",
               DIGITIZER_HOOK="/nonexistent/hook")
    server.shutdown()
    assert done.returncode == 0
    assert "warning: hook failed: hook not found" in done.stderr
    events = [e["event"] for e in got]
    assert events[0] == "disc_detected" and "review_waiting" in events
    assert all(e["fingerprint"] for e in got)


def test_same_disc_again_is_not_ripped_again(tmp_path, movie_disc):
    home = tmp_path / "h"
    run(home, "watch", "--once", movie_disc.iso, DIGITIZER_PRESET="copy")
    first = [e for e in Catalog(home / "data" / "catalog.db").events(limit=500)
             if e["event"] == "title_ripped"]
    run(home, "watch", "--once", movie_disc.folder, DIGITIZER_PRESET="copy")  # same disc, copied
    again = [e for e in Catalog(home / "data" / "catalog.db").events(limit=500)
             if e["event"] == "title_ripped"]
    assert len(first) == len(again) == 4


def test_sigterm_stops_watch_and_hands_steps_back(tmp_path, movie_disc):
    home = tmp_path / "h"
    proc = subprocess.Popen([EXE, "watch", "--once", str(movie_disc.iso)],
                            env=env_for(home, DIGITIZER_PRESET="h264"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not staged(home, "*.h264.mkv.part"):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "SIGTERM" in err.strip().splitlines()[-1]
    assert [s for s in steps(home) if s["state"] in ("running", "failed")] == []
    assert not staged(home, "*.h264.mkv")
    ffmpegs = subprocess.run(["pgrep", "-f", str(home)], capture_output=True, text=True).stdout
    assert ffmpegs == ""  # no orphaned ffmpeg


def test_resume_plan_reset_retry_and_dismiss(tmp_path, movie_disc):
    home = tmp_path / "h"
    run(home, "rip", movie_disc.iso, "--title", 2, "--title", 3)
    plan = [json.loads(l) for l in run(home, "resume", "--dry-run").stdout.splitlines()]
    assert [(p["title"], p["next"]) for p in plan] == [(2, "transcode"), (3, "transcode")]
    ripped = staged(home, "title_02.mkv")[0]
    ripped.write_bytes(b"truncated")  # no longer what its marker describes
    plan = [json.loads(l) for l in run(home, "resume", "--dry-run").stdout.splitlines()]
    assert [(p["title"], p["next"]) for p in plan] == [(2, "rip"), (3, "transcode")]
    fp = plan[0]["fingerprint"]
    removed = json.loads(run(home, "resume", fp[:10], "--reset", 3, "--dry-run").stdout)["removed"]
    assert any(r.endswith("title_03.mkv") for r in removed)
    assert not staged(home, "title_03.mkv")
    cat = Catalog(home / "data" / "catalog.db")
    cat.fail(cat.step(fp, 2, "rip")["id"], "drive error")
    out = run(home, "resume", "--dry-run").stdout
    assert '"blocked"' in out and "drive error" in out
    run(home, "resume", "--dismiss")
    assert cat.step(fp, 2, "rip")["state"] == "dismissed"


def test_catalog_rebuilt_from_markers_equals_the_original(tmp_path, movie_disc, episode_disc):
    home = tmp_path / "h"
    run(home, "watch", "--once", movie_disc.iso, episode_disc.iso, DIGITIZER_PRESET="copy")
    # the first disc waiting is named as what it is (a movie name for a disc of episodes
    # is refused); the other stays in review, which the rebuild must keep as well
    first = json.loads(run(home, "review").stdout.splitlines()[0])
    if first["suggestion"]["kind"] == "show":
        run(home, "review", "approve", first["fingerprint"][:8], "--show", "Test Show (2020)")
    else:
        run(home, "review", "approve", first["fingerprint"][:8], "--movie", MOVIE)
    cat = Catalog(home / "data" / "catalog.db")
    before = cat.dump()
    assert before["steps"] and before["titles"] and len(before["discs"]) == 2
    run(home, "catalog", "rebuild")
    assert Catalog(home / "data" / "catalog.db").dump() == before


def test_service_files_are_printed_for_the_running_program(tmp_path):
    unit = run(tmp_path, "watch", "--print-systemd").stdout
    assert f"ExecStart={EXE} watch" in unit and "[Install]" in unit and "UMask=0002" in unit
    assert "User=" not in unit and "WantedBy=default.target" in unit  # a user service
    system = run(tmp_path, "watch", "--print-systemd", "--system", "--run-as", "media:video").stdout
    assert "User=media" in system and "Group=video" in system
    assert "Environment=DIGITIZER_HOME=/var/lib/digitizer" in system
    udev = run(tmp_path, "watch", "--print-udev").stdout
    assert 'KERNEL=="sr[0-9]*"' in udev and f"ExecStart={EXE} watch --once /dev/%I" in udev


class MediaServer:
    """A local Plex + Jellyfin stand-in recording every refresh request."""

    def __init__(self):
        import http.server
        import threading

        seen = self.seen = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def _record(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                seen.append((self.command, self.path, self.headers.get("X-Plex-Token"),
                             self.headers.get("X-Emby-Token"), body))
                self.send_response(204 if self.command == "POST" else 200)
                self.end_headers()

            do_GET = do_POST = _record

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.env = {"DIGITIZER_PLEX_URL": url, "DIGITIZER_PLEX_TOKEN": "ptok",
                    "DIGITIZER_PLEX_SECTION": "2", "DIGITIZER_JELLYFIN_URL": url,
                    "DIGITIZER_JELLYFIN_TOKEN": "jtok", "DIGITIZER_PRESET": "copy"}

    def refreshed(self) -> tuple[set, set]:
        """(folders Plex was asked to scan, files Jellyfin was told about)."""
        from urllib.parse import parse_qs, urlsplit

        plex = {parse_qs(urlsplit(p).query)["path"][0] for c, p, tok, _, _ in self.seen
                if c == "GET" and urlsplit(p).path == "/library/sections/2/refresh"
                and tok == "ptok"}
        jelly = {u["Path"] for c, p, _, tok, body in self.seen
                 if c == "POST" and p == "/Library/Media/Updated" and tok == "jtok"
                 for u in json.loads(body)["Updates"]}
        return plex, jelly


def _inserted(home):
    lib = home / "data" / "library"
    return {str(p) for p in lib.rglob("*.mkv")}


def test_watch_resume_and_review_approve_refresh_the_media_servers(tmp_path, movie_disc):
    servers = MediaServer()
    # watch --once with a name: every inserted file is announced to both servers.
    home = tmp_path / "watch"
    run(home, "watch", "--once", movie_disc.iso, "--movie", MOVIE, **servers.env)
    files = _inserted(home)
    assert len(files) == 4
    assert servers.refreshed() == ({str(Path(f).parent) for f in files}, files)
    # resume finishing a disc that was only ripped.
    servers.seen.clear()
    home = tmp_path / "resume"
    run(home, "rip", movie_disc.iso, "--title", 1, **servers.env)
    assert servers.seen == []
    run(home, "resume", "--movie", MOVIE, **servers.env)
    files = _inserted(home)
    assert len(files) == 1 and servers.refreshed() == ({str(Path(f).parent) for f in files}, files)
    # review approve: nothing is announced while the name is a guess, everything after.
    servers.seen.clear()
    home = tmp_path / "review"
    run(home, "watch", "--once", movie_disc.iso, **servers.env)
    assert servers.seen == [] and _inserted(home) == set()
    fp = json.loads(run(home, "review").stdout.splitlines()[0])["fingerprint"]
    run(home, "review", "approve", fp, "--movie", MOVIE, **servers.env)
    files = _inserted(home)
    servers.server.shutdown()
    assert len(files) == 4
    assert servers.refreshed() == ({str(Path(f).parent) for f in files}, files)


def test_status_pages_most_recent_first(tmp_path):
    import sqlite3

    sys.path.insert(0, str(Path(__file__).parent / "bench"))
    from gencatalog import make_catalog

    db = tmp_path / "big.db"
    make_catalog(db, discs=300, titles=3000, unfinished=0.5, seed=7)
    con = sqlite3.connect(db)
    unfinished = [fp for (fp,) in con.execute(
        "SELECT fingerprint FROM discs d WHERE EXISTS (SELECT 1 FROM steps s WHERE"
        " s.fingerprint = d.fingerprint AND s.state != 'done') ORDER BY last_seen DESC")]
    con.close()
    assert len(unfinished) > 100
    env = {"DIGITIZER_CATALOG": str(db)}
    page = json.loads(run(tmp_path, "status", "--json", "--limit", 5, **env).stdout)
    assert [d["fingerprint"] for d in page["discs"]] == unfinished[:5]
    assert page["unfinished_discs"] == len(unfinished)
    assert len(page["failed"]) == 5 and len(page["review"]) == 5
    everything = json.loads(run(tmp_path, "status", "--json", "--limit", 0, **env).stdout)
    assert [d["fingerprint"] for d in everything["discs"]] == unfinished
    text = run(tmp_path, "status", "--table", **env).stdout
    assert f"... {len(unfinished) - 20} more unfinished disc(s)" in text
