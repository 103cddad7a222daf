"""rip: one lossless file per selected title, straight from the drive, image or folder.

The format does the file work (formats/*.rip: read the title into a `.part` path, verify
it, return the facts); this step claims the title, renames the `.part` only after it
verified, writes the marker and the catalog, and ejects the drive when the disc is read.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from contextlib import contextmanager
from pathlib import Path

from digitizer import drives, formats, markers, roles
from digitizer.errors import (AlreadyDone, Busy, DamagedRead, DigitizerError, InputError, NoSpace,
                              UsageError, cause_of, warn)
from digitizer.jsonio import field
from digitizer.progress import Bar
from digitizer.steps.claim import claimed
from digitizer.tools import eject


def select(titles: list[dict], *, numbers=(), main=False, all_=False, roles_=None) -> list[dict]:
    """Default: the main title, episodes and extras; never duplicates, play-all or short."""
    if numbers:
        by_number = {t["title"]: t for t in titles}
        missing = [n for n in numbers if n not in by_number]
        if missing:
            raise UsageError(f"no title {missing[0]} on this disc (it has 1-{len(titles)})")
        return [by_number[n] for n in numbers]
    if all_:
        return list(titles)
    wanted = set(roles_ or roles.DEFAULT_ROLES)
    if main:
        wanted = {"main", "episode"}
    unknown = wanted - set(roles.ALL_ROLES)
    if unknown:
        raise UsageError(f"unknown role {sorted(unknown)[0]!r}; roles are {', '.join(roles.ALL_ROLES)}")
    return [t for t in titles if t.get("role") in wanted]


def output_path(folder: Path, title: int, fmt) -> Path:
    return folder / f"title_{title:02d}{fmt.RIP_SUFFIX}"


def finished(path: Path) -> dict | None:
    data = markers.artefact(path)
    return data if data and data.get("step") == "rip" else None


def check_space(folder: Path, titles: list[dict]) -> None:
    need = sum(t.get("size") or 0 for t in titles)
    free = shutil.disk_usage(folder).free
    # Container overhead is well under 1 %; keep a margin so the disk is never filled to
    # the brim.
    if need and free < need * 1.02 + 16 * 2**20:
        raise NoSpace(f"not enough space in {folder}: {need / 2**20:.0f} MiB needed for "
                      f"{len(titles)} title(s), {free / 2**20:.0f} MiB free")


def rip_title(source: str, fmt, title: dict, folder: Path, fingerprint: str, catalog, cfg,
              extra: dict, damage: str | None = None, redo_done: bool = True) -> dict:
    final = output_path(folder, title["title"], fmt)
    part = final.with_name(final.name + ".part")
    with claimed(catalog, fingerprint, title["title"], "rip", fmt.STEPS,
                 redo_done=redo_done) as step:
        if damage and title["title"] not in accepted_damage(folder):
            # Read from a damaged image, this title would miss data: it waits for a retry
            # of the disc or for a person to take it as it is.
            raise DamagedRead(f"title {title['title']}: unreadable {damage}; held back: "
                              f"`digitizer resume --retry` reads them again, `digitizer "
                              f"review accept {fingerprint[:12]} {title['title']}` takes "
                              "it as it is")
        bar = Bar(title["duration"], f"rip {getattr(fmt, 'TITLE_WORD', 'title')} "
                                     f"{title['title']}", step["beat"])
        try:
            facts = fmt.rip(source, title, part, cfg, bar)
        except BaseException:
            # A partial rip that cannot be continued is worthless; one that can (an image
            # and its map) is the start of the next attempt.
            if not fmt.RESUMES_PART:
                part.unlink(missing_ok=True)
            raise
        finally:
            bar.close()
        if damage:
            facts["damaged"] = damage  # accepted by a person; the marker keeps saying so
        os.replace(part, final)
        size = final.stat().st_size  # before done: a data disc's insert may move it then
        markers.write_artefact(final, step="rip", fingerprint=fingerprint,
                               title=title["title"], disc_type=fmt.NAME,
                               role=title.get("role"), episode=title.get("episode"),
                               source=source, **facts, **extra)
        catalog.finish(step["id"], str(final))
    catalog.add_event("title_ripped", fingerprint, title["title"], path=str(final))
    return {"path": str(final), "duration": facts.get("duration"), "size": size}


# `rip --image-first`: the disc is imaged whole into its staging folder, then ripped from
# the image. A damaged disc's image stays a `.part` beside its ddrescue map.
IMAGE = "disc.iso"


def accepted_damage(folder: Path) -> set[int]:
    """Titles a person took as they are despite unreadable sectors (`review accept`)."""
    return set(markers.read_disc(folder).get("accept_damaged") or [])


def recorded_damage(folder: Path) -> dict[int, str]:
    """The titles the last imaging found unreadable sectors in, with those sectors."""
    return {int(k): v for k, v in (markers.read_disc(folder).get("damaged") or {}).items()}


def staged_image(folder: Path) -> Path | None:
    """A disc image in the staging folder that titles can be ripped from without the disc:
    a complete one, or a damaged one whose damaged titles were accepted."""
    if (folder / IMAGE).is_file():
        return folder / IMAGE
    part = folder / (IMAGE + ".part")
    return part if part.is_file() and accepted_damage(folder) else None


@contextmanager
def _imaging(folder: Path):
    # One imaging per disc at a time: two watchers given the same disc must not write one
    # image together. The lock dies with its process, so a kill leaves nothing to clear.
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def image_disc(source: str, fmt, folder: Path, titles: list[dict], fingerprint: str,
               catalog, cfg) -> tuple[str, dict[int, str]]:
    """Where to rip `titles` from after imaging the disc (`rip --image-first`), and which
    of them read an unreadable sector ({title: sectors})."""
    final, part = folder / IMAGE, folder / (IMAGE + ".part")
    if final.is_file():
        return str(final), {}
    damaged = recorded_damage(folder)
    wanted = {t["title"] for t in titles}
    if part.is_file() and damaged and wanted & set(damaged) <= accepted_damage(folder):
        # Only accepted damage is left to rip: no need to read the disc again.
        return str(part), damaged
    with _imaging(folder):
        if final.is_file():  # another worker finished it while this one waited
            return str(final), {}
        catalog.add_event("disc_imaging", fingerprint, source=source)
        bad, damaged = formats.image_first(source, fmt, part, titles, cfg, cfg.image_retries)
        markers.update_disc(folder, damaged={str(k): v for k, v in damaged.items()})
        if bad is None:
            os.replace(part, final)
            part.with_name(part.name + ".map").unlink(missing_ok=True)
            catalog.add_event("disc_imaged", fingerprint, path=str(final))
            return str(final), {}
    catalog.add_event("disc_damaged", fingerprint, unreadable=bad, titles=sorted(damaged))
    warn(f"{source}: unreadable {bad}" + (f"; damaged title(s) {', '.join(map(str, sorted(damaged)))}"
                                          if damaged else "; no selected title reads there"))
    return str(part), damaged


def record_selection(catalog, folder: Path, fingerprint: str, chosen: list[dict],
                     chain: tuple[str, ...]) -> None:
    """Add titles to the disc's selection: their steps in the catalog, their numbers in the
    disc marker (from which `resume` and `catalog rebuild` know what was asked for)."""
    for t in chosen:
        catalog.ensure_steps(fingerprint, t["title"], chain)
    marker = markers.read_disc(folder)
    selected = sorted(set(marker.get("selected") or []) | {t["title"] for t in chosen})
    markers.update_disc(folder, selected=selected)


def recorded_scan(obj: dict, n: int, catalog, cfg) -> dict:
    """A scan result piped in (`scan … | rip -`), as the catalog and the disc marker know
    it: the folder is the one the configuration gave the disc and the titles are the
    scanned ones, so edited JSON can choose titles but never where files are written.
    An unknown disc (or one whose folder is gone) is marked to be scanned again."""
    fp = field(obj, "fingerprint", str, n)
    source = field(obj, "source", str, n)
    numbers = []
    for t in field(obj, "titles", list, n):
        if not isinstance(t, dict):
            raise InputError(f"stdin: object {n}: \"titles\" must hold objects")
        numbers.append(field(t, "title", int, n))
    disc = catalog.disc(fp) or {}
    folder = Path(disc.get("folder") or "")
    marker = markers.read_disc(folder) if disc.get("folder") else {}
    staging = cfg.path_of("staging").resolve()
    if not marker.get("titles") or staging not in folder.resolve().parents:
        return {"source": source, "rescan": True}
    wanted = set(numbers)
    return {"source": source, "fingerprint": fp, "label": marker.get("label"),
            "folder": str(folder), "disc_type": disc.get("disc_type"),
            "titles": [t for t in marker["titles"] if t["title"] in wanted]}


def rip_disc(scan: dict, catalog, cfg, *, numbers=(), main=False, all_=False, roles_=None,
             emit=None, image_first: bool = False, redo_done: bool = True) -> list[dict]:
    """Rip the selected titles of a scanned disc; already verified rips are not redone.

    A title that cannot be read whole does not stop the others: each is ripped, and the
    first DamagedRead is raised at the end. `redo_done` False (the pipeline): a title
    another worker ripped meanwhile is left to it."""
    source, fp = scan["source"], scan["fingerprint"]
    fmt = formats.by_name(scan.get("disc_type") or (catalog.disc(fp) or {}).get("disc_type"))
    folder = Path(scan["folder"])
    folder.mkdir(parents=True, exist_ok=True)
    chosen = select(scan["titles"], numbers=numbers, main=main, all_=all_, roles_=roles_)
    record_selection(catalog, folder, fp, chosen, fmt.STEPS)
    todo = [t for t in chosen if not finished(output_path(folder, t["title"], fmt))]
    if todo:
        try:
            check_space(folder, todo)
        except NoSpace as exc:
            # Recorded on the titles' steps like any failure of theirs: with its cause, so
            # that it is tried again once there may be room (a step left pending here would
            # wait for ever: nothing rips a pending first step without its disc).
            for t in todo:
                if catalog.set_step(fp, t["title"], "rip", only_if="pending", state="failed",
                                    error=str(exc), cause=cause_of(exc),
                                    exit_code=exc.exit_code):
                    catalog.add_event("step_failed", fp, t["title"], step="rip",
                                      error=str(exc), cause=cause_of(exc))
            raise
    read_from, damaged = source, {}
    # Imaged first when asked, and always once an image was begun: its map says what is
    # still to read, so a retry reads only the damaged areas again.
    if todo and getattr(fmt, "IMAGE_FIRST", False) and \
            (image_first or cfg.image_first or _image_files(folder)):
        read_from, damaged = image_disc(source, fmt, folder, todo, fp, catalog, cfg)
    # What reading every title needs, found once a disc (an audio CD: its TOC and the
    # drive's read offset).
    setup = fmt.read_setup(read_from, cfg, catalog) if todo and hasattr(fmt, "read_setup") \
        else {}
    results, held = [], []
    base = {"fingerprint": fp, "label": scan.get("label"), "source": source}
    for t in chosen:
        path = output_path(folder, t["title"], fmt)
        done = finished(path)
        if done:
            catalog.set_step(fp, t["title"], "rip", state="done", output=str(path))
            row = dict(base, title=t["title"], role=t.get("role"), episode=t.get("episode"),
                       path=str(path), duration=done.get("duration"), size=done["size"],
                       step="rip", skipped=True)
        else:
            try:
                got = rip_title(read_from, fmt, dict(t, **setup), folder, fp, catalog, cfg,
                                {"label": scan.get("label")}, damaged.get(t["title"]),
                                redo_done=redo_done)
            except DamagedRead as exc:  # recorded as failed; the other titles go on
                held.append(exc)
                continue
            except (AlreadyDone, Busy):
                continue  # another worker ripped it since this one looked, or rips it now
            row = dict(base, title=t["title"], role=t.get("role"), episode=t.get("episode"),
                       step="rip", skipped=False, **got)
        results.append(row)
        if emit:
            emit(row)
    if todo and cfg.eject_after_rip and drives.is_block_device(source) and not held:
        try:
            eject.eject(source, cfg.eject)
        except DigitizerError as exc:  # a tray that will not open is harmless: warn, go on
            warn(f"could not eject {source}: {exc}")
        catalog.add_event("disc_ejected", fp, source=source)
    if chosen:
        catalog.add_event("disc_read", fp, titles=[t["title"] for t in chosen])
    if held:
        raise held[0]
    if _image_files(folder) and all(finished(output_path(folder, t["title"], fmt))
                                    for t in chosen):
        # Every selected title is ripped: the disc-sized image has done its work.
        for path in _image_files(folder):
            path.unlink(missing_ok=True)
    return results


def _image_files(folder: Path) -> list[Path]:
    return [p for p in (folder / IMAGE, folder / (IMAGE + ".part"),
                        folder / (IMAGE + ".part.map")) if p.exists()]
