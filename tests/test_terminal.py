"""What a person sees on a terminal: tables, no warnings, NO_COLOR; JSON when piped (issue 16).
Run through a real pseudo-terminal."""

import json
import os
import pty
import select
import subprocess

import pytest

from test_unattended import EXE, env_for

pytestmark = pytest.mark.slow


def on_terminal(home, *args, **extra) -> tuple[int, str]:
    """Run digitizer with stdout and stderr on a pseudo-terminal; (exit code, what it showed)."""
    master, slave = pty.openpty()
    env = env_for(home, TERM="xterm", COLUMNS="120", **extra)
    proc = subprocess.Popen([EXE, *map(str, args)], stdin=subprocess.DEVNULL, stdout=slave,
                            stderr=slave, env=env, close_fds=True)
    os.close(slave)
    shown = b""
    while True:
        ready, _, _ = select.select([master], [], [], 120)
        if not ready:
            proc.kill()
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the terminal's other side closed
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    return proc.wait(timeout=60), shown.decode(errors="replace").replace("\r\n", "\n")


def test_scan_shows_a_table_on_a_terminal_and_json_in_a_pipe(tmp_path, movie_disc):
    code, shown = on_terminal(tmp_path / "h", "scan", movie_disc.iso, "--no-probe")
    assert code == 0, shown
    lines = shown.splitlines()
    header = next(line for line in lines if "ROLE" in line)
    for column in ("TITLE", "LENGTH", "CHAPTERS", "AUDIO", "SUBTITLES", "ROLE"):
        assert column in header
    assert any(line.split()[:1] == ["1"] and "2:00" in line and "main" in line
               and "en fr" in line for line in lines), shown
    assert "{" not in shown
    piped = subprocess.run([EXE, "scan", movie_disc.iso, "--no-probe"], capture_output=True,
                           text=True, env=env_for(tmp_path / "h"))
    assert json.loads(piped.stdout)["titles"][0]["role"] == "main"
    code, forced = on_terminal(tmp_path / "h", "scan", movie_disc.iso, "--no-probe", "--json")
    assert json.loads(forced)[0]["titles"][0]["role"] == "main"


def test_no_color_and_no_warnings_from_progress(tmp_path, movie_disc):
    code, shown = on_terminal(tmp_path / "a", "rip", movie_disc.iso, "--title", 1)
    assert code == 0, shown
    assert "\x1b[1m" in shown  # bold headers on a terminal...
    assert "Warning" not in shown and "Traceback" not in shown and "clamping" not in shown
    assert "TITLE" in shown and "title_01.mkv" in shown
    code, plain = on_terminal(tmp_path / "b", "detect", movie_disc.iso, NO_COLOR="1")
    assert code == 0 and "LABEL" in plain and "DIGITIZER_TEST" in plain
    assert "\x1b[1m" not in plain  # ...and none with NO_COLOR


def test_catalog_events_as_a_table_on_a_terminal_and_json_lines_in_a_pipe(tmp_path, movie_disc):
    home = tmp_path / "h"
    subprocess.run([EXE, "fingerprint", movie_disc.iso], capture_output=True, check=True,
                   env=env_for(home))
    piped = subprocess.run([EXE, "catalog", "events"], capture_output=True, text=True,
                           env=env_for(home))
    events = [json.loads(line) for line in piped.stdout.splitlines()]
    assert events and all(e["fingerprint"] for e in events)
    code, shown = on_terminal(home, "catalog", "events", NO_COLOR="1")
    assert code == 0, shown
    header, *rows = shown.splitlines()
    assert header.split() == ["TIME", "EVENT", "FINGERPRINT", "TITLE", "DETAILS"]
    assert len(rows) == len(events) and "{" not in shown
    assert rows[0].split()[2] == events[0]["event"]
    assert rows[0].split()[3] == events[0]["fingerprint"][:12]


def test_watch_prints_a_row_per_result_on_a_terminal(tmp_path, movie_disc):
    home = tmp_path / "h"
    (home / "config").mkdir(parents=True)
    (home / "config" / "config.toml").write_text('preset = "copy"\n')
    code, shown = on_terminal(home, "watch", "--once", movie_disc.iso, "--movie", "Film (2001)",
                              NO_COLOR="1")
    assert code == 0, shown
    lines = [line for line in shown.splitlines() if line.strip()]
    start = next(n for n, line in enumerate(lines) if line.startswith("TIME"))
    assert lines[start].split() == ["TIME", "FINGERPRINT", "TITLE", "NEXT", "PATH"]
    rows = [line.split(None, 4) for line in lines[start + 1:]]
    assert rows and "{" not in shown
    inserted = [r for r in rows if r[3] == "done"]
    assert any(r[4].endswith("Movies/Film (2001)/Film (2001).mkv") for r in inserted), shown
