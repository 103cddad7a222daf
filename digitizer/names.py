"""Names: what a disc is called (`Name`), where its titles go in the library (the
Plex/Jellyfin layouts), and turning untrusted text (volume labels, titles given on the
command line) into safe file names. Labels are data: they are only ever used as a path
component after passing here."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from digitizer.errors import UsageError

_FORBIDDEN = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')


# File systems limit a name to 255 bytes, not characters (300 CJK characters are 900
# bytes). A component is cut to MAX_BYTES, leaving room for what is appended to a folder's
# name in a file name (" - s01e01.mkv", " - Extended Edition"), and a cut name ends in a
# short hash of the whole, so two long names that share their start stay apart and the
# same name always gives the same cut.
MAX_BYTES = 200
# A file's whole name: 255 less what its marker and the marker's temporary add around it
# (".NAME.digitizer.json" written as "..NAME.digitizer.json.tmp-PID").
FILE_BYTES = 255 - len("..digitizer.json.tmp-4194304")


def fit(text: str, max_bytes: int = MAX_BYTES) -> str:
    """`text` at most `max_bytes` in UTF-8, cut on a character boundary, with a stable
    `~hash` suffix when it was cut."""
    raw = text.encode("utf-8")
    if len(raw) <= max_bytes:
        return text
    tag = "~" + hashlib.sha1(raw).hexdigest()[:8]
    cut = raw[:max_bytes - len(tag)].decode("utf-8", errors="ignore").rstrip(" .")
    return cut + tag


def safe_component(text: str, fallback: str = "untitled", max_bytes: int = MAX_BYTES) -> str:
    """One path component: no separators, no `..`, no control or reserved characters, at
    most max_bytes bytes."""
    text = unicodedata.normalize("NFC", str(text))
    text = "".join(" " if unicodedata.category(c).startswith("C") else c for c in text)
    text = _FORBIDDEN.sub(" ", text)
    text = re.sub(r"\s+", " ", text).strip(" .")
    text = text.lstrip("-")  # never looks like an option to a tool
    if not text or set(text) <= {"."}:
        text = fallback
    return fit(text, max_bytes) or fallback


def inside(root: Path, path: Path) -> Path:
    """``path`` resolved, refusing anything that lands outside ``root``."""
    root = Path(root).resolve()
    resolved = Path(path).resolve()
    if resolved != root and root not in resolved.parents:
        raise UsageError(f"refusing to write outside {root}: {path}")
    return resolved


def label_slug(label: str | None, fallback: str = "disc", max_len: int = 40) -> str:
    """A volume label as a conservative folder name: letters, digits, `_`, `.`, `-` only.

    Labels come from the disc, so unlike names the user types they keep nothing a shell
    or a script might read as syntax (`$`, `(`, quotes, spaces)."""
    text = re.sub(r"[^\w.-]+", "_", unicodedata.normalize("NFC", label or ""))
    text = re.sub(r"\.{2,}", ".", text)
    return safe_component(text.strip("_"), fallback=fallback, max_bytes=max_len)


# -- what a disc is called ------------------------------------------------------------
# Where a name came from, and which sources are sure enough to insert under: a name typed
# by a person or given in the config is; a guess from the volume label ("label") is not.
CERTAIN_SOURCES = ("cli", "config", "review", "catalog", "cdtext", "musicbrainz", "thediscdb",
                   "tmdb")
KINDS = ("movie", "show", "album")
_YEAR = re.compile(r"\((\d{4})\)\s*$")


@dataclass(frozen=True)
class Name:
    """A disc's library name: a movie, a season of a show, or an album ("Album Artist -
    Album (Year)")."""

    kind: str
    name: str  # as the library shows it, "Title (Year)"; made safe when a path is built
    season: int | None = None  # 0 is the specials season ("Season 00", s00eNN)
    source: str = "cli"
    edition: str | None = None  # a movie's cut: "Extended Edition", "Director's Cut"

    def __post_init__(self):
        if self.kind not in KINDS:
            raise UsageError(f"a name is a movie, a show or an album, not {self.kind!r}")
        if not safe_component(self.name, fallback=""):
            raise UsageError(f"{self.name!r} is not usable as a library name")
        if self.kind == "show" and self.season is None:
            object.__setattr__(self, "season", 1)
        if self.kind in ("movie", "album"):
            object.__setattr__(self, "season", None)
        if self.edition is not None and (self.kind != "movie" or
                                         not safe_component(self.edition, fallback="")):
            raise UsageError(f"an edition ({self.edition!r}) is a movie's, and must be text")

    @property
    def year(self) -> int | None:
        m = _YEAR.search(self.name)
        return int(m.group(1)) if m else None

    @property
    def certain(self) -> bool:
        return self.source in CERTAIN_SOURCES

    @property
    def folder(self) -> str:
        return self.fitted(MAX_BYTES)

    def fitted(self, max_bytes: int) -> str:
        """The name as a path component of at most `max_bytes`; a name too long is cut
        before its "(Year)", which the media servers need to match it."""
        safe = safe_component(self.name, fallback="", max_bytes=10_000)
        m = _YEAR.search(safe)
        if m and len(safe.encode()) > max_bytes:
            year = " " + m.group(0).strip()
            return fit(safe[:m.start()].rstrip(), max_bytes - len(year.encode())) + year
        return fit(safe, max_bytes)

    def as_dict(self) -> dict:
        """The form kept in disc markers and printed as JSON."""
        data = {"kind": self.kind, "name": self.name, "season": self.season,
                "source": self.source}
        if self.edition:
            data["edition"] = self.edition
        return data

    @classmethod
    def from_dict(cls, data: dict | None) -> "Name | None":
        if not data or not data.get("name"):
            return None
        return cls(data["kind"], data["name"], data.get("season"), data.get("source") or "cli",
                   data.get("edition"))

    @classmethod
    def from_options(cls, movie: str | None, show: str | None, season: int | None = None,
                     source: str = "cli", edition: str | None = None) -> "Name | None":
        """--movie / --show / --season / --edition as a Name (None when neither is given)."""
        if movie and show:
            raise UsageError("give --movie or --show, not both")
        if edition and not movie:
            raise UsageError("--edition goes with --movie")
        if not (movie or show):
            return None
        return cls("movie" if movie else "show", movie or show, season, source, edition)


