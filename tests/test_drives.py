"""Optical drives (issue 29): drives.py, watch's polling, eject and the per-drive lock, run
against real block devices. A loop device holds a real disc image; a small LD_PRELOAD
library (data/cdrom_shim.c) makes it answer the cdrom driver's ioctls as a drive does, its
state (disc, no_disc, tray_open) in a file every process shares, so util-linux eject's
CDROMEJECT opens its "tray". The drive list and udev's media type are read from a fake
sysfs and udev tree (the functions take their roots)."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from digitizer import drives
from digitizer.catalog import Catalog
from test_data_discs import loop_device
from test_unattended import EXE, env_for

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def cdrom_shim(tmp_path_factory):
    out = tmp_path_factory.mktemp("cdrom-shim") / "cdrom_shim.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-O2", "-o", str(out),
                    str(DATA / "cdrom_shim.c"), "-ldl"], check=True)
    return out


@pytest.fixture(scope="module")
def small_iso(tmp_path_factory):
    """A small data disc (a few KiB of files): imaged in a blink, so watch's loop is fast."""
    root = tmp_path_factory.mktemp("small-disc")
    (root / "files").mkdir()
    (root / "files" / "NOTES.TXT").write_text("drive test\n")
    iso = root / "small.iso"
    subprocess.run(["genisoimage", "-quiet", "-V", "DRIVE TEST", "-o", str(iso),
                    str(root / "files")], check=True)
    return iso


class Drive:
    """A loop device holding `image`, answering as an optical drive in processes started
    with `env()`; `put(state)` changes what its ioctls say."""

    def __init__(self, device: str, shim: Path, folder: Path):
        self.device = device
        self.state = folder / "drive-state"
        self.put("no_disc")
        # util-linux eject refuses a device whose sysfs `removable` is 0 (every loop
        # device) before it tries any ioctl; --force skips only that check, so the
        # CDROMEJECT it then sends is the one a real drive gets.
        self.eject = folder / "eject"
        self.eject.write_text('#!/bin/sh\nexec eject --force "$@"\n')
        self.eject.chmod(0o755)
        self.vars = {"LD_PRELOAD": str(shim), "CDROM_PATH": device,
                     "CDROM_STATE": str(self.state), "DIGITIZER_EJECT": str(self.eject)}

    def put(self, state: str) -> None:
        self.state.write_text(state + "\n")

    def now(self) -> str:
        return self.state.read_text().strip()


@contextlib.contextmanager
def drive_with(image, shim, folder):
    with loop_device(image) as device:
        yield Drive(device, shim, folder)


