"""Roles measured on 29 real labelled discs (tests/data/discdb, from TheDiscDb, MIT): the
thresholds of issue 12. `make bench` prints the same table beside ARM's rule and "rip the
longest title"."""

import discdb_corpus as corpus


def test_roles_hold_on_real_labelled_discs():
    m = corpus.measure(corpus.rule_digitizer)
    r = corpus.ratios(m)
    assert m["movie_discs"] == 8 and m["series_discs"] == 20 and m["episodes"] == 141
    assert r["main feature right (movie discs)"] >= 0.98
    assert r["labelled episodes called episode"] >= 0.90
    assert r["exact episode set (series discs)"] >= 0.85
    # Over all discs this is 93.9 %: one disc (Aaahh!!! Real Monsters) labels 4 of its 19
    # titles of 5 minutes or more, and its unlabelled 22-minute titles are called episodes.
    assert r["predicted episodes labelled episode"] >= 0.90
    assert r["... on fully labelled discs"] >= 0.95
    assert r["true duplicates marked duplicate"] >= 0.95
    assert r["labelled content lost (by duration)"] <= 0.01


def test_the_baselines_are_measured_by_the_same_code():
    # ARM and "longest title" give no episodes; the longest title loses most labelled content.
    arm = corpus.ratios(corpus.measure(corpus.rule_arm))
    longest = corpus.ratios(corpus.measure(corpus.rule_longest))
    assert arm["labelled episodes called episode"] == 0.0
    assert arm["predicted episodes labelled episode"] is None
    assert longest["labelled content lost (by duration)"] > 0.5
