"""Knowing a disc online (issue 25): TheDiscDb by content hash, TMDb by name, offline as the
normal case. Every answer comes from a local server in the services' own shapes
(tests/online_services.py); the discs are the session's sample discs."""

import json
import time

import pytest

from digitizer import config, identity
from digitizer.services import client as service_client
from digitizer.services import discdb as online_discdb
from digitizer.steps.fingerprint import read_ids
from online_services import API_KEY, Services, discdb_node


@pytest.fixture
def services(home, monkeypatch):
    service_client.forget_down()
    served = Services()
    for key, value in served.env(DIGITIZER_PRESET="copy").items():
        monkeypatch.setenv(key, value)
    yield served
    served.close()
    service_client.forget_down()


def _episode_titles() -> list[dict]:
    """The sample episode disc as TheDiscDb lists it: title 1 the play-all (no item),
    titles 2-5 the four episodes of season 1 (one a double, "3-4"), 6 a stub."""
    titles = [{"index": 0, "sourceFile": "01", "duration": "0:01:20", "size": 1, "segmentMap":
               "1,2,3,4", "item": None}]
    for n, (name, episode) in enumerate([("Pilot", "1"), ("Second", "2"), ("Third", "3-4"),
                                         ("Fifth", "5")], 2):
        titles.append({"index": n - 1, "sourceFile": f"{n:02d}", "duration": "0:00:20",
                       "size": 1, "segmentMap": str(n - 1),
                       "item": {"title": name, "season": "1", "episode": episode,
                                "type": "Episode"}})
    return titles


# -- the answers, read -------------------------------------------------------------------
def test_both_schemas_of_a_release_are_read_title_by_title():
    for newer in (False, True):
        node = discdb_node("Sample Show", 2019, "Series", "ab12", _episode_titles(), newer=newer)
        entry = online_discdb.entry_of({"data": {"mediaItems": {"nodes": [node]}}}, "AB12")
        assert (entry["kind"], entry["title"], entry["year"]) == ("show", "Sample Show", 2019)
        assert [(t["source_file"], t["season"], t["episode"], t["duration"])
                for t in entry["titles"]] == [("02", 1, 1, 20.0), ("03", 1, 2, 20.0),
                                              ("04", 1, 3, 20.0), ("05", 1, 5, 20.0)]
        assert [t["episode_last"] for t in entry["titles"]] == [None, None, 4, None]
    assert online_discdb.entry_of({"data": {"mediaItems": {"nodes": []}}}, "AB12") is None
    assert online_discdb.seconds("1:02:03") == 3723.0
    assert online_discdb.seconds("soon") is None
    for garbage in ({"errors": [{"message": "x"}]}, [], {"data": {"mediaItems": None}}):
        with pytest.raises(ValueError):
            online_discdb.entry_of(garbage, "AB12")


def test_a_label_says_what_it_can():
    facts = identity.label_facts("FRIENDS_SEASON_3_DISC_2")
    assert (facts["name"], facts["season"], facts["disc"], facts["kind"]) == \
        ("Friends", 3, 2, "show")
    assert identity.label_facts("SHOW_S1D2")["disc"] == 2
    assert identity.label_facts("NARUTO_VOL_3")["kind"] == "show"
    assert identity.label_facts("ALIEN_1979")["year"] == 1979
    assert identity.label_facts("1917")["name"] == "1917"
    assert identity.label_facts("BLADE_RUNNER_2049")["name"] == "Blade Runner 2049"
    assert identity.label_facts("BIG_BUCK_BUNNY")["kind"] is None
    assert identity.same_title("The Lord of the Rings: The Two Towers",
                               "LORD OF THE RINGS THE TWO TOWERS")
    assert not identity.same_title("Alien", "Aliens")
    assert identity.runtime_agrees(7140, 7200) and not identity.runtime_agrees(6000, 7200)
    assert identity.runtime_agrees(30, 60) and not identity.runtime_agrees(200, 60)


