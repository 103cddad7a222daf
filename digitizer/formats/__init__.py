"""The kinds of disc digitizer reads, behind one small interface.

Every format is a plain module exposing:

    NAME                    "dvd", ... (stored as the catalog's disc_type)
    STEPS                   its step chain, e.g. ("rip", "transcode", "insert")
    RIP_SUFFIX              the file suffix of its rips (".mkv")
    recognises(fs)          True when the open disc (formats.discfs.DiscFS) is of this kind
    read_ids(fs)            {"fingerprint": primary id, "ids": {every id}}: navigation
                            files only, the same for a drive, an image and a folder
    scan(source, cfg)       {"disc": {...}, "titles": [...], "tool_versions": {...}}; each
                            title has the keys roles.assign reads (title, duration,
                            chapters, segments, size) plus what rip needs (streams, ...)
    assign_roles(titles, cfg, kind=None)
                            sets each title's role (video: roles.assign); kind is
                            "show", "movie" or None (not known) for the disc
    probe(source, title, cfg)
                            measures what only decoding tells (interlacing) on a title
                            that will be ripped; sets it in the title dict
    CATCH_ALL               True for the last format, which takes what no other reads
    RESUMES_PART            True when a failed rip keeps its `.part` to continue from
    NEEDS_NAME              True when the library path needs a certain name (review gate)
    TITLE_WORD              optional: what a person calls its titles ("track" on a CD;
                            default "title"), in progress bars and messages
    library_root(cfg)       the folder its titles are filed under
    rip(source, title, part, cfg, progress)
                            file work only: writes one title to `part` (a path), calls
                            progress(seconds done), verifies it and returns the facts
                            for its marker; the step does claims, rename and bookkeeping
    verified(info)          optional: the verdict of a finished file's marker in a few words
                            (an audio CD track: AccurateRip's, and how it was read), shown by
                            `watch` and in its JSON as "verified"
    read_setup(source, cfg, catalog)
                            optional: what reading each title needs, found once a disc
                            (an audio CD's TOC and read offset); the rip step merges it
                            into every title it hands to rip
    library_path(library, name, item, episode, extra_type)
                            where a finished title goes (names.py holds the layouts)
    manifest_disc(fs, ids, titles)
                            optional: the "disc" object of its Optical Disc Manifest v1 (format,
                            identifiers, file inventory, titles; manifest.py wraps it)
    IMAGE_FIRST             True when `rip --image-first` may image the disc with ddrescue
                            and rip its titles from the image (a file system, a drive)
    title_sectors(fs, title)
                            optional: the disc sectors ripping a title reads (None: any),
                            so an unreadable area is blamed on the titles it belongs to
    disc_title(fs)          optional: the title the disc gives itself (a Blu-ray's
                            BDMV/META), shown by detect and the label of a folder

A format whose discs have no file system (an audio CD: a TOC, no files) also exposes

    open_source(source)     an open disc-like object (source, kind, label, bytes_read,
                            exists(path), a context manager) when `source` is its kind (a
                            CUE sheet, a drive whose disc status says audio), else None;
                            its recognises/read_ids take that object instead of a DiscFS

`open_source(source)` below tries those first, then opens the DiscFS.

No classes, no plugin loader: `REGISTRY` is the ordered list, and the first format that
recognises a disc reads it (a catch-all format for data discs goes last).
"""

from __future__ import annotations

from digitizer.errors import SourceError
from digitizer.formats import bluray, cd, data, dvd
from digitizer.formats.discfs import DiscFS, open_disc

REGISTRY = (dvd, bluray, cd, data)

# Kinds `detect` can name before a format module exists to read them: (kind, a file only
# that kind has). Whatever nothing recognises is "data".
_LAYOUTS = (("hddvd", "HVDVD_TS/HV000I01.IFO"),)


def open_source(source: str):
    """The open disc at `source`: a format's own (an audio CD has no file system), else
    its DiscFS. SourceError (NoDisc for an empty drive) when it cannot be read."""
    for fmt in REGISTRY:
        opener = getattr(fmt, "open_source", None)
        if opener is not None:
            opened = opener(source)
            if opened is not None:
                return opened
    return open_disc(source)


def recognise(fs: DiscFS):
    """The format module that reads this open disc, or None. A catch-all format (data)
    never takes a disc of a known kind that no module reads yet (a Blu-ray is not imaged
    as a data disc)."""
    known_layout = any(fs.exists(path) for _, path in _LAYOUTS)
    return next((fmt for fmt in REGISTRY if fmt.recognises(fs)
                 and not (fmt.CATCH_ALL and known_layout)), None)


def disc_type(fs: DiscFS) -> str:
    """What the disc is: a format's NAME, or a known layout digitizer cannot read yet."""
    fmt = recognise(fs)
    if fmt is not None:
        return fmt.NAME
    return next((kind for kind, path in _LAYOUTS if fs.exists(path)), "data")


def format_of(source: str, fs: DiscFS | None = None):
    """The format module for a source; SourceError when no format reads it."""
    if fs is None:
        with open_source(source) as opened:
            return format_of(source, opened)
    fmt = recognise(fs)
    if fmt is None:
        raise SourceError(f"{source}: a {disc_type(fs)} disc; only "
                          f"{', '.join(f.NAME for f in REGISTRY)} discs are supported so far")
    return fmt


def image_first(source: str, fmt, part, titles: list[dict], cfg,
                retries: int) -> tuple[str | None, dict[int, str]]:
    """Image the whole disc into `part` with ddrescue (its map beside it, continued when
    present, `retries` passes over what is still unreadable), then say which of `titles`
    read an unreadable sector: (the unreadable areas in one line or None,
    {title: its unreadable areas}). A file system that cannot be read from the image
    makes every title damaged."""
    with open_disc(source) as fs:
        size = fs.size
    bad = data.image(source, part, size, cfg, retries)
    if not bad:
        return None, {}
    whole = {t["title"]: data.describe(bad) for t in titles}
    reader = getattr(fmt, "title_sectors", None)
    if reader is None:
        return data.describe(bad), whole
    damaged = {}
    try:
        with open_disc(part) as fs:
            for t in titles:
                spans = reader(fs, t)
                hit = bad if spans is None else \
                    [b for b, (first, last) in zip(bad, data.sector_spans(bad))
                     if any(a <= last and first <= z for a, z in spans)]
                if hit:
                    damaged[t["title"]] = data.describe(hit)
    except SourceError:
        return data.describe(bad), whole
    return data.describe(bad), damaged


def label_of(fs, fmt=None) -> str | None:
    """The disc's label: its volume identifier, else (a folder has none) the name the disc
    gives itself."""
    if fs.label or fmt is None or not hasattr(fmt, "disc_title"):
        return fs.label
    return fmt.disc_title(fs)


def by_name(name: str | None):
    """The format module of a catalog disc_type (discs recorded before types: DVD)."""
    for fmt in REGISTRY:
        if fmt.NAME == (name or "dvd"):
            return fmt
    raise SourceError(f"no format module for {name!r} discs")
