"""Parsers and role rules, on outputs captured from the real tools (tests/data)."""

from pathlib import Path

import pytest

from digitizer import roles
from digitizer.formats import dvd as scan
from digitizer.tools import ffmpeg as media
from digitizer.tools import lsdvd
from digitizer.errors import SourceError

DATA = Path(__file__).parent / "data"


def test_lsdvd_banner_on_stdout_is_skipped_and_ntsc_times_corrected():
    data = lsdvd.parse((DATA / "lsdvd_x_Oy.txt").read_text())
    titles = [scan.title_from_track(t) for t in data["track"]]
    main = titles[0]
    assert main["duration"] == pytest.approx(119.867 * 1.001, abs=0.001)
    assert len(main["chapters"]) == 8 and main["chapters"][1] == pytest.approx(15.015, abs=0.001)
    assert [a["lang"] for a in main["audio"]] == ["en", "fr"]
    assert [(a["codec"], a["channels"]) for a in main["audio"]] == [("ac3", 6), ("ac3", 2)]
    assert [s["stream_id"] for s in main["subtitles"]] == ["0x20", "0x21"]
    assert main["video"] == {"width": 720, "height": 480, "aspect": "16:9", "standard": "NTSC",
                             "fps": 29.97, "frame_rate": "30000/1001", "interlaced": None}
    assert titles[4]["audio"][0]["codec"] == "lpcm"  # lsdvd says 'lpcm ' with a space
    assert titles[4]["video"]["aspect"] == "4:3"
    assert main["size"] == sum((c["last_sector"] - c["first_sector"] + 1) * 2048
                               for c in main["cells"]) > 0


def test_lsdvd_failure_is_a_source_error(fp):
    fp.register([fp.program("lsdvd"), "-x", "-Oy", "/nonexistent"], returncode=1,
                stdout=(DATA / "lsdvd_missing.stdout").read_text(),
                stderr=(DATA / "lsdvd_missing.stderr").read_text())
    fp.allow_unregistered(False)
    with pytest.raises(SourceError, match="lsdvd cannot read this disc: Can't find device"):
        scan.read_titles("/nonexistent", "lsdvd")


def test_lsdvd_output_through_the_runner(fp):
    fp.register([fp.program("lsdvd"), "-x", "-Oy", "/discs/a.iso"],
                stdout=(DATA / "lsdvd_x_Oy.txt").read_text())
    disc, titles = scan.read_titles("/discs/a.iso", "lsdvd")
    assert disc["longest_track"] == 1 and len(titles) == 5


def test_roles_of_the_standard_disc():
    data = lsdvd.parse((DATA / "lsdvd_x_Oy.txt").read_text())
    titles = roles.assign([scan.title_from_track(t) for t in data["track"]], 10)
    assert [t["role"] for t in titles] == ["main", "extra", "extra", "short", "extra"]


def test_play_all_found_by_shared_cells():
    data = lsdvd.parse((DATA / "lsdvd_episodes_Oy.txt").read_text())
    titles = roles.assign([scan.title_from_track(t) for t in data["track"]], 5)
    assert [t["role"] for t in titles] == ["play_all", "episode", "episode", "episode",
                                            "episode", "short"]
    assert [t.get("episode") for t in titles] == [None, 1, 2, 3, 4, None]


def _t(n, duration, chapters=None, segments=None):
    return {"title": n, "duration": duration, "chapters": chapters or [0.0], "segments": segments}


def test_ninety_nine_titles_playing_the_same_cells_make_one_main():
    titles = [_t(n, 5400.0, [0.0, 600.0, 1200.0], [[1, 0, 99], [1, 100, 199]])
              for n in range(1, 100)]
    roles.assign(titles, 10)
    assert [t["role"] for t in titles].count("main") == 1
    assert {t["role"] for t in titles[1:]} == {"duplicate"}
    assert {t["duplicate_of"] for t in titles[1:]} == {1}


