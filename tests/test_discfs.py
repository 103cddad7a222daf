"""DiscFS over genisoimage images (UDF+ISO9660 and ISO9660 only), folders, and broken input.

The fixture helpers here are also used by test_discid.py.
"""

from __future__ import annotations

import errno
import hashlib
import os
import random
import shutil
import stat
import struct
import subprocess
from pathlib import Path

import pytest

from digitizer.formats import discfs, disc_type
from digitizer.formats.discfs import MissingFile, open_disc
from digitizer.errors import NoDisc, SourceError

SECTOR = 2048


def noise(seed: str, size: int) -> bytes:
    out = bytearray()
    while len(out) < size:
        out += hashlib.sha256(f"{seed}/{len(out)}".encode()).digest()
    return bytes(out[:size])


def make_video_ts(root: Path, seed: str = "a", title_sets: int = 2, ifo_sectors: int = 2,
                  vob_sectors: int = 512, vmg_title_sets: int | None = None) -> Path:
    """A VIDEO_TS that genisoimage -dvd-video accepts: the IFO headers hold the magic and
    the sector numbers genisoimage reads to lay the disc out; everything else is noise."""
    d = root / "VIDEO_TS"
    d.mkdir(parents=True)
    menu = 4
    vmg_len = 2 * ifo_sectors + menu
    vmg = bytearray(noise(seed + "vmg", ifo_sectors * SECTOR))
    vmg[0:256] = bytes(256)
    vmg[0:12] = b"DVDVIDEO-VMG"
    struct.pack_into(">I", vmg, 12, vmg_len - 1)  # last sector of the VMG
    struct.pack_into(">I", vmg, 28, ifo_sectors - 1)  # last sector of the IFO
    struct.pack_into(">H", vmg, 0x3E, title_sets if vmg_title_sets is None else vmg_title_sets)
    struct.pack_into(">II", vmg, 192, ifo_sectors, 1)  # menu VOB start, TT_SRPT sector
    vmg[SECTOR:2 * SECTOR] = bytes(SECTOR)
    struct.pack_into(">H", vmg, SECTOR, title_sets)
    start = vmg_len
    for t in range(title_sets):
        struct.pack_into(">I", vmg, SECTOR + 8 + t * 12 + 8, start)
        start += 2 * ifo_sectors + vob_sectors
    (d / "VIDEO_TS.IFO").write_bytes(vmg)
    (d / "VIDEO_TS.BUP").write_bytes(vmg)
    (d / "VIDEO_TS.VOB").write_bytes(noise(seed + "menu", menu * SECTOR))
    for t in range(1, title_sets + 1):
        vts = bytearray(noise(f"{seed}vts{t}", ifo_sectors * SECTOR))
        vts[0:256] = bytes(256)
        vts[0:12] = b"DVDVIDEO-VTS"
        struct.pack_into(">I", vts, 12, 2 * ifo_sectors + vob_sectors - 1)
        struct.pack_into(">I", vts, 28, ifo_sectors - 1)
        struct.pack_into(">II", vts, 192, 0, ifo_sectors)  # no menu VOB; title VOB start
        (d / f"VTS_{t:02d}_0.IFO").write_bytes(vts)
        (d / f"VTS_{t:02d}_0.BUP").write_bytes(vts)
        (d / f"VTS_{t:02d}_1.VOB").write_bytes(noise(f"{seed}vob{t}", vob_sectors * SECTOR))
    return d


def genisoimage(src: Path, out: Path, label: str, *flags: str) -> Path:
    subprocess.run(["genisoimage", "-quiet", *flags, "-V", label, "-o", str(out), str(src)],
                   check=True, capture_output=True)
    return out


@pytest.fixture(scope="module")
def dvd(tmp_path_factory):
    """One disc in four containers: -dvd-video image, -udf image, ISO9660-only image, folder."""
    if shutil.which("genisoimage") is None:
        pytest.fail("genisoimage not installed (`make setup` installs it)")
    base = tmp_path_factory.mktemp("dvd")
    folder = base / "DISC"
    make_video_ts(folder)
    return {
        "dvd-video": genisoimage(folder, base / "dvdvideo.iso", "TESTLABEL", "-dvd-video"),
        "udf": genisoimage(folder, base / "udf.iso", "TESTLABEL", "-udf"),
        "iso9660": genisoimage(folder, base / "plain.iso", "TESTLABEL"),
        "folder": folder,
    }


