"""The pipeline over one disc: plan from the files and their markers, then run what is
missing. This is what `resume`, `watch` and `review approve` share.

Planning works backwards and trusts only what is on disk: an inserted file whose marker
verifies means done; else a verified transcode means only insert is left; else a verified
rip means transcode and insert; else the title must be ripped, which needs the disc. The
catalog is brought in line with what the files say, never the other way round.
"""

from __future__ import annotations

import os
from pathlib import Path

from digitizer import identity, insert, markers, rip, transcode
from digitizer.errors import Conflict, DigitizerError, Interrupted, SourceError, UsageError

STAGES = ("rip", "transcode", "insert")


def verified(path: Path | None, step: str, fingerprint: str, title: int) -> dict | None:
    """The artefact marker of `path` if the file is there, unchanged, of this title and step."""
    if path is None:
        return None
    data = markers.artefact(path)
    if not data or data.get("step") != step:
        return None
    if data.get("fingerprint") != fingerprint or data.get("title") != title:
        return None
    return data


def disc_marker(catalog, fingerprint: str) -> tuple[Path, dict]:
    disc = catalog.disc(fingerprint)
    if not disc or not disc.get("folder"):
        raise UsageError(f"unknown disc {fingerprint}")
    folder = Path(disc["folder"])
    return folder, markers.read(markers.disc_marker(folder)) or {}


def find_transcoded(cfg, folder: Path, fingerprint: str, title: int) -> Path | None:
    for path in sorted((cfg.path_of("transcoded") / folder.name).glob(f"title_{title:02d}.*.mkv")):
        if verified(path, "transcode", fingerprint, title):
            return path
    return None


def find_inserted(catalog, cfg, fingerprint: str, title: int) -> Path | None:
    step = catalog.step(fingerprint, title, "insert")
    hint = Path(step["output"]) if step and step.get("output") else None
    if verified(hint, "insert", fingerprint, title):
        return hint
    # The catalog may be behind the files (rebuilt, or a crash after the rename): look.
    for path, data in markers.find([cfg.path_of("library")]):
        if data.get("kind") == "artefact" and data.get("step") == "insert" and \
                data.get("fingerprint") == fingerprint and data.get("title") == title:
            candidate = markers.artefact_path(path, data)
            if verified(candidate, "insert", fingerprint, title):
                return candidate
    return None


def plan(catalog, cfg, fingerprint: str, only: list[int] | None = None) -> list[dict]:
    """What each selected title still needs, from the files; syncs the catalog to it."""
    folder, marker = disc_marker(catalog, fingerprint)
    rows = []
    for title in marker.get("selected") or []:
        if only is not None and title not in only:
            continue
        ripped = rip.output_path(folder, title)
        row = {"fingerprint": fingerprint, "title": title, "label": marker.get("label")}
        inserted = find_inserted(catalog, cfg, fingerprint, title)
        transcoded = None if inserted else find_transcoded(cfg, folder, fingerprint, title)
        has_rip = bool(inserted or transcoded or verified(ripped, "rip", fingerprint, title))
        if inserted:
            row.update(next="done", path=str(inserted))
        elif transcoded:
            row.update(next="insert", path=str(transcoded))
        elif has_rip:
            row.update(next="transcode", path=str(ripped))
        else:
            row.update(next="rip", path=None)
        _sync(catalog, fingerprint, title, row["next"])
        _sweep(catalog, cfg, folder, fingerprint, title)
        for kind in STAGES:
            step = catalog.step(fingerprint, title, kind)
            if step["state"] in ("failed", "dismissed", "review"):
                row.setdefault("blocked", {})[kind] = {"state": step["state"],
                                                       "error": step.get("error")}
        rows.append(row)
    return rows


