"""Blu-ray end to end: every step on real BDMV discs (bdmvkit + udfkit), from a UDF 2.50
image and from a BDMV folder, through the same code: watch --once fills the library with
chapters, languages and subtitles; TV episodes as SxxEyy; decoys held for a person."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _probe(path: Path) -> dict:
    return json.loads(subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_chapters", "-show_format",
         "-of", "json", str(path)], capture_output=True, check=True).stdout)


def _packets(path: Path, selector: str) -> int:
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", selector,
                          "-count_packets", "-show_entries", "stream=nb_read_packets",
                          "-of", "csv=p=0", str(path)], capture_output=True, check=True,
                         text=True).stdout.split()
    return int(out[0])


def _library(home: Path) -> list[str]:
    root = home / "data" / "library"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.mkv"))


@pytest.fixture
def short_titles(monkeypatch):
    # The sample discs' titles are seconds long; real ones are minutes.
    monkeypatch.setenv("DIGITIZER_MIN_TITLE_SECONDS", "3")


def test_movie_from_image_and_folder_fills_the_library_identically(
        bluray_movie, run_cli, home, short_titles, monkeypatch, tmp_path):
    exp = bluray_movie.expected
    # A folder has no volume identifier: the name the disc gives itself labels it.
    for n, (source, label) in enumerate(((bluray_movie.image, "DIGITIZER_BD"),
                                         (bluray_movie.folder, "Digitizer_Test_Movie"))):
        monkeypatch.setenv("DIGITIZER_HOME", str(tmp_path / f"home{n}"))
        got = run_cli("watch", "--once", source, "--movie", "Blu Test (2024)")
        assert got.code == 0, got
        library = tmp_path / f"home{n}" / "data" / "library"
        main = library / "Movies" / "Blu Test (2024)" / "Blu Test (2024).mkv"
        info = _probe(main)
        kinds = [(s["codec_type"], s["codec_name"], s.get("tags", {}).get("language"))
                 for s in info["streams"]]
        assert kinds == [("video", "h264", None), ("audio", "ac3", "eng"), ("audio", "ac3", "fre"),
                         ("subtitle", "hdmv_pgs_subtitle", "eng"),
                         ("subtitle", "hdmv_pgs_subtitle", "fre")]
        assert [s.get("channels") for s in info["streams"][1:3]] == [6, 2]
        starts = [round(float(c["start_time"]), 2) for c in info["chapters"]]
        assert starts == pytest.approx(exp["titles"][0]["chapter_starts"], abs=0.05)
        assert float(info["format"]["duration"]) == pytest.approx(exp["titles"][0]["seconds"],
                                                                 abs=0.2)
        assert sorted(str(p.relative_to(library)) for p in library.rglob("*.mkv")) == [
            "Movies/Blu Test (2024)/Blu Test (2024).mkv",
            f"Movies/Blu Test (2024)/Other/{label} - title 02.mkv"]
        staging = sorted((tmp_path / f"home{n}" / "data" / "staging").rglob("*.mkv"))
        assert not [p for p in staging if p.name.endswith(".part")]
    # The same disc, whether read from its image or its folder: same id, same streams.
    fps = [json.loads(line)["fingerprint"] for line in
           run_cli("fingerprint", bluray_movie.image, bluray_movie.folder).stdout.splitlines()]
    assert fps[0] == fps[1]


def test_rip_from_image_and_folder_is_byte_identical(bluray_movie, run_cli, home, short_titles,
                                                     tmp_path):
    outs = []
    for source in (bluray_movie.image, bluray_movie.folder):
        got = run_cli("rip", source, "--title", "1")
        assert got.code == 0, got
        [row] = got.objects
        outs.append(Path(row["path"]).read_bytes())
        shutil.copy(row["path"], tmp_path / f"r{len(outs)}.mkv")
        run_cli("resume", "--reset", "1", row["fingerprint"])
    assert outs[0] == outs[1]


@pytest.mark.parametrize("form", ["image", "folder"])
def test_tv_disc_files_episodes_not_the_play_all(bluray_tv, run_cli, home, short_titles, form):
    source = getattr(bluray_tv, form)
    scanned = run_cli("scan", source)
    assert scanned.code == 0, scanned
    roles = {t["title"]: (t["role"], t.get("episode")) for t in scanned.objects[0]["titles"]}
    assert roles == {1: ("episode", 1), 2: ("episode", 2), 3: ("episode", 3), 4: ("play_all", None)}
    got = run_cli("watch", "--once", source, "--show", "Test Show (2021)", "--season", "1")
    assert got.code == 0, got
    season = "TV Shows/Test Show (2021)/Season 01"
    assert _library(home) == [f"{season}/Test Show (2021) - s01e0{n}.mkv" for n in (1, 2, 3)]
    for n, title in enumerate(bluray_tv.expected["titles"], 1):
        info = _probe(home / "data" / "library" / season / f"Test Show (2021) - s01e0{n}.mkv")
        assert float(info["format"]["duration"]) == pytest.approx(title["seconds"], abs=0.2)
        assert [c["start_time"] for c in info["chapters"]] == \
            [f"{s:.6f}" for s in (0.0, 3.003)]
        langs = [s.get("tags", {}).get("language") for s in info["streams"][1:]]
        assert langs == (["eng", "eng"] if n == 1 else ["eng"])


def test_decoy_disc_from_its_folder_holds_the_same_decoys(bluray_decoys, run_cli, home,
                                                          short_titles):
    got = run_cli("watch", "--once", bluray_decoys.folder, "--movie", "Decoy Film (2020)")
    assert got.code == 0, got
    film = "Movies/Decoy Film (2020)"
    label = "Decoy_Film"  # a folder is labelled by the name the disc gives itself
    assert _library(home) == [f"{film}/Decoy Film (2020).mkv",
                              f"{film}/Other/{label} - title 05.mkv",
                              f"{film}/Other/{label} - title 11.mkv"]
    [entry] = [o for o in run_cli("review").objects if o["reason"] == "decoys"]
    assert entry["groups"] == [[6, 8, 9]]


def test_decoy_disc_files_the_extended_cut_and_holds_the_decoys(bluray_decoys, run_cli, home,
                                                                short_titles):
    got = run_cli("watch", "--once", bluray_decoys.image, "--movie", "Decoy Film (2020)")
    assert got.code == 0, got
    waiting = [o for o in got.objects if o.get("role") == "decoy"]
    assert waiting and "--pick" in waiting[0]["waiting"]
    film = "Movies/Decoy Film (2020)"
    # The extended cut is the one long title no other plays in another order: the film.
    # The clips listed alone and the duplicate are never ripped; the decoys wait.
    assert _library(home) == [f"{film}/Decoy Film (2020).mkv",
                              f"{film}/Other/DECOY_BD - title 05.mkv",
                              f"{film}/Other/DECOY_BD - title 11.mkv"]
    review = run_cli("review")
    [entry] = [o for o in review.objects if o["reason"] == "decoys"]
    assert entry["groups"] == [[6, 8, 9]]
    root = home / "data" / "library"
    main = root / film / "Decoy Film (2020).mkv"
    # Four clips joined without losing a frame: every video and audio packet of the clips.
    clips = bluray_decoys.folder / "BDMV" / "STREAM"
    for selector in ("v:0", "a:0", "a:1"):
        expected = sum(_packets(clips / f"0000{n}.m2ts", selector) for n in (1, 2, 3, 4))
        assert _packets(main, selector) == expected, selector
    info = _probe(main)
    assert len(info["chapters"]) == 7
    assert [s.get("tags", {}).get("language") for s in info["streams"][1:]] == ["eng", "ger", "eng"]
    # The cut that starts mid-clip: half of clip 1, then clips 2 and 4, audio whole.
    partial = root / film / "Other" / "DECOY_BD - title 11.mkv"
    assert float(_probe(partial)["format"]["duration"]) == pytest.approx(20.02, abs=0.2)
    assert _packets(partial, "v:0") == sum(_packets(clips / f"0000{n}.m2ts", "v:0")
                                           for n in (2, 4)) + _packets(clips / "00001.m2ts", "v:0") // 2
    assert _packets(partial, "a:0") >= 2 * _packets(clips / "00002.m2ts", "a:0") + 125

    # status names what waits, with the command; a wrong pick lists the right ones
    [waiting] = json.loads(run_cli("status", "--json").stdout)["waiting"]
    assert waiting["state"] == "decoys" and waiting["next"].endswith("--pick N (N: 6 or 8 or 9)")
    wrong = run_cli("review", "approve", entry["fingerprint"][:12], "--pick", "5")
    assert wrong.code == 2 and wrong.stderr.strip().endswith("pick 6 or 8 or 9"), wrong
    picked = run_cli("review", "approve", entry["fingerprint"][:12], "--pick", "6")
    assert picked.code == 0, picked
    assert f"{film}/Other/DECOY_BD - title 06.mkv" in _library(home)
    assert not any("title 08" in p or "title 09" in p for p in _library(home))
    assert not [o for o in run_cli("review").objects if o["reason"] == "decoys"]
    bad = run_cli("review", "approve", entry["fingerprint"][:12], "--pick", "8")
    assert bad.code == 2 and "not one of the disc's decoys" in bad.stderr
    assert "has no decoys waiting" in bad.stderr


def test_hostile_image_path_is_one_argument(bluray_tv, run_cli, home, short_titles, tmp_path):
    odd = tmp_path / "it's a | disc; $(reboot).iso"
    odd.symlink_to(bluray_tv.image)
    got = run_cli("rip", odd, "--title", "2")
    assert got.code == 0, got
    [row] = got.objects
    assert float(_probe(Path(row["path"]))["format"]["duration"]) == pytest.approx(6.006, abs=0.2)


def _encrypted_copy(folder: Path, dest: Path) -> Path:
    """The sample disc as a pressed, AACS-encrypted disc looks to a reader without keys:
    an AACS folder, and every aligned unit of the clips scrambled after its first 16 bytes."""
    shutil.copytree(folder, dest)
    (dest / "AACS").mkdir()
    (dest / "AACS" / "Unit_Key_RO.inf").write_bytes(bytes(range(256)) * 4)
    for clip in (dest / "BDMV" / "STREAM").iterdir():
        data = bytearray(clip.read_bytes())
        for at in range(0, len(data), 6144):
            for k in range(at + 16, min(at + 6144, len(data))):
                data[k] ^= 0xA5
        clip.write_bytes(bytes(data))
    return dest


def test_encrypted_disc_is_named_and_waits_without_a_garbage_rip(bluray_tv, run_cli, home,
                                                                 short_titles, tmp_path):
    disc = _encrypted_copy(bluray_tv.folder, tmp_path / "enc")
    [info] = run_cli("detect", disc).objects
    assert info["encrypted"] == "aacs"
    fp = run_cli("fingerprint", disc).objects[0]
    assert fp["ids"]["aacs"] is not None
    scanned = run_cli("scan", disc)
    assert scanned.code == 0 and "AACS-encrypted" in scanned.stderr
    got = run_cli("rip", disc, "--title", "1")
    assert got.code == 4, got
    # scan's warning, then the one line of the error
    assert "MakeMKV" in got.stderr.strip().splitlines()[-1]
    assert not list((home / "data").rglob("*.mkv"))
    assert not list((home / "data").rglob("*.part"))


def test_tv_disc_in_a_drive_same_as_its_image(bluray_tv, run_cli, home, short_titles,
                                              monkeypatch):
    """A block device (a loop device stands in for a drive) holding the disc goes through
    the same code: same fingerprint as the image, episodes filed."""
    from test_data_discs import loop_device

    monkeypatch.setenv("DIGITIZER_EJECT_AFTER_RIP", "false")
    with loop_device(bluray_tv.image) as device:
        [seen] = run_cli("detect", device).objects
        assert (seen["disc_type"], seen["label"], seen["encrypted"]) == \
            ("bluray", "SHOW_BD_S1", None)
        fps = {run_cli("fingerprint", s).objects[0]["fingerprint"]
               for s in (device, bluray_tv.image, bluray_tv.folder)}
        assert len(fps) == 1
        got = run_cli("watch", "--once", device, "--show", "Test Show (2021)", "--season", "1")
        assert got.code == 0, got
    season = "TV Shows/Test Show (2021)/Season 01"
    assert _library(home) == [f"{season}/Test Show (2021) - s01e0{n}.mkv" for n in (1, 2, 3)]