CONTAINERS = ["dvd-video", "udf", "iso9660", "folder"]
FILESYSTEM = {"dvd-video": "udf", "udf": "udf", "iso9660": "iso9660", "folder": "folder"}


@pytest.mark.parametrize("which", CONTAINERS)
def test_files_match_the_source(dvd, which):
    src = dvd["folder"] / "VIDEO_TS"
    with open_disc(dvd[which]) as fs:
        assert fs.filesystem == FILESYSTEM[which]
        assert fs.kind == ("folder" if which == "folder" else "image")
        assert [e.name for e in fs.listdir("") if e.is_dir] == ["VIDEO_TS"]
        entries = fs.listdir("VIDEO_TS")
        assert [e.name for e in entries] == sorted(p.name for p in src.iterdir())
        for e in entries:
            assert not e.is_dir and e.size == (src / e.name).stat().st_size
            assert fs.read(f"VIDEO_TS/{e.name}") == (src / e.name).read_bytes()
            assert e.ctime is not None and e.ctime.tzinfo is not None
        head = fs.read("video_ts/vts_01_0.ifo", limit=100)
        assert head == (src / "VTS_01_0.IFO").read_bytes()[:100]
        assert fs.read("/VIDEO_TS/VIDEO_TS.IFO;1") == (src / "VIDEO_TS.IFO").read_bytes()
        assert fs.exists("VIDEO_TS/VTS_02_1.VOB") and not fs.exists("VIDEO_TS/VTS_03_1.VOB")
        assert not fs.exists("NOPE/VIDEO_TS.IFO") and not fs.exists("VIDEO_TS/VIDEO_TS.IFO/x")
        assert disc_type(fs) == "dvd"
        with pytest.raises(MissingFile):
            fs.read("VIDEO_TS/VTS_03_0.IFO")
        with pytest.raises(MissingFile):
            fs.read("VIDEO_TS")
        with pytest.raises(MissingFile):
            fs.read("../etc/passwd")


@pytest.mark.parametrize("which", ["dvd-video", "udf", "iso9660"])
def test_file_extent_points_at_the_bytes(dvd, which):
    src = dvd["folder"] / "VIDEO_TS" / "VTS_01_1.VOB"
    with open_disc(dvd[which]) as fs, open(dvd[which], "rb") as raw:
        lba, size = fs.file_extent("VIDEO_TS/VTS_01_1.VOB")
        assert size == src.stat().st_size
        raw.seek(lba * SECTOR)
        assert raw.read(size) == src.read_bytes()
        assert [e.lba for e in fs.listdir("VIDEO_TS") if e.name == "VTS_01_1.VOB"] == [lba]


def test_folder_has_no_extents_and_no_label(dvd):
    with open_disc(dvd["folder"]) as fs:
        assert fs.file_extent("VIDEO_TS/VTS_01_1.VOB") is None and fs.label is None


@pytest.mark.parametrize("which", ["dvd-video", "udf", "iso9660"])
def test_label(dvd, which):
    with open_disc(dvd[which]) as fs:
        assert fs.label == fs.iso_label == "TESTLABEL"
        assert fs.udf_label == (None if which == "iso9660" else "TESTLABEL")


def test_open_reads_little(dvd):
    with open_disc(dvd["dvd-video"]) as fs:
        assert fs.bytes_read <= 64 * 1024, fs.bytes_read
        fs.listdir("VIDEO_TS")
        before = fs.bytes_read
        fs.read("VIDEO_TS/VIDEO_TS.IFO")
        fs.read("VIDEO_TS/VIDEO_TS.IFO")  # second time from the cache
        assert fs.bytes_read - before == 2 * SECTOR


