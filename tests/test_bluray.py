"""Blu-ray: the sample discs (bdmvkit + udfkit) and reading UDF 2.50 images without mounting."""

from __future__ import annotations

import hashlib
import json
import struct
import subprocess
from pathlib import Path

import pytest

from digitizer.errors import SourceError
from digitizer.formats import disc_type
from digitizer.formats.discfs import open_disc

SECTOR = 2048


def _tree(root: Path) -> dict[str, bytes]:
    """A small BDMV-shaped tree of distinct files (a clip spanning many sectors)."""
    files = {"BDMV/index.bdmv": b"INDX0200" + bytes(100),
             "BDMV/MovieObject.bdmv": b"MOBJ0200" + bytes(60),
             "BDMV/PLAYLIST/00001.mpls": b"MPLS0200" + bytes(300),
             "BDMV/CLIPINF/00001.clpi": b"HDMV0200" + bytes(200),
             "BDMV/STREAM/00001.m2ts": b"".join(hashlib.sha256(b"%d" % i).digest()
                                                for i in range(3000)),
             "CERTIFICATE/id.bdmv": b"BDID0200" + bytes(32)}
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return files


def _udf250(tmp_path: Path, label: str = "SMALL_BD") -> tuple[Path, dict]:
    from udfkit import bluray

    files = _tree(tmp_path / "src")
    image = tmp_path / "bd.iso"
    bluray.write_image(str(tmp_path / "src"), str(image), label)
    return image, files


def test_udf250_image_reads_every_file_through_the_metadata_partition(tmp_path):
    image, files = _udf250(tmp_path)
    raw = image.read_bytes()
    assert raw[16 * SECTOR + 1:16 * SECTOR + 6] != b"CD001"  # no ISO 9660 to fall back on
    with open_disc(image) as fs:
        assert (fs.filesystem, fs.label) == ("udf", "SMALL_BD")
        assert {e.name for e in fs.listdir("BDMV")} >= {"index.bdmv", "PLAYLIST", "STREAM"}
        for rel, data in files.items():
            assert fs.read(rel) == data, rel
        lba, size = fs.file_extent("BDMV/STREAM/00001.m2ts")
        assert raw[lba * SECTOR:lba * SECTOR + size] == files["BDMV/STREAM/00001.m2ts"]
        assert disc_type(fs) == "bluray"


def _metadata_file_entry(raw: bytes) -> int:
    """The sector of the main metadata file's Extended File Entry (ICB file type 250)."""
    for s in range(257, len(raw) // SECTOR):
        d = raw[s * SECTOR:(s + 1) * SECTOR]
        if d[0:2] == (266).to_bytes(2, "little") and d[16 + 11] == 250:
            return s
    raise AssertionError("no metadata file entry")


def test_udf250_falls_back_to_the_metadata_mirror(tmp_path):
    image, files = _udf250(tmp_path)
    raw = bytearray(image.read_bytes())
    s = _metadata_file_entry(bytes(raw))
    raw[s * SECTOR:(s + 1) * SECTOR] = bytes(SECTOR)  # the main metadata file is unreadable
    image.write_bytes(bytes(raw))
    with open_disc(image) as fs:
        assert fs.read("BDMV/PLAYLIST/00001.mpls") == files["BDMV/PLAYLIST/00001.mpls"]


def test_udf250_without_any_metadata_copy_is_one_clear_error(tmp_path):
    image, _ = _udf250(tmp_path)
    raw = bytearray(image.read_bytes())
    for s in range(257, len(raw) // SECTOR):  # wipe the metadata file and its mirror
        d = raw[s * SECTOR:(s + 1) * SECTOR]
        if d[0:2] == (266).to_bytes(2, "little") and d[16 + 11] in (250, 251):
            raw[s * SECTOR:(s + 1) * SECTOR] = bytes(SECTOR)
    image.write_bytes(bytes(raw))
    with pytest.raises(SourceError, match="metadata file"):
        open_disc(image)


@pytest.mark.slow
def test_sample_bluray_is_a_real_bdmv_disc(bluray_movie):
    exp = bluray_movie.expected
    main = exp["titles"][0]
    assert (bluray_movie.folder / "BDMV" / "PLAYLIST" / "00001.mpls").is_file()
    probe = json.loads(subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json",
         str(bluray_movie.folder / "BDMV" / "STREAM" / "00001.m2ts")],
        capture_output=True, check=True).stdout)
    kinds = [(s["codec_name"], s.get("channels")) for s in probe["streams"]]
    assert kinds == [("h264", None), ("ac3", 6), ("ac3", 2),
                     ("hdmv_pgs_subtitle", None), ("hdmv_pgs_subtitle", None)]
    assert abs(float(probe["format"]["duration"]) - main["seconds"]) < 0.5
    with open_disc(bluray_movie.image) as image, open_disc(bluray_movie.folder) as folder:
        assert image.label == exp["label"]
        assert disc_type(image) == disc_type(folder) == "bluray"
        for sub in ("BDMV", "BDMV/PLAYLIST", "BDMV/CLIPINF", "BDMV/STREAM"):
            names = sorted(e.name for e in folder.listdir(sub))
            assert sorted(e.name for e in image.listdir(sub)) == names
            for name in names:
                if not folder.stat(f"{sub}/{name}").is_dir:
                    assert image.read(f"{sub}/{name}") == folder.read(f"{sub}/{name}")