# -- where a title goes in the library (Plex/Jellyfin layouts) -------------------------
#   Movies/Title (Year)/Title (Year).mkv
#   Movies/Title (Year)/Title (Year) - Extended Edition {edition-Extended Edition}.mkv
#   Movies/Title (Year)/Title (Year) - pt1.mkv                       (a movie in parts)
#   Movies/Title (Year)/<Extras folder>/NAME.mkv
#   TV Shows/Show (Year)/Season 01/Show (Year) - s01e01.mkv          (Season 00: specials)
#   TV Shows/Show (Year)/<Extras folder>/NAME.mkv                    (show-level extras)
# A second cut of a movie sits beside the first: both servers show the files of one movie
# folder as versions of it; Plex reads the name in {edition-...}, Jellyfin the " - " label.
# The extras folders are the ones Plex and Jellyfin both know.
EXTRA_TYPES = {"behindthescenes": "Behind The Scenes", "deleted": "Deleted Scenes",
               "featurette": "Featurettes", "interview": "Interviews", "scene": "Scenes",
               "short": "Shorts", "trailer": "Trailers", "other": "Other"}
_EPISODE = re.compile(r" - s(\d+)e(\d+)", re.IGNORECASE)


def season_folder(library: Path, name: Name) -> Path:
    return library / "TV Shows" / name.folder / f"Season {name.season:02d}"


def extra_folder(extra_type: str) -> str:
    folder = EXTRA_TYPES.get(extra_type.replace(" ", "").replace("_", "").lower())
    if folder is None:
        raise UsageError(f"unknown extra type {extra_type!r}; one of {', '.join(EXTRA_TYPES)}")
    return folder


