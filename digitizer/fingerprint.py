"""fingerprint: which disc is this, and have we seen it? Reads only the IFO files.

The primary fingerprint is libdvdread's disc id (MD5 of VIDEO_TS.IFO and VTS_01..09_0.IFO):
content only, so the same disc as a drive, an ISO or a copied VIDEO_TS folder gives the same
value, and it needs well under 1 MiB of reads (see discid.py for every id we compute).
"""

from __future__ import annotations

import time
from pathlib import Path

from digitizer import markers
from digitizer.discfs import disc_type, open_disc
from digitizer.discid import dvd_ids, primary
from digitizer.errors import SourceError
from digitizer.names import inside, label_slug


def disc_folder(staging: Path, label: str | None, fingerprint: str) -> Path:
    """The disc's staging folder: a sanitised label (data, never a path) + the fingerprint."""
    name = f"{label_slug(label)}-{fingerprint[:12]}"
    return inside(staging, Path(staging) / name)


def read_ids(source: str) -> dict:
    t0 = time.perf_counter()
    with open_disc(source) as fs:
        kind = disc_type(fs)
        if kind != "dvd":
            raise SourceError(f"{source}: a {kind} disc; only DVD-Video is supported so far")
        ids = dvd_ids(fs)
        return {"source": source, "kind": fs.kind, "disc_type": kind, "label": fs.label,
                "fingerprint": primary(ids), "ids": ids, "bytes_read": fs.bytes_read,
                "seconds": round(time.perf_counter() - t0, 4)}


def fingerprint(source: str, catalog, staging: Path) -> dict:
    """Identify a source, record it in the catalog and its disc marker; report what we know."""
    result = read_ids(source)
    fp = result["fingerprint"]
    folder = disc_folder(staging, result["label"], fp)
    previous = catalog.disc(fp)
    if previous and previous.get("folder") and Path(previous["folder"]).is_dir():
        folder = Path(previous["folder"])  # keep the first folder if the label changed
    known = catalog.record_disc(fp, disc_type=result["disc_type"], label=result["label"],
                                ids=result["ids"], source=source, folder=str(folder))
    folder.mkdir(parents=True, exist_ok=True)
    update_disc_marker(folder, fingerprint=fp, disc_type=result["disc_type"],
                       label=result["label"], ids=result["ids"], source=source)
    result["known"] = known
    result["folder"] = str(folder)
    if known:
        disc = catalog.disc(fp)
        result["identity"] = identity_of(disc)
        result["progress"] = {str(t): s for t, s in catalog.progress(fp).items()}
        catalog.add_event("disc_seen_again", fp, source=source)
    else:
        catalog.add_event("disc_detected", fp, source=source, label=result["label"])
    return result


def identity_of(disc: dict | None) -> dict | None:
    if not disc or not disc.get("identity_name"):
        return None
    return {"kind": disc["identity_kind"], "name": disc["identity_name"],
            "season": disc["identity_season"], "source": disc["identity_source"]}


def update_disc_marker(folder: Path, **fields) -> dict:
    path = markers.disc_marker(folder)
    data = markers.read(path) or {"kind": "disc"}
    data.update(fields)
    data.pop("written", None)
    markers.write(path, data)
    return data
