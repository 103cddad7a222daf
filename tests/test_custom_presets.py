"""Presets of one's own (issue 29): the README's `[presets.NAME]` table with its `audio`
choices (keep, aac-stereo, aac) and `subtitles`, run on a real rip and probed."""

import pytest

from digitizer import markers
from digitizer.tools import ffmpeg as media

PRESETS = """
[presets.keep]
video = ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "30"]
[presets.stereo]
video = ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "30"]
audio = "aac-stereo"
[presets.allaac]
video = ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "30"]
audio = "aac"
subtitles = false
"""


def _streams(path, kind):
    return [s for s in media.probe(path, media.binary())["streams"] if s["type"] == kind]


@pytest.fixture
def ripped(run_cli, home, pal_disc):
    (home / "config").mkdir(parents=True)
    (home / "config" / "config.toml").write_text(PRESETS)
    r = run_cli("rip", pal_disc.iso, "--title", "1")
    assert r.code == 0, r
    return r.objects[0]["path"]


@pytest.mark.parametrize("preset", ["keep", "stereo", "allaac"])
def test_a_presets_audio_and_subtitle_choices(run_cli, ripped, preset):
    source_audio, source_subs = _streams(ripped, "audio"), _streams(ripped, "subtitle")
    assert source_audio and source_subs  # the sample's main title has both
    r = run_cli("transcode", ripped, "--preset", preset)
    assert r.code == 0, r
    out = r.objects[0]["path"]
    audio, subs = _streams(out, "audio"), _streams(out, "subtitle")
    assert [s["codec"] for s in _streams(out, "video")] == ["h264"]
    if preset == "keep":
        assert [a["codec"] for a in audio] == [a["codec"] for a in source_audio]
        assert len(subs) == len(source_subs)
    elif preset == "stereo":
        # every track kept as it was, and one AAC stereo track more
        assert [a["codec"] for a in audio] == [a["codec"] for a in source_audio] + ["aac"]
        assert audio[-1]["channels"] == 2
        assert len(subs) == len(source_subs)
    else:
        assert [a["codec"] for a in audio] == ["aac"] * len(source_audio)
        assert subs == []
    assert markers.artefact(out)["preset"] == preset
