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
3. play_all   plays two or more other titles in a row: with segments, their segments cover
              it but for strays (bumpers, black clips of a few seconds, a shared logo);
              without, its length is their sum to the rounding second (with chapter times,
              a mark at every join). Its members are alike or episode-length: a title made
              of listed scene clips of every length is content of its own.
4. main and its versions: long titles (>= 0.7 x the longest) that share at least half of
              their segments with the longest are cuts of one film (theatrical, extended),
              when no other long title of its own content stands beside them (then they
              are an episode's versions). The longest is the main feature, the others are
              extras with ``version_of``.
5. episode    unless the disc is a movie: what the play-alls play (in their order), else a
              season's band of lengths (a tight core widened to 0.75-1.35 x its median in
              steps episodes take), plus doubles of it; blind, three episodes make a TV
              disc, or two of at most 70 minutes, and no longer title may stand outside
              the pattern. On a show disc without a pattern, its long titles.
6. main       otherwise the longest title (ties: the lower title number), never on a show disc.
7. extra      everything else, and a play-all of extras (a reel people keep).
Last, the invariant: a title is dropped (play_all, duplicate) only when every segment it
plays (strays aside) is kept in another title; otherwise it is kept as an extra.

`kind` ("show", "movie", None) is what the scan knows of the disc: the command line, the
config, a TheDiscDb record, an online match or the label. None: the rules decide blind.

This module runs past 400 lines because every rule and the decoy bookkeeping below share
the segment helpers; split, each half would import the other.

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
# A season's episodes share a time slot but not a length: on one disc a 21- and a 28-minute
# episode, a pilot or finale a fifth longer than the rest. Around the median of a tight core
# of like lengths, titles from SEASON_LOW to SEASON_HIGH times it are episodes of that slot.
SEASON_LOW = 0.75
SEASON_HIGH = 1.35
SHORTER_STEP = 0.15
LONGER_STEP = 0.25
# Two episodes alone on a disc are told from two cuts of a film by length: TV slots end at
# an hour (with a long pilot, 70 minutes); a film, and the cuts of one, run longer.
LONGEST_SLOT = 4200.0
JOIN_TOLERANCE = 0.5  # s between a chapter mark and where one played title ends
# Without segments a sum of lengths is the only evidence. A play-all plays the same cells
# as its titles, so the sum is exact but for each length's rounding to whole seconds
# (MakeMKV, TheDiscDb) and the moment a title's program chain may hold its last frame: a
# second a term. Anything looser admits coincidences such as a double-length pilot 5 s
# longer than the next two episodes.
ROUNDING = 1.0
# What a play-all may play beyond the titles it is made of: the black clips, logos and
# bumpers authoring tools put between episodes (a few seconds each), never an episode.
STRAY_SECONDS = 30.0
STRAY_SHARE = 0.03
STRAY_MEMBER = 0.1


def _segs(t: dict) -> tuple:
    return tuple(tuple(s) if isinstance(s, list) else s for s in t.get("segments") or ())


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= max(2.0, 0.01 * max(a, b))


def _stray(total: float, whole: float) -> bool:
    """`whole` is `total` plus at most a few seconds of strays (or minus rounding)."""
    return -max(2.0, 0.01 * whole) <= whole - total <= max(STRAY_SECONDS, STRAY_SHARE * whole)


def _chapter_times(t: dict) -> list[float] | None:
    marks = t.get("chapters")
    return marks if marks and len(marks) >= 2 else None


def _members_by_segments(t: dict, others: list[dict]) -> list[dict] | None:
    """Titles whose every segment `t` plays, when together they cover all of `t` but strays.

    Authoring practice: a play-all playlist lists the episode clips in a row, often with a
    clip of its own between or after them (a bumper, a black clip); shared clips (a logo
    every episode playlist starts with) appear in the members too. Exact cover needs no
    lengths; otherwise the part of `t` no member plays must be strays by length."""
    mine = _segs(t)
    if not mine:
        return None
    covered = [o for o in others if _segs(o) and set(_segs(o)) <= set(mine)]
    # Preferably the smallest units: a shorter play-all inside this one is not one of its
    # titles (but an episode playlist that adds the intro to its episode clip is).
    smallest = _smallest(covered)
    for units in (smallest, covered):
        if len(units) >= 2 and set().union(*(_segs(o) for o in units)) == set(mine):
            return units
    covered = smallest
    if len(covered) < 2:
        return None
    # The rest of `t` must be strays: the members' lengths add up to all of it but a few
    # seconds, and exceed it by no more than a shared logo or intro each.
    total = sum(o["duration"] for o in covered)
    if _stray(total, t["duration"]) or 0 <= total - t["duration"] <= STRAY_SECONDS * len(covered):
        return covered
    return None


