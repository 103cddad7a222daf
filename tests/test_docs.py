"""Documentation and shell integration: help texts, man pages, completions, make install.

The man pages and completion scripts are committed and generated from the click tree, so
these tests are what keeps them in step with the commands.
"""

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import click
import pytest

from digitizer.cli import docgen

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
STALE = "stale: run make man completions"


def clean_env(tmp_path, **extra):
    """The environment of a fresh user: private DIGITIZER_HOME, no DIGITIZER_* overrides,
    no SOURCE_DATE_EPOCH (the committed files use the default date)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("DIGITIZER_") and k != "SOURCE_DATE_EPOCH"}
    env["DIGITIZER_HOME"] = str(tmp_path / "home")
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


# -- (a) every command documents itself --------------------------------------------------
def test_every_command_and_option_has_help():
    problems = []
    for path, cmd, ctx in docgen.walk():
        name = " ".join(("digitizer",) + path)
        if not (cmd.help or "").strip():
            problems.append(f"{name}: no help text")
        # the root is never listed under another command, so it needs no short_help
        if path and not (cmd.short_help or "").strip():
            problems.append(f"{name}: no short_help")
        if not docgen.split_help(cmd)[1]:
            problems.append(f"{name}: no `Example:` line followed by a \\b block in its help")
        for param in cmd.get_params(ctx):
            if (isinstance(param, click.Option) and not param.hidden
                    and not docgen.exempt_option(param) and not (param.help or "").strip()):
                problems.append(f"{name}: option {'/'.join(param.opts)} has no help")
    assert not problems, "commands lacking documentation:\n" + "\n".join(problems)


def test_example_block_is_recognised_in_both_spellings():
    @click.command()
    def inside():
        """Does a thing.

        \b
        Example:
          digitizer inside
        """

    @click.command()
    def after():
        """Does a thing.

        Example:

        \b
          digitizer after --x
        """

    assert docgen.split_help(inside) == ([(False, ["Does a thing."])], ["digitizer inside"])
    assert docgen.split_help(after)[1] == ["digitizer after --x"]


# -- (b) committed files are up to date ------------------------------------------------
@pytest.mark.parametrize("kind, committed", [("man", "man/man1"),
                                             ("completions", "completions")])
def test_committed_files_are_fresh(tmp_path, kind, committed):
    out = tmp_path / kind
    subprocess.run([sys.executable, "-m", "digitizer.cli.docgen", kind, str(out)], cwd=ROOT,
                   env=clean_env(tmp_path), check=True)
    if kind == "man":
        out = out / "man1"
    fresh = {p.name: p.read_bytes() for p in out.iterdir()}
    have = {p.name: p.read_bytes() for p in (ROOT / committed).iterdir()} \
        if (ROOT / committed).is_dir() else {}
    missing = sorted(set(fresh) - set(have))
    extra = sorted(set(have) - set(fresh))
    differ = sorted(n for n in set(fresh) & set(have) if fresh[n] != have[n])
    assert not (missing or extra or differ), (
        f"{STALE} ({committed}/: missing {missing}, no longer generated {extra}, "
        f"changed {differ})")


def test_generation_ignores_user_and_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITIZER_HOME", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("DIGITIZER_PRESET", "hevc")
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    committed = {p.name: p.read_text() for p in (ROOT / "man" / "man1").iterdir()}
    assert docgen.man_pages() == committed, STALE


def test_source_date_epoch_sets_the_date(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    assert '"1970-01-01"' in docgen.man_pages()["digitizer.1"]


# -- (c) the pages render --------------------------------------------------------------
def test_main_man_page_renders():
    if shutil.which("man") is None or shutil.which("groff") is None:
        pytest.fail("man and groff are needed: apt-get install man-db groff-base (make setup)")
    env = dict(os.environ, MANWIDTH="80", MANPAGER="cat", PAGER="cat")
    res = subprocess.run(["man", "-l", str(ROOT / "man" / "man1" / "digitizer.1")], env=env,
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    for heading in ("EXIT STATUS", "ENVIRONMENT", "FILES", "EXAMPLES", "COMMANDS"):
        assert heading in res.stdout
    assert "digitizer watch --once" in res.stdout  # \- renders as a plain, pasteable dash


def test_man_finds_the_pages_of_a_checkout():
    """man's own layout (man/man1/...): MANPATH=man works from the checkout."""
    if shutil.which("man") is None:
        pytest.fail("man is needed: apt-get install man-db (make setup)")
    env = dict(os.environ, MANPATH=str(ROOT / "man"), MANWIDTH="100", MANPAGER="cat",
               PAGER="cat")
    for page, words in (("digitizer", ("Blu-ray", "audio CD", "data disc")),
                        ("digitizer-review-approve", ("--pick",))):
        res = subprocess.run(["man", page], env=env, capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
        text = " ".join(res.stdout.split())
        assert all(w in text for w in words), (page, text[:600])


def test_every_man_page_renders_without_warnings():
    if shutil.which("groff") is None:
        pytest.fail("groff is needed: apt-get install groff-base (make setup)")
    for page in sorted((ROOT / "man" / "man1").glob("*.1")):
        res = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", str(page)],
                             capture_output=True, text=True)
        assert res.returncode == 0 and not res.stderr, f"{page.name}: {res.stderr}"


