"""JSON in and out, shared by every command.

Out: one object per line on stdout (NDJSON), or one array with --json. In: files or `-`
for stdin, holding an array, one object, or NDJSON, detected from the text.
"""

from __future__ import annotations

import json
import sys
from typing import Iterable, Iterator

from digitizer.errors import InputError


def parse(text: str, origin: str = "stdin") -> list[dict]:
    text = text.strip()
    if not text:
        return []
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = None
        items = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                items.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise InputError(f"{origin}: line {n} is not JSON ({exc.msg}, column {exc.colno})"
                                 ) from None
        data = items
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        raise InputError(f"{origin}: expected JSON objects (one per line) or an array of them")
    return data


def field(obj: dict, key: str, kind: type, n: int | None = None, origin: str = "stdin"):
    """obj[key] checked to be of `kind` (a JSON input object comes from anyone): one clear
    line naming the field when it is missing or of the wrong type."""
    value = obj.get(key)
    ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if kind is str:
        ok = ok and bool(value.strip())
    if not ok:
        where = f"object {n}" if n is not None else "an object"
        want = {str: "a non-empty string", int: "a whole number", list: "a list",
                dict: "an object"}.get(kind, kind.__name__)
        got = "missing" if key not in obj else f"{type(value).__name__} {json.dumps(value)[:40]}"
        raise InputError(f"{origin}: {where}: \"{key}\" must be {want}, not {got}")
    return value


def read_inputs(args: Iterable[str]) -> tuple[list[str], list[dict]]:
    """Split arguments into plain values and JSON objects read from `-` or *.json files."""
    plain, objects = [], []
    for arg in args:
        if arg == "-":
            objects.extend(parse(sys.stdin.read(), "stdin"))
        elif arg.endswith(".json") or arg.endswith(".ndjson"):
            try:
                with open(arg, encoding="utf-8") as fh:
                    objects.extend(parse(fh.read(), arg))
            except OSError as exc:
                raise InputError(f"{arg}: {exc.strerror}") from None
        else:
            plain.append(arg)
    return plain, objects


def write_out(stream, text: str) -> bool:
    """Write results to stdout; False once it is gone. Output is a side channel: a reader
    that went away (`digitizer watch --once | head -1`) or a full disk under a redirect
    never fails the work. From then on stdout goes to /dev/null, so nothing (not even
    Python's flush at exit) writes to it again, as `git log | head` behaves."""
    if getattr(stream, "_digitizer_gone", False):
        return False
    try:
        stream.write(text)
        stream.flush()
        return True
    except (BrokenPipeError, OSError, ValueError):
        import os

        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stream.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):
            pass
        try:
            stream._digitizer_gone = True
        except AttributeError:
            pass
        return False


class Output:
    """Writes results as they come (NDJSON) or collected into one array (--json)."""

    def __init__(self, as_array: bool = False, stream=None):
        self.as_array = as_array
        self.stream = stream or sys.stdout
        self.items: list[dict] = []

    def emit(self, obj: dict) -> None:
        if self.as_array:
            self.items.append(obj)
        else:
            write_out(self.stream, json.dumps(obj, ensure_ascii=False, sort_keys=False) + "\n")

    def emit_all(self, objs: Iterable[dict]) -> None:
        for obj in objs:
            self.emit(obj)

    def close(self) -> None:
        if self.as_array:
            write_out(self.stream, json.dumps(self.items, ensure_ascii=False, indent=2) + "\n")


def iter_lines(objs: Iterable[dict]) -> Iterator[str]:
    for obj in objs:
        yield json.dumps(obj, ensure_ascii=False)
