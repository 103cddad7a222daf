"""Which title is what: main, extra, episode, duplicate, play_all, short.

Input is format-neutral: each title has ``title`` (int), ``duration`` (s), ``chapters``
(start times, or None), ``segments`` (the pieces of content it plays, in order, as hashable
ids, or None when the format cannot say) and ``size``. Measured on real labelled discs from
TheDiscDb (tests/data/discdb, tests/test_roles_corpus.py, ``make bench``).

The rules, in order (each title gets the first role that fits):
1. short      shorter than min_seconds (config min_title_seconds, default 10 s).
2. duplicate  plays exactly the segments of an earlier title (a repeated playlist, a clip
              also listed on its own, a copy-protection decoy). Never on length alone: anime
              and cartoon discs have many episodes of identical length and chapter layout.
3. main and its versions: long titles (>= 0.7 x the longest) that share at least half of
              their segments with the longest are cuts of one film (theatrical, extended):
              the longest is the main feature, the others are extras with ``version_of``.
              They are never episodes and never a play-all.
4. play_all   plays the segments of two or more other titles in a row; when segments are
              unknown, its length is the sum (within 1 % or 2 s) of a run of consecutive
              titles with a chapter mark at every join, or, without chapter times, of a run
              of three or more, two thirds of them of one length (within 0.5 s a title: a
              sum of unlike extras adding up to another title is a common coincidence).
5. episode    a TV disc, decided by what a play-all plays (its members are the episodes, in
              the order it plays them), else by a cluster: at least three episode units among
              titles of similar length (within 12 % of their median, at least 5 minutes),
              where a title of about k x that length (k = 2..4, within 8 %) is a k-episode
              title, and no title outside that pattern dominates (a 90-minute film beside
              three 20-minute featurettes is a movie disc).
6. main       otherwise the longest title (ties: the lower title number).
7. extra      everything else.

Formats whose titles can also be pieces of the feature or decoys (Blu-ray) then call
mark_parts and mark_decoys (below).
"""

from __future__ import annotations

import statistics

MAIN_RATIO = 0.7
VERSION_SHARE = 0.5
CLUSTER_SPREAD = 0.12
MULTI_SPREAD = 0.08
EPISODE_FLOOR = 300.0
JOIN_TOLERANCE = 0.5  # s between a chapter mark and where one played title ends
SUM_TOLERANCE = 0.5  # s per title in a sum of lengths with no chapter times to confirm it


def _segs(t: dict) -> tuple:
    return tuple(tuple(s) if isinstance(s, list) else s for s in t.get("segments") or ())


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= max(2.0, 0.01 * max(a, b))


def _chapter_times(t: dict) -> list[float] | None:
    marks = t.get("chapters")
    return marks if marks and len(marks) >= 2 else None


def _members_by_segments(t: dict, others: list[dict]) -> list[dict] | None:
    mine = _segs(t)
    if not mine:
        return None
    covered = [o for o in others if _segs(o) and set(_segs(o)) <= set(mine)]
    union = set().union(*(_segs(o) for o in covered)) if covered else set()
    if len(covered) >= 2 and union == set(mine):
        return covered
    return None


def _alike(run: list[dict]) -> bool:
    """Most of a run are of one length, as the episodes a play-all plays (the sum of a
    trailer, a featurette and a short is a coincidence, not a play-all)."""
    typical = statistics.median(t["duration"] for t in run)
    return sum(abs(t["duration"] - typical) <= CLUSTER_SPREAD * typical for t in run) * 3 >= 2 * len(run)


def _members_by_length(t: dict, others: list[dict]) -> list[dict] | None:
    # Authoring tools that copy instead of sharing cells: a run of consecutive titles whose
    # lengths add up to this one. A coincidental sum of two is common (a 30 s main and
    # extras of 18 s and 12 s), so it needs a chapter mark at each join, or three members.
    ordered = sorted(others, key=lambda o: o["title"])
    marks = _chapter_times(t)
    for i in range(len(ordered)):
        total, joins = 0.0, []
        for j in range(i, len(ordered)):
            total += ordered[j]["duration"]
            if j > i and marks is not None and _close(total, t["duration"]):
                if all(any(abs(m - join) <= JOIN_TOLERANCE for m in marks) for join in joins):
                    return ordered[i:j + 1]
            elif (j - i >= 2 and marks is None
                  and abs(total - t["duration"]) <= SUM_TOLERANCE * (j - i + 2)
                  and _alike(ordered[i:j + 1])):
                return ordered[i:j + 1]
            joins.append(total)
            if total > t["duration"] * 1.02 + 2:
                break
    return None


