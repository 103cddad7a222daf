"""fingerprint: which disc is this, and have we seen it? Reads only the navigation files.

The format reads its ids (formats/*.read_ids): content only, so the same disc as a drive,
an image or a copied folder gives the same primary fingerprint, from well under 1 MiB of
reads.
"""

from __future__ import annotations

import time
from pathlib import Path

from digitizer import formats, markers
from digitizer.names import inside, label_slug


def disc_folder(staging: Path, label: str | None, fingerprint: str) -> Path:
    """The disc's staging folder: a sanitised label (data, never a path) + the fingerprint."""
    name = f"{label_slug(label)}-{fingerprint[:12]}"
    return inside(staging, Path(staging) / name)


def read_ids(source: str) -> dict:
    t0 = time.perf_counter()
    with formats.open_source(source) as fs:
        fmt = formats.format_of(source, fs)
        got = fmt.read_ids(fs)
        return {"source": source, "kind": fs.kind, "disc_type": fmt.NAME,
                "label": formats.label_of(fs, fmt),
                "fingerprint": got["fingerprint"], "ids": got["ids"],
                "bytes_read": fs.bytes_read, "seconds": round(time.perf_counter() - t0, 4)}


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
    markers.update_disc(folder, fingerprint=fp, disc_type=result["disc_type"],
                        label=result["label"], ids=result["ids"], source=source)
    result["known"] = known
    result["folder"] = str(folder)
    if known:
        result["identity"] = catalog.name(fp)
        result["progress"] = {str(t): s for t, s in catalog.progress(fp).items()}
        catalog.add_event("disc_seen_again", fp, source=source)
    else:
        catalog.add_event("disc_detected", fp, source=source, label=result["label"])
    return result
