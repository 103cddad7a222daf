"""What happens beside the work, as listeners of the catalog's events.

Each event goes, when configured, to a hook command (the event as JSON on its stdin) and to
a webhook (a plain POST of the JSON, which ntfy also takes); `title_inserted` also asks Plex
and Jellyfin to look at the new file's folder. Because these listen to the catalog, a hand-run
`insert`, `watch`, `resume` and `review approve` all refresh the media servers alike. A
failing listener is a warning, never an error: the work it reports on is done either way.

Plex:     GET  {url}/library/sections/{section}/refresh?path={folder}  (X-Plex-Token header)
Jellyfin: POST {url}/Library/Media/Updated  {"Updates": [{"Path": ..., "UpdateType": "Created"}]}
          (X-Emby-Token header)
"""

from __future__ import annotations

import json
import os
import shlex

from digitizer.errors import DigitizerError, warn

# Requests go through services/http.py (the one user of urllib), which imports urllib only
# when a request is made: every command opens the catalog, and with it these listeners, but
# few ever send anything.

# Events worth telling a person about; the rest stay in the history only.
NOTIFY = {"disc_detected", "disc_ejected", "title_inserted", "disc_done", "step_failed",
          "review_waiting"}


def _send(req: dict) -> str | None:
    """None when the server answered with success, else why not (one line)."""
    from digitizer.services import http

    where = f"{req['method']} {req['url'].split('?')[0]}"
    try:
        status, _ = http.request(req["url"], data=req.get("data"), headers=req["headers"],
                                 method=req["method"], timeout=10)
    except OSError as exc:
        return f"{where}: {exc}"
    return f"{where}: HTTP {status}" if status >= 400 else None


def plex_request(url: str, token: str, section: str, folder: str) -> dict:
    from digitizer.services import http

    return {"method": "GET", "headers": {"X-Plex-Token": token, "Accept": "application/json"},
            "url": f"{url.rstrip('/')}/library/sections/{http.quote(str(section))}/refresh?"
                   + http.query_string({"path": folder})}


def jellyfin_request(url: str, token: str, path: str) -> dict:
    body = json.dumps({"Updates": [{"Path": path, "UpdateType": "Created"}]}).encode()
    return {"method": "POST", "url": f"{url.rstrip('/')}/Library/Media/Updated", "data": body,
            "headers": {"X-Emby-Token": token, "Content-Type": "application/json"}}


class Hooks:
    """The configured hook command and webhook, for the events in NOTIFY."""

    def __init__(self, cfg):
        self.hook = cfg.hook
        self.webhook = cfg.webhook

    def __call__(self, event: dict) -> None:
        if event["event"] not in NOTIFY or not (self.hook or self.webhook):
            return
        body = json.dumps(event, sort_keys=True).encode()
        if self.hook:
            from digitizer.tools import run

            try:
                # The hook is a command line from the config: split like a shell would,
                # but run without one.
                run.run(shlex.split(self.hook), input=body, timeout=30)
            except (DigitizerError, ValueError) as exc:
                warn(f"hook failed: {exc}")
        if self.webhook:
            why = _send({"method": "POST", "url": self.webhook, "data": body,
                         "headers": {"Content-Type": "application/json",
                                     "Title": f"digitizer: {event['event']}"}})
            if why:
                warn(f"webhook failed: {why}")


class MediaServers:
    """Plex and Jellyfin, told about every file put into the library."""

    def __init__(self, cfg):
        self.cfg = cfg

    def requests(self, path: str) -> list:
        cfg, out = self.cfg, []
        if cfg.plex_url:
            out.append(plex_request(cfg.plex_url, cfg.plex_token, cfg.plex_section,
                                    os.path.dirname(path)))
        if cfg.jellyfin_url:
            out.append(jellyfin_request(cfg.jellyfin_url, cfg.jellyfin_token, path))
        return out

    def __call__(self, event: dict) -> None:
        if event["event"] != "title_inserted" or not event["data"].get("path"):
            return
        for req in self.requests(event["data"]["path"]):
            why = _send(req)
            if why:
                warn(f"library refresh failed: {why}")


def listener(cfg):
    """One callable giving each catalog event to every configured listener."""
    listeners = [Hooks(cfg), MediaServers(cfg)]

    def fan_out(event: dict) -> None:
        for each in listeners:
            each(event)

    return fan_out
