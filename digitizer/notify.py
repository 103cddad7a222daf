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

# urllib (with http.client and ssl, ~18 ms) is imported when a request is made: every
# command opens the catalog, and with it these listeners, but few ever send anything.

# Events worth telling a person about; the rest stay in the history only.
NOTIFY = {"disc_detected", "disc_ejected", "title_inserted", "disc_done", "step_failed",
          "review_waiting"}


def _send(req) -> str | None:
    """None when the server answered, else why not (one line)."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            resp.read()
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return f"{req.get_method()} {req.full_url.split('?')[0]}: {exc}"
    return None


def plex_request(url: str, token: str, section: str, folder: str):
    import urllib.parse
    import urllib.request

    query = urllib.parse.urlencode({"path": folder})
    return urllib.request.Request(
        f"{url.rstrip('/')}/library/sections/{urllib.parse.quote(str(section))}/refresh?{query}",
        headers={"X-Plex-Token": token, "Accept": "application/json"}, method="GET")


def jellyfin_request(url: str, token: str, path: str):
    import urllib.request

    body = json.dumps({"Updates": [{"Path": path, "UpdateType": "Created"}]}).encode()
    return urllib.request.Request(f"{url.rstrip('/')}/Library/Media/Updated", data=body,
                                  headers={"X-Emby-Token": token,
                                           "Content-Type": "application/json"}, method="POST")


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
            import urllib.request

            why = _send(urllib.request.Request(
                self.webhook, data=body, method="POST",
                headers={"Content-Type": "application/json",
                         "Title": f"digitizer: {event['event']}"}))
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
