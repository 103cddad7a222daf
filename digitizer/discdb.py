"""TheDiscDb (thediscdb.com): a community catalogue that labels every title of a disc.

Its data is a git repository (github.com/TheDiscDb/data, MIT licence):
``data/<movie|series>/<Title (Year)>/metadata.json`` (title, year, type),
``.../<release>/release.json`` and ``.../<release>/discNN.json`` (the disc's ``ContentHash``
and, title by title, its ``SourceFile`` (DVD title number "01", Blu-ray playlist
"00800.mpls") and ``Item``: Type MainMovie, Episode (Season, Episode), Extra, Trailer,
DeletedScene, ...). This module reads those files into index entries (catalog.py stores
them) and applies an entry to scanned titles; it knows nothing of SQL or of disc formats:
a title matches an entry by the ``source_file`` its format gives it.
"""

from __future__ import annotations

import json
from pathlib import Path

from digitizer.errors import UsageError
from digitizer.names import Name

# TheDiscDb item type -> (digitizer role, extra type: a key of names.EXTRA_TYPES)
ITEM_TYPES = {
    "MainMovie": ("main", None), "Episode": ("episode", None),
    "Extra": ("extra", "other"), "Trailer": ("extra", "trailer"),
    "DeletedScene": ("extra", "deleted"), "Featurette": ("extra", "featurette"),
    "BehindTheScenes": ("extra", "behindthescenes"), "Interview": ("extra", "interview"),
    "Scene": ("extra", "scene"), "Short": ("extra", "short"), "Other": ("extra", "other"),
}


def _load(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{path}: not a TheDiscDb JSON file ({exc})") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: not a TheDiscDb JSON file (not an object)")
    return data


def last_number(value) -> int | None:
    """The last episode of a double episode ("11-12" -> 12); None for a single one."""
    text = str(value if value is not None else "")
    if "-" not in text:
        return None
    return number(text.rsplit("-", 1)[1])


def number(value) -> int | None:
    """"12", 12 or "11-12" (a double episode: its first number)."""
    text = str(value if value is not None else "").strip().split("-")[0].strip()
    return int(text) if text.isdigit() else None


def read_disc(path: Path, metadata: dict, release: dict) -> dict | None:
    """One discNN.json as an index entry (None when it has no content hash)."""
    disc = _load(path)
    content_hash = str(disc.get("ContentHash") or "").upper()
    if not content_hash:
        return None
    titles = []
    for t in disc.get("Titles") or []:
        item = t.get("Item") or {}
        if not t.get("SourceFile") or item.get("Type") not in ITEM_TYPES:
            continue
        titles.append({"source_file": str(t["SourceFile"]), "type": item["Type"],
                       "name": item.get("Title"), "season": number(item.get("Season")),
                       "episode": number(item.get("Episode")),
                       "episode_last": last_number(item.get("Episode"))})
    kind = str(metadata.get("Type") or "").lower()
    return {"content_hash": content_hash, "kind": "show" if kind == "series" else "movie",
            "title": metadata.get("Title") or path.parent.parent.name,
            "year": metadata.get("Year"), "release": release.get("Slug") or path.parent.name,
            "disc": path.stem, "format": disc.get("Format"), "titles": titles}


def read_repository(root: str | Path):
    """Every disc of a local copy of TheDiscDb/data (or of its data/ folder), as index
    entries; UsageError when the folder is not one."""
    root = Path(root)
    data = root / "data" if (root / "data").is_dir() else root
    sections = [data / s for s in ("movie", "series") if (data / s).is_dir()]
    if not sections:
        raise UsageError(f"{root}: not a copy of TheDiscDb/data (no data/movie or data/series)")
    for section in sections:
        for title_dir in sorted(p for p in section.iterdir() if p.is_dir()):
            meta_path = title_dir / "metadata.json"
            metadata = _load(meta_path) if meta_path.is_file() else {}
            for release_dir in sorted(p for p in title_dir.iterdir() if p.is_dir()):
                rel_path = release_dir / "release.json"
                release = _load(rel_path) if rel_path.is_file() else {}
                for disc_path in sorted(release_dir.glob("disc*.json")):
                    entry = read_disc(disc_path, metadata, release)
                    if entry:
                        yield entry


def name_of(entry: dict) -> Name:
    """The disc's library name from its entry: certain (source "thediscdb")."""
    name = entry["title"]
    if entry.get("year"):
        name = f"{name} ({entry['year']})"
    seasons = [t["season"] for t in entry["titles"] if t["type"] == "Episode"
               and t["season"] is not None]
    season = min(seasons) if seasons else (1 if entry["kind"] == "show" else None)
    return Name(entry["kind"], name, season, source="thediscdb")


def apply(entry: dict, titles: list[dict]) -> int:
    """Give each title the record's role, episode (season, number) and extra type where the
    record labels it; the others keep the classifier's role. Returns how many matched."""
    by_source = {t["source_file"]: t for t in entry["titles"]}
    matched = 0
    for t in titles:
        label = by_source.get(t.get("source_file"))
        if label is None:
            continue
        matched += 1
        role, extra_type = ITEM_TYPES[label["type"]]
        t["role"] = role
        for key in ("episode", "episode_last", "duplicate_of", "version_of"):
            t.pop(key, None)
        t["discdb"] = {"type": label["type"], "name": label["name"]}
        if role == "episode" and label["episode"] is not None:
            t["episode"] = label["episode"]
            t["season"] = label["season"]
            t["episode_source"] = "thediscdb"
            if (label.get("episode_last") or 0) > label["episode"]:
                t["episode_last"] = label["episode_last"]
        if extra_type:
            t["extra_type"] = extra_type
    labelled = {t.get("source_file") for t in titles} & set(by_source)
    _follow_labels(titles, labelled)
    _unlabelled_episodes(titles, labelled)
    return matched


def _unlabelled_episodes(titles: list[dict], labelled: set) -> None:
    """A record that numbers a disc's episodes numbers all of them: a title the rules called
    an episode but the record leaves unlabelled (a play-all of episodes too short for the
    rules' minimum) would collide with a labelled one. It is a play-all when it plays only
    what labelled titles play, else an extra."""
    ours = [t for t in titles if t.get("source_file") in labelled]
    if not any(t["role"] == "episode" for t in ours):
        return
    kept = set()
    for t in ours:
        if t["role"] in ("main", "episode", "extra"):
            kept |= {repr(s) for s in t.get("segments") or ()}
    for t in titles:
        if t.get("source_file") in labelled or t["role"] != "episode":
            continue
        t.pop("episode", None)
        plays = {repr(s) for s in t.get("segments") or ()}
        t["role"] = "play_all" if plays and plays <= kept else "extra"


def _follow_labels(titles: list[dict], labelled: set) -> None:
    """Of titles that play the same content, the record labels the one MakeMKV kept, which
    need not be the one the rules kept (the lowest number): the labelled one is kept and
    its unlabelled copies become its duplicates, so one episode is never ripped twice."""
    def content(t):
        return repr(t.get("segments")) if t.get("segments") else None

    kept = {content(t): t for t in titles
            if t.get("source_file") in labelled and content(t) and t["role"] != "duplicate"}
    for t in titles:
        same = kept.get(content(t))
        if same is not None and t is not same and t.get("source_file") not in labelled:
            t["role"], t["duplicate_of"] = "duplicate", same["title"]
            for key in ("episode", "version_of"):
                t.pop(key, None)
