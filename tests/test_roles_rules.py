"""Title roles on title lists written for each authoring practice issue 24 names (the
failure classes seen on discs nobody here had shown the rules), blind and with the kind
known. Each list is what a scan gives: title number, length, chapter times (or None),
segments (Blu-ray clips, DVD cells; None when the reader cannot say)."""

from digitizer import roles


def title(n, seconds, segments=None, chapters=None):
    return {"title": n, "duration": float(seconds), "chapters": chapters,
            "segments": segments, "size": int(seconds * 1_000_000)}


def by_number(titles):
    return {t["title"]: t["role"] for t in titles}


def episodes(titles):
    return [t["title"] for t in sorted(titles, key=lambda t: t.get("episode") or 0)
            if t["role"] == "episode"]


def test_bluray_play_all_that_also_plays_a_tiny_clip_is_dropped():
    # Nine episode playlists, one clip each; the play-all plays the nine clips and a 2 s
    # black clip (clip 50) that no title of its own plays.
    eps = [title(800 + i, 1300 + 7 * i, [[i, 0.0, 1300.0 + 7 * i]]) for i in range(1, 10)]
    play_all = title(810, sum(t["duration"] for t in eps) + 2,
                     [t["segments"][0] for t in eps] + [[50, 0.0, 2.0]])
    titles = roles.assign(eps + [play_all, title(900, 95, [[60, 0.0, 95.0]])], 10)
    assert by_number(titles)[810] == "play_all"
    assert episodes(titles) == [801, 802, 803, 804, 805, 806, 807, 808, 809]
    assert by_number(titles)[900] == "extra"


def test_play_all_with_a_shared_logo_clip_and_a_second_play_all():
    # The held-out case: three episodes whose playlists each start with the studio logo
    # (clip 9), a play-all of the three, and a second play-all that adds a recap bumper.
    logo = [9, 0.0, 4.0]
    eps = [title(1 + i, 2600 + 30 * i, [logo, [10 + i, 0.0, 2596.0 + 30 * i]]) for i in range(3)]
    first = title(20, 4 + sum(t["duration"] - 4 for t in eps),
                  [logo] + [t["segments"][1] for t in eps])
    second = title(21, first["duration"] + 6, [[30, 0.0, 6.0]] + first["segments"])
    titles = roles.assign(eps + [first, second, title(40, 600, [[40, 0.0, 600.0]])], 10)
    roles.mark_parts(titles)
    roles.mark_decoys(titles)
    assert by_number(titles) == {1: "episode", 2: "episode", 3: "episode", 20: "play_all",
                                 21: "play_all", 40: "extra"}
    assert episodes(titles) == [1, 2, 3]


def test_dvd_play_all_known_by_length_alone():
    # No segments, no chapter times (a record, a reader that cannot list cells): a long
    # unlabelled title whose length is the episodes' sum to the rounding second.
    eps = [title(2, 1318), title(3, 1321), title(4, 1302), title(5, 1340)]
    titles = roles.assign([title(1, 5282)] + eps + [title(6, 300), title(7, 45)], 10)
    assert by_number(titles)[1] == "play_all"
    assert episodes(titles) == [2, 3, 4, 5]
    # Two episodes and their play-all, also when an extra sits between them in title order.
    titles = roles.assign([title(1, 5630), title(2, 2810), title(3, 700), title(4, 2821)], 10)
    assert by_number(titles) == {1: "play_all", 2: "episode", 3: "extra", 4: "episode"}


def test_double_length_pilot_is_not_a_play_all_of_the_next_two():
    # A coincidence a loose sum would take: the pilot is 5 s longer than episodes 2 and 3.
    titles = roles.assign([title(1, 5186), title(2, 2554), title(3, 2627), title(6, 11)], 10)
    assert by_number(titles)[1] != "play_all"
    assert set(episodes(titles)) == {1, 2, 3}


def test_four_episodes_of_21_to_28_minutes_without_play_all():
    titles = roles.assign([title(1, 1265, [[1]]), title(2, 1450, [[2]]), title(3, 1560, [[3]]),
                           title(4, 1680, [[4]]), title(5, 320, [[5]]), title(6, 120, [[6]])], 10)
    assert episodes(titles) == [1, 2, 3, 4]
    assert not any(t["role"] == "main" for t in titles)


def test_a_pilot_a_fifth_longer_and_the_rest_of_a_season():
    titles = roles.assign([title(1, 3486), title(2, 2892), title(3, 2891), title(4, 2895),
                           title(5, 202), title(6, 91)], 10)
    assert episodes(titles) == [1, 2, 3, 4]


