"""Tell Plex or Jellyfin that a folder changed, so new files appear without a full scan.

Plex:     GET  {url}/library/sections/{section}/refresh?path={folder}  (X-Plex-Token header)
Jellyfin: POST {url}/Library/Media/Updated  {"Updates": [{"Path": ..., "UpdateType": "Created"}]}
          (X-Emby-Token header)
A failed refresh is a warning: the file is in the library either way.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request


def _send(req: urllib.request.Request) -> str | None:
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            resp.read()
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return f"{req.get_method()} {req.full_url.split('?')[0]}: {exc}"
    return None


def plex(url: str, token: str, section: str, folder: str) -> str | None:
    query = urllib.parse.urlencode({"path": folder})
    req = urllib.request.Request(
        f"{url.rstrip('/')}/library/sections/{urllib.parse.quote(str(section))}/refresh?{query}",
        headers={"X-Plex-Token": token, "Accept": "application/json"}, method="GET")
    return _send(req)


def jellyfin(url: str, token: str, path: str) -> str | None:
    body = json.dumps({"Updates": [{"Path": path, "UpdateType": "Created"}]}).encode()
    req = urllib.request.Request(f"{url.rstrip('/')}/Library/Media/Updated", data=body,
                                 headers={"X-Emby-Token": token,
                                          "Content-Type": "application/json"}, method="POST")
    return _send(req)


def refresh(cfg, path: str) -> list[str]:
    """Refresh every configured server about `path`; returns warnings."""
    import os

    warnings = []
    if cfg.plex_url:
        w = plex(cfg.plex_url, cfg.plex_token, cfg.plex_section, os.path.dirname(path))
        warnings += [w] if w else []
    if cfg.jellyfin_url:
        w = jellyfin(cfg.jellyfin_url, cfg.jellyfin_token, path)
        warnings += [w] if w else []
    return warnings