@pytest.mark.slow
def test_detect_names_a_bluray_image_and_folder(bluray_movie, run_cli):
    for source in (bluray_movie.image, bluray_movie.folder):
        result = run_cli("detect", source)
        assert result.code == 0, result
        [info] = result.objects
        assert info["disc_type"] == "bluray"
    assert run_cli("detect", bluray_movie.image).objects[0]["label"] == "DIGITIZER_BD"


# -- playlists (formats/bdmv.py) on the real files of the sample discs

FRAME = 1001 / 24000


def _ffprobe_streams(m2ts: Path) -> list[tuple[int, str, int | None]]:
    probe = json.loads(subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of", "json",
                                       str(m2ts)], capture_output=True, check=True).stdout)
    return [(int(s["id"], 16), s["codec_name"], s.get("channels")) for s in probe["streams"]]


@pytest.mark.slow
def test_playlists_of_the_sample_disc_parse_to_its_ground_truth(bluray_movie):
    from digitizer.formats import bdmv

    iso639_2 = {"en": "eng", "fr": "fre"}
    for title in bluray_movie.expected["titles"]:
        playlist = bdmv.parse((bluray_movie.folder / "BDMV" / "PLAYLIST" / title["playlist"])
                              .read_bytes())
        assert abs(playlist.seconds - title["seconds"]) <= FRAME
        assert len(playlist.chapters) == len(title["chapter_starts"])
        for got, want in zip(playlist.chapters, title["chapter_starts"]):
            assert abs(got - want) <= FRAME  # chapters land on the key frame at or after
        [(clip, _, _)] = playlist.segments
        # PIDs, codecs and channels as ffprobe demuxes them from the clip itself
        m2ts = bluray_movie.folder / "BDMV" / "STREAM" / f"{clip}.m2ts"
        assert [(s.pid, s.codec, s.channels) for s in playlist.streams] == _ffprobe_streams(m2ts)
        assert [s.language for s in playlist.streams if s.kind == "audio"] == \
            [iso639_2[a["lang"]] for a in title["audio"]]
        assert [s.language for s in playlist.streams if s.kind == "subtitle"] == \
            [iso639_2[lang] for lang in title["subtitles"]]


@pytest.mark.slow
def test_multi_clip_and_mid_clip_playlists(bluray_movie, tmp_path):
    """Playlists authored by bdmvkit over the sample disc's clips: both clips back to back,
    and the same starting at MAIN's second chapter (a mid-clip in-time)."""
    from bdmvkit import Disc

    from digitizer.formats import bdmv

    stream = bluray_movie.folder / "BDMV" / "STREAM"
    disc = Disc()
    main = disc.add_title(str(stream / "00001.m2ts"), chapters=[0, 3, 6, 9],
                          audio=[("ac3", 6, "en"), ("ac3", 2, "fr")], subtitles=["en", "fr"])
    extra = disc.add_title(str(stream / "00002.m2ts"), audio=[("ac3", 2, "en")])
    disc.add_playlist("both", [main, extra])
    disc.add_playlist("partial", [(main, 2, None), extra])
    disc.write(str(tmp_path / "bd"), play_all=False)
    read = lambda n: bdmv.parse((tmp_path / "bd/BDMV/PLAYLIST" / f"{n:05d}.mpls").read_bytes())  # noqa: E731
    whole_main, whole_extra, both, partial = (read(n) for n in (1, 2, 3, 4))

    assert both.segments == whole_main.segments + whole_extra.segments
    assert both.seconds == pytest.approx(whole_main.seconds + whole_extra.seconds)
    assert both.chapters == whole_main.chapters + (whole_main.seconds,)
    assert [len(item.streams) for item in both.items] == [5, 2]

    (clip, start, end), rest = partial.segments[0], partial.segments[1:]
    assert (clip, end) == whole_main.segments[0][::2] and rest == whole_extra.segments
    skipped = whole_main.chapters[1]
    assert (start - whole_main.segments[0][1]) / bdmv.CLOCK == pytest.approx(skipped)
    assert partial.seconds == pytest.approx(both.seconds - skipped)
    assert partial.chapters == pytest.approx(
        [c - skipped for c in whole_main.chapters[1:]] + [whole_main.seconds - skipped])


