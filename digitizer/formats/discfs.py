"""Read-only access to the files of a disc without mounting it.

One code path for a drive (/dev/sr0), an image file and a VIDEO_TS/BDMV folder: drives and
images are read as 2048-byte sectors with ``os.pread`` and parsed here (UDF preferred, else
ISO9660); folders are read with ordinary file calls. Sectors are read lazily and cached, so
identifying a disc touches only the descriptors, a few directories and the small IFO files.

``Entry.ctime`` is the ISO9660 recording time, the creation time of a UDF Extended File
Entry or, for a UDF 1.02 File Entry (which has none), its modification time; for a folder it
is ``st_ctime``, as pydvdid uses it. Names are returned as stored, with ISO9660's ``;1``
dropped; lookups take exact names first, then ignore case.

``label`` is the ISO9660 volume id (trailing spaces dropped) when there is one, else the UDF
logical volume identifier (OSTA CS0, 8- or 16-bit). ISO9660 wins because mastering tools
keep the label given there byte for byte while rewriting the UDF copy (genisoimage turns
``../../etc`` into ``.._.._etc``), and because lsdvd reports the ISO9660 one; pressed discs
carry the same text in both. Both are kept as ``iso_label`` and ``udf_label``. Labels are
raw decoded text, never sanitised: callers must treat them as data (``../../etc``,
``$(reboot)``, control characters).

UDF 2.50 metadata partitions (every BD-ROM, usually with no ISO9660 bridge) are read through
their metadata file (or its mirror when the main copy is unreadable). Not supported (yet): UDF
virtual partitions (packet-written discs), extended_ad, an extent of the metadata partition
that crosses a gap of the metadata file (mastering tools write it in one piece), Joliet/Rock
Ridge names (DVD and BD names are plain upper-case 8.3).
"""

from __future__ import annotations

import errno
import os
import stat
import struct
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from digitizer.errors import NoDisc, SourceError

SECTOR = 2048
_CACHE_LIMIT = 256  # sectors per read worth caching; bigger reads are payload, not metadata
_DIR_LIMIT = 16 << 20  # no real directory is this big; a corrupt size must not eat memory


class MissingFile(SourceError):
    """A path asked for is not on the disc (or is a directory where a file was wanted)."""


class Truncated(SourceError):
    """A sector the file system points to lies beyond the end of the image."""


@dataclass(frozen=True)
class Entry:
    name: str
    size: int
    is_dir: bool
    lba: int | None  # first sector of a contiguous file on an image or drive, else None
    ctime: datetime | None  # UTC; see the module docstring for where it comes from
    mtime: datetime | None


@dataclass
class _Node:
    name: str
    is_dir: bool
    size: int
    runs: list  # [(first sector, bytes, recorded)]; unrecorded extents read as zeros
    embedded: bytes | None  # UDF data kept in the file entry itself
    ctime: datetime | None
    mtime: datetime | None
    real: str | None = None  # a folder's file
    kids: list | None = None  # a directory's listing, once read

    def entry(self) -> Entry:
        lba = _contiguous(self.runs)
        return Entry(self.name, self.size, self.is_dir, lba, self.ctime, self.mtime)


def _contiguous(runs) -> int | None:
    if not runs or not all(r[2] for r in runs):
        return None
    for (a, n, _), (b, _, _) in zip(runs, runs[1:]):
        if n % SECTOR or a + n // SECTOR != b:
            return None
    return runs[0][0]


def _show(path) -> str:
    # Paths go into one-line error messages: a hostile name must not break the line.
    text = os.fsdecode(path)
    return text if text.isprintable() else repr(text)[1:-1]