def _smallest(titles: list[dict]) -> list[dict]:
    """The titles that hold no other of them whole (a play-all of some of them is left out)."""
    return [o for o in titles
            if not any(p is not o and set(_segs(p)) < set(_segs(o)) for p in titles)]


def _mostly_episode_length(run: list[dict]) -> bool:
    """Two thirds of `run` at least EPISODE_FLOOR long."""
    return sum(o["duration"] >= EPISODE_FLOOR for o in run) * 3 >= 2 * len(run)


def _alike(run: list[dict]) -> bool:
    """A run looks like the episodes a play-all plays: two of them both in one season's band
    of lengths, three or more mostly so (a short special may sit among them). The sum of a
    trailer, a featurette and a short is a coincidence, not a play-all."""
    typical = statistics.median(t["duration"] for t in run)
    inside = sum(SEASON_LOW * typical <= t["duration"] <= SEASON_HIGH * typical for t in run)
    return inside == len(run) if len(run) == 2 else inside * 3 >= 2 * len(run)


def _members_by_length(t: dict, others: list[dict]) -> list[dict] | None:
    # Without segments (a reader that cannot list cells, or a record that gives none), a
    # play-all is known by length: a run of consecutive titles whose lengths add up to this
    # one. With chapter times, a chapter mark at every join confirms it. Without them the
    # members must be episodes (at least EPISODE_FLOOR, of one season's band of lengths):
    # the sum of unlike extras adding up to another extra is a common coincidence.
    ordered = sorted(others, key=lambda o: o["title"])
    marks = _chapter_times(t)
    for i in range(len(ordered)):
        total, joins = 0.0, []
        for j in range(i, len(ordered)):
            total += ordered[j]["duration"]
            run = ordered[i:j + 1]
            if j > i and marks is not None and _close(total, t["duration"]):
                if all(any(abs(m - join) <= JOIN_TOLERANCE for m in marks) for join in joins):
                    return run
            elif (j > i and marks is None and abs(total - t["duration"]) <= ROUNDING * (j - i + 2)
                  and _mostly_episode_length(run) and _alike(run)):
                return run
            joins.append(total)
            if total > t["duration"] * 1.02 + 2:
                break
    if marks is None:
        # The episodes need not be neighbours in title order (an extra authored between
        # them): all titles of one season's band of lengths, when they add up.
        long = [o for o in ordered if o["duration"] >= EPISODE_FLOOR]
        for seed in long:
            band = sorted(_season_band(long, seed), key=lambda o: o["title"])
            if len(band) >= 2 and _alike(band) and abs(
                    sum(o["duration"] for o in band) - t["duration"]) <= ROUNDING * (len(band) + 1):
                return band
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
    def plays(t: dict) -> set[int]:
        """The smallest listed titles `t` plays whole (not a shorter play-all of them)."""
        return {o["title"] for o in _smallest(
            [o for o in rest if o is not t and _segs(o) and set(_segs(o)) <= set(_segs(t))])}

    # Two play-alls of the same episodes (one adds a recap or a bumper) share their
    # segments too, but they play the same listed titles; two cuts of a film play
    # different ones (the extended cut plays a scene the theatrical one leaves out).
    own = plays(longest)
    cuts = [longest]
    for t in rest:
        theirs = set(_segs(t))
        if (t is not longest and theirs and t["duration"] >= MAIN_RATIO * longest["duration"]
                and len(theirs & mine) >= VERSION_SHARE * min(len(theirs), len(mine))
                and not (len(own) >= 2 and plays(t) == own)):
            cuts.append(t)
    # Cuts of one film are the only long titles of its disc. Other long titles of their
    # own content beside them make a TV disc whose episodes come in versions (original and
    # remastered effects, seamlessly branched), not a film.
    if any(t not in cuts and t["duration"] >= MAIN_RATIO * longest["duration"]
           and not set(_segs(t)) & mine for t in rest):
        return [longest]
    return cuts


