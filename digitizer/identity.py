"""What a disc is called in the library, and how sure we are.

In order: --movie/--show on the command line, a [sources."LABEL"] table in the config, a
name the catalog already has for this disc, and last a suggestion made from the volume
label. A suggestion is a guess: such a disc rips and transcodes, but its files wait in
`review` until a person approves a name. Nothing is inserted under a guessed name.
"""

from __future__ import annotations

import re

CERTAIN_SOURCES = ("cli", "config", "review", "catalog")


def suggest(label: str | None, has_episodes: bool) -> dict:
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
    return {"kind": kind, "name": name, "season": (season or 1) if kind == "show" else None,
            "source": "label", "certain": False}


def resolve(catalog, cfg, fingerprint: str, label: str | None, titles: list[dict], *,
            movie: str | None = None, show: str | None = None,
            season: int | None = None) -> dict:
    """The disc's identity, recorded in the catalog; `certain` says whether insert may run."""
    if movie or show:
        ident = {"kind": "movie" if movie else "show", "name": movie or show,
                 "season": (season or 1) if show else None, "source": "cli"}
    elif label is not None and label in (cfg.sources or {}):
        entry = cfg.sources[label]
        kind = "show" if entry.get("show") else "movie"
        ident = {"kind": kind, "name": entry.get("show") or entry.get("movie"),
                 "season": int(entry.get("season", 1)) if kind == "show" else None,
                 "source": "config"}
    else:
        disc = catalog.disc(fingerprint) or {}
        if disc.get("identity_name"):
            return {"kind": disc["identity_kind"], "name": disc["identity_name"],
                    "season": disc["identity_season"], "source": disc["identity_source"],
                    "certain": disc["identity_source"] in CERTAIN_SOURCES}
        ident = suggest(label, any(t.get("role") == "episode" for t in titles))
    ident["certain"] = ident["source"] in CERTAIN_SOURCES
    record(catalog, fingerprint, ident)
    return ident


def record(catalog, fingerprint: str, ident: dict) -> None:
    """Into the catalog and the disc marker (from which `catalog rebuild` restores it)."""
    from pathlib import Path

    from digitizer.fingerprint import update_disc_marker

    catalog.set_identity(fingerprint, kind=ident["kind"], name=ident["name"],
                         season=ident["season"], source=ident["source"])
    folder = (catalog.disc(fingerprint) or {}).get("folder")
    if folder and Path(folder).is_dir():
        update_disc_marker(Path(folder), identity={k: ident[k] for k in
                                                   ("kind", "name", "season", "source")})