@pytest.mark.parametrize("which", ["VIDEO_TS", "video_ts", "."])
def test_folder_given_as_video_ts_or_its_parent(dvd, tmp_path, which):
    top = tmp_path / "disc"
    shutil.copytree(dvd["folder"] / "VIDEO_TS", top / which if which != "." else top / "VIDEO_TS")
    given = top / which if which != "." else top
    with open_disc(given) as fs:
        assert fs.kind == "folder" and Path(fs.source) == top
        assert fs.read("VIDEO_TS/VIDEO_TS.IFO")[:12] == b"DVDVIDEO-VMG"


def test_bluray_and_data_discs(tmp_path):
    (tmp_path / "bd" / "BDMV" / "STREAM").mkdir(parents=True)
    (tmp_path / "bd" / "BDMV" / "index.bdmv").write_bytes(b"INDX0200" + bytes(100))
    (tmp_path / "data" / "VIDEO_TS").mkdir(parents=True)
    (tmp_path / "data" / "VIDEO_TS" / "README.TXT").write_text("not a DVD")
    iso = genisoimage(tmp_path / "bd", tmp_path / "bd.iso", "BD", "-udf")
    for source, kind in [(tmp_path / "bd", "bluray"), (iso, "bluray"), (tmp_path / "data", "data")]:
        with open_disc(source) as fs:
            assert disc_type(fs) == kind


# ------------------------------------------------------------------ labels are data

@pytest.mark.parametrize("label, udf_keeps", [
    ("../../etc", ".._.._etc"),  # genisoimage itself rewrites the UDF copy of the label
    ("$(reboot)", "$(reboot)"),
    ("a\nb\x1b[31m", "a_b_[31m"),
])
def test_hostile_labels_round_trip(tmp_path, label, udf_keeps):
    make_video_ts(tmp_path / "src", title_sets=1, vob_sectors=4)
    plain = genisoimage(tmp_path / "src", tmp_path / "plain.iso", label)
    udf = genisoimage(tmp_path / "src", tmp_path / "udf.iso", label, "-dvd-video")
    with open_disc(plain) as fs:
        assert fs.label == fs.iso_label == label and fs.udf_label is None
    with open_disc(udf) as fs:
        assert fs.filesystem == "udf" and fs.label == fs.iso_label == label
        assert fs.udf_label == udf_keeps


def _patch(path: Path, offset: int, data: bytes) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)


def _udf_lvd_sector(path: Path) -> int:
    raw = path.read_bytes()
    loc = struct.unpack_from("<I", raw, 256 * SECTOR + 20)[0]
    return next(s for s in range(loc, loc + 16) if raw[s * SECTOR:s * SECTOR + 2] == b"\x06\x00")


def test_udf_label_is_raw_cs0(dvd, tmp_path):
    iso = tmp_path / "x.iso"
    shutil.copy(dvd["udf"], iso)
    lvd = _udf_lvd_sector(iso) * SECTOR
    field = bytes([16]) + "\u2603 $(x)\n".encode("utf-16-be")  # CS0, 16-bit
    _patch(iso, lvd + 84, field + bytes(127 - len(field)) + bytes([len(field)]))
    with open_disc(iso) as fs:
        assert fs.udf_label == "\u2603 $(x)\n" and fs.label == "TESTLABEL"
    _patch(iso, 16 * SECTOR, bytes(2 * SECTOR))  # now a UDF-only disc: the UDF label is it
    with open_disc(iso) as fs:
        assert fs.label == "\u2603 $(x)\n" and fs.iso_label is None


def test_iso_label_control_bytes_kept(dvd, tmp_path):
    iso = tmp_path / "x.iso"
    shutil.copy(dvd["iso9660"], iso)
    _patch(iso, 16 * SECTOR + 40, b"\x1b]0;pwn\x07\r\n".ljust(32))
    with open_disc(iso) as fs:
        assert fs.label == "\x1b]0;pwn\x07\r\n"


# ------------------------------------------------------------------ what is not a disc

def _error(source) -> str:
    with pytest.raises(SourceError) as info:
        open_disc(source)
    message = str(info.value)
    assert "\n" not in message and info.value.exit_code == 4
    return message