# -- TheDiscDb online ---------------------------------------------------------------------
def test_a_tv_disc_is_named_and_numbered_by_its_discdb_answer_then_never_asks_again(
        services, run_cli, home, episode_disc):
    content_hash = read_ids(str(episode_disc.iso))["ids"]["thediscdb"]
    services.discdb[content_hash] = discdb_node("Sample Show", 2019, "Series", content_hash,
                                                _episode_titles(), newer=True)
    got = run_cli("watch", "--once", episode_disc.iso)
    assert got.code == 0, got
    asked = services.requests[0]
    assert asked["method"] == "POST" and asked["path"] == "/graphql"
    sent = json.loads(asked["body"])
    assert sent["variables"] == {"hash": content_hash}
    assert "mediaItems(where: {releases: {some: {discs: {some: {contentHash: {eq: $hash}}}}}})" \
        in sent["query"]
    assert asked["headers"]["User-Agent"].startswith("digitizer/")
    lib = home / "data" / "library" / "TV Shows" / "Sample Show (2019)"
    assert sorted(str(p.relative_to(lib)) for p in lib.rglob("*.mkv")) == [
        f"Season 01/Sample Show (2019) - s01e0{n}.mkv" for n in ("1", "2", "3-e04", "5")]
    assert run_cli("review").stdout.strip() == ""
    # TheDiscDb named it: TMDb is never asked, and the disc is known from now on.
    assert services.count("/3/") == 0 and services.count("/graphql") == 1
    again = run_cli("scan", episode_disc.iso)
    assert again.code == 0, again
    assert len(services.requests) == 1
    roles = {t["title"]: (t["role"], t.get("episode")) for t in again.objects[0]["titles"]}
    assert roles[2] == ("episode", 1) and roles[5] == ("episode", 5)


def test_a_discdb_api_key_is_sent_and_a_disc_it_does_not_know_is_asked_once(
        services, run_cli, monkeypatch, movie_disc):
    monkeypatch.setenv("DIGITIZER_DISCDB_API_KEY", "k-123")
    monkeypatch.setenv("DIGITIZER_TMDB_API_KEY", "")
    for _ in range(2):
        got = run_cli("scan", "--no-probe", movie_disc.iso)
        assert got.code == 0, got
    assert services.count("/graphql") == 1  # "not known" is kept too (for a week)
    assert services.requests[0]["headers"]["Authorization"] == "ApiKey k-123"


@pytest.mark.parametrize("mode", ["500", "garbage", "errors"])
def test_bad_answers_are_one_warning_and_the_old_path(services, home, mode, capsys):
    cfg = config.load()
    if mode == "errors":
        cfg.values["discdb_url"] = services.url + "/nothing"  # 404 with a JSON body
    else:
        services.mode = mode
    from digitizer.catalog import Catalog

    catalog = Catalog(cfg.path_of("catalog"))
    assert online_discdb.lookup(cfg, "AB12", catalog) is None
    assert online_discdb.lookup(cfg, "CD34", catalog) is None  # not asked again for a while
    catalog.close()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("digitizer: warning: TheDiscDb "), err
    assert services.count() == 1


# -- TMDb by name -------------------------------------------------------------------------
def test_a_film_is_named_from_tmdb_without_review(services, run_cli, home, movie_disc):
    services.tmdb_movies = [
        {"id": 10378, "title": "Digitizer Test", "release_date": "2008-05-30", "runtime": 2},
        {"id": 555, "title": "Digitizer Test II: The Return", "release_date": "2012-01-01",
         "runtime": 95}]
    got = run_cli("watch", "--once", movie_disc.iso)
    assert got.code == 0, got
    lib = home / "data" / "library" / "Movies" / "Digitizer Test (2008)"
    assert (lib / "Digitizer Test (2008).mkv").is_file()
    assert run_cli("review").stdout.strip() == ""
    paths = [r["path"] for r in services.requests]
    assert paths == ["/graphql", "/3/search/movie", "/3/search/tv", "/3/movie/10378"]
    search = services.requests[1]["query"]
    assert search["query"] == ["Digitizer Test"] and search["api_key"] == [API_KEY]
    again = run_cli("scan", "--no-probe", movie_disc.iso)
    assert again.code == 0 and len(services.requests) == 4


