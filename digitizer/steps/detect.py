"""detect: what is this source? A drive (and its state), an image, or a folder."""

from __future__ import annotations

import os

from digitizer import drives, formats
from digitizer.errors import NoDisc


def detect(source: str) -> dict:
    """One source described; raises SourceError when it is not a readable disc."""
    if drives.is_block_device(source):
        info = drives.describe(source)
        if info["status"] not in ("disc", "no_info", "not_a_drive"):
            info["label"] = None
            return info
        if info["status"] == "not_a_drive":
            info["status"] = "disc"  # a block device holding an image (loop device, USB stick)
        try:
            with formats.open_source(source) as fs:
                about = _about(fs)
                info.update(about, disc_type=info["disc_type"] or about["disc_type"],
                            status="disc")
        except NoDisc:
            info.update(status="no_disc", label=None)
        return info
    with formats.open_source(source) as fs:
        return {"source": source, "kind": fs.kind, "status": "disc", **_about(fs)}


def _about(fs) -> dict:
    """What the open disc says of itself: its kind, label, and (formats that know them) the
    name it gives itself and whether its content is encrypted."""
    fmt = formats.recognise(fs)
    info = {"disc_type": fmt.NAME if fmt else formats.disc_type(fs),
            "label": formats.label_of(fs, fmt)}
    if hasattr(fmt, "disc_title"):
        info["disc_name"] = fmt.disc_title(fs)
    if hasattr(fmt, "encryption"):
        info["encrypted"] = fmt.encryption(fs)
    return info


def detect_drives() -> list[dict]:
    return [drives.describe(dev) for dev in drives.list_drives()]


def normalise(source: str) -> str:
    """Absolute path (so a source named `-x` is never read as an option by a tool)."""
    return source if source.startswith("/dev/") else os.path.abspath(source)
