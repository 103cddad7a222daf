"""Data discs and damaged reads (issue 15): a loop device stands in for the drive, a real
ISO 9660 file system on it, GNU ddrescue images it; read errors come from a small LD_PRELOAD
library that fails reads of a byte range with EIO, as a scratch does."""

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from digitizer.tools import ddrescue
from test_unattended import EXE, env_for, leftovers

pytestmark = pytest.mark.slow
DATA = Path(__file__).parent / "data"
BAD = (2 << 20, (2 << 20) + (64 << 10))  # 32 sectors inside the big file


@pytest.fixture(scope="module")
def data_iso(tmp_path_factory):
    root = tmp_path_factory.mktemp("data-disc")
    files = root / "files"
    (files / "photos").mkdir(parents=True)
    (files / "README.TXT").write_text("holiday photos\n")
    (files / "photos" / "big.jpg").write_bytes(os.urandom(6 << 20))
    iso = root / "data.iso"
    subprocess.run(["genisoimage", "-quiet", "-R", "-J", "-V", "PHOTOS 2004", "-o", str(iso),
                    str(files)], check=True)
    return iso


@pytest.fixture(scope="module")
def shim(tmp_path_factory):
    out = tmp_path_factory.mktemp("shim") / "eio_shim.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-O2", "-o", str(out),
                    str(DATA / "eio_shim.c"), "-ldl"], check=True)
    return out


@contextlib.contextmanager
def loop_device(image):
    """The image as a read-only block device, as a disc in a drive is."""
    device = subprocess.run(["losetup", "-r", "-f", "--show", str(image)], check=True,
                            capture_output=True, text=True).stdout.strip()
    try:
        yield device
    finally:
        subprocess.run(["losetup", "-d", device], check=False)


def run(home, *args, **extra):
    return subprocess.run([EXE, *map(str, args)], capture_output=True, text=True, timeout=300,
                          env=env_for(home, DIGITIZER_EJECT_AFTER_RIP="false", **extra))


def images(home):
    return sorted((home / "data" / "library" / "Discs").glob("*.iso"))


def test_a_data_disc_on_a_block_device_is_imaged_bit_exact(tmp_path, data_iso):
    home = tmp_path / "h"
    with loop_device(data_iso) as device:
        detected = json.loads(run(home, "detect", device).stdout)
        assert (detected["disc_type"], detected["label"]) == ("data", "PHOTOS 2004")
        scanned = json.loads(run(home, "scan", device).stdout)
        [title] = scanned["titles"]
        assert title["role"] == "main" and title["size"] == data_iso.stat().st_size
        # the names as the disc was made (Joliet), not the 8.3 ISO 9660 stand-ins
        assert sorted(title["files"]) == ["README.TXT", "photos/big.jpg"]
        done = run(home, "watch", "--once", device)
    assert done.returncode == 0, done.stderr
    [image] = images(home)
    assert image.name.startswith("PHOTOS 2004 (") and image.read_bytes() == data_iso.read_bytes()
    marker = json.loads(image.with_name(f".{image.name}.digitizer.json").read_text())
    assert marker["disc_type"] == "data"
    assert marker["sha256"] == hashlib.sha256(data_iso.read_bytes()).hexdigest()
    # the image file itself is the same disc, the same fingerprint: nothing is redone
    again = run(home, "watch", "--once", data_iso)
    assert again.returncode == 0 and images(home) == [image] and leftovers(home) == []


def test_unreadable_sectors_are_held_back_then_retried_after_cleaning(tmp_path, data_iso,
                                                                        shim):
    home = tmp_path / "h"
    with loop_device(data_iso) as device:
        scratched = {"LD_PRELOAD": str(shim), "EIO_PATH": device,
                     "EIO_START": str(BAD[0]), "EIO_END": str(BAD[1])}
        done = run(home, "watch", "--once", device, **scratched)
        assert done.returncode == 4, done.stderr
        # the failure as it happened, then the disc's line: what waits, what retries it
        line, disc = [x for x in done.stderr.splitlines() if "unreadable" in x]
        assert "unreadable sectors 1024-1055 (32 sectors)" in line
        assert disc.startswith("digitizer: error: disc ") and "resume --retry" in disc
        assert images(home) == []  # nothing half-read is ever filed
        staged = list((home / "data" / "staging").rglob("title_01.iso.part*"))
        assert sorted(p.name for p in staged) == ["title_01.iso.part", "title_01.iso.part.map"]
        status = json.loads(run(home, "status", "--json").stdout)
        assert "unreadable sectors" in status["failed"][0]["error"]
        # The disc was cleaned: --retry reads only what is missing, from the map.
        mapfile = next(p for p in staged if p.name.endswith(".map"))
        bad = ddrescue.missing(ddrescue.parse_map(mapfile.read_text()))
        assert [(b.start, b.end) for b in bad] == [BAD]
        done = run(home, "resume", "--retry")
    assert done.returncode == 0, done.stderr
    [image] = images(home)
    assert image.read_bytes() == data_iso.read_bytes() and leftovers(home) == []


