"""Read offsets and one-read rips, on CUE/BIN images read by the real cd-paranoia as an
uncorrected drive would have read the disc (its audio shifted by a known offset), against
a local AccurateRip server serving dBAR files of the true audio and a drive offset list in
AccurateRip's own shapes."""

import json
import random
import zlib
from pathlib import Path

import pytest

from digitizer import config as cfgmod
from digitizer import drives
from digitizer.formats import cd, cdoffset, cdread
from digitizer.services import accuraterip
from test_cd import Served, decoded, logging_reader

SECTORS = [400, 300, 450, 300, 350]  # five tracks, 5.3 s .. 6 s of noise
STARTS = [sum(SECTORS[:i]) for i in range(len(SECTORS) + 1)]


def write_image(folder: Path, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "disc.bin").write_bytes(data)
    lines = ['PERFORMER "Offset Artist"', 'TITLE "Shifted"', 'FILE "disc.bin" BINARY']
    for n, start in enumerate(STARTS[:-1], 1):
        s = start
        lines += [f"  TRACK {n:02d} AUDIO",
                  "    INDEX 01 %02d:%02d:%02d" % (s // 75 // 60, s // 75 % 60, s % 75)]
    (folder / "disc.cue").write_text("\n".join(lines) + "\n")
    return folder / "disc.cue"


def as_read(true: bytes, offset: int) -> bytes:
    """The disc's audio as a drive whose correction is `offset` returns it uncorrected:
    sample j of the read is sample j - offset of the disc (silence off the disc)."""
    pad = bytes(4 * abs(offset))
    return (pad + true[:len(true) - len(pad)]) if offset >= 0 else (true[len(pad):] + pad)


@pytest.fixture(scope="module")
def true_audio():
    return random.Random(27).randbytes(STARTS[-1] * 2352)


def track_sums(true: bytes) -> list[dict]:
    n = len(SECTORS)
    return [cd.checksums(true[a * 2352:b * 2352], i == 0, i == n - 1)
            for i, (a, b) in enumerate(zip(STARTS, STARTS[1:]))]


def dbar_of(cue: Path, true: bytes, version=2, confidence=5) -> tuple[str, bytes]:
    """The dBAR path and file AccurateRip would serve for the disc: the true audio's
    checksums (v1 or v2), plus a second pressing that matches nothing."""
    ids = cd.disc_ids(cd.open_source(str(cue)))
    _, id1, id2, fd = ids["accuraterip"].split("-")
    head = {"id1": int(id1, 16), "id2": int(id2, 16), "freedb": int(fd, 16)}
    key = f"accuraterip_v{version}"
    chunks = [dict(head, entries=[{"confidence": confidence, "crc": int(s[key], 16)}
                                  for s in track_sums(true)]),
              dict(head, entries=[{"confidence": 1, "crc": 0x1234 + i} for i in range(5)])]
    return ids["dbar"], accuraterip.build(chunks)


DRIVE_LIST = [{"drive": "PIONEER  - BD-RW   BDR-XD07U", "read_offset": 667, "submissions": 900},
              {"drive": "HL-DT-ST - DVDRAM GH24NSD1", "read_offset": 6, "submissions": 4000},
              {"drive": "TSSTcorp - CDDVDW SH-224DB", "read_offset": 6, "submissions": 2500},
              {"drive": "- CD-ROM X", "read_offset": 48, "submissions": 10}]


def server_for(cue: Path, true: bytes, **kw) -> Served:
    path, body = dbar_of(cue, true, **kw)
    return Served({f"/ar/{path}": (200, body),
                   "/ar/DriveOffsets.bin": (200, accuraterip.build_drive_offsets(DRIVE_LIST))})


@pytest.fixture(autouse=True)
def services_answer_again():
    """A service that did not answer is not asked again by the same process for a while:
    each test is a new run."""
    from digitizer.services import client

    client.forget_down()
    yield
    client.forget_down()


@pytest.fixture
def offline_names(monkeypatch):
    monkeypatch.setenv("DIGITIZER_MUSICBRAINZ_URL", "")


# -- the maths -----------------------------------------------------------------------------

def test_the_v1_sweep_equals_the_checksums_at_each_offset(true_audio):
    n = SECTORS[1] * 588
    reach = 3000
    window = true_audio[STARTS[1] * 2352 - reach * 4:STARTS[2] * 2352 + reach * 4]
    for first, last in ((False, False), (True, False), (False, True)):
        sweep = cdoffset.v1_sweep(window, n, first, last, reach)
        for o in (-reach, -1164, -1, 0, 1, 6, 667, reach):
            want = cd.checksums(window[(reach + o) * 4:(reach + o + n) * 4], first, last)
            assert "%08X" % sweep[o + reach] == want["accuraterip_v1"], (o, first, last)


def test_the_drive_offset_list_in_accuraterips_shape():
    data = accuraterip.build_drive_offsets(DRIVE_LIST)
    assert len(data) == 69 * len(DRIVE_LIST)
    # The first record as the file holds it: int16 offset, then the name, NUL-padded.
    assert data[:2] == (667).to_bytes(2, "little", signed=True)
    assert data[2:30] == b"PIONEER  - BD-RW   BDR-XD07U"
    rows = accuraterip.parse_drive_offsets(data)
    assert rows[0] == {"drive": "PIONEER BD-RW BDR-XD07U", "read_offset": 667,
                       "submissions": 900}
    assert rows[3]["drive"] == "CD-ROM X"
    with pytest.raises(Exception, match="not an AccurateRip drive offset list"):
        accuraterip.parse_drive_offsets(data[:-1])


def test_a_drive_is_named_as_sysfs_reports_it(tmp_path):
    device = tmp_path / "sys" / "sr0" / "device"
    device.mkdir(parents=True)
    (device / "vendor").write_text("PIONEER \n")
    (device / "model").write_text("BD-RW   BDR-XD07U\n")
    name = drives.drive_name("/dev/sr0", tmp_path / "sys")
    assert name == "PIONEER BD-RW BDR-XD07U"
    assert drives.normal_name("PIONEER  - BD-RW   BDR-XD07U") == drives.normal_name(name)
    assert drives.drive_name(str(tmp_path / "nothing"), tmp_path / "sys") is None


def test_a_kernel_toc_entry_is_read_in_lba_form():
    # struct cdrom_tocentry: track, adr|ctrl<<4, format, (pad), int lba, datamode (+pad)
    raw = bytes([11, 0x1 | 0x4 << 4, 1, 0]) + (281585).to_bytes(4, "little") + bytes(4)
    assert cdread.toc_entry(raw) == (11, 0x4, 281585)


def test_the_saved_offset_goes_into_the_drives_table_and_keeps_the_rest(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('# mine\npreset = "hevc"\n\n[drives."PIONEER BD-RW BDR-XD07U"]\n'
                    'read_offset = 6\n# keep me\n\n[sources."X"]\nmovie = "X (2000)"\n')
    cfgmod.save_drive_offset(path, "PIONEER  BD-RW   BDR-XD07U", 667)
    cfgmod.save_drive_offset(path, "HL-DT-ST DVDRAM GH24NSD1", -24)
    cfg = cfgmod.load(path)
    assert cfg.drive_offset("pioneer bd-rw bdr-xd07u") == 667
    assert cfg.drive_offset("HL-DT-ST DVDRAM GH24NSD1") == -24
    assert cfg.drive_offset("OTHER DRIVE") is None
    text = path.read_text()
    assert "# mine" in text and "# keep me" in text and text.count("read_offset") == 2
    assert cfg.sources["X"]["movie"] == "X (2000)" and cfg.preset == "hevc"
    path.write_text('[drives."A B"]\nread_offset = "six"\n')
    with pytest.raises(Exception, match=r"needs read_offset = N"):
        cfgmod.load(path)


# -- offset find -------------------------------------------------------------------------

@pytest.mark.parametrize("offset,version", [(667, 2), (-1164, 1)])
def test_offset_find_names_the_correction(tmp_path, run_cli, home, true_audio, offset,
                                          version, monkeypatch):
    """+667 is in the drive list (tried first, v2 computed there); -1164 is in no list and
    is found by the v1 sweep over every offset."""
    cue = write_image(tmp_path / "img", as_read(true_audio, offset))
    server = server_for(cue, true_audio, version=version)
    try:
        monkeypatch.setenv("DIGITIZER_ACCURATERIP_URL", server.url + "/ar")
        got = run_cli("offset", "find", cue)
    finally:
        server.close()
    assert got.code == 0, got
    found = got.objects[0]
    assert found["read_offset"] == offset
    assert found["tracks"] == [1, 2, 3] and found["confidence"] == 5
    assert found["drive"] is None and found["saved"] is None
    assert "/ar/DriveOffsets.bin" in server.paths  # the list ordered the candidates


def test_offset_find_on_a_disc_accuraterip_does_not_know(tmp_path, run_cli, home, true_audio,
                                                         monkeypatch):
    cue = write_image(tmp_path / "img", as_read(true_audio, 667))
    server = Served({})
    try:
        monkeypatch.setenv("DIGITIZER_ACCURATERIP_URL", server.url + "/ar")
        got = run_cli("offset", "find", cue)
    finally:
        server.close()
    assert got.code == 1
    ar = cd.disc_ids(cd.open_source(str(cue)))["accuraterip"]
    assert f"this disc is not in AccurateRip (AccurateRip id {ar})" in got.stderr
    # The "not there" is kept in the catalog a while; with another catalog and no server:
    monkeypatch.setenv("DIGITIZER_CATALOG", str(tmp_path / "other.db"))
    monkeypatch.setenv("DIGITIZER_ACCURATERIP_URL", "http://127.0.0.1:9/ar")
    got = run_cli("offset", "find", cue, "--save")
    assert got.code == 1
    assert "AccurateRip did not answer" in got.stderr
    assert "finding the offset needs AccurateRip" in got.stderr


# -- ripping with the correction -----------------------------------------------------------

def test_a_shifted_image_rips_accurate_and_bit_exact_once_a_track(tmp_path, run_cli, home,
                                                                  true_audio, monkeypatch,
                                                                  offline_names):
    """Done when: an image read by a drive whose +667 was not corrected, ripped with
    --read-offset 667 against a server that knows the true disc: every track accurate,
    bit-exact but for the 667 samples in the lead-out, and one read a track."""
    cue = write_image(tmp_path / "img", as_read(true_audio, 667))
    monkeypatch.setenv("DIGITIZER_CD_PARANOIA", str(logging_reader(tmp_path)))
    server = server_for(cue, true_audio)
    try:
        monkeypatch.setenv("DIGITIZER_ACCURATERIP_URL", server.url + "/ar")
        got = run_cli("watch", "--once", "--read-offset", "667", cue)
    finally:
        server.close()
    assert got.code == 0, got
    # One read a track: each the sectors around it that the correction needs.
    reads = (tmp_path / "reads.log").read_text().split()
    assert reads == ["1[.1]-2[.1]", "2[.1]-3[.1]", "3[.1]-4[.1]", "4[.1]-5[.1]", "5[.1]-5[.349]"]
    staging = next((home / "data" / "staging").iterdir())
    found = sorted(home.glob("data/library/Music/**/*.flac"))
    assert len(found) == 5, got
    for n, f in enumerate(found):
        audio = decoded(f)
        want = true_audio[STARTS[n] * 2352:STARTS[n + 1] * 2352]
        if n == 4:  # the drive cannot read past the lead-out: silence there
            want = want[:-667 * 4] + bytes(667 * 4)
        assert audio == want, f.name
        marker = json.loads((f.parent / f".{f.name}.digitizer.json").read_text())
        assert marker["accuraterip"] == {"status": "accurate", "confidence": 5, "version": 2}
        assert (marker["verified_by"], marker["read_count"]) == ("accuraterip", 1)
        assert (marker["read_offset"], marker["read_offset_source"]) == (667, "option")
    rows = [r for r in got.objects if r.get("verified")]
    assert rows and all(r["verified"] == "accurate (confidence 5, v2), read once" for r in rows)
    log = next(found[0].parent.glob("*.log")).read_text()
    assert "Read offset correction: +667 samples (given)" in log
    assert "5 read once and confirmed by AccurateRip, 0 by test and copy" in log
    assert staging.is_dir()


def test_uncorrected_the_same_image_mismatches_and_is_read_twice(tmp_path, run_cli, home,
                                                                 true_audio, monkeypatch,
                                                                 offline_names):
    """Without the correction every track is a mismatch (the point of the offset), and a
    track AccurateRip does not confirm is read twice (test & copy)."""
    cue = write_image(tmp_path / "img", as_read(true_audio, 667))
    monkeypatch.setenv("DIGITIZER_CD_PARANOIA", str(logging_reader(tmp_path)))
    server = server_for(cue, true_audio)
    try:
        monkeypatch.setenv("DIGITIZER_ACCURATERIP_URL", server.url + "/ar")
        got = run_cli("watch", "--once", cue)
    finally:
        server.close()
    assert got.code == 0, got
    assert (tmp_path / "reads.log").read_text().split() == \
        ["1", "1", "2", "2", "3", "3", "4", "4", "5", "5"]
    for f in sorted(home.glob("data/library/Music/**/*.flac")):
        marker = json.loads((f.parent / f".{f.name}.digitizer.json").read_text())
        assert marker["accuraterip"] == {"status": "mismatch"}
        assert (marker["verified_by"], marker["read_count"]) == ("test and copy", 2)
        assert (marker["read_offset"], marker["read_offset_source"]) == (0, "image")
        assert marker["test_crc32"] == marker["copy_crc32"]


def test_a_negative_offset_reads_silence_before_the_first_sector(tmp_path, run_cli, home,
                                                                 true_audio, monkeypatch,
                                                                 offline_names):
    cue = write_image(tmp_path / "img", as_read(true_audio, -1164))
    server = server_for(cue, true_audio, version=1)
    try:
        monkeypatch.setenv("DIGITIZER_ACCURATERIP_URL", server.url + "/ar")
        got = run_cli("rip", "--read-offset", "-1164", "--all", cue)
    finally:
        server.close()
    assert got.code == 0, got
    rows = got.objects
    assert len(rows) == 5
    first = Path(rows[0]["path"])
    raw = true_audio[:STARTS[1] * 2352]
    # the flac in staging: decoded, the first 1164 samples are the lead-in's silence
    assert decoded(first) == bytes(1164 * 4) + raw[1164 * 4:]
    for row in rows:
        marker = json.loads((Path(row["path"]).parent / f".{Path(row['path']).name}"
                             ".digitizer.json").read_text())
        assert marker["accuraterip"]["status"] == "accurate"
        assert marker["read_count"] == 1
    middle = json.loads((first.parent / ".title_03.flac.digitizer.json").read_text())
    assert middle["copy_crc32"] == "%08X" % zlib.crc32(
        true_audio[STARTS[2] * 2352:STARTS[3] * 2352])
    # Asked again with no server: nothing failed, and it says why it could not verify.
    monkeypatch.setenv("DIGITIZER_CATALOG", str(tmp_path / "other.db"))
    monkeypatch.setenv("DIGITIZER_ACCURATERIP_URL", "")
    got = run_cli("verify", first)
    assert got.code == 0, got
    assert got.objects[0]["verdict"] == "not verified: no accuraterip_url configured"
    assert "title_01.flac: not verified: no accuraterip_url configured" in got.stderr


def test_a_bad_read_offset_is_one_clear_line(tmp_path, run_cli, home, monkeypatch):
    got = run_cli("rip", "--read-offset", "99999", str(tmp_path / "x.cue"))
    assert got.code == 2 and "beyond +-5880 samples" in got.stderr
    monkeypatch.setenv("DIGITIZER_READ_OFFSET", "six")
    got = run_cli("config", "show")
    assert got.code == 2 and "read_offset must be a whole number of samples" in got.stderr


# -- Enhanced and mixed-mode CDs: their ids find the disc, their tracks its entries ------------

def data_disc(folder: Path, audio: bytes, sectors: list[int], data_first: bool) -> Path:
    """A CUE/BIN with a 300-sector data track before (mixed mode) or after (Enhanced CD)
    the audio tracks, numbered as the disc numbers them."""
    folder.mkdir(parents=True, exist_ok=True)
    data = bytes(300 * 2352)
    (folder / "disc.bin").write_bytes(data + audio if data_first else audio + data)
    lines = ['PERFORMER "Data Artist"', 'TITLE "With Data"', 'FILE "disc.bin" BINARY']
    pos, number = 0, 1
    msf = lambda s: "%02d:%02d:%02d" % (s // 75 // 60, s // 75 % 60, s % 75)  # noqa: E731
    if data_first:
        lines += ["  TRACK 01 MODE1/2352", "    INDEX 01 00:00:00"]
        pos, number = 300, 2
    for length in sectors:
        lines += [f"  TRACK {number:02d} AUDIO", f"    INDEX 01 {msf(pos)}"]
        pos, number = pos + length, number + 1
    if not data_first:
        lines += [f"  TRACK {number:02d} MODE1/2352", f"    INDEX 01 {msf(pos)}"]
    (folder / "disc.cue").write_text("\n".join(lines) + "\n")
    return folder / "disc.cue"


@pytest.mark.parametrize("data_first", [False, True], ids=["enhanced", "mixed-mode"])
def test_cds_with_a_data_track_are_found_and_verified(tmp_path, run_cli, home, true_audio,
                                                      monkeypatch, offline_names, data_first):
    sectors = SECTORS[:3]
    audio = true_audio[:sum(sectors) * 2352]
    cue = data_disc(tmp_path / "img", audio, sectors, data_first)
    ids = cd.disc_ids(cd.open_source(str(cue)))
    # NNN counts the audio tracks; freedb counts every track
    assert ids["accuraterip"].startswith("003-") and ids["freedb"].endswith("04")
    starts = [sum(sectors[:i]) for i in range(4)]
    sums = [cd.checksums(audio[a * 2352:b * 2352], i == 0, i == 2)
            for i, (a, b) in enumerate(zip(starts, starts[1:]))]
    _, id1, id2, fd = ids["accuraterip"].split("-")
    entries = [{"confidence": 3, "crc": int(s["accuraterip_v2"], 16)} for s in sums]
    if data_first:  # AccurateRip's entries count from the data track, which has none
        entries = [{"confidence": 0, "crc": 0}] + entries[:2]
    dbar = accuraterip.build([{"id1": int(id1, 16), "id2": int(id2, 16), "freedb": int(fd, 16),
                               "entries": entries}])
    server = Served({f"/ar/{ids['dbar']}": (200, dbar)})
    try:
        monkeypatch.setenv("DIGITIZER_ACCURATERIP_URL", server.url + "/ar")
        got = run_cli("watch", "--once", cue)
    finally:
        server.close()
    assert got.code == 0, got
    files = sorted(home.glob("data/library/Music/**/*.flac"))
    numbers = [2, 3, 4] if data_first else [1, 2, 3]
    assert [f.name[:2] for f in files] == [f"{n:02d}" for n in numbers]
    verdicts = [json.loads((f.parent / f".{f.name}.digitizer.json").read_text())["accuraterip"]
                for f in files]
    accurate = {"status": "accurate", "confidence": 3, "version": 2}
    if data_first:  # AccurateRip keeps no entry for a mixed-mode CD's last track
        assert verdicts == [accurate, accurate, {"status": "not in database"}]
    else:
        assert verdicts == [accurate] * 3
    for n, f in enumerate(files):
        assert decoded(f) == audio[starts[n] * 2352:starts[n + 1] * 2352]


def test_where_a_drives_offset_comes_from(tmp_path, monkeypatch, capsys):
    """--read-offset (config read_offset) > [drives."VENDOR MODEL"] > AccurateRip's list >
    unknown, said on stderr. The drive is a TOC and a name (sysfs's, given here)."""
    disc = cd.AudioDisc("/dev/sr9", "drive", [cd.Track(1, 0, 1000)], 1000)
    monkeypatch.setattr(drives, "drive_name", lambda source: "PIONEER BD-RW BDR-XD07U")
    server = Served({"/ar/DriveOffsets.bin": (200, accuraterip.build_drive_offsets(DRIVE_LIST))})
    path = tmp_path / "config.toml"
    monkeypatch.setenv("DIGITIZER_HOME", str(tmp_path / "home"))
    try:
        monkeypatch.setenv("DIGITIZER_ACCURATERIP_URL", server.url + "/ar")
        assert cd.read_offset_of("/dev/sr9", disc, cfgmod.load(path), None) == \
            (667, "accuraterip", "PIONEER BD-RW BDR-XD07U")
        cfgmod.save_drive_offset(path, "PIONEER BD-RW BDR-XD07U", 48)
        assert cd.read_offset_of("/dev/sr9", disc, cfgmod.load(path), None)[:2] == (48, "config")
        monkeypatch.setenv("DIGITIZER_READ_OFFSET", "-6")
        assert cd.read_offset_of("/dev/sr9", disc, cfgmod.load(path), None)[:2] == (-6, "option")
        monkeypatch.delenv("DIGITIZER_READ_OFFSET")
        monkeypatch.setattr(drives, "drive_name", lambda source: "NOBODY KNOWS ME")
        assert cd.read_offset_of("/dev/sr9", disc, cfgmod.load(path), None) == \
            (0, "unknown", "NOBODY KNOWS ME")
    finally:
        server.close()
    assert server.paths.count("/ar/DriveOffsets.bin") == 1  # fetched once, then kept
    assert "the read offset of NOBODY KNOWS ME is unknown" in capsys.readouterr().err
