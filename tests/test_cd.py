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
    # ARver doc/data_track.md: MB id, freedb id and AccurateRip id of these offsets taken
    # as a whole disc (they are the audio session of an Enhanced CD, whose own AccurateRip
    # id is in test_enhanced_cd_ids_match_dbpoweramp_and_musicbrainz)
    offsets = [150, 12767, 40487, 63225, 93410, 118115, 151865, 184340, 215260, 247455]
    assert cd.musicbrainz_id(1, 10, 270335, offsets) == "9AQWqQ0eCCwktwPPrIUIYkUw2Uo-"
    assert cd.freedb_id(270335, offsets) == "890e120a"
    ar, dbar = cd.accuraterip_ids(270335, offsets)
    assert ar == "010-00154c2f-00af4fd4-890e120a"
    assert dbar == "f/2/c/dBAR-010-00154c2f-00af4fd4-890e120a.bin"


def disc_of(offsets: list[int], leadout: int, data: set[int] = frozenset(),
            first: int = 1) -> cd.AudioDisc:
    """A drive's TOC: offsets and lead-out with the 150-sector lead-in, as the peers print
    them; `data` holds the numbers of the data tracks."""
    ends = offsets[1:] + [leadout]
    tracks = [cd.Track(first + i, o - 150, e - o, audio=first + i not in data)
              for i, (o, e) in enumerate(zip(offsets, ends))]
    return cd.AudioDisc("/dev/sr0", "drive", tracks, leadout - 150)


def from_cdtoc(text: str) -> cd.AudioDisc:
    """The CDTOC tag form of the cdtoc crate's vectors: hex audio count, audio offsets,
    then (CD-Extra) the data track's offset, then the lead-out."""
    values = [int(x, 16) for x in text.split("+")]
    n, rest = values[0], values[1:]
    return disc_of(rest[:-1], rest[-1], {n + 1} if len(rest) == n + 2 else set())


# Published by the cdtoc crate (Blobfolio/cdtoc, src/accuraterip.rs, cddb.rs,
# musicbrainz.rs): the first is an Enhanced CD (13 audio tracks, a data track at 0x35D56).
CDTOC_VECTORS = [
    ("D+96+3B5D+78E3+B441+EC83+134F4+17225+1A801+1EA5C+23B5B+27CEF+2B58B+2F974+35D56+514C8",
     "013-001802ed-00f8ee31-b611560e", "ucgpiD84p.2iBxO4j3hdjSjhtnw-"),
    ("4+96+2D2B+6256+B327+D84A", "004-0002189a-00087f33-1f02e004", None),
    ("10+B6+5352+62AC+99D6+E218+12AC0+135E7+142E9+178B0+19D22+1B0D0+1E7FA+22882+247DB+27074"
     "+2A1BD+2C0FB", "016-0018be61-012232a8-d6096410", None),
    ("15+247E+2BEC+4AF4+7368+9704+B794+E271+110D0+12B7A+145C1+16CAF+195CF+1B40F+1F04A+21380"
     "+2362D+2589D+2793D+2A760+2DA32+300E1+32B46", "021-0022250d-020afc1b-100a5515", None),
]


@pytest.mark.parametrize("toc,ar,mb", CDTOC_VECTORS)
def test_ids_match_the_cdtoc_crate_vectors(toc, ar, mb):
    ids = cd.disc_ids(from_cdtoc(toc))
    assert ids["accuraterip"] == ar
    assert ids["freedb"] == ar.rsplit("-", 1)[1]
    if mb:
        assert ids["musicbrainz"] == mb


def test_enhanced_cd_ids_match_dbpoweramp_and_musicbrainz():
    # ARver doc/data_track.md, "Liquid" (Recoil): 10 audio tracks, then a data track in a
    # second session; dBpoweramp and EAC give this AccurateRip id, MusicBrainz this disc id.
    audio = [150, 12767, 40487, 63225, 93410, 118115, 151865, 184340, 215260, 247455]
    disc = disc_of(audio + [281735], 333801, {11})
    ids = cd.disc_ids(disc)
    assert ids["accuraterip"] == "010-00164419-00b9f6e2-9e11600b"
    assert ids["dbar"] == "9/1/4/dBAR-010-00164419-00b9f6e2-9e11600b.bin"
    assert ids["musicbrainz"] == "9AQWqQ0eCCwktwPPrIUIYkUw2Uo-"
    assert ids["toc"] == "1 10 270335 " + " ".join(map(str, audio))


