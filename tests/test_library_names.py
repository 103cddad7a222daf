"""Names Plex and Jellyfin read back, and files they may rename (issue 16)."""

import grp
import pwd
import stat
from pathlib import Path

import pytest
from guessit import guessit

from digitizer.names import EXTRA_TYPES, Name, video_path

LIB = Path("/library")


@pytest.mark.parametrize("name, item, episode, extra, want", [
    (Name("movie", "Big Buck Bunny (2008)"), {"role": "main", "title": 1}, None, "other",
     {"title": "Big Buck Bunny", "year": 2008, "type": "movie"}),
    (Name("movie", "Alien (1979)", edition="Director's Cut"), {"role": "main", "title": 4},
     None, "other", {"title": "Alien", "year": 1979, "type": "movie",
                     "edition": "Director's Cut"}),
    (Name("movie", "Alien (1979)", edition="Extended Edition"),
     {"role": "main", "title": 4, "part": 1}, None, "other",
     # guessit reads "Extended Edition" as its edition Extended (and the word Edition as a
     # release group, its reading of any "- X Edition" ending): the edition is there
     {"title": "Alien", "year": 1979, "type": "movie", "edition": "Extended", "part": 1}),
    (Name("movie", "Alien (1979)", edition="Director's Cut"),
     {"role": "main", "title": 4, "part": 2}, None, "other",
     {"title": "Alien", "year": 1979, "type": "movie", "edition": "Director's Cut",
      "part": 2, "release_group": None}),
    # Extras are found by their folder; their names still carry the film's or show's.
    (Name("movie", "Film (2001)"), {"role": "extra", "title": 7, "label": "FILM"}, None,
     "featurette", {"title": "Film", "year": 2001}),
    (Name("show", "Test Show (2020)", 2), {"role": "extra", "title": 7, "label": "SHOW"},
     None, "interview", {"title": "Test Show", "year": 2020}),
    (Name("movie", "Dune (2021)"), {"role": "main", "title": 2, "part": 2}, None, "other",
     {"title": "Dune", "year": 2021, "type": "movie", "part": 2}),
    (Name("show", "Test Show (2020)", 0), {"role": "episode", "title": 2}, 1, "other",
     {"title": "Test Show", "year": 2020, "type": "episode", "season": 0, "episode": 1}),
    (Name("show", "Test Show (2020)", 3), {"role": "episode", "title": 5}, 12, "other",
     {"title": "Test Show", "year": 2020, "type": "episode", "season": 3, "episode": 12}),
])
def test_every_name_parses_back(name, item, episode, extra, want):
    path = video_path(LIB, name, item, episode=episode, extra_type=extra)
    got = guessit(str(path.relative_to(LIB)))
    assert {k: got.get(k) for k in want} == want, path


def test_season_zero_is_the_specials_season():
    path = video_path(LIB, Name("show", "Show (2020)", 0), {"role": "episode", "title": 1},
                      episode=1)
    assert path == LIB / "TV Shows/Show (2020)/Season 00/Show (2020) - s00e01.mkv"
    assert Name("show", "Show (2020)").season == 1  # no season given: the first


@pytest.mark.parametrize("kind, folder", sorted(EXTRA_TYPES.items()))
def test_every_extras_folder_of_plex_and_jellyfin(kind, folder):
    movie = video_path(LIB, Name("movie", "Film (2001)"), {"role": "extra", "title": 7,
                                                          "label": "FILM"}, episode=None,
                       extra_type=kind)
    assert movie.parent == LIB / "Movies" / "Film (2001)" / folder
    # TV extras sit at the show's level, where both servers look for them.
    show = video_path(LIB, Name("show", "Show (2020)", 2), {"role": "extra", "title": 7,
                                                           "label": "SHOW"}, episode=None,
                      extra_type=kind)
    assert show.parent == LIB / "TV Shows" / "Show (2020)" / folder
    assert set(EXTRA_TYPES.values()) == {"Behind The Scenes", "Deleted Scenes", "Featurettes",
                                         "Interviews", "Scenes", "Shorts", "Trailers", "Other"}


def test_an_edition_sits_beside_the_first_cut():
    first = video_path(LIB, Name("movie", "Alien (1979)"), {"role": "main", "title": 1},
                       episode=None)
    cut = video_path(LIB, Name("movie", "Alien (1979)", edition="Director's Cut"),
                     {"role": "main", "title": 4}, episode=None)
    assert cut.parent == first.parent
    assert cut.name == "Alien (1979) - Director's Cut {edition-Director's Cut}.mkv"


@pytest.mark.slow
def test_insert_season_zero_interviews_and_modes(run_cli, movie_disc, home):
    config = home / "config" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    nobody, nogroup = pwd.getpwnam("nobody"), grp.getgrgid(pwd.getpwnam("nobody").pw_gid)
    config.write_text(f'preset = "copy"\nfile_mode = "0664"\ndir_mode = "2775"\n'
                      f'owner = "nobody"\ngroup = "{nogroup.gr_name}"\n')
    ripped = run_cli("rip", movie_disc.iso, "--title", "1", "--title", "3")
    assert ripped.code == 0, ripped
    done = run_cli("transcode", "-", input=ripped.stdout)
    assert done.code == 0, done
    special, extra = done.objects
    r = run_cli("insert", special["path"], "--show", "Test Show (2020)", "--season", "0",
                "--episode", "1")
    assert r.code == 0, r
    lib = home / "data" / "library"
    episode = lib / "TV Shows/Test Show (2020)/Season 00/Test Show (2020) - s00e01.mkv"
    assert Path(r.objects[0]["path"]) == episode
    r = run_cli("insert", extra["path"], "--extra-type", "interview")
    assert r.code == 0, r
    interview = Path(r.objects[0]["path"])
    assert interview.parent == lib / "TV Shows/Test Show (2020)/Interviews"
    for path in (episode, interview):
        st = path.stat()
        assert stat.S_IMODE(st.st_mode) == 0o664 and st.st_uid == nobody.pw_uid
        assert st.st_gid == nogroup.gr_gid
        marker = path.with_name(f".{path.name}.digitizer.json")
        assert stat.S_IMODE(marker.stat().st_mode) == 0o664
    for folder in (episode.parent, episode.parent.parent, interview.parent):
        st = folder.stat()
        assert stat.S_IMODE(st.st_mode) == 0o2775 and st.st_gid == nogroup.gr_gid


def test_watch_and_review_name_a_whole_disc_as_an_edition(tmp_path, pal_disc):
    # --edition is a name option like --movie: watch, resume and review approve take it.
    from test_unattended import run

    home = tmp_path / "h"
    run(home, "watch", "--once", pal_disc.iso, "--movie", "Pal Disc (2001)", "--edition",
        "Extended Edition", DIGITIZER_PRESET="copy")
    movies = home / "data" / "library" / "Movies" / "Pal Disc (2001)"
    main = movies / "Pal Disc (2001) - Extended Edition {edition-Extended Edition}.mkv"
    assert main.is_file()
    refused = run(home, "review", "approve", pal_disc.iso, "--show", "X", "--edition", "Y", check=False)
    assert refused.returncode == 2 and "--edition goes with --movie" in refused.stderr