def _sweep(catalog, cfg, folder: Path, fingerprint: str, title: int) -> None:
    """Remove what a killed worker left half-written for this title: .part files and
    marker temporaries. Never while a live worker holds one of the title's steps."""
    if any(s["state"] == "running" for s in catalog.steps(fingerprint)
           if s["title"] == title):
        return
    stem = f"title_{title:02d}"
    leftovers = list(folder.glob(f"{stem}.mkv.part"))
    leftovers += list((cfg.path_of("transcoded") / folder.name).glob(f"{stem}.*.part"))
    for base in (folder, cfg.path_of("transcoded") / folder.name):
        for tmp in base.glob(f".*{stem}*.tmp-*"):
            pid = tmp.name.rsplit("-", 1)[-1]
            if pid.isdigit() and not Path(f"/proc/{pid}").exists():
                leftovers.append(tmp)
    for path in leftovers:
        path.unlink(missing_ok=True)


def _sync(catalog, fingerprint: str, title: int, next_step: str) -> None:
    catalog.ensure_steps(fingerprint, title)
    reached = STAGES.index(next_step) if next_step != "done" else len(STAGES)
    for i, kind in enumerate(STAGES):
        step = catalog.step(fingerprint, title, kind)
        if i < reached and step["state"] != "done":
            catalog.set_step(fingerprint, title, kind, state="done", error=None)
        elif i >= reached and step["state"] == "done":
            # The catalog said done but the file is gone or does not verify: redo it.
            catalog.set_step(fingerprint, title, kind, state="pending", output=None)


def source_for(catalog, fingerprint: str, given: str | None = None) -> str | None:
    """A place the disc can be read from now: the given source or where it was last seen,
    provided its fingerprint still matches (a drive may hold another disc by now)."""
    from digitizer.fingerprint import read_ids

    disc = catalog.disc(fingerprint) or {}
    for candidate in (given, disc.get("source")):
        if not candidate:
            continue
        try:
            if read_ids(candidate)["fingerprint"] == fingerprint:
                return candidate
        except SourceError:
            continue
    return None


def reset_title(catalog, cfg, fingerprint: str, title: int) -> list[str]:
    """Delete a title's outputs (staging, transcoded, library) and state: it starts over."""
    folder, _ = disc_marker(catalog, fingerprint)
    removed = []
    candidates = [rip.output_path(folder, title),
                  find_transcoded(cfg, folder, fingerprint, title),
                  find_inserted(catalog, cfg, fingerprint, title)]
    candidates += list((cfg.path_of("transcoded") / folder.name).glob(f"title_{title:02d}.*"))
    for path in candidates:
        if path is None:
            continue
        for victim in (Path(path), markers.sidecar(path), Path(str(path) + ".part")):
            if victim.exists():
                victim.unlink()
                removed.append(str(victim))
    catalog.reset_title(fingerprint, title)
    catalog.add_event("title_reset", fingerprint, title, removed=removed)
    return removed


def run_disc(catalog, cfg, fingerprint: str, *, source: str | None = None, ident: dict | None = None,
             retry: bool = False, emit=None, do_rip: bool = True, do_rest: bool = True) -> list[dict]:
    """Bring every selected title of a disc as far as it can go now."""
    if retry:
        catalog.retry_failed(fingerprint)
    rows = plan(catalog, cfg, fingerprint)
    folder, marker = disc_marker(catalog, fingerprint)
    titles = {t["title"]: t for t in marker.get("titles") or []}
    results = []
    needs_rip = [r for r in rows if r["next"] == "rip" and "rip" not in r.get("blocked", {})]
    if needs_rip and do_rip:
        where = source_for(catalog, fingerprint, source)
        if where is None:
            for r in needs_rip:
                r["waiting"] = "needs the disc in a drive (or its image) to rip"
        else:
            scan = {"source": where, "fingerprint": fingerprint, "label": marker.get("label"),
                    "folder": str(folder), "titles": list(titles.values())}
            rip.rip_disc(scan, catalog, cfg, numbers=[r["title"] for r in needs_rip])
            rows = plan(catalog, cfg, fingerprint)
    if do_rest:
        ident = ident or identity.resolve(catalog, cfg, fingerprint, marker.get("label"),
                                          list(titles.values()))
        for row in rows:
            results.append(advance(catalog, cfg, row, ident))
            if emit:
                emit(results[-1])
    announce_if_done(catalog, fingerprint)
    return results