def test_nonexistent(tmp_path):
    assert "no such file" in _error(tmp_path / "missing.iso")


def test_random_bytes(tmp_path):
    for size in (1 << 20, 100 * SECTOR):
        junk = tmp_path / f"junk{size}.iso"
        junk.write_bytes(random.Random(size).randbytes(size))
        assert "not a disc image" in _error(junk)


def test_text_file(tmp_path):
    small, big = tmp_path / "notes.txt", tmp_path / "big.txt"
    small.write_text("hello\n")
    big.write_text("all work and no play\n" * 40000)
    assert "not a disc image" in _error(small)
    assert "not a disc image" in _error(big)


def test_empty_file(tmp_path):
    (tmp_path / "empty.iso").write_bytes(b"")
    assert "not a disc image" in _error(tmp_path / "empty.iso")


def test_hostile_path_stays_on_one_line(tmp_path):
    weird = tmp_path / "a\nb\x1b[2J.iso"
    weird.write_text("x")
    assert "\\n" in _error(weird)


@pytest.mark.parametrize("which", ["dvd-video", "udf", "iso9660"])
@pytest.mark.parametrize("cut", [40 * 1024, "descriptors"])
def test_truncated(dvd, tmp_path, which, cut):
    raw = dvd[which].read_bytes()
    size = cut if isinstance(cut, int) else (257 if which != "iso9660" else 18) * SECTOR
    part = tmp_path / "cut.iso"
    part.write_bytes(raw[:size])
    assert "truncated" in _error(part)
    # Even when the volume size is made to agree, a directory past the end is caught.
    sectors = size // SECTOR
    _patch(part, 16 * SECTOR + 80, struct.pack("<I", sectors) + struct.pack(">I", sectors))
    assert "truncated" in _error(part)


def test_empty_folder(tmp_path):
    assert "empty folder" in _error(tmp_path)


def test_folder_without_video_ts(tmp_path):
    (tmp_path / "photos").mkdir()
    (tmp_path / "x.jpg").write_bytes(b"\xff\xd8")
    assert "no VIDEO_TS or BDMV" in _error(tmp_path)


def test_not_a_file_or_folder():
    assert "not a disc image, drive or folder" in _error("/dev/null")


def test_permission_denied_simulated(dvd, monkeypatch):
    def denied(path, *a, **k):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
    monkeypatch.setattr(discfs.os, "open", denied)
    assert _error(dvd["iso9660"]).endswith("Permission denied")
    monkeypatch.setattr(discfs.os, "listdir", denied)
    assert _error(dvd["folder"]).endswith("Permission denied")


# ------------------------------------------------------------------ drives (simulated)

def _as_block_device(monkeypatch, real_stat=os.stat):
    def fake_stat(path, *a, **k):
        st = real_stat(path, *a, **k)
        if str(path) != "/dev/sr0":
            return st
        return os.stat_result((stat.S_IFBLK | 0o660,) + tuple(st)[1:])
    monkeypatch.setattr(discfs.os, "stat", fake_stat)


def test_drive_without_disc(monkeypatch):
    _as_block_device(monkeypatch, lambda p, *a, **k: os.lstat("/dev/null"))

    def no_medium(path, flags, *a):
        raise OSError(errno.ENOMEDIUM, os.strerror(errno.ENOMEDIUM), path)
    monkeypatch.setattr(discfs.os, "open", no_medium)
    with pytest.raises(NoDisc, match="^no disc in /dev/sr0$"):
        open_disc("/dev/sr0")


def _image_as_drive(monkeypatch, image):
    """/dev/sr0 is a block device whose sectors are those of `image`."""
    real_open = os.open
    _as_block_device(monkeypatch, lambda p, *a, **k: os.lstat(image))
    monkeypatch.setattr(discfs.os, "open", lambda p, f, *a: real_open(image, f, *a))


def test_drive_read_error(dvd, monkeypatch):
    _image_as_drive(monkeypatch, str(dvd["iso9660"]))

    def eio(fd, n, off):
        raise OSError(errno.EIO, os.strerror(errno.EIO))
    monkeypatch.setattr(discfs.os, "pread", eio)
    with pytest.raises(SourceError, match="^cannot read /dev/sr0: Input/output error$"):
        open_disc("/dev/sr0")