def _play_all_members(t: dict, others: list[dict]) -> list[dict] | None:
    """The titles `t` plays in a row, if it is a play-all title."""
    if _segs(t) and all(_segs(o) for o in others):
        return _members_by_segments(t, others)
    return _members_by_segments(t, others) or _members_by_length(t, others)


def _versions(rest: list[dict]) -> list[dict]:
    """The longest title and the other cuts of the same film (sharing most segments)."""
    longest = max(rest, key=lambda t: (t["duration"], -t["title"]))
    mine = set(_segs(longest))
    if not mine:
        return [longest]
    cuts = [longest]
    for t in rest:
        theirs = set(_segs(t))
        if (t is not longest and theirs and t["duration"] >= MAIN_RATIO * longest["duration"]
                and len(theirs & mine) >= VERSION_SHARE * min(len(theirs), len(mine))):
            cuts.append(t)
    return cuts


def _units(duration: float, length: float) -> int:
    """How many episodes of `length` a title of `duration` holds (0: not a whole number)."""
    if abs(duration - length) <= CLUSTER_SPREAD * length:
        return 1
    for k in (2, 3, 4):
        if abs(duration - k * length) <= MULTI_SPREAD * k * length:
            return k
    return 0


def _episode_cluster(rest: list[dict]) -> list[dict] | None:
    """The titles of a TV disc by their lengths, or None for a movie disc."""
    best: list[dict] = []
    for seed in rest:
        if seed["duration"] < EPISODE_FLOOR:
            continue
        near = [t for t in rest if abs(t["duration"] - seed["duration"])
                <= CLUSTER_SPREAD * seed["duration"]]
        length = statistics.median(t["duration"] for t in near)
        near = [t for t in rest if _units(t["duration"], length) == 1]
        if len(near) > len(best):
            best = near
    if len(best) < 2:
        return None
    length = statistics.median(t["duration"] for t in best)
    episodes = [t for t in rest if _units(t["duration"], length)]
    if sum(_units(t["duration"], length) for t in episodes) < 3:
        return None
    # A title longer than the pattern allows is a feature the disc is built around.
    if any(t["duration"] > length * (1 + CLUSTER_SPREAD) and t not in episodes for t in rest):
        return None
    return episodes


def _played_episodes(groups: list[tuple[tuple, list[dict]]], longest: dict) -> list[dict] | None:
    """The episodes a disc's play-all titles play, in the order the longest one plays them.
    Members of a shorter play-all (trailers, "play all extras") are episodes only when they
    are as long as the main play-all's."""
    order, first = groups[0]
    typical = statistics.median(m["duration"] for m in first)
    # A "play all extras" beside a film is not a TV disc.
    if longest not in first and longest["duration"] >= 2 * typical:
        return None
    members = list(first)
    for _, more in groups[1:]:
        if statistics.median(m["duration"] for m in more) >= (1 - CLUSTER_SPREAD) * typical:
            members += [m for m in more if m not in members]

    def position(m: dict) -> tuple:
        at = [order.index(s) for s in _segs(m) if s in order]
        return (max(at) if at else len(order), m["title"])
    return sorted(members, key=position)


def assign(titles: list[dict], min_seconds: float, kind: str | None = None) -> list[dict]:
    """Set ``role`` (and ``episode`` for episodes, ``duplicate_of``, ``version_of``) on each
    title dict; returns the list. `kind` is what is known of the disc: "show", "movie" or
    None (nothing: the rules decide from the titles alone)."""
    for t in titles:
        for key in ("episode", "duplicate_of", "version_of"):
            t.pop(key, None)
        t["role"] = None
    for t in titles:
        if t["duration"] < min_seconds:
            t["role"] = "short"
    seen = {}
    for t in sorted(titles, key=lambda t: t["title"]):
        if t["role"]:
            continue
        segs = _segs(t)
        if segs and segs in seen:
            t["role"] = "duplicate"
            t["duplicate_of"] = seen[segs]
        elif segs:
            seen[segs] = t["title"]
    rest = [t for t in titles if t["role"] is None]
    if not rest:
        return titles
    cuts = _versions(rest)
    if len(cuts) > 1:
        cuts[0]["role"] = "main"
        for t in cuts[1:]:
            t["role"] = "extra"
            t["version_of"] = cuts[0]["title"]
    # Longest first: a play-all is longer than each of the titles it plays.
    # (its play order, its members), longest play-all first
    groups: list[tuple[tuple, list[dict]]] = []
    played: set[int] = set()
    for t in sorted(titles, key=lambda t: -t["duration"]):
        if t["role"] or t["title"] in played:
            continue
        others = [o for o in titles if o is not t and o["role"] is None
                  and o["duration"] < t["duration"]]
        members = _play_all_members(t, others) if len(others) >= 2 else None
        if members:
            t["role"] = "play_all"
            groups.append((_segs(t), members))
            played.update(m["title"] for m in members)
    rest = [t for t in titles if t["role"] is None]
    if not rest:
        return titles
    longest = max(rest, key=lambda t: (t["duration"], -t["title"]))
    episodes = None
    # A movie disc never has episodes; a show disc never gets a main feature from length.
    if groups and kind != "movie":
        episodes = _played_episodes(groups, longest)
    if episodes is None and kind != "movie" and not any(t["role"] == "main" for t in titles):
        found = _episode_cluster(rest)
        episodes = sorted(found, key=lambda t: t["title"]) if found else None
    if episodes:
        for n, t in enumerate(episodes, 1):
            t["role"] = "episode"
            t["episode"] = n
    elif kind != "show" and not any(t["role"] == "main" for t in titles):
        longest["role"] = "main"
    for t in rest:
        if t["role"] is None:
            t["role"] = "extra"
    return titles


