"""verify: check finished rips against a database of other people's rips, later.

A rip made offline keeps its checksums and says "not verified"; `verify` asks again (the
format says how: formats/*.verify, an audio CD asks AccurateRip) and records the answer in
the track's marker, and in what the format keeps beside the album (the rip log).
"""

from __future__ import annotations

from pathlib import Path

from digitizer import formats, markers
from digitizer.errors import UsageError, VerificationFailed, warn
from digitizer.steps.insert import Ownership, write_album_files


def files_of(paths: list[str]) -> list[Path]:
    """The files of the arguments: a file itself, a folder every artefact under it."""
    out = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(markers.artefact_path(m, d) for m, d in markers.find([p])
                          if d.get("kind") == "artefact")
        elif p.exists():
            out.append(p)
        else:
            raise UsageError(f"{p}: no such file or folder")
    return out


def verify_file(path: Path, cfg) -> dict:
    info = markers.artefact(path)
    if info is None:
        raise UsageError(f"{path}: not a finished rip (no marker beside it)")
    fmt = formats.by_name(info.get("disc_type"))
    check = getattr(fmt, "verify", None)
    if check is None:
        raise UsageError(f"{path}: {fmt.NAME} rips are not checked against a database")
    result = check(info, cfg)
    facts = {k: v for k, v in info.items()
             if k not in ("kind", "file", "size", "step", "fingerprint", "title")}
    facts.update(result["facts"])
    markers.write_artefact(path, step=info["step"], fingerprint=info["fingerprint"],
                           title=info["title"], **facts)
    if info["step"] == "insert":
        write_album_files(fmt, path.parent, info["fingerprint"], Ownership.from_config(cfg))
    row = {"path": str(path), "title": info["title"], "fingerprint": info["fingerprint"],
           "verdict": result["verdict"]}
    if result.get("failed"):
        raise VerificationFailed(f"{path.name}: {result['verdict']}")
    if result.get("status") == "not verified":  # nothing failed, but say why not
        warn(f"{path.name}: {result['verdict']}")
    return row
