"""Dynamic shell completion values: optical drives and the fingerprints of known discs.

The shell runs `digitizer` on every <Tab>, so these functions must be fast and must never
print: no sqlite-utils or tqdm import (stdlib sqlite3 only: the one documented query
outside catalog.py), no catalog creation or
migration (read-only, and only when the file already exists), and any error means "no
suggestions" rather than a traceback in the middle of the user's command line.
"""

from __future__ import annotations

from click.shell_completion import CompletionItem


def complete_sources(ctx, param, incomplete: str) -> list[CompletionItem]:
    """Optical drives (/dev/srN) whose path starts with `incomplete`, plus file completion.

    The "file" item comes first: click's bash script empties its reply when it meets a
    "file" item, so drives listed after it survive; when no drive matches, bash falls back
    to filename completion (ISO images, VIDEO_TS folders). zsh and fish show both.
    """
    items = [CompletionItem(incomplete, type="file")]
    try:
        from digitizer import drives

        for device in drives.list_drives():
            if device.startswith(incomplete):
                model = drives.udev_properties(device).get("ID_MODEL", "").replace("_", " ")
                items.append(CompletionItem(device, help=model or "optical drive"))
    except Exception:  # a completion must never put a traceback into the shell
        pass
    return items


def complete_fingerprints(ctx, param, incomplete: str) -> list[CompletionItem]:
    """Fingerprints of the discs in the catalog, with the volume label as help."""
    try:
        import sqlite3

        from digitizer import config

        path = config.load().path_of("catalog")
        if not path.is_file():
            return []  # no catalog yet: opening it would create an empty file
        uri = path.absolute().as_uri() + "?mode=ro"
        conn = sqlite3.connect(uri, uri=True, timeout=0.5)
        try:
            rows = conn.execute("SELECT fingerprint, label FROM discs "
                                "ORDER BY fingerprint").fetchall()
        finally:
            conn.close()
    except Exception:  # missing table, locked or corrupt file, bad config: just no values
        return []
    return [CompletionItem(fp, help=label or None)
            for fp, label in rows if fp and fp.startswith(incomplete)]
