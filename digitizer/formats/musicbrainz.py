"""MusicBrainz: an audio CD's album, artist, year and track titles from its disc id.

Plain HTTP to the JSON web service (``GET <base>/discid/<id>?inc=artists+recordings&fmt=json``,
musicbrainz.org/doc/MusicBrainz_API), with the User-Agent MusicBrainz asks every client for
(name/version and a contact). Optional: with no URL configured, or no answer, the lookup
gives None and the CD-TEXT or the review gate names the disc. The first release listing
the disc id wins; its medium holding the disc id gives the disc number and the tracks.
"""

from __future__ import annotations

import json

from digitizer import __version__

USER_AGENT = f"digitizer/{__version__} ( https://github.com/digitizer/digitizer )"
VARIOUS_ARTISTS_ID = "89ad4ac3-39f7-470e-963a-56509c546377"  # MusicBrainz's special artist


def _credit(credits: list | None) -> str | None:
    if not credits:
        return None
    return "".join(f"{c.get('name') or c.get('artist', {}).get('name', '')}"
                   f"{c.get('joinphrase', '')}" for c in credits).strip() or None


def album_of(data: dict, disc_id: str) -> dict | None:
    """The album facts of a /discid JSON answer, or None when it lists no release."""
    for release in data.get("releases") or []:
        media = release.get("media") or []
        medium = next((m for m in media
                       if any(d.get("id") == disc_id for d in m.get("discs") or [])),
                      media[0] if len(media) == 1 else None)
        if medium is None:
            continue
        credits = release.get("artist-credit") or []
        date = release.get("date") or ""
        tracks = {}
        for t in medium.get("tracks") or []:
            tracks[int(t["position"])] = {"title": t.get("title"),
                                          "artist": _credit(t.get("artist-credit"))}
        return {"album": release.get("title"), "album_artist": _credit(credits),
                "date": date or None, "year": int(date[:4]) if date[:4].isdigit() else None,
                "disc_number": int(medium.get("position") or 1), "disc_total": len(media),
                "compilation": any(c.get("artist", {}).get("id") == VARIOUS_ARTISTS_ID
                                   for c in credits),
                "release_id": release.get("id"), "tracks": tracks}
    return None


def lookup(base_url: str, disc_id: str, timeout: float = 10) -> dict | None:
    """The album of a disc id, or None (not found, no URL, no answer)."""
    if not base_url:
        return None
    import urllib.error
    import urllib.parse
    import urllib.request

    url = (f"{base_url.rstrip('/')}/discid/{urllib.parse.quote(disc_id)}"
           "?inc=artists+recordings&fmt=json")
    req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT,
                                               "Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            data = json.loads(resp.read(4 << 20))
    except (urllib.error.URLError, OSError, ValueError):
        return None
    return album_of(data, disc_id) if isinstance(data, dict) else None
