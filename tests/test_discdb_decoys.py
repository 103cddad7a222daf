"""Decoys settled by a TheDiscDb record (issue 29): the README says a Blu-ray whose film hides
among decoys waits in review "until TheDiscDb's record or you say which it is". Here the
record says, for the sample decoy disc, and no person is asked."""

import json
import os
import subprocess
from pathlib import Path

from digitizer.steps.fingerprint import read_ids
from test_discdb import EXE

FILM = "Movies/Decoy Film (2020)"


def _record(repo: Path, content_hash: str) -> None:
    """The record as TheDiscDb's repository lays it out: the extended cut (00007) is the
    film; the theatrical cut is labelled on 00008, one of the three playlists that play its
    clips in different orders (00006, 00008, 00009), not the first of them."""
    movie = repo / "data" / "movie" / "Decoy Film (2020)"
    release = movie / "2021-blu-ray"
    release.mkdir(parents=True)
    (movie / "metadata.json").write_text(json.dumps(
        {"Title": "Decoy Film", "Type": "Movie", "Year": 2020}))
    (release / "release.json").write_text(json.dumps({"Slug": "2021-blu-ray", "Year": 2021}))
    titles = [{"Index": 0, "SourceFile": "00007.mpls",
               "Item": {"Title": "Decoy Film", "Type": "MainMovie"}},
              {"Index": 1, "SourceFile": "00008.mpls",
               "Item": {"Title": "Theatrical Cut", "Type": "Extra"}},
              {"Index": 2, "SourceFile": "00005.mpls",
               "Item": {"Title": "Trailer", "Type": "Trailer"}}]
    (release / "disc01.json").write_text(json.dumps(
        {"Index": 1, "Format": "Blu-ray", "ContentHash": content_hash, "Titles": titles}))


def test_a_records_label_settles_the_decoys_and_no_person_is_asked(tmp_path, bluray_decoys):
    repo = tmp_path / "thediscdb-data"
    _record(repo, read_ids(str(bluray_decoys.image))["ids"]["thediscdb"])
    home = tmp_path / "h"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGITIZER_")}
    env.update(DIGITIZER_HOME=str(home), DIGITIZER_PRESET="copy",
               DIGITIZER_MIN_TITLE_SECONDS="3")  # the sample's titles are seconds long

    def run(*args):
        done = subprocess.run([EXE, *map(str, args)], env=env, capture_output=True, text=True,
                              timeout=600)
        assert done.returncode == 0, done.stderr
        return done

    run("discdb", "import", repo)
    scanned = json.loads(run("scan", bluray_decoys.image).stdout.splitlines()[0])
    roles = {t["title"]: t for t in scanned["titles"]}
    assert roles[7]["role"] == "main" and roles[8]["role"] == "extra"
    # the labelled decoy's rivals are its duplicates: never ripped, nothing to pick
    for rival in (6, 9):
        assert (roles[rival]["role"], roles[rival]["duplicate_of"]) == ("duplicate", 8)
    assert not [t for t in scanned["titles"] if t["role"] == "decoy"]
    done = run("watch", "--once", bluray_decoys.image)
    assert "--pick" not in done.stdout + done.stderr
    lib = home / "data" / "library"
    files = sorted(str(p.relative_to(lib)) for p in lib.rglob("*.mkv"))
    assert f"{FILM}/Decoy Film (2020).mkv" in files
    assert f"{FILM}/Other/DECOY_BD - title 08.mkv" in files
    assert f"{FILM}/Trailers/DECOY_BD - title 05.mkv" in files
    assert not [f for f in files if "title 06" in f or "title 09" in f]
    assert run("review").stdout.strip() == ""