def _multiple(duration: float, length: float) -> int:
    """How many episodes of `length` a title of `duration` holds when it is a double (or
    triple, quadruple) episode: 2..4, else 0."""
    for k in (2, 3, 4):
        if abs(duration - k * length) <= MULTI_SPREAD * k * length:
            return k
    return 0


def _season_band(titles: list[dict], seed: dict) -> list[dict]:
    """The titles of one time slot around `seed`: a tight core of like lengths, widened
    step by step to the next shorter or longer title while the step is one episodes take
    (SHORTER_STEP, LONGER_STEP) and it stays in the season's band around the median. A
    title far from every episode (a 18-minute featurette beside 22-minute episodes whose
    lengths agree to the second) stays out, however wide the band."""
    core = [t for t in titles if abs(t["duration"] - seed["duration"])
            <= CLUSTER_SPREAD * seed["duration"]]
    members = sorted(core, key=lambda t: t["duration"])
    by_length = sorted(titles, key=lambda t: t["duration"])
    grown = True
    while grown:
        grown = False
        length = statistics.median(t["duration"] for t in members)
        shorter = [t for t in by_length if t["duration"] < members[0]["duration"]]
        if shorter and shorter[-1]["duration"] >= SEASON_LOW * length and \
                shorter[-1]["duration"] >= (1 - SHORTER_STEP) * members[0]["duration"]:
            members.insert(0, shorter[-1])
            grown = True
        longer = [t for t in by_length if t["duration"] > members[-1]["duration"]]
        if longer and longer[0]["duration"] <= SEASON_HIGH * length and \
                longer[0]["duration"] <= (1 + LONGER_STEP) * members[-1]["duration"]:
            members.append(longer[0])
            grown = True
    return members


def _episode_cluster(rest: list[dict], kind: str | None) -> list[dict] | None:
    """The episodes of a TV disc by their lengths, or None for a movie disc."""
    candidates = [t for t in rest if t["duration"] >= EPISODE_FLOOR]
    best: list[dict] = []
    for seed in candidates:
        band = _season_band(candidates, seed)
        if len(band) > len(best) or (len(band) == len(best) and best and
                                     sum(t["duration"] for t in band) > sum(t["duration"] for t in best)):
            best = band
    if not best:
        return None
    length = statistics.median(t["duration"] for t in best)
    doubles = [t for t in candidates if t not in best and _multiple(t["duration"], length)]
    episodes = best + doubles
    units = len(best) + sum(_multiple(t["duration"], length) for t in doubles)
    if kind == "show":
        return episodes
    # Blind: three episodes make a TV disc; two do only when they are TV-length (two
    # similar long titles are more often two cuts of a film).
    if units < 3 and not (len(best) >= 2 and length <= LONGEST_SLOT):
        return None
    # A title longer than the pattern allows is a feature the disc is built around (a film
    # beside three featurettes of like length).
    if any(t["duration"] > length * SEASON_HIGH and t not in episodes for t in rest):
        return None
    return episodes


def _played_episodes(play_alls: list[tuple[dict, list[dict]]],
                     longest: dict) -> list[dict] | None:
    """The episodes a disc's play-all titles play, in the order the longest one plays them.
    Members of a shorter play-all (trailers, "play all extras") are episodes only when they
    are as long as the main play-all's."""
    order, first = _segs(play_alls[0][0]), play_alls[0][1]
    typical = statistics.median(m["duration"] for m in first)
    # A "play all extras" beside a film is not a TV disc.
    if longest not in first and longest["duration"] >= 2 * typical:
        return None
    members = list(first)
    for _, more in play_alls[1:]:
        if statistics.median(m["duration"] for m in more) >= (1 - CLUSTER_SPREAD) * typical:
            members += [m for m in more if m not in members]

    # A bumper or black clip the play-all plays between episodes may be listed as a title
    # of its own: a tenth of an episode is a stray, not an episode (a short special can be
    # a third of one).
    members = [m for m in members if m["duration"] >= STRAY_MEMBER * typical]

    def position(m: dict) -> tuple:
        at = [order.index(s) for s in _segs(m) if s in order]
        return (max(at) if at else len(order), m["title"])
    return sorted(members, key=position)


