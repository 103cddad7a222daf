"""Data discs (photos, software, backups): whatever has a file system and no video or audio
structure another format reads. The whole disc is one title, imaged bit for bit with GNU
ddrescue (tools/ddrescue.py) into the staging folder and filed as
`<data library>/<Label> (<date>).iso`.

The image is resumable: its map file stays beside the `.part`, so a kill or a pulled disc
continues where it stopped, and a read error is never taken as done. Unreadable sectors are
named on one line, the `.part` and its map are kept, and `digitizer resume` retries only
those areas (`image_retries` passes), e.g. after the disc was cleaned.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

from digitizer import names
from digitizer.errors import DamagedRead, VerificationFailed
from digitizer.formats.discfs import DiscFS

NAME = "data"
STEPS = ("rip", "insert")
RIP_SUFFIX = ".iso"
CATCH_ALL = True  # last in the registry: what no other format reads
RESUMES_PART = True  # a failed image keeps its .part and map: the next run continues it
NEEDS_NAME = False  # filed by its label and date; no review

_DESCRIPTORS = (16, 32)  # sectors 16-47: the ISO 9660 / UDF volume recognition area


def recognises(fs: DiscFS) -> bool:
    return fs.kind in ("image", "drive")


def read_ids(fs: DiscFS) -> dict:
    """The primary id is the MD5 of the volume descriptors (label, creation time, sizes of
    the file system, as the mastering tool wrote them): the same for a drive and its image."""
    raw = fs.sectors(*_DESCRIPTORS)
    digest = hashlib.md5(raw).hexdigest()
    return {"fingerprint": digest,
            "ids": {"volume_md5": digest, "label": fs.label, "size": fs.size,
                    "created": _created(raw)}}


def _created(raw: bytes) -> str | None:
    """The ISO 9660 volume creation date (YYYY-MM-DD) from the primary volume descriptor."""
    if raw[1:6] != b"CD001" or raw[0] != 1:
        return None
    stamp = raw[813:821].decode("ascii", "replace")
    if not stamp.isdigit() or stamp == "00000000":
        return None
    return f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}"


def scan(source: str, cfg) -> dict:
    from digitizer.formats.discfs import open_disc

    with open_disc(source) as fs:
        ids = read_ids(fs)["ids"]
        files = _files(fs)
    title = {"title": 1, "duration": 0.0, "chapters": None, "segments": None,
             "size": ids["size"], "label": ids["label"], "created": ids["created"],
             "files": files[:10_000], "file_count": len(files)}
    return {"disc": {"label": ids["label"], "size": ids["size"], "created": ids["created"]},
            "titles": [title], "tool_versions": {}}


def _files(fs: DiscFS, folder: str = "") -> list[str]:
    out = []
    for entry in fs.listdir(folder):
        path = f"{folder}/{entry.name}" if folder else entry.name
        out += _files(fs, path) if entry.is_dir else [path]
    return out


def assign_roles(titles: list[dict], cfg, kind: str | None = None) -> None:
    for t in titles:
        t["role"] = "main"


def probe(source: str, title: dict, cfg) -> None:
    """Nothing to decode on a data disc."""


def image(source: str, part: Path, size: int | None, cfg, retries: int) -> list:
    """The whole disc into `part` with ddrescue, its map `part.map` beside it (continued
    when present, so only what is missing is read). Returns the areas still unreadable
    (ddrescue blocks; `describe` names them); VerificationFailed when the map is unusable
    or does not account for the whole disc."""
    from digitizer.tools import ddrescue, run

    mapfile = part.with_name(part.name + ".map")
    run.run(ddrescue.argv(source, str(part), str(mapfile), retries=retries,
                          program=cfg.ddrescue), timeout=None)
    try:
        blocks = ddrescue.parse_map(mapfile.read_text(encoding="utf-8", errors="replace"))
    except (OSError, ValueError) as exc:
        raise VerificationFailed(f"{part.name}: ddrescue left no usable map ({exc})") from None
    # A map that does not account for the whole disc proves nothing about the rest.
    if size and ddrescue.covered(blocks) != size:
        raise VerificationFailed(f"{part.name}: the map covers {ddrescue.covered(blocks)} "
                                 f"bytes, the disc has {size}")
    return ddrescue.missing(blocks)


def describe(bad: list) -> str:
    """Unreadable areas in one line: "sectors 1024-1055 (32 sectors)"."""
    from digitizer.tools import ddrescue

    return ddrescue.describe(bad)


def sector_spans(bad: list) -> list[tuple[int, int]]:
    """Unreadable areas as (first, last) 2048-byte sectors."""
    from digitizer.tools import ddrescue

    return [(b.start // ddrescue.SECTOR, (b.end - 1) // ddrescue.SECTOR) for b in bad]


def rip(source: str, title: dict, part: Path, cfg, progress) -> dict:
    """The whole disc into `part` with ddrescue and its map `part.map`; DamagedRead naming
    the unreadable sectors when some could not be read (part and map kept for a retry)."""
    from digitizer.tools import run

    mapfile = part.with_name(part.name + ".map")
    retries = cfg.image_retries if mapfile.exists() else 0
    t0 = time.monotonic()
    bad = image(source, part, title.get("size"), cfg, retries)
    if bad:
        raise DamagedRead(f"{source}: unreadable {describe(bad)}; the image so far "
                          "is kept: `digitizer resume` retries only these")
    size = part.stat().st_size
    if title.get("size") and size != title["size"]:
        raise VerificationFailed(f"{part.name}: {size} bytes, the disc has {title['size']}")
    digest = hashlib.sha256()
    with open(part, "rb") as fh:
        for chunk in iter(lambda: fh.read(4 << 20), b""):
            digest.update(chunk)
    mapfile.unlink()
    return {"duration": 0.0, "bytes": size, "sha256": digest.hexdigest(),
            "created": title.get("created") or time.strftime("%Y-%m-%d"),
            "seconds": round(time.monotonic() - t0, 2),
            "tool_versions": {"ddrescue": run.version(cfg.ddrescue)}}


def library_root(cfg) -> Path:
    """Config `data_library`, else `<library>/Discs`."""
    return Path(cfg.data_library).expanduser() if cfg.data_library else \
        cfg.path_of("library") / "Discs"


def library_path(library: Path, name, item: dict, episode: int | None,
                 extra_type: str) -> Path:
    """`<Label> (<date>).iso`: the date the disc was mastered, else the day it was imaged."""
    return names.data_path(library, item.get("label"), item.get("created"))