def test_not_a_playlist_is_one_clear_error():
    from digitizer.formats import bdmv

    with pytest.raises(bdmv.PlaylistError, match="MPLS"):
        bdmv.parse(b"INDX0200" + bytes(64))
    with pytest.raises(bdmv.PlaylistError, match="truncated"):
        bdmv.parse(b"MPLS0200" + struct.pack(">III", 58, 9999, 0) + bytes(50))


# -- ids and name (formats/bluray.py)

@pytest.mark.slow
def test_ids_of_image_and_folder_agree_and_follow_their_definitions(bluray_movie, tmp_path):
    import os
    import shutil

    from digitizer.formats import bluray

    with open_disc(bluray_movie.image) as image, open_disc(bluray_movie.folder) as folder:
        ids = bluray.read_ids(image)
        assert bluray.read_ids(folder) == ids
        assert image.bytes_read < 1 << 20  # navigation files and directories only
        assert bluray.disc_title(image) == bluray.disc_title(folder) == \
            bluray_movie.expected["disc_name"]
    assert ids["fingerprint"] == ids["ids"]["bdmv_nav_sha1"]
    assert ids["ids"]["aacs"] is None
    stream = bluray_movie.folder / "BDMV" / "STREAM"
    sizes = [os.path.getsize(stream / n) for n in sorted(os.listdir(stream))]
    assert ids["ids"]["thediscdb"] == hashlib.md5(
        b"".join(struct.pack("<q", s) for s in sizes)).hexdigest().upper()

    # A copy with AACS and one changed clip info: the AACS id is libaacs's, the primary changes.
    copy = tmp_path / "copy"
    shutil.copytree(bluray_movie.folder, copy, ignore=shutil.ignore_patterns("*.m2ts"))
    unit_key = b"\x00\x00\x00\x10" + hashlib.sha256(b"unit key").digest() * 4
    (copy / "AACS").mkdir()
    (copy / "AACS" / "Unit_Key_RO.inf").write_bytes(unit_key)
    with open_disc(copy) as fs:
        assert bluray.aacs_id(fs) == hashlib.sha1(unit_key).hexdigest().upper()
        assert bluray.navigation_id(fs) == ids["fingerprint"]  # AACS is not navigation
    clpi = copy / "BDMV" / "CLIPINF" / "00002.clpi"
    clpi.write_bytes(clpi.read_bytes()[:-1] + b"\x01")
    with open_disc(copy) as fs:
        assert bluray.navigation_id(fs) != ids["fingerprint"]


def test_disc_name_prefers_english_and_ignores_broken_metadata(tmp_path):
    from digitizer.formats import bluray

    meta = tmp_path / "BDMV" / "META" / "DL"
    meta.mkdir(parents=True)
    (tmp_path / "BDMV" / "index.bdmv").write_bytes(b"INDX0200" + bytes(100))
    with open_disc(tmp_path) as fs:
        assert bluray.disc_title(fs) is None
    (meta / "bdmt_fra.xml").write_text('<disclib xmlns:di="urn:BDA:bdmv;discinfo"><di:discinfo>'
                                       '<di:title><di:name>Le Film</di:name></di:title>'
                                       '</di:discinfo></disclib>', encoding="utf-8")
    (meta / "bdmt_eng.xml").write_text("<disclib><unclosed>", encoding="utf-8")
    with open_disc(tmp_path) as fs:
        assert bluray.disc_title(fs) == "Le Film"
    (meta / "bdmt_eng.xml").write_text('<disclib xmlns:di="urn:BDA:bdmv;discinfo"><di:discinfo>'
                                       '<di:title><di:name> The\n Film </di:name></di:title>'
                                       '</di:discinfo></disclib>', encoding="utf-8")
    with open_disc(tmp_path) as fs:
        assert bluray.disc_title(fs) == "The Film"
        assert bluray.recognises(fs)
