"""Notifications: each catalog event goes, when configured, to a hook command (the event
as JSON on its stdin) and to a webhook (a plain POST of the JSON, which ntfy also takes).
A failing hook is a warning, never an error: the work it reports on is done either way.
"""

from __future__ import annotations

import json
import shlex
import urllib.error
import urllib.request

from digitizer.errors import DigitizerError, warn

# Events worth telling a person about; the rest stay in the history only.
NOTIFY = {"disc_detected", "disc_ejected", "title_inserted", "disc_done", "step_failed",
          "review_waiting"}


class Notifier:
    def __init__(self, cfg):
        self.hook = cfg.hook
        self.webhook = cfg.webhook

    def __call__(self, event: dict) -> None:
        if event["event"] not in NOTIFY or not (self.hook or self.webhook):
            return
        body = json.dumps(event, sort_keys=True).encode()
        if self.hook:
            from digitizer import tools

            try:
                # The hook is a command line from the config: split like a shell would,
                # but run without one.
                tools.run(shlex.split(self.hook), input=body, timeout=30)
            except (DigitizerError, ValueError) as exc:
                warn(f"hook failed: {exc}")
        if self.webhook:
            req = urllib.request.Request(self.webhook, data=body, method="POST",
                                         headers={"Content-Type": "application/json",
                                                  "Title": f"digitizer: {event['event']}"})
            try:
                with urllib.request.urlopen(req, timeout=10) as resp:
                    resp.read()
            except (urllib.error.URLError, OSError, ValueError) as exc:
                warn(f"webhook failed: {exc}")
