"""Transcodes on a real Dask cluster: a `dask scheduler` and two `dask worker` processes on
loopback (random ports), the coordinator being digitizer itself, and real SIGKILLs."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from digitizer import markers
from digitizer.catalog import Catalog
from loopback_cluster import LoopbackCluster


EXE = str(Path(sys.executable).parent / "digitizer")
SHOW = "Show (2020)"
# ultrafast keeps the tests quick; sliced threads keep its bytes the same from run to run.
FAST = ('[presets.fast]\nvideo = ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "30", '
        '"-x264-params", "sliced-threads=1"]\n')


@pytest.fixture
def cluster(tmp_path):
    running = LoopbackCluster(tmp_path / "cluster")
    yield running
    running.stop()


@pytest.fixture
def fast(home):
    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "config" / "config.toml").write_text('preset = "fast"\n' + FAST)
    return home


def sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def leftovers(home):
    return sorted(str(p) for p in (home / "data").rglob("*")
                  if p.name.endswith(".part") or ".tmp-" in p.name)


def ffmpegs_writing(folder: Path) -> list[str]:
    """Command lines of live processes whose arguments name a file in `folder`."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(str(folder).encode() in a for a in argv) and b"ffmpeg" in argv[0]:
            found.append(b" ".join(argv).decode(errors="replace"))
    return found


