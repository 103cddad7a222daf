"""insert: put a finished file into the library under the name Plex and Jellyfin expect.

    Movies/Title (Year)/Title (Year).mkv
    Movies/Title (Year)/Featurettes|Behind The Scenes|Deleted Scenes|Trailers|Other/NAME.mkv
    TV Shows/Show (Year)/Season 01/Show (Year) - s01e01.mkv

Every name is sanitised and every destination checked to lie inside the library root. A
move within one filesystem is a rename; across filesystems (and for --mode copy) the file
is copied to a .part name, fsynced, its size verified, then renamed into place.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
from pathlib import Path

from digitizer import markers
from digitizer.errors import Conflict, UsageError, VerificationFailed
from digitizer.names import inside, label_slug, safe_component
from digitizer.steps import claimed

EXTRA_TYPES = {"featurette": "Featurettes", "behindthescenes": "Behind The Scenes",
               "deleted": "Deleted Scenes", "trailer": "Trailers", "other": "Other"}
MODES = ("move", "hardlink", "copy")
CONFLICTS = ("error", "skip", "suffix")
_EPISODE = re.compile(r" - s(\d+)e(\d+)", re.IGNORECASE)


class Identity:
    """What the library calls a disc: a movie, or a season of a show."""

    def __init__(self, kind: str, name: str, season: int | None = None):
        if kind not in ("movie", "show"):
            raise UsageError(f"identity kind must be movie or show, not {kind!r}")
        self.kind, self.season = kind, season
        self.name = safe_component(name, fallback="")
        if not self.name:
            raise UsageError(f"{name!r} is not usable as a library name")
        if kind == "show" and not season:
            self.season = 1


def destination(library: Path, ident: Identity, item: dict, *, episode: int | None,
                extra_type: str = "other") -> Path:
    """Where an item goes; `item` carries role, title and label (from markers)."""
    role = item.get("role")
    tail = f"{label_slug(item.get('label'))} - title {item['title']:02d}.mkv"
    folder_type = EXTRA_TYPES.get(extra_type.replace(" ", "").replace("_", "").lower())
    if folder_type is None:
        raise UsageError(f"unknown extra type {extra_type!r}; one of {', '.join(EXTRA_TYPES)}")
    if ident.kind == "movie":
        base = library / "Movies" / ident.name
        if role in ("main", None):
            path = base / f"{ident.name}.mkv"
        else:
            path = base / folder_type / tail
    else:
        season = library / "TV Shows" / ident.name / f"Season {ident.season:02d}"
        if role in ("episode", "main", None):
            path = season / f"{ident.name} - s{ident.season:02d}e{episode:02d}.mkv"
        else:
            path = season / folder_type / tail
    return inside(library, path)


def next_episode_base(library: Path, ident: Identity, fingerprint: str) -> int:
    """Episodes keep counting across the discs of a season: the highest episode already in
    the season folder from other discs (read from the files and their markers)."""
    season = library / "TV Shows" / ident.name / f"Season {ident.season:02d}"
    highest = 0
    if season.is_dir():
        for f in season.glob("*.mkv"):
            m = _EPISODE.search(f.name)
            if not m or int(m.group(1)) != ident.season:
                continue
            data = markers.artefact(f)
            if data and data.get("fingerprint") == fingerprint:
                continue
            highest = max(highest, int(m.group(2)))
    return highest


def same_file(a: Path, b: Path) -> bool:
    try:
        sa, sb = a.stat(), b.stat()
    except OSError:
        return False
    if (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino):
        return True
    if sa.st_size != sb.st_size:
        return False
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(1 << 20), fb.read(1 << 20)
            if x != y:
                return False
            if not x:
                return True


def with_suffix_number(path: Path) -> Path:
    n = 2
    while True:
        candidate = path.with_name(f"{path.stem} ({n}){path.suffix}")
        if not candidate.exists():
            return candidate
        n += 1


def _copy_verified(src: Path, dst: Path) -> None:
    part = dst.with_name(dst.name + ".part")
    try:
        with open(src, "rb") as fin, open(part, "wb") as fout:
            shutil.copyfileobj(fin, fout, 4 << 20)
            fout.flush()
            os.fsync(fout.fileno())
        if part.stat().st_size != src.stat().st_size:
            raise VerificationFailed(f"copy of {src.name} has the wrong size")
        os.replace(part, dst)
    except BaseException:
        part.unlink(missing_ok=True)
        raise


def place(src: Path, dst: Path, mode: str) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if mode == "hardlink":
        os.link(src, dst)
    elif mode == "copy":
        _copy_verified(src, dst)
    else:
        try:
            # os.link + unlink instead of rename: never replaces a file that appeared meanwhile.
            os.link(src, dst)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            _copy_verified(src, dst)
        os.unlink(src)


def insert_file(path: str, catalog, *, library: Path, ident: Identity | None,
                episode: int | None = None, mode: str = "move", on_conflict: str = "error",
                extra_type: str | None = None) -> dict:
    src = Path(path)
    info = markers.artefact(src)
    if info is None or info.get("step") not in ("rip", "transcode"):
        if not src.exists():
            raise UsageError(f"{path}: no such file")
        raise UsageError(f"{path}: not a verified rip or transcode (no marker beside it)")
    fp, title = info["fingerprint"], info["title"]
    if ident is None:
        from digitizer.fingerprint import identity_of

        known = identity_of(catalog.disc(fp))
        if not known:
            raise UsageError(f"{src.name}: no name for this disc; give --movie or --show")
        ident = Identity(known["kind"], known["name"], known["season"])
    if mode not in MODES:
        raise UsageError(f"--mode must be one of {', '.join(MODES)}")
    item = {"role": info.get("role"), "title": title, "label": info.get("label")}
    number = None
    if ident.kind == "show" and item["role"] in ("episode", "main", None):
        if episode is None:
            episode_index = info.get("episode") or 1
            number = next_episode_base(library, ident, fp) + episode_index
        else:
            number = episode
    dst = destination(library, ident, item, episode=number,
                      extra_type=extra_type or info.get("extra_type") or "other")
    result = {"fingerprint": fp, "title": title, "step": "insert", "input": str(src),
              "role": item["role"], "library": str(library), "episode": number}
    with claimed(catalog, fp, title, "insert") as step:
        if dst.exists():
            if same_file(src, dst):
                if mode == "move" and src.resolve() != dst.resolve():
                    os.unlink(src)
                    markers.remove(markers.sidecar(src))
                on_conflict_done = "identical"
            elif on_conflict == "skip":
                on_conflict_done = "skipped"
            elif on_conflict == "suffix":
                dst = with_suffix_number(dst)
                on_conflict_done = None
            else:
                raise Conflict(f"{dst} exists and is a different file "
                               "(use --on-conflict skip or suffix)")
        else:
            on_conflict_done = None
        if on_conflict_done is None:
            place(src, dst, mode)
        # A copy killed half-way left this; the finished file is in place now.
        dst.with_name(dst.name + ".part").unlink(missing_ok=True)
        if on_conflict_done != "skipped":
            markers.write_artefact(dst, step="insert", fingerprint=fp, title=title,
                                   role=item["role"], episode=number, input=str(src),
                                   duration=info.get("duration"), source_step=info["step"],
                                   preset=info.get("preset"), label=info.get("label"),
                                   identity={"kind": ident.kind, "name": ident.name,
                                             "season": ident.season})
            if mode == "move":
                markers.remove(markers.sidecar(src))
            catalog.finish(step["id"], str(dst))
        else:
            catalog.release(step["id"], "failed")
            catalog.set_step(fp, title, "insert", error=f"skipped: {dst} exists")
        if number is not None:
            catalog.set_title(fp, title, episode=number)
    catalog.add_event("title_inserted" if on_conflict_done != "skipped" else "insert_skipped",
                      fp, title, path=str(dst))
    result.update(path=str(dst), skipped=on_conflict_done == "skipped",
                  identical=on_conflict_done == "identical")
    return result