def test_two_exact_matches_wait_in_review_and_approve_takes_one_by_number(
        services, run_cli, home, movie_disc):
    services.tmdb_movies = [
        {"id": 1, "title": "Digitizer Test", "release_date": "1999-01-01", "runtime": 2},
        {"id": 2, "title": "Digitizer Test", "release_date": "2008-05-30", "runtime": 2}]
    got = run_cli("watch", "--once", movie_disc.iso)
    assert got.code == 0, got
    waiting = run_cli("review").objects
    assert [w["reason"] for w in waiting] == ["name"]
    assert [c["name"] for c in waiting[0]["candidates"]] == \
        ["Digitizer Test (1999)", "Digitizer Test (2008)"]
    fp = waiting[0]["fingerprint"]
    bad = run_cli("review", "approve", fp[:8], "--candidate", "3")
    assert bad.code == 2 and "candidate" in bad.stderr
    done = run_cli("review", "approve", fp[:8], "--candidate", "2")
    assert done.code == 0, done
    assert (home / "data" / "library" / "Movies" / "Digitizer Test (2008)" /
            "Digitizer Test (2008).mkv").is_file()


def test_a_runtime_that_disagrees_is_not_taken(services, run_cli, movie_disc):
    services.tmdb_movies = [{"id": 7, "title": "Digitizer Test", "release_date": "2008-05-30",
                             "runtime": 101}]
    got = run_cli("scan", "--no-probe", movie_disc.iso)
    assert got.code == 0, got
    named = got.objects[0]["identity"]
    assert named["source"] == "label" and "does not agree" in named["why"]


def test_a_bad_tmdb_key_is_one_warning(services, run_cli, monkeypatch, movie_disc):
    monkeypatch.setenv("DIGITIZER_TMDB_API_KEY", "wrong")
    got = run_cli("scan", "--no-probe", movie_disc.iso)
    assert got.code == 0, got
    lines = [l for l in got.stderr.splitlines() if "TMDb" in l]
    assert len(lines) == 1 and "HTTP 401" in lines[0] and "Invalid API key" in lines[0]


# -- offline ------------------------------------------------------------------------------
def test_services_that_hang_cost_one_timeout_each_and_the_disc_goes_to_review(
        services, run_cli, monkeypatch, movie_disc):
    services.mode = "hang"
    monkeypatch.setenv("DIGITIZER_ONLINE_TIMEOUT", "1")
    start = time.monotonic()
    got = run_cli("watch", "--once", movie_disc.iso)
    took = time.monotonic() - start
    assert got.code == 0, got
    assert took < 60
    warnings = [l for l in got.stderr.splitlines() if "warning" in l]
    assert len(warnings) == 2, got.stderr  # TheDiscDb and TMDb, once each
    assert all("did not answer" in l and "going on without it" in l for l in warnings)
    assert "Traceback" not in got.stderr
    assert [w["reason"] for w in run_cli("review").objects] == ["name"]
    assert services.count() == 2


def test_offline_asks_nothing(services, run_cli, movie_disc):
    got = run_cli("--offline", "scan", "--no-probe", movie_disc.iso)
    assert got.code == 0, got
    assert services.requests == [] and "warning" not in got.stderr


# -- box sets -----------------------------------------------------------------------------
def test_box_set_discs_are_numbered_from_their_place_or_wait_in_review(
        services, run_cli, home, monkeypatch, episode_disc, bluray_tv):
    """Disc 1 (label SHOW_S1_D1, four episodes) and a Blu-ray of the same season whose label
    gives no disc number: the second waits until a person places it; TMDb's season of five
    episodes disagrees with 'disc 2 = episodes 5-7', so --disc 2 is not enough, and the
    number a person gives is taken."""
    services.tmdb_shows = [{"id": 77, "name": "Test Show", "first_air_date": "2020-01-01"}]
    services.tmdb_seasons[(77, 1)] = [
        {"episode_number": n, "name": f"Episode {n}", "runtime": 1, "season_number": 1}
        for n in range(1, 6)]
    monkeypatch.setenv("DIGITIZER_MIN_TITLE_SECONDS", "3")  # the Blu-ray's episodes are 6-8 s
    show = ("--show", "Test Show (2020)")
    got = run_cli("watch", "--once", episode_disc.iso, *show)
    assert got.code == 0, got
    season = home / "data" / "library" / "TV Shows" / "Test Show (2020)" / "Season 01"
    assert sorted(p.name for p in season.glob("*.mkv")) == [
        f"Test Show (2020) - s01e0{n}.mkv" for n in (1, 2, 3, 4)]
    got = run_cli("watch", "--once", bluray_tv.image, *show)
    assert got.code == 0, got
    assert len(list(season.glob("*.mkv"))) == 4  # nothing numbered "highest + n"
    [waiting] = run_cli("review").objects
    assert waiting["reason"] == "episodes" and "give --disc N" in waiting["why"]
    fp = waiting["fingerprint"][:12]
    got = run_cli("review", "approve", fp, "--disc", "2")
    assert got.code == 0, got
    [waiting] = run_cli("review").objects
    assert waiting["reason"] == "episodes"
    assert "episodes 5-7, TMDb's season 1 has 5" in waiting["why"]
    assert waiting["suggestion"]["first_episode"] == 5
    got = run_cli("review", "approve", fp, "--first-episode", "5")
    assert got.code == 0, got
    assert sorted(p.name for p in season.glob("*.mkv"))[4:] == [
        f"Test Show (2020) - s01e0{n}.mkv" for n in (5, 6, 7)]
    assert run_cli("review").objects == []