def test_mixed_mode_cd_ids_leave_the_data_track_out_of_accuraterip():
    # ARver doc/data_track.md, "Mortal Kombat Trilogy": data track 1, 28 audio tracks;
    # EAC's AccurateRip id.
    offsets = [150, 66728, 76502, 85963, 93760, 104048, 116066, 124743, 134206, 142916,
               151852, 160720, 169425, 178731, 188459, 196711, 206354, 214845, 223686,
               225746, 226384, 232668, 239447, 239931, 244989, 254264, 260066, 261222, 261674]
    ids = cd.disc_ids(disc_of(offsets, 261976, {1}))
    assert ids["accuraterip"] == "028-00517a54-05a845d2-af0da31d"
    assert ids["toc"].startswith("1 29 261976 150 66728 ")  # MusicBrainz counts it whole


def test_an_enhanced_cd_image_has_the_ids_of_its_disc():
    """A CUE/BIN has no session gap: its data track follows the audio. The ids are those
    of the pressed disc, whose data track lies 11400 sectors later."""
    audio = [cd.Track(1, 0, 1000), cd.Track(2, 1000, 1000)]
    image = cd.AudioDisc("x.cue", "image", audio + [cd.Track(3, 2000, 5000, audio=False)], 7000)
    drive = cd.AudioDisc("/dev/sr0", "drive",
                         audio + [cd.Track(3, 2000 + 11400, 5000, audio=False)], 18400)
    plain = cd.AudioDisc("x.cue", "image", audio, 2000)
    ids = cd.disc_ids(image)
    assert ids == cd.disc_ids(drive)
    assert ids["toc"] == cd.disc_ids(plain)["toc"] == "1 2 2150 150 1150"
    assert ids["accuraterip"] != cd.disc_ids(plain)["accuraterip"]
    assert ids["accuraterip"].startswith("002-") and ids["freedb"].endswith("03")


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


def test_watch_once_files_a_bit_exact_tagged_album(tmp_path, run_cli, home, monkeypatch):
    monkeypatch.setenv("DIGITIZER_ACCURATERIP_URL", "")
    monkeypatch.setenv("DIGITIZER_MUSICBRAINZ_URL", "")
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
    monkeypatch.setenv("DIGITIZER_ACCURATERIP_URL", "")
    monkeypatch.setenv("DIGITIZER_MUSICBRAINZ_URL", "")
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
    assert got.code == 1  # a step failed its verification (the exit code table)
    assert "track 2: test and copy reads differ after 2 attempt(s)" in got.stderr + got.stdout
    assert int(count.read_text()) == 4
    staging = next((home / "data" / "staging").iterdir())
    assert not list(staging.glob("title_02*"))  # nothing half-written


def logging_reader(tmp_path, *, stall_on: int | None = None) -> Path:
    """A cd-paranoia that logs the track of every read (and, for `stall_on`, says so in a
    flag file and stalls there until killed) before the real one reads it."""
    log, flag = tmp_path / "reads.log", tmp_path / "stalled"
    script = tmp_path / f"logging-paranoia-{stall_on}"
    stall = (f'[ "$t" = {stall_on} ] && {{ touch {flag}; sleep 60; }}' if stall_on else ":")
    script.write_text(f"""#!/bin/sh
t=""; prev=""
for a in "$@"; do [ "$prev" = "-r" ] && t=$a; prev=$a; done
[ -n "$t" ] && echo "$t" >> {log}
{stall}
exec cd-paranoia "$@"
""")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def test_kill_9_mid_album_resumes_with_only_the_missing_tracks(tmp_path):
    from test_unattended import EXE, env_for, kill_when, leftovers

    home = tmp_path / "home"
    cue = build_album(tmp_path / "img")
    image = (tmp_path / "img" / "album.bin").read_bytes()
    stalling = logging_reader(tmp_path, stall_on=3)
    offline = {"DIGITIZER_ACCURATERIP_URL": "", "DIGITIZER_MUSICBRAINZ_URL": ""}
    kill_when(home, ["watch", "--once", cue], (tmp_path / "stalled").exists,
              DIGITIZER_CD_PARANOIA=str(stalling), **offline)
    log = tmp_path / "reads.log"
    assert log.read_text().split() == ["1", "1", "2", "2", "3"]
    log.unlink()
    done = subprocess.run([EXE, "watch", "--once", str(cue)], capture_output=True, text=True,
                          env=env_for(home, DIGITIZER_CD_PARANOIA=str(logging_reader(tmp_path)),
                                  **offline))
    assert done.returncode == 0, done.stderr
    assert log.read_text().split() == ["3", "3"]  # tracks 1 and 2 were not read again
    album = home / "data" / "library" / "Music" / "Test Artist" / "Test Album"
    files = sorted(album.glob("*.flac"))
    assert len(files) == 3
    starts = [0, 300, 700, 1000]
    for n, f in enumerate(files):
        assert decoded(f) == image[starts[n] * 2352:starts[n + 1] * 2352], f.name
    assert leftovers(home) == []


