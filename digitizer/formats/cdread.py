"""Reading an audio CD's tracks as the disc holds them: read offset correction, and one
read when AccurateRip already confirms it (test & copy only when it does not).

Read offset
-----------
Almost every drive reads audio shifted by a fixed number of samples, its read offset.
The correction is given in samples with EAC's and whipper's sign: with +667, sample i of
a track is the sample the drive returns 667 samples later. A track [s, e) (sectors) is
read as the sectors covering samples [588 s + offset, 588 e + offset) and the samples are
cut from them here; what lies outside the audio of the disc (before sector 0, past the
lead-out, in a data track) is silence, as a drive without overread returns nothing there.
An image is taken as read by an uncorrected drive: `--read-offset 667` on an image does
what it does on a drive, so the tests run the drive's code path on images shifted by
known offsets. AccurateRip's checksums skip the first and last 2940 samples of a disc,
so an offset's silence at either end never changes a verdict.

One read or two
---------------
A track is read once and its AccurateRip checksums computed; when AccurateRip confirms
it with at least `accuraterip_min_confidence` (other people's rips of the same pressing
give the same audio), that read is the rip. Otherwise the track is read again and the two
reads compared (test & copy), again up to `cd_read_retries` times while they differ.
"""

from __future__ import annotations

import fcntl
import os
import struct
import zlib
from pathlib import Path

from digitizer.errors import ToolFailed, VerificationFailed

CDROMREADTOCHDR = 0x5305  # linux/cdrom.h
CDROMREADTOCENTRY = 0x5306
CDROM_LBA = 0x01
CDROM_LEADOUT = 0xAA
SAMPLES = 588  # stereo samples in a sector
SECTOR = SAMPLES * 4


def toc_entry(raw: bytes) -> tuple[int, int, int]:
    """(track, control, LBA) of a struct cdrom_tocentry read in LBA format: track, then
    adr (low nibble) and control (high nibble), format, then the address union at 4."""
    track, adr_ctrl, _ = struct.unpack_from("BBB", raw)
    (lba,) = struct.unpack_from("=i", raw, 4)
    return track, adr_ctrl >> 4, lba


