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
    return {"drives": [drives.describe(d) for d in drives.list_drives()],
            "summary": summary, "discs": list(discs.values()),
            "unfinished_discs": total + len(unstarted), "limit": limit,
            "running": running, "failed": failed, "review": review}


def render(state: dict) -> str:
    lines = []
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
                if f.get("retry_at") else "  (`digitizer resume --retry` tries it again)")
        lines.append(f"FAILED   {f['fingerprint'][:12]} title {f['title']} {f['step']}: "
                     f"{_safe(f['error'] or '')}{when}")
    for r in state["review"]:
        lines.append(f"REVIEW   {r['fingerprint'][:12]} title {r['title']}: suggested "
                     f"{_safe(r['suggestion'] or '?')!s}  (digitizer review approve "
                     f"{r['fingerprint'][:12]} --movie ...)")
    shown = len(state["discs"])
    if state.get("limit") and state["unfinished_discs"] > shown:
        lines.append(f"... {state['unfinished_discs'] - shown} more unfinished disc(s); "
                     f"`digitizer status --limit 0` shows all")
    return "\n".join(lines)


def _safe(text: str) -> str:
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")