def _split(path: str) -> list[str]:
    parts = [p for p in str(path).replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts:
        raise MissingFile(f"{_show(path)}: '..' is not allowed in a disc path")
    return parts


def _pick(names, want: str) -> str | None:
    """Exact name first, else case-insensitive: disc names are upper case, callers vary."""
    names = list(names)
    if want in names:
        return want
    folded = want.split(";")[0].casefold()  # ISO9660 "NAME.EXT;1" finds "NAME.EXT"
    return next((n for n in names if n.casefold() == folded), None)


class DiscFS:
    """The files of one disc; open one with ``open_disc``."""

    source: str
    kind: str  # "image" | "drive" | "folder"
    filesystem: str | None  # "udf" | "iso9660" | "folder"
    label: str | None = None  # iso_label, else udf_label (module docstring says why)
    iso_label: str | None = None
    udf_label: str | None = None
    bytes_read: int = 0
    udf_error: str | None = None  # why a broken UDF volume was passed over for ISO9660
    _root: _Node

    def _list(self, node: _Node) -> list[_Node]:
        raise NotImplementedError

    def _kids(self, node: _Node) -> list[_Node]:
        if node.kids is None:
            # A name no path can reach ("..", "a/b") is hostile or broken: callers never see it.
            kids = [k for k in self._list(node)
                    if k.name.strip(".") and "/" not in k.name and "\0" not in k.name]
            node.kids = sorted(kids, key=lambda k: k.name)
        return node.kids

    def _data(self, node: _Node, size: int) -> bytes:
        raise NotImplementedError

    def _node(self, path: str) -> _Node:
        node, parts = self._root, _split(path)
        for part in parts:
            kids = self._kids(node) if node.is_dir else []
            name = _pick((k.name for k in kids), part)
            if name is None:
                raise MissingFile(f"{_show(path)} is not on {_show(self.source)}")
            node = next(k for k in kids if k.name == name)
        return node

    def listdir(self, path: str = "") -> list[Entry]:
        node = self._node(path)
        if not node.is_dir:
            raise MissingFile(f"{_show(path)} on {_show(self.source)} is not a directory")
        return [k.entry() for k in self._kids(node)]

    def read(self, path: str, limit: int | None = None) -> bytes:
        node = self._node(path)
        if node.is_dir:
            raise MissingFile(f"{_show(path)} on {_show(self.source)} is a directory")
        return self._data(node, node.size if limit is None else max(0, min(limit, node.size)))

    def stat(self, path: str) -> Entry:
        return self._node(path).entry()

    def exists(self, path: str) -> bool:
        try:
            self._node(path)
        except MissingFile:
            return False
        return True

    def file_extent(self, path: str) -> tuple[int, int] | None:
        """(first sector, size) of a contiguous file on an image or drive, else None."""
        node = self._node(path)
        lba = None if node.is_dir else _contiguous(node.runs)
        return None if lba is None else (lba, node.size)

    def file_ranges(self, path: str) -> list[tuple[int, int]] | None:
        """Where a file's bytes are on an image or drive: [(byte offset, length)], one per
        extent in order (a big UDF file has several: an extent holds under 1 GiB). None
        when a piece is not recorded (it reads as zeros) or, for a folder, see real_path."""
        node = self._node(path)
        if node.is_dir or node.embedded is not None or not all(r[2] for r in node.runs):
            return None
        out, left = [], node.size
        for first, length, _ in node.runs:
            take = min(length, left)
            if take > 0:
                out.append((first * SECTOR, take))
            left -= take
        return out if left <= 0 else None

    def real_path(self, path: str) -> str | None:
        """The file on the host for a folder's file, else None (it is inside an image)."""
        return self._node(path).real

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ---------------------------------------------------------------- images and drives

def _u16(b, o):
    return struct.unpack_from("<H", b, o)[0]


def _u32(b, o):
    return struct.unpack_from("<I", b, o)[0]


def _iso_time(b: bytes) -> datetime | None:
    y, mo, d, h, mi, s, off = struct.unpack("6Bb", b[:7])
    try:
        t = datetime(1900 + y, mo, d, h, mi, s, tzinfo=timezone.utc)
    except ValueError:  # all-zero "not specified" dates
        return None
    return t - timedelta(minutes=15 * off)


def _udf_time(b: bytes) -> datetime | None:
    tz_type, year, mo, d, h, mi, s, cs, hus, us = struct.unpack("<Hh8B", b[:12])
    tz = (tz_type & 0xFFF) - (0x1000 if tz_type & 0x800 else 0)
    try:
        t = datetime(year, mo, d, h, mi, s, cs * 10000 + hus * 100 + us, tzinfo=timezone.utc)
    except ValueError:
        return None
    return t if tz == -2047 else t - timedelta(minutes=tz)  # -2047: no zone given, take as UTC


def _text(b: bytes) -> str:
    # ISO9660 ids should be ASCII; mastering tools write whatever bytes they got, often UTF-8.
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return b.decode("latin-1")


def _dchars(b: bytes) -> str:
    """OSTA CS0 compressed unicode: first byte 8 = Latin-1, 16 = UTF-16BE."""
    if b[:1] == b"\x10":
        return b[1:].decode("utf-16-be", errors="replace")
    return b[1:].decode("latin-1")


def _tag_ok(b: bytes, ident: int, where: int | None = None) -> bool:
    """A UDF descriptor tag: right id, valid checksum, and (volume descriptors) its own sector."""
    return (len(b) >= 16 and _u16(b, 0) == ident and (sum(b[0:4]) + sum(b[5:16])) & 0xFF == b[4]
            and (where is None or _u32(b, 12) == where))


class _ImageFS(DiscFS):
    def __init__(self, path: str, kind: str, fd: int):
        self.source, self.kind, self._fd = path, kind, fd
        self._cache: dict[int, bytes] = {}
        self.filesystem = None
        self._joliet = False
        try:
            self.size = os.lseek(fd, 0, os.SEEK_END)
        except OSError as e:
            raise self._oserror(e) from None
        if kind == "drive" and self.size == 0:
            raise NoDisc(f"no disc in {_show(path)}")
        if kind == "image" and self.size < 17 * SECTOR:
            raise SourceError(f"{_show(path)} is not a disc image: only {self.size} bytes")
        pvd = self._find_pvd()
        joliet = self._find_joliet() if pvd is not None else None
        volume = _u32(pvd, 80) * SECTOR if pvd else 0
        if kind == "image" and volume > self.size:
            raise Truncated(f"{_show(path)} is truncated: the volume is {volume} bytes, "
                            f"the file only {self.size}")
        if self.size >= 257 * SECTOR:
            try:
                self._mount_udf()
            except (NoDisc, Truncated):
                raise  # a cut-off image is broken whichever file system we pick
            except SourceError as e:
                if pvd is None:
                    raise
                self.udf_error = e.message
        if self.filesystem is None:
            if pvd is None:
                raise SourceError(f"{_show(path)} is not a disc image (no UDF or ISO9660 found)")
            # Joliet's names are the ones the disc was made with (long, mixed case); the
            # plain ISO 9660 tree beside it has only their 8.3 upper-case stand-ins.
            self._joliet = joliet is not None
            self._list, self._root = self._iso_kids, self._iso_record((joliet or pvd)[156:190])
            self._kids(self._root)  # a truncated or corrupt root fails now, not later
            self.filesystem = "iso9660+joliet" if self._joliet else "iso9660"
        if pvd is not None:
            self.iso_label = _text(pvd[40:72]).rstrip(" \x00") or None
        self.label = self.iso_label or self.udf_label

    def _oserror(self, e: OSError) -> SourceError:
        if e.errno == errno.ENOMEDIUM:
            return NoDisc(f"no disc in {_show(self.source)}")
        return SourceError(f"cannot read {_show(self.source)}: {e.strerror}")

    def _pread(self, lba: int, count: int) -> bytes:
        try:
            data = os.pread(self._fd, count * SECTOR, lba * SECTOR)
        except OSError as e:
            raise self._oserror(e) from None
        self.bytes_read += len(data)
        if len(data) < count * SECTOR:
            sector = lba + len(data) // SECTOR
            raise Truncated(f"{_show(self.source)} is truncated: sector {sector} is beyond its end "
                            f"({self.size} bytes)")
        return data

    def sectors(self, lba: int, count: int) -> bytes:
        """Raw 2048-byte sectors of the image or drive (volume descriptors, say)."""
        return self._sectors(lba, count)

    def _sectors(self, lba: int, count: int) -> bytes:
        if count > _CACHE_LIMIT:
            return self._pread(lba, count)
        missing = [s for s in range(lba, lba + count) if s not in self._cache]
        if missing:
            first, n = missing[0], missing[-1] - missing[0] + 1
            data = self._pread(first, n)
            for k in range(n):
                self._cache.setdefault(first + k, data[k * SECTOR:(k + 1) * SECTOR])
        return b"".join(self._cache[s] for s in range(lba, lba + count))

    def _data(self, node: _Node, size: int) -> bytes:
        if node.embedded is not None:
            return node.embedded[:size]
        out, left = [], size
        for lba, n, recorded in node.runs:
            n = min(n, left)
            if n <= 0:
                break
            out.append(self._sectors(lba, -(-n // SECTOR))[:n] if recorded else bytes(n))
            left -= n
        return b"".join(out)

    # -- ISO9660
    def _find_pvd(self) -> bytes | None:
        for s in range(16, 48):
            if (s + 1) * SECTOR > self.size:
                return None
            d = self._sectors(s, 1)
            if d[1:6] != b"CD001" or d[0] == 255:
                return None  # end of the ISO descriptors (UDF's BEA01/NSR02 may follow)
            if d[0] == 1:
                return d if _u16(d, 128) == SECTOR else None
        return None

    def _find_joliet(self) -> bytes | None:
        """The Joliet supplementary volume descriptor (UCS-2 names), if the disc has one."""
        for s in range(17, 48):
            if (s + 1) * SECTOR > self.size:
                return None
            d = self._sectors(s, 1)
            if d[1:6] != b"CD001" or d[0] == 255:
                return None
            if d[0] == 2 and d[88:91] in (b"%/@", b"%/C", b"%/E"):
                return d
        return None

    def _iso_record(self, r: bytes) -> _Node:
        raw = r[33:33 + r[32]]
        name = raw.decode("utf-16-be", "replace") if self._joliet and len(raw) % 2 == 0 else _text(raw)
        size, name = _u32(r, 10), name.split(";")[0]
        t = _iso_time(r[18:25])
        return _Node(name.rstrip(".") if "." in name else name, bool(r[25] & 2), size,
                     [(_u32(r, 2), size, True)], None, t, t)

    def _dir_data(self, node: _Node) -> bytes:
        if node.size > _DIR_LIMIT:
            raise SourceError(f"{_show(self.source)}: corrupt directory size {node.size}")
        return self._data(node, node.size)

    def _iso_kids(self, node: _Node) -> list[_Node]:
        data, out, pos, more = self._dir_data(node), [], 0, False
        while pos < len(data):
            n = data[pos]
            if n == 0:  # records never cross a sector: the rest of this one is padding
                pos = (pos // SECTOR + 1) * SECTOR
                continue
            if n < 34 or pos + n > len(data):
                raise SourceError(f"{_show(self.source)}: corrupt ISO9660 directory record")
            rec, pos = data[pos:pos + n], pos + n
            if rec[33:33 + rec[32]] in (b"\x00", b"\x01"):
                continue  # "." and ".."
            kid = self._iso_record(rec)
            if more and out[-1].name == kid.name:  # multi-extent file: this record continues it
                out[-1].size += kid.size
                out[-1].runs += kid.runs
            else:
                out.append(kid)
            more = bool(rec[25] & 0x80)
        return out

    # -- UDF (ECMA-167 / OSTA UDF)
    def _mount_udf(self) -> None:
        avdp = self._sectors(256, 1)
        if not _tag_ok(avdp, 2, 256):
            return  # no UDF here
        parts, lvd = {}, None
        for at in (16, 24):  # main, then reserve volume descriptor sequence
            length, loc = struct.unpack_from("<II", avdp, at)
            for s in range(loc, loc + min(length // SECTOR, 64)):
                d = self._sectors(s, 1)
                if _tag_ok(d, 5, s):  # partition descriptor: number -> first sector
                    parts[_u16(d, 22)] = _u32(d, 188)
                elif _tag_ok(d, 6, s):
                    lvd = d
                elif not _tag_ok(d, _u16(d, 0), s) or _u16(d, 0) == 8:
                    break  # terminating descriptor, or no descriptor at all
            if lvd is not None and parts:
                break
        if lvd is None or not parts or _u32(lvd, 212) != SECTOR:
            raise SourceError(f"{_show(self.source)}: incomplete or unsupported UDF volume")
        # Each partition reference is a physical partition (its first sector) or, on UDF
        # 2.50 discs (every BD-ROM), a metadata partition: blocks inside the metadata file,
        # whose own extents lie in a physical partition (UDF 2.50 2.2.10).
        self._pstart, pos, metadata = [], 440, []
        for ref in range(_u32(lvd, 268)):
            mtype, ident = lvd[pos], lvd[pos + 5:pos + 28].rstrip(b"\x00")
            if mtype == 1 or ident in (b"*UDF Sparable Partition", b"*UDF Metadata Partition"):
                # Sparing only remaps defective blocks: pressed discs read right without it.
                pnum = _u16(lvd, pos + 4 if mtype == 1 else pos + 38)
                if pnum not in parts:
                    raise SourceError(f"{_show(self.source)}: UDF partition {pnum} is missing")
                self._pstart.append(parts[pnum])
                if ident == b"*UDF Metadata Partition":
                    metadata.append((ref, pnum, _u32(lvd, pos + 40), _u32(lvd, pos + 44)))
            else:
                raise SourceError(f"{_show(self.source)}: unsupported UDF partition map {ident!r}")
            pos += max(lvd[pos + 1], 6)
        self._meta: dict[int, list] = {}
        for ref, pnum, main, mirror in metadata:
            self._meta[ref] = self._metadata_runs(ref, pnum, main, mirror)
        fsd = self._sectors(self._lba(_u16(lvd, 256), _u32(lvd, 252)), 1)
        if not _tag_ok(fsd, 256):
            raise SourceError(f"{_show(self.source)}: UDF file set descriptor not found")
        self._list, self._root = self._udf_kids, self._udf_node("", _u32(fsd, 404), _u16(fsd, 408))
        self._kids(self._root)  # a truncated or corrupt root fails now, not later
        self.udf_label = _dchars(lvd[84:84 + min(lvd[211], 127)]) or None  # dstring: length last
        self.filesystem = "udf"

    def _metadata_runs(self, ref: int, pnum: int, main: int, mirror: int) -> list:
        """The physical extents of a metadata partition: its metadata file's, else its mirror's."""
        physical = next((r for r, start in enumerate(self._pstart)
                         if start == self._pstart[ref] and r not in self._meta and r != ref), None)
        if physical is None:
            raise SourceError(f"{_show(self.source)}: UDF metadata partition {pnum} has no "
                              f"physical partition map")
        for block in (main, mirror):
            try:
                node = self._udf_node("", block, physical)
            except SourceError:
                continue
            if node.runs and all(recorded for _, _, recorded in node.runs):
                return node.runs
        raise SourceError(f"{_show(self.source)}: unreadable UDF metadata file")

    def _lba(self, part: int, block: int) -> int:
        if part >= len(self._pstart):
            raise SourceError(f"{_show(self.source)}: bad UDF partition reference {part}")
        runs = getattr(self, "_meta", {}).get(part)
        if runs is None:
            return self._pstart[part] + block
        offset = block * SECTOR
        for lba, n, _ in runs:
            if offset < n:
                return lba + offset // SECTOR
            offset -= n
        raise SourceError(f"{_show(self.source)}: UDF block {block} is beyond the metadata file")

    def _udf_node(self, name: str, block: int, part: int) -> _Node:
        fe = self._sectors(self._lba(part, block), 1)
        if _tag_ok(fe, 261):  # File Entry: no creation time, take the modification time
            t_c, t_m, lea, base = 84, 84, 168, 176
        elif _tag_ok(fe, 266):  # Extended File Entry
            t_c, t_m, lea, base = 104, 92, 208, 216
        else:
            raise SourceError(f"{_show(self.source)}: corrupt UDF file entry {_show(name) or '/'}")
        size, is_dir, atype = struct.unpack_from("<Q", fe, 56)[0], fe[27] == 4, _u16(fe, 34) & 7
        start = base + _u32(fe, lea)
        ads = fe[start:start + _u32(fe, lea + 4)]
        ctime, mtime = _udf_time(fe[t_c:t_c + 12]), _udf_time(fe[t_m:t_m + 12])
        node = _Node(name, is_dir, size, [], None, ctime, mtime)
        if atype == 3:
            node.embedded = bytes(ads[:size])
        else:
            node.runs = self._udf_runs(ads, atype, part)
        return node

    def _udf_runs(self, ads: bytes, atype: int, part: int) -> list:
        step = {0: 8, 1: 16}.get(atype)  # short_ad, long_ad
        if step is None:
            raise SourceError(f"{_show(self.source)}: unsupported UDF allocation type {atype}")
        runs, pos, hops = [], 0, 0
        while pos + step <= len(ads):
            raw, block = _u32(ads, pos), _u32(ads, pos + 4)
            p = _u16(ads, pos + 8) if atype == 1 else part
            pos += step
            if raw & 0x3FFFFFFF == 0:
                break
            if raw >> 30 == 3:  # the list goes on in an Allocation Extent Descriptor
                hops += 1
                if hops > 1024:
                    raise SourceError(f"{_show(self.source)}: looping UDF allocation descriptors")
                aed = self._sectors(self._lba(p, block), 1)
                ads, pos = aed[24:24 + _u32(aed, 20)], 0
                continue
            runs.append((self._lba(p, block), raw & 0x3FFFFFFF, raw >> 30 == 0))
        return runs

    def _udf_kids(self, node: _Node) -> list[_Node]:
        data, out, pos = self._dir_data(node), [], 0
        while pos + 38 <= len(data):  # File Identifier Descriptors, back to back
            if not _tag_ok(data[pos:pos + 16], 257):
                raise SourceError(f"{_show(self.source)}: corrupt UDF directory {_show(node.name)}")
            chars, lfi, liu = data[pos + 18], data[pos + 19], _u16(data, pos + 36)
            block, part = _u32(data, pos + 24), _u16(data, pos + 28)
            name = _dchars(data[pos + 38 + liu:pos + 38 + liu + lfi])
            pos += (38 + liu + lfi + 3) & ~3
            if not chars & 0x0C:  # skip deleted entries and the parent link
                out.append(self._udf_node(name, block, part))
        return out

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


# ---------------------------------------------------------------- folders

class _FolderFS(DiscFS):
    kind = filesystem = "folder"

    def __init__(self, root: str):
        self.source = root
        self._root = _Node("", True, 0, [], None, None, None, root)

    def _list(self, node: _Node) -> list[_Node]:
        out = []
        try:
            with os.scandir(node.real) as it:
                for de in it:
                    try:
                        st, is_dir = de.stat(), de.is_dir()
                    except OSError:
                        continue  # a dangling link is no part of the disc
                    out.append(_Node(de.name, is_dir, 0 if is_dir else st.st_size, [], None,
                                     datetime.fromtimestamp(st.st_ctime, timezone.utc),
                                     datetime.fromtimestamp(st.st_mtime, timezone.utc), de.path))
        except OSError as e:
            raise SourceError(f"cannot read {_show(node.real)}: {e.strerror}") from None
        return out

    def _data(self, node: _Node, size: int) -> bytes:
        try:
            with open(node.real, "rb") as f:
                data = f.read(size)
        except OSError as e:
            raise SourceError(f"cannot read {_show(node.real)}: {e.strerror}") from None
        self.bytes_read += len(data)
        return data


# ---------------------------------------------------------------- entry points

def _folder_root(path: str) -> str:
    """The folder holding VIDEO_TS or BDMV, whether given that folder or the one inside it."""
    try:
        names = os.listdir(path)
    except OSError as e:
        raise SourceError(f"cannot read {_show(path)}: {e.strerror}") from None
    if any(n.upper() in ("VIDEO_TS", "BDMV") and os.path.isdir(os.path.join(path, n))
           for n in names):
        return path
    if os.path.basename(os.path.normpath(path)).upper() in ("VIDEO_TS", "BDMV"):
        return os.path.dirname(os.path.abspath(path))
    if not names:
        raise SourceError(f"{_show(path)} is an empty folder, not a disc")
    raise SourceError(f"{_show(path)} is not a disc folder: it has no VIDEO_TS or BDMV folder")


def open_disc(source: str | Path) -> DiscFS:
    """Open a drive, an image or a folder; SourceError (NoDisc for an empty drive) otherwise."""
    path = os.fspath(source)
    show = _show(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise SourceError(f"{show}: no such file, folder or drive") from None
    except OSError as e:
        raise SourceError(f"cannot access {show}: {e.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        return _FolderFS(_folder_root(path))
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISBLK(st.st_mode)):
        raise SourceError(f"{show} is not a disc image, drive or folder")
    try:  # a drive is read exactly like an image: sectors at offsets
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as e:
        if e.errno == errno.ENOMEDIUM:
            raise NoDisc(f"no disc in {show}") from None
        raise SourceError(f"cannot open {show}: {e.strerror}") from None
    try:
        return _ImageFS(path, "image" if stat.S_ISREG(st.st_mode) else "drive", fd)
    except BaseException:
        os.close(fd)
        raise
