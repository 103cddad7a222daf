"""Blu-ray (BDMV): what digitizer knows about the disc as a whole. Playlists are parsed in
formats/bdmv.py.

Not in formats.REGISTRY yet: scan and rip are still to come (issue 13), and a format in the
registry must run every step. What is here is the part they build on: recognising the disc,
its ids and its name.

Ids
---
Computed from a DiscFS, so the same for a drive, an image and a folder.

``bdmv_nav_sha1`` (primary; 40 lower-case hex digits)
    SHA-1 over the navigation files only: ``BDMV/index.bdmv``, ``BDMV/MovieObject.bdmv``,
    then every ``BDMV/PLAYLIST/*.mpls`` and ``BDMV/CLIPINF/*.clpi`` in name order, each as
    its name, its size (u64 big-endian) and its bytes. A few hundred KiB at most, read in
    milliseconds, and no file dates, so a folder copied from a disc keeps the disc's id.
    The clip infos carry each clip's packet count and stream layout, so two discs authored
    from the same template but with different content differ, which libbluray's pseudo id
    (index.bdmv and MovieObject.bdmv only) does not: it collides between such discs. Its
    ``disc_id`` is the AACS id below, all zeros on unencrypted discs; neither is used.

``thediscdb`` (32 upper-case hex digits)
    TheDiscDb's content hash (optical-disc-manifest, specification v1 identifiers): MD5 over
    the sizes of ``BDMV/STREAM/*.m2ts`` (no ``.ssif``, nothing under BACKUP), ordered by name
    ordinally, each as an 8-byte little-endian signed integer.

``aacs`` (40 upper-case hex digits, or None)
    The AACS disc id as libaacs computes it (and KEYDB.cfg and TheDiscDb key it): SHA-1 of
    ``AACS/Unit_Key_RO.inf``, else of ``AACS/DUPLICATE/Unit_Key_RO.inf``; None on a disc
    without AACS.
"""

from __future__ import annotations

import hashlib
import re
import struct
from xml.etree import ElementTree

from digitizer.errors import SourceError
from digitizer.formats.discfs import DiscFS, MissingFile, _show

NAME = "bluray"
_INDEX = "BDMV/index.bdmv"
_NAV_LIMIT = 4 << 20  # navigation files stay well under 1 MiB; a bigger one is corrupt or hostile
_META_LIMIT = 1 << 20


def recognises(fs: DiscFS) -> bool:
    return fs.exists(_INDEX)


def _names(fs: DiscFS, folder: str, suffix: str) -> list[str]:
    try:
        entries = fs.listdir(folder)
    except MissingFile:
        return []
    return sorted((e.name for e in entries if not e.is_dir and e.name.lower().endswith(suffix)),
                  key=lambda n: n.encode())


def _small(fs: DiscFS, path: str) -> bytes:
    size = fs.stat(path).size
    if size > _NAV_LIMIT:
        raise SourceError(f"{_show(fs.source)}: {path} is {size} bytes, too big for a "
                          f"navigation file")
    return fs.read(path)


def navigation_id(fs: DiscFS) -> str:
    if not fs.exists(_INDEX):
        raise SourceError(f"{_show(fs.source)} is not a Blu-ray: it has no {_INDEX}")
    paths = [_INDEX] + (["BDMV/MovieObject.bdmv"] if fs.exists("BDMV/MovieObject.bdmv") else [])
    paths += [f"BDMV/PLAYLIST/{n}" for n in _names(fs, "BDMV/PLAYLIST", ".mpls")]
    paths += [f"BDMV/CLIPINF/{n}" for n in _names(fs, "BDMV/CLIPINF", ".clpi")]
    sha = hashlib.sha1()
    for path in paths:
        data = _small(fs, path)
        name = path.rsplit("/", 1)[-1].upper().encode()
        sha.update(struct.pack(">H", len(name)) + name + struct.pack(">Q", len(data)) + data)
    return sha.hexdigest()


def thediscdb_hash(fs: DiscFS) -> str:
    md5 = hashlib.md5()
    stream = {e.name: e.size for e in fs.listdir("BDMV/STREAM") if not e.is_dir} \
        if fs.exists("BDMV/STREAM") else {}
    for name in _names(fs, "BDMV/STREAM", ".m2ts"):
        md5.update(struct.pack("<q", stream[name]))
    return md5.hexdigest().upper()


def aacs_id(fs: DiscFS) -> str | None:
    for path in ("AACS/Unit_Key_RO.inf", "AACS/DUPLICATE/Unit_Key_RO.inf"):
        if fs.exists(path):
            return hashlib.sha1(_small(fs, path)).hexdigest().upper()
    return None


def read_ids(fs: DiscFS) -> dict:
    ids = {"bdmv_nav_sha1": navigation_id(fs), "thediscdb": thediscdb_hash(fs),
           "aacs": aacs_id(fs)}
    return {"fingerprint": ids["bdmv_nav_sha1"], "ids": ids}


def disc_name(fs: DiscFS) -> str | None:
    """The disc's title from BDMV/META/DL/bdmt_<lang>.xml (English first), or None.

    Text as the studio wrote it: callers treat it as data. A file that does not parse is
    ignored, like a player ignores it."""
    files = _names(fs, "BDMV/META/DL", ".xml")
    files = [n for n in files if re.fullmatch(r"bdmt_[a-z]{3}\.xml", n, re.I)]
    files.sort(key=lambda n: (n.lower() != "bdmt_eng.xml", n))
    for name in files:
        path = f"BDMV/META/DL/{name}"
        if fs.stat(path).size > _META_LIMIT:
            continue
        try:
            root = ElementTree.fromstring(fs.read(path))
        except ElementTree.ParseError:
            continue
        for element in root.iter():
            if element.tag.rsplit("}", 1)[-1] == "name" and (element.text or "").strip():
                return " ".join(element.text.split())
    return None
