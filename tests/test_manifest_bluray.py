"""`digitizer manifest` of a Blu-ray (issue 29): an Optical Disc Manifest v1 that TheDiscDb's
schema (tests/data/odm) accepts, its inventory the disc's files, its titles the playlists."""

import json
from pathlib import Path

from test_manifest import _validate


def _tree(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.stat().st_size for p in folder.rglob("*")
            if p.is_file()}


def test_manifest_of_a_bluray_validates_and_describes_its_playlists(run_cli, bluray_movie):
    r = run_cli("manifest", bluray_movie.image)
    assert r.code == 0, r.stderr
    doc = json.loads(r.stdout)
    _validate(doc)
    disc = doc["disc"]
    assert disc["format"] == "blu-ray"
    ids = run_cli("fingerprint", bluray_movie.image).objects[0]["ids"]
    assert {"kind": "thediscdb-content-hash", "value": ids["thediscdb"]} in disc["identifiers"]
    # the inventory is every file of the disc with its size
    assert {f["path"]: f["sizeBytes"] for f in disc["files"]} == _tree(bluray_movie.folder)
    scanned = run_cli("scan", bluray_movie.image).objects[0]["titles"]
    assert [t["source"]["path"] for t in disc["titles"]] == \
        [f"BDMV/PLAYLIST/{t['title']:05d}.mpls" for t in scanned]
    for got, title in zip(disc["titles"], scanned):
        assert got["durationSeconds"] == title["duration"]
        assert [c["startSeconds"] for c in got["chapters"]] == title["chapters"]
        assert [s["clip"] for s in got["segments"]] == [i["clip"] for i in title["items"]]
        assert abs(sum(s["durationSeconds"] for s in got["segments"]) - title["duration"]) < 0.01
        kinds = [s["type"] for s in got["streams"]]
        assert kinds == ["video"] + ["audio"] * len(title["audio"]) + \
            ["subtitle"] * len(title["subtitles"])
    # the languages as the disc declares them (ISO 639-2, here its bibliographic codes)
    main = max(disc["titles"], key=lambda t: t["durationSeconds"])
    assert [(s["codec"], s.get("language")) for s in main["streams"] if s["type"] != "video"] \
        == [("AC-3", "eng"), ("AC-3", "fre"), ("PGS", "eng"), ("PGS", "fre")]
    # the folder gives the same manifest as the image, and scan writes it beside the disc
    assert json.loads(run_cli("manifest", bluray_movie.folder).stdout) == doc
    folder = Path(run_cli("scan", bluray_movie.image).objects[0]["folder"])
    assert json.loads((folder / "disc.odm.json").read_text()) == doc


def test_a_decoy_discs_manifest_shows_each_playlists_clip_order(run_cli, bluray_decoys):
    doc = json.loads(run_cli("manifest", bluray_decoys.image).stdout)
    _validate(doc)
    orders = {t["source"]["path"]: [s["clip"] for s in t["segments"]]
              for t in doc["disc"]["titles"]}
    # the theatrical cut and its decoys play the same clips in other orders
    cuts = [orders[p] for p in ("BDMV/PLAYLIST/00006.mpls", "BDMV/PLAYLIST/00008.mpls",
                                "BDMV/PLAYLIST/00009.mpls")]
    assert len({tuple(c) for c in cuts}) == 3 and len({frozenset(c) for c in cuts}) == 1
