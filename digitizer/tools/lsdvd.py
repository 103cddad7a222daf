"""lsdvd: every title of a DVD from its IFO files (libdvdread), as a Python literal.

Why lsdvd: it reads the same IFOs from a drive, an image or a folder in milliseconds without
touching the VOBs, and gives cells with sectors, languages and stream ids. Its quirks,
handled here: libdvdread's CSS banner comes on stdout before the data; there is no JSON
mode, so `-Oy` (a Python literal) is parsed with ast.literal_eval, which evaluates no code.
"""

from __future__ import annotations

import ast
import os
import re

from digitizer.errors import SourceError, ToolFailed
from digitizer.tools import run

run.register("lsdvd", hint="apt install lsdvd", version_flag="-V")


def argv(source: str, program: str = "lsdvd") -> list[str]:
    # An absolute path can never be mistaken for an option by lsdvd.
    return [program, "-x", "-Oy", os.path.abspath(source)]


# The header before the titles holds text lsdvd copies from the disc and the path it was
# given ('device', 'title' = the volume label, 'vmg_id', 'provider_id') printed between
# quotes without escaping: a label with a quote or a newline would make the literal
# unreadable. Labels are read from the disc itself (formats/discfs.py), so the header is
# cut off before parsing and its two disc strings are kept only when they read cleanly.
_HEADER_FIELD = re.compile(r"^  '(vmg_id|provider_id)' : '([^'\n]*)',$", re.MULTILINE)


def parse(text: str) -> dict:
    """The dict of ``lsdvd -x -Oy`` output (banner and anything before the data skipped)."""
    start = text.find("lsdvd = {")
    if start < 0:
        raise ToolFailed("lsdvd printed no disc data")
    tracks = text.find("\n  'track' : [", start)
    if tracks < 0:
        raise ToolFailed("lsdvd output has no titles")
    header, body = text[start:tracks], "{" + text[tracks:]
    try:
        data = ast.literal_eval(body.strip())
    except (ValueError, SyntaxError) as exc:
        raise ToolFailed(f"lsdvd output could not be parsed: {exc}") from None
    if not isinstance(data, dict) or "track" not in data:
        raise ToolFailed("lsdvd output has no titles")
    for key, value in _HEADER_FIELD.findall(header):
        data[key] = value
    return data


def read(source: str, program: str = "lsdvd", env: dict | None = None) -> dict:
    """lsdvd's data for a drive, image or folder; SourceError when it cannot read it."""
    done = run.run(argv(source, program), check=False, timeout=120, env=env)
    if done.returncode != 0 or "lsdvd = {" not in done.stdout:
        why = done.stderr.strip().splitlines()[-1:] or ["no output"]
        raise SourceError(f"{source}: lsdvd cannot read this disc: {why[0]}")
    return parse(done.stdout)
