"""Audio CD: ids against published vectors, cd-paranoia's parsers on its captured output,
and whole albums from CUE/BIN images built here, read by the real cd-paranoia."""

import json
import random
import stat
import subprocess
from pathlib import Path

import pytest

from digitizer.formats import cd
from digitizer.tools import cdparanoia
from digitizer.tools import ffmpeg as ff

DATA = Path(__file__).parent / "data" / "cdparanoia"


# -- ids ---------------------------------------------------------------------------------

def test_ids_match_libdiscid_and_arver_vectors():
    # libdiscid test/test_put.c
    offsets = [150, 9700, 25887, 39297, 53795, 63735, 77517, 94877, 107270, 123552, 135522,
               148422, 161197, 174790, 192022, 205545, 218010, 228700, 239590, 255470,
               266932, 288750]
    assert cd.musicbrainz_id(1, 22, 303602, offsets) == "xUp1F2NkfP8s8jaeFn_Av3jNEI4-"
    assert cd.freedb_id(303602, offsets) == "370fce16"
    # ARver doc/research/data_track.md: MB id, freedb id and AccurateRip id of one TOC
    offsets = [150, 12767, 40487, 63225, 93410, 118115, 151865, 184340, 215260, 247455]
    assert cd.musicbrainz_id(1, 10, 270335, offsets) == "9AQWqQ0eCCwktwPPrIUIYkUw2Uo-"
    assert cd.freedb_id(270335, offsets) == "890e120a"
    ar, dbar = cd.accuraterip_ids(270335, offsets)
    assert ar == "010-00154c2f-00af4fd4-890e120a"
    assert dbar == "f/2/c/dBAR-010-00154c2f-00af4fd4-890e120a.bin"


def test_trailing_data_track_is_left_out_of_the_audio_ids():
    audio = [cd.Track(1, 0, 1000), cd.Track(2, 1000, 1000)]
    plain = cd.AudioDisc("x.cue", "image", audio, 2000)
    enhanced_image = cd.AudioDisc("x.cue", "image",
                                  audio + [cd.Track(3, 2000, 5000, audio=False)], 7000)
    enhanced_drive = cd.AudioDisc("/dev/sr0", "drive",
                                  audio + [cd.Track(3, 2000 + 11400, 5000, audio=False)], 18400)
    ids = cd.disc_ids(plain)
    assert cd.disc_ids(enhanced_image) == ids == cd.disc_ids(enhanced_drive)
    assert ids["toc"] == "1 2 2150 150 1150"


def test_accuraterip_checksums_follow_the_definition():
    # Straight from the definition (ARver/whipper): sum of i * sample over the counted
    # range, v2 adding the high words; checked here in plain Python on a short track.
    rng = random.Random(7)
    pcm = rng.randbytes(4 * 6000)
    samples = [int.from_bytes(pcm[i:i + 4], "little") for i in range(0, len(pcm), 4)]
    for first, last in ((False, False), (True, False), (False, True), (True, True)):
        lo = 2940 if first else 1
        hi = len(samples) - 2940 if last else len(samples)
        v1 = v2 = 0
        for i in range(lo, hi + 1):
            p = i * samples[i - 1]
            v1 += p & 0xFFFFFFFF
            v2 += (p & 0xFFFFFFFF) + (p >> 32)
        got = cd.checksums(pcm, first, last)
        assert got["accuraterip_v1"] == "%08X" % (v1 & 0xFFFFFFFF), (first, last)
        assert got["accuraterip_v2"] == "%08X" % (v2 & 0xFFFFFFFF), (first, last)


# -- cd-paranoia's output (captured from cd-paranoia 10.2+2.0.1 on a CUE/BIN image) -------

def test_parse_query_reads_the_toc():
    tracks = cdparanoia.parse_query((DATA / "query.stderr").read_text())
    assert [(t["number"], t["start"], t["length"]) for t in tracks] == \
        [(1, 0, 375), (2, 375, 450), (3, 825, 150)]
    assert not any(t["preemphasis"] for t in tracks)


def test_parse_query_and_read_errors():
    from digitizer.errors import SourceError

    with pytest.raises(SourceError):
        cdparanoia.parse_query((DATA / "no_drive.stderr").read_text())
    assert cdparanoia.read_error((DATA / "no_track.stderr").read_text(), 9) == \
        "track 9 does not exist on this disc"


# -- albums from CUE/BIN images -----------------------------------------------------------

SECTORS = [300, 400, 300]  # 4 s, 5.3 s, 4 s of noise; tracks 2 and 3 have 2 s pregaps


