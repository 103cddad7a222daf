"""`catalog rebuild`: the catalog again, from the markers under the configured folders.

Markers are the durable truth: each disc's marker (fingerprint, ids, label, scan, the
selected titles, its name) and each artefact's sidecar (which step made it, for which
title). What markers do not hold is not restored: the event history stays as it was, and a
step that had failed is pending again (its error is in the history).
"""

from __future__ import annotations

from digitizer import formats, markers
from digitizer.names import Name


def rebuild(cfg, catalog) -> dict:
    roots = [cfg.path_of("staging"), cfg.path_of("transcoded"), cfg.path_of("library")]
    found = list(markers.find(roots))
    catalog.clear()
    discs, artefacts = 0, 0
    identities: dict[str, Name | None] = {}
    chains = {}
    for path, data in found:
        if data.get("kind") != "disc" or not data.get("fingerprint"):
            continue
        fp = data["fingerprint"]
        chains[fp] = formats.by_name(data.get("disc_type")).STEPS
        catalog.record_disc(fp, disc_type=data.get("disc_type") or "dvd", label=data.get("label"),
                            ids=data.get("ids") or {}, source=data.get("source") or "",
                            folder=str(path.parent))
        catalog.record_titles(fp, data.get("titles") or [])
        name = Name.from_dict(data.get("identity"))
        if name:
            catalog.set_name(fp, name.as_dict())
        identities[fp] = name
        for title in data.get("selected") or []:
            catalog.ensure_steps(fp, title, chains[fp])
        discs += 1
    known = set(catalog.fingerprints())
    for path, data in found:
        if data.get("kind") != "artefact" or data.get("fingerprint") not in known:
            continue
        file = markers.artefact_path(path, data)
        if markers.artefact(file) is None:
            continue  # the file is gone or changed: not finished
        fp, title, step = data["fingerprint"], data["title"], data["step"]
        chain = chains[fp]
        if step not in chain:
            continue
        catalog.ensure_steps(fp, title, chain)
        # A later step's artefact proves the earlier ones were done.
        for kind in chain[:chain.index(step) + 1]:
            current = catalog.step(fp, title, kind)
            if kind == step:
                catalog.set_step(fp, title, kind, state="done", output=str(file))
            elif current is None or current["state"] != "done" or not current["output"]:
                # The step before made this artefact's input (moved away since, maybe).
                made = data.get("input") if chain.index(kind) == chain.index(step) - 1 \
                    else None
                catalog.set_step(fp, title, kind, state="done",
                                 **({"output": made} if made else {}))
        if step == "insert" and data.get("episode") is not None:
            catalog.set_title(fp, title, episode=data["episode"])
        artefacts += 1
    # Titles ready for insert on a disc with only a guessed name wait for review again.
    for fp in known:
        name = identities.get(fp)
        if name is None or name.certain or "insert" not in chains[fp]:
            continue
        before_insert = chains[fp][chains[fp].index("insert") - 1]
        for step in catalog.steps(fp, state="pending", kind="insert"):
            before = catalog.step(fp, step["title"], before_insert)
            if before and before["state"] == "done":
                catalog.set_step(fp, step["title"], "insert", state="review")
    catalog.add_event("catalog_rebuilt", discs=discs, artefacts=artefacts)
    return {"discs": discs, "artefacts": artefacts, "markers": len(found)}
