"""A cluster worker running another digitizer version is refused (issue 29): a real `dask
worker` on loopback imports a copy of digitizer that says it is another version."""

import shutil
from pathlib import Path

import digitizer
from digitizer.catalog import Catalog
from loopback_cluster import LoopbackCluster
from test_cluster import FAST, leftovers

ROOT = Path(digitizer.__file__).resolve().parent


def test_a_worker_of_another_version_is_refused_and_nothing_is_filed(run_cli, home,
                                                                      movie_disc, tmp_path,
                                                                      monkeypatch):
    other = tmp_path / "other-version"
    shutil.copytree(ROOT, other / "digitizer", ignore=shutil.ignore_patterns("__pycache__"))
    init = other / "digitizer" / "__init__.py"
    init.write_text(init.read_text().replace(f'"{digitizer.__version__}"', '"0.0.1-old"'))
    (home / "config").mkdir(parents=True)
    (home / "config" / "config.toml").write_text('preset = "fast"\n' + FAST)
    ripped = run_cli("rip", movie_disc.iso, "--title", "3")
    assert ripped.code == 0, ripped
    # the worker (started with this environment) finds the other copy first on its path
    monkeypatch.setenv("PYTHONPATH", str(other))
    cluster = LoopbackCluster(tmp_path / "cluster", names=("old",))
    monkeypatch.delenv("PYTHONPATH")
    try:
        from distributed import Client

        with Client(cluster.address, timeout=30) as client:
            assert set(client.run(lambda: __import__("digitizer").__version__).values()) == \
                {"0.0.1-old"}
        r = run_cli("transcode", ripped.objects[0]["path"], "--cluster", cluster.address)
    finally:
        cluster.stop()
    assert r.code == 3, r  # the exit code of a tool that failed
    assert r.stderr.strip().splitlines()[-1] == (
        f"digitizer: worker old runs digitizer 0.0.1-old, this is {digitizer.__version__}: "
        "install the same version on every worker")
    transcoded = home / "data" / "transcoded"
    assert not list(transcoded.rglob("*.mkv")) and leftovers(home) == []
    [step] = [s for s in Catalog(home / "data" / "catalog.db").steps() if s["kind"] == "transcode"]
    assert step["state"] == "failed" and "0.0.1-old" in step["error"]