def _keep_content(titles: list[dict]) -> None:
    """The invariant: a title is dropped (play_all, duplicate) only when what it plays is
    kept in other titles. With segments that is checked segment by segment, allowing only
    strays; a title whose content would be lost is kept as an extra instead. Play-alls are
    settled first: a duplicate of a play-all that is kept is then kept content."""
    for role in ("play_all", "duplicate"):
        kept = [t for t in titles if t["role"] in DEFAULT_ROLES]
        kept_segs = set().union(*(set(_segs(t)) for t in kept)) if kept else set()
        for t in titles:
            if t["role"] != role or not _segs(t) or set(_segs(t)) <= kept_segs:
                continue
            inside = [k for k in kept if _segs(k) and set(_segs(k)) <= set(_segs(t))]
            if role == "play_all" and len(inside) >= 2 and \
                    _stray(sum(k["duration"] for k in inside), t["duration"]):
                continue
            t["role"] = "extra"
            t.pop("duplicate_of", None)


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
    if len(cuts) > 1 and kind != "show":
        cuts[0]["role"] = "main"
        for t in cuts[1:]:
            t["role"] = "extra"
            t["version_of"] = cuts[0]["title"]
    # Longest first: a play-all is longer than each of the titles it plays.
    # (the play-all, its members), longest play-all first
    play_alls: list[tuple[dict, list[dict]]] = []
    played: set[int] = set()
    for t in sorted(titles, key=lambda t: -t["duration"]):
        if t["role"] or t["title"] in played:
            continue
        others = [o for o in titles if o is not t and o["role"] is None
                  and o["duration"] < t["duration"]]
        members = _play_all_members(t, others) if len(others) >= 2 else None
        # A title made of shorter pieces that are each listed too (a seamlessly branched
        # episode and its scene clips of every length) is content of its own, not a
        # play-all: the titles a play-all plays are alike, or mostly episode-length (a
        # 62-minute special and a 41-minute episode).
        if members and (_alike(members) or _mostly_episode_length(members)):
            t["role"] = "play_all"
            play_alls.append((t, members))
            played.update(m["title"] for m in members)
    rest = [t for t in titles if t["role"] is None]
    if not rest:
        _keep_content(titles)
        return titles
    longest = max(rest, key=lambda t: (t["duration"], -t["title"]))
    episodes = None
    # A movie disc never has episodes; a show disc never gets a main feature from length.
    if play_alls and kind != "movie":
        episodes = _played_episodes(play_alls, longest)
    if episodes is None and kind != "movie" and not any(t["role"] == "main" for t in titles):
        found = _episode_cluster(rest, kind)
        episodes = sorted(found, key=lambda t: t["title"]) if found else None
    if not episodes and kind == "show":
        # A show disc whose titles form no pattern (one title holding a whole volume, two
        # unlike episodes): its long titles are what the disc is for.
        floor = max(min(EPISODE_FLOOR, longest["duration"]), MAIN_RATIO * longest["duration"])
        episodes = sorted((t for t in rest if t["duration"] >= floor), key=lambda t: t["title"])
    if episodes:
        for n, t in enumerate(episodes, 1):
            t["role"] = "episode"
            t["episode"] = n
    elif kind != "show" and not any(t["role"] == "main" for t in titles):
        longest["role"] = "main"
    for t in rest:
        if t["role"] is None:
            t["role"] = "extra"
    # A play-all of extras ("play all deleted scenes") is a reel people label and keep as
    # an extra of its own; only a play-all of episodes repeats what the library holds.
    for t, members in play_alls:
        if not any(m["role"] == "episode" for m in members):
            t["role"] = "extra"
    _keep_content(titles)
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
