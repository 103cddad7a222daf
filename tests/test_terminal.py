"""What a person sees on a terminal: tables, no warnings, NO_COLOR; JSON when piped (issues
16, 28). Run through a real pseudo-terminal; what the screen shows is rendered by pyte, a
VT100 emulator, so that bars drawn and cleared, lines wrapped and cursor moves count as a
terminal counts them, not as the bytes say."""

import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import termios

import pyte
import pytest

from test_unattended import EXE, env_for

pytestmark = pytest.mark.slow


def screen_of(home, *args, columns=100, lines=40, answer=None, argv=None, **extra):
    """Run digitizer on a pseudo-terminal of columns x lines (stdout and stderr, as a person
    runs it; stdin too when there is an `answer` to type, then argv gives the arguments);
    (exit code, the screen's lines as pyte shows them, the raw text)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
    env = env_for(home, TERM="xterm", **extra)
    for key in ("COLUMNS", "LINES"):  # the terminal's size, not an inherited one
        env.pop(key, None)
    proc = subprocess.Popen([EXE, *map(str, argv or args)],
                            stdin=slave if answer else subprocess.DEVNULL,
                            stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    if answer:
        os.write(master, answer)
    # A tall screen keeps everything printed (a run longer than the window would scroll
    # its start away); the width is the terminal's.
    screen = pyte.Screen(columns, 1000)
    stream = pyte.ByteStream(screen)
    raw = read_terminal(master, proc, 300, stream.feed)
    shown = [line.rstrip() for line in screen.display]
    while shown and not shown[-1]:
        shown.pop()
    return proc.wait(timeout=60), shown, raw.decode(errors="replace")


def read_terminal(master, proc, seconds, feed=None) -> bytes:
    """Everything the program writes to its terminal until it closes it (or is silent for
    `seconds`: then it is killed); `feed` sees each chunk as it comes. Closes `master`."""
    raw = b""
    while True:
        ready, _, _ = select.select([master], [], [], seconds)
        if not ready:
            proc.kill()
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the terminal's other side closed
            break
        if not chunk:
            break
        raw += chunk
        if feed is not None:
            feed(chunk)
    os.close(master)
    return raw


def assert_tidy(shown, columns):
    """No line runs into the last column (where it would wrap), no progress bar was left
    behind, nothing printed inside a bar's line."""
    for line in shown:
        assert len(line) < columns, f"runs into column {columns}: {line!r}"
        assert not re.search(r"\d+%\|", line), f"a bar left behind: {line!r}"


def on_terminal(home, *args, **extra) -> tuple[int, str]:
    """Run digitizer with stdout and stderr on a pseudo-terminal; (exit code, what it showed)."""
    master, slave = pty.openpty()
    env = env_for(home, TERM="xterm", COLUMNS="120", **extra)
    proc = subprocess.Popen([EXE, *map(str, args)], stdin=subprocess.DEVNULL, stdout=slave,
                            stderr=slave, env=env, close_fds=True)
    os.close(slave)
    shown = read_terminal(master, proc, 120)
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
    assert lines[start].split() == ["TIME", "FINGERPRINT", "TITLE", "NEXT", "VERIFIED", "PATH"]
    rows = [line.split(None, 5) for line in lines[start + 1:]]
    assert rows and "{" not in shown
    inserted = [r for r in rows if r[3] == "done"]
    assert any(r[5].endswith("Movies/Film (2001)/Film (2001).mkv") for r in inserted), shown


