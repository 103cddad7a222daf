"""A Dask cluster on loopback for the tests and `make bench`: a `dask scheduler` on a random
port and named `dask worker` processes, started from this venv (so they import digitizer);
over tls:// with the certificates of a folder `digitizer cluster certs` made (`tls`)."""

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

    def __init__(self, folder: Path, names=("wA", "wB"), nanny: bool = False,
                 tls: Path | None = None):
        self.folder = folder
        self.tls = tls
        folder.mkdir(parents=True, exist_ok=True)
        self.file = folder / "scheduler.json"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("DIGITIZER_")}
        self.workers = {}
        self.scheduler = self._start(["scheduler", "--host", "127.0.0.1", "--port", "0",
                                      "--no-dashboard", "--scheduler-file", str(self.file),
                                      *self.tls_args("scheduler")], "scheduler")
        try:
            self._start_workers(names, nanny)
        except BaseException:  # a fixture that fails here is never torn down: stop them now
            self.stop()
            raise

    def _start_workers(self, names, nanny: bool) -> None:
        folder = self.folder
        deadline = time.monotonic() + 30
        while True:
            try:
                self.address = json.loads(self.file.read_text())["address"]
                break
            except (OSError, ValueError, KeyError):  # not written (whole) yet
                assert time.monotonic() < deadline, (folder / "scheduler.log").read_text()
                time.sleep(0.05)
        self.workers.update({name: self._start(
            ["worker", self.address, "--name", name, "--nthreads", "1",
             *([] if nanny else ["--no-nanny"]),
             "--host", "127.0.0.1", "--memory-limit", "0", "--no-dashboard",
             "--local-directory", str(folder / name), *self.tls_args(f"worker-{name}")],
            name) for name in names})
        from distributed import Client

        if names:
            with Client(self.address, timeout=30, security=self.security()) as client:
                client.wait_for_workers(len(names), timeout=60)

    def tls_args(self, stem: str) -> list[str]:
        """The TLS options of `dask scheduler` and `dask worker` (as `cluster certs` prints
        them): the cluster's CA and the member's own certificate and key."""
        if self.tls is None:
            return []
        return [*(["--protocol", "tls"] if stem == "scheduler" else []),
                "--tls-ca-file", str(self.tls / "ca.pem"),
                "--tls-cert", str(self.tls / f"{stem}.pem"),
                "--tls-key", str(self.tls / f"{stem}.key")]

    def security(self):
        if self.tls is None:
            return None
        from distributed.security import Security

        return Security(tls_ca_file=str(self.tls / "ca.pem"),
                        tls_client_cert=str(self.tls / "coordinator.pem"),
                        tls_client_key=str(self.tls / "coordinator.key"),
                        require_encryption=True)

    def _start(self, args, name):
        log = open(self.folder / f"{name}.log", "w")
        return subprocess.Popen([str(BIN / "dask"), *args], stdout=log, stderr=subprocess.STDOUT,
                                env=self.env, cwd=self.folder)

    def stop(self):
        from digitizer.cluster import Cluster

        Cluster.close_all()
        # The workers first: a worker whose scheduler is already gone waits on it as it
        # closes (up to 15 s seen over TLS).
        for group in (list(self.workers.values()), [self.scheduler]):
            for proc in group:
                if proc.poll() is None:
                    proc.terminate()
            for proc in group:
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
