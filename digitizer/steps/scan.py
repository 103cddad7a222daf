"""scan: every title of a disc with its streams, chapters and role.

The format reads the titles (formats/*.scan); roles.assign gives each its role from the
format-neutral keys; the titles that will be ripped by default are probed for what only
decoding tells (interlacing). Everything goes to the catalog and the disc marker.
"""

from __future__ import annotations

from pathlib import Path

from digitizer import discdb, formats, identity, manifest, markers, roles
from digitizer.names import Name
from digitizer.steps.fingerprint import fingerprint


def scan(source: str, fmt, cfg, *, probe: bool = True, kind: str | None = None) -> dict:
    result = fmt.scan(source, cfg)
    fmt.assign_roles(result["titles"], cfg, kind)
    if probe:
        for t in result["titles"]:
            if t["role"] in roles.DEFAULT_ROLES:
                fmt.probe(source, t, cfg)
    return result


def scan_disc(source: str, catalog, cfg, *, probe: bool = True,
              given: Name | None = None) -> dict:
    """fingerprint + scan, recorded in the catalog and the disc marker. The disc's kind
    (show or movie) is settled before its titles get roles, from what is known (`given`,
    the config, the catalog, its TheDiscDb record, its label), else after a blind pass
    from a TMDb match of its label."""
    info = fingerprint(source, catalog, cfg.path_of("staging"))
    fmt = formats.by_name(info["disc_type"])
    fp, label = info["fingerprint"], info["label"]
    content_hash = (info.get("ids") or {}).get("thediscdb")
    unnamed = content_hash is not None and \
        identity.needs_name(catalog, cfg, fp, label, given)
    # A disc TheDiscDb knows: its record names the disc and says what each title is
    # (imported, kept from an earlier answer, else asked online once).
    entry = identity.discdb_record(catalog, cfg, content_hash)
    kind = identity.disc_kind(catalog, cfg, fp, label, given=given, entry=entry)
    result = scan(source, fmt, cfg, probe=False, kind=kind)
    titles = result["titles"]
    if entry:
        discdb.apply(entry, titles)
        roles.settle_decoys(titles)  # a record that labels one decoy says which is the film
    found = discdb.name_of(entry) if entry else None
    match = identity.tmdb_match(catalog, cfg, label, titles, kind) \
        if unnamed and not entry else None
    if match and match["name"] is not None and match["name"].kind != kind:
        # The match needed the blind pass's main title; its kind settles the roles.
        fmt.assign_roles(titles, cfg, match["name"].kind)
    if match:
        found = match["name"]
        catalog.set_candidates(fp, None if found else match["candidates"])
    if probe:
        for t in titles:
            if t["role"] in roles.DEFAULT_ROLES:
                fmt.probe(source, t, cfg)
    catalog.record_titles(fp, titles)
    odm = manifest.build(source, titles, cfg)
    if odm is not None:
        markers.write_manifest(Path(info["folder"]), odm)
    markers.update_disc(Path(info["folder"]), titles=titles, disc_info=result["disc"],
                        tool_versions=result.get("tool_versions") or {})
    catalog.add_event("disc_scanned", fp, titles=len(titles),
                      roles={t["title"]: t["role"] for t in titles})
    if found is not None or match:
        info["identity"] = identity.resolve(catalog, cfg, fp, label, titles,
                                            given=given, found=found).as_dict()
    if match and match["name"] is None:
        info["identity"]["why"] = match["why"]
    return {"source": source, "fingerprint": fp, "label": label,
            "disc_type": info["disc_type"], "known": info["known"], "folder": info["folder"],
            "identity": info.get("identity"), "titles": titles}
