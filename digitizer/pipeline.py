"""The pipeline over one disc: plan from the files and their markers, then run what is
missing. This is what `resume`, `watch` and `review approve` share.

Planning works backwards and trusts only what is on disk: an inserted file whose marker
verifies means done; else a verified transcode means only insert is left; else a verified
rip means transcode and insert; else the title must be ripped, which needs the disc. The
catalog is brought in line with what the files say, never the other way round.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from digitizer import formats, identity, markers, roles
from digitizer.errors import (ERROR, AlreadyDone, Busy, ClusterUnavailable, Conflict,
                              DamagedRead, Interrupted, SourceError, UsageError, cause_of,
                              describe_os_error, retry_at, transient)
from digitizer.names import Name
from digitizer.steps import insert, rip, transcode


def format_of_disc(catalog, fingerprint: str):
    return formats.by_name((catalog.disc(fingerprint) or {}).get("disc_type"))


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
    return folder, markers.read_disc(folder)


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


def find_artefact(catalog, cfg, fmt, folder: Path, fingerprint: str, title: int,
                  kind: str) -> Path | None:
    """The verified file a step of this kind made for the title, wherever it lives."""
    if kind == "rip":
        path = rip.output_path(folder, title, fmt)
        return path if verified(path, "rip", fingerprint, title) else None
    if kind == "transcode":
        return find_transcoded(cfg, folder, fingerprint, title)
    if kind == "insert":
        return find_inserted(catalog, cfg, fingerprint, title)
    raise UsageError(f"unknown step {kind!r}")


def plan(catalog, cfg, fingerprint: str, only: list[int] | None = None) -> list[dict]:
    """What each selected title still needs, from the files; syncs the catalog to it.

    Works backwards along the format's chain: the last step whose artefact verifies says
    where the title is (`path`), and the step after it is `next` ("done" at the end)."""
    folder, marker = disc_marker(catalog, fingerprint)
    fmt = format_of_disc(catalog, fingerprint)
    chain = fmt.STEPS
    markers.sweep(folder)  # the disc marker's own temporaries, if a writer was killed
    # The catalog is read before the files: a step is recorded done only after its file
    # and marker are complete, so a step seen done here whose file does not verify below
    # really lost it (not just finished by another worker between the two looks).
    before = {(s["title"], s["kind"]): s["state"] for s in catalog.steps(fingerprint)}
    rows = []
    for title in marker.get("selected") or []:
        if only is not None and title not in only:
            continue
        row = {"fingerprint": fingerprint, "title": title, "label": marker.get("label"),
               "next": chain[0], "path": None}
        for i in range(len(chain) - 1, -1, -1):
            found = find_artefact(catalog, cfg, fmt, folder, fingerprint, title, chain[i])
            if found is not None:
                row.update(next=chain[i + 1] if i + 1 < len(chain) else "done",
                           path=str(found))
                break
        _sync(catalog, fingerprint, title, row["next"], chain, before)
        _sweep(catalog, cfg, fmt, folder, fingerprint, title)
        for kind in chain:
            step = catalog.step(fingerprint, title, kind)
            if step["state"] in ("failed", "dismissed", "review"):
                row.setdefault("blocked", {})[kind] = {"state": step["state"],
                                                       "error": step.get("error")}
        rows.append(row)
    return rows


def _sweep(catalog, cfg, fmt, folder: Path, fingerprint: str, title: int) -> None:
    """Remove what a killed worker left half-written for this title: .part files and
    marker temporaries. Never while a live worker holds one of the title's steps."""
    if any(s["state"] == "running" for s in catalog.steps(fingerprint)
           if s["title"] == title):
        return
    stem = f"title_{title:02d}"
    # A format that continues a failed rip (an image and its map) keeps its part.
    leftovers = [] if fmt.RESUMES_PART else \
        list(folder.glob(f"{stem}.*part")) + list(folder.glob(f".{stem}.*.part.*"))
    leftovers += list((cfg.path_of("transcoded") / folder.name).glob(f"{stem}.*.part"))
    for base in (folder, cfg.path_of("transcoded") / folder.name):
        markers.sweep(base, stem)
    inserted = (catalog.step(fingerprint, title, "insert") or {}).get("output")
    if inserted:
        markers.sweep(Path(inserted).parent)
    for path in leftovers:
        path.unlink(missing_ok=True)