def test_drive_reads_like_an_image(dvd, monkeypatch):
    _image_as_drive(monkeypatch, str(dvd["dvd-video"]))
    with open_disc("/dev/sr0") as fs:
        assert fs.kind == "drive" and fs.filesystem == "udf" and fs.label == "TESTLABEL"
        assert disc_type(fs) == "dvd"


# ------------------------------------------------------------------ UDF vs ISO9660

def test_broken_udf_falls_back_to_iso9660(dvd, tmp_path):
    iso = tmp_path / "x.iso"
    shutil.copy(dvd["udf"], iso)
    lvd = _udf_lvd_sector(iso) * SECTOR
    _patch(iso, lvd + 212, struct.pack("<I", 512))  # a logical block size we do not read
    with open_disc(iso) as fs:
        assert fs.filesystem == "iso9660" and "UDF" in fs.udf_error
        src = dvd["folder"] / "VIDEO_TS/VIDEO_TS.IFO"
        assert fs.read("VIDEO_TS/VIDEO_TS.IFO") == src.read_bytes()


def test_udf_only_disc(dvd, tmp_path):
    iso = tmp_path / "x.iso"
    shutil.copy(dvd["dvd-video"], iso)
    _patch(iso, 16 * SECTOR, bytes(2 * SECTOR))  # wipe the ISO9660 PVD and its terminator
    with open_disc(iso) as fs:
        assert fs.filesystem == "udf" and fs.label == "TESTLABEL"
        src = dvd["folder"] / "VIDEO_TS/VTS_02_0.IFO"
        assert fs.read("VIDEO_TS/VTS_02_0.IFO") == src.read_bytes()


def test_unreachable_names_are_hidden(dvd, tmp_path):
    iso = tmp_path / "x.iso"
    shutil.copy(dvd["iso9660"], iso)
    raw = iso.read_bytes()
    _patch(iso, raw.index(b"VIDEO_TS.BUP;1"), b"../../../xyz;1")
    _patch(iso, raw.index(b"VIDEO_TS.VOB;1"), b"..............")
    with open_disc(iso) as fs:
        names = [e.name for e in fs.listdir("VIDEO_TS")]
        assert "VIDEO_TS.IFO" in names and not any("/" in n or not n.strip(".") for n in names)
        with pytest.raises(MissingFile):
            fs.read("VIDEO_TS/../../../xyz")


def test_folder_skips_dangling_links(tmp_path):
    make_video_ts(tmp_path, title_sets=1, vob_sectors=4)
    (tmp_path / "VIDEO_TS" / "GONE.VOB").symlink_to(tmp_path / "nowhere")
    with open_disc(tmp_path) as fs:
        assert "GONE.VOB" not in [e.name for e in fs.listdir("VIDEO_TS")]


def test_joliet_names_are_the_ones_the_disc_was_made_with(tmp_path):
    src = tmp_path / "src"
    (src / "Holiday Photos 2004").mkdir(parents=True)
    (src / "Holiday Photos 2004" / "Sunset over the Bay.jpeg").write_bytes(b"jpeg" * 1000)
    (src / "Ünïcode Notes.txt").write_text("notes\n")
    joliet = genisoimage(src, tmp_path / "joliet.iso", "PHOTOS", "-J", "-joliet-long")
    with open_disc(joliet) as fs:
        assert fs.filesystem == "iso9660+joliet"
        assert sorted(e.name for e in fs.listdir("")) == ["Holiday Photos 2004",
                                                          "Ünïcode Notes.txt"]
        assert fs.read("Holiday Photos 2004/Sunset over the Bay.jpeg") == b"jpeg" * 1000
    plain = genisoimage(src, tmp_path / "plain.iso", "PHOTOS")
    with open_disc(plain) as fs:  # without Joliet: the 8.3 stand-ins, still readable
        assert fs.filesystem == "iso9660"
        assert all(e.name == e.name.upper() for e in fs.listdir(""))