def coordinator(home, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGITIZER_")}
    env["DIGITIZER_HOME"] = str(home)
    return subprocess.Popen([EXE, *map(str, args)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_until(check, timeout=60, proc=None):
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"coordinator ended first: {proc.stderr.read()}")
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def running_on(home, fp, title):
    """(worker name, its attempt's file) once a worker writes the title's transcode."""
    cat = Catalog(home / "data" / "catalog.db")
    try:
        step = cat.step(fp, title, "transcode")
    finally:
        cat.close()
    if not step or step["state"] != "running" or not step.get("runner"):
        return None
    parts = [p for p in (home / "data" / "transcoded").rglob("*.part") if p.stat().st_size]
    return (step["runner"], parts[0]) if parts else None


@pytest.mark.slow
def test_watch_once_fills_the_library_from_both_workers(run_cli, fast, episode_disc, cluster):
    assert run_cli("rip", episode_disc.iso).code == 0
    r = run_cli("watch", "--once", episode_disc.iso, "--show", SHOW, "--cluster",
                cluster.address)
    assert r.code == 0, r.stderr
    lib = fast / "data" / "library" / "TV Shows" / SHOW / "Season 01"
    files = sorted(lib.glob("*.mkv"))
    assert [f.name for f in files] == [f"{SHOW} - s01e0{n}.mkv" for n in range(1, 5)]
    workers = [markers.artefact(f)["worker"] for f in files]
    assert set(workers) == {"wA", "wB"}, workers
    assert all(markers.artefact(f)["preset"] == "fast" for f in files)
    cat = Catalog(fast / "data" / "catalog.db")
    done = [e for e in cat.events(limit=100) if e["event"] == "title_transcoded"]
    assert sorted(e["data"]["worker"] for e in done) == sorted(workers)
    assert leftovers(fast) == []


@pytest.mark.slow
def test_a_worker_killed_mid_transcode(run_cli, fast, movie_disc, cluster, monkeypatch,
                                       tmp_path):
    ripped = run_cli("rip", movie_disc.iso, "--title", 1).objects[0]
    fp = ripped["fingerprint"]
    proc = coordinator(fast, "transcode", ripped["path"], "--cluster", cluster.address)
    victim, part = wait_until(lambda: running_on(fast, fp, 1), proc=proc)
    cluster.workers[victim].send_signal(signal.SIGKILL)
    cluster.workers[victim].wait()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    done = json.loads(out)
    survivor = ({"wA", "wB"} - {victim}).pop()
    assert done["worker"] == survivor
    final = Path(done["path"])
    assert markers.artefact(final)["worker"] == survivor
    # The dead worker's ffmpeg died with it, and its attempt's file is gone.
    assert ffmpegs_writing(final.parent) == []
    assert not part.exists() and leftovers(fast) == []
    # Byte for byte what an uninterrupted local run makes.
    monkeypatch.setenv("DIGITIZER_TRANSCODED", str(tmp_path / "local"))
    local = run_cli("transcode", ripped["path"])
    assert local.code == 0, local
    assert "worker" not in local.objects[0]
    assert sha(local.objects[0]["path"]) == sha(final)


@pytest.mark.slow
def test_the_scheduler_gone_leaves_the_step_pending(run_cli, fast, movie_disc, cluster):
    ripped = run_cli("rip", movie_disc.iso, "--title", 1).objects[0]
    fp = ripped["fingerprint"]
    proc = coordinator(fast, "transcode", ripped["path"], "--cluster", cluster.address)
    wait_until(lambda: running_on(fast, fp, 1), proc=proc)
    cluster.scheduler.send_signal(signal.SIGKILL)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 5, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("digitizer: cluster scheduler "), err
    assert "cannot be reached" in lines[0] and "pending" in lines[0]
    cat = Catalog(fast / "data" / "catalog.db")
    assert cat.step(fp, 1, "transcode")["state"] == "pending"
    # The workers close when their scheduler is gone, and their ffmpeg with them.
    transcoded = fast / "data" / "transcoded"
    wait_until(lambda: not ffmpegs_writing(transcoded), timeout=30)
    # The next run (the scheduler back, or here: no cluster) takes the step up again.
    again = run_cli("transcode", ripped["path"], "--cluster", "")
    assert again.code == 0, again
    assert cat.step(fp, 1, "transcode")["state"] == "done"
    assert leftovers(fast) == []


@pytest.mark.slow
def test_a_coordinator_killed_mid_transcode_resends_it_after_restart(run_cli, fast, movie_disc,
                                                                      cluster):
    """kill -9 of the coordinator: the worker stops the encode nobody waits for (its ffmpeg
    and its attempt's file go), and `resume` on a new coordinator sends the title again."""
    ripped = run_cli("rip", movie_disc.iso, "--title", 1).objects[0]
    fp = ripped["fingerprint"]
    proc = coordinator(fast, "resume", fp, "--movie", "Film (2001)", "--cluster",
                       cluster.address)
    worker, part = wait_until(lambda: running_on(fast, fp, 1), proc=proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    transcoded = fast / "data" / "transcoded"
    wait_until(lambda: not ffmpegs_writing(transcoded), timeout=30)
    wait_until(lambda: not part.exists(), timeout=30)
    assert Catalog(fast / "data" / "catalog.db").step(fp, 1, "transcode")["state"] == "running"
    again = coordinator(fast, "resume", fp, "--movie", "Film (2001)", "--cluster",
                        cluster.address)
    out, err = again.communicate(timeout=180)
    assert again.returncode == 0, err
    lib = fast / "data" / "library" / "Movies"
    [final] = [p for p in lib.rglob("*.mkv")]
    assert markers.artefact(final)["worker"] in ("wA", "wB")
    assert Catalog(fast / "data" / "catalog.db").step(fp, 1, "transcode")["state"] == "done"
    assert leftovers(fast) == [] and ffmpegs_writing(transcoded) == []


def test_cluster_paths_map_whole_components():
    from digitizer.cluster import path_map, to_worker
    from digitizer.errors import UsageError

    pairs = path_map("/srv/media=/mnt/media; /srv/media/library=/library ;")
    assert pairs == [("/srv/media/library", "/library"), ("/srv/media", "/mnt/media")]
    assert to_worker(Path("/srv/media/staging/D/title_01.mkv"), pairs) == \
        "/mnt/media/staging/D/title_01.mkv"
    assert to_worker(Path("/srv/media/library/x.mkv"), pairs) == "/library/x.mkv"
    assert to_worker(Path("/srv/media"), pairs) == "/mnt/media"
    assert to_worker(Path("/srv/mediaX/a"), pairs) == "/srv/mediaX/a"  # not a component
    assert to_worker(Path("/elsewhere/a"), path_map("")) == "/elsewhere/a"
    with pytest.raises(UsageError, match="COORDINATOR_PREFIX=WORKER_PREFIX"):
        path_map("/srv/media")


def test_an_unreachable_scheduler_stops_watch_before_it_starts(home, tmp_path):
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGITIZER_")}
    env.update(DIGITIZER_HOME=str(home), DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT="1s")
    done = subprocess.run([EXE, "watch", "--once", str(tmp_path / "none.iso"), "--cluster",
                           f"tcp://127.0.0.1:{port}"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 5, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"digitizer: cluster scheduler tcp://127.0.0.1:{port} cannot be reached"), done.stderr
