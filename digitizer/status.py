"""status: drives, unfinished discs title by title, running steps, failures and review."""

from __future__ import annotations

import time

from digitizer import drives
from digitizer.errors import retry_at, transient


def collect(catalog, limit: int | None = 20, retry_seconds: float = 60) -> dict:
    """What `status` shows. Everything unfinished is listed most recent first and paged
    (`limit` discs, and as many running, failed and review steps; None: all), so status
    stays quick over a catalog of any size whatever state its discs are in."""
    summary = catalog.summary()
    open_steps = sum(n for key, n in summary["steps"].items()
                     if not key.endswith(("_done", "_dismissed")))
    page, total = catalog.unfinished_discs(limit, open_steps)
    discs: dict[str, dict] = {row["fingerprint"]: {
        "fingerprint": row["fingerprint"], "label": row["label"], "name": row["identity_name"],
        "steps": {}, "titles": {}} for row in page}
    for row in catalog.steps_of(list(discs)):
        disc = discs[row["fingerprint"]]
        # The disc's chain as its step rows record it: kind -> position.
        disc["steps"][row["kind"]] = row["position"] or 0
        disc["titles"].setdefault(str(row["title"]), {})[row["kind"]] = row["state"]
    for disc in discs.values():
        disc["steps"] = sorted(disc["steps"], key=disc["steps"].get)
    unstarted = catalog.unstarted()
    for fp in unstarted[:limit] if limit else unstarted:
        disc = catalog.disc(fp) or {}
        discs[fp] = {"fingerprint": fp, "label": disc.get("label"),
                     "name": disc.get("identity_name"), "steps": [], "titles": {},
                     "waiting": "scanned, not started: `digitizer resume` rips its default "
                                "titles"}

    def item(row):
        return {"fingerprint": row["fingerprint"], "title": row["title"], "step": row["kind"]}

    # worker: the process holding the claim; runner: the cluster worker encoding for it.
    running = [dict(item(r), progress=r["progress"],
                    worker=f"{r['worker_host']}:{r['worker_pid']}", runner=r["runner"])
               for r in catalog.recent_steps("running", limit)]
    # retry_at: when watch (running, or the next --once) tries the step again (its cause
    # may have gone: cause says which), None when it stays failed until a person acts
    # (digitizer resume --retry).
    failed = [dict(item(r), error=r["error"], cause=r["cause"],
                   retry_at=round(retry_at(r, retry_seconds))
                   if transient(r["error"], r["cause"]) else None)
              for r in catalog.recent_steps("failed", limit)]
    review = [dict(item(r), suggestion=r["identity_name"], label=r["label"])
              for r in catalog.recent_steps("review", limit)]
    # One disc after another (the most recent first), each disc's titles in order.
    order = {fp: n for n, fp in enumerate(dict.fromkeys(r["fingerprint"] for r in review))}
    review.sort(key=lambda r: (order[r["fingerprint"]], r["title"]))
    # Everything waiting for a person, one entry per disc with the command that resolves
    # it: names to approve, decoys to pick, damaged titles, failures no watch retries.
    people = [r["fingerprint"] for r in review]
    people += [f["fingerprint"] for f in failed if f["retry_at"] is None]
    people += catalog.discs_with_role("decoy")
    waiting = []
    for fp in dict.fromkeys(people):
        found = outcome(catalog, fp)
        if found["next"]:
            waiting.append(dict(found, fingerprint=fp,
                                label=(catalog.disc(fp) or {}).get("label")))
    return {"drives": [drives.describe(d) for d in drives.list_drives()],
            "summary": summary, "discs": list(discs.values()),
            "unfinished_discs": total + len(unstarted), "limit": limit,
            "running": running, "failed": failed, "review": review, "waiting": waiting}


def records(state: dict):
    """The state as one JSON object per line (`status` piped): each drive, unfinished disc,
    running step, failure, review step and waiting disc, with "record" saying which."""
    for key, record in (("drives", "drive"), ("discs", "disc"), ("running", "running"),
                        ("failed", "failed"), ("review", "review"), ("waiting", "waiting")):
        for item in state[key]:
            yield dict(item, record=record)


