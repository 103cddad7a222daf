"""Unattended runs never fail silently: every failure is visible, counted in the exit code,
and every disc gets finished (issue 11). Real discs, real processes."""

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from digitizer.catalog import Catalog
from test_unattended import EXE, MOVIE, env_for, leftovers, library_files, run

pytestmark = pytest.mark.slow


def catalog(home):
    return Catalog(home / "data" / "catalog.db")


def write_config(home, text):
    cfg = home / "config" / "config.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(text)


def test_a_failed_insert_is_counted_and_a_running_watch_retries_it(tmp_path, movie_disc):
    home = tmp_path / "h"
    blocker = tmp_path / "lib"
    blocker.write_text("a file where the library folder should be")
    lib = blocker / "media"
    done = run(home, "watch", "--once", movie_disc.iso, "--movie", MOVIE, check=False,
               DIGITIZER_PRESET="copy", DIGITIZER_LIBRARY=str(lib))
    # Every title failed at insert; watch said so and did not claim success.
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "Exception in thread" not in done.stderr
    failed = [line for line in done.stderr.splitlines() if "Not a directory" in line]
    assert len(failed) == 5 and all(line.startswith("digitizer: ") for line in failed)
    # four as they failed, then one for the disc: what waits, and the command that retries
    [disc] = [line for line in failed if line.startswith("digitizer: error: disc ")]
    assert "(and 3 more failed step(s))" in disc and "`digitizer resume --retry " in disc
    status = json.loads(run(home, "status", "--json", DIGITIZER_LIBRARY=str(lib)).stdout)
    assert len(status["failed"]) == 4 and all("Not a directory" in f["error"]
                                              for f in status["failed"])
    # status says that a running watch will try again, and when
    assert all(f["retry_at"] > time.time() - 60 for f in status["failed"]), status["failed"]
    text = run(home, "status", "--table", DIGITIZER_LIBRARY=str(lib)).stdout
    assert text.count("a running watch retries it at") == 4, text
    # resume says the same with its exit code: tried again, failed again
    again = run(home, "resume", "--retry", "--movie", MOVIE, check=False,
                DIGITIZER_PRESET="copy", DIGITIZER_LIBRARY=str(lib))
    assert again.returncode == 1 and again.stderr.count("Not a directory") == 5, again.stderr
    assert "Traceback" not in again.stderr
    assert {s["kind"]: s["state"] for s in catalog(home).steps()}["transcode"] == "done"
    # A long-running watch keeps going and retries once the cause has gone.
    proc = subprocess.Popen([EXE, "watch", "--movie", MOVIE],
                            env=env_for(home, DIGITIZER_PRESET="copy",
                                        DIGITIZER_LIBRARY=str(lib),
                                        DIGITIZER_RETRY_SECONDS="1",
                                        DIGITIZER_POLL_SECONDS="0.5"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        time.sleep(2)
        blocker.unlink()  # the cause goes away
        deadline = time.monotonic() + 60
        while len(list(lib.rglob("*.mkv"))) < 4 and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read().decode()
            time.sleep(0.5)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
    assert len(list(lib.rglob("*.mkv"))) == 4
    events = [e["event"] for e in catalog(home).events(limit=500)]
    assert "step_retry" in events
    assert catalog(home).steps(state="failed") == []


def test_a_disc_only_scanned_is_finished_by_watch_and_by_resume(tmp_path, movie_disc):
    for how in ("watch", "resume"):
        home = tmp_path / how
        run(home, "scan", movie_disc.iso, "--no-probe")
        status = run(home, "status", "--table").stdout
        assert "nothing unfinished" not in status and "scanned, not started" in status
        if how == "watch":
            run(home, "watch", "--once", movie_disc.iso, "--movie", MOVIE,
                DIGITIZER_PRESET="copy")
        else:
            run(home, "resume", "--movie", MOVIE, DIGITIZER_PRESET="copy")
        assert len(library_files(home)) == 4, how
        assert "nothing unfinished" in run(home, "status", "--table").stdout


def test_watch_once_gives_the_same_exit_codes_as_scan(tmp_path, movie_disc):
    truncated = tmp_path / "truncated.iso"
    with open(movie_disc.iso, "rb") as src:
        truncated.write_bytes(src.read(40_000))
    for source, code in ((truncated, 4), (tmp_path / "missing.iso", 4)):
        home = tmp_path / f"h{code}{source.name}"
        scan = run(home, "scan", source, check=False)
        watch = run(home, "watch", "--once", source, check=False)
        assert scan.returncode == watch.returncode == code, (source, watch.stderr)
        assert len(watch.stderr.strip().splitlines()) == 1
    home = tmp_path / "no-lsdvd"
    watch = run(home, "watch", "--once", movie_disc.iso, check=False,
                DIGITIZER_LSDVD="/nonexistent/lsdvd")
    assert watch.returncode == 3 and "lsdvd not found" in watch.stderr


def test_config_of_the_wrong_type_is_refused(run_cli, home):
    for text in ("staging = 5", "library = true", "transcode_workers = \"2\"",
                 "presets = 5", "[sources.X]\nmovie = 3"):
        write_config(home, text + "\n")
        r = run_cli("config", "show")
        assert r.code == 2 and r.stderr.count("\n") == 1, (text, r)
    assert not (Path.cwd() / "5").exists() and not (Path.cwd() / "True").exists()


@pytest.mark.parametrize("command, obj, field", [
    ("transcode", {"path": 5}, "path"),
    ("insert", {"path": ["a"]}, "path"),
    ("rip", {"titles": "x", "source": "/x", "fingerprint": "f"}, "titles"),
    ("rip", {"titles": [{"title": "1"}], "source": "/x", "fingerprint": "f"}, "title"),
    ("fingerprint", {"source": None}, "source"),
])
def test_json_of_the_wrong_shape_is_one_line_naming_the_field(run_cli, command, obj, field):
    extra = ["--movie", "X (2000)"] if command == "insert" else []
    r = run_cli(command, "-", *extra, input=json.dumps(obj))
    assert r.code == 2, r
    assert r.stderr.count("\n") == 1 and f'"{field}"' in r.stderr, r.stderr


def test_piped_json_never_decides_where_files_are_written(run_cli, movie_disc, home, tmp_path):
    scanned = run_cli("scan", movie_disc.iso, "--no-probe").objects[0]
    elsewhere = tmp_path / "elsewhere"
    scanned["folder"] = str(elsewhere)
    scanned["titles"] = [t for t in scanned["titles"] if t["title"] == 3]
    r = run_cli("rip", "-", input=json.dumps(scanned))
    assert r.code == 0, r
    assert [o["title"] for o in r.objects] == [3]
    assert not elsewhere.exists()
    assert Path(r.objects[0]["path"]).parent.parent == home / "data" / "staging"


def test_a_piped_path_never_decides_where_transcode_writes(run_cli, movie_disc, home):
    [ripped] = run_cli("rip", movie_disc.iso, "--title", 3).objects
    disc = Path(ripped["path"]).parent
    (disc / "sub").mkdir()
    roundabout = disc / "sub" / ".." / Path(ripped["path"]).name
    r = run_cli("transcode", "-", "--preset", "copy", input=json.dumps({"path": str(roundabout)}))
    assert r.code == 0, r
    [done] = r.objects
    assert Path(done["path"]).parent == home / "data" / "transcoded" / disc.name


def test_a_very_long_non_ascii_name_fits_the_file_system(tmp_path, movie_disc):
    home = tmp_path / "h"
    name = "漢" * 300 + " (2000)"
    run(home, "rip", movie_disc.iso, "--title", 1)
    run(home, "resume", "--movie", name, DIGITIZER_PRESET="copy")
    [movie] = library_files(home)
    folder, file = movie.split("/")[1:]
    assert len(file.encode()) <= 255 and file.endswith(" (2000).mkv")
    assert folder == file[:-4]
    # the same long name always gives the same cut: a second run finds the file
    again = run(home, "resume", "--movie", name, DIGITIZER_PRESET="copy")
    assert library_files(home) == {movie: library_files(home)[movie]} and again.returncode == 0


def test_a_long_name_with_an_edition_fits_the_file_system(run_cli, movie_disc, home):
    [ripped] = run_cli("rip", movie_disc.iso, "--title", 1).objects
    [coded] = run_cli("transcode", ripped["path"], "--preset", "copy").objects
    r = run_cli("insert", coded["path"], "--movie", "漢" * 300 + " (2000)", "--edition", "版" * 40)
    assert r.code == 0, r
    [done] = r.objects
    path = Path(done["path"])
    assert path.is_file() and all(len(part.encode()) <= 255 for part in path.parts)
    assert path.name.endswith(".mkv") and "(2000)" in path.name


def test_a_newline_in_the_volume_label_is_just_data(run_cli):
    from conftest import CACHE
    from sample_disc import build_dvd

    disc = build_dvd(CACHE, main_seconds=12, label="TWO\nLINES 'Q'")
    r = run_cli("scan", disc.iso, "--no-probe")
    assert r.code == 0, r
    assert r.objects[0]["label"] == "TWO\nLINES 'Q'"
    assert [t["role"] for t in r.objects[0]["titles"]][0] == "main"


def test_a_disc_met_again_under_its_configured_label_gets_that_name(tmp_path, movie_disc):
    home = tmp_path / "h"
    run(home, "watch", "--once", movie_disc.iso, DIGITIZER_PRESET="copy")
    assert library_files(home) == {}  # a guess from the label: held for review
    relabelled = tmp_path / "real.iso"
    subprocess.run(["genisoimage", "-quiet", "-dvd-video", "-V", "REAL_NAME", "-o",
                    str(relabelled), str(movie_disc.folder)], check=True)
    write_config(home, f'[sources."REAL_NAME"]\nmovie = "{MOVIE}"\n')
    run(home, "watch", "--once", relabelled, DIGITIZER_PRESET="copy")
    assert len(library_files(home)) == 4
    assert all(path.startswith(f"Movies/{MOVIE}/") for path in library_files(home))
    assert catalog(home).steps(state="review") == []


def test_marker_temporaries_of_a_killed_writer_are_swept(tmp_path, movie_disc):
    home = tmp_path / "h"
    run(home, "rip", movie_disc.iso, "--title", 1)
    run(home, "resume", "--movie", MOVIE, DIGITIZER_PRESET="copy")
    [movie] = library_files(home)
    folder = (home / "data" / "library" / movie).parent
    dead = subprocess.Popen(["true"])
    dead.wait()
    # The state a kill -9 leaves in the middle of the marker's write: the file is in place,
    # its marker is still a temporary of the dead writer.
    sidecar = folder / f".{Path(movie).name}.digitizer.json"
    stale = sidecar.with_name(f".{sidecar.name}.tmp-{dead.pid}")
    os.replace(sidecar, stale)
    [step] = catalog(home).steps(kind="insert")
    catalog(home).set_step(step["fingerprint"], 1, "insert", state="running", output=None,
                           worker_pid=dead.pid, worker_host=socket.gethostname())
    run(home, "resume", "--movie", MOVIE, DIGITIZER_PRESET="copy")
    assert not stale.exists() and sidecar.exists() and leftovers(home) == []
    assert library_files(home) == {movie: library_files(home)[movie]}


def test_digitizer_home_keeps_the_dvd_key_cache(tmp_path, movie_disc):
    home = tmp_path / "h"
    user = tmp_path / "user"
    user.mkdir()
    run(home, "rip", movie_disc.iso, "--title", 3, HOME=str(user))
    assert not (user / ".dvdcss").exists()
    assert (home / "data" / "dvdcss").is_dir()


def _kill_at(home, argv, delay, shell=False):
    """Start a run in its own process group and SIGKILL the whole group after `delay` s."""
    proc = subprocess.Popen(["bash", "-o", "pipefail", "-c", argv] if shell else [EXE, *argv],
                            env=env_for(home, DIGITIZER_PRESET="copy"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_kill_at_twenty_random_points_then_resume(tmp_path, pal_disc):
    """kill -9 at random moments of a `watch --once` run and of a pipe run; `resume` then
    gives the library of an uninterrupted run, byte for byte, and leaves nothing behind."""
    import random
    import shlex

    seed = int(os.environ.get("DIGITIZER_KILL_SEED", "20261122"))
    rng = random.Random(seed)
    ref = tmp_path / "ref"
    started = time.monotonic()
    run(ref, "watch", "--once", pal_disc.iso, "--movie", MOVIE, DIGITIZER_PRESET="copy")
    span = time.monotonic() - started
    reference = library_files(ref)
    assert reference
    exe, iso = shlex.quote(EXE), shlex.quote(str(pal_disc.iso))
    pipe = (f"{exe} scan {iso} --no-probe | {exe} rip - | {exe} transcode - "
            f"| {exe} insert - --movie {shlex.quote(MOVIE)}")
    for n in range(20):
        home = tmp_path / f"k{n}"
        delay = rng.uniform(0.05, span)
        if n % 2:
            _kill_at(home, pipe, delay, shell=True)
        else:
            _kill_at(home, ["watch", "--once", pal_disc.iso, "--movie", MOVIE], delay)
        done = run(home, "resume", pal_disc.iso, "--movie", MOVIE, check=False,
                   DIGITIZER_PRESET="copy")
        where = f"seed {seed}, run {n}, killed after {delay:.2f} s"
        assert done.returncode == 0, (where, done.stderr)
        assert library_files(home) == reference, where
        assert leftovers(home) == [], where
        status = json.loads(run(home, "status", "--json").stdout)
        assert status["discs"] == [] and status["failed"] == [] and status["running"] == [], \
            (where, status)


def test_a_temporary_whose_pid_now_belongs_to_another_process_is_swept(tmp_path):
    """After a kill -9 the dead writer's pid may be reused: a process that started after
    the temporary was last written cannot be its writer."""
    from digitizer import markers

    other = subprocess.Popen(["sleep", "30"])
    try:
        stale = tmp_path / f"..title_01.mkv.digitizer.json.tmp-{other.pid}"
        stale.write_text("{")
        an_hour_ago = time.time() - 3600
        os.utime(stale, (an_hour_ago, an_hour_ago))
        live = tmp_path / f"..title_02.mkv.digitizer.json.tmp-{os.getpid()}"
        live.write_text("{")
        assert markers.sweep(tmp_path) == [stale]
        assert not stale.exists() and live.exists()
    finally:
        other.kill()
        other.wait()
