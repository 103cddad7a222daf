"""Configuration: defaults < config.toml < DIGITIZER_<KEY> environment variables.

Paths follow XDG: config in $XDG_CONFIG_HOME/digitizer, catalog and folders in
$XDG_DATA_HOME/digitizer. DIGITIZER_HOME puts all of them under one folder (tests, demos,
a second independent setup).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from digitizer.errors import ClusterRefused, UsageError

# key -> (default, help). Path defaults are filled in by _defaults() because they depend on
# the environment. Keep this the one list of keys: `config init`, the README and the man page
# are generated from it.
KEYS: dict[str, str] = {
    "staging": "folder for lossless rips (one sub-folder per disc)",
    "transcoded": "folder for transcoded files waiting to be inserted",
    "library": "library root (Movies/ and TV Shows/ are made inside it)",
    "catalog": "SQLite catalog path",
    "ffmpeg": "ffmpeg binary (empty: imageio-ffmpeg's bundled ffmpeg 9)",
    "lsdvd": "lsdvd binary",
    "cd_paranoia": "cd-paranoia binary (reads audio CDs and CUE/BIN images)",
    "cd_read_retries": "times an audio CD track is read again when its test and copy reads "
                       "differ, before the track fails",
    "accuraterip_url": "AccurateRip database the rips of audio CDs are checked against "
                       "(empty: not verified; `digitizer verify` checks later)",
    "accuraterip_min_confidence": "AccurateRip confidence at which one read of an audio CD "
                                  "track is enough; below it (or not in the database) each "
                                  "track is read twice and the reads compared (test & copy)",
    "read_offset": "read offset correction of the drive in samples, EAC's sign (as "
                   "`--read-offset`); empty: the drive's `[drives.\"VENDOR MODEL\"]` "
                   "read_offset, else AccurateRip's drive offset list; an image is read as "
                   "a drive with this offset would read it",
    "musicbrainz_url": "MusicBrainz web service audio CDs are named from (empty: CD-TEXT, "
                       "else review)",
    "online": "ask the online services (TheDiscDb, TMDb, AccurateRip, MusicBrainz); false: "
              "never (as `digitizer --offline`)",
    "online_timeout": "seconds a service has to answer one request; a service that does not "
                      "is left alone for 10 minutes (one warning line)",
    "discdb_url": "TheDiscDb GraphQL API a disc's record is asked from by its content hash "
                  "(empty: off; an imported copy still works)",
    "discdb_api_key": "TheDiscDb API key, sent as `Authorization: ApiKey KEY` (empty: none)",
    "tmdb_url": "TMDb API films and shows are looked up in by name",
    "tmdb_api_key": "TMDb API key (v3 key or v4 read access token; empty: TMDb off)",
    "eject": "eject binary",
    "ddrescue": "GNU ddrescue binary (images data discs)",
    "makemkvcon": "MakeMKV's makemkvcon, which rips AACS-encrypted Blu-rays (empty: look for "
                  "it on PATH; without it an encrypted disc waits)",
    "image_retries": "retry passes over unreadable areas when an image is resumed (and "
                     "at once when a video disc is imaged first)",
    "image_first": "image video discs whole with ddrescue before ripping their titles "
                   "(for scratched discs; as `rip --image-first`)",
    "data_library": "folder for data disc images (empty: Discs/ in the library)",
    "min_title_seconds": "titles shorter than this are 'short' and not ripped by default",
    "eject_after_rip": "eject the drive when the last selected title has been read",
    "preset": "default transcode preset",
    "preset_uhd": "default preset for video taller than 1080 lines (4K Blu-ray): HEVC keeps "
                  "its detail at half H.264's size",
    "insert_mode": "move | hardlink | copy",
    "transcode_workers": "transcode steps run at once under `watch` (with `cluster`: at "
                         "least as many as the cluster's workers have threads)",
    "cluster": "Dask scheduler the transcodes are sent to, e.g. tls://nas:8786 (empty: "
               "encode here); needs `pip install digitizer[cluster]`",
    "cluster_paths": "where the workers see the shared folders: COORDINATOR_PREFIX="
                     "WORKER_PREFIX pairs separated by ; (empty: the same paths)",
    "cluster_tls_ca": "CA certificate a tls:// scheduler's certificate must be signed by "
                      "(`digitizer cluster certs` makes it: ca.pem)",
    "cluster_tls_cert": "this coordinator's certificate for a tls:// scheduler "
                        "(coordinator.pem)",
    "cluster_tls_key": "the private key of cluster_tls_cert (coordinator.key)",
    "cluster_plaintext": "allow a plain tcp:// scheduler on another machine (anyone who can "
                         "reach it can run code on the workers: only on a trusted network)",
    "worker_wait_seconds": "how long a transcode sent to the cluster waits for a worker to "
                           "take it (none may offer the GPU its preset asks for) before the "
                           "step fails, to be retried after `retry_seconds`",
    "poll_seconds": "drive polling interval of `watch`",
    "retry_seconds": "first pause before `watch` (running or --once) retries a step that "
                     "failed for a cause that may go away (disk full or read-only, a read "
                     "error); doubles each time, up to 1 h; a disc put back in is tried at once",
    "hook": "command run with each event as JSON on stdin (empty: none)",
    "webhook": "URL each event is POSTed to (empty: none)",
    "plex_url": "Plex server URL for library refresh (empty: none)",
    "plex_token": "X-Plex-Token",
    "plex_section": "Plex library section id",
    "jellyfin_url": "Jellyfin server URL for library refresh (empty: none)",
    "jellyfin_token": "Jellyfin API key",
    "owner": "user that owns what is filed into the library (name or uid; empty: unchanged; "
             "needs root)",
    "group": "group of what is filed into the library (name or gid; empty: unchanged)",
    "file_mode": "mode of files filed into the library (octal)",
    "dir_mode": "mode of folders made in the library (octal; 2775 keeps the group on new files)",
}

# Why 10 s: it is HandBrake's scan default. Studio logos, FBI/Interpol warnings, menu
# transitions and one-cell stubs are under 10 s, while real extras (trailers, deleted scenes)
# can be as short as 15-20 s, so MakeMKV's 120 s default would drop them.
MIN_TITLE_SECONDS_DEFAULT = 10


def _home_dirs() -> tuple[Path, Path]:
    home = os.environ.get("DIGITIZER_HOME")
    if home:
        base = Path(home).expanduser()
        return base / "config", base / "data"
    cfg = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "digitizer"
    data = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "digitizer"
    return cfg, data


def config_path() -> Path:
    return _home_dirs()[0] / "config.toml"


def _defaults() -> dict:
    _, data = _home_dirs()
    return {
        "staging": str(data / "staging"),
        "transcoded": str(data / "transcoded"),
        "library": str(data / "library"),
        "catalog": str(data / "catalog.db"),
        "ffmpeg": "",
        "lsdvd": "lsdvd",
        "cd_paranoia": "cd-paranoia",
        "cd_read_retries": 2,
        "accuraterip_url": "http://www.accuraterip.com/accuraterip",
        "accuraterip_min_confidence": 2,
        "read_offset": "",
        "musicbrainz_url": "https://musicbrainz.org/ws/2",
        "online": True,
        "online_timeout": 5.0,
        "discdb_url": "https://thediscdb.com/graphql",
        "discdb_api_key": "",
        "tmdb_url": "https://api.themoviedb.org/3",
        "tmdb_api_key": "",
        "eject": "eject",
        "ddrescue": "ddrescue",
        "makemkvcon": "",
        "image_retries": 3,
        "image_first": False,
        "data_library": "",
        "min_title_seconds": MIN_TITLE_SECONDS_DEFAULT,
        "eject_after_rip": True,
        "preset": "h264",
        "preset_uhd": "hevc",
        "insert_mode": "move",
        "transcode_workers": 1,
        "cluster": "",
        "cluster_paths": "",
        "cluster_tls_ca": "",
        "cluster_tls_cert": "",
        "cluster_tls_key": "",
        "cluster_plaintext": False,
        "worker_wait_seconds": 600.0,
        "poll_seconds": 2.0,
        "retry_seconds": 60.0,
        "hook": "",
        "webhook": "",
        "plex_url": "",
        "plex_token": "",
        "plex_section": "",
        "jellyfin_url": "",
        "jellyfin_token": "",
        "owner": "",
        "group": "",
        "file_mode": "0664",
        "dir_mode": "2775",
    }


# Keys that name a folder or file: they must be non-empty text (a TOML number or boolean
# there would become a folder called "5" or "True" in the current directory).
PATH_KEYS = ("staging", "transcoded", "library", "catalog")
# Files the coordinator's TLS connection reads: when set, they must be there when the config
# is read, so a `watch` started with a wrong path stops at once instead of at its first
# transcode.
TLS_KEYS = ("cluster_tls_ca", "cluster_tls_cert", "cluster_tls_key")


def _coerce(key: str, value, default, origin: str = "environment"):
    """The value in the type of its default. From TOML the type must already be right
    (a number where text is expected is a mistake, not a name); from the environment,
    where everything is text, it is converted."""
    if key == "read_offset":  # a number of samples, or "" for the drive's own
        return read_offset(value, f"{origin}: read_offset")
    if origin != "environment":
        expected = bool if isinstance(default, bool) else \
            (int, float) if isinstance(default, float) else type(default)
        if isinstance(value, bool) and expected is not bool or not isinstance(value, expected):
            kind = {bool: "true or false", int: "a whole number", str: "text"}.get(
                expected, "a number")
            raise UsageError(f"{origin}: {key} must be {kind}, not {value!r}")
    if key in PATH_KEYS and not str(value).strip():
        raise UsageError(f"{origin}: {key} must not be empty")
    if key in ("file_mode", "dir_mode") and not re.fullmatch(r"[0-7]{3,4}", str(value)):
        raise UsageError(f"{origin}: {key} must be an octal mode such as \"0664\", not {value!r}")
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off", ""):
            return False
        raise UsageError(f"config {key}: expected true/false, got {value!r}")
    if isinstance(default, (int, float)) and not isinstance(default, bool):
        try:
            return type(default)(value)
        except (TypeError, ValueError):
            raise UsageError(f"config {key}: expected a number, got {value!r}") from None
    return str(value)


MAX_READ_OFFSET = 10 * 588  # samples; real drives' offsets are within +-2 sectors


def read_offset(value, origin: str = "read_offset") -> int | str:
    """A read offset in samples (an int), or "" for none given; UsageError otherwise."""
    if value == "" or value is None:
        return ""
    try:
        if isinstance(value, bool) or isinstance(value, float):
            raise ValueError
        number = int(str(value).strip())
    except ValueError:
        raise UsageError(f"{origin} must be a whole number of samples, not {value!r}") from None
    if abs(number) > MAX_READ_OFFSET:
        raise UsageError(f"{origin}: {number} is beyond +-{MAX_READ_OFFSET} samples")
    return number


@dataclass
class Config:
    values: dict
    path: Path
    presets: dict = field(default_factory=dict)  # user presets: [presets.NAME] tables
    sources: dict = field(default_factory=dict)  # per-source identity: [sources."LABEL"] tables
    drives: dict = field(default_factory=dict)  # per-drive settings: [drives."VENDOR MODEL"]
    # What is wrong with the file or the environment, when loaded with strict=False
    # (`config show` shows a broken config and says what is wrong instead of failing).
    problems: list = field(default_factory=list)

    def drive_offset(self, name: str | None) -> int | None:
        """The configured read offset of the drive called `name` (sysfs's vendor and
        model; case and runs of spaces do not count), or None."""
        from digitizer.drives import normal_name

        if not name:
            return None
        for key, entry in self.drives.items():
            if normal_name(key) == normal_name(name) and "read_offset" in entry:
                return entry["read_offset"]
        return None


    def __getattr__(self, key):
        try:
            return self.values[key]
        except KeyError:
            raise AttributeError(key) from None

    def path_of(self, key: str) -> Path:
        return Path(self.values[key]).expanduser()


def closest(word: str, choices) -> str | None:
    """The choice a typo most likely meant (`libary` -> `library`), or None."""
    import difflib

    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return found[0] if found else None


def unknown_key(key: str, origin) -> str:
    guess = closest(key, _defaults())
    if guess:
        return f"{origin}: unknown key {key!r}; did you mean {guess!r}?"
    return f"{origin}: unknown key {key!r} (`digitizer config show` lists the keys)"


def load(path: Path | None = None, strict: bool = True) -> Config:
    """The effective configuration. A bad key or value is a UsageError; with strict=False
    it is kept in `problems` instead (and the default used), for `config show`."""
    path = path or config_path()
    problems: list[str] = []

    def problem(message: str) -> None:
        if strict:
            raise UsageError(message)
        problems.append(message)

    defaults = _defaults()
    values = dict(defaults)
    presets: dict = {}
    sources: dict = {}
    drive_tables: dict = {}
    if path.exists():
        import tomllib  # 3 ms of start-up, only when there is a file to read

        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise UsageError(f"{path}: not valid TOML: {exc}") from None
        presets = data.pop("presets", {}) or {}
        sources = data.pop("sources", {}) or {}
        drive_tables = data.pop("drives", {}) or {}
        for table, body in (("presets", presets), ("sources", sources),
                            ("drives", drive_tables)):
            if not isinstance(body, dict) or not all(isinstance(v, dict) for v in body.values()):
                raise UsageError(f"{path}: [{table}.NAME] must be tables (see `digitizer "
                                 "config init`)")
        for label, entry in sources.items():
            name = entry.get("movie") or entry.get("show")
            if not isinstance(name, str) or not name.strip() or \
                    not isinstance(entry.get("season", 1), int) or \
                    isinstance(entry.get("season", 1), bool):
                raise UsageError(f"{path}: [sources.{label!r}] needs movie = \"Title (Year)\" or "
                                 "show = \"Show (Year)\" (and a whole-number season)")
        for name, entry in drive_tables.items():
            if not isinstance(entry.get("read_offset"), int) or \
                    isinstance(entry.get("read_offset"), bool):
                raise UsageError(f"{path}: [drives.{name!r}] needs read_offset = N (samples, "
                                 "a whole number)")
            read_offset(entry["read_offset"], f"{path}: [drives.{name!r}] read_offset")
        for key, value in data.items():
            if key not in defaults:
                problem(unknown_key(key, path))
                continue
            try:
                values[key] = _coerce(key, value, defaults[key], str(path))
            except UsageError as exc:
                problem(exc.message)
    origin = {key: str(path) for key in values}
    for key, default in defaults.items():
        env = os.environ.get("DIGITIZER_" + key.upper())
        if env is not None:
            try:
                values[key] = _coerce(key, env, default)
            except UsageError as exc:
                problem(exc.message)
            origin[key] = "DIGITIZER_" + key.upper()
    try:
        _check_names(values, presets, origin)
        _check_tls_files(values, origin)
    except UsageError as exc:
        problem(exc.message)
    return Config(values=values, path=path, presets=presets, sources=sources,
                  drives=drive_tables, problems=problems)


def save_drive_offset(path: Path, name: str, offset: int) -> None:
    """Write `[drives."NAME"] read_offset = OFFSET` into the config file, replacing the
    drive's table when it has one and keeping every other line (and comment) as it was;
    written beside it and renamed, so a crash leaves the old file or the new one."""
    from digitizer.drives import normal_name

    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    header = re.compile(r'^\s*\[\s*drives\s*\.\s*"(.*)"\s*\]\s*$')
    out, i, done = [], 0, False
    while i < len(lines):
        m = header.match(lines[i])
        if m and normal_name(m.group(1)) == normal_name(name) and not done:
            out += [lines[i], f"read_offset = {offset}"]
            i += 1
            while i < len(lines) and not lines[i].lstrip().startswith("["):
                if not re.match(r"\s*read_offset\s*=", lines[i]):
                    out.append(lines[i])
                i += 1
            done = True
            continue
        out.append(lines[i])
        i += 1
    if not done:
        quoted = name.replace("\\", "\\\\").replace('"', '\\"')
        out += ["", f'[drives."{quoted}"]', f"read_offset = {offset}"]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text("\n".join(out) + "\n", encoding="utf-8")
    tmp.replace(path)


def _check_names(values: dict, user_presets: dict, origin: dict) -> None:
    """Values that name something are checked here, by every command (`config show` too):
    a preset that does not exist would otherwise fail each transcode of an unattended run."""
    from digitizer.presets import presets

    known = presets(user_presets)  # the [presets.NAME] tables are checked on the way
    for key in ("preset", "preset_uhd"):
        name = values[key]
        if key == "preset_uhd" and not name:
            continue  # empty: 4K video takes `preset` too
        if name not in known:
            raise UsageError(f"{origin[key]}: {key}: unknown preset {name!r}; presets are "
                             f"{', '.join(sorted(known))}")


def _check_tls_files(values: dict, origin: dict) -> None:
    """A certificate or key that is named must be a readable file (exit code 5, as every
    problem of the cluster's certificates: the transcodes wait until it is fixed)."""
    for key in TLS_KEYS:
        text = values[key].strip()
        if not text:
            continue
        path = Path(text).expanduser()
        values[key] = str(path)
        if not path.is_file() or not os.access(path, os.R_OK):
            why = "is not readable by this user" if path.is_file() else "does not exist"
            raise ClusterRefused(f"{origin[key]}: {key}: {path} {why} (`digitizer cluster "
                                 "certs` makes the certificates; README: Cluster security)")


def default_toml() -> str:
    """The commented default config written by `digitizer config init`."""
    import tomli_w

    lines = ["# digitizer configuration. Every key may also be set as DIGITIZER_<KEY>.", ""]
    for key, value in _defaults().items():
        lines.append(f"# {KEYS[key]}")
        lines.append(tomli_w.dumps({key: value}).strip())
        lines.append("")
    lines += [
        "# Your own transcode presets, e.g.:",
        "# [presets.small]",
        '# video = ["-c:v", "libx264", "-preset", "slow", "-crf", "23"]',
        '# audio = "keep"        # keep | aac-stereo (keep originals and add AAC stereo) | aac',
        "# subtitles = true",
        "",
        "# The read offset of a drive as sysfs names it (`digitizer offset find --save`",
        "# writes it), e.g.:",
        '# [drives."PIONEER BD-RW BDR-XD07U"]',
        "# read_offset = 667",
        "",
        "# Names for discs by volume label (skips the review gate), e.g.:",
        '# [sources."BIG_BUCK_BUNNY"]',
        '# movie = "Big Buck Bunny (2008)"',
        "",
    ]
    return "\n".join(lines)
