"""`make setup` on a fresh Debian 12 (or Ubuntu 24.04) installs every program the tests and
digitizer call (issue 29): the programs are read from the tests' own subprocess calls and
from digitizer's tool registry, and each must come from a package in the Makefile's
APT_PACKAGES (or from what every Debian system has, or the venv)."""

import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Where each program comes from on Debian 12 / Ubuntu 24.04.
PACKAGE_OF = {
    "cd-paranoia": "cd-paranoia", "ddrescue": "gddrescue", "dvdauthor": "dvdauthor",
    "spumux": "dvdauthor", "eject": "eject", "ffmpeg": "ffmpeg", "ffprobe": "ffmpeg",
    "gcc": "gcc", "genisoimage": "genisoimage", "groff": "groff-base", "losetup": "mount",
    "mount": "mount", "umount": "mount", "lsdvd": "lsdvd", "man": "man-db",
    "pgrep": "procps", "systemd-analyze": "systemd", "openssl": "openssl",
}
# Essential on every Debian system (or what runs the suite at all: make, the venv's own).
EVERYWHERE = {"bash", "sh", "cat", "sleep", "true", "make", "digitizer", "dask"}
# Only `make bench` needs these (its own BENCH_APT list); makemkvcon is never installed:
# its tests run a stand-in that replays captured output.
NOT_FOR_TESTS = {"7z", "dvdbackup", "mkvmerge", "HandBrakeCLI", "makemkvcon"}


def apt_packages(var="APT_PACKAGES") -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.search(rf"^{var} := (.*)$", text, re.M).group(1).split())


def programs_the_tests_call() -> set[str]:
    found = set()
    for path in (ROOT / "tests").glob("*.py"):
        text = path.read_text()
        # subprocess calls with a literal program: run(["gcc", ...]), Popen(["losetup", ...])
        found |= set(re.findall(r'(?:run|Popen|check_output|check_call)\(\s*\[\s*"([^"]+)"',
                                text))
        # stand-in scripts that exec the real program: 'exec eject --force "$@"'
        found |= set(re.findall(r'(?:^|\\n)exec ([a-z][\w.-]+) ', text, re.M))
    for path in (ROOT / "digitizer" / "tools").glob("*.py"):
        found |= set(re.findall(r'run\.register\("([^"]+)"', path.read_text()))
    return found


def test_every_program_the_tests_call_is_installed_by_make_setup():
    called = programs_the_tests_call()
    # the scan is real: it sees the programs known to be called
    assert {"gcc", "losetup", "genisoimage", "lsdvd", "ddrescue", "eject", "pgrep"} <= called
    unknown = called - set(PACKAGE_OF) - EVERYWHERE - NOT_FOR_TESTS
    assert not unknown, f"add these programs to PACKAGE_OF and their package to APT_PACKAGES: {unknown}"
    missing = {p: PACKAGE_OF[p] for p in called & set(PACKAGE_OF)
               if PACKAGE_OF[p] not in apt_packages()}
    assert not missing, f"make setup does not install: {missing}"
    # .venv is made with `python3 -m venv`, which Debian ships apart
    assert "python3-venv" in apt_packages()
    # gcc alone (no recommends) cannot build the LD_PRELOAD libraries: no libc headers
    assert "libc6-dev" in apt_packages()


def test_every_program_make_setup_promises_is_here():
    # On this machine (after make setup) each is on PATH: the list names real programs.
    absent = [p for p, pkg in PACKAGE_OF.items()
              if pkg in apt_packages() and shutil.which(p) is None]
    assert absent == []


def test_the_readme_names_the_packages_make_setup_installs():
    readme = " ".join((ROOT / "README.md").read_text().split())
    named = set()
    for group in re.findall(r"installs the Debian packages it needs \((.*?)\) when", readme):
        named |= set(re.findall(r"`([^`]+)`", group)[0].split())
        named |= set(" ".join(re.findall(r"`([^`]+)`", group)[1:]).split())
    assert named == apt_packages()
