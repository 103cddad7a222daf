"""Which title is what: main, extra, episode, duplicate, play_all, short.

The rules, in order (each title gets the first role that fits):
1. short      shorter than min_seconds (config min_title_seconds, default 10 s).
2. duplicate  the same cells (title set + sectors) as an earlier title, or the same length
              (within 0.1 s) and the same chapter lengths in the same title set. Catches
              repeated playlists and the 99-near-identical-titles protection.
3. play_all   its cells are the cells of two or more other titles played in a row, or its
              length is the sum (within 1 % or 2 s) of a run of consecutive other titles
              and it has a chapter mark (within 0.5 s) where each of them ends.
4. main / episode: the candidates are the titles at least 0.7 x the longest remaining one
              (HandBrake's main-feature threshold). Three or more candidates of similar
              length (each within 30 % of their median), or two that a play-all title
              plays, make a TV disc: those are episodes, numbered in title order. Otherwise the longest candidate is the main feature
              (ties: the lower title number, the one players reach first).
5. extra      everything else.
"""

from __future__ import annotations

import statistics

MAIN_RATIO = 0.7
EPISODE_SPREAD = 0.30
JOIN_TOLERANCE = 0.5  # s between a chapter mark and where one played title ends


def _cells(t: dict) -> tuple:
    return tuple((t.get("vts"), c["first_sector"], c["last_sector"]) for c in t.get("cells", []))


def _signature(t: dict) -> tuple:
    starts = t.get("chapters") or [0.0]
    lengths = [round(b - a, 1) for a, b in zip(starts, starts[1:] + [t["duration"]])]
    return (t.get("vts"), round(t["duration"], 1), tuple(lengths))


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= max(2.0, 0.01 * max(a, b))


def _play_all_members(t: dict, others: list[dict]) -> list[dict] | None:
    """The titles `t` plays in a row, if it is a play-all title."""
    cells = _cells(t)
    if cells:
        covered = [o for o in others if _cells(o) and set(_cells(o)) <= set(cells)]
        union = set().union(*(_cells(o) for o in covered)) if covered else set()
        if len(covered) >= 2 and union == set(cells):
            return covered
    # Authoring tools that copy instead of sharing cells: a run of consecutive titles whose
    # lengths add up to this one, with a chapter mark at every join (a coincidental sum of
    # lengths alone is common: a 30 s main and extras of 18 s and 12 s).
    ordered = sorted(others, key=lambda o: o["title"])
    marks = t.get("chapters") or [0.0]
    for i in range(len(ordered)):
        total, joins = 0.0, []
        for j in range(i, len(ordered)):
            total += ordered[j]["duration"]
            if j > i and _close(total, t["duration"]):
                if all(any(abs(m - join) <= JOIN_TOLERANCE for m in marks) for join in joins):
                    return ordered[i:j + 1]
            joins.append(total)
            if total > t["duration"] * 1.02 + 2:
                break
    return None


def assign(titles: list[dict], min_seconds: float) -> list[dict]:
    """Set ``role`` (and ``episode`` for episodes) on each title dict; returns the list."""
    for t in titles:
        t.pop("episode", None)
        t["role"] = None
    for t in titles:
        if t["duration"] < min_seconds:
            t["role"] = "short"
    seen_cells, seen_sig = {}, {}
    for t in sorted(titles, key=lambda t: t["title"]):
        if t["role"]:
            continue
        cells, sig = _cells(t), _signature(t)
        if (cells and cells in seen_cells) or sig in seen_sig:
            t["role"] = "duplicate"
            t["duplicate_of"] = seen_cells.get(cells) or seen_sig.get(sig)
            continue
        if cells:
            seen_cells[cells] = t["title"]
        seen_sig[sig] = t["title"]
    # Longest first: a play-all is longer than each of the titles it plays.
    played = set()
    for t in sorted(titles, key=lambda t: -t["duration"]):
        if t["role"]:
            continue
        others = [o for o in titles if o is not t and o["role"] is None
                  and o["duration"] < t["duration"]]
        members = _play_all_members(t, others) if len(others) >= 2 else None
        if members:
            t["role"] = "play_all"
            played.update(m["title"] for m in members)
    rest = [t for t in titles if t["role"] is None]
    if not rest:
        return titles
    longest = max(t["duration"] for t in rest)
    candidates = [t for t in rest if t["duration"] >= MAIN_RATIO * longest]
    median = statistics.median(t["duration"] for t in candidates)
    similar = all(abs(t["duration"] - median) <= EPISODE_SPREAD * median for t in candidates)
    # Two similar titles are episodes only when a play-all title plays them both.
    if similar and (len(candidates) >= 3 or
                    (len(candidates) == 2 and {t["title"] for t in candidates} <= played)):
        for n, t in enumerate(sorted(candidates, key=lambda t: t["title"]), 1):
            t["role"] = "episode"
            t["episode"] = n
    else:
        main = max(candidates, key=lambda t: (t["duration"], -t["title"]))
        main["role"] = "main"
    for t in rest:
        if t["role"] is None:
            t["role"] = "extra"
    return titles


DEFAULT_ROLES = ("main", "extra", "episode")
ALL_ROLES = ("main", "extra", "episode", "duplicate", "play_all", "short")