# -- AccurateRip and MusicBrainz, from a local server --------------------------------------

class Served:
    """A local HTTP server: path -> (status, bytes); records the requests' User-Agents."""

    def __init__(self, routes):
        import http.server
        import threading

        served = self
        self.routes, self.agents, self.paths = routes, [], []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                served.agents.append(self.headers.get("User-Agent"))
                served.paths.append(self.path)
                status, body = served.routes.get(self.path.split("?")[0], (404, b""))
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def close(self):
        self.server.shutdown()


def test_accuraterip_and_musicbrainz_from_a_local_server(tmp_path, run_cli, home, monkeypatch):
    from digitizer.services import accuraterip

    cue = build_album(tmp_path / "img", cdtext=False)
    image = (tmp_path / "img" / "album.bin").read_bytes()
    disc = cd.open_source(str(cue))
    ids = cd.disc_ids(disc)
    starts = [0, 300, 700, 1000]
    sums = [cd.checksums(image[a * 2352:b * 2352], n == 0, n == 2)
            for n, (a, b) in enumerate(zip(starts, starts[1:]))]
    _, id1, id2, fd = ids["accuraterip"].split("-")
    head = (int(id1, 16), int(id2, 16), int(fd, 16))
    entry = {"confidence": 1, "crc": 0x12345678}
    dbar = accuraterip.build([
        {"id1": head[0], "id2": head[1], "freedb": head[2],  # one pressing: v2 sums
         "entries": [{"confidence": 7, "crc": int(sums[0]["accuraterip_v2"], 16)},
                     {"confidence": 4, "crc": int(sums[1]["accuraterip_v1"], 16)}, entry]},
        {"id1": head[0], "id2": head[1], "freedb": head[2],  # another: weaker, track 1 too
         "entries": [{"confidence": 2, "crc": int(sums[0]["accuraterip_v1"], 16)}, entry,
                     entry]}])
    assert accuraterip.parse(dbar)[0]["entries"][0]["confidence"] == 7
    release = {"releases": [{
        "id": "a-release", "title": "Hits", "date": "1999-05-01",
        "artist-credit": [{"name": "Various Artists",
                           "artist": {"id": "89ad4ac3-39f7-470e-963a-56509c546377"}}],
        "media": [{"position": 1, "discs": [{"id": ids["musicbrainz"]}], "tracks": [
            {"position": n, "title": f"Hit {n}",
             "artist-credit": [{"name": f"Singer {n}", "joinphrase": ""}]}
            for n in (1, 2, 3)]}]}]}
    server = Served({f"/ar/{ids['dbar']}": (200, dbar),
                     f"/ws/2/discid/{ids['musicbrainz']}": (200, json.dumps(release).encode())})
    try:
        monkeypatch.setenv("DIGITIZER_ACCURATERIP_URL", server.url + "/ar")
        monkeypatch.setenv("DIGITIZER_MUSICBRAINZ_URL", server.url + "/ws/2")
        got = run_cli("watch", "--once", cue)
        assert got.code == 0, got
    finally:
        server.close()
    assert all(a.startswith("digitizer/") for a in server.agents) and server.agents
    # One MusicBrainz lookup and one dBAR fetch for the three tracks (kept in the catalog).
    assert len(server.agents) == 2
    album = home / "data" / "library" / "Music" / "Various Artists" / "Hits (1999)"
    files = sorted(album.glob("*.flac"))
    assert [f.name for f in files] == ["01 - Hit 1.flac", "02 - Hit 2.flac", "03 - Hit 3.flac"]
    tags = tags_of(files[0])
    assert tags["COMPILATION"] == "1" and tags["ALBUMARTIST"] == "Various Artists"
    assert tags["ARTIST"] == "Singer 1" and tags["DATE"] == "1999-05-01"
    verdicts = [json.loads((album / f".{f.name}.digitizer.json").read_text())["accuraterip"]
                for f in files]
    assert verdicts == [{"status": "accurate", "confidence": 7, "version": 2},
                        {"status": "accurate", "confidence": 4, "version": 1},
                        {"status": "mismatch"}]
    markers = [json.loads((album / f".{f.name}.digitizer.json").read_text()) for f in files]
    assert markers[1]["accuraterip_v1"] == sums[1]["accuraterip_v1"]
    # Confirmed by AccurateRip: read once. The mismatch: read twice and compared.
    assert [(m["verified_by"], m["read_count"]) for m in markers] == \
        [("accuraterip", 1), ("accuraterip", 1), ("test and copy", 2)]
    assert markers[1]["copy_crc32"] == "%08X" % (
        __import__("zlib").crc32(image[300 * 2352:700 * 2352]))
    assert markers[1]["test_crc32"] is None
    assert markers[2]["test_crc32"] == markers[2]["copy_crc32"] == "%08X" % (
        __import__("zlib").crc32(image[700 * 2352:1000 * 2352]))
    assert markers[0]["read_offset"] == 0 and markers[0]["read_offset_source"] == "image"
    log = (album / "Hits.log").read_text()
    assert "accurate (confidence 7, v2)" in log and "mismatch" in log
    assert "2 read once and confirmed by AccurateRip, 1 by test and copy" in log
    cue_out = (album / "Hits.cue").read_text()
    assert 'FILE "02 - Hit 2.flac" WAVE' in cue_out
    assert "INDEX 00 00:02:00" in cue_out  # track 2's pregap: the last 2 s of file 1


