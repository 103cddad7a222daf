"""status: drives, unfinished discs title by title, running steps, failures and review."""

from __future__ import annotations

from digitizer import drives


def collect(catalog) -> dict:
    discs: dict[str, dict] = {}
    running, failed, review = [], [], []
    for row in catalog.open_work():
        disc = discs.setdefault(row["fingerprint"], {
            "fingerprint": row["fingerprint"], "label": row["label"],
            "name": row["identity_name"], "steps": {}, "titles": {}})
        # The disc's chain as its step rows record it: kind -> position.
        disc["steps"][row["kind"]] = row["position"] or 0
        disc["titles"].setdefault(str(row["title"]), {})[row["kind"]] = row["state"]
        item = {"fingerprint": row["fingerprint"], "title": row["title"], "step": row["kind"]}
        if row["state"] == "running":
            running.append(dict(item, progress=row["progress"],
                                worker=f"{row['worker_host']}:{row['worker_pid']}"))
        elif row["state"] == "failed":
            failed.append(dict(item, error=row["error"]))
        elif row["state"] == "review":
            review.append(dict(item, suggestion=row["identity_name"], label=row["label"]))
    for disc in discs.values():
        disc["steps"] = sorted(disc["steps"], key=disc["steps"].get)
    for fp in catalog.unstarted():
        disc = catalog.disc(fp) or {}
        discs[fp] = {"fingerprint": fp, "label": disc.get("label"),
                     "name": disc.get("identity_name"), "steps": [], "titles": {},
                     "waiting": "scanned, not started: `digitizer resume` rips its default "
                                "titles"}
    return {"drives": [drives.describe(d) for d in drives.list_drives()],
            "summary": catalog.summary(), "discs": list(discs.values()),
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
                     f"{(r['progress'] or 0) * 100:3.0f}%  ({r['worker']})")
    for f in state["failed"]:
        lines.append(f"FAILED   {f['fingerprint'][:12]} title {f['title']} {f['step']}: "
                     f"{_safe(f['error'] or '')}")
    for r in state["review"]:
        lines.append(f"REVIEW   {r['fingerprint'][:12]} title {r['title']}: suggested "
                     f"{_safe(r['suggestion'] or '?')!s}  (digitizer review approve "
                     f"{r['fingerprint'][:12]} --movie ...)")
    return "\n".join(lines)


def _safe(text: str) -> str:
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")