def mark_parts(titles: list[dict]) -> None:
    """Extras that play only segments the main feature (or a cut of it) plays are pieces of
    it, listed on their own (a Blu-ray's feature clips are playlists too): duplicates."""
    features = [t for t in titles if t["role"] == "main"] + \
        [t for t in titles if t.get("version_of")]
    for t in titles:
        if t["role"] != "extra" or t.get("version_of") or not _segs(t):
            continue
        whole = next((f for f in features if set(_segs(t)) <= set(_segs(f))), None)
        if whole is not None:
            t["role"], t["duplicate_of"] = "duplicate", whole["title"]


def mark_decoys(titles: list[dict]) -> None:
    """Decoys: titles that play the same segments as others, in another order (copy
    protection hides the film among them; the wrong ones play scenes out of order). The
    disc cannot tell which order is the film, so when such a group holds the main feature or
    a cut of it, each member becomes a ``decoy`` (never ripped by default) that remembers the
    role the group had (``decoy_role``, ``version_of``) and its rivals (``decoys``), until a
    record (settle_decoys) or a person (pick) says which one is the film."""
    groups: dict[tuple, list[dict]] = {}
    for t in titles:
        if t["role"] in ("main", "extra") and len(_segs(t)) >= 2:
            groups.setdefault(tuple(sorted(_segs(t))), []).append(t)
    for members in groups.values():
        if len({_segs(m) for m in members}) < 2 or \
                not any(m["role"] == "main" or m.get("version_of") for m in members):
            continue
        role = "main" if any(m["role"] == "main" for m in members) else "extra"
        version_of = next((m.get("version_of") for m in members if m.get("version_of")), None)
        for m in members:
            m["role"], m["decoy_role"] = "decoy", role
            m["decoys"] = sorted(o["title"] for o in members if o is not m)
            m.pop("version_of", None)
            if version_of and role == "extra":
                m["version_of"] = version_of


def pick(titles: list[dict], number: int) -> dict:
    """A person says decoy `number` plays the film in its true order: it takes the group's
    role; its rivals become its duplicates. ValueError when it is not a decoy."""
    chosen = next((t for t in titles if t["title"] == number), None)
    if chosen is None or chosen.get("role") != "decoy":
        raise ValueError(f"title {number} is not one of the disc's decoys")
    chosen["role"] = chosen.pop("decoy_role", None) or "main"
    settle_decoys(titles)
    return chosen


def settle_decoys(titles: list[dict]) -> None:
    """Decoys whose group has a chosen member (picked, or labelled by a TheDiscDb record)
    are duplicates of it."""
    by_number = {t["title"]: t for t in titles}
    for t in titles:
        if t.get("decoys") and t["role"] != "decoy":
            t.pop("decoy_role", None)
            for n in t["decoys"]:
                rival = by_number.get(n)
                if rival is not None and rival["role"] == "decoy":
                    rival["role"], rival["duplicate_of"] = "duplicate", t["title"]
                    rival.pop("decoy_role", None)
                    rival.pop("version_of", None)


def undecided(titles: list[dict]) -> list[list[int]]:
    """The groups of decoys still waiting for a choice, each as its title numbers."""
    groups = {tuple(sorted([t["title"], *t.get("decoys", [])]))
              for t in titles if t.get("role") == "decoy"}
    return [list(g) for g in sorted(groups)]


DEFAULT_ROLES = ("main", "extra", "episode")
ALL_ROLES = ("main", "extra", "episode", "duplicate", "play_all", "short", "decoy")