def digitizer(home, *args, env_extra=None, timeout=120):
    return subprocess.run([EXE, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=env_for(home, **(env_extra or {})))


# -- the drive list and udev's media type, from a fake sysfs and udev tree ---------------------
def test_every_optical_drive_is_listed_and_nothing_else(tmp_path):
    sys_block, dev = tmp_path / "sys" / "block", tmp_path / "dev"
    for name in ("loop0", "sda", "sr0", "sr1", "nvme0n1"):
        (sys_block / name).mkdir(parents=True)
    dev.mkdir()
    for name in ("sr0", "sr1", "sda", "scd3"):
        (dev / name).touch()
    (dev / "cdrom").symlink_to("sr0")  # udev's link to a drive already listed
    (dev / "dvd1").symlink_to("scd3")  # a drive known only by its link
    (dev / "cdrom9").symlink_to("gone")  # a link left behind by a drive unplugged
    assert drives.list_drives(sys_block, dev) == [str(dev / "sr0"), str(dev / "sr1"),
                                                  str(dev / "scd3")]
    assert drives.list_drives(tmp_path / "no-sysfs", tmp_path / "empty-dev") == []


# What systemd's cdrom_id writes into udev's database for a drive (the drive's abilities
# ID_CDROM_*, the disc's ID_CDROM_MEDIA_*), as /run/udev/data/b<major>:<minor> holds them.
UDEV_RECORDS = {
    "dvd": ["ID_CDROM_BD=1", "ID_CDROM_DVD=1", "ID_CDROM_MEDIA=1", "ID_CDROM_MEDIA_DVD=1",
            "ID_CDROM_MEDIA_STATE=complete", "ID_CDROM_MEDIA_TRACK_COUNT=1",
            "ID_CDROM_MEDIA_TRACK_COUNT_DATA=1"],
    "bluray": ["ID_CDROM_BD=1", "ID_CDROM_DVD=1", "ID_CDROM_MEDIA=1", "ID_CDROM_MEDIA_BD=1",
               "ID_CDROM_MEDIA_STATE=complete", "ID_CDROM_MEDIA_TRACK_COUNT_DATA=1"],
    "cd": ["ID_CDROM_DVD=1", "ID_CDROM_MEDIA=1", "ID_CDROM_MEDIA_CD=1",
           "ID_CDROM_MEDIA_STATE=complete", "ID_CDROM_MEDIA_TRACK_COUNT=12",
           "ID_CDROM_MEDIA_TRACK_COUNT_AUDIO=12"],
    "data": ["ID_CDROM_DVD=1", "ID_CDROM_MEDIA=1", "ID_CDROM_MEDIA_CD_R=1",
             "ID_CDROM_MEDIA_STATE=complete", "ID_CDROM_MEDIA_TRACK_COUNT_DATA=1"],
    None: ["ID_CDROM_BD=1", "ID_CDROM_DVD=1"],  # an empty drive: no ID_CDROM_MEDIA
}


@pytest.mark.parametrize("kind", list(UDEV_RECORDS))
def test_the_media_type_comes_from_the_devices_own_udev_record(tmp_path, small_iso, kind):
    udev = tmp_path / "udev"
    udev.mkdir()
    with loop_device(small_iso) as device:
        rdev = os.stat(device).st_rdev
        record = ["S:cdrom", "I:5132406", *(f"E:{p}" for p in UDEV_RECORDS[kind]),
                  "E:ID_MODEL=BD-RE_BH16NS40", "G:systemd", "Q:systemd", "V:1"]
        (udev / f"b{os.major(rdev)}:{os.minor(rdev)}").write_text("\n".join(record) + "\n")
        # another device's record beside it is not read
        (udev / f"b{os.major(rdev)}:{os.minor(rdev) + 1}").write_text("E:ID_CDROM_MEDIA_BD=1\n")
        props = drives.udev_properties(device, udev)
        assert props["ID_MODEL"] == "BD-RE_BH16NS40"
        assert drives.media_type(props) == kind
    assert drives.udev_properties(str(tmp_path / "missing"), udev) == {}


# -- the drive's state from the ioctls, on a real block device ---------------------------------
def test_detect_reads_the_drive_state_from_its_ioctls(tmp_path, small_iso, cdrom_shim):
    home = tmp_path / "h"
    with drive_with(small_iso, cdrom_shim, tmp_path) as drive:
        seen = {}
        for state in ("disc", "no_disc", "tray_open", "not_ready"):
            drive.put(state)
            done = digitizer(home, "detect", drive.device, env_extra=drive.vars)
            assert done.returncode == 0, done.stderr
            seen[state] = json.loads(done.stdout)
        assert seen["disc"]["status"] == "disc"
        assert (seen["disc"]["disc_type"], seen["disc"]["label"]) == ("data", "DRIVE TEST")
        for state in ("no_disc", "tray_open", "not_ready"):
            # an empty or opening drive is not read: no label, whatever the device holds
            assert (seen[state]["status"], seen[state]["label"]) == (state, None)
        # and in-process, the same answers straight from drives.py
        code = ("import json, sys; from digitizer import drives; "
                "print(json.dumps(drives.drive_status(sys.argv[1])))")
        for state, want in (("disc", ["disc", "data"]), ("no_disc", ["no_disc", None])):
            drive.put(state)
            out = subprocess.run([sys.executable, "-c", code, drive.device], check=True,
                                 capture_output=True, text=True,
                                 env=dict(os.environ, **drive.vars)).stdout
            assert json.loads(out) == want
    # without the drive's ioctls a block device is no drive, and its image is read as one
    with loop_device(small_iso) as device:
        assert drives.drive_status(device) == ("not_a_drive", None)


def test_watch_rips_a_disc_when_it_arrives_ejects_it_and_never_rips_it_twice(
        tmp_path, small_iso, cdrom_shim):
    home = tmp_path / "h"
    with drive_with(small_iso, cdrom_shim, tmp_path) as drive:
        env = env_for(home, DIGITIZER_POLL_SECONDS="0.1", **drive.vars)
        proc = subprocess.Popen([EXE, "watch", drive.device], env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            catalog = home / "data" / "catalog.db"

            def events(kind):
                if not catalog.exists():
                    return []
                return [e for e in Catalog(catalog).events(limit=500) if e["event"] == kind]

            def wait_for(ready, what, timeout=60):
                deadline = time.monotonic() + timeout
                while not ready():
                    assert proc.poll() is None, proc.communicate()
                    assert time.monotonic() < deadline, f"{what}: {proc.stderr}"
                    time.sleep(0.05)

            # "one ioctl each, ~0 CPU when idle": once started (on a loaded machine that can
            # take a while), a second of polling every 0.1 s costs under 5 % of a core
            windows = []
            for _ in range(10):
                cpu = cpu_seconds(proc.pid)
                time.sleep(1.0)
                windows.append(cpu_seconds(proc.pid) - cpu)
                if windows[-1] < 0.05:
                    break
            assert min(windows) < 0.05, windows
            assert events("disc_detected") == [] and drive.now() == "no_disc"
            drive.put("disc")  # a disc goes in
            wait_for(lambda: drive.now() == "tray_open", "the disc was never read and ejected")
            wait_for(lambda: events("disc_done"), "the disc was never filed")
            assert len(events("title_ripped")) == 1 and len(events("disc_ejected")) == 1
            [image] = (home / "data" / "library" / "Discs").glob("*.iso")
            assert image.read_bytes() == small_iso.read_bytes()
            # The tray closes itself with the same disc in it: known, never ripped again.
            drive.put("disc")
            time.sleep(1.0)
            assert len(events("title_ripped")) == 1
            assert list((home / "data" / "library" / "Discs").glob("*.iso")) == [image]
        finally:
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (/proc/PID/stat, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_eject_after_rip_false_leaves_the_tray_closed(tmp_path, small_iso, cdrom_shim):
    home = tmp_path / "h"
    data_library = tmp_path / "disc-images"  # config data_library: images go there
    with drive_with(small_iso, cdrom_shim, tmp_path) as drive:
        drive.put("disc")
        done = digitizer(home, "watch", "--once", drive.device,
                         env_extra=dict(drive.vars, DIGITIZER_EJECT_AFTER_RIP="false",
                                        DIGITIZER_DATA_LIBRARY=str(data_library)))
        assert done.returncode == 0, done.stderr
        assert drive.now() == "disc"
    [image] = data_library.glob("*.iso")
    assert image.name.startswith("DRIVE TEST (") and image.read_bytes() == small_iso.read_bytes()
    assert not (home / "data" / "library" / "Discs").exists()
    events = [e["event"] for e in Catalog(home / "data" / "catalog.db").events(limit=100)]
    assert "title_ripped" in events and "disc_ejected" not in events


# -- one lock per drive, between two real processes --------------------------------------------
HOLD_LOCK = """
import sys
from pathlib import Path
from digitizer.watch import DriveLock
lock = DriveLock(Path(sys.argv[1]), sys.argv[2])
print("held" if lock.acquire() else "refused", flush=True)
sys.stdin.read()
"""


def test_a_drive_being_read_by_one_process_is_left_alone_by_another(tmp_path, small_iso):
    home = tmp_path / "h"
    locks = home / "data" / "locks"  # beside the catalog, where every watch looks
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(locks), str(small_iso)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        # a second holder in a third process is refused too
        other = subprocess.run([sys.executable, "-c", HOLD_LOCK, str(locks), str(small_iso)],
                               input="", capture_output=True, text=True, timeout=60)
        assert other.stdout.strip() == "refused"
        done = digitizer(home, "watch", "--once", small_iso)
        assert done.returncode == 0, done.stderr
        assert "is being handled by another digitizer process" in done.stderr
        assert not (home / "data" / "staging").exists() or \
            not list((home / "data" / "staging").iterdir())
        assert not (home / "data" / "library" / "Discs").exists()
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    # the holder is gone (the kernel dropped its lock): the disc is read now
    done = digitizer(home, "watch", "--once", small_iso)
    assert done.returncode == 0, done.stderr
    assert "another digitizer process" not in done.stderr
    assert len(list((home / "data" / "library" / "Discs").glob("*.iso"))) == 1