def announce_if_done(catalog, fingerprint: str) -> bool:
    """The disc_done event, once, when every selected title is in the library."""
    rows = catalog.steps(fingerprint, kind="insert")
    if not rows or any(r["state"] not in ("done", "dismissed") for r in rows):
        return False
    if any(e["event"] == "disc_done" for e in catalog.events(fingerprint, limit=1000)):
        return False
    catalog.add_event("disc_done", fingerprint, titles=len(rows))
    return True


def advance(catalog, cfg, row: dict, ident: dict) -> dict:
    """Transcode and insert one title as far as its state allows."""
    fp, title = row["fingerprint"], row["title"]
    blocked = row.get("blocked", {})
    try:
        if row["next"] == "transcode" and "transcode" not in blocked:
            done = transcode.transcode(row["path"], catalog, cfg)
            row.update(next="insert", path=done["path"])
        if row["next"] == "insert" and "insert" not in {k for k, v in blocked.items()
                                                        if v["state"] != "review"}:
            if not ident.get("certain"):
                catalog.set_step(fp, title, "insert", state="review")
                catalog.add_event("review_waiting", fp, title, suggestion=ident["name"])
                row.update(next="review", suggestion=ident)
            else:
                done = insert.insert_file(
                    row["path"], catalog, library=cfg.path_of("library"),
                    ident=insert.Identity(ident["kind"], ident["name"], ident.get("season")),
                    mode=cfg.insert_mode)
                row.update(next="done", path=done["path"])
    except Interrupted:
        raise
    except Conflict as exc:
        row.update(error=str(exc))
    except DigitizerError as exc:
        row.update(error=str(exc), next="failed")
    return row


def unfinished(catalog) -> list[str]:
    return sorted({s["fingerprint"] for s in catalog.steps() if s["state"] != "done"})


def resolve_targets(catalog, targets: list[str]) -> list[tuple[str, str | None]]:
    """Arguments (fingerprint prefixes, drives, images, folders) as (fingerprint, source)."""
    from digitizer.fingerprint import read_ids

    out = []
    for target in targets:
        if os.path.exists(target):
            out.append((read_ids(target)["fingerprint"], target))
            continue
        found = catalog.find_discs(target.lower())
        if len(found) != 1:
            raise UsageError(f"{target}: {'no' if not found else 'more than one'} disc matches")
        out.append((found[0]["fingerprint"], None))
    return out


def digitize(source: str, catalog, cfg, *, movie=None, show=None, season=None,
             emit=None, do_rest: bool = True) -> list[dict]:
    """A disc from a source, start to finish: a known disc resumes where it stopped (and is
    never ripped twice); a new one is scanned, its default titles selected and ripped."""
    from digitizer.scan import scan_disc

    from digitizer.fingerprint import read_ids

    fp = read_ids(source)["fingerprint"]
    folder_marker = None
    if catalog.disc(fp):
        try:
            folder_marker = disc_marker(catalog, fp)[1]
        except UsageError:
            folder_marker = None
    if not folder_marker or not folder_marker.get("titles"):
        scanned = scan_disc(source, catalog, cfg)
        rip.record_selection(catalog, Path(scanned["folder"]), fp, rip.select(scanned["titles"]))
        folder_marker = disc_marker(catalog, fp)[1]
    ident = None
    if movie or show or do_rest:
        ident = identity.resolve(catalog, cfg, fp, folder_marker.get("label"),
                                 folder_marker.get("titles") or [], movie=movie, show=show,
                                 season=season)
    return run_disc(catalog, cfg, fp, source=source, ident=ident, emit=emit, do_rest=do_rest)