def test_equal_length_is_never_proof_of_a_duplicate():
    # Eight anime episodes of 23:43 with the same chapter layout, each its own clip.
    marks = [0.0, 90.0, 700.0, 1333.0]
    titles = roles.assign([_t(n, 1423.0, marks, [n]) for n in range(1, 9)], 10)
    assert [t["role"] for t in titles] == ["episode"] * 8
    assert [t["episode"] for t in titles] == list(range(1, 9))


def test_cuts_of_one_film_are_versions_not_episodes():
    theatrical = _t(1, 9720.0, segments=[10, 11, 12, 13, 14, 15])
    extended = _t(2, 10250.0, segments=[10, 21, 12, 22, 14, 15])
    special = _t(3, 10700.0, segments=[10, 21, 12, 22, 14, 31])
    titles = roles.assign([theatrical, extended, special, _t(4, 600.0, segments=[40])], 10)
    assert [t["role"] for t in titles] == ["extra", "extra", "main", "extra"]
    assert theatrical["version_of"] == extended["version_of"] == 3


def test_play_all_order_numbers_the_episodes_and_mixed_lengths_stay_episodes():
    # A Blu-ray series: episodes are clips 5, 3, 4 in play order; one is a double episode.
    eps = [_t(1, 1300.0, segments=[3]), _t(2, 2610.0, segments=[4]), _t(3, 1310.0, segments=[5])]
    titles = roles.assign(eps + [_t(4, 5220.0, segments=[5, 3, 4]), _t(5, 120.0, segments=[9])], 10)
    assert [t["role"] for t in titles] == ["episode"] * 3 + ["play_all", "extra"]
    assert [t["episode"] for t in eps] == [2, 3, 1]


def test_play_all_by_length_alone_needs_three_alike_titles():
    # No chapter times, no segments (what a catalogue record gives): 3 x 663 s add up to the
    # play-all; a 1268 s featurette equal to 104 + 146 + 1018 s extras is not one.
    eps = [_t(n, 663.0, None) for n in (1, 2, 3)]
    for t in eps:
        t["chapters"] = None
    pa = _t(4, 1989.0)
    pa["chapters"] = None
    extras = [_t(5, 104.0), _t(6, 146.0), _t(7, 1018.0), _t(8, 1268.0)]
    for t in extras:
        t["chapters"] = None
    titles = roles.assign(eps + [pa] + extras, 10)
    assert [t["role"] for t in titles] == ["episode"] * 3 + ["play_all"] + ["extra"] * 4


def test_no_chapters_no_segments_still_gives_a_main_feature():
    titles = [{"title": n, "duration": d, "chapters": None, "segments": None, "size": None}
              for n, d in ((1, 5400.0), (2, 620.0), (3, 610.0), (4, 640.0), (5, 5.0))]
    roles.assign(titles, 10)
    assert [t["role"] for t in titles] == ["main", "extra", "extra", "extra", "short"]


def test_coincidental_length_sum_is_not_play_all():
    # 30 s main = 18 s + 12 s extras, but no chapter mark at 18 s: still the main feature.
    titles = roles.assign([_t(1, 30.0, [0.0, 4.2, 16.2, 19.8]), _t(2, 18.0), _t(3, 12.0)], 10)
    assert [t["role"] for t in titles] == ["main", "extra", "extra"]


def test_play_all_by_length_needs_chapter_marks_at_the_joins():
    eps = [_t(n, 1320.0 + n) for n in range(2, 6)]
    marks, pos = [], 0.0
    for e in eps:
        marks.append(pos)
        pos += e["duration"]
    titles = roles.assign([_t(1, pos, marks)] + eps + [_t(6, 95.0)], 10)
    assert [t["role"] for t in titles] == ["play_all"] + ["episode"] * 4 + ["extra"]


def test_main_feature_uses_the_07_threshold_not_only_longest():
    # A 100 min film, its 75 min alternate cut: one main, the cut is an extra; no episodes.
    titles = roles.assign([_t(1, 4500.0), _t(2, 6000.0), _t(3, 600.0)], 10)
    assert [t["role"] for t in titles] == ["extra", "main", "extra"]


