"""Hardware presets (issue 29) on the machine the tests run on, whatever it has: each
preset's encoder is first tried here directly, on a test pattern, with ffmpeg alone; then
digitizer must use the hardware exactly when that worked, and otherwise encode in software
with one notice naming the hardware. A machine with a GPU checks the first half, one
without checks the second."""

import subprocess

import pytest

from digitizer import markers
from digitizer.steps.transcode import PRESETS
from digitizer.tools import ffmpeg as media

HARDWARE = sorted(name for name, preset in PRESETS.items() if preset.get("hw"))


def works_here(preset: dict) -> bool:
    """Does this machine's GPU encode with the preset's settings? Asked of ffmpeg with no
    digitizer code in between: one second of a test pattern, encoded and thrown away."""
    argv = [media.binary(), "-hide_banner", "-nostdin", "-v", "error",
            *preset.get("hw_input", []), "-f", "lavfi", "-i", "testsrc2=size=720x480:rate=30",
            "-t", "1", *preset["hw_video"], "-f", "null", "-"]
    return subprocess.run(argv, capture_output=True, timeout=120).returncode == 0


def test_the_three_gpu_presets_exist():
    assert HARDWARE == ["h264-nvenc", "h264-qsv", "h264-vaapi"]


@pytest.mark.parametrize("name", HARDWARE)
def test_a_hardware_preset_uses_the_gpu_exactly_when_it_works_here(run_cli, movie_disc, name):
    preset = PRESETS[name]
    ripped = run_cli("rip", movie_disc.iso, "--title", "3")
    assert ripped.code == 0, ripped
    r = run_cli("transcode", ripped.objects[0]["path"], "--preset", name)
    assert r.code == 0, r
    out = r.objects[0]["path"]
    marker = markers.artefact(out)
    notices = [line for line in r.stderr.splitlines() if "notice" in line]
    if works_here(preset):
        assert notices == [] and marker["encoder_note"] is None
        assert marker["video_args"] == preset["hw_video"]
    else:
        assert len(notices) == 1 and f"{preset['hw']} unavailable" in notices[0]
        assert marker["encoder_note"].startswith(f"{preset['hw']} unavailable")
        assert marker["video_args"] == preset["video"]
    probed = media.probe(out, media.binary())
    assert [s["codec"] for s in probed["streams"] if s["type"] == "video"] == ["h264"]
