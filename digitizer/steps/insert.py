"""insert: put a finished file into the library under the name Plex and Jellyfin expect.

Where a title goes is the format's to say (formats/*.library_path, with the layouts in
names.py); every name is sanitised and every destination checked to lie inside the library
root. A move within one filesystem is a rename; across filesystems (and for --mode copy)
the file is copied to a .part name, fsynced, its size verified, then renamed into place.
Media servers hear of the new file from the `title_inserted` event (notify.py).
"""

from __future__ import annotations

import dataclasses
import enum
import errno
import grp
import os
import pwd
import shutil
from dataclasses import dataclass
from pathlib import Path

from digitizer import formats, markers, names
from digitizer.errors import Conflict, DigitizerError, UsageError, VerificationFailed
from digitizer.names import Name
from digitizer.steps.claim import chain_of, claimed

MODES = ("move", "hardlink", "copy")
CONFLICTS = ("error", "skip", "suffix")


class Placed(enum.Enum):
    """What insert did at the destination."""
    NEW = "new"  # the file was put there
    IDENTICAL = "identical"  # the same file was there already
    SKIPPED = "skipped"  # a different file was there; --on-conflict skip left it


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


@dataclass(frozen=True)
class Ownership:
    """Who owns what digitizer files into the library, and its modes: the media server's
    user must be able to rename or delete it (config owner, group, file_mode, dir_mode)."""

    uid: int = -1  # -1: leave as it is
    gid: int = -1
    file_mode: int = 0o664
    dir_mode: int = 0o2775  # setgid: new files in the folder keep its group

    @classmethod
    def from_config(cls, cfg) -> "Ownership":
        return cls(_id(cfg.owner, pwd.getpwnam, "owner"), _id(cfg.group, grp.getgrnam, "group"),
                   int(cfg.file_mode, 8), int(cfg.dir_mode, 8))

    def apply(self, path: Path, mode: int) -> None:
        os.chmod(path, mode)
        if self.uid != -1 or self.gid != -1:
            try:
                os.chown(path, self.uid, self.gid)
            except PermissionError:
                # Only root may give files away; a user may still set a group of its own.
                raise UsageError(f"cannot give {path} to owner/group {self.uid}:{self.gid} "
                                 "(run as root, or as that user)") from None

    def make_folders(self, folder: Path, root: Path) -> None:
        """Create `folder` and its missing parents below `root`, each with dir_mode."""
        root.mkdir(parents=True, exist_ok=True)
        missing = []
        while folder != root and not folder.exists():
            missing.append(folder)
            folder = folder.parent
        for each in reversed(missing):
            try:
                each.mkdir()
            except FileExistsError:
                continue
            self.apply(each, self.dir_mode)


def _id(value: str, lookup, what: str) -> int:
    if not value:
        return -1
    if str(value).isdigit():
        return int(value)
    try:
        return (lookup(value).pw_uid if what == "owner" else lookup(value).gr_gid)
    except KeyError:
        raise UsageError(f"config {what}: no such {'user' if what == 'owner' else 'group'} "
                         f"{value!r}") from None


def place(src: Path, dst: Path, mode: str) -> None:
    if mode == "hardlink":
        try:
            os.link(src, dst)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            raise DigitizerError(f"--mode hardlink: {dst.parent} is on another filesystem "
                                 f"than {src}; use --mode move or copy") from None
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
        # The source goes only once the destination has its marker (insert_file): a kill
        # in between must leave one of them verifiable, never neither.


def write_album_files(fmt, folder: Path, fingerprint: str, ownership: Ownership) -> None:
    """What a format keeps beside an album (an audio CD's CUE sheet and rip log), made
    again from the markers of the disc's tracks in the folder each time one arrives."""
    make = getattr(fmt, "album_files", None)
    if make is None:
        return
    tracks = [data for _, data in markers.find([folder])
              if data.get("kind") == "artefact" and data.get("step") == "insert"
              and data.get("fingerprint") == fingerprint]
    for name, text in make(tracks).items():
        path = names.inside(folder, folder / name)
        markers.write_text_atomic(path, text)
        ownership.apply(path, ownership.file_mode)