def test_a_kill_during_imaging_resumes_from_the_map(tmp_path, data_iso, shim):
    home = tmp_path / "h"
    with loop_device(data_iso) as device:
        slow = {"LD_PRELOAD": str(shim), "EIO_PATH": device, "EIO_DELAY_US": "20000"}
        proc = subprocess.Popen([EXE, "watch", "--once", device], start_new_session=True,
                                env=env_for(home, DIGITIZER_EJECT_AFTER_RIP="false", **slow),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        mapfile = None
        while time.monotonic() < deadline:
            found = list((home / "data" / "staging").rglob("title_01.iso.part.map"))
            try:
                blocks = ddrescue.parse_map(found[0].read_text()) if found else []
            except ValueError:  # caught while ddrescue rewrites it
                blocks = []
            if any(b.status == "+" and b.size >= 1 << 20 for b in blocks):
                mapfile = found[0]
                break
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        assert mapfile is not None, "imaging never got going"
        first = ddrescue.parse_map(mapfile.read_text())[0]
        assert first.status == "+" and (256 << 10) < first.end < data_iso.stat().st_size
        # What was read before the kill now fails to read (past the first 256 KiB, where
        # digitizer itself finds the file system to know the disc): the resume completes
        # only if it continues from the map and never reads those sectors again.
        done = run(home, "resume", LD_PRELOAD=str(shim), EIO_PATH=device,
                   EIO_START=str(256 << 10), EIO_END=str(first.end))
    assert done.returncode == 0, done.stderr
    [image] = images(home)
    assert image.read_bytes() == data_iso.read_bytes() and leftovers(home) == []


def test_ddrescue_map_parser_on_a_real_map():
    # Written by ddrescue 1.27 imaging a 3.3 MB ISO with 64 KiB unreadable at 2 MiB.
    text = """# Mapfile. Created by GNU ddrescue version 1.27
# Command line: ddrescue -b 2048 -q /dev/loop0 o.part o.map
# Start time:   2026-11-22 13:08:24
# Current time: 2026-11-22 13:08:24
# Finished
# current_pos  current_status  current_pass
0x0020F000     +               1
#      pos        size  status
0x00000000  0x00200000  +
0x00200000  0x00010000  -
0x00210000  0x00127800  +
"""
    blocks = ddrescue.parse_map(text)
    assert [(b.start, b.size, b.status) for b in blocks] == [
        (0, 0x200000, "+"), (0x200000, 0x10000, "-"), (0x210000, 0x127800, "+")]
    assert ddrescue.describe(ddrescue.missing(blocks)) == "sectors 1024-1055 (32 sectors)"


# Maps captured from ddrescue 1.27: a finished read of a 663 KiB ISO, the same read with
# sectors 64-65 and 160 failing (an LD_PRELOAD library made those reads fail), and a
# 19 MiB read killed (-9) half-way.
DATA = Path(__file__).parent / "data"


def test_ddrescue_maps_captured_finished_damaged_and_killed():
    clean = ddrescue.parse_map((DATA / "ddrescue-finished.map").read_text())
    assert ddrescue.missing(clean) == [] and ddrescue.covered(clean) == 0xA5800
    damaged = ddrescue.parse_map((DATA / "ddrescue-bad-areas.map").read_text())
    assert ddrescue.covered(damaged) == 0xA5800
    assert ddrescue.describe(ddrescue.missing(damaged)) == "sectors 64-65, 160 (3 sectors)"
    killed = ddrescue.parse_map((DATA / "ddrescue-killed.map").read_text())
    assert [(b.status, b.size) for b in ddrescue.missing(killed)] == [("?", 0xB52D00)]
    assert ddrescue.covered(killed) == 20_000_000


@pytest.mark.parametrize("text", [
    "",  # empty (a map that was never written)
    "# Mapfile. Created by GNU ddrescue version 1.27\n",  # no status line
    "0x0 + 1\n0x0 0x800 +\ngarbage\n",  # a line that is no block
    "0x0 + 1\n0x0 0x800 +\n0x1000 0x800 +\n",  # a gap: the middle is unaccounted for
])
def test_a_map_that_is_not_whole_is_refused(text):
    with pytest.raises(ValueError):
        ddrescue.parse_map(text)


@pytest.mark.parametrize("passes", [0, 2])
def test_a_resume_makes_image_retries_passes_over_the_unreadable_area(tmp_path, data_iso,
                                                                       shim, passes):
    # The disc is still scratched when resumed: each retry pass reads each of the 32 bad
    # sectors once more (the map says which), and nothing else is read again.
    home = tmp_path / "h"
    log = tmp_path / "failed-reads"
    with loop_device(data_iso) as device:
        scratched = {"LD_PRELOAD": str(shim), "EIO_PATH": device, "EIO_LOG": str(log),
                     "EIO_START": str(BAD[0]), "EIO_END": str(BAD[1])}
        first = run(home, "watch", "--once", device, **scratched)
        assert first.returncode == 4, first.stderr
        log.unlink()
        again = run(home, "resume", "--retry", DIGITIZER_IMAGE_RETRIES=str(passes),
                    **scratched)
    assert again.returncode == 4, again.stderr
    reads = [int(x) for x in log.read_text().split()] if log.exists() else []
    sectors = (BAD[1] - BAD[0]) // 2048
    assert len(reads) == passes * sectors
    assert all(BAD[0] <= at < BAD[1] for at in reads)
    assert images(home) == []
