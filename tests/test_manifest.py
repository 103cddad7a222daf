"""`digitizer manifest` and scan's disc.odm.json: Optical Disc Manifest v1, validated against
TheDiscDb's published schema (tests/data/odm, Apache-2.0) for every sample disc."""

import json
from pathlib import Path

import jsonschema
import pytest

from digitizer.formats import dvd

ODM = Path(__file__).parent / "data" / "odm"
SCHEMA = json.loads((ODM / "optical-disc-manifest.schema.json").read_text())


def _validate(doc):
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)


def test_content_hash_matches_the_published_example():
    example = json.loads((ODM / "dvd-basic.json").read_text())
    _validate(example)
    files = [(Path(f["path"]).name, f["sizeBytes"]) for f in example["disc"]["files"]]
    published = [i["value"] for i in example["disc"]["identifiers"]
                 if i["kind"] == "thediscdb-content-hash"]
    assert dvd.thediscdb_hash(files) == published[0] == "6EA135E733DB603765376D13F02A2D9D"


def test_the_schema_is_really_applied():
    example = json.loads((ODM / "dvd-basic.json").read_text())
    example["disc"]["identifiers"] = [i for i in example["disc"]["identifiers"]
                                      if i["kind"] != "thediscdb-content-hash"]
    with pytest.raises(jsonschema.ValidationError):
        _validate(example)


@pytest.mark.parametrize("which", ["movie_disc", "episode_disc", "pal_disc"])
def test_manifest_of_every_sample_disc_validates(run_cli, request, which):
    disc = request.getfixturevalue(which)
    r = run_cli("manifest", disc.iso)
    assert r.code == 0, r.stderr
    doc = json.loads(r.stdout)
    _validate(doc)
    got = doc["disc"]
    ids = json.loads(run_cli("fingerprint", disc.iso).stdout.splitlines()[0])["ids"]
    assert got["identifiers"] == [{"kind": "thediscdb-content-hash", "value": ids["thediscdb"]}]
    sizes = {f["path"]: f["sizeBytes"] for f in got["files"]}
    vobs = sorted((disc.folder / "VIDEO_TS").iterdir())
    assert sizes == {f"VIDEO_TS/{p.name}": p.stat().st_size for p in vobs}
    assert [t["source"]["title"] for t in got["titles"]] == \
        [t["title"] for t in disc.expected["titles"]]
    # a folder gives the same manifest as the image
    assert json.loads(run_cli("manifest", disc.folder).stdout) == doc
    # scan writes it beside the disc marker
    folder = Path(run_cli("scan", disc.iso).objects[0]["folder"])
    assert json.loads((folder / "disc.odm.json").read_text()) == doc


def test_manifest_of_something_that_is_no_disc(run_cli, tmp_path):
    r = run_cli("manifest", tmp_path / "missing.iso")
    assert r.code == 4 and r.stderr.startswith("digitizer: ")


def test_a_data_disc_has_no_manifest_and_scans_without_one(run_cli, tmp_path):
    import subprocess

    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "NOTES.TXT").write_text("notes\n")
    iso = tmp_path / "data.iso"
    subprocess.run(["genisoimage", "-quiet", "-V", "NOTES", "-o", str(iso),
                    str(tmp_path / "files")], check=True)
    r = run_cli("manifest", iso)
    assert r.code == 2 and "describes video discs only" in r.stderr
    folder = Path(run_cli("scan", iso).objects[0]["folder"])
    assert not (folder / "disc.odm.json").exists()