@pytest.mark.parametrize("columns", [100, 80])
def test_a_tv_disc_without_a_name_on_a_terminal(tmp_path, episode_disc, columns):
    """watch --once of a disc labelled as season 1, disc 1 and no name: tidy tables, bars
    gone, and the next step named (approve with --show); status and review say the same,
    one disc at a time, titles in order; approving it as a movie is refused."""
    home = tmp_path / "h"
    code, shown, raw = screen_of(home, "watch", "--once", episode_disc.iso, columns=columns)
    assert code == 0, "\n".join(shown)
    assert "transcode title" in raw  # bars were drawn...
    assert_tidy(shown, columns)  # ...and are gone
    header = next(n for n, line in enumerate(shown) if line.endswith("PATH"))
    # a narrow terminal leaves out the clock, then the verdict, to keep room for the paths
    names = ["TIME", "FINGERPRINT", "TITLE", "NEXT", "VERIFIED", "PATH"] if columns >= 100 \
        else ["FINGERPRINT", "TITLE", "NEXT", "PATH"]
    assert shown[header].split() == names
    rows = [dict(zip(names, line.split())) for line in shown[header + 1:header + 5]]
    assert [r["TITLE"] for r in rows] == ["2", "3", "4", "5"]
    assert {r["NEXT"] for r in rows} == {"review"}
    # shown relative to the transcoded folder; cut in the middle when the terminal is narrow
    assert all(r["PATH"].startswith("transcoded/")
               and r["PATH"].endswith(f"title_0{t}.repro.mkv")
               for r, t in zip(rows, (2, 3, 4, 5))), rows
    text = " ".join(" ".join(shown).split())
    fp = rows[0]["FINGERPRINT"]
    approve = f'digitizer review approve {fp} --show "Show (YEAR)" --season 1'
    assert "4 title(s) wait for a name: 2 3 4 5" in text and f"next: {approve}" in text

    # Again on a disc that waits: it says so, it does not stay silent.
    code, again, _ = screen_of(home, "watch", "--once", episode_disc.iso, columns=columns)
    assert code == 0 and f"next: {approve}" in " ".join(" ".join(again).split())
    assert_tidy(again, columns)

    code, status, _ = screen_of(home, "status", columns=columns)
    assert code == 0
    assert_tidy(status, columns)
    review_lines = [line for line in status if line.startswith("REVIEW")]
    assert len(review_lines) == 1 and review_lines[0].endswith("wait for a name: 2 3 4 5")
    assert " ".join(" ".join(status).split()).count(approve) == 1 and "--movie" not in \
        " ".join(status)

    code, review, _ = screen_of(home, "review", columns=columns)
    assert code == 0
    assert_tidy(review, columns)
    assert review[0].split() == ["FINGERPRINT", "LABEL", "REASON", "SUGGESTION", "TITLE",
                                 "ROLE", "LENGTH"]
    titles = [line.split()[-3:] for line in review[1:5]]
    assert [t[0] for t in titles] == ["2", "3", "4", "5"] and {t[1] for t in titles} == \
        {"episode"}
    assert all(re.fullmatch(r"0:2\d", t[2]) for t in titles), titles
    assert review[-1] == f"next: {approve}"

    # Named as a movie, its episodes would become the movie's extras: refused when not
    # on a terminal, naming the flag that forces it; nothing is filed.
    refused = subprocess.run([EXE, "review", "approve", fp, "--movie", "My Show (2020)"],
                             env=env_for(home), capture_output=True, text=True,
                             stdin=subprocess.DEVNULL)
    assert refused.returncode == 2 and "--force" in refused.stderr, refused.stderr
    assert "episodes" in refused.stderr and not (home / "data" / "library").exists()
    # On a terminal it asks; "n" keeps it waiting.
    code, asked, _ = screen_of(home, "approve-on-tty", columns=columns, answer=b"n\n",
                               argv=["review", "approve", fp, "--movie", "My Show (2020)"])
    assert_tidy(asked, columns)
    assert code == 1 and "File it as the movie 'My Show (2020)' anyway? [y/N]:" in \
        " ".join(" ".join(asked).split())
    assert not (home / "data" / "library").exists()

    # Piped, status is JSON lines (what the README promises of every command).
    piped = subprocess.run([EXE, "status"], env=env_for(home), capture_output=True, text=True)
    records = [json.loads(line) for line in piped.stdout.splitlines()]
    assert [r["title"] for r in records if r["record"] == "review"] == [2, 3, 4, 5]
    [waiting] = [r for r in records if r["record"] == "waiting"]
    assert waiting["next"] == approve

    # A name without its year is taken, with a word on what it costs (once at each width)
    show = "My Show (2020)" if columns == 100 else "My Show"
    done = subprocess.run([EXE, "review", "approve", fp, "--show", show],
                          env=env_for(home), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert ("no year in 'My Show'" in done.stderr) == (columns != 100), done.stderr
    season = home / "data" / "library" / "TV Shows" / show / "Season 01"
    assert len(list(season.glob("*.mkv"))) == 4
    code, finished, _ = screen_of(home, "watch", "--once", episode_disc.iso, columns=columns)
    assert code == 0 and "already in the library" in " ".join(finished)


def test_help_names_every_kind_of_disc_and_fits(tmp_path):
    code, shown, _ = screen_of(tmp_path / "h", "--help")
    assert code == 0
    assert_tidy(shown, 100)
    text = " ".join(" ".join(shown).split())
    for kind in ("DVDs", "Blu-rays", "audio CDs", "data discs"):
        assert kind in text.split("Options:")[0], kind
    assert text.index("Blu-rays") < text.index("Example:")


def test_watch_once_with_nothing_to_watch_and_a_missing_file_say_so(tmp_path):
    from digitizer import drives

    home = tmp_path / "h"
    missing = tmp_path / "nope.iso"
    done = subprocess.run([EXE, "watch", "--once", str(missing)], env=env_for(home),
                          capture_output=True, text=True)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 4, done.stderr
    assert lines[0] == f"digitizer: error: {missing}: no such file, folder or drive"
    assert all(line.count(str(missing)) == 1 and "warning" not in line for line in lines)
    if drives.list_drives():
        pytest.skip("this machine has an optical drive: `watch --once` would read it")
    done = subprocess.run([EXE, "watch", "--once"], env=env_for(home), capture_output=True,
                          text=True)
    assert done.returncode == 4 and "no optical drive found" in done.stderr


def test_scan_of_a_data_disc_shows_a_data_table(tmp_path):
    root = tmp_path / "files"
    (root / "photos").mkdir(parents=True)
    (root / "photos" / "a.jpg").write_bytes(b"\xff\xd8" * 1000)
    (root / "README.TXT").write_text("holiday\n")
    iso = tmp_path / "data.iso"
    subprocess.run(["genisoimage", "-quiet", "-R", "-J", "-V", "PHOTOS", "-o", str(iso),
                    str(root)], check=True)
    code, shown, _ = screen_of(tmp_path / "h", "scan", iso, "--no-probe", NO_COLOR="1")
    assert code == 0, shown
    assert_tidy(shown, 100)
    assert shown[1].split() == ["TITLE", "SIZE", "FILES", "CREATED", "ROLE"]
    assert re.fullmatch(r"1 +[\d.]+ KiB +2 +\S+ +main", shown[2]), shown  # two files


def test_an_audio_cd_says_track_and_shows_tracks(tmp_path):
    from test_cd import build_album

    cue = build_album(tmp_path / "img")
    home = tmp_path / "h"
    code, shown, _ = screen_of(home, "scan", cue, NO_COLOR="1")
    assert code == 0, shown
    assert_tidy(shown, 100)
    assert shown[1].split() == ["TRACK", "LENGTH", "NAME", "ARTIST", "ISRC"]
    assert [line.split()[0] for line in shown[2:5]] == ["1", "2", "3"]
    code, shown, raw = screen_of(home, "watch", "--once", cue, DIGITIZER_ACCURATERIP_URL="",
                                 DIGITIZER_MUSICBRAINZ_URL="")
    assert code == 0, shown
    assert_tidy(shown, 100)
    assert "rip track 1" in raw and "rip title" not in raw


def test_watch_says_what_it_watches_and_how_to_stop(tmp_path):
    import signal

    home = tmp_path / "h"
    image = tmp_path / "later.iso"  # not there yet: watch says so and keeps watching
    proc = subprocess.Popen([EXE, "watch", str(image)], env=env_for(home),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stderr.readline()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert first.startswith(f"digitizer: watching {image} every 2 s")
    assert "Ctrl-C stops" in first
