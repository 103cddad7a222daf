"""A Dask cluster on loopback for the tests and `make bench`: a `dask scheduler` on a random
port and named `dask worker` processes, started from this venv (so they import digitizer)."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent


class LoopbackCluster:
    """A scheduler and named workers, one thread each (no nanny by default: a killed worker
    stays dead, so its task can only finish on another one)."""

    def __init__(self, folder: Path, names=("wA", "wB"), nanny: bool = False):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.file = folder / "scheduler.json"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("DIGITIZER_")}
        self.scheduler = self._start(["scheduler", "--host", "127.0.0.1", "--port", "0",
                                      "--no-dashboard", "--scheduler-file", str(self.file)],
                                     "scheduler")
        deadline = time.monotonic() + 30
        while True:
            try:
                self.address = json.loads(self.file.read_text())["address"]
                break
            except (OSError, ValueError, KeyError):  # not written (whole) yet
                assert time.monotonic() < deadline, (folder / "scheduler.log").read_text()
                time.sleep(0.05)
        self.workers = {name: self._start(
            ["worker", self.address, "--name", name, "--nthreads", "1",
             *([] if nanny else ["--no-nanny"]),
             "--host", "127.0.0.1", "--memory-limit", "0", "--no-dashboard",
             "--local-directory", str(folder / name)], name) for name in names}
        from distributed import Client

        with Client(self.address, timeout=30) as client:
            client.wait_for_workers(len(names), timeout=60)

    def _start(self, args, name):
        log = open(self.folder / f"{name}.log", "w")
        return subprocess.Popen([str(BIN / "dask"), *args], stdout=log, stderr=subprocess.STDOUT,
                                env=self.env, cwd=self.folder)

    def stop(self):
        from digitizer.cluster import Cluster

        Cluster.close_all()
        for proc in [*self.workers.values(), self.scheduler]:
            if proc.poll() is None:
                proc.terminate()
        for proc in [*self.workers.values(), self.scheduler]:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
