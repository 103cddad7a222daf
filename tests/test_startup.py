"""Start-up stays quick: `digitizer --help` and `digitizer fingerprint` on a catalog that
already exists import no heavy module they do not need. Timings live in `make bench`; this
test holds the cause (an eager import), which is deterministic."""

import subprocess
import sys

import pytest

# Each costs about as much to import as Python takes to start (sqlite_utils pulls in
# dateutil, pluggy and importlib.metadata); none is needed to print help or read a disc id.
HEAVY = ("sqlite_utils", "tqdm", "imageio_ffmpeg", "dask", "numpy", "urllib.request",
         "email", "socket")


def imported(args, env):
    """The modules a whole `digitizer ARGS` process imports (python -X importtime)."""
    res = subprocess.run([sys.executable, "-X", "importtime", "-m", "digitizer", *args],
                         capture_output=True, text=True, env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    return {line.rsplit("|", 1)[1].strip() for line in res.stderr.splitlines()
            if line.startswith("import time:") and "|" in line}


@pytest.fixture
def env(home):
    import os

    return dict(os.environ, DIGITIZER_HOME=str(home))


def test_help_imports_nothing_heavy(env):
    mods = imported(["--help"], env)
    assert "click" in mods  # the measurement sees imports at all
    assert sorted(m for m in HEAVY if m in mods) == []


def test_fingerprint_imports_nothing_heavy_once_the_catalog_exists(env, movie_disc):
    first = imported(["fingerprint", str(movie_disc.iso)], env)
    assert "sqlite_utils" in first  # a new catalog is created by the migrations
    mods = imported(["fingerprint", str(movie_disc.iso)], env)
    assert "digitizer.catalog" in mods and "digitizer.formats.dvd" in mods
    assert sorted(m for m in HEAVY if m in mods) == []
    # Only the family that defines `fingerprint` is built, not the other commands.
    assert "digitizer.cli.identify" in mods
    assert sorted(m for m in mods if m in ("digitizer.cli.admin", "digitizer.cli.steps",
                                           "digitizer.cli.unattended")) == []


def test_every_listed_command_is_found_under_its_name():
    import click

    from digitizer.cli import COMMANDS, cli

    ctx = click.Context(cli, info_name="digitizer")
    found = {name: cli.get_command(ctx, name) for name in cli.list_commands(ctx)}
    assert sorted(found) == sorted(COMMANDS) and len(found) == 18
    assert all(command is not None for command in found.values())
    assert all(isinstance(cmd, click.Command) and cmd.name == name
               for name, cmd in found.items())
    assert cli.get_command(ctx, "nonesuch") is None


def test_catalog_fast_paths_agree_with_sqlite_utils(home):
    """record_disc/disc/steps/add_event use sqlite3 directly: the rows read back through
    sqlite-utils are the same."""
    from digitizer.catalog import Catalog

    cat = Catalog(home / "catalog.db")
    assert cat.record_disc("ab" * 16, disc_type="dvd", label="X", ids={"a": 1},
                           source="/dev/sr0", folder="/f") is False
    first = cat.disc("ab" * 16)
    assert cat.record_disc("ab" * 16, disc_type="dvd", label="Y", ids={"a": 2},
                           source="x.iso") is True
    again = cat.disc("ab" * 16)
    assert (again["label"], again["ids"], again["source"], again["folder"]) == \
        ("Y", {"a": 2}, "x.iso", "/f")
    assert again["first_seen"] == first["first_seen"] <= again["last_seen"]
    assert again == dict(cat.db["discs"].get("ab" * 16), ids={"a": 2})
    cat.ensure_steps("ab" * 16, 1, ("rip", "transcode"))
    assert cat.steps("ab" * 16) == list(cat.db["steps"].rows_where(
        "fingerprint = ?", ["ab" * 16], order_by="fingerprint, title, position"))
    assert cat.progress("ab" * 16) == {1: {"rip": "pending", "transcode": "pending"}}
    cat.add_event("disc_detected", "ab" * 16, label="Y")
    assert cat.events("ab" * 16)[0]["data"] == {"label": "Y"}
    cat.close()
    # a second open of an up-to-date catalog runs no migration and still works
    cat = Catalog(home / "catalog.db")
    assert cat._db is None and cat.disc("ab" * 16)["label"] == "Y"
    cat.close()