def insert_file(path: str, catalog, *, library: Path, name: Name | None,
                episode: int | None = None, first_episode: int | None = None,
                mode: str = "move", on_conflict: str = "error",
                extra_type: str | None = None, part: int | None = None,
                ownership: Ownership | None = None, ffmpeg: str = "",
                redo_done: bool = True) -> dict:
    src = Path(path)
    info = markers.artefact(src)
    if info is None or info.get("step") not in ("rip", "transcode"):
        if not src.exists():
            raise UsageError(f"{path}: no such file")
        raise UsageError(f"{path}: not a verified rip or transcode (no marker beside it)")
    fp, title = info["fingerprint"], info["title"]
    disc_type = info.get("disc_type") or (catalog.disc(fp) or {}).get("disc_type")
    fmt = formats.by_name(disc_type)
    if name is None:
        name = Name.from_dict(catalog.name(fp))
        if name is None and fmt.NEEDS_NAME:
            raise UsageError(f"{src.name}: no name for this disc; give --movie or --show")
    if mode not in MODES:
        raise UsageError(f"--mode must be one of {', '.join(MODES)}")
    if getattr(fmt, "retag", None) and info["step"] == "rip":
        # The name may have come after the rip (review): its tags are made right first,
        # and the rip's marker with them, so a crash here leaves a valid rip.
        facts = fmt.retag(src, info, name, ffmpeg)
        if facts is not None:
            rest = {k: v for k, v in facts.items()
                    if k not in ("kind", "file", "size", "step", "fingerprint", "title")}
            markers.write_artefact(src, step="rip", fingerprint=fp, title=title, **rest)
            info = markers.artefact(src)
    kept = {k: info[k] for k in getattr(fmt, "KEPT_FACTS", ()) if k in info}
    item = {"role": info.get("role"), "title": title, "label": info.get("label"), "part": part,
            "created": info.get("created"), "track_title": info.get("track_title"), **kept}
    # What the catalog holds of this title: the extras type a person set, and what the
    # disc's TheDiscDb record said of it at scan (season, episode, type).
    row = next((r for r in catalog.titles(fp) if r["title"] == title), {})
    scanned = row.get("info") or {}
    number = None
    if name is not None and names.takes_episode_number(name, item):
        if episode is None and scanned.get("episode_source") == "thediscdb":
            number = scanned["episode"]
            item["episode_last"] = scanned.get("episode_last")
            if scanned.get("season") is not None and scanned["season"] != name.season:
                name = dataclasses.replace(name, season=scanned["season"])
        elif episode is None and first_episode is not None:
            # The disc's place in its season is known (identity.numbering).
            number = first_episode + (info.get("episode") or 1) - 1
        elif episode is None:
            def other_disc(f: Path) -> bool:
                data = markers.artefact(f)
                return not (data and data.get("fingerprint") == fp)

            number = names.highest_episode(library, name, other_disc) + (info.get("episode") or 1)
        else:
            number = episode
    # The extras type: given now, else kept with the title (a marker, or set by `review
    # approve --extra-type` or an earlier insert), else the disc's record, else Other.
    known = row.get("extra_type")
    extra_type = extra_type or info.get("extra_type") or known or scanned.get("extra_type") \
        or "other"
    dst = fmt.library_path(library, name, item, number, extra_type)
    result = {"fingerprint": fp, "title": title, "step": "insert", "input": str(src),
              "role": item["role"], "library": str(library), "episode": number}
    with claimed(catalog, fp, title, "insert", chain_of(catalog, fp, disc_type),
                 redo_done=redo_done) as step:
        placed = Placed.NEW
        if dst.exists():
            if same_file(src, dst):
                if mode == "move" and src.resolve() != dst.resolve():
                    os.unlink(src)
                    markers.remove(markers.sidecar(src))
                placed = Placed.IDENTICAL
            elif on_conflict == "skip":
                placed = Placed.SKIPPED
            elif on_conflict == "suffix":
                dst = with_suffix_number(dst)
            else:
                raise Conflict(f"{dst} exists and is a different file "
                               "(use --on-conflict skip or suffix)")
        ownership = ownership or Ownership()
        ownership.make_folders(dst.parent, library.resolve())
        # What a writer killed here before left half-done (marker temporaries).
        markers.sweep(dst.parent)
        if placed is Placed.NEW:
            place(src, dst, mode)
        if placed is not Placed.SKIPPED:
            ownership.apply(dst, ownership.file_mode)
        # A copy killed half-way left this; the finished file is in place now.
        dst.with_name(dst.name + ".part").unlink(missing_ok=True)
        if placed is Placed.SKIPPED:
            catalog.release(step["id"], "failed")
            catalog.set_step(fp, title, "insert", error=f"skipped: {dst} exists")
        else:
            marker = markers.write_artefact(
                dst, step="insert", fingerprint=fp, title=title, role=item["role"],
                episode=number, input=str(src), duration=info.get("duration"),
                source_step=info["step"], preset=info.get("preset"), label=info.get("label"),
                disc_type=fmt.NAME, identity=name.as_dict() if name else None,
                # worker: the cluster worker that encoded it, when one did.
                **{key: info[key] for key in ("sha256", "created", "worker") if key in info},
                **kept)
            ownership.apply(marker, ownership.file_mode)
            if mode == "move" and placed is Placed.NEW:
                src.unlink(missing_ok=True)
            if mode == "move":
                markers.remove(markers.sidecar(src))
            write_album_files(fmt, dst.parent, fp, ownership)
            catalog.finish(step["id"], str(dst))
        if number is not None:
            catalog.set_title(fp, title, episode=number)
        if extra_type != "other" and extra_type != known and item["role"] not in ("main",
                                                                                 "episode"):
            catalog.set_title(fp, title, extra_type=extra_type)
    catalog.add_event("insert_skipped" if placed is Placed.SKIPPED else "title_inserted",
                      fp, title, path=str(dst))
    result.update(path=str(dst), skipped=placed is Placed.SKIPPED,
                  identical=placed is Placed.IDENTICAL)
    return result
