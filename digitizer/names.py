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
