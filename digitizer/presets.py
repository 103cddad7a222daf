"""Transcode presets: the built-in ones and the config's [presets.NAME] tables.

Kept apart from steps/transcode.py (which imports ffmpeg, the cluster and progress bars) so
that reading the config can check the preset names it gives at no cost: a name that does not
exist is refused there, by every command, not found by the first transcode of a `watch`.
"""

from __future__ import annotations

from digitizer.errors import UsageError

# Built-in presets. `video` is the software encoder's arguments; `hw` names a hardware
# family whose arguments are in `hw_video` (tried first, software on failure). On a cluster
# a preset's `resources` (for `hw` presets GPU=1 unless given) choose the workers.
PRESETS: dict[str, dict] = {
    # x264's frame threads: a title redone after a crash is verified like the first run but
    # not byte-identical to it (frame threads vary by a few bytes from run to run). Slices
    # (-x264-params sliced-threads=1) would make it identical, at a cost measured on the
    # 60 s noisy 480p bench title on 2 idle cores: 15.3-15.4 s against 12.3-13.0 s, about
    # 20 % of every transcode, for -0.16 % size. The rule: identical only if free.
    "h264": {"description": "H.264, x264 CRF 20 veryfast (HandBrake 'Fast' quality, plays everywhere)",
             "video": ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20"],
             "audio": "keep", "subtitles": True},
    "hevc": {"description": "H.265, x265 CRF 22 fast (about half the size of h264)",
             "video": ["-c:v", "libx265", "-preset", "fast", "-crf", "22", "-tag:v", "hvc1",
                       "-x265-params", "log-level=error"],
             "audio": "keep", "subtitles": True},
    "av1": {"description": "AV1, SVT-AV1 preset 8 CRF 32 (smallest; slowest to play on old devices)",
            "video": ["-c:v", "libsvtav1", "-preset", "8", "-crf", "32"],
            "audio": "keep", "subtitles": True},
    "h264-vaapi": {"description": "H.264 on a VA-API GPU (Intel/AMD), x264 when none works",
                   "hw": "vaapi",
                   "hw_input": ["-vaapi_device", "/dev/dri/renderD128"],
                   "hw_video": ["-filter:v:0", "format=nv12,hwupload", "-c:v", "h264_vaapi",
                                "-qp", "22"],
                   "video": ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20"],
                   "audio": "keep", "subtitles": True},
    "h264-nvenc": {"description": "H.264 on an NVIDIA GPU (NVENC), x264 when none works",
                   "hw": "nvenc", "hw_video": ["-c:v", "h264_nvenc", "-preset", "p5", "-cq", "21"],
                   "video": ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20"],
                   "audio": "keep", "subtitles": True},
    "h264-qsv": {"description": "H.264 on Intel Quick Sync, x264 when none works",
                 "hw": "qsv", "hw_video": ["-c:v", "h264_qsv", "-global_quality", "22"],
                 "video": ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20"],
                 "audio": "keep", "subtitles": True},
    "copy": {"description": "remux only: no re-encoding (fast, lossless, large)",
             "video": ["-c:v", "copy"], "audio": "keep", "subtitles": True},
}
AUDIO_MODES = ("keep", "aac-stereo", "aac")


def presets(user: dict) -> dict[str, dict]:
    merged = dict(PRESETS)
    for name, body in (user or {}).items():
        if not isinstance(body, dict) or not isinstance(body.get("video"), list):
            raise UsageError(f"preset {name!r}: needs video = [ffmpeg arguments]")
        if body.get("audio", "keep") not in AUDIO_MODES:
            raise UsageError(f"preset {name!r}: audio must be one of {', '.join(AUDIO_MODES)}")
        wanted = body.get("resources", {})
        if not isinstance(wanted, dict) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0
                for v in wanted.values()):
            raise UsageError(f"preset {name!r}: resources must be a table of positive "
                             "numbers, e.g. {GPU = 1}")
        merged[name] = dict({"audio": "keep", "subtitles": True,
                             "description": "user preset"}, **body)
    return merged


def get_preset(name: str, user: dict) -> dict:
    all_presets = presets(user)
    if name not in all_presets:
        raise UsageError(f"unknown preset {name!r}; see `digitizer transcode --list-presets`")
    return dict(all_presets[name], name=name)
