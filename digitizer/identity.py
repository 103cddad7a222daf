"""Which name a disc gets, and how sure we are.

In order: --movie/--show on the command line, a [sources."LABEL"] table in the config, a
name the catalog already has for this disc, and last a suggestion made from the volume
label. A suggestion is a guess: such a disc rips and transcodes, but its files wait in
`review` until a person approves a name. Nothing is inserted under a guessed name.
"""

from __future__ import annotations

import re

from digitizer.names import Name


def suggest(label: str | None, has_episodes: bool) -> Name:
    """A readable guess from a label such as BIG_BUCK_BUNNY or SHOW_S1_D2."""
    text = re.sub(r"[^0-9A-Za-z]+", " ", label or "").strip()
    season = None
    m = re.search(r"\b(?:S|SEASON)\s*(\d{1,2})\b", text, re.IGNORECASE)
    if m:
        season = int(m.group(1))
    text = re.sub(r"\b(?:S|SEASON)\s*\d{1,2}\b|\b(?:D|DISC|DISK|DVD)\s*\d{1,2}\b", " ", text,
                  flags=re.IGNORECASE)
    text = re.sub(r"\b[SD]\d{1,2}[SD]\d{1,2}\b", " ", text, flags=re.IGNORECASE)
    name = " ".join(w.capitalize() for w in text.split()) or "Unknown Disc"
    kind = "show" if has_episodes or season else "movie"
    return Name(kind, name, season, source="label")


def from_config(cfg, *labels: str | None) -> Name | None:
    """The [sources."LABEL"] name for the first of the labels that has one."""
    entry = next((cfg.sources[lb] for lb in labels if lb is not None and lb in cfg.sources),
                 None) if cfg.sources else None
    if not entry:
        return None
    kind = "show" if entry.get("show") else "movie"
    return Name(kind, entry.get("show") or entry.get("movie"),
                int(entry.get("season", 1)) if kind == "show" else None, source="config")


def resolve(catalog, cfg, fingerprint: str, label: str | None, titles: list[dict], *,
            given: Name | None = None, seen_as: str | None = None,
            found: Name | None = None) -> Name:
    """The disc's name, recorded in the catalog; `certain` says whether insert may run.

    Keyed by fingerprint, and resolved again each time: a better source than what the
    catalog has (a name given now, a [sources] entry for the label the disc shows now,
    `seen_as`, or for the label it was first met under, or `found`: the disc's TheDiscDb
    record) replaces a guess; a name a person gave is never replaced by a record."""
    name = given or from_config(cfg, seen_as, label)
    if name is None:
        known = Name.from_dict(catalog.name(fingerprint))
        # A person's or the config's name is kept; a record replaces a guess or an older
        # record (the index may have been re-imported with corrections).
        if known is not None and known.certain and not (found and known.source == "thediscdb"):
            return known
        name = found or _from_format(catalog, fingerprint, titles) or known or \
            suggest(label, any(t.get("role") == "episode" for t in titles))
    record(catalog, fingerprint, name)
    return name


def _from_format(catalog, fingerprint: str, titles: list[dict]) -> Name | None:
    """A name the disc itself carries (an audio CD's CD-TEXT)."""
    from digitizer import formats

    fmt = formats.by_name((catalog.disc(fingerprint) or {}).get("disc_type"))
    named = getattr(fmt, "disc_name", None)
    return named(titles) if named else None


def record(catalog, fingerprint: str, name: Name) -> None:
    """Into the catalog and the disc marker (from which `catalog rebuild` restores it)."""
    from pathlib import Path

    from digitizer import markers

    catalog.set_name(fingerprint, name.as_dict())
    if name.certain:
        catalog.end_review(fingerprint)
    folder = (catalog.disc(fingerprint) or {}).get("folder")
    if folder and Path(folder).is_dir():
        markers.update_disc(Path(folder), identity=name.as_dict())
