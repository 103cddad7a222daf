"""A failed step comes back by itself, or says so (issue 26). Real parts: a loop device with
a scratch (the EIO library of test_data_discs), a read-only bind mount as the library, a
tmpfs that fills up in the middle of a rip, and real concurrent processes on one catalog."""

import collections
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from digitizer.catalog import Catalog
from test_data_discs import BAD, data_iso, images, loop_device, shim  # noqa: F401 (fixtures)
from test_data_discs import run as run_data
from test_unattended import EXE, MOVIE, env_for, leftovers, library_files, run

pytestmark = pytest.mark.slow


def catalog(home):
    return Catalog(home / "data" / "catalog.db")


def events(home, name):
    return [e for e in catalog(home).events(limit=1000) if e["event"] == name]


def failed(home):
    return json.loads(run(home, "status", "--json").stdout)["failed"]


@contextlib.contextmanager
def read_only(folder: Path):
    """`folder` as a read-only bind mount of itself (root ignores chmod); yields a function
    that makes it writable again, as a person fixing the library does."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "--bind", str(folder), str(folder)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(folder)], check=True)
        yield lambda: subprocess.run(["mount", "-o", "remount,rw,bind", str(folder)],
                                     check=True)
    finally:
        subprocess.run(["umount", str(folder)], check=False)


@contextlib.contextmanager
def tmpfs(folder: Path, size: str):
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                   check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


def test_a_damaged_data_disc_put_back_in_continues_from_its_map(tmp_path, data_iso, shim):
    home = tmp_path / "h"
    with loop_device(data_iso) as device:
        scratched = {"LD_PRELOAD": str(shim), "EIO_PATH": device,
                     "EIO_START": str(BAD[0]), "EIO_END": str(BAD[1])}
        first = run_data(home, "watch", "--once", device, **scratched)
        assert first.returncode == 4, first.stderr
        # Put back in, still scratched: the map is continued with the configured retry
        # passes, and the run says what waits instead of exiting 0 doing nothing.
        again = run_data(home, "watch", "--once", device, DIGITIZER_IMAGE_RETRIES="1",
                         **scratched)
        assert again.returncode == 4, again.stderr
        [line] = [x for x in again.stderr.splitlines() if x.startswith("digitizer: error: disc")]
        assert "title 1 rip failed" in line and "unreadable sectors 1024-1055" in line
        fp = catalog(home).steps()[0]["fingerprint"]
        assert f"`digitizer resume --retry {fp}`" in line
        assert len(events(home, "step_retry")) == 1
        assert images(home) == []
        staged = list((home / "data" / "staging").rglob("title_01.iso.part.map"))
        assert len(staged) == 1  # kept for the next try
        # Cleaned and put back in: the same command finishes it.
        done = run_data(home, "watch", "--once", device)
    assert done.returncode == 0, done.stderr
    [image] = images(home)
    assert image.read_bytes() == data_iso.read_bytes() and leftovers(home) == []
    assert failed(home) == []


@pytest.mark.parametrize("how", ["watch", "resume"])
def test_a_library_that_was_read_only_is_finished_by_the_next_run(tmp_path, movie_disc, how):
    home = tmp_path / "h"
    with read_only(home / "data" / "library") as fix:
        first = run(home, "watch", "--once", movie_disc.iso, "--movie", MOVIE, check=False,
                    DIGITIZER_PRESET="copy")
        assert first.returncode == 1, first.stderr
        assert "Read-only file system" in first.stderr
        waiting = failed(home)
        assert len(waiting) == 4 and {f["step"] for f in waiting} == {"insert"}
        assert all(f["cause"] == "disk" and f["retry_at"] for f in waiting), waiting
        fix()
        if how == "watch":
            done = run(home, "watch", "--once", movie_disc.iso, "--movie", MOVIE, check=False,
                       DIGITIZER_PRESET="copy")
        else:
            done = run(home, "resume", check=False, DIGITIZER_PRESET="copy")
        assert done.returncode == 0, done.stderr
        assert len(library_files(home)) == 4
    assert failed(home) == [] and leftovers(home) == []


def test_staging_that_fills_up_mid_rip_is_exit_1_and_finished_once_freed(tmp_path, movie_disc,
                                                                         shim):
    home = tmp_path / "h"
    staging = home / "data" / "staging"
    with tmpfs(staging, "160m"):
        # Reads slowed by the EIO library so the disk can be filled while ffmpeg writes.
        slow = {"LD_PRELOAD": str(shim), "EIO_PATH": str(movie_disc.iso),
                "EIO_DELAY_US": "300"}
        proc = subprocess.Popen([EXE, "watch", "--once", str(movie_disc.iso), "--movie", MOVIE],
                                env=env_for(home, DIGITIZER_PRESET="copy", **slow),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while not list(staging.rglob("title_01.mkv.part")):
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
            time.sleep(0.02)
        with open(staging / "filler", "wb") as fh:  # something else fills the disk
            with contextlib.suppress(OSError):
                while True:
                    fh.write(bytes(1 << 20))
        err = proc.communicate(timeout=120)[1]
        # A full disk is exit 1 (README), not 3 ("a tool is missing or failed").
        assert proc.returncode == 1, err
        assert "No space left on device" in err and "Traceback" not in err
        [rip] = failed(home)
        assert rip["step"] == "rip" and rip["cause"] == "disk"
        assert time.time() - 5 < rip["retry_at"] < time.time() + 120
        assert "a running watch retries it at" in run(home, "status", "--table").stdout
        (staging / "filler").unlink()  # space freed
        done = run(home, "watch", "--once", movie_disc.iso, "--movie", MOVIE, check=False,
                   DIGITIZER_PRESET="copy")
        assert done.returncode == 0, done.stderr
    assert len(library_files(home)) == 4 and failed(home) == []


def test_a_running_watch_rips_again_once_staging_has_room(tmp_path, movie_disc, shim):
    """The same full disk under a long-running `watch`: once the back-off is due it reads
    the disc again by itself (the image it was given is still there) and finishes it."""
    home = tmp_path / "h"
    staging = home / "data" / "staging"
    with tmpfs(staging, "160m"):
        slow = {"LD_PRELOAD": str(shim), "EIO_PATH": str(movie_disc.iso),
                "EIO_DELAY_US": "300"}
        log = tmp_path / "watch.log"  # a file: a pipe nobody reads would fill and block it
        with open(log, "w") as err:
            proc = subprocess.Popen([EXE, "watch", str(movie_disc.iso), "--movie", MOVIE],
                                    env=env_for(home, DIGITIZER_PRESET="copy",
                                                DIGITIZER_RETRY_SECONDS="1",
                                                DIGITIZER_POLL_SECONDS="0.5", **slow),
                                    stdout=subprocess.DEVNULL, stderr=err,
                                    start_new_session=True)

        def wait_for(check, seconds):
            deadline = time.monotonic() + seconds
            while not check():
                if proc.poll() is not None or time.monotonic() > deadline:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                    raise AssertionError(log.read_text()[-3000:])
                time.sleep(0.1)

        try:
            wait_for(lambda: list(staging.rglob("title_01.mkv.part")), 120)
            with open(staging / "filler", "wb") as fh:
                with contextlib.suppress(OSError):
                    while True:
                        fh.write(bytes(1 << 20))
            wait_for(lambda: events(home, "step_failed"), 120)
            (staging / "filler").unlink()
            wait_for(lambda: len(library_files(home)) == 4, 180)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=60)
    assert failed(home) == []
    assert {e["data"]["step"] for e in events(home, "step_retry")} == {"rip"}


def test_an_unknown_preset_is_refused_when_the_config_is_read(tmp_path, movie_disc):
    home = tmp_path / "h"
    env_for(home)
    (home / "config" / "config.toml").write_text('preset = "x265"\n')
    for args in (["config", "show"], ["watch", "--once", movie_disc.iso], ["resume"]):
        done = run(home, *args, check=False)
        assert done.returncode == 2, (args, done.stderr)
        assert done.stderr.strip().splitlines() == [
            f"digitizer: {home / 'config' / 'config.toml'}: preset: unknown preset 'x265'; "
            "presets are av1, copy, h264, h264-nvenc, h264-qsv, h264-vaapi, hevc"]
    done = run(home, "config", "show", check=False, DIGITIZER_PRESET="copy")
    assert done.returncode == 0, done.stderr  # the environment overrides the file


def test_a_step_that_fails_before_it_is_claimed_fails_once(tmp_path, movie_disc):
    """The transcoded folder cannot be made (a file stands where it goes): the worker of
    `watch --once` fails the transcode once and ends, it does not take it up again at once
    forever (issue 26 met that at 90 failures a second with an unknown preset)."""
    home = tmp_path / "h"
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the transcoded folder should be")
    started = time.monotonic()
    done = run(home, "watch", "--once", movie_disc.iso, "--movie", MOVIE, check=False,
               DIGITIZER_PRESET="copy", DIGITIZER_TRANSCODED=str(blocker / "t"))
    assert done.returncode == 1, done.stderr
    assert time.monotonic() - started < 60
    waiting = failed(home)
    assert sorted(f["title"] for f in waiting) == [1, 2, 3, 5]
    assert {f["step"] for f in waiting} == {"transcode"} and all(f["retry_at"] for f in waiting)
    assert len(events(home, "step_failed")) == 4
    assert [s["attempts"] for s in catalog(home).steps(kind="transcode")] == [1, 1, 1, 1]
    blocker.unlink()
    again = run(home, "watch", "--once", movie_disc.iso, check=False, DIGITIZER_PRESET="copy",
                DIGITIZER_TRANSCODED=str(blocker / "t"))
    assert again.returncode == 0, again.stderr
    assert len(library_files(home)) == 4


def test_a_reader_that_goes_away_fails_no_step(tmp_path, movie_disc):
    home = tmp_path / "h"
    done = subprocess.run(f"'{EXE}' watch --once '{movie_disc.iso}' --movie '{MOVIE}' | head -1;"
                          " exit ${PIPESTATUS[0]}", shell=True, executable="/bin/bash",
                          capture_output=True, text=True, timeout=300,
                          env=env_for(home, DIGITIZER_PRESET="copy"))
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 1 and json.loads(done.stdout)["fingerprint"]
    assert "BrokenPipe" not in done.stderr and "Traceback" not in done.stderr
    assert failed(home) == [] and len(library_files(home)) == 4


def test_concurrent_watch_resume_and_status_never_run_a_step_twice(tmp_path, movie_disc):
    """Once the disc is ripped, a `watch --once` with two queue workers transcodes and
    inserts while three `resume`s and `status`es plan and run the same titles: every step
    runs once, and nobody fails because another process got there first."""
    counts = collections.Counter()
    for n in range(2):
        home = tmp_path / f"h{n}"
        env = env_for(home, DIGITIZER_PRESET="copy")
        procs = [subprocess.Popen([EXE, "watch", "--once", "--workers", "2", str(movie_disc.iso),
                                   "--movie", MOVIE], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)]
        deadline = time.monotonic() + 120
        while len([s for s in steps_of(home) if s == ("rip", "done")]) < 4:
            assert procs[0].poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        for _ in range(3):
            for args in (["resume", "--movie", MOVIE], ["status"]):
                procs.append(subprocess.Popen([EXE, *args], env=env, stdout=subprocess.DEVNULL,
                                              stderr=subprocess.PIPE, text=True))
        for proc in procs:
            err = proc.communicate(timeout=300)[1]
            assert proc.returncode == 0, (proc.args, err)
            counts["runs"] += 1
        ran = collections.Counter((e["event"], e["title"]) for e in catalog(home).events(limit=1000)
                                  if e["event"] in ("title_ripped", "title_transcoded",
                                                    "title_inserted"))
        assert len(ran) == 12 and set(ran.values()) == {1}, ran
        assert {s["attempts"] for s in catalog(home).steps()} == {1}
        assert len(library_files(home)) == 4
    assert counts["runs"] == 14


def steps_of(home):
    db = home / "data" / "catalog.db"
    if not db.exists():
        return []
    try:
        with contextlib.closing(sqlite3.connect(db, timeout=5)) as conn:
            return conn.execute("SELECT kind, state FROM steps").fetchall()
    except sqlite3.OperationalError:  # not made yet
        return []


def test_a_transcode_no_worker_takes_fails_instead_of_waiting_for_ever(tmp_path, movie_disc):
    """A preset asks for a GPU no worker of the cluster offers: after worker_wait_seconds the
    step fails (exit 5, the hook told, status with a retry time), watch --once ends."""
    from loopback_cluster import LoopbackCluster

    home = tmp_path / "h"
    env_for(home)
    hooked = tmp_path / "events.jsonl"
    (home / "config" / "config.toml").write_text(
        f'preset = "gpu"\nhook = "tee -a {hooked}"\n'
        '[presets.gpu]\nvideo = ["-c:v", "copy"]\nresources = {GPU = 1}\n')
    cluster = LoopbackCluster(tmp_path / "cluster", names=("cpu",))
    try:
        run(home, "rip", "--title", 1, movie_disc.iso)
        started = time.monotonic()
        done = run(home, "watch", "--once", movie_disc.iso, "--movie", MOVIE, "--cluster",
                   cluster.address, check=False, DIGITIZER_WORKER_WAIT_SECONDS="3")
    finally:
        cluster.stop()
    assert done.returncode == 5, done.stderr
    assert time.monotonic() - started < 60
    assert "no worker of tcp://127.0.0.1" in done.stderr and "asks for GPU=1" in done.stderr
    [step] = failed(home)
    assert step["step"] == "transcode" and step["cause"] == "unreachable" and step["retry_at"]
    # The hook got the events one JSON object each, back to back (tee appends them).
    told, text = [], hooked.read_text()
    while text.strip():
        event, end = json.JSONDecoder().raw_decode(text.strip())
        told.append(event)
        text = text.strip()[end:]
    assert any(e["event"] == "step_failed" and "no worker" in e["data"]["error"] for e in told)
