"""GNU ddrescue: a bit-exact image of a disc or any block device, with a map file of what
was read. Why ddrescue: with its map kept beside the image, a kill, a pulled disc or a read
error loses nothing; the next run reads only what is missing, and `-r N` retries only the
bad areas (the map says which), e.g. after the disc was cleaned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from digitizer.tools import run

run.register("ddrescue", hint="apt install gddrescue", version_flag="--version")

SECTOR = 2048  # optical discs; ddrescue's default of 512 would re-read each sector 4 times


def argv(source: str, image: str, mapfile: str, *, retries: int = 0,
         program: str = "ddrescue") -> list[str]:
    # The map is saved every second (ddrescue's default is every 30 s or more): after a
    # kill -9, at most one second of reading is done again.
    return [program, "-b", str(SECTOR), "-r", str(retries), "--mapfile-interval=1s", "-q",
            source, image, mapfile]


@dataclass(frozen=True)
class Block:
    start: int  # bytes
    size: int
    status: str  # '+' rescued, '-' bad sector, '?' non-tried, '*' non-trimmed, '/' non-scraped

    @property
    def end(self) -> int:
        return self.start + self.size


_STATUS = re.compile(r"^\s*(0x[0-9A-Fa-f]+|\d+)\s+[-+?*/FGD](\s+\d+)?\s*$")
_LINE = re.compile(r"^\s*(0x[0-9A-Fa-f]+|\d+)\s+(0x[0-9A-Fa-f]+|\d+)\s+([-+?*/])\s*$")


def parse_map(text: str) -> list[Block]:
    """The data blocks of a ddrescue map file (comments and the status line skipped).

    ValueError when it is not a whole map: a line that is not a block, no status line, or
    blocks with a gap or an overlap. A map read wrongly must never pass for a clean read."""
    blocks, status_line_seen = [], False
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not status_line_seen:  # "current_pos current_status current_pass"
            if not _STATUS.match(line):
                raise ValueError(f"not a ddrescue map: {line.strip()[:60]!r}")
            status_line_seen = True
            continue
        m = _LINE.match(line)
        if not m:
            raise ValueError(f"not a ddrescue map block: {line.strip()[:60]!r}")
        block = Block(int(m.group(1), 0), int(m.group(2), 0), m.group(3))
        if block.start != (blocks[-1].end if blocks else 0):
            raise ValueError(f"ddrescue map has a gap or an overlap at byte {block.start:#x}")
        blocks.append(block)
    if not status_line_seen:
        raise ValueError("not a ddrescue map: no status line")
    return blocks


def covered(blocks: list[Block]) -> int:
    """How many bytes of the source the map accounts for (read or not)."""
    return blocks[-1].end if blocks else 0


def missing(blocks: list[Block]) -> list[Block]:
    """What was not read: every block that is not '+'."""
    return [b for b in blocks if b.status != "+"]


def describe(blocks: list[Block]) -> str:
    """Unreadable areas as sectors, one line: "sectors 1200-1263, 5000 (65 sectors)"."""
    spans = []
    for b in blocks:
        first, last = b.start // SECTOR, (b.end - 1) // SECTOR
        spans.append(f"{first}" if first == last else f"{first}-{last}")
    total = sum(-(-b.size // SECTOR) for b in blocks)
    shown = ", ".join(spans[:8]) + (f" and {len(spans) - 8} more" if len(spans) > 8 else "")
    return f"sectors {shown} ({total} sector{'s' if total != 1 else ''})"