def render(state: dict, width: int | None = None) -> str:
    """The state as text; with `width` (a terminal's), long lines are wrapped under their
    start so that none runs into the last column."""
    lines = _Lines(width)
    s = state["summary"]
    lines.append(f"{s['discs']} disc(s), {s['titles']} title(s) in the catalog")
    for d in state["drives"]:
        lines.append(f"drive {d['source']}: {d['status']}"
                     + (f" ({d['disc_type']})" if d.get("disc_type") else ""))
    if not state["discs"]:
        lines.append("nothing unfinished")
    for disc in state["discs"]:
        name = disc["name"] or disc["label"] or "?"
        lines.append(f"disc {disc['fingerprint'][:12]}  {_safe(name)}"
                     + (f"  ({disc['waiting']})" if disc.get("waiting") else ""))
        for title, kinds in sorted(disc["titles"].items(), key=lambda kv: int(kv[0])):
            cells = "  ".join(f"{k}:{kinds.get(k, '-')}" for k in disc["steps"])
            lines.append(f"  title {int(title):2d}  {cells}")
    for r in state["running"]:
        lines.append(f"running  {r['fingerprint'][:12]} title {r['title']} {r['step']} "
                     f"{(r['progress'] or 0) * 100:3.0f}%  ({r['worker']}"
                     + (f", on cluster worker {_safe(r['runner'])}" if r.get("runner") else "")
                     + ")")
    for f in state["failed"]:
        when = (f"  (a running watch retries it at "
                f"{time.strftime('%H:%M:%S', time.localtime(f['retry_at']))})"
                if f.get("retry_at") else
                f"  (`digitizer resume --retry {f['fingerprint'][:12]}` tries it again)")
        lines.append(f"FAILED   {f['fingerprint'][:12]} title {f['title']} {f['step']}: "
                     f"{_safe(f['error'] or '')}{when}")
    heads = {"review": "REVIEW", "decoys": "PICK", "damaged": "DAMAGED", "failed": "FAILED"}
    for w in state.get("waiting", []):
        if w["state"] == "failed":
            continue  # its FAILED lines above say what failed and what tries it again
        lines.append(f"{heads.get(w['state'], 'WAITING'):8} {w['fingerprint'][:12]} "
                     f"{_safe(w.get('label') or '?')}: {_safe(w['why'])}")
        lines.append(f"         next: {_safe(w['next'])}")
    shown = len(state["discs"])
    if state.get("limit") and state["unfinished_discs"] > shown:
        lines.append(f"... {state['unfinished_discs'] - shown} more unfinished disc(s); "
                     f"`digitizer status --limit 0` shows all")
    return "\n".join(lines)


class _Lines(list):
    """Lines that wrap at `width` (less one), continued under the ninth column."""

    def __init__(self, width: int | None):
        super().__init__()
        self.width = width

    def append(self, line: str) -> None:
        if not self.width or len(line) < self.width:
            super().append(line)
            return
        import textwrap

        self.extend(textwrap.wrap(line, self.width - 1, subsequent_indent=" " * 9,
                                  break_on_hyphens=False, break_long_words=False))


def _safe(text: str) -> str:
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


# -- what a person does next -------------------------------------------------------------
def disc_kind(label: str | None, titles: list[dict], guess: dict | None = None) -> str:
    """What the disc is, for the name it should be given: "album" (an audio CD), "show"
    (its titles are episodes, or its label names a season), else "movie"."""
    from digitizer.identity import suggest

    if (guess or {}).get("kind") == "album":
        return "album"
    return suggest(label, any(t.get("role") == "episode" for t in titles)).kind


def contradiction(kind: str, titles: list[dict]) -> str | None:
    """Why naming the disc as `kind` contradicts its titles, or None: a movie name for a
    disc of episodes (they would be filed as the movie's extras), a show name for a film
    (its main feature would be filed as a show's extra)."""
    roles = {t.get("role") for t in titles}
    if kind == "movie" and "episode" in roles and "main" not in roles:
        count = sum(t.get("role") == "episode" for t in titles)
        return (f"its titles are {count} episodes and no main feature: as a movie they would "
                "be filed as extras (Movies/.../Other/)")
    if kind == "show" and "main" in roles and "episode" not in roles:
        return ("its titles are a main feature and no episodes: as a show it would be filed "
                "as the show's extras")
    return None


