"""cd-paranoia (libcdio-paranoia): reads the audio of a CD with paranoia's error correction.

Why this one: Debian's `cd-paranoia` reads a drive *and* a CUE/BIN or cdrdao TOC image
bit-exact through libcdio, so one code path serves both (cdparanoia, cdrdao and icedax
need a real drive). Its quirks, handled here: everything it says goes to stderr; it exits
1 with "Unable to open cdrom drive" for any source it cannot read; an image prints a
harmless "405: Option not supported by drive"; its `-Q` table counts a track's length up
to the next track's INDEX 01, so a pregap (INDEX 00) belongs to the previous track, the
EAC/whipper default.
"""

from __future__ import annotations

import os
import re

from digitizer.errors import SourceError, ToolFailed
from digitizer.tools import run

run.register("cd-paranoia", hint="apt install cd-paranoia", version_flag="-V")

SECTOR_BYTES = 2352


def _device(source: str) -> str:
    # An absolute path is never read as an option.
    return source if source.startswith("/dev/") else os.path.abspath(source)


def query_argv(source: str, program: str = "cd-paranoia") -> list[str]:
    return [program, "-d", _device(source), "-Q"]


_ROW = re.compile(r"^\s*(\d+)\.\s+(\d+)\s+\[[\d:.]+\]\s+(\d+)\s+\[[\d:.]+\]\s+(yes|no|OK)\s+"
                  r"(yes|no)\s+(\d)\s*$")


def parse_query(text: str) -> list[dict]:
    """The tracks of `cd-paranoia -Q` (stderr): number, start and length in sectors, copy
    permitted, pre-emphasis, channels."""
    if "Unable to open cdrom drive" in text:
        raise SourceError("cd-paranoia cannot read this source (not an audio CD or CUE/TOC image)")
    tracks = []
    for line in text.splitlines():
        m = _ROW.match(line)
        if m:
            tracks.append({"number": int(m.group(1)), "length": int(m.group(2)),
                           "start": int(m.group(3)), "copy": m.group(4) != "no",
                           "preemphasis": m.group(5) == "yes", "channels": int(m.group(6))})
    if not tracks:
        raise ToolFailed("cd-paranoia printed no table of contents")
    return tracks


def query(source: str, program: str = "cd-paranoia") -> list[dict]:
    got = run.run(query_argv(source, program), check=False, timeout=120)
    return parse_query(got.stderr + got.stdout)


def read_error(text: str, track) -> str:
    """Why a read failed, in one line, from cd-paranoia's stderr."""
    if re.search(r"Track #\d+ does not exist", text):
        return f"track {track} does not exist on this disc"
    if "Unable to open cdrom drive" in text:
        return "cannot open the disc"
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("(C)")]
    return lines[-1] if lines else "read failed"


def span(first: tuple[int, int], last: tuple[int, int]) -> str:
    """cd-paranoia's span from sector `first[1]` of track `first[0]` to sector `last[1]` of
    track `last[0]` (both counted from the track's INDEX 01, the last one included)."""
    return f"{first[0]}[.{first[1]}]-{last[0]}[.{last[1]}]"


def read_argv(source: str, what: str, out: str, program: str = "cd-paranoia") -> list[str]:
    """`what` (a track number or a `span`), full paranoia, as raw little-endian 16-bit
    stereo PCM (`-r`).

    paranoia guesses a drive's byte order from the audio itself, and on noise-like audio
    from an image it guesses wrong (every sample byte-swapped, test and copy alike). A
    BIN image is little-endian by definition, so for an image the order is forced (`-c`);
    a drive keeps paranoia's guess, which is what it was made for.

    No `--sample-offset`: cd-paranoia 10.2+2.0.1 reads nothing for a negative one (its
    span ends before it starts), an extra sector for +588, and aborts a last track whose
    offset reaches into the lead-out (measured on images). formats/cdread.py reads the
    sectors around a track and shifts the samples itself, the same for drives and images."""
    order = [] if source.startswith("/dev/") else ["-c"]
    return [program, "-d", _device(source), "-q", *order, "-r", what, os.path.abspath(out)]


def read_span(source: str, what: str, out: str, program: str = "cd-paranoia") -> None:
    """Read `what` (a track number or a `span`) as raw PCM into `out`."""
    got = run.run(read_argv(source, what, out, program), check=False)
    if got.returncode != 0 or not os.path.exists(out):
        raise ToolFailed(f"cd-paranoia: {what}: {read_error(got.stderr, what)}")
