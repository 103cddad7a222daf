"""transcode: a ripped MKV to a smaller one with a TOML preset, keeping every audio and
subtitle stream and the chapters.

Interlacing is measured (ffmpeg's idet filter over the first seconds), never assumed, and
bwdif deinterlaces only when the fields really differ. A preset may ask for a hardware
encoder; it is tried on one second of the real input first and, when it does not work on
this machine, the software encoder of the preset runs instead, with a one-line notice.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from digitizer import markers
from digitizer.cluster import Cluster
from digitizer.errors import ToolFailed, UsageError, warn
# The presets (built-in and the config's) live in digitizer/presets.py, which config.py
# reads too: a preset name is checked when the config is read.
from digitizer.presets import AUDIO_MODES, PRESETS, get_preset, presets  # noqa: F401
from digitizer.progress import Bar
from digitizer.steps.claim import STOPPING, chain_of, claimed
from digitizer.tools import ffmpeg as ff
from digitizer.tools import run

DEINTERLACE = "bwdif=mode=send_frame:parity=auto:deint=all"


def detect_interlace(path: Path, ffmpeg: str, info: dict | None = None) -> bool:
    """Measured by idet, unless `info` (the file's probe) says the video is coded
    progressive: then no field can differ from the other, and decoding 240 frames to say so
    cost about 3 % of a one-minute h264 encode (0.37 s of 12.5 s in `make bench`)."""
    if info and ff.coded_progressive(info):
        return False
    return bool(ff.interlaced(ffmpeg, ["-i", ff.url(path)]))


def stream_args(preset: dict, info: dict, deinterlace: bool, video: list[str]) -> list[str]:
    argv = ["-map", "0:v:0"]
    audio = [s for s in info["streams"] if s["type"] == "audio"]
    subs = [s for s in info["streams"] if s["type"] == "subtitle"]
    argv += ["-map", "0:a?"]
    if preset["audio"] == "aac-stereo" and audio:
        argv += ["-map", "0:a:0"]
    if preset.get("subtitles", True) and subs:
        argv += ["-map", "0:s?"]
    argv += ["-map_chapters", "0", "-map_metadata", "0"]
    video = list(video)
    if deinterlace:
        # bwdif goes first in the chain: a hardware preset's own filter uploads frames after.
        if "-filter:v:0" in video:
            i = video.index("-filter:v:0") + 1
            video[i] = f"{DEINTERLACE},{video[i]}"
        else:
            video = ["-filter:v:0", DEINTERLACE, *video]
    argv += video
    if preset["audio"] == "aac":
        argv += ["-c:a", "aac", "-b:a", "192k"]
    else:
        argv += ["-c:a", "copy"]
        if preset["audio"] == "aac-stereo" and audio:
            n = len(audio)
            argv += [f"-c:a:{n}", "aac", f"-ac:a:{n}", "2", f"-b:a:{n}", "160k",
                     f"-metadata:s:a:{n}", f"language={audio[0]['lang']}",
                     f"-metadata:s:a:{n}", "title=Stereo"]
    argv += ["-c:s", "copy"]
    return argv


def codec_of(video: list[str]) -> str | None:
    """The encoder a preset's video arguments name (-c:v), or None."""
    return video[video.index("-c:v") + 1] if "-c:v" in video[:-1] else None


def video_height(streams: list[dict]) -> int:
    """The tallest video stream's lines (0 when none says)."""
    return max((s.get("height") or 0 for s in streams if s.get("type") == "video"), default=0)


def thread_args(video: list[str], info: dict, cpus: int) -> tuple[list[str], list[str]]:
    """(decoder arguments before -i, encoder arguments) for the threads of one encode.

    Measured in `make bench` on 2 cores (60 s 480p MPEG-2 title, x264 veryfast, five paired
    rounds): one decoder thread and four x264 frame threads ran 1.03-1.20x (median 1.05x)
    faster than ffmpeg's defaults, at the same CPU time and size within 0.01 %.
    - An SD video (576 lines or fewer, every DVD) decodes at over 1500 fps on one thread; the
      decoder's own frame threads only take turns away from the encoder. For x265 too
      (1.01-1.06x, three rounds); SVT-AV1 was 1.4 % slower with it (four rounds), so it
      keeps ffmpeg's decoder threads.
    - x264 picks 1.5 frame threads per core; on a small machine that leaves cores idle while
      frames wait for their references, and two spare frames keep them busy. From 4 cores on
      x264's own count is already at least cores + 2, so nothing is added.
    A preset that sets -threads itself is left alone."""
    if "-threads" in video or any(a.startswith("-threads:") for a in video):
        return [], []
    height, codec = video_height(info.get("streams", [])), codec_of(video)
    decoder = ["-threads", "1"] if 0 < height <= 576 and codec in ("libx264", "libx265") else []
    encoder = ["-threads:v", str(cpus + 2)] if codec == "libx264" and cpus + 2 > cpus * 3 // 2 \
        else []
    return decoder, encoder


def cpus() -> int:
    """The cores this process may run on (a cgroup or taskset limits them, not the machine)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def hw_works(ffmpeg: str, path: Path, preset: dict) -> str | None:
    """None when the hardware encoder encodes one second of this input, else why not."""
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-v", "error", *preset.get("hw_input", []),
            "-t", "1", "-i", ff.url(path), "-map", "0:v:0", *preset["hw_video"],
            "-f", "null", "-"]
    try:
        run.run(argv, timeout=60)
    except ToolFailed as exc:
        return str(exc)
    return None


def output_path(folder: Path, source: Path, preset: str) -> Path:
    return folder / f"{source.stem}.{preset}.mkv"


def encode(src: Path, part: Path, preset: dict, ffmpeg: str, progress,
           source_info: dict | None = None) -> dict:
    """The file work, a pure function of paths: encode `src` into `part` with the preset,
    verify it (duration, every stream) and return the facts for its marker. Calls
    progress(seconds done) as ffmpeg reports; a failure leaves no `part` behind.
    `source_info` is src's probe when the caller has it already."""
    try:
        source_info = source_info or ff.probe(src, ffmpeg)
        video, input_args = preset["video"], []
        encoder_note, hardware = None, False
        if preset.get("hw"):
            why = hw_works(ffmpeg, src, preset)
            if why is None:
                video, input_args = preset["hw_video"], preset.get("hw_input", [])
                hardware = True
            else:
                encoder_note = f"{preset['hw']} unavailable ({why}); using software encoding"
                warn(encoder_note, "notice")
        copying = codec_of(video) == "copy"
        interlaced = False if copying else detect_interlace(src, ffmpeg, source_info)
        decoder, encoder = ([], []) if copying or hardware \
            else thread_args(video, source_info, cpus())
        argv = [ffmpeg, "-hide_banner", "-nostdin", "-y", "-v", "error", *input_args,
                *decoder, "-i", ff.url(src),
                *stream_args(preset, source_info, interlaced, video), *encoder,
                "-fflags", "+bitexact", "-flags:v", "+bitexact",
                "-progress", "pipe:1", "-nostats", "-f", "matroska", ff.url(part)]
        t0 = time.monotonic()
        frames = 0
        with run.Process(argv) as proc:
            for stream, line in proc.lines():
                if stream == "stdout":
                    progress(ff.progress_seconds(line))
                    frames = ff.progress_frames(line) or frames
            proc.wait()
        elapsed = time.monotonic() - t0
        info = verify(part, ffmpeg, source_info, preset)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return {"duration": info["duration"], "streams": info["streams"],
            "chapters": len(info["chapters"]), "preset": preset["name"], "video_args": video,
            "thread_args": decoder + encoder,
            "deinterlaced": interlaced, "encoder_note": encoder_note,
            "fps": round(frames / elapsed, 1) if elapsed > 0 else None,
            "tool_versions": {"ffmpeg": run.version(ffmpeg)}}


def verify(part: Path, ffmpeg: str, source_info: dict, preset: dict) -> dict:
    """An encode is finished when it lasts as long as its source and kept every stream the
    preset keeps; ff.verify's probe, else VerificationFailed."""
    return ff.verify(part, ffmpeg, duration=source_info["duration"],
                     audio=ff.count(source_info, "audio"),
                     subtitles=ff.count(source_info, "subtitle")
                     if preset.get("subtitles", True) else 0)


def transcode_file(path: Path, *, fingerprint: str, title: int, folder: Path, preset: dict,
                   catalog, ffmpeg: str, extra: dict, chain: tuple[str, ...],
                   cluster=None, ffmpeg_setting: str = "", redo_done: bool = True) -> dict:
    """The coordinator's side of a transcode: claim, encode here or on `cluster` (a
    cluster.Cluster), then verify, rename, write the marker and the catalog."""
    final = output_path(folder, path, preset["name"])
    existing = markers.artefact(final)
    if existing and existing.get("step") == "transcode":
        catalog.ensure_steps(fingerprint, title, chain)
        catalog.set_step(fingerprint, title, "transcode", state="done", output=str(final))
        return {"path": str(final), "duration": existing.get("duration"),
                "size": existing["size"], "skipped": True}
    with claimed(catalog, fingerprint, title, "transcode", chain, redo_done=redo_done) as step:
        source_info = ff.probe(path, ffmpeg)
        bar = Bar(source_info["duration"] or 0, f"transcode title {title}", step["beat"])
        try:
            if cluster is None:
                part = final.with_name(final.name + ".part")
                facts = encode(path, part, preset, ffmpeg, bar, source_info)
            else:
                facts, part = _encode_on(cluster, path, final, preset, ffmpeg, ffmpeg_setting,
                                         source_info, bar, catalog, step,
                                         f"{fingerprint[:12]}-{title:02d}")
        finally:
            bar.close()
        os.replace(part, final)
        if cluster is not None:
            # Attempts of workers that died before they finished: nothing writes them now
            # (their ffmpeg died with the worker), and only this coordinator renames.
            for leftover in folder.glob(f"{final.name}.*.part"):
                leftover.unlink(missing_ok=True)
        markers.write_artefact(final, step="transcode", fingerprint=fingerprint, title=title,
                               input=str(path), **facts, **extra)
        # Before the step is done: from then on insert (of this or another process) may
        # move the file away.
        size = final.stat().st_size
        catalog.finish(step["id"], str(final))
    catalog.add_event("title_transcoded", fingerprint, title, path=str(final),
                      preset=preset["name"], **({"worker": facts["worker"]}
                                                if facts.get("worker") else {}))
    return {"path": str(final), "duration": facts["duration"], "size": size,
            "deinterlaced": facts["deinterlaced"], "fps": facts["fps"], "skipped": False,
            **({"worker": facts["worker"]} if facts.get("worker") else {})}


def _encode_on(cluster, path: Path, final: Path, preset: dict, ffmpeg: str,
               ffmpeg_setting: str, source_info: dict, bar, catalog, step, label) -> tuple:
    """encode() on a worker of the cluster; the coordinator verifies what it wrote (over
    the shared storage, as insert will read it) before it is renamed."""
    facts, part, worker = cluster.encode(
        encode, src=path, final=final, preset=preset, ffmpeg=ffmpeg_setting,
        source_info=source_info, label=label, progress=bar,
        on_worker=lambda name: catalog.set_runner(step["id"], name), stopping=STOPPING)
    try:
        verify(part, ffmpeg, source_info, preset)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    if facts.get("encoder_note"):
        warn(f"{facts['encoder_note']} (on worker {worker})", "notice")
    return dict(facts, worker=worker), part


def default_preset(rip: dict, cfg) -> str:
    """The configured preset, or for a 4K source (taller than 1080 lines) `preset_uhd`."""
    height = video_height(rip.get("streams") or [])
    return cfg.preset_uhd if height > 1080 and cfg.preset_uhd else cfg.preset


def transcode(path: str, catalog, cfg, *, preset_name: str | None = None,
              known: dict | None = None, redo_done: bool = True) -> dict:
    """Transcode one ripped file (identified by its rip marker, or by `known` from stdin).
    `redo_done` False: AlreadyDone when the catalog says another worker did it since."""
    src = Path(path)
    rip = markers.artefact(src)
    if rip is None or rip.get("step") != "rip":
        if not src.exists():
            raise UsageError(f"{path}: no such file")
        raise UsageError(f"{path}: not a verified rip (no rip marker beside it); "
                         "run `digitizer rip` or `digitizer resume`")
    fp, title = rip["fingerprint"], rip["title"]
    preset = get_preset(preset_name or default_preset(rip, cfg), cfg.presets)
    ffmpeg = ff.binary(cfg.ffmpeg)
    # The output folder is the disc's folder name under the configured one: from the catalog,
    # else from the real path (never `..` or whatever a piped path spells).
    disc_folder = (catalog.disc(fp) or {}).get("folder")
    folder = cfg.path_of("transcoded") / Path(disc_folder or src.resolve().parent).name
    folder.mkdir(parents=True, exist_ok=True)
    extra = {k: rip.get(k) for k in ("role", "episode", "label", "disc_type")}
    got = transcode_file(src, fingerprint=fp, title=title, folder=folder, preset=preset,
                         catalog=catalog, ffmpeg=ffmpeg, extra=extra,
                         chain=chain_of(catalog, fp, rip.get("disc_type")),
                         cluster=Cluster.from_config(cfg), ffmpeg_setting=cfg.ffmpeg,
                         redo_done=redo_done)
    return dict({"fingerprint": fp, "title": title, "step": "transcode", "input": str(src),
                 "preset": preset["name"], "role": rip.get("role"),
                 "episode": rip.get("episode"), "label": rip.get("label")}, **got)
