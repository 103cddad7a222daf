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
            ids: tuple[int, int, int] | None = None, why: str | None = None) -> dict:
    """{"status": "accurate"|"mismatch"|NOT_IN_DATABASE|NOT_VERIFIED, "confidence",
    "version"} for one track; `track_index` counts from 0 at the disc's first track (a
    mixed-mode CD's data track has the first entry, with no checksum); a track with no
    answer says `why` ("reason")."""
    if chunks is None:
        return {"status": NOT_VERIFIED, "reason": why or "no answer"}
    if not chunks:
        return {"status": NOT_IN_DATABASE}
    want = {int(v1, 16): 1, int(v2, 16): 2}
    best, known = None, False
    for ch in chunks:
        if ids is not None and (ch["id1"], ch["id2"], ch["freedb"]) != ids:
            continue
        if track_index >= len(ch["entries"]):
            continue
        e = ch["entries"][track_index]
        known = known or e["crc"] != 0
        if e["crc"] in want and (best is None or e["confidence"] > best["confidence"]):
            best = {"status": "accurate", "confidence": e["confidence"],
                    "version": want[e["crc"]]}
    # A track whose entries hold no checksum (a data track, a track too short) is not in
    # the database, whatever the others say.
    return best or {"status": "mismatch" if known else NOT_IN_DATABASE}


def describe(result: dict) -> str:
    if result.get("status") == "accurate":
        return f"accurate (confidence {result['confidence']}, v{result['version']})"
    if result.get("reason"):
        return f"{result.get('status', NOT_VERIFIED)}: {result['reason']}"
    return result.get("status", NOT_VERIFIED)


def fetch(cfg, dbar_path: str, catalog=None) -> tuple[list[dict] | None, str | None]:
    """(the disc's chunks, None) from `accuraterip_url` (kept in the catalog once fetched):
    [] when the database does not have it; (None, why) when there was no answer (or no
    URL, or offline)."""
    from digitizer.services.client import Client

    client = Client(cfg, "accuraterip", catalog, label="AccurateRip")
    kept = client.cached(dbar_path)
    if kept is not None:
        return _chunks(client, kept), None
    base = cfg.accuraterip_url
    answer = client.get(f"{base.rstrip('/')}/{dbar_path}") if base else None
    if answer is None:
        return None, client.why_not(base) if base else "no accuraterip_url configured"
    chunks = _answer(client, dbar_path, answer)
    return chunks, (client.why_not(base) if chunks is None else None)


def _answer(client, dbar_path: str, answer) -> list[dict] | None:
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


# ---------------------------------------------------------------- drive offsets
# AccurateRip's list of drive read offsets (the table of accuraterip.com/driveoffsets.htm)
# as the file dBpoweramp and the cdtoc crate read, <accuraterip_url>/DriveOffsets.bin: 69-byte
# records, each a little-endian int16 offset, the drive's name in 33 NUL-padded bytes
# ("VENDOR - MODEL", the vendor padded to 8 as SCSI INQUIRY has it; "- MODEL" without a
# vendor), a little-endian uint32 count of submissions, and 30 bytes not used here.
DRIVE_LIST = "DriveOffsets.bin"
_RECORD = struct.Struct("<h33sI30s")


def parse_drive_offsets(data: bytes) -> list[dict]:
    """[{"drive", "read_offset", "submissions"}] of a DriveOffsets.bin; SourceError when it
    is not one."""
    if not data or len(data) % _RECORD.size:
        raise SourceError(f"not an AccurateRip drive offset list ({len(data)} bytes is no "
                          f"whole number of {_RECORD.size}-byte records)")
    rows = []
    for offset, raw, submissions, _ in _RECORD.iter_unpack(data):
        name = raw.split(b"\0", 1)[0].decode("ascii", errors="replace").strip()
        if name.startswith("- "):
            name = name[2:]
        name = " ".join(name.replace(" - ", " ", 1).split())
        if name:
            rows.append({"drive": name, "read_offset": offset, "submissions": submissions})
    return rows


def build_drive_offsets(rows: list[dict]) -> bytes:
    """A DriveOffsets.bin of rows ({"drive": "VENDOR - MODEL", ...}): the tests' server."""
    return b"".join(_RECORD.pack(r["read_offset"], r["drive"].encode("ascii"),
                                 r["submissions"], bytes(30)) for r in rows)


def drive_offsets(cfg, catalog=None) -> list[dict] | None:
    """AccurateRip's drive offset list, fetched once and kept in the catalog; None when
    it could not be had (offline, no answer)."""
    from digitizer.services.client import Client

    client = Client(cfg, "accuraterip", catalog, label="AccurateRip")
    kept = client.cached(DRIVE_LIST)
    if not kept:
        base = cfg.accuraterip_url
        answer = client.get(f"{base.rstrip('/')}/{DRIVE_LIST}") if base else None
        if answer is None or answer[0] != 200:
            return None
        kept = answer[1]
    try:
        rows = parse_drive_offsets(kept)
    except SourceError as exc:
        client.unusable(f"answered something that is not its drive offset list ({exc})")
        return None
    client.keep(DRIVE_LIST, kept)
    return rows


def drive_offset(rows: list[dict] | None, name: str | None) -> int | None:
    """The read offset the list gives the drive called `name` (drives.normal_name
    compared), the most submitted one when it lists the drive twice."""
    from digitizer.drives import normal_name

    if not rows or not name:
        return None
    found = [r for r in rows if normal_name(r["drive"]) == normal_name(name)]
    return max(found, key=lambda r: r["submissions"])["read_offset"] if found else None


def common_offsets(rows: list[dict] | None) -> list[int]:
    """The offsets of the list, the most submitted first (how `offset find` orders the
    offsets it tries)."""
    count: dict[int, int] = {}
    for r in rows or []:
        count[r["read_offset"]] = count.get(r["read_offset"], 0) + r["submissions"]
    return sorted(count, key=lambda o: (-count[o], abs(o), o))