# -- (d) bash completion calls back into digitizer ---------------------------------------
def bash_complete(tmp_path, *words) -> list[str]:
    script = ROOT / "completions" / "digitizer.bash"
    words_ = " ".join(f"'{w}'" for w in words)
    # complete -F passes the command name as $1; the script runs "$1" for the values
    cmd = (f"source '{script}'; COMP_WORDS=({words_}); COMP_CWORD={len(words) - 1}; "
           f"_digitizer_completion digitizer; printf '%s\\n' \"${{COMPREPLY[@]}}\"")
    res = subprocess.run(["bash", "--norc", "-c", cmd], env=clean_env(tmp_path),
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    return [line for line in res.stdout.splitlines() if line]


def test_bash_completes_commands(tmp_path):
    assert bash_complete(tmp_path, "digitizer", "tr") == ["transcode"]


def test_bash_completes_preset_names(tmp_path):
    got = bash_complete(tmp_path, "digitizer", "transcode", "--preset", "h")
    assert "h264" in got and "hevc" in got
    assert all(name.startswith("h") for name in got)


# -- dynamic values ----------------------------------------------------------------------
def test_fingerprints_silent_without_catalog(home):
    from digitizer.cli.complete import complete_fingerprints

    assert complete_fingerprints(None, None, "") == []
    assert not (home / "data" / "catalog.db").exists()  # completing must not create it


def test_fingerprints_from_catalog(home):
    from digitizer import config
    from digitizer.catalog import open_catalog
    from digitizer.cli.complete import complete_fingerprints

    cat = open_catalog(config.load())
    cat.record_disc("abc123", disc_type="dvd", label="BIG_BUCK_BUNNY", ids={}, source="x")
    cat.record_disc("def456", disc_type="dvd", label=None, ids={}, source="y")
    cat.close()
    items = complete_fingerprints(None, None, "a")
    assert [(i.value, i.help) for i in items] == [("abc123", "BIG_BUCK_BUNNY")]
    assert [i.value for i in complete_fingerprints(None, None, "")] == ["abc123", "def456"]


def test_fingerprints_silent_on_broken_catalog_or_config(home, capsys, monkeypatch):
    from digitizer.cli.complete import complete_fingerprints

    (home / "data").mkdir(parents=True)
    (home / "data" / "catalog.db").write_bytes(b"not a database")
    assert complete_fingerprints(None, None, "") == []
    sqlite3.connect(home / "data" / "other.db").close()
    monkeypatch.setenv("DIGITIZER_CATALOG", str(home / "data" / "other.db"))  # no tables
    assert complete_fingerprints(None, None, "") == []
    monkeypatch.delenv("DIGITIZER_CATALOG")
    (home / "config").mkdir()
    (home / "config" / "config.toml").write_text("not = [valid")
    assert complete_fingerprints(None, None, "") == []
    assert capsys.readouterr() == ("", "")


def test_sources_offer_files_and_drives(monkeypatch):
    from digitizer import drives
    from digitizer.cli.complete import complete_sources

    monkeypatch.setattr(drives, "list_drives", lambda: ["/dev/sr0", "/dev/sr1"])
    items = complete_sources(None, None, "/dev/sr1")
    assert [(i.type, i.value) for i in items] == [("file", "/dev/sr1"), ("plain", "/dev/sr1")]
    assert [i.type for i in complete_sources(None, None, "~/isos/")] == ["file"]


def test_completion_modules_stay_light():
    code = ("import sys, digitizer.cli.complete, digitizer.cli; "
            "print(' '.join(m for m in ('sqlite_utils', 'tqdm') if m in sys.modules))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert res.stdout.strip() == ""


# -- (e) make install ---------------------------------------------------------------------
def verify_units(root: Path, *units) -> subprocess.CompletedProcess:
    """systemd-analyze verify in a scratch root: the installed tree plus systemd's own units
    (so the targets a service depends on exist and ExecStart is looked up in the tree)."""
    scratch = root.parent / (root.name + "-verify")
    shutil.copytree(root, scratch, symlinks=True)
    system = scratch / "usr" / "lib" / "systemd" / "system"
    for unit in Path("/lib/systemd/system").iterdir():
        if unit.is_file() and not (system / unit.name).exists():
            shutil.copy2(unit, system / unit.name)
    done = subprocess.run(["systemd-analyze", "verify", f"--root={scratch}", *units],
                          capture_output=True, text=True, cwd=scratch)
    shutil.rmtree(scratch)
    return done


def test_make_install_layout(tmp_path):
    dest = tmp_path / "dest"
    res = subprocess.run(["make", "-s", "-C", str(ROOT), "install", f"DESTDIR={dest}",
                          "PREFIX=/usr", "SERVICE_USER=media", "SERVICE_GROUP=media"],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    usr = dest / "usr"
    launcher = usr / "bin" / "digitizer"
    assert os.access(launcher, os.X_OK)
    assert 'exec "/usr/lib/digitizer/bin/python" -m digitizer "$@"' in launcher.read_text()
    assert str(dest) not in launcher.read_text()
    assert sorted(p.name for p in (usr / "share/man/man1").iterdir()) == \
        sorted(p.name for p in (ROOT / "man" / "man1").glob("*.1"))
    for installed, committed in [
        ("share/bash-completion/completions/digitizer", "digitizer.bash"),
        ("share/zsh/site-functions/_digitizer", "digitizer.zsh"),
        ("share/fish/vendor_completions.d/digitizer.fish", "digitizer.fish"),
    ]:
        assert (usr / installed).read_bytes() == (ROOT / "completions" / committed).read_bytes()
    # The venv of its own runs the program, with nothing of the developer's environment.
    python = usr / "lib" / "digitizer" / "bin" / "python"
    res = subprocess.run([python, "-m", "digitizer", "--version"], capture_output=True,
                         text=True, env=clean_env(tmp_path), cwd=tmp_path)
    assert res.returncode == 0 and "0.1.0" in res.stdout, res.stderr
    # Units: all installed, as the media user, starting /usr/bin/digitizer; the same text as
    # the installed program prints.
    system = usr / "lib" / "systemd" / "system"
    watch, once = system / "digitizer-watch.service", system / "digitizer-once@.service"
    assert (usr / "lib" / "udev" / "rules.d" / "60-digitizer.rules").exists()
    for unit in (watch, once):
        text = unit.read_text()
        assert "ExecStart=/usr/bin/digitizer watch" in text and "User=media" in text
        assert "Group=media" in text and "UMask=0002" in text and str(dest) not in text
    printed = subprocess.run(
        [python, "-m", "digitizer", "watch", "--print-systemd", "--system", "--run-as",
         "media:media"], capture_output=True, text=True, cwd=tmp_path,
        env=clean_env(tmp_path, DIGITIZER_LAUNCHER="/usr/bin/digitizer"))
    assert printed.stdout == watch.read_text()
    done = verify_units(dest, "digitizer-watch.service", "digitizer-once@sr0.service")
    assert done.returncode == 0, done.stderr
    launcher.unlink()  # the check is real: a unit starting a missing program fails it
    assert verify_units(dest, "digitizer-watch.service").returncode != 0


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    res = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                          "--disable-pip-version-check", "-w", str(out), str(ROOT)],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    return next(out.glob("digitizer-*.whl"))


def test_the_wheel_carries_the_packages_and_the_man_pages(wheel):
    import zipfile

    names = set(zipfile.ZipFile(wheel).namelist())
    for package in ("cli", "formats", "steps", "tools"):
        assert f"digitizer/{package}/__init__.py" in names
    data = "digitizer-0.1.0.data/data/share/man/man1/"
    assert {n[len(data):] for n in names if n.startswith(data)} == \
        {p.name for p in (ROOT / "man" / "man1").glob("*.1")}
    assert not any("tests/" in n or "__pycache__" in n for n in names)


def test_a_pipx_style_install_runs_and_has_man_pages(wheel, tmp_path):
    # What pipx and `uv tool` do: a venv of its own, the wheel with its dependencies.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    res = subprocess.run([venv / "bin" / "python", "-m", "pip", "install", "-q",
                          "--disable-pip-version-check", str(wheel)], capture_output=True,
                         text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    env = clean_env(tmp_path)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}/usr/bin:/bin"
    done = subprocess.run(["digitizer", "completion", "bash"], capture_output=True, text=True,
                          env=env, cwd=tmp_path)
    assert done.returncode == 0 and done.stdout == (ROOT / "completions/digitizer.bash").read_text()
    unit = subprocess.run(["digitizer", "watch", "--print-systemd"], capture_output=True,
                          text=True, env=env, cwd=tmp_path).stdout
    assert f"ExecStart={venv / 'bin' / 'digitizer'} watch" in unit
    assert (venv / "share" / "man" / "man1" / "digitizer.1").exists()


def test_one_exit_code_table_for_every_command():
    """README, the man pages and the code share one table (errors.EXIT_CODES), which every
    command page carries."""
    import re

    from digitizer.errors import EXIT_CODES

    section = (ROOT / "README.md").read_text().split("## Exit codes", 1)[1].split("\n## ")[0]
    rows = {int(code): meaning
            for code, meaning in re.findall(r"^\| (\d+) \| (.+) \|$", section, re.MULTILINE)}
    assert rows == EXIT_CODES
    for name, page in docgen.man_pages().items():
        assert ".SH EXIT STATUS" in page, name


def test_the_readme_config_table_lists_every_key(home):
    """Every key `config show` prints has a row in the README's configuration table, and
    the table names no key that does not exist."""
    import re

    from digitizer import config

    section = (ROOT / "README.md").read_text().split("## Configuration", 1)[1].split("\n## ")[0]
    listed = set()
    for first_cell in re.findall(r"^\| ([^|]+) \|", section, re.MULTILINE):
        listed |= set(re.findall(r"`([a-z_]+)`", first_cell))
    keys = set(config.load().values)
    assert listed == keys, (f"missing from the README: {sorted(keys - listed)}; "
                            f"not keys: {sorted(listed - keys)}")
