"""Real labelled discs from TheDiscDb (tests/data/discdb, MIT: LICENSE-TheDiscDb-data) as
roles.assign input, and the accuracy of a role rule on them (test_roles_corpus.py asserts
the thresholds; `make bench` prints the table with two baselines).

What the records give, and so what the rule sees:
- Blu-ray: the clips a playlist plays (``segment_map``) identify content, so they are the
  segments.
- DVD: cell numbers are per title set and the title set is not recorded, so segments are
  unknown (None), except where MakeMKV's log says a title equals another (same title set
  and cells): then both get the same segments.
- No chapter times (only counts): chapters are None.
"""

from __future__ import annotations

import json
from pathlib import Path

from digitizer import roles

CORPUS = Path(__file__).parent / "data" / "discdb"
RIPPED = set(roles.DEFAULT_ROLES)


def load() -> list[dict]:
    """Every disc of every .jsonl file of the corpus folder."""
    return [json.loads(line) for path in sorted(CORPUS.glob("*.jsonl"))
            for line in path.read_text().splitlines() if line.strip()]


def kind_of(disc: dict) -> str:
    """The kind a scan knows when the disc is identified: the catalogue's section."""
    return "show" if disc["kind"] == "series" else "movie"


def as_titles(disc: dict) -> list[dict]:
    bluray = disc["format"] != "DVD"
    equal = {t["source_file"]: t["equal_to"] for t in disc["titles"] if t.get("equal_to")}
    titles = []
    for n, t in enumerate(disc["titles"]):
        segments = None
        if bluray:
            segments = [int(c) for c in t["segment_map"].split(",") if c.strip().isdigit()] or None
        elif t["source_file"] in equal or t["source_file"] in equal.values():
            root = equal.get(t["source_file"], t["source_file"])
            segments = [f"{root}:{t['segment_map']}"]
        titles.append({"title": n + 1, "duration": float(t["duration_s"]), "chapters": None,
                       "segments": segments, "size": t["size"], "truth": t})
    # Title numbers as a scanner of the disc numbers them: the DVD title number; on Blu-ray
    # the playlist number (MakeMKV's split parts after it), then lone clips.
    for t in titles:
        name = t["truth"]["source_file"]
        number = int(name.split(".")[0])
        if bluray:
            part = name.partition("(")[2].rstrip(")")
            number = number * 100 + int(part or 0) if ".mpls" in name else 10**8 + number
        t["title"] = number
    # MakeMKV lists each angle of a DVD title as a title of its own with the same number;
    # a scanner numbers the copies apart.
    seen: set[int] = set()
    for t in titles:
        while t["title"] in seen:
            t["title"] += 1000
        seen.add(t["title"])
    return titles


def rule_digitizer(titles: list[dict], kind: str | None = None) -> None:
    roles.assign(titles, 10, kind)


def rule_longest(titles: list[dict], kind: str | None = None) -> None:
    """What a user gets who rips the longest title only."""
    longest = max(titles, key=lambda t: (t["duration"], -t["title"]))
    for t in titles:
        t["role"] = "main" if t is longest else "short"


def rule_arm(titles: list[dict], kind: str | None = None) -> None:
    """Automatic Ripping Machine's defaults: the longest title is the movie, every title
    between MINLENGTH (600 s) and MAXLENGTH is ripped as-is, without episode numbers."""
    longest = max(titles, key=lambda t: (t["duration"], -t["title"]))
    for t in titles:
        t["role"] = "main" if t is longest else ("extra" if t["duration"] >= 600 else "short")


RULES = {"digitizer": rule_digitizer, "ARM": rule_arm, "longest title": rule_longest}


def _episode_key(t: dict) -> tuple:
    tr = t["truth"]
    return (int(tr["season"] or 0), int(str(tr["episode"]).split("-")[0]))


def partly_labelled(titles: list[dict]) -> bool:
    """A disc whose labeller stopped early: most of its titles of 5 minutes or more that play
    content of their own (not a duplicate MakeMKV skipped) carry no label. An unlabelled
    title there says nothing about what it is."""
    own = [t for t in titles if t["duration"] >= 300 and t["truth"]["origin"] == "json"]
    return sum(bool(t["truth"]["truth_type"]) for t in own) * 2 < len(own)