def test_idet_on_captured_output():
    inter = (DATA / "ffmpeg_idet_interlaced.txt").read_text()
    prog = (DATA / "ffmpeg_idet_progressive.txt").read_text()
    assert media.parse_idet(inter) is True
    # testsrc2's sharp lines fool idet; the stream's own progressive flag decides.
    assert media.parse_probe(prog)["streams"][0]["field_order"] == "progressive"
    assert media.parse_probe(inter)["streams"][0]["field_order"] == "top first"


def test_probe_parser_on_a_transcoded_file():
    info = media.parse_probe((DATA / "ffmpeg_probe_transcoded.txt").read_text())
    assert info["duration"] == pytest.approx(30.0, abs=0.1)
    assert len(info["chapters"]) == 8
    kinds = [(s["type"], s["codec"], s["lang"]) for s in info["streams"]]
    assert kinds == [("video", "h264", "und"), ("audio", "ac3", "eng"), ("audio", "ac3", "fre"),
                     ("subtitle", "dvd_subtitle", "eng"), ("subtitle", "dvd_subtitle", "fre")]
    assert info["streams"][1]["channels"] == 6


def test_transcode_decodes_for_idet_only_when_the_probe_does_not_say_progressive(fp):
    from digitizer.steps import transcode as tc

    prog = (DATA / "ffmpeg_idet_progressive.txt").read_text()
    inter = (DATA / "ffmpeg_idet_interlaced.txt").read_text()
    # Coded progressive: the verdict comes from the probe, and no process runs (fp would
    # raise ProcessNotRegistered for any).
    assert tc.detect_interlace(Path("/t/title_01.mkv"), "ffmpeg", media.parse_probe(prog)) is False
    # Coded interlaced: idet decides, on one ffmpeg run over the file.
    fp.register([fp.program("ffmpeg"), fp.any()], stderr=inter)
    assert tc.detect_interlace(Path("/t/title_01.mkv"), "ffmpeg", media.parse_probe(inter)) is True
    assert fp.call_count([fp.program("ffmpeg"), fp.any()]) == 1


def test_thread_args_one_decoder_thread_for_sd_and_two_spare_x264_frames_on_small_machines():
    from digitizer.steps import transcode as tc

    sd = media.parse_probe((DATA / "ffmpeg_probe_transcoded.txt").read_text())
    x264 = tc.PRESETS["h264"]["video"]
    assert tc.thread_args(x264, sd, 2) == (["-threads", "1"], ["-threads:v", "4"])
    # From 4 cores x264's own 1.5 per core is at least cores + 2.
    assert tc.thread_args(x264, sd, 4) == (["-threads", "1"], [])
    assert tc.thread_args(x264, sd, 16) == (["-threads", "1"], [])
    # Other encoders keep their own threads; HD decodes with ffmpeg's threads.
    assert tc.thread_args(tc.PRESETS["hevc"]["video"], sd, 2) == (["-threads", "1"], [])
    assert tc.thread_args(tc.PRESETS["av1"]["video"], sd, 2) == ([], [])
    hd = {"streams": [dict(sd["streams"][0], height=1080, width=1920)]}
    assert tc.thread_args(x264, hd, 2) == ([], ["-threads:v", "4"])
    # A preset that sets threads itself is left alone.
    assert tc.thread_args([*x264, "-threads", "2"], sd, 2) == ([], [])


def test_a_source_taller_than_1080_lines_gets_the_uhd_preset():
    from types import SimpleNamespace

    from digitizer.steps import transcode as tc

    cfg = SimpleNamespace(preset="h264", preset_uhd="hevc")
    uhd = {"streams": [{"type": "audio"}, {"type": "video", "height": 2160}]}
    hd = {"streams": [{"type": "video", "height": 1080}]}
    assert [tc.default_preset(r, cfg) for r in (uhd, hd, {})] == ["hevc", "h264", "h264"]
    assert tc.default_preset(uhd, SimpleNamespace(preset="h264", preset_uhd="")) == "h264"
    assert [tc.codec_of(v) for v in (["-c:v", "copy"], ["-crf", "20"], ["-c:v"])] == \
        ["copy", None, None]