def test_a_bluray_known_to_discdb_is_filed_by_playlist(services, run_cli, home, bluray_tv):
    """The older schema (a release's discs are Disc objects), playlists as source files; the
    record's episodes are shorter than min_title_seconds and still episodes, in its order."""
    content_hash = read_ids(str(bluray_tv.image))["ids"]["thediscdb"]
    titles = [{"index": i, "sourceFile": f"{n:05d}.mpls", "duration": f"0:00:0{s}",
               "size": 1, "segmentMap": str(n),
               "item": {"title": f"Episode {e}", "season": "2", "episode": str(e),
                        "type": "Episode"}}
              for i, (n, s, e) in enumerate(((1, 7, 3), (2, 6, 1), (3, 8, 2)))]
    titles.append({"index": 3, "sourceFile": "00004.mpls", "duration": "0:00:21", "size": 1,
                   "segmentMap": "1,2,3", "item": None})
    services.discdb[content_hash] = discdb_node("Blu Show", 2021, "Series", content_hash,
                                                titles, fmt="Blu-ray")
    got = run_cli("watch", "--once", bluray_tv.image)
    assert got.code == 0, got
    season = home / "data" / "library" / "TV Shows" / "Blu Show (2021)" / "Season 02"
    files = {p.name: json.loads(p.with_name(f".{p.name}.digitizer.json").read_text())["title"]
             for p in season.glob("*.mkv")}
    assert files == {"Blu Show (2021) - s02e01.mkv": 2, "Blu Show (2021) - s02e02.mkv": 3,
                     "Blu Show (2021) - s02e03.mkv": 1}
    assert run_cli("review").objects == [] and services.count("/3/") == 0


def test_a_show_named_by_tmdb_and_its_next_disc_placed_with_watch_disc(
        services, run_cli, home, monkeypatch, episode_disc, bluray_tv):
    """SHOW_S1_D1 is named from TMDb (one show called "Show" whose season 1 runtimes agree
    with the episodes), as disc 1; a Blu-ray given --disc 2 follows its four episodes."""
    monkeypatch.setenv("DIGITIZER_MIN_TITLE_SECONDS", "3")  # the Blu-ray's episodes are 6-8 s
    services.tmdb_shows = [{"id": 9, "name": "Show", "first_air_date": "2020-09-01"},
                           {"id": 10, "name": "The Show Must Go On", "first_air_date": "1999"}]
    services.tmdb_seasons[(9, 1)] = [
        {"episode_number": n, "name": f"Episode {n}", "runtime": 1, "season_number": 1}
        for n in range(1, 9)]
    got = run_cli("watch", "--once", episode_disc.iso)
    assert got.code == 0, got
    season = home / "data" / "library" / "TV Shows" / "Show (2020)" / "Season 01"
    assert sorted(p.name for p in season.glob("*.mkv")) == [
        f"Show (2020) - s01e0{n}.mkv" for n in (1, 2, 3, 4)]
    # The label numbers a set: a show, so only search/tv is asked.
    assert services.count("/3/search/movie") == 0 and services.count("/3/search/tv") == 1
    got = run_cli("watch", "--once", bluray_tv.image, "--show", "Show (2020)", "--disc", "2")
    assert got.code == 0, got
    assert sorted(p.name for p in season.glob("*.mkv"))[4:] == [
        f"Show (2020) - s01e0{n}.mkv" for n in (5, 6, 7)]
    assert run_cli("review").objects == []
