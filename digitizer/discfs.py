"""Read-only access to the files of a disc without mounting it.

One code path for a drive (/dev/sr0), an image file and a VIDEO_TS/BDMV folder: drives
and images are read as 2048-byte sectors with ``os.pread`` and parsed here (UDF 1.02+,
preferred, else ISO9660); folders are read with ordinary file calls. Sectors are read
lazily and cached, so identifying a disc touches only the descriptors, a few
directories and the small IFO files.

Not supported (yet): UDF virtual/metadata partitions (UDF 2.50 Blu-ray without an
ISO9660 bridge), extended_ad, ISO9660 multi-extent files beyond summing their sizes,
Joliet/Rock Ridge names (DVD and BD names are plain 8.3 upper case).
"""

from __future__ import annotations

import errno
import os
import stat
import struct
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from .errors import NoDisc, SourceError

SECTOR = 2048
_CACHE_LIMIT = 256  # sectors per call worth caching; bigger reads are payload, not metadata


class MissingFile(SourceError):
    """A path asked for is not on the disc."""


class Truncated(SourceError):
    """A sector the file system points to lies beyond the end of the image."""


@dataclass(frozen=True)
class Entry:
    name: str
    size: int
    is_dir: bool
    lba: int | None  # first sector of a contiguous file on an image/drive, else None
    ctime: datetime | None  # UTC; see DiscFS docstring for where it comes from
    mtime: datetime | None


def _show(path) -> str:
    # Paths end up in one-line error messages: never let a hostile name break the line.
    text = os.fsdecode(path)
    return text if text.isprintable() else repr(text)[1:-1]


