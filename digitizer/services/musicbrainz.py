"""MusicBrainz: an audio CD's album, artist, year and track titles from its disc id.

Plain HTTP to the JSON web service (``GET <base>/discid/<id>?inc=artists+recordings&fmt=json``,
musicbrainz.org/doc/MusicBrainz_API), with the User-Agent MusicBrainz asks every client for
(name/version and a contact: services/http.py). Optional: with no URL configured, or no answer, the lookup
gives None and the CD-TEXT or the review gate names the disc. The first release listing
the disc id wins; its medium holding the disc id gives the disc number and the tracks.
"""

from __future__ import annotations

import json

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


def lookup(cfg, disc_id: str, catalog=None) -> dict | None:
    """The album of a disc id, or None (not found, no URL, offline, no answer); answers are
    kept in the catalog."""
    from digitizer.services.client import Client
    from digitizer.services.http import quote

    base = cfg.musicbrainz_url
    client = Client(cfg, "musicbrainz", catalog, label="MusicBrainz")
    kept = client.cached(disc_id)
    if kept is None:
        answer = client.get_json(f"{base.rstrip('/')}/discid/{quote(disc_id)}",
                                 params={"inc": "artists recordings", "fmt": "json"},
                                 headers={"Accept": "application/json"}) if base else None
        if answer is None:
            return None
        status, data = answer
        if status != 200 or not isinstance(data, dict):
            # 404: MusicBrainz does not know the disc id (kept a while, then asked again).
            if status == 404:
                client.keep(disc_id, b"", found=False)
            return None
        kept = json.dumps(data).encode()
        client.keep(disc_id, kept, found=bool(data.get("releases")))
    if not kept:
        return None
    try:
        return album_of(json.loads(kept), disc_id)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
