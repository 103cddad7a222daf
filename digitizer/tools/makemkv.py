"""MakeMKV's command-line program, makemkvcon, driven in robot mode (`-r`): the backend for
AACS-encrypted Blu-rays, which digitizer cannot read itself. MakeMKV is not in Debian
(makemkv.com, or the makemkv-bin/-oss builds); config key `makemkvcon` names it.

Robot mode prints one record per line, ``KEY:field,field,...`` with strings in double
quotes (a CSV row after the colon): ``MSG`` (code, flags, count, message, format, params),
``TCOUNT``, ``CINFO``/``TINFO``/``SINFO`` attributes (id, code, value) of the disc, a title
or a stream, ``PRGV`` (current, total, max) progress. MakeMKV numbers titles in its own
order; attribute 16 of a title (and message 3307) names the playlist it plays, which is
how digitizer finds its title 800 (``00800.mpls``) among MakeMKV's.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field

from digitizer.tools import run

HINT = ("install MakeMKV (makemkv.com; not in Debian) and set `makemkvcon` in the config "
        "to its path")
run.register("makemkvcon", hint=HINT)

# attribute ids (MakeMKV's apdefs.h, the ap_ItemAttributeId enum)
NAME, CHAPTERS, DURATION, BYTES, SOURCE_FILE, OUTPUT_FILE = 2, 8, 9, 11, 16, 27
ADDED_AS_TITLE = 3307  # MSG: "File %1 was added as title #%2"
STARTED = 1005  # MSG: "%1 started", %1 being the program and its version


@dataclass
class Robot:
    """What robot-mode lines said: titles by MakeMKV's index, and its messages."""
    titles: dict[int, dict[int, str]] = field(default_factory=dict)
    disc: dict[int, str] = field(default_factory=dict)
    messages: list[tuple[int, str]] = field(default_factory=list)
    added: dict[str, int] = field(default_factory=dict)  # source file -> title index
    progress: float | None = None  # 0..1 of the current operation

    def version(self) -> str | None:
        """The program and version MakeMKV announced ("MakeMKV v1.18.1 linux(x64-release)")."""
        return next((text.removesuffix(" started") for code, text in self.messages
                     if code == STARTED), None)

    def title_of(self, source_file: str) -> int | None:
        """MakeMKV's index of the title that plays `source_file` ("00800.mpls")."""
        for index, attrs in sorted(self.titles.items()):
            if attrs.get(SOURCE_FILE, "").lower() == source_file.lower():
                return index
        return self.added.get(source_file.lower())


def _fields(text: str) -> list[str]:
    return next(csv.reader([text]), [])


def feed(robot: Robot, line: str) -> None:
    """Take one line of robot output into `robot`; other lines are ignored."""
    key, sep, rest = line.strip().partition(":")
    if not sep:
        return
    f = _fields(rest)
    try:
        if key == "TINFO" and len(f) >= 4:
            robot.titles.setdefault(int(f[0]), {})[int(f[1])] = f[3]
        elif key == "CINFO" and len(f) >= 3:
            robot.disc[int(f[0])] = f[2]
        elif key == "MSG" and len(f) >= 4:
            robot.messages.append((int(f[0]), f[3]))
            if int(f[0]) == ADDED_AS_TITLE and len(f) >= 7:
                robot.added[f[5].lower()] = int(f[6])
        elif key == "PRGV" and len(f) >= 3 and int(f[2]) > 0:
            robot.progress = int(f[1]) / int(f[2])
    except ValueError:
        return  # a record this parser does not understand: not one to act on


def parse(text: str) -> Robot:
    robot = Robot()
    for line in text.splitlines():
        feed(robot, line)
    return robot


def source_argument(source: str, kind: str) -> str:
    """How makemkvcon names a source: a drive, an image, or a folder (its BDMV parent)."""
    path = os.path.abspath(source)
    return {"drive": f"dev:{path}", "image": f"iso:{path}"}.get(kind, f"file:{path}")


def info_argv(program: str, source: str) -> list[str]:
    # --minlength=0: every playlist, as digitizer's own scan lists them.
    return [program, "-r", "--noscan", "--minlength=0", "info", source]


def mkv_argv(program: str, source: str, index: int, folder: str) -> list[str]:
    return [program, "-r", "--noscan", "--minlength=0", "--decrypt", "--progress=-same",
            "mkv", source, str(index), folder]
