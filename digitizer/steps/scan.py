"""scan: every title of a disc with its streams, chapters and role.

The format reads the titles (formats/*.scan); roles.assign gives each its role from the
format-neutral keys; the titles that will be ripped by default are probed for what only
decoding tells (interlacing). Everything goes to the catalog and the disc marker.
"""

from __future__ import annotations

from pathlib import Path

from digitizer import discdb, formats, identity, manifest, markers, roles
from digitizer.steps.fingerprint import fingerprint


def scan(source: str, fmt, cfg, *, probe: bool = True, kind: str | None = None) -> dict:
    result = fmt.scan(source, cfg)
    fmt.assign_roles(result["titles"], cfg, kind)
    if probe:
        for t in result["titles"]:
            if t["role"] in roles.DEFAULT_ROLES:
                fmt.probe(source, t, cfg)
    return result


def scan_disc(source: str, catalog, cfg, *, probe: bool = True) -> dict:
    """fingerprint + scan, recorded in the catalog and the disc marker."""
    info = fingerprint(source, catalog, cfg.path_of("staging"))
    result = scan(source, formats.by_name(info["disc_type"]), cfg, probe=probe)
    fp = info["fingerprint"]
    titles = result["titles"]
    # A disc TheDiscDb knows: its record names the disc and says what each title is.
    entry = catalog.discdb_entry((info.get("ids") or {}).get("thediscdb"))
    if entry:
        discdb.apply(entry, titles)
        roles.settle_decoys(titles)  # a record that labels one decoy says which is the film
    catalog.record_titles(fp, titles)
    odm = manifest.build(source, titles, cfg)
    if odm is not None:
        markers.write_manifest(Path(info["folder"]), odm)
    markers.update_disc(Path(info["folder"]), titles=titles, disc_info=result["disc"],
                        tool_versions=result.get("tool_versions") or {})
    catalog.add_event("disc_scanned", fp, titles=len(titles),
                      roles={t["title"]: t["role"] for t in titles})
    if entry:
        info["identity"] = identity.resolve(catalog, cfg, fp, info["label"], titles,
                                            found=discdb.name_of(entry)).as_dict()
    return {"source": source, "fingerprint": fp, "label": info["label"],
            "disc_type": info["disc_type"], "known": info["known"], "folder": info["folder"],
            "identity": info.get("identity"), "titles": titles}
