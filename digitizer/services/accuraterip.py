"""AccurateRip: does a ripped track match what other people ripped from the same disc?

The database serves one dBAR file per disc at
``<base>/<id1 & 0xF>/<id1 >> 4 & 0xF>/<id1 >> 8 & 0xF>/dBAR-NNN-id1-id2-freedb.bin``
(formats/cd.accuraterip_ids names it). The file is a run of chunks, one per pressing
(little-endian, as whipper's accurip.py and ARver read it):

    1 byte   number of tracks N
    4 bytes  disc id 1,  4 bytes  disc id 2,  4 bytes  freedb id
    N x 9 bytes: 1 byte confidence, 4 bytes CRC (v1 or v2), 4 bytes CRC of frame 450

A track is accurate when its v1 or v2 checksum is one of its CRCs, with the confidence
of the best match; "mismatch" when the disc is in the database and nothing matches;
"not in database" when the file is not there (HTTP 404); "not verified" when there was
no answer (offline, no URL configured): the checksums stay in the marker, and
`digitizer verify` can check later.
"""

from __future__ import annotations

import struct

from digitizer.errors import SourceError

NOT_VERIFIED = "not verified"
NOT_IN_DATABASE = "not in database"


def parse(data: bytes) -> list[dict]:
    """The chunks of a dBAR file; SourceError when it is not one."""
    chunks, pos = [], 0
    while pos < len(data):
        if pos + 13 > len(data):
            raise SourceError("truncated dBAR file")
        n, id1, id2, cddb = struct.unpack_from("<BIII", data, pos)
        pos += 13
        if n == 0 or pos + 9 * n > len(data):
            raise SourceError("truncated dBAR file")
        tracks = [struct.unpack_from("<BII", data, pos + 9 * i) for i in range(n)]
        pos += 9 * n
        chunks.append({"tracks": n, "id1": id1, "id2": id2, "freedb": cddb,
                       "entries": [{"confidence": c, "crc": crc, "crc450": c450}
                                   for c, crc, c450 in tracks]})
    return chunks


def build(chunks: list[dict]) -> bytes:
    """A dBAR file from chunks as `parse` returns them (tests and `verify` fixtures)."""
    out = b""
    for ch in chunks:
        out += struct.pack("<BIII", len(ch["entries"]), ch["id1"], ch["id2"], ch["freedb"])
        for e in ch["entries"]:
            out += struct.pack("<BII", e["confidence"], e["crc"], e.get("crc450", 0))
    return out


def verdict(chunks: list[dict] | None, track_index: int, v1: str, v2: str,
            ids: tuple[int, int, int] | None = None) -> dict:
    """{"status": "accurate"|"mismatch"|NOT_IN_DATABASE|NOT_VERIFIED, "confidence",
    "version"} for one track (index from 0 among the audio tracks)."""
    if chunks is None:
        return {"status": NOT_VERIFIED}
    if not chunks:
        return {"status": NOT_IN_DATABASE}
    want = {int(v1, 16): 1, int(v2, 16): 2}
    best = None
    for ch in chunks:
        if ids is not None and (ch["id1"], ch["id2"], ch["freedb"]) != ids:
            continue
        if track_index >= len(ch["entries"]):
            continue
        e = ch["entries"][track_index]
        if e["crc"] in want and (best is None or e["confidence"] > best["confidence"]):
            best = {"status": "accurate", "confidence": e["confidence"],
                    "version": want[e["crc"]]}
    return best or {"status": "mismatch"}


def describe(result: dict) -> str:
    if result.get("status") == "accurate":
        return f"accurate (confidence {result['confidence']}, v{result['version']})"
    return result.get("status", NOT_VERIFIED)


def fetch(cfg, dbar_path: str, catalog=None) -> list[dict] | None:
    """The disc's chunks from `accuraterip_url` (kept in the catalog once fetched): [] when
    the database does not have it, None when there was no answer (or no URL, or offline)."""
    from digitizer.services.client import Client

    client = Client(cfg, "accuraterip", catalog, label="AccurateRip")
    kept = client.cached(dbar_path)
    if kept is not None:
        return _chunks(client, kept)
    base = cfg.accuraterip_url
    answer = client.get(f"{base.rstrip('/')}/{dbar_path}") if base else None
    if answer is None:
        return None
    status, data = answer
    if status == 404:
        client.keep(dbar_path, b"", found=False)
        return []
    if status != 200:
        client.unusable(f"answered HTTP {status}")
        return None
    chunks = _chunks(client, data)
    if chunks:
        client.keep(dbar_path, data)
    return chunks


def _chunks(client, data: bytes) -> list[dict] | None:
    """A dBAR file's chunks; an empty body is the database's "not there"; garbage is no
    answer (said once), never a verdict."""
    if not data:
        return []
    try:
        return parse(data)
    except SourceError as exc:
        client.unusable(f"answered something that is not a dBAR file ({exc})")
        return None
