"""`make demo`: build a real sample DVD and run every pipeline step on it into ./demo.

Everything goes under ./demo (DIGITIZER_HOME=./demo/home, library ./demo/library), so the
demo never touches the user's own catalog or library.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from sample_disc import build_dvd  # noqa: E402

EXE = str(Path(sys.executable).parent / "digitizer")


def step(title, argv, stdin=None):
    print(f"\n== {title}\n$ {' '.join(argv)}", file=sys.stderr, flush=True)
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True, env=ENV)
    sys.stderr.write(done.stderr)
    if done.returncode != 0:
        sys.exit(f"demo: step failed ({done.returncode})")
    for line in done.stdout.splitlines()[:8]:
        print("  " + (line if len(line) < 160 else line[:157] + "..."), file=sys.stderr)
    return done.stdout


demo = ROOT / "demo"
shutil.rmtree(demo, ignore_errors=True)
library = demo / "library"
ENV = dict(os.environ, DIGITIZER_HOME=str(demo / "home"), DIGITIZER_LIBRARY=str(library))
print("building the sample DVD (cached after the first run) ...", file=sys.stderr, flush=True)
movie = build_dvd(Path(os.environ.get("DIGITIZER_TEST_CACHE", ROOT / "tests" / ".cache")))
show = build_dvd(Path(os.environ.get("DIGITIZER_TEST_CACHE", ROOT / "tests" / ".cache")),
                 layout="episodes", episodes=4, episode_seconds=20, label="SHOW_S1_D1")

step("detect", [EXE, "detect", str(movie.iso), "--table"])
fp = step("fingerprint", [EXE, "fingerprint", str(movie.iso)])
scanned = step("scan", [EXE, "scan", "-"], fp)
ripped = step("rip (main title and extras, lossless)", [EXE, "rip", "-"], scanned)
encoded = step("transcode (h264 preset)", [EXE, "transcode", "-", "--preset", "h264"], ripped)
step("insert", [EXE, "insert", "-", "--movie", "Big Buck Bunny (2008)"], encoded)
step("watch --once on a TV disc (its name only a guess: it waits for review)",
     [EXE, "watch", "--once", str(show.iso)])
waiting = step("review", [EXE, "review"])
step("review approve", [EXE, "review", "approve", waiting.split('"')[3][:8],
                        "--show", "Test Show (2020)"])

print("\n== the library", file=sys.stderr)
for path in sorted(library.rglob("*")):
    if not path.name.startswith("."):
        depth = len(path.relative_to(library).parts) - 1
        print("  " * depth + path.name + ("/" if path.is_dir() else ""))
print("\n== digitizer status", file=sys.stderr, flush=True)
subprocess.run([EXE, "status"], env=ENV, check=True)
