"""Config, JSON I/O, tool runner, markers and catalog: the ground every step stands on."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from digitizer import catalog as catmod
from digitizer import config, jsonio, markers
from digitizer.tools import ffmpeg, lsdvd  # noqa: F401  (lsdvd registers its install hint)
from digitizer.tools import run as tools
from digitizer.errors import InputError, ToolFailed, ToolMissing


# -- config ---------------------------------------------------------------------------
def test_defaults_live_under_digitizer_home(home):
    cfg = config.load()
    assert cfg.path == home / "config" / "config.toml"
    assert cfg.catalog == str(home / "data" / "catalog.db")
    assert cfg.min_title_seconds == 10 and cfg.eject_after_rip is True


def test_xdg_paths_without_digitizer_home(monkeypatch, tmp_path):
    monkeypatch.delenv("DIGITIZER_HOME", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "c"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "d"))
    cfg = config.load()
    assert cfg.path == tmp_path / "c" / "digitizer" / "config.toml"
    assert cfg.staging == str(tmp_path / "d" / "digitizer" / "staging")


def test_file_then_environment_override(home, monkeypatch):
    path = config.config_path()
    path.parent.mkdir(parents=True)
    path.write_text('preset = "hevc"\nmin_title_seconds = 30\neject_after_rip = false\n')
    monkeypatch.setenv("DIGITIZER_MIN_TITLE_SECONDS", "45")
    cfg = config.load()
    assert (cfg.preset, cfg.min_title_seconds, cfg.eject_after_rip) == ("hevc", 45, False)


def test_bad_config_is_a_clear_error(home, run_cli):
    path = config.config_path()
    path.parent.mkdir(parents=True)
    path.write_text("nonsense = = 1\n")
    r = run_cli("config", "show")
    assert r.code == 2 and "not valid TOML" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    path.write_text('colour = "red"\n')
    assert "unknown key 'colour'" in run_cli("config", "show").stderr


def test_typos_get_did_you_mean_and_config_show_still_shows(home, run_cli):
    path = config.config_path()
    path.parent.mkdir(parents=True)
    path.write_text('libary = "/srv/media"\npreset = "hevc"\n')
    for args in (("status",), ("review",)):
        r = run_cli(*args)
        assert r.code == 2, r
        assert r.stderr.strip().endswith("unknown key 'libary'; did you mean 'library'?"), r
    shown = run_cli("config", "show")  # still shows the config, and says what is wrong
    assert shown.code == 2 and "did you mean 'library'" in shown.stderr
    values = json.loads(shown.stdout)
    assert values["preset"] == "hevc" and values["problems"] == [shown.stderr.strip()[11:]]
    r = run_cli("wacth", "--once")
    assert r.code == 2 and "Did you mean 'watch'?" in r.stderr
    r = run_cli("review", "aprove", "0bff")
    assert r.code == 2 and "Did you mean 'approve'?" in r.stderr
    r = run_cli("frobnicate")  # nothing close: no guess
    assert r.code == 2 and "No such command 'frobnicate'." in r.stderr
    assert "Did you mean" not in r.stderr


def test_config_init_writes_loadable_commented_toml(run_cli, home):
    r = run_cli("config", "init")
    assert r.code == 0
    text = Path(r.stdout.strip()).read_text()
    assert text.startswith("# digitizer configuration")
    assert config.load().values == config.load(Path("/nonexistent")).values
    assert run_cli("config", "init").code == 1  # refuses to overwrite
    shown = json.loads(run_cli("config", "show").stdout)
    assert shown["preset"] == "h264"


# -- JSON in/out ----------------------------------------------------------------------
def test_json_input_array_object_and_ndjson():
    assert jsonio.parse('[{"a": 1}, {"a": 2}]') == [{"a": 1}, {"a": 2}]
    assert jsonio.parse('{"a": 1}') == [{"a": 1}]
    assert jsonio.parse('{"a": 1}\n\n{"a": 2}\n') == [{"a": 1}, {"a": 2}]
    assert jsonio.parse("  ") == []


@pytest.mark.parametrize("text", ['{"a": 1}\n{oops', "[1, 2]", '"text"', "{"])
def test_malformed_json_input_is_one_clear_error(text):
    with pytest.raises(InputError) as exc:
        jsonio.parse(text)
    assert "\n" not in str(exc.value)


# -- tool runner ----------------------------------------------------------------------
def test_missing_tool_with_empty_path_names_the_package(monkeypatch):
    monkeypatch.setenv("PATH", "")
    with pytest.raises(ToolMissing) as exc:
        tools.run(["lsdvd", "-V"])
    assert str(exc.value) == "lsdvd not found: apt install lsdvd"


def test_missing_tool_from_the_cli_exits_3(run_cli, monkeypatch, tmp_path):
    (tmp_path / "VIDEO_TS").mkdir()
    (tmp_path / "VIDEO_TS" / "VIDEO_TS.IFO").write_bytes(b"DVDVIDEO-VMG" + b"\0" * 2036)
    monkeypatch.setenv("PATH", "")
    r = run_cli("scan", str(tmp_path))
    assert r.code == 3, r
    assert r.stderr == "digitizer: lsdvd not found: apt install lsdvd\n"


def test_failing_tool_reports_its_last_stderr_line(tmp_path):
    ff = ffmpeg.binary()
    with pytest.raises(ToolFailed) as exc:
        tools.run([ff, "-hide_banner", "-i", ffmpeg.url(tmp_path / "missing: file.mkv")])
    msg = str(exc.value)
    assert msg.startswith("ffmpeg exited with ")
    assert msg.endswith("No such file or directory")  # the cause, not ffmpeg's generic last line


def test_lines_split_on_carriage_returns_and_newlines():
    script = "import sys; sys.stdout.write('a\\rb\\r\\nc\\n'); sys.stderr.write('e1\\re2')"
    with tools.Process([sys.executable, "-c", script]) as proc:
        got = list(proc.lines())
        proc.wait()
    assert [l for s, l in got if s == "stdout"] == ["a", "b", "c"]
    assert [l for s, l in got if s == "stderr"] == ["e1", "e2"]


def test_leaving_early_kills_the_whole_process_group(tmp_path):
    # A shell that starts a grandchild; both must die when the reader stops reading.
    pidfile = tmp_path / "pids"
    script = textwrap.dedent(f"""
        import os, subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        open({str(pidfile)!r}, "w").write(f"{{os.getpid()}} {{child.pid}}")
        while True:
            print("tick", flush=True); time.sleep(0.05)
    """)
    with tools.Process([sys.executable, "-c", script]) as proc:
        for _ in proc.lines():
            break
    time.sleep(0.2)
    pids = [int(p) for p in pidfile.read_text().split()]
    for pid in pids:
        assert not _alive(pid), pid


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_ffmpeg_paths_are_file_urls():
    assert ffmpeg.url("/x/Title: Part 2.mkv") == "file:/x/Title: Part 2.mkv"


def test_versions_probed_once():
    tools.version.cache_clear()
    first = tools.version(ffmpeg.binary())
    assert first.startswith("ffmpeg version")
    assert tools.version.cache_info().currsize == 1


# -- markers --------------------------------------------------------------------------
def test_marker_roundtrip_and_sidecar_names(tmp_path):
    f = tmp_path / "Movie (2008).mkv"
    f.write_bytes(b"x" * 10)
    markers.write_artefact(f, step="rip", fingerprint="abc", title=1, duration=1.5)
    assert markers.sidecar(f).name == ".Movie (2008).mkv.digitizer.json"
    data = markers.artefact(f)
    assert data["schema"] == markers.SCHEMA and data["size"] == 10 and data["title"] == 1
    f.write_bytes(b"x" * 11)  # the file changed under the marker: no longer finished
    assert markers.artefact(f) is None


def test_marker_write_killed_before_rename_leaves_old_marker(tmp_path):
    path = tmp_path / ".disc.digitizer.json"
    markers.write(path, {"state": "old"})
    script = textwrap.dedent(f"""
        import os, signal
        from digitizer import markers
        os.replace = lambda *a: os.kill(os.getpid(), signal.SIGKILL)
        markers.write({str(path)!r}, {{"state": "new", "pad": "x" * 100000}})
    """)
    proc = subprocess.run([sys.executable, "-c", script])
    assert proc.returncode == -signal.SIGKILL
    assert markers.read(path)["state"] == "old"
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != path.name]
    assert leftovers and all(".tmp-" in n for n in leftovers)
    assert [p for p, _ in markers.find([tmp_path])] == [path]


def test_truncated_or_foreign_marker_is_not_a_marker(tmp_path):
    path = tmp_path / ".a.mkv.digitizer.json"
    path.write_text('{"schema": 1, "kind": "artef')
    assert markers.read(path) is None
    path.write_text('{"no": "schema"}')
    assert markers.read(path) is None


# -- catalog --------------------------------------------------------------------------
DVD_CHAIN = ("rip", "transcode", "insert")


def test_migrations_are_recorded_and_idempotent(tmp_path):
    db = tmp_path / "c.db"
    first = catmod.Catalog(db)
    names = [name for name, _ in catmod.MIGRATIONS]
    assert names[:2] == ["0001_tables", "0002_step_chain"] and len(set(names)) == len(names)
    assert first.migrations() == sorted(names)
    second = catmod.Catalog(db)
    assert second.migrate() == [] and second.migrations() == sorted(names)
    assert first.db.journal_mode == "wal"


def test_many_processes_opening_a_new_catalog_at_once_all_succeed(tmp_path):
    # Two watchers started together on a fresh home both switch the catalog to WAL and
    # migrate it; SQLite answers the WAL switch with "database is locked" without waiting.
    db = tmp_path / "c.db"
    code = ("import sys, time; from digitizer.catalog import Catalog\n"
            "start = float(sys.argv[2])\n"
            "while time.time() < start: pass\n"
            "Catalog(sys.argv[1]).close()\n")
    for round_ in range(3):
        target = tmp_path / f"c{round_}.db"
        start = time.time() + 1.5
        procs = [subprocess.Popen([sys.executable, "-c", code, str(target), str(start)],
                                  stderr=subprocess.PIPE, text=True) for _ in range(8)]
        errors = [p.communicate(timeout=60)[1] for p in procs]
        assert [p.returncode for p in procs] == [0] * 8, errors
        assert catmod.Catalog(target).db.journal_mode == "wal"


def test_step_chain_migration_gives_old_steps_their_predecessor(tmp_path, monkeypatch):
    db = tmp_path / "old.db"
    monkeypatch.setattr(catmod, "MIGRATIONS", catmod.MIGRATIONS[:1])
    old = catmod.Catalog(db)
    for kind in ("rip", "transcode", "insert"):
        old.db["steps"].insert({"fingerprint": "fp", "title": 1, "kind": kind,
                                "state": "pending", "attempts": 0})
    old.close()
    monkeypatch.undo()
    cat = catmod.Catalog(db)
    assert [(s["kind"], s["after"], s["position"]) for s in cat.steps("fp")] == [
        ("rip", None, 0), ("transcode", "rip", 1), ("insert", "transcode", 2)]


def test_a_chain_without_transcode_claims_insert_after_rip(tmp_path):
    cat = catmod.Catalog(tmp_path / "c.db")
    cat.ensure_steps("cd", 1, ("rip", "insert"))
    assert cat.claim(following=True) is None  # rip not done yet
    cat.finish(cat.claim("rip")["id"], "/x.flac")
    step = cat.claim(following=True)
    assert (step["kind"], step["after"]) == ("insert", "rip")
    assert cat.has_queued_work()  # insert is running


def test_claims_are_exclusive_and_ordered_by_dependencies(tmp_path):
    cat = catmod.Catalog(tmp_path / "c.db")
    assert cat.record_disc("fp1", disc_type="dvd", label="L", ids={}, source="s") is False
    assert cat.record_disc("fp1", disc_type="dvd", label="L", ids={}, source="s") is True
    cat.ensure_steps("fp1", 1, DVD_CHAIN)
    assert cat.claim("transcode") is None  # rip not done yet
    other = catmod.Catalog(tmp_path / "c.db")
    step = cat.claim("rip", pid=os.getpid())
    assert step["state"] == "running" and step["attempts"] == 1
    assert other.claim("rip") is None
    cat.finish(step["id"], "/x.mkv")
    assert other.claim("transcode")["title"] == 1
    assert cat.progress("fp1") == {1: {"rip": "done", "transcode": "running",
                                       "insert": "pending"}}


def test_stale_claim_of_a_dead_worker_is_released(tmp_path):
    cat = catmod.Catalog(tmp_path / "c.db")
    cat.record_disc("fp", disc_type="dvd", label=None, ids={}, source="s")
    cat.ensure_steps("fp", 1, DVD_CHAIN)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    step = cat.claim("rip", pid=dead.pid)
    released = cat.release_stale()
    assert [r["id"] for r in released] == [step["id"]]
    again = cat.claim("rip")
    assert again["attempts"] == 2
    assert cat.release_stale() == []  # our own live claim stays


def test_failed_steps_retry_and_dismiss(tmp_path):
    cat = catmod.Catalog(tmp_path / "c.db")
    cat.record_disc("fp", disc_type="dvd", label=None, ids={}, source="s")
    cat.ensure_steps("fp", 1, DVD_CHAIN)
    cat.ensure_steps("fp", 2, DVD_CHAIN)
    for _ in range(2):
        cat.fail(cat.claim("rip")["id"], "ffmpeg exited with 1: boom")
    assert [s["error"] for s in cat.steps(state="failed")] == ["ffmpeg exited with 1: boom"] * 2
    assert cat.retry_failed() == 2
    cat.fail(cat.claim("rip")["id"], "again")
    assert cat.dismiss_failed() == 1
    assert {s["state"] for s in cat.steps(kind="rip")} == {"pending", "dismissed"}


def test_events_are_appended(tmp_path):
    cat = catmod.Catalog(tmp_path / "c.db")
    cat.add_event("disc_detected", "fp", source="/dev/sr0")
    cat.add_event("title_done", "fp", 1)
    assert [e["event"] for e in cat.events()] == ["title_done", "disc_detected"]
    assert cat.events("fp")[1]["data"] == {"source": "/dev/sr0"}


def test_a_zombie_worker_is_dead(tmp_path):
    # A killed worker nobody reaped (an orphan under a container's init) still answers
    # kill(pid, 0); its claim must be taken over all the same.
    cat = catmod.Catalog(tmp_path / "c.db")
    cat.ensure_steps("fp", 1, DVD_CHAIN)
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while open(f"/proc/{zombie.pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    step = cat.claim("rip", pid=zombie.pid)
    assert [r["id"] for r in cat.release_stale()] == [step["id"]]
    zombie.wait()