def msf(sectors):
    return "%02d:%02d:%02d" % (sectors // 75 // 60, sectors // 75 % 60, sectors % 75)


def build_album(folder: Path, *, cdtext=True, data_track=False, seed=3) -> Path:
    """A CUE/BIN: three audio tracks of seeded noise (bit-exactness shows), pregaps on 2
    and 3, CD-TEXT, an ISRC, and optionally a data track after the audio (Enhanced CD)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    data = rng.randbytes(sum(SECTORS) * 2352)
    lines = []
    if cdtext:
        lines += ['PERFORMER "Test Artist"', 'TITLE "Test Album"']
    lines.append('FILE "album.bin" BINARY')
    pos = 0
    for n, length in enumerate(SECTORS, 1):
        lines.append(f"  TRACK {n:02d} AUDIO")
        if cdtext:
            lines.append(f'    TITLE "Song {n}: a/b"')
        if n == 2:
            lines.append("    ISRC USRC17607839")
        if n > 1:
            lines.append(f"    INDEX 00 {msf(pos - 150)}")
        lines.append(f"    INDEX 01 {msf(pos)}")
        pos += length
    if data_track:
        data += bytes(300 * 2352)
        lines += ["  TRACK 04 MODE1/2352", f"    INDEX 01 {msf(pos)}"]
    (folder / "album.bin").write_bytes(data)
    cue = folder / "album.cue"
    cue.write_text("\n".join(lines) + "\n")
    return cue


def decoded(flac: Path) -> bytes:
    return subprocess.run([ff.binary(""), "-v", "error", "-i", str(flac), "-f", "s16le", "-"],
                          capture_output=True, check=True).stdout


def tags_of(flac: Path) -> dict:
    """The Vorbis comments as written in the FLAC file (read here, not through ffmpeg,
    which renames some on the way in and out)."""
    data = flac.read_bytes()
    assert data[:4] == b"fLaC"
    pos = 4
    while True:
        last, kind = data[pos] & 0x80, data[pos] & 0x7F
        size = int.from_bytes(data[pos + 1:pos + 4], "big")
        block = data[pos + 4:pos + 4 + size]
        if kind == 4:
            vendor = int.from_bytes(block[:4], "little")
            at = 4 + vendor
            count = int.from_bytes(block[at:at + 4], "little")
            at += 4
            tags = {}
            for _ in range(count):
                n = int.from_bytes(block[at:at + 4], "little")
                key, _, value = block[at + 4:at + 4 + n].decode().partition("=")
                tags[key.upper()] = value
                at += 4 + n
            return tags
        assert not last, "no VORBIS_COMMENT block"
        pos += 4 + size


def test_watch_once_files_a_bit_exact_tagged_album(tmp_path, run_cli, home):
    cue = build_album(tmp_path / "img", data_track=True)
    image = (tmp_path / "img" / "album.bin").read_bytes()
    got = run_cli("fingerprint", cue)
    assert got.code == 0, got
    fp = got.objects[0]
    assert fp["disc_type"] == "cd" and fp["fingerprint"] == fp["ids"]["musicbrainz"]
    assert fp["ids"]["toc"] == "1 3 1150 150 450 850"  # the data track is not counted
    got = run_cli("watch", "--once", cue)
    assert got.code == 0, got
    album = home / "data" / "library" / "Music" / "Test Artist" / "Test Album"
    files = sorted(album.glob("*.flac"))
    assert [f.name for f in files] == ["01 - Song 1 a b.flac", "02 - Song 2 a b.flac",
                                       "03 - Song 3 a b.flac"]
    # Pregaps go with the previous track: the tracks add up to the image exactly.
    starts = [0, 300, 700, 1000]  # INDEX 01 of each track, then the end of the audio
    for n, f in enumerate(files):
        assert decoded(f) == image[starts[n] * 2352:starts[n + 1] * 2352], f.name
    tags = tags_of(files[1])
    assert tags["TITLE"] == "Song 2: a/b" and tags["ALBUM"] == "Test Album"
    assert tags["ALBUMARTIST"] == "Test Artist" and tags["ISRC"] == "USRC17607839"
    assert tags["TRACKNUMBER"] == "2" and tags["TRACKTOTAL"] == "3"
    assert tags["DISCNUMBER"] == "1" and tags["DISCTOTAL"] == "1"
    assert tags["MUSICBRAINZ_DISCID"] == fp["fingerprint"]
    marker = json.loads((album / ".02 - Song 2 a b.flac.digitizer.json").read_text())
    assert marker["step"] == "insert" and marker["identity"]["kind"] == "album"


def test_a_track_whose_reads_differ_fails_by_name(tmp_path, run_cli, home, monkeypatch):
    """The image reader is the real cd-paranoia; a wrapper flips one byte of every other
    read of track 2, so its test and copy reads never agree."""
    cue = build_album(tmp_path / "img")
    count = tmp_path / "count"
    wrapper = tmp_path / "flaky-paranoia"
    wrapper.write_text(f"""#!/bin/sh
cd-paranoia "$@" || exit $?
case " $* " in *" -r 2 "*) ;; *) exit 0;; esac
n=$(cat {count} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {count}
[ $((n % 2)) = 0 ] && printf '\\377' | dd of="$7" bs=1 seek=1000 conv=notrunc 2>/dev/null
exit 0
""")
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("DIGITIZER_CD_PARANOIA", str(wrapper))
    monkeypatch.setenv("DIGITIZER_CD_READ_RETRIES", "1")
    got = run_cli("watch", "--once", cue)
    assert got.code != 0
    assert "track 2: test and copy reads differ after 2 attempt(s)" in got.stderr + got.stdout
    assert int(count.read_text()) == 4
    staging = next((home / "data" / "staging").iterdir())
    assert not list(staging.glob("title_02*"))  # nothing half-written