def quote(text: str) -> str:
    """`text` in double quotes as a shell reads it back (names have spaces, apostrophes)."""
    return '"' + "".join("\\" + c if c in '"$`\\' else c for c in text) + '"'


def approve_command(fingerprint: str, label: str | None, titles: list[dict],
                    guess: dict | None) -> str:
    """The `review approve` a person most likely wants: --show NAME --season N for a TV
    disc, --movie "NAME (YEAR)" for a film, --album for a CD; YEAR where none is known."""
    from digitizer.names import Name

    kind = disc_kind(label, titles, guess)
    known = Name.from_dict(guess) if guess and guess.get("name") else None
    base = f"digitizer review approve {fingerprint[:12]}"
    if kind == "album":
        return f'{base} --album {quote(known.name if known else "ARTIST - ALBUM (YEAR)")}'
    text = known.name if known else "NAME"
    if known is None or known.year is None:
        text += " (YEAR)"
    if kind == "show":
        season = (known.season if known and known.kind == "show" else None) or \
            _label_season(label) or 1
        return f"{base} --show {quote(text)} --season {season}"
    return f"{base} --movie {quote(text)}"


def _label_season(label: str | None) -> int | None:
    from digitizer.identity import suggest

    return suggest(label, False).season


def outcome(catalog, fingerprint: str) -> dict:
    """Where a disc stands and the one command that moves it on: {"state": done | review |
    decoys | damaged | failed | waiting | working, "next": command or None, "why": text}."""
    from digitizer import pipeline, roles

    disc = catalog.disc(fingerprint) or {}
    label = disc.get("label")
    try:
        _, marker = pipeline.disc_marker(catalog, fingerprint)
    except Exception:  # noqa: BLE001 - a disc whose folder is gone: the steps say the rest
        marker = {}
    titles = marker.get("titles") or [dict(t["info"], role=t["role"])
                                       for t in catalog.titles(fingerprint)]
    steps = catalog.steps(fingerprint)
    failed = [s for s in steps if s["state"] == "failed"]
    fp = fingerprint[:12]
    groups = roles.undecided(titles)
    if groups:
        choices = "; ".join(" or ".join(map(str, g)) for g in groups)
        return {"state": "decoys", "why": f"titles {choices} are decoys (the same clips in "
                "other orders): play them, pick the film",
                "next": f"digitizer review approve {fp} --pick N (N: {choices})"}
    damaged = pipeline.damaged_waiting(catalog, fingerprint)
    if damaged:
        held = " ".join(map(str, damaged[0]["titles"]))
        return {"state": "damaged", "why": f"titles {held} held back: unreadable sectors",
                "next": f"digitizer resume --retry {fp} (after cleaning the disc), or "
                        f"digitizer review accept {fp}"}
    if failed:
        first = failed[0]
        return {"state": "failed", "why": f"title {first['title']} {first['kind']} failed: "
                                           f"{first.get('error') or 'see status'}",
                "next": f"digitizer resume --retry {fp}"}
    waiting = sorted({s["title"] for s in steps if s["state"] == "review"})
    if waiting:
        found = catalog.candidates(fingerprint)  # from an online lookup, numbered
        more = f" (or --candidate N of the {len(found)} `digitizer review` lists)" \
            if found else ""
        return {"state": "review",
                "why": f"{len(waiting)} title(s) wait for a name: "
                       f"{' '.join(map(str, waiting))}",
                "next": approve_command(fingerprint, label, titles, catalog.name(fingerprint))
                + more}
    last = {}
    for s in steps:
        last[s["title"]] = s  # steps come in chain order: the last one of each title
    if last and all(s["state"] in ("done", "dismissed") for s in last.values()):
        return {"state": "done", "next": None,
                "why": f"done, {sum(s['state'] == 'done' for s in last.values())} title(s) in "
                       "the library"}
    if any(s["state"] in ("pending", "running") and s["kind"] == steps[0]["kind"]
           for s in steps) and not any(s["state"] == "running" for s in steps):
        return {"state": "waiting", "why": "the titles left to rip need the disc",
                "next": f"put the disc in a drive, or digitizer resume {fp} IMAGE"}
    return {"state": "working", "next": None, "why": "not finished: steps queued or running"}