def read_toc(device: str) -> tuple[list[dict], int] | None:
    """The disc's whole TOC from the kernel (CDROMREADTOCHDR/ENTRY): every track with its
    LBA and whether it is data or has pre-emphasis, and the lead-out of the last
    session; None when the device does not answer them. cd-paranoia -Q lists only the
    audio tracks, so this is how an Enhanced or mixed-mode CD's data track is seen."""
    try:
        fd = os.open(device, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        first, last = struct.unpack("BB", fcntl.ioctl(fd, CDROMREADTOCHDR, bytes(2)))
        tracks = []
        for number in [*range(first, last + 1), CDROM_LEADOUT]:
            raw = fcntl.ioctl(fd, CDROMREADTOCENTRY,
                              struct.pack("BBB", number, 0, CDROM_LBA) + bytes(9))
            _, ctrl, lba = toc_entry(raw)
            tracks.append({"number": number, "start": lba, "data": bool(ctrl & 0x04),
                           "preemphasis": bool(ctrl & 0x01)})
    except OSError:
        return None
    finally:
        os.close(fd)
    leadout = tracks.pop()["start"]
    return tracks, leadout


def audio_runs(tracks: list[dict]) -> list[tuple[int, int]]:
    """[start, end) sectors of each run of consecutive audio tracks: what a drive reads
    as audio (a data track or the lead-out ends a run)."""
    runs: list[tuple[int, int]] = []
    for t in tracks:
        if not t["audio"]:
            continue
        if runs and runs[-1][1] == t["start"]:
            runs[-1] = (runs[-1][0], t["start"] + t["length"])
        else:
            runs.append((t["start"], t["start"] + t["length"]))
    return runs


def _track_at(tracks: list[dict], sector: int) -> dict:
    for t in tracks:
        if t["audio"] and t["start"] <= sector < t["start"] + t["length"]:
            return t
    raise ToolFailed(f"sector {sector} is in no audio track")


def read_samples(source: str, tracks: list[dict], first: int, count: int, out: Path,
                 program: str) -> bytes:
    """`count` samples of the disc from sample `first` (588 a sector, from sector 0), as
    a drive with no offset returns them: read through cd-paranoia, silence outside the
    audio runs."""
    lo, hi = first // SAMPLES, -(-(first + count) // SAMPLES)  # sectors [lo, hi)
    buf = bytearray((hi - lo) * SECTOR)
    from digitizer.tools import cdparanoia

    for ra, rb in audio_runs(tracks):
        a, b = max(lo, ra), min(hi, rb)
        if a >= b:
            continue
        ta, tb = _track_at(tracks, a), _track_at(tracks, b - 1)
        whole = ta is tb and a == ta["start"] and b == ta["start"] + ta["length"]
        what = str(ta["number"]) if whole else \
            cdparanoia.span((ta["number"], a - ta["start"]), (tb["number"], b - 1 - tb["start"]))
        try:
            cdparanoia.read_span(source, what, str(out), program)
            data = out.read_bytes()
        finally:
            out.unlink(missing_ok=True)
        if len(data) != (b - a) * SECTOR:
            raise ToolFailed(f"cd-paranoia read {len(data)} bytes of sectors {a}-{b - 1}, "
                             f"not {(b - a) * SECTOR}")
        buf[(a - lo) * SECTOR:(b - lo) * SECTOR] = data
    skip = (first - lo * SAMPLES) * 4
    return bytes(buf[skip:skip + count * 4])


def read_track(source: str, title: dict, out: Path, program: str) -> bytes:
    """One read of a track, its read offset corrected (title["read_offset"])."""
    offset = int(title.get("read_offset") or 0)
    return read_samples(source, title["toc"], title["start"] * SAMPLES + offset,
                        title["sectors"] * SAMPLES, out, program)


def secure_read(source: str, title: dict, part: Path, cfg, verdict_of) -> tuple[bytes, dict]:
    """The track's audio and how it was verified: one read that AccurateRip confirms, else
    test & copy. `verdict_of(pcm)` gives (checksums, AccurateRip verdict) of a read."""
    scratch = part.with_name(f".{part.name}.read.raw")
    want = title["sectors"] * SECTOR
    reads = 0

    def read() -> bytes:
        nonlocal reads
        reads += 1
        return read_track(source, title, scratch, cfg.cd_paranoia)

    test = read()
    sums, verdict = verdict_of(test)
    crc = "%08X" % zlib.crc32(test)
    if verdict.get("status") == "accurate" and len(test) == want and \
            verdict.get("confidence", 0) >= int(cfg.accuraterip_min_confidence):
        return test, {"verified_by": "accuraterip", "read_count": 1, "test_crc32": None,
                      "copy_crc32": crc, "checksums": sums, "verdict": verdict,
                      "reads": [{"copy_crc32": crc}]}
    tries = []
    for attempt in range(1 + max(0, int(cfg.cd_read_retries))):
        if attempt:
            test = read()
        copy = read()
        tries.append({"test_crc32": "%08X" % zlib.crc32(test),
                      "copy_crc32": "%08X" % zlib.crc32(copy)})
        if test == copy and len(copy) == want:
            if attempt:
                sums, verdict = verdict_of(copy)
            return copy, {"verified_by": "test and copy", "read_count": reads,
                          "test_crc32": tries[-1]["test_crc32"],
                          "copy_crc32": tries[-1]["copy_crc32"], "checksums": sums,
                          "verdict": verdict, "reads": tries}
    raise VerificationFailed(
        f"track {title['title']}: test and copy reads differ after {len(tries)} attempt(s) "
        f"(CRC32 {tries[-1]['test_crc32']} vs {tries[-1]['copy_crc32']}); not ripped")