def test_two_hour_long_episodes_alone_are_a_tv_disc_two_film_cuts_are_not():
    titles = roles.assign([title(1, 3921), title(2, 3583), title(3, 620), title(4, 132)], 10)
    assert episodes(titles) == [1, 2]
    titles = roles.assign([title(1, 6600), title(2, 7400), title(3, 620)], 10)
    assert by_number(titles) == {1: "extra", 2: "main", 3: "extra"}


def test_extras_that_add_up_to_another_extra_are_all_kept():
    # A film and its extras; the 600 s featurette is as long as the two others together.
    titles = roles.assign([title(1, 6000), title(2, 600), title(3, 400), title(4, 200),
                           title(5, 130)], 10)
    assert by_number(titles) == {1: "main", 2: "extra", 3: "extra", 4: "extra", 5: "extra"}


def test_film_with_three_featurettes_of_like_length_is_a_movie_disc():
    titles = roles.assign([title(1, 5400), title(2, 1500), title(3, 1460), title(4, 1530)], 10)
    assert by_number(titles) == {1: "main", 2: "extra", 3: "extra", 4: "extra"}


def test_a_reel_of_listed_pieces_is_kept_and_nothing_it_plays_is_lost():
    # A seamlessly branched episode plays scene clips of every length, each listed too:
    # it is content of its own, not a play-all of its scenes.
    scenes = [title(100 + i, s, [[i]]) for i, s in enumerate([40, 400, 25, 310, 90, 12, 700], 1)]
    episode = title(1, sum(t["duration"] for t in scenes), [[i] for i in range(1, 8)])
    other = [title(2, 1580, [[20]]), title(3, 1570, [[21]])]
    titles = roles.assign([episode] + other + scenes, 10, "show")
    assert by_number(titles)[1] == "episode"
    assert set(episodes(titles)) == {1, 2, 3}


def test_dropping_never_loses_content():
    # A title that plays two others and a 10-minute clip no other title plays is kept.
    titles = roles.assign([title(1, 600 + 2 * 1300, [[1], [2], [3]]), title(2, 1300, [[1]]),
                           title(3, 1300, [[2]]), title(4, 1290, [[4]])], 10)
    assert by_number(titles)[1] != "play_all"
    kept = set().union(*({s[0] for s in t["segments"]} for t in titles
                         if t["role"] in roles.DEFAULT_ROLES))
    assert kept == {1, 2, 3, 4}


def test_the_kind_decides_what_length_cannot():
    # One title holding a whole volume of a series: a film blind, an episode on a show disc.
    volume = [title(1, 5871), title(2, 11), title(3, 468)]
    assert by_number(roles.assign(volume, 10))[1] == "main"
    assert by_number(roles.assign(volume, 10, "show")) == {1: "episode", 2: "extra", 3: "extra"}
    # Four films of like length on a movie disc (a collection) are never episodes.
    films = [title(i, 5400 + 60 * i) for i in range(1, 5)]
    assigned = roles.assign(films, 10, "movie")
    assert not episodes(assigned) and by_number(assigned)[4] == "main"
    assert episodes(roles.assign(films, 10)) == [1, 2, 3, 4]


def test_two_cuts_of_a_film_made_of_listed_clips_are_not_play_alls():
    # A pressed Blu-ray lists each clip of the film as a playlist; the theatrical cut plays
    # clips 1, 2, 4, the extended cut all four: cuts of one film, not two play-alls.
    clips = [title(i, s, [[i, 0.0, float(s)]]) for i, s in ((1, 480), (2, 480), (3, 240), (4, 480))]
    theatrical = title(10, 1440, [[1, 0.0, 480.0], [2, 0.0, 480.0], [4, 0.0, 480.0]])
    extended = title(11, 1680, [c["segments"][0] for c in clips])
    titles = roles.assign(clips + [theatrical, extended], 10)
    assert by_number(titles)[11] == "main"
    assert by_number(titles)[10] == "extra" and theatrical["version_of"] == 11
    roles.mark_parts(titles)
    assert [by_number(titles)[n] for n in (1, 2, 3, 4)] == ["duplicate"] * 4


def test_a_bumper_listed_as_a_title_of_its_own_is_no_episode():
    eps = [title(800 + i, 1300 + 7 * i, [[i, 0.0, 1300.0 + 7 * i]]) for i in range(1, 5)]
    bumper = title(805, 12, [[50, 0.0, 12.0]])
    play_all = title(810, sum(t["duration"] for t in eps) + 12,
                     [t["segments"][0] for t in eps[:2]] + bumper["segments"]
                     + [t["segments"][0] for t in eps[2:]])
    titles = roles.assign(eps + [bumper, play_all], 10)
    assert by_number(titles)[810] == "play_all"
    assert episodes(titles) == [801, 802, 803, 804]
    assert by_number(titles)[805] == "extra"
