"""Roles measured on the real labelled discs of tests/data/discdb (from TheDiscDb, MIT),
blind and with the disc's kind known. `make bench` prints the same table beside ARM's rule
and "rip the longest title".

The corpus: dev.jsonl (46 discs shared with the team) and added.jsonl (33 discs transcribed
from TheDiscDb/data for issue 24, mostly TV discs of the authoring practices it names). The
floors sit a little under what the rules measure today on all 79 discs (issue 24 asks for
80 % episodes blind, 2/3 exact sets, 95 % precision, 90 % duplicates, at most 2 % of
labelled content lost), so a change that costs a disc fails here. What the blind rules
cannot know: a volume whose one title holds four episodes looks like a film; which of two
identical playlists MakeMKV kept (and so TheDiscDb labels)."""

import discdb_corpus as corpus


def test_roles_hold_on_real_labelled_discs_blind():
    m = corpus.measure(corpus.rule_digitizer)
    r = corpus.ratios(m)
    assert m["movie_discs"] == 14 and m["series_discs"] == 63 and m["episodes"] == 367
    # One movie disc fails: its record labels the second of two titles that play the same
    # cells, and the rules keep the first.
    assert r["main feature right (movie discs)"] >= 0.92
    assert r["labelled episodes called episode"] >= 0.95
    assert r["exact episode set (series discs)"] >= 0.80
    # Over all discs precision is lower: one disc (Aaahh!!! Real Monsters) labels 4 of its
    # 19 titles of 5 minutes or more, and its unlabelled 22-minute titles are episodes.
    assert r["predicted episodes labelled episode"] >= 0.94
    assert r["... on fully labelled discs"] >= 0.97
    assert r["true duplicates marked duplicate"] >= 0.98
    assert r["labelled content lost (by duration)"] <= 0.015


def test_roles_hold_with_the_kind_known():
    r = corpus.ratios(corpus.measure(corpus.rule_digitizer, kind_known=True))
    assert r["main feature right (movie discs)"] >= 0.92
    assert r["labelled episodes called episode"] >= 0.97
    assert r["exact episode set (series discs)"] >= 0.87
    assert r["... on fully labelled discs"] >= 0.97
    assert r["labelled content lost (by duration)"] <= 0.015


def test_the_baselines_are_measured_by_the_same_code():
    # ARM and "longest title" give no episodes; the longest title loses most labelled content.
    arm = corpus.ratios(corpus.measure(corpus.rule_arm))
    longest = corpus.ratios(corpus.measure(corpus.rule_longest))
    assert arm["labelled episodes called episode"] == 0.0
    assert arm["predicted episodes labelled episode"] is None
    assert longest["labelled content lost (by duration)"] > 0.5
