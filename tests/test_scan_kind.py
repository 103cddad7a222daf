"""`scan --show/--movie` tells the title roles the disc's kind (issue 24), on real sample
DVDs: what length alone would call a film is an episode on a show disc, and a movie disc
never gets episodes."""


def roles_of(result):
    [disc] = result.objects
    return {t["title"]: t["role"] for t in disc["titles"]}


def test_scan_show_and_movie_decide_what_length_cannot(run_cli, movie_disc, episode_disc):
    blind = roles_of(run_cli("scan", "--no-probe", movie_disc.iso))
    assert list(blind.values()).count("main") == 1
    main = next(n for n, r in blind.items() if r == "main")
    shown = run_cli("scan", "--no-probe", "--show", "Some Show (2020)", movie_disc.iso)
    assert shown.code == 0, shown
    as_show = roles_of(shown)
    assert "main" not in as_show.values() and as_show[main] == "episode"
    # The episode disc's label (SHOW_S1_D1) says show; named a movie, it has no episodes.
    assert "episode" in roles_of(run_cli("scan", "--no-probe", episode_disc.iso)).values()
    as_movie = roles_of(run_cli("scan", "--no-probe", "--movie", "A Film (2001)",
                                episode_disc.iso))
    assert "episode" not in as_movie.values()
    assert list(as_movie.values()).count("main") == 1
    both = run_cli("scan", "--no-probe", "--movie", "A", "--show", "B", episode_disc.iso)
    assert both.code == 2 and "not both" in both.stderr
