"""MakeMKV's robot output (captured from real discs, tests/data/makemkv) and the rip backend
for AACS-encrypted Blu-rays, run through pytest-subprocess since makemkvcon (not in Debian)
cannot be installed here: the real ffmpeg still verifies what the backend delivers."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from digitizer.tools import makemkv

DATA = Path(__file__).parent / "data" / "makemkv"
CLOVERFIELD = (DATA / "10-cloverfield-lane-2016-blu-ray-disc01.txt").read_text()


def test_robot_output_of_a_real_disc():
    robot = makemkv.parse(CLOVERFIELD)
    assert robot.disc[makemkv.NAME] == "10 Cloverfield Lane"
    assert robot.version() == "MakeMKV v1.18.1 win(x86-release)"
    main = robot.titles[0]
    assert (main[makemkv.SOURCE_FILE], main[makemkv.DURATION], main[makemkv.CHAPTERS]) == \
        ("00800.mpls", "1:43:34", "16")
    assert main[makemkv.OUTPUT_FILE] == "10 Cloverfield Lane.mkv"
    # The playlist of each MakeMKV title: from its attributes, else from the message that
    # added it (titles MakeMKV numbers out of playlist order, and clips as titles).
    assert robot.title_of("00800.mpls") == 0
    assert robot.title_of("00055.MPLS") == 1
    assert robot.title_of("00059.mpls") == 33
    assert robot.title_of("01073.m2ts") == 66
    assert robot.title_of("00001.mpls") is None
    assert (5011, "Operation successfully completed") in robot.messages


def test_a_record_it_does_not_understand_is_ignored():
    robot = makemkv.parse('TINFO:x,16,0,"00800.mpls"\nPRGV:5,10,0\nnot a record\n' + CLOVERFIELD)
    assert robot.title_of("00800.mpls") == 0 and robot.progress is None


def test_source_arguments():
    assert makemkv.source_argument("/dev/sr0", "drive") == "dev:/dev/sr0"
    assert makemkv.source_argument("/x/d.iso", "image") == "iso:/x/d.iso"
    assert makemkv.source_argument("/x/bd", "folder") == "file:/x/bd"


def _encrypted_disc(folder: Path, dest: Path) -> Path:
    """The TV sample as an AACS disc looks without keys, its first playlist renamed 00800
    (the playlist the captured MakeMKV output lists as its title #0)."""
    from test_bluray_steps import _encrypted_copy

    _encrypted_copy(folder, dest)
    playlists = dest / "BDMV" / "PLAYLIST"
    for name in ("00002.mpls", "00003.mpls", "00004.mpls"):
        (playlists / name).unlink()
    (playlists / "00001.mpls").rename(playlists / "00800.mpls")
    return dest


@pytest.fixture
def makemkv_setup(bluray_tv, tmp_path, monkeypatch, home, fp):
    disc = _encrypted_disc(bluray_tv.folder, tmp_path / "enc")
    # What MakeMKV would deliver for the title: the clear clip, remuxed by the real ffmpeg.
    made = tmp_path / "made.mkv"
    fp.allow_unregistered(True)
    subprocess.run(["ffmpeg", "-v", "error", "-i", bluray_tv.folder / "BDMV/STREAM/00001.m2ts",
                    "-map", "0", "-c", "copy", made], check=True)
    program = tmp_path / "makemkvcon"  # only needs to exist: pytest-subprocess runs it
    program.write_text("#!/bin/sh\nexit 99\n")
    program.chmod(0o755)
    monkeypatch.setenv("DIGITIZER_MAKEMKVCON", str(program))
    monkeypatch.setenv("DIGITIZER_MIN_TITLE_SECONDS", "3")
    source = f"file:{disc}"
    fp.register([str(program), "-r", "--noscan", "--minlength=0", "info", source],
                stdout=CLOVERFIELD)
    return disc, program, source, made


def test_encrypted_disc_ripped_through_makemkv(makemkv_setup, run_cli, fp, home):
    disc, program, source, made = makemkv_setup

    def deliver(process):
        folder = Path(process.args[-1])
        shutil.copy(made, folder / "10 Cloverfield Lane.mkv")

    started = CLOVERFIELD.splitlines()[0] + "\n"
    fp.register([str(program), "-r", "--noscan", "--minlength=0", "--decrypt", "--progress=-same",
                 "mkv", source, "0", fp.any(min=1, max=1)],
                stdout=started + 'MSG:5011,0,0,"Operation successfully completed",'
                                 '"Operation successfully completed"\n',
                callback=deliver)
    got = run_cli("rip", disc, "--title", "800")
    assert got.code == 0, got
    [row] = got.objects
    marker = json.loads(Path(row["path"]).with_name(f".{Path(row['path']).name}.digitizer.json")
                        .read_text())
    assert marker["decrypted_by"] == "makemkvcon" and marker["makemkv_title"] == 0
    assert marker["tool_versions"]["makemkvcon"] == "MakeMKV v1.18.1 win(x86-release)"
    assert Path(row["path"]).read_bytes() == made.read_bytes()
    assert not [p for p in Path(row["path"]).parent.iterdir() if p.name.startswith(".title_800")
                and not p.name.endswith(".digitizer.json")]


def test_makemkv_failure_is_one_line_and_leaves_nothing(makemkv_setup, run_cli, fp, home):
    disc, program, source, _ = makemkv_setup
    fp.register([str(program), "-r", "--noscan", "--minlength=0", "--decrypt", "--progress=-same",
                 "mkv", source, "0", fp.any(min=1, max=1)],
                stdout=CLOVERFIELD.splitlines()[0] + "\n", returncode=1)
    got = run_cli("rip", disc, "--title", "800")
    assert got.code == 3, got
    assert "makemkvcon" in got.stderr.strip().splitlines()[-1]
    assert not list((home / "data").rglob("*.mkv"))
    assert not list((home / "data").rglob("*.makemkv"))


def test_a_playlist_makemkv_does_not_list_is_one_clear_error(makemkv_setup, run_cli, fp, home,
                                                             tmp_path):
    disc, program, source, _ = makemkv_setup
    playlists = disc / "BDMV" / "PLAYLIST"
    (playlists / "00800.mpls").rename(playlists / "00001.mpls")
    got = run_cli("rip", disc, "--title", "1")
    assert got.code == 4, got
    assert "MakeMKV lists no title for playlist 00001.mpls" in got.stderr
