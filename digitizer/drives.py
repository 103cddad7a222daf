"""Optical drives: found in /sys/block, state from the cdrom ioctls, media from udev.

Everything is read at run time and cheaply (one open + ioctl per drive), so `watch` can
poll every few seconds with no measurable CPU. The udev database is read as a file
(/run/udev/data/b<major>:<minor>), so no udev library is needed and no daemon is woken.
"""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path

CDROM_DRIVE_STATUS = 0x5326
CDROM_DISC_STATUS = 0x5327
CDROMEJECT = 0x5309
CDSL_CURRENT = 0x7FFFFFFF  # INT_MAX: "the current slot"

# linux/cdrom.h drive status values
DRIVE_STATUS = {0: "no_info", 1: "no_disc", 2: "tray_open", 3: "not_ready", 4: "disc"}
# linux/cdrom.h disc status values (only meaningful when the drive reports a disc)
DISC_STATUS = {100: "audio", 101: "data", 102: "data", 103: "data", 104: "data",
               105: "mixed", 0: "no_info", 1: "no_disc"}

SYS_BLOCK = Path("/sys/block")
UDEV_DATA = Path("/run/udev/data")


def drive_status(device: str) -> tuple[str, str | None]:
    """(status, disc_kind) from the ioctls; status is disc|no_disc|tray_open|not_ready|..."""
    try:
        fd = os.open(device, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno in (errno.ENOMEDIUM,):
            return "no_disc", None
        return "unavailable", None
    try:
        try:
            status = DRIVE_STATUS.get(fcntl.ioctl(fd, CDROM_DRIVE_STATUS, CDSL_CURRENT),
                                      "no_info")
        except OSError:
            return "not_a_drive", None
        kind = None
        if status == "disc":
            try:
                kind = DISC_STATUS.get(fcntl.ioctl(fd, CDROM_DISC_STATUS, 0))
            except OSError:
                kind = None
        return status, kind
    finally:
        os.close(fd)


def drive_name(device: str, sys_block: Path = SYS_BLOCK) -> str | None:
    """"VENDOR MODEL" of a drive as sysfs reports them (SCSI INQUIRY), the padding
    trimmed and runs of spaces made one: the key of `[drives."VENDOR MODEL"]` and of
    AccurateRip's drive offset list. None for what is not a drive (a loop device)."""
    try:
        dev = Path(os.path.realpath(device)).name
        vendor = (sys_block / dev / "device" / "vendor").read_text(errors="replace")
        model = (sys_block / dev / "device" / "model").read_text(errors="replace")
    except OSError:
        return None
    return " ".join(f"{vendor} {model}".split()) or None


def normal_name(name: str) -> str:
    """A drive's name as compared: case and runs of spaces do not count, nor AccurateRip's
    " - " between vendor and model."""
    return " ".join(name.replace(" - ", " ").split()).upper()


def udev_properties(device: str, udev_data: Path = UDEV_DATA) -> dict[str, str]:
    """The E: properties udev recorded for a block device (empty without udev)."""
    try:
        rdev = os.stat(device).st_rdev
    except OSError:
        return {}
    path = udev_data / f"b{os.major(rdev)}:{os.minor(rdev)}"
    props = {}
    try:
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith("E:") and "=" in line:
                key, _, value = line[2:].partition("=")
                props[key] = value
    except OSError:
        pass
    return props


def media_type(props: dict[str, str]) -> str | None:
    """dvd | bluray | cd | data from udev's ID_CDROM_MEDIA_* properties."""
    if not props.get("ID_CDROM_MEDIA"):
        return None
    if any(k.startswith("ID_CDROM_MEDIA_BD") for k in props):
        return "bluray"
    if any(k.startswith("ID_CDROM_MEDIA_DVD") for k in props):
        return "dvd"
    if int(props.get("ID_CDROM_MEDIA_TRACK_COUNT_AUDIO", "0") or 0) > 0:
        return "cd"
    if any(k.startswith("ID_CDROM_MEDIA_CD") for k in props):
        return "data"
    return None


def list_drives(sys_block: Path = SYS_BLOCK, dev: Path = Path("/dev")) -> list[str]:
    """Device paths of the optical drives (sr*), plus where /dev/cdrom* links point."""
    found = []
    if sys_block.is_dir():
        for entry in sorted(sys_block.glob("sr*")):
            found.append(str(dev / entry.name))
    for link in sorted(dev.glob("cdrom*")) + sorted(dev.glob("dvd*")):
        try:
            target = str(link.resolve())
        except OSError:
            continue
        if target not in found and Path(target).exists():
            found.append(target)
    return found


def describe(device: str) -> dict:
    status, disc_kind = drive_status(device)
    props = udev_properties(device)
    disc_type = media_type(props) if status == "disc" else None
    if status == "disc" and disc_type is None and disc_kind == "audio":
        disc_type = "cd"
    return {"source": device, "kind": "drive", "status": status, "disc_type": disc_type,
            "model": props.get("ID_MODEL", "").replace("_", " ") or None}


def is_block_device(path: str) -> bool:
    import stat

    try:
        return stat.S_ISBLK(os.stat(path).st_mode)
    except OSError:
        return False
