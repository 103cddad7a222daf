"""Turning untrusted text (volume labels, titles given on the command line) into safe file
names. Labels are data: they are only ever used as a path component after passing here."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from digitizer.errors import UsageError

_FORBIDDEN = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')


def safe_component(text: str, fallback: str = "untitled", max_len: int = 120) -> str:
    """One path component: no separators, no `..`, no control or reserved characters."""
    text = unicodedata.normalize("NFC", str(text))
    text = "".join(" " if unicodedata.category(c).startswith("C") else c for c in text)
    text = _FORBIDDEN.sub(" ", text)
    text = re.sub(r"\s+", " ", text).strip(" .")
    text = text.lstrip("-")  # never looks like an option to a tool
    if not text or set(text) <= {"."}:
        text = fallback
    return text[:max_len].rstrip(" .") or fallback


def inside(root: Path, path: Path) -> Path:
    """``path`` resolved, refusing anything that lands outside ``root``."""
    root = Path(root).resolve()
    resolved = Path(path).resolve()
    if resolved != root and root not in resolved.parents:
        raise UsageError(f"refusing to write outside {root}: {path}")
    return resolved


def label_slug(label: str | None, fallback: str = "disc", max_len: int = 40) -> str:
    """A volume label as a conservative folder name: letters, digits, `_`, `.`, `-` only.

    Labels come from the disc, so unlike names the user types they keep nothing a shell
    or a script might read as syntax (`$`, `(`, quotes, spaces)."""
    text = re.sub(r"[^\w.-]+", "_", unicodedata.normalize("NFC", label or ""))
    text = re.sub(r"\.{2,}", ".", text)
    return safe_component(text.strip("_"), fallback=fallback, max_len=max_len)
