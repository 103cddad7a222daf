"""Which name a disc gets, and how sure we are; what kind of disc it is.

In order: --movie/--show on the command line, a [sources."LABEL"] table in the config, a
name the catalog already has for this disc, the disc's TheDiscDb record (imported, or asked
online by its content hash), a TMDb match of its label, and last a suggestion made from the
volume label. A suggestion (and a TMDb search without one sure match) is a guess: such a
disc rips and transcodes, but its files wait in `review` until a person approves a name
(or picks a TMDb candidate by number). Nothing is inserted under a guessed name.

The steps ask the online services through this module (services/ holds their clients).
"""

from __future__ import annotations

import re
import unicodedata

from digitizer.names import Name

# Words of a volume label that say where the disc sits in a set, not what it is called:
# S01 / SEASON_1, D2 / DISC_2 / DISK 2 / DVD 2 / BD 2, VOL_3 / VOLUME 3, and S1D2 run
# together. A season, a volume or a disc number says the disc is one of a show's.
_SEASON = re.compile(r"\b(?:S|SEASON|SERIES)\s*(\d{1,2})\b", re.IGNORECASE)
_DISC = re.compile(r"\b(?:D|DISC|DISK|DVD|BD|CD)\s*(\d{1,2})\b", re.IGNORECASE)
_VOLUME = re.compile(r"\b(?:VOL|VOLUME)\s*(\d{1,2})\b", re.IGNORECASE)
_JOINED = re.compile(r"\bS(\d{1,2})\s*D(\d{1,2})\b", re.IGNORECASE)
_YEAR_WORD = re.compile(r"\b(19[0-9]{2}|20[0-9]{2})\b")


def label_facts(label: str | None) -> dict:
    """What a volume label says: {"name" (the cleaned title, "" when nothing is left),
    "season", "disc", "volume", "year", "kind" ("show" when it numbers a set, else None)}."""
    text = re.sub(r"[^0-9A-Za-z]+", " ", label or "").strip()
    # SHOW_S1D2 -> "S1 D2"
    text = _JOINED.sub(lambda m: f"S{m.group(1)} D{m.group(2)}", text)
    found = {}
    for key, pattern in (("season", _SEASON), ("disc", _DISC), ("volume", _VOLUME)):
        m = pattern.search(text)
        found[key] = int(m.group(1)) if m else None
        text = pattern.sub(" ", text)
    year = None
    words = text.split()
    m = _YEAR_WORD.search(text)
    if m and len(words) > 1 and int(m.group(1)) <= _this_year() + 1:  # "1917" alone is the title, not a year
        year = int(m.group(1))
        text = _YEAR_WORD.sub(" ", text, count=1)
    name = " ".join(w.capitalize() for w in text.split())
    kind = "show" if any(found.values()) else None
    return {"name": name, "year": year, "kind": kind, **found}


def _this_year() -> int:
    import time

    return time.gmtime().tm_year


def suggest(label: str | None, has_episodes: bool) -> Name:
    """A readable guess from a label such as BIG_BUCK_BUNNY or SHOW_S1_D2."""
    facts = label_facts(label)
    name = facts["name"] or "Unknown Disc"
    if facts["year"]:
        name = f"{name} ({facts['year']})"
    kind = "show" if has_episodes or facts["season"] else "movie"
    return Name(kind, name, facts["season"], source="label")


def from_config(cfg, *labels: str | None) -> Name | None:
    """The [sources."LABEL"] name for the first of the labels that has one."""
    entry = next((cfg.sources[lb] for lb in labels if lb is not None and lb in cfg.sources),
                 None) if cfg.sources else None
    if not entry:
        return None
    kind = "show" if entry.get("show") else "movie"
    return Name(kind, entry.get("show") or entry.get("movie"),
                int(entry.get("season", 1)) if kind == "show" else None, source="config")


def disc_kind(catalog, cfg, fingerprint: str, label: str | None, *, given: Name | None = None,
              entry: dict | None = None) -> str | None:
    """"show", "movie" or None: what is known of the disc before its titles get roles. From
    the name given, the config's [sources] entry, a sure name the catalog has, the disc's
    TheDiscDb record, or a label that numbers a set (S01, SEASON_1, D2, DISC_2, VOL_3)."""
    for name in (given, from_config(cfg, label)):
        if name is not None and name.kind in ("show", "movie"):
            return name.kind
    known = Name.from_dict(catalog.name(fingerprint))
    if known is not None and known.certain and known.kind in ("show", "movie"):
        return known.kind
    if entry:
        return entry["kind"]
    return label_facts(label)["kind"]


