"""The client every online service module asks through: the offline switch, a short
timeout, answers kept in the catalog, and one warning line when a service does not answer.

    client = Client(cfg, "tmdb", catalog)
    body = client.cached(key)                          # a kept answer, or None
    answer = client.get(url, params=..., headers=...)  # (status, bytes) or None
    client.keep(key, body, found=True)

`get` returns None when there was no answer (offline, no URL, refused, timed out, a 5xx);
it says so once per service, on one line, and the service is not asked again for
DOWN_SECONDS, so a run over many discs never waits on a dead service more than once. An
answer that is "not found" (HTTP 404, an empty result) is kept too, but only for
MISSING_SECONDS: a service that did not know a disc may learn it.
"""

from __future__ import annotations

import json
import time

from digitizer.errors import warn
from digitizer.services import http

DOWN_SECONDS = 600.0
MISSING_SECONDS = 7 * 86400.0

# service -> time (monotonic) until which it is taken as down, in this process, and why
_down: dict[str, float] = {}
_why: dict[str, str] = {}


def online(cfg) -> bool:
    return bool(cfg.values.get("online", True))


class Client:
    """The requests of one service (`name`, as the warning and the cache call it)."""

    def __init__(self, cfg, name: str, catalog=None, *, label: str | None = None):
        self.cfg = cfg
        self.name = name
        self.label = label or name
        self.catalog = catalog
        self.timeout = float(cfg.values.get("online_timeout", 5.0))

    @property
    def enabled(self) -> bool:
        return online(self.cfg)

    # -- the cache (the catalog's table of answers) -----------------------------------
    def _with_catalog(self, work):
        if self.catalog is not None:
            return work(self.catalog)
        from digitizer.catalog import Catalog

        catalog = Catalog(self.cfg.path_of("catalog"))
        try:
            return work(catalog)
        finally:
            catalog.close()

    def cached(self, key: str) -> bytes | None:
        """The answer kept for `key`: a found one whatever its age, a not-found one while
        younger than MISSING_SECONDS; else None."""
        row = self._with_catalog(lambda c: c.service_answer(self.name, key))
        if row is None:
            return None
        if not row["found"] and time.time() - row["fetched"] > MISSING_SECONDS:
            return None
        return row["body"]

    def keep(self, key: str, body: bytes, *, found: bool = True) -> None:
        self._with_catalog(lambda c: c.keep_service_answer(self.name, key, body, found))

    # -- asking ----------------------------------------------------------------------
    def get(self, url: str, *, params: dict | None = None, headers: dict | None = None,
            data: bytes | None = None) -> tuple[int, bytes] | None:
        """(status, body), or None when offline, the service is down, or nothing answered
        (said once). A 5xx is a service in trouble: treated as no answer."""
        if not url or not self.enabled:
            return None
        if _down.get(self.name, 0.0) > time.monotonic():
            return None
        if params:
            url = f"{url}{'&' if '?' in url else '?'}{http.query_string(params)}"
        try:
            status, body = http.request(url, data=data, headers=headers, timeout=self.timeout,
                                   method="POST" if data is not None else "GET")
        except OSError as exc:
            self.unusable(f"did not answer ({exc})")
            return None
        if status >= 500:
            self.unusable(f"answered HTTP {status}")
            return None
        return status, body

    def get_json(self, url: str, **kwargs) -> tuple[int, object] | None:
        """As `get`, the body read as JSON; an answer that is not JSON is no answer."""
        answer = self.get(url, **kwargs)
        if answer is None:
            return None
        status, body = answer
        try:
            return status, json.loads(body)
        except (ValueError, UnicodeDecodeError):
            self.unusable(f"answered HTTP {status} with something that is not JSON")
            return None

    def unusable(self, why: str) -> None:
        """One warning line, and no more asking for a while."""
        if _down.get(self.name, 0.0) <= time.monotonic():
            warn(f"{self.label} {why}; going on without it")
            _why[self.name] = f"{self.label} {why}"
        _down[self.name] = time.monotonic() + DOWN_SECONDS

    def why_not(self, url: str | None) -> str:
        """Why `get` gave no answer, in a few words, for what records it (a track's
        marker says why it was not verified)."""
        if not url:
            return "no URL configured"
        if not self.enabled:
            return "offline (config online = false or --offline)"
        return _why.get(self.name) or f"{self.label} did not answer"


def forget_down() -> None:
    """Ask every service again (a new run in the same process: the tests)."""
    _down.clear()
    _why.clear()
