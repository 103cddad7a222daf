"""Sidecar markers: the only writer of digitizer's JSON files next to the media.

A marker is the durable truth about a file: a finished artefact exists only when its file
verifies AND its marker says so. Writes are atomic (temporary file in the same folder,
fsync, rename, fsync of the folder), so a kill at any moment leaves either the old marker
or the new one, never half of one. All markers are dot-files, which Plex and Jellyfin ignore.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Iterator

from digitizer.liveness import alive

SCHEMA = 1
DISC_MARKER = ".digitizer-disc.json"
SUFFIX = ".digitizer.json"


def sidecar(path: str | Path) -> Path:
    """The marker of an artefact: ``dir/.NAME.digitizer.json`` beside ``dir/NAME``."""
    path = Path(path)
    return path.with_name("." + path.name + SUFFIX)


def disc_marker(folder: str | Path) -> Path:
    return Path(folder) / DISC_MARKER


# The temporary's name says which process writes it (sweep() reads the pid back), so the
# threads of one process (watch's queue workers, resume's titles on a cluster) take turns:
# two of them naming the disc at once had one rename the other's temporary away.
_WRITING = threading.RLock()


def write(path: str | Path, data: dict) -> Path:
    path = Path(path)
    body = dict(data, schema=SCHEMA)
    body.setdefault("written", round(time.time(), 3))
    text = json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with _WRITING:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, text.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    _fsync_dir(path.parent)
    return path


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read(path: str | Path) -> dict | None:
    """A marker's content, or None when absent, unreadable, or not a marker we wrote."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("schema"), int):
        return None
    if data["schema"] > SCHEMA:
        return None
    return data


def read_disc(folder: str | Path) -> dict:
    """A disc's marker in its staging folder ({} when there is none yet)."""
    return read(disc_marker(folder)) or {}


def update_disc(folder: str | Path, **fields) -> dict:
    """Merge fields into a disc's marker (detect, fingerprint, scan, selection, name)."""
    path = disc_marker(folder)
    with _WRITING:  # read, merge and write as one: another thread's fields are not lost
        data = read(path) or {"kind": "disc"}
        data.update(fields)
        data.pop("written", None)
        write(path, data)
    return data


def remove(path: str | Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def write_artefact(file: str | Path, *, step: str, fingerprint: str, title: int,
                   **facts) -> Path:
    """Declare ``file`` a finished, verified artefact of ``step``."""
    file = Path(file)
    st = file.stat()
    return write(sidecar(file), dict(facts, kind="artefact", step=step, file=file.name,
                                     fingerprint=fingerprint, title=title, size=st.st_size))


def artefact(file: str | Path) -> dict | None:
    """The artefact marker of ``file`` if it still describes that file (name and size)."""
    file = Path(file)
    data = read(sidecar(file))
    if not data or data.get("kind") != "artefact" or data.get("file") != file.name:
        return None
    try:
        if file.stat().st_size != data.get("size"):
            return None
    except OSError:
        return None
    return data


def find(roots: list[Path]) -> Iterator[tuple[Path, dict]]:
    """Every readable marker under the given folders: (marker path, content)."""
    for root in roots:
        if not Path(root).is_dir():
            continue
        for dirpath, _dirs, files in os.walk(root):
            for name in sorted(files):
                if name == DISC_MARKER or (name.startswith(".") and name.endswith(SUFFIX)):
                    path = Path(dirpath) / name
                    data = read(path)
                    if data is not None:
                        yield path, data


def artefact_path(marker_path: Path, data: dict) -> Path:
    return marker_path.with_name(data["file"])


def sweep(folder: str | Path, stem: str = "") -> list[Path]:
    """Remove the temporaries of writes that a killed process left in `folder` (only those
    whose writer is gone: a live writer's temporary is about to be renamed)."""
    removed = []
    folder = Path(folder)
    if not folder.is_dir():
        return removed
    for tmp in folder.glob(f".*{stem}*.tmp-*" if stem else ".*.tmp-*"):
        pid = tmp.name.rsplit("-", 1)[-1]
        # a pid whose process started after the temporary was written was reused
        if pid.isdigit() and not alive(int(pid), tmp.stat().st_mtime):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


MANIFEST = "disc.odm.json"


def write_manifest(folder: str | Path, manifest: dict) -> Path:
    """The disc's Optical Disc Manifest (manifest.py) as disc.odm.json in its staging
    folder: a published format, so no marker keys are added to it."""
    path = Path(folder) / MANIFEST
    write_text_atomic(path, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return path


def write_text_atomic(path: str | Path, text: str) -> None:
    """Atomic write of a non-marker text file (the config written by `config init`)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