def test_an_unnamed_album_waits_for_review_then_is_retagged(tmp_path, run_cli, home,
                                                           monkeypatch):
    monkeypatch.setenv("DIGITIZER_ACCURATERIP_URL", "")  # offline
    monkeypatch.setenv("DIGITIZER_MUSICBRAINZ_URL", "")
    cue = build_album(tmp_path / "img", cdtext=False)
    got = run_cli("watch", "--once", cue)
    fp = cd.disc_ids(cd.open_source(str(cue)))["musicbrainz"]
    assert got.code == 0, got
    waiting = run_cli("review").objects
    assert waiting[0]["fingerprint"] == fp
    assert waiting[0]["suggestion"]["kind"] == "album"
    got = run_cli("review", "approve", fp[:8], "--album", "Some Artist - Some Album (2001)")
    assert got.code == 0, got
    album = home / "data" / "library" / "Music" / "Some Artist" / "Some Album (2001)"
    files = sorted(album.glob("*.flac"))
    assert [f.name for f in files] == ["01 - Track 01.flac", "02 - Track 02.flac",
                                       "03 - Track 03.flac"]
    tags = tags_of(files[2])
    assert (tags["ALBUM"], tags["ALBUMARTIST"], tags["DATE"]) == \
        ("Some Album", "Some Artist", "2001")
    assert "COMPILATION" not in tags
    image = (tmp_path / "img" / "album.bin").read_bytes()
    assert decoded(files[2]) == image[700 * 2352:1000 * 2352]  # retagging kept the audio
    marker = json.loads((album / ".03 - Track 03.flac.digitizer.json").read_text())
    assert marker["accuraterip"] == {"status": "not verified",
                                     "reason": "no accuraterip_url configured"}
    # Online later: `verify` asks AccurateRip and records the answer.
    from digitizer.services import accuraterip

    ids = cd.disc_ids(cd.open_source(str(cue)))
    _, id1, id2, fd = ids["accuraterip"].split("-")
    sums = cd.checksums(image[700 * 2352:1000 * 2352], False, True)
    dbar = accuraterip.build([{"id1": int(id1, 16), "id2": int(id2, 16), "freedb": int(fd, 16),
                               "entries": [{"confidence": 1, "crc": 1}, {"confidence": 1, "crc": 2},
                                           {"confidence": 9, "crc": int(sums["accuraterip_v2"], 16)}]}])
    server = Served({f"/ar/{ids['dbar']}": (200, dbar)})
    try:
        monkeypatch.setenv("DIGITIZER_ACCURATERIP_URL", server.url + "/ar")
        got = run_cli("verify", files[2])
        assert got.code == 0, got
        assert got.objects[0]["verdict"] == "accurate (confidence 9, v2)"
        got = run_cli("verify", album)
        assert got.code == 1  # tracks 1 and 2 do not match this database
        assert "01 - Track 01.flac: mismatch" in got.stderr
    finally:
        server.close()
    marker = json.loads((album / ".03 - Track 03.flac.digitizer.json").read_text())
    assert marker["accuraterip"] == {"status": "accurate", "confidence": 9, "version": 2}
    assert "accurate (confidence 9, v2)" in (album / "Some Album.log").read_text()
