"""HTTP for digitizer: the only user of urllib. One request with a timeout and the
User-Agent the services ask every client for (MusicBrainz: name/version and a contact).
The online services use it through client.py (cache, offline switch); notify.py's hooks
and media server refreshes use it directly.
"""

from __future__ import annotations

from digitizer import __version__

USER_AGENT = f"digitizer/{__version__} ( https://github.com/digitizer/digitizer )"
MAX_BYTES = 8 << 20  # no answer of these services is near this; a garbage stream stops here


def request(url: str, *, data: bytes | None = None, headers: dict | None = None,
            method: str | None = None, timeout: float = 10.0) -> tuple[int, bytes]:
    """One request: (HTTP status, body), any status. OSError (with the reason) when there
    was no answer at all: refused, unresolvable, timed out, reset."""
    # urllib with http.client and ssl costs ~18 ms to import: only when a request is made.
    import urllib.error
    import urllib.request

    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"User-Agent": USER_AGENT, **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read(MAX_BYTES)
    except urllib.error.HTTPError as exc:
        try:
            body = exc.read(MAX_BYTES)
        except OSError:
            body = b""
        return exc.code, body
    except urllib.error.URLError as exc:
        raise OSError(str(exc.reason)) from None
    except OSError as exc:  # a timeout or reset while reading the answer
        raise OSError(str(exc) or type(exc).__name__) from None
    except (ValueError, UnicodeError) as exc:  # a malformed URL from the config
        raise OSError(f"bad URL {url!r}: {exc}") from None
    except Exception as exc:  # http.client's protocol errors: garbage instead of HTTP
        raise OSError(f"no HTTP answer ({type(exc).__name__}: {exc})") from None


def query_string(params: dict) -> str:
    import urllib.parse

    return urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})


def quote(text: str) -> str:
    import urllib.parse

    return urllib.parse.quote(str(text), safe="")