def needs_name(catalog, cfg, fingerprint: str, label: str | None,
               given: Name | None = None) -> bool:
    """True when nothing sure names the disc yet (a service may be asked)."""
    if given is not None or from_config(cfg, label) is not None:
        return False
    known = Name.from_dict(catalog.name(fingerprint))
    return known is None or not known.certain


def discdb_record(catalog, cfg, content_hash: str | None) -> dict | None:
    """The disc's TheDiscDb record: the imported index first, else TheDiscDb online."""
    if not content_hash:
        return None
    entry = catalog.discdb_entry(content_hash)
    if entry is None:
        from digitizer.services import discdb as online

        entry = online.lookup(cfg, content_hash, catalog)
    return entry


# -- TMDb by name ----------------------------------------------------------------------
_ARTICLES = {"the", "a", "an"}


def same_title(a: str, b: str) -> bool:
    """Titles equal once case, accents, punctuation and articles are set aside."""
    def clean(text: str) -> list[str]:
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c)).lower()
        text = text.replace("&", " and ")
        return [w for w in re.sub(r"[^0-9a-z]+", " ", text).split() if w not in _ARTICLES]

    return bool(clean(a)) and clean(a) == clean(b)


def runtime_agrees(seconds: float | None, runtime: float | None) -> bool:
    """A disc title's length and a TMDb runtime (whole minutes): within 5 %, at least 1 min."""
    if not seconds or not runtime:
        return False
    return abs(seconds - runtime) <= max(0.05 * runtime, 60.0)


def tmdb_match(catalog, cfg, label: str | None, titles: list[dict],
               kind: str | None) -> dict | None:
    """TMDb's answer for the disc's label: {"name": a sure Name or None, "candidates":
    [{"kind", "id", "title", "year", "name", "runtime"}], "why"}. A name is sure only when
    exactly one candidate's title is the cleaned label and its runtime agrees with the disc
    (a film's with the main title; a season's episodes with the episode titles). None when
    TMDb is off or gave no answer."""
    from digitizer.services import tmdb

    facts = label_facts(label)
    if not tmdb.enabled(cfg) or not facts["name"]:
        return None
    candidates, answered = [], False
    for each in ([kind] if kind in ("movie", "show") else ["movie", "show"]):
        found = tmdb.search(cfg, each, facts["name"], facts["year"], catalog)
        if found is None:
            continue
        answered = True
        candidates += found
    if not answered:
        return None
    for c in candidates:
        year = f" ({c['year']})" if c["year"] else ""
        c["name"] = f"{c['title']}{year}"
        if c["kind"] == "show":
            c["season"] = facts["season"] or 1
    exact = [c for c in candidates if same_title(c["title"], facts["name"])]
    result = {"name": None, "candidates": candidates}
    if len(exact) != 1:
        result["why"] = (f"no TMDb title is exactly {facts['name']!r}" if not exact else
                         f"{len(exact)} TMDb titles are {facts['name']!r}")
        return result
    match = exact[0]
    if match["kind"] == "movie":
        runtime = tmdb.movie_runtime(cfg, match["id"], catalog)
        match["runtime"] = runtime
        mains = [t for t in titles if t.get("role") == "main"] or \
            sorted(titles, key=lambda t: -(t.get("duration") or 0))[:1]
        agrees = bool(mains) and runtime_agrees(mains[0].get("duration"), runtime)
        said = f"its runtime ({runtime / 60:.0f} min)" if runtime else "no runtime"
    else:
        runtimes = [r for r in tmdb.season_runtimes(cfg, match["id"], match["season"],
                                                    catalog) or [] if r]
        episodes = [t.get("duration") for t in titles if t.get("role") == "episode"]
        agrees = bool(episodes) and bool(runtimes) and all(
            any(runtime_agrees(d, r) for r in runtimes) for d in episodes)
        said = "its season's episode runtimes"
    if not agrees:
        result["why"] = f"{match['name']}: {said} does not agree with the disc"
        return result
    result["name"] = Name(match["kind"], match["name"], match.get("season"), source="tmdb")
    return result


