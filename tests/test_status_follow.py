"""`digitizer status --follow` (issue 29): it redraws as the catalog changes until Ctrl-C
(exit 130), as JSON lines when piped and as a cleared screen on a terminal."""

import json
import os
import pty
import select
import signal
import subprocess
import time

from digitizer.catalog import Catalog
from test_unattended import EXE, env_for


CLEAR = b"\x1b[2J"  # erase the screen (click.clear), then the frame is drawn again


def _fail_a_step(home):
    cat = Catalog(home / "data" / "catalog.db")
    cat.record_disc("fp-follow", disc_type="dvd", label="FOLLOW_ME", ids={}, source="s")
    cat.ensure_steps("fp-follow", 1, ("rip", "transcode", "insert"))
    cat.fail(cat.claim("rip")["id"], "ffmpeg exited with 1: boom")
    cat.close()


def test_follow_prints_the_state_again_as_it_changes_until_ctrl_c(tmp_path):
    home = tmp_path / "h"
    proc = subprocess.Popen([EXE, "status", "--follow", "--json"], env=env_for(home),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = json.loads(proc.stdout.readline())
        assert first["failed"] == []
        _fail_a_step(home)
        deadline = time.monotonic() + 60  # a loaded machine starts python slowly
        while True:
            state = json.loads(proc.stdout.readline())
            if state["failed"]:
                break
            assert time.monotonic() < deadline
        assert [(f["fingerprint"], f["error"]) for f in state["failed"]] == \
            [("fp-follow", "ffmpeg exited with 1: boom")]
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err


def test_follow_on_a_terminal_redraws_a_cleared_screen(tmp_path):
    home = tmp_path / "h"
    main, child = pty.openpty()
    proc = subprocess.Popen([EXE, "status", "--follow"], env=env_for(home, TERM="xterm"),
                            stdin=child, stdout=child, stderr=child)
    os.close(child)
    seen = b""
    try:
        deadline = time.monotonic() + 60  # a loaded machine starts python slowly
        changed = False
        while seen.count(CLEAR) < 3 or b"FOLLOW_ME" not in seen:
            assert time.monotonic() < deadline, seen[-2000:]
            if not changed and seen.count(CLEAR) >= 1:
                _fail_a_step(home)
                changed = True
            ready, _, _ = select.select([main], [], [], 0.5)
            if ready:
                try:
                    seen += os.read(main, 65536)
                except OSError:
                    break
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        os.close(main)
    assert proc.returncode == 130
    frames = seen.split(CLEAR)
    # a later frame names the disc that failed; the first, drawn before, does not (the
    # last frame read may be only its first bytes)
    assert b"FOLLOW_ME" not in frames[1] and any(b"FOLLOW_ME" in f for f in frames[2:])
