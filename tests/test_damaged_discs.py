"""Scratched video discs (issue 15): a loop device holds a real DVD, the EIO library of
test_data_discs fails reads of one area as a scratch does. Read directly, the title that
crosses the scratch fails with one line and the others are ripped; imaged first, only
that title is held back, until a retry reads the disc whole or a person accepts it."""

import json
from pathlib import Path

import pytest

from digitizer.tools import ffmpeg
from test_data_discs import loop_device, run, shim  # noqa: F401  (fixture)
from test_unattended import leftovers

pytestmark = pytest.mark.slow
DATA = Path(__file__).parent / "data"
SECTOR = 2048


def scratch(device, first_sector, sectors=32):
    return {"EIO_PATH": device, "EIO_START": str(first_sector * SECTOR),
            "EIO_END": str((first_sector + sectors) * SECTOR)}


def in_the_extra(iso) -> int:
    """A sector inside the second title set's VOB (the 4:3 extra): only that title reads it."""
    from digitizer.formats.discfs import open_disc

    with open_disc(iso) as fs:
        first, size = fs.file_extent("VIDEO_TS/VTS_02_1.VOB")
    return first + size // SECTOR // 2


def staged(home):
    return next((home / "data" / "staging").iterdir())


def library(home):
    return sorted(p.name for p in (home / "data" / "library").rglob("*.mkv"))


def test_the_read_error_line_of_ffmpeg_is_recognised():
    lines = (DATA / "ffmpeg9_dvdvideo_read_error.txt").read_text().splitlines()
    assert [line for line in lines if ffmpeg.read_error(line)] == [
        line for line in lines if "Unable to read next block" in line or
        "Error reading from DVD" in line] and sum(map(ffmpeg.read_error, lines)) == 2
    # progress and stream lines are not read errors
    assert not ffmpeg.read_error("[in#0/dvdvideo @ 0x1] Error during demuxing: EOF")


def test_a_scratch_read_directly_fails_only_its_title(tmp_path, pal_disc, shim):
    home = tmp_path / "h"
    bad = in_the_extra(pal_disc.iso)
    with loop_device(pal_disc.iso) as device:
        env = dict(scratch(device, bad), LD_PRELOAD=str(shim))
        done = run(home, "rip", "--title", 5, "--title", 1, device, **env)
    assert done.returncode == 4, done.stderr
    [line] = [x for x in done.stderr.splitlines() if x.startswith("digitizer:")]
    assert line.startswith("digitizer: title 5: the disc could not be read past") and \
        "--image-first" in line
    folder = staged(home)
    assert sorted(p.name for p in folder.glob("title_*")) == ["title_01.mkv"]
    assert leftovers(home) == []


def test_image_first_holds_the_damaged_title_until_the_disc_reads_whole(tmp_path, pal_disc,
                                                                         shim):
    home, ref = tmp_path / "h", tmp_path / "ref"
    bad = in_the_extra(pal_disc.iso)
    name = ("--movie", "Pal Disc (2001)")
    with loop_device(pal_disc.iso) as device:
        env = dict(scratch(device, bad), LD_PRELOAD=str(shim), DIGITIZER_IMAGE_FIRST="true",
                   DIGITIZER_PRESET="copy")
        done = run(home, "watch", "--once", *name, device, **env)
        assert done.returncode == 4, done.stderr
        assert f"title 5: unreadable sectors {bad}-{bad + 31} (32 sectors); held back" \
            in done.stderr
        # The titles the scratch does not touch went all the way; the extra did not.
        assert library(home) == ["PAL_DISC - title 02.mkv", "PAL_DISC - title 03.mkv",
                                 "Pal Disc (2001).mkv"]
        waiting = [json.loads(x) for x in run(home, "review").stdout.splitlines()]
        assert [(w["reason"], w["titles"]) for w in waiting] == [("damaged", [5])]
        folder = staged(home)
        assert (folder / "disc.iso.part.map").exists()  # the retry continues from it
        # Cleaned: the retry reads only the bad areas again, and the title is whole.
        done = run(home, "resume", "--retry", device, DIGITIZER_PRESET="copy",
                   )
    assert done.returncode == 0, done.stderr
    assert library(home) == ["PAL_DISC - title 02.mkv", "PAL_DISC - title 03.mkv",
                             "PAL_DISC - title 05.mkv", "Pal Disc (2001).mkv"]
    assert leftovers(home) == []
    assert not list(folder.glob("disc.iso*"))  # the disc-sized image is gone once used
    marker = json.loads((folder / ".title_05.mkv.digitizer.json").read_text())
    assert "damaged" not in marker
    run(ref, "rip", "--title", 5, pal_disc.iso)
    assert (folder / "title_05.mkv").read_bytes() == \
        (staged(ref) / "title_05.mkv").read_bytes()
    assert run(home, "review").stdout.strip() == ""


def test_accepted_damage_is_filed_and_its_marker_says_so(tmp_path, pal_disc, shim):
    home = tmp_path / "h"
    bad = in_the_extra(pal_disc.iso)
    with loop_device(pal_disc.iso) as device:
        env = dict(scratch(device, bad), LD_PRELOAD=str(shim), DIGITIZER_PRESET="copy",
                   )
        done = run(home, "rip", "--image-first", "--title", 1, "--title", 5, device, **env)
        assert done.returncode == 4, done.stderr
    # No drive needed any more: the damaged image is staged.
    fp = json.loads(run(home, "review").stdout)["fingerprint"]
    refused = run(home, "review", "accept", fp[:8], "1")
    assert refused.returncode == 2 and "not damaged" in refused.stderr
    done = run(home, "review", "accept", fp[:8], DIGITIZER_PRESET="copy")
    assert done.returncode == 0, done.stderr
    folder = staged(home)
    marker = json.loads((folder / ".title_05.mkv.digitizer.json").read_text())
    assert marker["damaged"] == f"sectors {bad}-{bad + 31} (32 sectors)"
    assert leftovers(home) == [] and not list(folder.glob("disc.iso*"))
