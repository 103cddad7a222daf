import json
import os
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
CACHE = Path(os.environ.get("DIGITIZER_TEST_CACHE", ROOT / "tests" / ".cache"))


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A private DIGITIZER_HOME: config, catalog and folders under tmp_path."""
    monkeypatch.setenv("DIGITIZER_HOME", str(tmp_path / "home"))
    for key in list(os.environ):
        if key.startswith("DIGITIZER_") and key not in ("DIGITIZER_HOME", "DIGITIZER_TEST_CACHE"):
            monkeypatch.delenv(key)
    # No test asks a real service: a test that wants one points its URL at a local server.
    for key in ("DISCDB_URL", "MUSICBRAINZ_URL", "ACCURATERIP_URL", "TMDB_URL"):
        monkeypatch.setenv(f"DIGITIZER_{key}", "")
    return tmp_path / "home"


@pytest.fixture
def run_cli(home):
    """Run `digitizer ARGS` in-process through cli.main (real exit codes and error lines)."""
    from digitizer.cli import main

    def run(*args, input=None):
        runner = CliRunner()
        code = 0
        with runner.isolation(input=input) as streams:
            try:
                main([str(a) for a in args])
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            out = streams[0].getvalue().decode()
            err = streams[1].getvalue().decode()
        return Result(code, out, err)

    return run


class Result:
    def __init__(self, code, stdout, stderr):
        self.code, self.stdout, self.stderr = code, stdout, stderr

    @property
    def objects(self):
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]

    def __repr__(self):
        return f"Result(code={self.code}, stdout={self.stdout[-500:]!r}, stderr={self.stderr[-500:]!r})"


@pytest.fixture(scope="session")
def movie_disc():
    from sample_disc import build_dvd

    return build_dvd(CACHE)


@pytest.fixture(scope="session")
def episode_disc():
    from sample_disc import build_dvd

    return build_dvd(CACHE, layout="episodes", episodes=4, episode_seconds=20,
                     label="SHOW_S1_D1")


@pytest.fixture(scope="session")
def pal_disc():
    from sample_disc import build_dvd

    return build_dvd(CACHE, standard="pal", main_seconds=30, label="PAL_DISC")


@pytest.fixture(scope="session")
def bluray_movie():
    """A movie Blu-ray (MAIN with en 5.1 + fr 2.0 AC-3 and en/fr PGS, an EXTRA): UDF 2.50
    image and BDMV folder."""
    from sample_bluray import build_bluray

    return build_bluray(CACHE)


@pytest.fixture(scope="session")
def bluray_tv():
    """A TV Blu-ray: three episodes of 6-8 s (far under ffmpeg's 180 s `bluray:` floor) and a
    play-all playlist of them."""
    from sample_bluray import build_bluray

    return build_bluray(CACHE, layout="tv", label="SHOW_BD_S1", disc_name="Test Show")


@pytest.fixture(scope="session")
def bluray_decoys():
    """A film whose clips are also listed alone, in a theatrical (00006) and an extended
    (00007, longest) cut, two decoys of the theatrical (00008, 00009), an exact duplicate
    (00010), a cut starting mid-clip (00011), and a trailer (00005)."""
    from sample_bluray import build_bluray

    return build_bluray(CACHE, layout="decoys", label="DECOY_BD", disc_name="Decoy Film")