def _split(path: str) -> list[str]:
    parts = [p for p in str(path).replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts:
        raise MissingFile(f"{_show(path)}: '..' is not allowed in a disc path")
    return parts


def _pick(names, want: str):
    """Exact name first, else case-insensitive: disc names are upper case, callers vary."""
    names = list(names)
    for n in names:
        if n == want:
            return n
    folded = want.split(";")[0].casefold()  # ISO9660 "NAME.EXT;1" finds "NAME.EXT"
    return next((n for n in names if n.casefold() == folded), None)


class DiscFS:
    """Files of one disc. ``ctime`` is the ISO9660 recording time, the UDF Extended File
    Entry creation time or (plain UDF File Entry, which has none) its modification time,
    or a folder's ``st_ctime`` (what pydvdid uses)."""

    source: str
    kind: str  # "image" | "drive" | "folder"
    filesystem: str  # "udf" | "iso9660" | "folder"
    label: str | None = None
    bytes_read: int = 0

    def listdir(self, path: str = "") -> list[Entry]:
        raise NotImplementedError

    def read(self, path: str, limit: int | None = None) -> bytes:
        raise NotImplementedError

    def file_extent(self, path: str) -> tuple[int, int] | None:
        return None

    def exists(self, path: str) -> bool:
        try:
            self.stat(path)
        except MissingFile:
            return False
        return True

    def stat(self, path: str) -> Entry:
        parts = _split(path)
        if not parts:
            return Entry("", 0, True, None, None, None)
        entries = self._listdir_or_missing(parts[:-1], path)
        name = _pick((e.name for e in entries), parts[-1])
        if name is None:
            raise MissingFile(f"{_show(path)} is not on {_show(self.source)}")
        return next(e for e in entries if e.name == name)

    def _listdir_or_missing(self, parts, path):
        try:
            return self.listdir("/".join(parts))
        except MissingFile:
            raise MissingFile(f"{_show(path)} is not on {_show(self.source)}") from None

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ---------------------------------------------------------------- images and drives

@dataclass
class _Node:
    name: str
    is_dir: bool
    size: int
    runs: list  # [(first sector, byte length, recorded)]; recorded=False reads as zeros
    embedded: bytes | None
    ctime: datetime | None
    mtime: datetime | None

    def entry(self) -> Entry:
        return Entry(self.name, self.size, self.is_dir, _contiguous(self.runs), self.ctime, self.mtime)


def _contiguous(runs) -> int | None:
    if not runs or not all(r[2] for r in runs):
        return None
    for (a, n, _), (b, _, _) in zip(runs, runs[1:]):
        if a + n // SECTOR != b or n % SECTOR:
            return None
    return runs[0][0]


def _u16(b, o):
    return struct.unpack_from("<H", b, o)[0]


def _u32(b, o):
    return struct.unpack_from("<I", b, o)[0]


def _iso_time(b: bytes) -> datetime | None:
    y, mo, d, h, mi, s, off = struct.unpack("6Bb", b[:7])
    try:
        local = datetime(1900 + y, mo, d, h, mi, s, tzinfo=timezone.utc)
    except ValueError:  # all-zero "not specified" dates
        return None
    return local - timedelta(minutes=15 * off)


def _udf_time(b: bytes) -> datetime | None:
    tz_type, year, mo, d, h, mi, s, cs, hus, us = struct.unpack("<Hh8B", b[:12])
    tz = tz_type & 0xFFF
    tz = tz - 0x1000 if tz & 0x800 else tz
    try:
        t = datetime(year, mo, d, h, mi, s, cs * 10000 + hus * 100 + us, tzinfo=timezone.utc)
    except ValueError:
        return None
    return t if tz == -2047 else t - timedelta(minutes=tz)  # -2047: no zone given, take as UTC


def _dchars(b: bytes) -> str:
    """OSTA CS0 compressed unicode: first byte 8 = Latin-1, 16 = UTF-16BE."""
    if not b:
        return ""
    if b[0] == 16:
        return b[1:].decode("utf-16-be", errors="replace")
    return b[1:].decode("latin-1")


def _text(b: bytes) -> str:
    # ISO9660 ids should be ASCII; mastering tools write whatever bytes they got, often UTF-8.
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return b.decode("latin-1")


def _dstring(field: bytes) -> str:
    n = min(field[-1], len(field) - 1)  # last byte holds the used length
    return _dchars(field[:n])


def _tag_ok(b: bytes, ident: int, where: int | None = None) -> bool:
    if len(b) < 16 or _u16(b, 0) != ident:
        return False
    if (sum(b[0:4]) + sum(b[5:16])) & 0xFF != b[4]:
        return False
    return where is None or _u32(b, 12) == where


class _ImageFS(DiscFS):
    def __init__(self, path: str, kind: str, fd: int):
        self.source, self.kind, self._fd = path, kind, fd
        self._cache: dict[int, bytes] = {}
        self._dirs: dict[tuple, list[_Node]] = {}
        self.label = self.filesystem = None
        self.udf_error: str | None = None  # why a UDF volume was passed over for ISO9660
        try:
            self.size = os.lseek(fd, 0, os.SEEK_END)
        except OSError as e:
            raise self._oserror(e) from None
        if kind == "drive" and self.size == 0:
            raise NoDisc(f"no disc in {_show(path)}")
        if kind == "image" and self.size < 17 * SECTOR:
            raise SourceError(f"{_show(path)} is not a disc image: only {self.size} bytes")
        pvd = self._find_pvd()
        if kind == "image" and pvd is not None and _u32(pvd, 80) * SECTOR > self.size:
            raise Truncated(f"{_show(path)} is truncated: the volume is {_u32(pvd, 80) * SECTOR} "
                              f"bytes but the file has only {self.size}")
        if self.size >= 257 * SECTOR:
            try:
                self._mount_udf()
            except (NoDisc, Truncated):
                raise  # a cut-off image is broken whichever file system we pick
            except SourceError as e:
                if pvd is None:
                    raise
                self.udf_error, self._dirs, self.label = e.message, {}, None
        if self.filesystem is None:
            if pvd is None:
                raise SourceError(f"{_show(path)} is not a disc image (no UDF or ISO9660 file system)")
            self.filesystem, self._parse = "iso9660", self._iso_children
            self._root = self._iso_record(pvd[156:190])
            self._children(self._root, ())  # a truncated or corrupt root fails here, not later
        if self.label is None and pvd is not None:
            self.label = _text(pvd[40:72]).rstrip(" \x00") or None

    def _oserror(self, e: OSError) -> SourceError:
        if e.errno == errno.ENOMEDIUM:
            return NoDisc(f"no disc in {_show(self.source)}")
        return SourceError(f"cannot read {_show(self.source)}: {e.strerror}")

    # -- sectors
    def _pread(self, lba: int, count: int) -> bytes:
        try:
            data = os.pread(self._fd, count * SECTOR, lba * SECTOR)
        except OSError as e:
            raise self._oserror(e) from None
        self.bytes_read += len(data)
        if len(data) < count * SECTOR:
            raise Truncated(f"{_show(self.source)} is truncated: sector {lba + len(data) // SECTOR} "
                              f"is beyond its end ({self.size} bytes)")
        return data

    def _sectors(self, lba: int, count: int) -> bytes:
        if count > _CACHE_LIMIT:
            return self._pread(lba, count)
        out, i = [], 0
        while i < count:
            j = i
            while j < count and lba + j not in self._cache:
                j += 1
            if j > i:
                data = self._pread(lba + i, j - i)
                for k in range(j - i):
                    self._cache[lba + i + k] = data[k * SECTOR:(k + 1) * SECTOR]
            else:
                j = i + 1
            out.extend(self._cache[s] for s in range(lba + i, lba + j))
            i = j
        return b"".join(out)

    def _runs_bytes(self, runs, size: int) -> bytes:
        out, left = [], size
        for lba, n, recorded in runs:
            n = min(n, left)
            if n <= 0:
                break
            out.append(self._sectors(lba, -(-n // SECTOR))[:n] if recorded else bytes(n))
            left -= n
        return b"".join(out)

    # -- ISO9660
    def _find_pvd(self) -> bytes | None:
        for s in range(16, 48):
            if s * SECTOR >= self.size > 0:
                return None
            d = self._sectors(s, 1)
            if d[1:6] != b"CD001":
                return None  # end of the ISO descriptors (UDF's BEA01/NSR02 follow)
            if d[0] == 1:
                return d if _u16(d, 128) == SECTOR else None
            if d[0] == 255:
                return None
        return None

    def _iso_record(self, r: bytes) -> _Node:
        size = _u32(r, 10)
        name = _text(r[33:33 + r[32]]).split(";")[0]
        name = name.rstrip(".") if "." in name else name
        t = _iso_time(r[18:25])
        return _Node(name, bool(r[25] & 2), size, [(_u32(r, 2), size, True)], None, t, t)

    def _iso_children(self, node: _Node) -> list[_Node]:
        data, out, pos, more = self._runs_bytes(node.runs, node.size), [], 0, False
        while pos < len(data):
            n = data[pos]
            if n == 0:  # records never cross sectors: the rest of this one is padding
                pos = (pos // SECTOR + 1) * SECTOR
                continue
            if n < 34 or pos + n > len(data):
                raise SourceError(f"{_show(self.source)}: corrupt ISO9660 directory record")
            rec = data[pos:pos + n]
            pos += n
            if rec[33:33 + rec[32]] in (b"\x00", b"\x01"):
                continue
            child = self._iso_record(rec)
            if more and out[-1].name == child.name:  # multi-extent file: this record continues it
                out[-1].size += child.size
                out[-1].runs += child.runs
            else:
                out.append(child)
            more = bool(rec[25] & 0x80)
        return out

    # -- UDF
    def _mount_udf(self) -> None:
        avdp = self._sectors(256, 1)
        if not _tag_ok(avdp, 2, 256):
            return  # no UDF here: plain ISO9660
        parts, lvd = {}, None
        for length, loc in (struct.unpack_from("<II", avdp, 16), struct.unpack_from("<II", avdp, 24)):
            for s in range(loc, loc + min(length // SECTOR, 64)):
                d = self._sectors(s, 1)
                if _tag_ok(d, 5, s):
                    parts[_u16(d, 22)] = _u32(d, 188)
                elif _tag_ok(d, 6, s):
                    lvd = d
                elif not _tag_ok(d, _u16(d, 0), s) or _u16(d, 0) == 8:
                    break  # terminator, or not a descriptor at all
            if lvd is not None and parts:
                break
        if lvd is None or not parts or _u32(lvd, 212) != SECTOR:
            raise SourceError(f"{_show(self.source)}: incomplete or unsupported UDF volume")
        self._pstart, pos = [], 440
        for _ in range(_u32(lvd, 268)):
            mtype, mlen = lvd[pos], lvd[pos + 1]
            ident = lvd[pos + 5:pos + 28].rstrip(b"\x00")
            if mtype == 1 or (mtype == 2 and ident == b"*UDF Sparable Partition"):
                # Sparing only remaps defective blocks; pressed discs read fine without it.
                pnum = _u16(lvd, pos + 4) if mtype == 1 else _u16(lvd, pos + 38)
                if pnum not in parts:
                    raise SourceError(f"{_show(self.source)}: UDF partition {pnum} is missing")
                self._pstart.append(parts[pnum])
            else:
                raise SourceError(f"{_show(self.source)}: unsupported UDF partition map {ident!r}")
            pos += max(mlen, 6)
        fsd_block, fsd_part = _u32(lvd, 252), _u16(lvd, 256)
        fsd = self._sectors(self._lba(fsd_part, fsd_block), 1)
        if not _tag_ok(fsd, 256):
            raise SourceError(f"{_show(self.source)}: UDF file set descriptor not found")
        self._root, self._parse = self._udf_node("", _u32(fsd, 404), _u16(fsd, 408)), self._udf_children
        self._children(self._root, ())  # a truncated or corrupt root fails here, not later
        self.label, self.filesystem = _dstring(lvd[84:212]) or None, "udf"

    def _lba(self, part: int, block: int) -> int:
        if part >= len(self._pstart):
            raise SourceError(f"{_show(self.source)}: bad UDF partition reference {part}")
        return self._pstart[part] + block

    def _udf_node(self, name: str, block: int, part: int) -> _Node:
        fe = self._sectors(self._lba(part, block), 1)
        if _tag_ok(fe, 261):
            size, t_c, t_m, lea, lad, base = _u32(fe, 56) | _u32(fe, 60) << 32, 84, 84, 168, 172, 176
        elif _tag_ok(fe, 266):
            size, t_c, t_m, lea, lad, base = _u32(fe, 56) | _u32(fe, 60) << 32, 104, 92, 208, 212, 216
        else:
            raise SourceError(f"{_show(self.source)}: corrupt UDF file entry for {_show(name) or '/'}")
        is_dir, atype = fe[27] == 4, _u16(fe, 34) & 7
        start = base + _u32(fe, lea)
        ads = fe[start:start + _u32(fe, lad)]
        ctime, mtime = _udf_time(fe[t_c:t_c + 12]), _udf_time(fe[t_m:t_m + 12])
        if atype == 3:  # data embedded in the ICB itself
            return _Node(name, is_dir, size, [], bytes(ads[:size]), ctime, mtime)
        return _Node(name, is_dir, size, self._udf_runs(ads, atype, part), None, ctime, mtime)

    def _udf_runs(self, ads: bytes, atype: int, part: int) -> list:
        runs, step = [], {0: 8, 1: 16}.get(atype)
        if step is None:
            raise SourceError(f"{_show(self.source)}: unsupported UDF allocation type {atype}")
        pos = 0
        while pos + step <= len(ads):
            raw, block = _u32(ads, pos), _u32(ads, pos + 4)
            p = _u16(ads, pos + 8) if atype == 1 else part
            pos += step
            length, kind = raw & 0x3FFFFFFF, raw >> 30
            if length == 0:
                break
            if kind == 3:  # the list continues in an Allocation Extent Descriptor
                aed = self._sectors(self._lba(p, block), 1)
                ads, pos = aed[24:24 + _u32(aed, 20)], 0
                continue
            runs.append((self._lba(p, block), length, kind == 0))
        return runs

    def _udf_children(self, node: _Node) -> list[_Node]:
        data = node.embedded if node.embedded is not None else self._runs_bytes(node.runs, node.size)
        out, pos = [], 0
        while pos + 38 <= len(data):
            if not _tag_ok(data[pos:pos + 16], 257):
                raise SourceError(f"{_show(self.source)}: corrupt UDF directory {_show(node.name) or '/'}")
            chars, lfi, liu = data[pos + 18], data[pos + 19], _u16(data, pos + 36)
            block, part = _u32(data, pos + 24), _u16(data, pos + 28)
            name = _dchars(data[pos + 38 + liu:pos + 38 + liu + lfi])
            pos += (38 + liu + lfi + 3) & ~3
            if not chars & 0x0C:  # skip deleted entries and the parent link
                out.append(self._udf_node(name, block, part))
        return out

    # -- public API
    def _node(self, path: str) -> _Node:
        node, parts = self._root, _split(path)
        for i, part in enumerate(parts):
            kids = self._children(node, tuple(p.casefold() for p in parts[:i])) if node.is_dir else []
            name = _pick((k.name for k in kids), part)
            if name is None:
                raise MissingFile(f"{_show(path)} is not on {_show(self.source)}")
            node = next(k for k in kids if k.name == name)
        return node

    def _children(self, node: _Node, key: tuple) -> list[_Node]:
        if key not in self._dirs:
            self._dirs[key] = sorted(self._parse(node), key=lambda k: k.name)
        return self._dirs[key]

    def listdir(self, path: str = "") -> list[Entry]:
        node = self._node(path)
        if not node.is_dir:
            raise MissingFile(f"{_show(path)} on {_show(self.source)} is not a directory")
        return [k.entry() for k in self._children(node, tuple(p.casefold() for p in _split(path)))]

    def read(self, path: str, limit: int | None = None) -> bytes:
        node = self._node(path)
        if node.is_dir:
            raise MissingFile(f"{_show(path)} on {_show(self.source)} is a directory")
        size = node.size if limit is None else max(0, min(limit, node.size))
        if node.embedded is not None:
            return node.embedded[:size]
        return self._runs_bytes(node.runs, size)

    def file_extent(self, path: str) -> tuple[int, int] | None:
        node = self._node(path)
        lba = _contiguous(node.runs)
        return None if lba is None or node.is_dir else (lba, node.size)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


# ---------------------------------------------------------------- folders

class _FolderFS(DiscFS):
    kind = filesystem = "folder"

    def __init__(self, root: str):
        self.source, self._root = root, root

    def _real(self, path: str) -> str:
        real = self._root
        for part in _split(path):
            try:
                name = part if os.path.lexists(os.path.join(real, part)) else _pick(os.listdir(real), part)
            except OSError:
                name = None
            if name is None:
                raise MissingFile(f"{_show(path)} is not in {_show(self.source)}")
            real = os.path.join(real, name)
        return real

    def listdir(self, path: str = "") -> list[Entry]:
        real, out = self._real(path), []
        try:
            with os.scandir(real) as it:
                for de in it:
                    try:
                        st, is_dir = de.stat(), de.is_dir()
                    except OSError:
                        continue  # a dangling link is no part of the disc
                    out.append(Entry(de.name, 0 if is_dir else st.st_size, is_dir, None,
                                     datetime.fromtimestamp(st.st_ctime, timezone.utc),
                                     datetime.fromtimestamp(st.st_mtime, timezone.utc)))
        except NotADirectoryError:
            raise MissingFile(f"{_show(path)} in {_show(self.source)} is not a directory") from None
        except OSError as e:
            raise SourceError(f"cannot read {_show(real)}: {e.strerror}") from None
        return sorted(out, key=lambda e: e.name)

    def read(self, path: str, limit: int | None = None) -> bytes:
        real = self._real(path)
        try:
            with open(real, "rb") as f:
                data = f.read() if limit is None else f.read(max(0, limit))
        except IsADirectoryError:
            raise MissingFile(f"{_show(path)} in {_show(self.source)} is a directory") from None
        except OSError as e:
            raise SourceError(f"cannot read {_show(real)}: {e.strerror}") from None
        self.bytes_read += len(data)
        return data


# ---------------------------------------------------------------- entry points

def _folder_root(path: str) -> str:
    try:
        names = os.listdir(path)
    except OSError as e:
        raise SourceError(f"cannot read {_show(path)}: {e.strerror}") from None
    if any(n.upper() in ("VIDEO_TS", "BDMV") and os.path.isdir(os.path.join(path, n)) for n in names):
        return path
    base = os.path.basename(os.path.normpath(path)).upper()
    if base in ("VIDEO_TS", "BDMV"):
        return os.path.dirname(os.path.abspath(path))
    if not names:
        raise SourceError(f"{_show(path)} is an empty folder, not a disc")
    raise SourceError(f"{_show(path)} is not a disc folder: it has no VIDEO_TS or BDMV folder")


def open_disc(source: str | Path) -> DiscFS:
    """Open a drive, an image or a folder; raise SourceError if it is not a readable disc."""
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
    if stat.S_ISREG(st.st_mode):
        kind = "image"
    elif stat.S_ISBLK(st.st_mode):
        kind = "drive"
    else:
        raise SourceError(f"{show} is not a disc image, drive or folder")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as e:
        if e.errno == errno.ENOMEDIUM:
            raise NoDisc(f"no disc in {show}") from None
        raise SourceError(f"cannot open {show}: {e.strerror}") from None
    try:
        return _ImageFS(path, kind, fd)
    except BaseException:
        os.close(fd)
        raise


def disc_type(fs: DiscFS) -> str:
    if fs.exists("VIDEO_TS/VIDEO_TS.IFO"):
        return "dvd"
    if fs.exists("BDMV/index.bdmv"):
        return "bluray"
    return "data"