def measure(rule, discs: list[dict] | None = None, kind_known: bool = False) -> dict:
    """The counts behind `ratios`; with `kind_known` the rule is told each disc's kind
    (movie or show), as a scan is when the disc is identified, else it decides blind."""
    discs = load() if discs is None else discs
    m = dict(movie_discs=0, main_ok=0, episodes=0, episodes_found=0, series_discs=0,
             exact_sets=0, in_order=0, predicted=0, predicted_true=0, predicted_full=0,
             predicted_full_true=0, duplicates=0,
             duplicates_found=0, content=0.0, lost=0.0)
    for disc in discs:
        titles = as_titles(disc)
        rule(titles, kind_of(disc) if kind_known else None)
        by_file = {t["truth"]["source_file"]: t for t in titles}
        labelled = [t for t in titles if t["truth"]["truth_type"] and not t["truth"]["play_all_name"]]
        if disc["kind"] == "movie" and any(t["truth"]["truth_type"] == "MainMovie" for t in titles):
            m["movie_discs"] += 1
            mains = [t for t in titles if t["role"] == "main"]
            m["main_ok"] += len(mains) == 1 and mains[0]["truth"]["truth_type"] == "MainMovie"
        truth_eps = {t["title"] for t in labelled if t["truth"]["truth_type"] == "Episode"}
        found = [t for t in titles if t["role"] == "episode"]
        m["episodes"] += len(truth_eps)
        m["episodes_found"] += len(truth_eps & {t["title"] for t in found})
        m["predicted"] += len(found)
        m["predicted_true"] += sum(t["title"] in truth_eps for t in found)
        if not partly_labelled(titles):
            m["predicted_full"] += len(found)
            m["predicted_full_true"] += sum(t["title"] in truth_eps for t in found)
        if disc["kind"] == "series":
            m["series_discs"] += 1
            if {t["title"] for t in found} == truth_eps:
                m["exact_sets"] += 1
                keys = [_episode_key(t) for t in sorted(found, key=lambda t: t.get("episode") or 0)]
                m["in_order"] += keys == sorted(keys)
        # True duplicates: of a group of titles that play the same content (MakeMKV said
        # so, or the same Blu-ray clips in the same order), all but one.
        groups: dict = {}
        for t in titles:
            tr = t["truth"]
            if disc["format"] == "DVD":
                key = tr.get("equal_to") or (tr["source_file"] if t["segments"] else None)
            else:
                key = tuple(t["segments"] or ()) or None
            if key:
                groups.setdefault(key, []).append(t)
        for group in groups.values():
            m["duplicates"] += len(group) - 1
            m["duplicates_found"] += min(len(group) - 1, sum(t["role"] == "duplicate" for t in group))
        # Content lost: labelled titles not ripped, and not a true duplicate (same content by
        # the record) of a ripped title; a "duplicate" of another content is lost.
        ripped = {t["title"]: t for t in titles if t["role"] in RIPPED}
        for t in labelled:
            m["content"] += t["duration"]
            same = ripped.get(t.get("duplicate_of"))
            kept = t["role"] in RIPPED or (t["role"] == "duplicate" and same is not None and
                                           bool(t["segments"]) and same["segments"] == t["segments"])
            if not kept:
                m["lost"] += t["duration"]
    return m


def ratios(m: dict) -> dict:
    def r(a, b):
        return a / b if b else None  # nothing to measure (a rule that predicts no episode)
    return {
        "main feature right (movie discs)": r(m["main_ok"], m["movie_discs"]),
        "labelled episodes called episode": r(m["episodes_found"], m["episodes"]),
        "exact episode set (series discs)": r(m["exact_sets"], m["series_discs"]),
        "exact set and in label order": r(m["in_order"], m["series_discs"]),
        "predicted episodes labelled episode": r(m["predicted_true"], m["predicted"]),
        "... on fully labelled discs": r(m["predicted_full_true"], m["predicted_full"]),
        "true duplicates marked duplicate": r(m["duplicates_found"], m["duplicates"]),
        "labelled content lost (by duration)": r(m["lost"], m["content"]),
    }


def table() -> str:
    """The rules side by side: digitizer blind and told the kind, ARM, the longest title."""
    results = {"digitizer": ratios(measure(rule_digitizer)),
               "kind known": ratios(measure(rule_digitizer, kind_known=True)),
               "ARM": ratios(measure(rule_arm)),
               "longest title": ratios(measure(rule_longest))}
    names = list(results)
    lines = [f"{'roles on ' + str(len(load())) + ' real TheDiscDb discs':42s}"
             + "".join(f"{n:>15s}" for n in names)]
    for metric in results[names[0]]:
        lines.append(f"{metric:42s}" + "".join(
            f"{results[n][metric]:>14.1%} " if results[n][metric] is not None else f"{'-':>14s} "
            for n in names))
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
