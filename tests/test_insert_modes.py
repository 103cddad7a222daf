"""insert --mode move|hardlink|copy on real files (issue 29): a hardlink is the same inode
(st_ino, st_nlink), a copy is another one, a move within a filesystem is a rename (the
inode goes with the name), and a move to another filesystem (a tmpfs mounted for the test)
is a verified copy, then the source is deleted."""

import contextlib
import os
import subprocess
from pathlib import Path

import pytest

from digitizer import markers

MOVIE = "Big Buck Bunny (2008)"
EXTRA = "Movies/Big Buck Bunny (2008)/Other/DIGITIZER_TEST - title 03.mkv"


@pytest.fixture
def transcoded(run_cli, movie_disc):
    """One short extra of the sample DVD, ripped and remuxed: a finished transcode with its
    marker, ready for insert."""
    ripped = run_cli("rip", movie_disc.iso, "--title", "3")
    assert ripped.code == 0, ripped
    done = run_cli("transcode", "-", "--preset", "copy", input=ripped.stdout)
    assert done.code == 0, done
    [obj] = done.objects
    return Path(obj["path"]), done.stdout


@contextlib.contextmanager
def tmpfs(folder: Path):
    folder.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_hardlink_links_the_same_inode(run_cli, home, transcoded):
    src, piped = transcoded
    before = src.stat()
    lib = home / "lib"
    r = run_cli("insert", "-", "--library", lib, "--movie", MOVIE, "--mode", "hardlink",
                input=piped)
    assert r.code == 0, r
    dst = lib / EXTRA
    assert Path(r.objects[0]["path"]) == dst
    got, kept = dst.stat(), src.stat()
    assert (got.st_dev, got.st_ino) == (kept.st_dev, kept.st_ino) == (before.st_dev, before.st_ino)
    assert got.st_nlink == kept.st_nlink == 2
    # the transcode stays where it was, with its own marker; the library file has its own
    assert markers.read(markers.sidecar(src))["step"] == "transcode"
    assert markers.read(markers.sidecar(dst))["step"] == "insert"


def test_copy_makes_a_second_file_with_the_same_bytes(run_cli, home, transcoded):
    src, piped = transcoded
    lib = home / "lib"
    r = run_cli("insert", "-", "--library", lib, "--movie", MOVIE, "--mode", "copy",
                input=piped)
    assert r.code == 0, r
    dst = lib / EXTRA
    got, kept = dst.stat(), src.stat()
    assert got.st_ino != kept.st_ino and got.st_nlink == kept.st_nlink == 1
    assert dst.read_bytes() == src.read_bytes()
    assert markers.read(markers.sidecar(src))["step"] == "transcode"
    assert not list(lib.rglob("*.part"))


def test_a_move_within_a_filesystem_is_a_rename(run_cli, home, transcoded):
    src, piped = transcoded
    before = src.stat()
    lib = home / "lib"
    r = run_cli("insert", "-", "--library", lib, "--movie", MOVIE, input=piped)
    assert r.code == 0, r
    got = (lib / EXTRA).stat()
    assert (got.st_dev, got.st_ino, got.st_nlink) == (before.st_dev, before.st_ino, 1)
    assert not src.exists() and not markers.sidecar(src).exists()


def test_a_move_to_another_filesystem_is_copied_verified_then_deleted(run_cli, home,
                                                                        transcoded, tmp_path):
    src, piped = transcoded
    data = src.read_bytes()
    with tmpfs(tmp_path / "other-fs") as lib:
        assert os.stat(lib).st_dev != src.stat().st_dev  # really another filesystem
        r = run_cli("insert", "-", "--library", lib, "--movie", MOVIE, input=piped)
        assert r.code == 0, r
        dst = lib / EXTRA
        assert dst.stat().st_dev == os.stat(lib).st_dev and dst.read_bytes() == data
        assert markers.read(markers.sidecar(dst))["step"] == "insert"
        assert markers.artefact(dst)["size"] == len(data)
        assert not src.exists() and not markers.sidecar(src).exists()
        assert not list(lib.rglob("*.part"))
        # the library's file is the one finished: resume finds nothing to do
        plan = run_cli("resume", "--dry-run")
        assert plan.code == 0 and plan.objects == [], plan


def test_a_hardlink_to_another_filesystem_fails_on_one_line(run_cli, home, transcoded,
                                                             tmp_path):
    src, piped = transcoded
    with tmpfs(tmp_path / "other-fs") as lib:
        r = run_cli("insert", "-", "--library", lib, "--movie", MOVIE, "--mode", "hardlink",
                    input=piped)
        assert r.code == 1, r
        assert r.stderr.strip().splitlines() == [
            f"digitizer: --mode hardlink: {lib / EXTRA.rsplit('/', 1)[0]} is on another "
            f"filesystem than {src}; use --mode move or copy"]
        assert not list(lib.rglob("*.mkv")) and src.exists()