# -- box sets: where a disc's episodes sit in its season -----------------------------------
def disc_number(catalog, fingerprint: str) -> int | None:
    """The disc's number in its set: given (--disc), else its label's (D2, DISC_2, VOL_3)."""
    disc = catalog.disc(fingerprint) or {}
    if disc.get("disc_number"):
        return disc["disc_number"]
    facts = label_facts(disc.get("label"))
    return facts["disc"] or facts["volume"]


def _tmdb_season(catalog, cfg, name: Name) -> list[float | None] | None:
    """The season's episode runtimes from TMDb, for a show TMDb has exactly one of."""
    from digitizer.services import tmdb

    if not tmdb.enabled(cfg):
        return None
    title = re.sub(r"\s*\(\d{4}\)\s*$", "", name.name)
    # Searched without the year, as the label was (the answer is kept): the year chooses.
    found = [c for c in tmdb.search(cfg, "show", title, None, catalog) or []
             if same_title(c["title"], title)]
    if name.year and len(found) > 1:
        found = [c for c in found if c["year"] == name.year]
    if len(found) != 1:
        return None
    return tmdb.season_runtimes(cfg, found[0]["id"], name.season, catalog)


def numbering(catalog, cfg, fingerprint: str, name: Name) -> dict:
    """The number of this disc's first episode in its season: {"first", "certain", "why"}.

    From the disc's number (--disc, its label), the episodes the catalog has of the discs
    before it in the same show and season, and the season's episode list on TMDb. When
    they do not agree, or too little is known, the answer is not certain (the episodes
    wait in review with `first` as the suggestion): never a silent "highest + 1"."""
    this = catalog.disc(fingerprint) or {}
    if this.get("first_episode"):
        return {"first": this["first_episode"], "certain": True, "why": "given"}
    episodes = [t for t in catalog.titles(fingerprint) if t.get("role") == "episode"]
    durations = [t.get("duration") for t in episodes]
    number = disc_number(catalog, fingerprint)
    others = [d for d in catalog.season_discs(name.name, name.season)
              if d["fingerprint"] != fingerprint]
    for d in others:
        if d["disc_number"] is None:
            d["disc_number"] = disc_number(catalog, d["fingerprint"])
    if number is None:
        if others:
            guess = 1 + sum(d["episodes"] for d in others)
            return {"first": guess, "certain": False,
                    "why": f"{len(others)} other disc(s) of season {name.season} and no disc "
                           "number in the label: give --disc N or --first-episode N"}
        number = 1  # the season's only disc so far, and nothing says otherwise
    before = {d["disc_number"]: d for d in others if d["disc_number"] and
              d["disc_number"] < number}
    if number == 1:
        first, source = 1, "disc 1"
    elif len(before) == number - 1:
        first, source = 1 + sum(d["episodes"] for d in before.values()), \
            f"discs 1-{number - 1} in the catalog"
    else:
        missing = [n for n in range(1, number) if n not in before]
        return {"first": None, "certain": False,
                "why": f"disc {number}: disc(s) {', '.join(map(str, missing))} of season "
                       f"{name.season} not seen yet; give --first-episode N"}
    runtimes = _tmdb_season(catalog, cfg, name)
    if runtimes is not None:
        last = first + len(episodes) - 1
        if last > len(runtimes):
            return {"first": first, "certain": False,
                    "why": f"{source} say episodes {first}-{last}, TMDb's season {name.season} "
                           f"has {len(runtimes)}"}
        wrong = [first + i for i, d in enumerate(durations)
                 if runtimes[first + i - 1] and not runtime_agrees(d, runtimes[first + i - 1])]
        if wrong:
            return {"first": first, "certain": False,
                    "why": f"{source} say episodes {first}-{last}; TMDb's runtimes of "
                           f"{', '.join(map(str, wrong))} do not agree with the disc"}
    return {"first": first, "certain": True, "why": source}


def candidate(catalog, fingerprint: str, number: int, season: int | None = None) -> Name:
    """`review approve --candidate N`: the Nth TMDb candidate `review` listed, as a reviewed
    name (UsageError when there is no such candidate)."""
    from digitizer.errors import UsageError

    offered = catalog.candidates(fingerprint)
    if not 1 <= number <= len(offered):
        raise UsageError(f"--candidate {number}: the disc has "
                         f"{len(offered) or 'no'} TMDb candidate{'s' * (len(offered) != 1)}")
    c = offered[number - 1]
    return Name(c["kind"], c["name"], season if season is not None else c.get("season"),
                source="review")


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
        if known is not None and known.certain and \
                not (found and known.source in ("thediscdb", "tmdb")):
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
