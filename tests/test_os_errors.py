"""An error the operating system gives a command (a folder it may not make, a read-only
file system) is one line naming the path and exit 1, never a traceback."""

import os
import subprocess
import sys


def test_a_refused_folder_is_one_line_and_exit_1(tmp_path, home):
    film = tmp_path / "a.mkv"
    film.write_bytes(b"not really a film")
    # /sys refuses new folders even to root: the library cannot be made there.
    got = subprocess.run([sys.executable, "-m", "digitizer", "insert", str(film),
                          "--library", "/sys/kernel/digitizer-test", "--movie", "A (2000)"],
                         capture_output=True, text=True, env=dict(os.environ))
    assert got.returncode == 1, got
    assert got.stderr.splitlines() == ["digitizer: operation not permitted: "
                                       "/sys/kernel/digitizer-test"], got.stderr
    assert film.exists() and not os.path.exists("/sys/kernel/digitizer-test")