def video_path(library: Path, name: Name, item: dict, *, episode: int | None,
               extra_type: str = "other") -> Path:
    """Where a video title goes; `item` carries role, title and label (from markers) and
    `part` for a movie split over several files."""
    role = item.get("role")
    folder_type = extra_folder(extra_type)
    tail = f"{label_slug(item.get('label'))} - title {item['title']:02d}.mkv"
    if name.kind == "movie":
        base = library / "Movies" / name.folder
        if role in ("main", None):
            tags = ""
            if name.edition:
                edition = safe_component(name.edition, max_bytes=40)
                tags += f" - {edition} {{edition-{edition}}}"
            if item.get("part"):
                tags += f" - pt{item['part']}"
            # the title gives way to fit FILE_BYTES, never the tags
            stem = name.fitted(min(MAX_BYTES, FILE_BYTES - len(f"{tags}.mkv".encode())))
            path = base / f"{stem}{tags}.mkv"
        else:
            path = base / folder_type / tail
    else:
        season = season_folder(library, name)
        if role in ("episode", "main", None):
            # A double episode (TheDiscDb's "3-4") is one file: s01e03-e04, as Plex and
            # Jellyfin read a multi-episode file.
            last = item.get("episode_last")
            span = f"-e{last:02d}" if isinstance(last, int) and last > episode else ""
            path = season / f"{name.folder} - s{name.season:02d}e{episode:02d}{span}.mkv"
        else:
            path = season.parent / folder_type / tail
    return inside(library, path)


def data_path(root: Path, label: str | None, created: str | None) -> Path:
    """A data disc's image: `<root>/<Label> (<YYYY-MM-DD>).iso`."""
    stem = safe_component(label or "", fallback="Disc")
    return inside(root, root / f"{stem} ({created or 'undated'}).iso")


def takes_episode_number(name: Name, item: dict) -> bool:
    return name.kind == "show" and item.get("role") in ("episode", "main", None)


def highest_episode(library: Path, name: Name, other_than) -> int:
    """Episodes keep counting across the discs of a season: the highest episode number in
    the season folder among files for which `other_than(path)` is true (other discs')."""
    highest = 0
    folder = season_folder(library, name)
    if folder.is_dir():
        for f in folder.glob("*.mkv"):
            m = _EPISODE.search(f.name)
            if m and int(m.group(1)) == name.season and other_than(f):
                highest = max(highest, int(m.group(2)))
    return highest


# -- music (Plex and Jellyfin read tags first; both expect this layout) -----------------
#   Music/<Album Artist>/<Album> (<Year>)/<NN> - <Title>.flac          (year when known)
#   Music/<Album Artist>/<Album> (<Year>)/Disc N/<NN> - <Title>.flac   (multi-disc sets)
#   Music/Various Artists/<Album>/...                                   (compilations)
VARIOUS_ARTISTS = "Various Artists"


def album_parts(name: Name) -> tuple[str, str]:
    """(album artist, "Album (Year)") of an album name "Artist - Album (Year)"."""
    artist, sep, album = name.name.partition(" - ")
    if not sep:
        return "Unknown Artist", name.name
    return artist.strip(), album.strip()


def music_path(library: Path, name: Name, item: dict) -> Path:
    if name.kind != "album":
        raise UsageError(f"an audio CD is filed as an album, not a {name.kind} "
                         "(review approve FP --album \"Artist - Album (Year)\")")
    artist, album = album_parts(name)
    folder = library / "Music" / safe_component(artist) / safe_component(album)
    if (item.get("disc_total") or 1) > 1:
        folder = folder / f"Disc {item.get('disc_number') or 1}"
    title = safe_component(item.get("track_title") or f"Track {item['title']:02d}")
    return inside(library, folder / f"{item['title']:02d} - {title}.flac")
