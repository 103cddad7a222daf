"""TheDiscDb offline: `discdb import` of real records, and a disc whose content hash is in
the index named, labelled and inserted from its record, with no review."""

import json
import os
import subprocess
import sys
from pathlib import Path

from digitizer import discdb, markers
from digitizer.steps.fingerprint import read_ids

DATA = Path(__file__).parent / "data" / "thediscdb"
EXE = str(Path(sys.executable).parent / "digitizer")


def test_real_records_are_read_title_by_title():
    entries = {e["title"]: e for e in discdb.read_repository(DATA)}
    firefly = entries["Firefly"]
    assert firefly["content_hash"] == "5A961BC67EB34171F24852D3A7688020"
    assert (firefly["kind"], firefly["year"], firefly["disc"]) == ("show", 2002, "disc01")
    episodes = [(t["source_file"], t["season"], t["episode"], t["name"])
                for t in firefly["titles"] if t["type"] == "Episode"]
    assert episodes[0] == ("01", 1, 1, "Serenity")
    assert [e[2] for e in episodes] == [1, 2, 3]
    office = entries["Office Space"]
    assert office["kind"] == "movie" and discdb.name_of(office).name == "Office Space (1999)"
    assert {t["type"] for t in office["titles"]} >= {"MainMovie", "Trailer"}


def test_import_into_the_catalog_and_bad_folders(run_cli, tmp_path):
    r = run_cli("discdb", "import", DATA)
    assert r.code == 0, r.stderr
    assert r.objects[0]["discs"] == 2 and r.objects[0]["indexed"] == 2
    assert run_cli("discdb", "import", DATA).objects[0]["indexed"] == 2  # again: replaced
    r = run_cli("discdb", "import", tmp_path)
    assert r.code == 2 and r.stderr.startswith("digitizer: ") and "TheDiscDb/data" in r.stderr
    broken = tmp_path / "data" / "movie" / "X (2000)" / "dvd"
    broken.mkdir(parents=True)
    (broken / "disc01.json").write_text("{not json")
    r = run_cli("discdb", "import", tmp_path)
    assert r.code == 2 and "disc01.json: not a TheDiscDb JSON file" in r.stderr


def _record(repo: Path, content_hash: str) -> None:
    """A TheDiscDb record for the sample episode disc, as the repository lays it out: the
    episodes are not in disc order, title 5 is a trailer, the play-all is not labelled."""
    show = repo / "data" / "series" / "Sample Show (2019)"
    release = show / "2020-dvd"
    release.mkdir(parents=True)
    (show / "metadata.json").write_text(json.dumps(
        {"Title": "Sample Show", "Type": "Series", "Year": 2019}))
    (release / "release.json").write_text(json.dumps({"Slug": "2020-dvd", "Year": 2020}))
    titles = [{"Index": 0, "SourceFile": "01", "SegmentMap": "1-4"}]
    for n, (source, item) in enumerate([
            ("02", {"Title": "Third", "Type": "Episode", "Season": "2", "Episode": "7"}),
            ("03", {"Title": "First", "Type": "Episode", "Season": "2", "Episode": "5"}),
            ("04", {"Title": "Second", "Type": "Episode", "Season": "2", "Episode": "6"}),
            ("05", {"Title": "Coming Soon", "Type": "Trailer"})], 1):
        titles.append({"Index": n, "SourceFile": source, "SegmentMap": "1", "Item": item})
    (release / "disc01.json").write_text(json.dumps(
        {"Index": 1, "Format": "DVD", "ContentHash": content_hash, "Titles": titles}))


def test_known_disc_is_inserted_with_the_records_names_and_no_review(tmp_path, episode_disc):
    content_hash = read_ids(str(episode_disc.iso))["ids"]["thediscdb"]
    repo = tmp_path / "thediscdb-data"
    _record(repo, content_hash)
    home = tmp_path / "h"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGITIZER_")}
    env.update(DIGITIZER_HOME=str(home), DIGITIZER_PRESET="copy")

    def run(*args):
        done = subprocess.run([EXE, *map(str, args)], env=env, capture_output=True, text=True,
                              timeout=600)
        assert done.returncode == 0, done.stderr
        return done

    run("discdb", "import", repo)
    scanned = json.loads(run("scan", episode_disc.iso).stdout.splitlines()[0])
    roles = {t["title"]: (t["role"], t.get("episode")) for t in scanned["titles"]}
    assert roles == {1: ("play_all", None), 2: ("episode", 7), 3: ("episode", 5),
                     4: ("episode", 6), 5: ("extra", None), 6: ("short", None)}
    run("watch", "--once", episode_disc.iso)
    lib = home / "data" / "library" / "TV Shows" / "Sample Show (2019)"
    files = sorted(str(p.relative_to(lib)) for p in lib.rglob("*.mkv"))
    assert files == ["Season 02/Sample Show (2019) - s02e05.mkv",
                     "Season 02/Sample Show (2019) - s02e06.mkv",
                     "Season 02/Sample Show (2019) - s02e07.mkv",
                     "Trailers/SHOW_S1_D1 - title 05.mkv"]
    # s02e07 is disc title 2: the record's number, not the disc order
    marker = markers.read(markers.sidecar(lib / "Season 02" / "Sample Show (2019) - s02e07.mkv"))
    assert marker["title"] == 2 and marker["identity"]["source"] == "thediscdb"
    assert run("review").stdout.strip() == ""
    status = json.loads(run("status", "--json").stdout)
    assert status["review"] == [] and status["failed"] == []


def test_a_record_that_labels_the_other_copy_keeps_that_one():
    # Two playlists play one episode's clip; the rules keep the lower number, the record
    # (made from MakeMKV, which kept the other) labels the higher: that one is ripped.
    from digitizer import discdb, roles

    titles = [{"title": n, "duration": d, "chapters": None, "segments": s, "size": 0,
               "source_file": f"{n:05d}.mpls"}
              for n, d, s in [(17, 1455.0, [[5, 0.0, 1455.0]]), (18, 1502.0, [[6, 0.0, 1502.0]]),
                              (19, 1473.0, [[7, 0.0, 1473.0]]), (28, 1455.0, [[5, 0.0, 1455.0]])]]
    roles.assign(titles, 10)
    assert [t["role"] for t in titles] == ["episode", "episode", "episode", "duplicate"]
    entry = {"titles": [{"source_file": "00028.mpls", "type": "Episode", "name": "Part 1",
                         "season": 1, "episode": 1}]}
    discdb.apply(entry, titles)
    roles_by = {t["title"]: (t["role"], t.get("duplicate_of"), t.get("episode")) for t in titles}
    assert roles_by[28] == ("episode", None, 1)
    assert roles_by[17] == ("duplicate", 28, None)
    # Episodes the record leaves unlabelled would collide with its numbers: they are kept,
    # as extras (they play content of their own).
    assert roles_by[18][0] == roles_by[19][0] == "extra"