def _sync(catalog, fingerprint: str, title: int, next_step: str, chain, before: dict) -> None:
    catalog.ensure_steps(fingerprint, title, chain)
    reached = chain.index(next_step) if next_step != "done" else len(chain)
    for i, kind in enumerate(chain):
        step = catalog.step(fingerprint, title, kind)
        if i < reached and step["state"] != "done":
            catalog.set_step(fingerprint, title, kind, state="done", error=None)
        elif i >= reached and before.get((title, kind)) == "done":
            # The catalog said done before the files were looked at, and the file is gone
            # or does not verify: redo it (unless someone changed the step since).
            catalog.set_step(fingerprint, title, kind, only_if="done", state="pending",
                             output=None)


def source_for(catalog, fingerprint: str, given: str | None = None) -> str | None:
    """A place the disc can be read from now: the given source or where it was last seen,
    provided its fingerprint still matches (a drive may hold another disc by now)."""
    from digitizer.steps.fingerprint import read_ids

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
    candidates = [rip.output_path(folder, title, format_of_disc(catalog, fingerprint)),
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


def requeue_retryable(catalog, cfg, fingerprint: str | None = None, *, due_only: bool,
                      readable: bool = True) -> list[dict]:
    """Failed steps whose cause may have gone (errors.cause_of) back to pending: every one
    (the disc was put back in, or named to `resume`), or with `due_only` those whose
    back-off has passed. A first step (the one that reads the disc: read errors, a full
    staging disk) only while the disc can be read (`readable`), or it would wait pending
    for a disc that is not there. Failures that cannot go away stay failed."""
    now = time.time()
    out = []
    for step in catalog.steps(fingerprint, state="failed"):
        if not transient(step["error"], step["cause"]):
            continue
        if step["after"] is None and not readable:
            continue
        if due_only and now < retry_at(step, cfg.retry_seconds):
            continue
        if catalog.requeue([step["id"]]):
            catalog.add_event("step_retry", step["fingerprint"], step["title"],
                              step=step["kind"], attempts=step["attempts"],
                              error=step["error"], cause=step["cause"])
            out.append(step)
    return out


def failed_summary(catalog, cfg, fingerprints) -> list[tuple[str, int]]:
    """One line per disc that still has failed steps, with the exit code it means: the
    step, its cause, when it is tried again and the command that tries it now."""
    from datetime import datetime

    out = []
    for fp in dict.fromkeys(fingerprints):
        failed = catalog.steps(fp, state="failed")
        if not failed:
            continue
        first = failed[0]
        label = (catalog.disc(fp) or {}).get("label")
        more = f" (and {len(failed) - 1} more failed step(s))" if len(failed) > 1 else ""
        retried = transient(first["error"], first["cause"])
        when = ""
        if retried:
            at = datetime.fromtimestamp(retry_at(first, cfg.retry_seconds))
            when = f"; tried again by `digitizer watch` after {at:%H:%M:%S} or when the " \
                   f"disc is put back in"
        line = (f"disc {fp[:12]}" + (f" ({label})" if label else "") +
                f": title {first['title']} {first['kind']} failed: {first['error']}{more}"
                f"{when}; `digitizer resume --retry {fp}` tries it now")
        out.append((line, max(s["exit_code"] or ERROR for s in failed)))
    return out


def run_disc(catalog, cfg, fingerprint: str, *, source: str | None = None,
             name: Name | None = None, retry: bool | str = False, emit=None,
             do_rip: bool = True, do_rest: bool = True) -> list[dict]:
    """Bring every selected title of a disc as far as it can go now. `retry`: True (every
    failed step), "now" (those whose cause may have gone: the disc is here, a person asked),
    "due" (those of them whose back-off has passed), False (none)."""
    if retry is True:
        catalog.retry_failed(fingerprint)
    elif retry:
        requeue_retryable(catalog, cfg, fingerprint, due_only=retry == "due",
                          readable=source_for(catalog, fingerprint, source) is not None)
    ensure_selection(catalog, fingerprint)
    rows = plan(catalog, cfg, fingerprint)
    folder, marker = disc_marker(catalog, fingerprint)
    titles = {t["title"]: t for t in marker.get("titles") or []}
    results = []
    first = format_of_disc(catalog, fingerprint).STEPS[0]
    needs_rip = [r for r in rows if r["next"] == first and first not in r.get("blocked", {})]
    held = None  # titles a damaged disc could not give whole: raised once the rest went on
    if needs_rip and do_rip:
        # The disc, else its image staged by `rip --image-first` (complete, or damaged with
        # its damage accepted): either is read the same way.
        where = source_for(catalog, fingerprint, source) or \
            (str(rip.staged_image(folder)) if rip.staged_image(folder) else None)
        if where is None:
            for r in needs_rip:
                r["waiting"] = "needs the disc in a drive (or its image) to rip"
        else:
            scan = {"source": where, "fingerprint": fingerprint, "label": marker.get("label"),
                    "folder": str(folder), "titles": list(titles.values()),
                    "disc_type": marker.get("disc_type")}
            try:
                rip.rip_disc(scan, catalog, cfg, numbers=[r["title"] for r in needs_rip],
                             redo_done=False)
            except DamagedRead as exc:
                held = exc
            rows = plan(catalog, cfg, fingerprint)
    if do_rest:
        name = identity.resolve(catalog, cfg, fingerprint, marker.get("label"),
                                list(titles.values()), given=name)
        results = advance_all(catalog, cfg, rows, name, emit)
    for group in roles.undecided(list(titles.values())):
        # Said every run, so an unattended disc with decoys never just goes quiet.
        row = {"fingerprint": fingerprint, "title": group[0], "role": "decoy", "next": "review",
               "waiting": f"titles {', '.join(map(str, group))} play the same clips in "
                          "different orders; pick the film with `digitizer review approve "
                          f"{fingerprint[:12]} --pick N`"}
        results.append(row)
        if emit:
            emit(row)
    announce_if_done(catalog, fingerprint)
    if held is not None:
        raise held
    return results


def accept_damage(catalog, cfg, fingerprint: str, titles: list[int], *,
                  emit=None) -> list[dict]:
    """`review accept`: take titles of a damaged disc as they are (unreadable sectors read
    as zeros), rip them from the staged image and carry them on; their markers say so."""
    folder, marker = disc_marker(catalog, fingerprint)
    damaged = rip.recorded_damage(folder)
    if not damaged:
        raise UsageError(f"{fingerprint[:12]}: no damaged titles to accept")
    unknown = [t for t in titles if t not in damaged]
    if unknown:
        raise UsageError(f"title {unknown[0]} of {fingerprint[:12]} is not damaged (damaged: "
                         f"{', '.join(map(str, sorted(damaged)))})")
    chosen = titles or sorted(damaged)
    accepted = sorted(rip.accepted_damage(folder) | set(chosen))
    markers.update_disc(folder, accept_damaged=accepted)
    for title in chosen:
        if (catalog.step(fingerprint, title, "rip") or {}).get("state") == "failed":
            catalog.set_step(fingerprint, title, "rip", state="pending")
    catalog.add_event("damage_accepted", fingerprint, titles=chosen,
                      sectors={str(t): damaged[t] for t in chosen})
    return run_disc(catalog, cfg, fingerprint, emit=emit)


def damaged_waiting(catalog, fingerprint: str | None = None) -> list[dict]:
    """Discs (or this disc) with titles held back for unreadable sectors, as `review` lists
    them."""
    out = []
    for fp in sorted({s["fingerprint"]
                      for s in catalog.steps(fingerprint, state="failed", kind="rip")}):
        try:
            folder, marker = disc_marker(catalog, fp)
        except UsageError:
            continue
        held = {int(k): v for k, v in (marker.get("damaged") or {}).items()
                if int(k) not in rip.accepted_damage(folder)
                and (catalog.step(fp, int(k), "rip") or {}).get("state") == "failed"}
        if held:
            out.append({"fingerprint": fp, "label": marker.get("label"), "reason": "damaged",
                        "titles": sorted(held), "unreadable": {str(k): v for k, v in held.items()}})
    return out


def decoys_waiting(catalog) -> list[dict]:
    """Discs whose film hides among decoys (the same clips in other orders) that no record
    decided, as `review` lists them: a person picks the true one."""
    out = []
    for fp in catalog.discs_with_role("decoy"):
        try:
            _, marker = disc_marker(catalog, fp)
        except UsageError:
            continue
        groups = roles.undecided(marker.get("titles") or [])
        if groups:
            out.append({"fingerprint": fp, "label": marker.get("label"), "reason": "decoys",
                        "titles": sorted(n for g in groups for n in g), "groups": groups})
    return out


def pick_decoys(catalog, fingerprint: str, numbers: list[int]) -> None:
    """`review approve --pick`: the decoys that play the film in its true order take their
    group's role and are selected (run_disc rips them, from the disc or its image when
    there), the rest become their duplicates; UsageError for a number that is not an
    undecided decoy."""
    folder, marker = disc_marker(catalog, fingerprint)
    titles = marker.get("titles") or []
    for n in numbers:
        choices = roles.undecided(titles)
        try:
            roles.pick(titles, n)
        except ValueError as exc:
            valid = "; ".join(" or ".join(map(str, g)) for g in choices)
            raise UsageError(f"{exc}: pick {valid}" if valid else
                             f"{exc}: {fingerprint[:12]} has no decoys waiting") from None
    catalog.record_titles(fingerprint, titles)
    markers.update_disc(folder, titles=titles)
    chosen = [t for t in titles if t["title"] in numbers]
    rip.record_selection(catalog, folder, fingerprint, chosen,
                         format_of_disc(catalog, fingerprint).STEPS)
    catalog.add_event("decoys_picked", fingerprint, titles=numbers)


def resume_disc(catalog, cfg, fingerprint: str, *, source: str | None = None,
                name: Name | None = None, retry: bool | str = "now",
                emit=None) -> list[dict]:
    """`resume` of one disc: from its files and markers; a disc given by its source that
    was never scanned (killed before the catalog knew it) is digitized from the start."""
    known = (catalog.disc(fingerprint) or {}).get("folder") and \
        disc_marker(catalog, fingerprint)[1].get("titles")
    if source and not known:
        return digitize(source, catalog, cfg, name=name, emit=emit)
    return run_disc(catalog, cfg, fingerprint, source=source, name=name, retry=retry,
                    emit=emit)


def announce_if_done(catalog, fingerprint: str) -> bool:
    """The disc_done event, once, when every selected title has done its last step."""
    rows = catalog.steps(fingerprint, kind=format_of_disc(catalog, fingerprint).STEPS[-1])
    if not rows or any(r["state"] not in ("done", "dismissed") for r in rows):
        return False
    if any(e["event"] == "disc_done" for e in catalog.events(fingerprint, limit=1000)):
        return False
    catalog.add_event("disc_done", fingerprint, titles=len(rows))
    return True


def advance(catalog, cfg, row: dict, name: Name) -> dict:
    """Run the title's following steps (all but the first, which reads the disc) as far as
    its state allows: each step's output is the next one's input."""
    blocked = {k for k, v in row.get("blocked", {}).items() if v["state"] != "review"}
    looks = 0
    try:
        while row["next"] in FOLLOWING and row["next"] not in blocked:
            try:
                FOLLOWING[row["next"]](catalog, cfg, row, name)
            except (AlreadyDone, UsageError) as exc:
                if isinstance(exc, UsageError) and Path(row["path"] or "").exists():
                    raise
                # Another worker did it since the plan was made (or took the input on, to
                # the library): plan again from the files (a few times at most: each look
                # finds the title further along).
                looks += 1
                fresh = next(iter(plan(catalog, cfg, row["fingerprint"], only=[row["title"]])),
                             None)
                if fresh is None or looks > 3:
                    break
                row.update(next=fresh["next"], path=fresh["path"])
                blocked = {k for k, v in fresh.get("blocked", {}).items()
                           if v["state"] != "review"}
                continue
            if row["next"] in ("review", "failed"):
                break
    except (Interrupted, ClusterUnavailable):
        raise  # nothing failed: the step is pending again, and the caller stops
    except Busy as exc:
        row["waiting"] = str(exc)  # nothing failed: another live worker is doing it
    except Conflict as exc:
        row.update(error=str(exc), exit_code=exc.exit_code)
    except Exception as exc:  # noqa: BLE001 - the step recorded it; the row reports it
        row.update(error=describe_os_error(exc), next="failed",
                   exit_code=getattr(exc, "exit_code", ERROR), cause=cause_of(exc))
    _say_verified(row)
    return row


def _say_verified(row: dict) -> None:
    """The verdict a format gives its finished file (an audio CD track: AccurateRip's,
    and how it was read), in the row watch prints and emits."""
    info = markers.artefact(Path(row["path"])) if row.get("path") else None
    if not info:
        return
    fmt = next((f for f in formats.REGISTRY if f.NAME == info.get("disc_type")), None)
    verdict = getattr(fmt, "verified", None)
    if verdict is not None:
        row["verified"] = verdict(info)


def advance_all(catalog, cfg, rows: list[dict], name: Name, emit=None) -> list[dict]:
    """advance() each title, in turn; with a cluster all at once, so that its workers share
    them (a thread and a catalog connection per title, as watch's queue workers have)."""
    results = []
    if not (cfg.values.get("cluster") or "").strip() or len(rows) < 2:
        for row in rows:
            results.append(advance(catalog, cfg, row, name))
            if emit:
                emit(results[-1])
        return results
    from concurrent.futures import ThreadPoolExecutor

    from digitizer.catalog import Catalog
    from digitizer.steps.claim import STOPPING

    def one(row):
        own = Catalog(catalog.path, listener=catalog.listener)
        try:
            return advance(own, cfg, row, name)
        finally:
            own.close()

    stopped_here = False
    gone = None
    with ThreadPoolExecutor(max_workers=len(rows), thread_name_prefix="title") as pool:
        futures = [pool.submit(one, row) for row in rows]
        try:
            for future in futures:
                try:
                    results.append(future.result())
                except ClusterUnavailable as exc:
                    gone = gone or exc
                    continue
                if emit:
                    emit(results[-1])
        except BaseException:
            # Ctrl-C: the threads cancel their tasks and hand their steps back.
            if not STOPPING.is_set():
                STOPPING.set()
                stopped_here = True
            raise
        finally:
            pool.shutdown(wait=True)
            if stopped_here:
                STOPPING.clear()
    if gone is not None:
        raise gone
    return results


def _transcode(catalog, cfg, row: dict, name: Name) -> None:
    done = transcode.transcode(row["path"], catalog, cfg, redo_done=False)
    chain = format_of_disc(catalog, row["fingerprint"]).STEPS
    row.update(next=_after(chain, "transcode"), path=done["path"])


def _insert(catalog, cfg, row: dict, name: Name) -> None:
    fp, title = row["fingerprint"], row["title"]
    fmt = format_of_disc(catalog, fp)
    if fmt.NEEDS_NAME and not name.certain:
        # A guessed name: hold the title back until a person approves one.
        catalog.set_step(fp, title, "insert", state="review")
        catalog.add_event("review_waiting", fp, title, suggestion=name.name)
        row.update(next="review", suggestion=dict(name.as_dict(), certain=False))
        return
    first = None
    scanned = next((t for t in catalog.titles(fp) if t["title"] == title), {})
    if fmt.NEEDS_NAME and name.kind == "show" and scanned.get("role") == "episode" and \
            (scanned.get("info") or {}).get("episode_source") != "thediscdb":
        # Which episodes of the season this disc holds (box sets): sure, or a person says.
        numbered = identity.numbering(catalog, cfg, fp, name)
        if not numbered["certain"]:
            # (the error says why, and keeps a name recorded again from releasing it)
            catalog.set_step(fp, title, "insert", state="review",
                             error=f"episodes: {numbered['why']}")
            catalog.add_event("review_waiting", fp, title, episodes=numbered["why"])
            row.update(next="review", waiting=numbered["why"],
                       suggestion=dict(name.as_dict(), first_episode=numbered["first"]))
            return
        first = numbered["first"]
    done = insert.insert_file(row["path"], catalog, library=fmt.library_root(cfg),
                              name=name if fmt.NEEDS_NAME else None,
                              mode=cfg.insert_mode, first_episode=first,
                              ownership=insert.Ownership.from_config(cfg), ffmpeg=cfg.ffmpeg,
                              redo_done=False)
    row.update(next=_after(fmt.STEPS, "insert"), path=done["path"])


def _after(chain, kind: str) -> str:
    i = chain.index(kind)
    return chain[i + 1] if i + 1 < len(chain) else "done"


# What runs each step that follows the first, given the previous step's file.
FOLLOWING = {"transcode": _transcode, "insert": _insert}


def unfinished(catalog) -> list[str]:
    """Discs with a step not done, and discs scanned but never started (a kill between
    scan and rip, or a `scan` run by itself): those get their default titles."""
    return sorted({s["fingerprint"] for s in catalog.steps() if s["state"] != "done"}
                  | set(catalog.unstarted()))


def ensure_selection(catalog, fingerprint: str) -> None:
    """A scanned disc whose titles were never chosen gets the default selection."""
    folder, marker = disc_marker(catalog, fingerprint)
    if marker.get("titles") and "selected" not in marker:
        rip.record_selection(catalog, folder, fingerprint, rip.select(marker["titles"]),
                             format_of_disc(catalog, fingerprint).STEPS)


def resolve_targets(catalog, targets: list[str]) -> list[tuple[str, str | None]]:
    """Arguments (fingerprint prefixes, drives, images, folders) as (fingerprint, source)."""
    from digitizer.steps.fingerprint import read_ids

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


def digitize(source: str, catalog, cfg, *, name: Name | None = None, emit=None,
             do_rest: bool = True, touched: set | None = None,
             disc: int | None = None) -> list[dict]:
    """A disc from a source, start to finish: a known disc resumes where it stopped (and is
    never ripped twice); a new one is scanned, its default titles selected and ripped. The
    disc is here: its failures that may have gone are tried again at once. Its fingerprint
    goes into `touched`."""
    from digitizer.steps.fingerprint import read_ids
    from digitizer.steps.scan import scan_disc

    seen = read_ids(source)
    fp = seen["fingerprint"]
    if touched is not None:
        touched.add(fp)
    folder_marker = None
    if catalog.disc(fp):
        try:
            folder_marker = disc_marker(catalog, fp)[1]
        except UsageError:
            folder_marker = None
    if not folder_marker or not folder_marker.get("titles"):
        scan_disc(source, catalog, cfg, given=name)
    ensure_selection(catalog, fp)
    if disc:
        catalog.set_numbering(fp, disc_number=disc)  # --disc: its place in a box set
    folder_marker = disc_marker(catalog, fp)[1]
    # Every time: the label the disc shows now may name it better than before.
    name = identity.resolve(catalog, cfg, fp, folder_marker.get("label"),
                            folder_marker.get("titles") or [], given=name,
                            seen_as=seen["label"])
    return run_disc(catalog, cfg, fp, source=source, name=name, emit=emit, do_rest=do_rest,
                    retry="now")
