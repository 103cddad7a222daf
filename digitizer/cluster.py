"""Transcodes on a Dask distributed cluster (config `cluster`): the one module that knows Dask.

The coordinator (the `watch`, `resume` or `transcode` process) keeps the catalog, which is
the durable queue: it claims a step there as always, sends the file work to the scheduler
and, when a worker returns, verifies, renames and records. A worker only reads the rip and
writes a temporary file of its own attempt beside the final name on the shared storage, so
two attempts (a worker that died and the one that took over) never write the same file,
and only the coordinator renames.

Why each part is the way it is (measured, see the README's cluster section):
- Dask re-runs a task whose worker died (`allowed-failures`) without telling the client,
  so the attempt's name is made on the worker at run time, not passed in with the task.
- A worker's ffmpeg runs through tools/run.py: its own process group and a parent-death
  signal, so it dies with the worker process instead of writing on as an orphan.
- A task whose client went away (the coordinator killed) keeps running on its worker
  thread; it notices at its next progress line that its key was released and stops.

Who may connect (see the README's cluster security): a Dask worker runs whatever a client
sends it, so the scheduler is either on loopback, or spoken to over tls:// with mutual
certificates from the cluster's own CA (certs.py makes them), or the user said that the
network is trusted (`cluster_plaintext`). Before Dask connects, a TLS handshake of our own
(certs.probe) finds a certificate either side refuses, or a scheduler that speaks plain
TCP, and says which in one line: Dask reports these as a generic closed connection and can
be left hanging on the plain-TCP one.

Dask is imported only here and only when a cluster is used: `import distributed` costs
half a second, and most commands never need it.
"""

from __future__ import annotations

import ipaddress
import os
import threading
import time
from pathlib import Path, PurePosixPath

from digitizer import __version__, certs
from digitizer.errors import (ClusterRefused, ClusterUnavailable, Interrupted, NoWorker,
                              ToolFailed, UsageError, warn)

# The topic workers report on: which worker took the attempt, and its progress. (The
# scheduler stamps each message with "worker", the address; ours is "name".)
TOPIC = "digitizer-transcode"
# Workers report progress at most this often (each report is a message to the scheduler).
REPORT_SECONDS = 1.0
# A hardware preset is sent only to workers started with `--resources GPU=1`.
HARDWARE_RESOURCES = {"GPU": 1}
# Dask schemes that encrypt and authenticate (tls:// and TLS websockets).
TLS_SCHEMES = ("tls", "wss")


def path_map(text: str) -> list[tuple[str, str]]:
    """`cluster_paths` as (coordinator prefix, worker prefix) pairs, longest first."""
    pairs = []
    for item in (text or "").split(";"):
        if not item.strip():
            continue
        here, sep, there = item.partition("=")
        if not sep or not here.strip() or not there.strip():
            raise UsageError(f"cluster_paths: {item.strip()!r} is not COORDINATOR_PREFIX="
                             "WORKER_PREFIX")
        pairs.append((here.strip().rstrip("/") or "/", there.strip().rstrip("/") or "/"))
    return sorted(pairs, key=lambda p: len(p[0]), reverse=True)


def to_worker(path: Path, pairs: list[tuple[str, str]]) -> str:
    """Where a worker sees `path` (whole path components only: /srv/a is not /srv/ab)."""
    text = os.path.abspath(path)
    for here, there in pairs:
        if here == "/" or text == here or text.startswith(here + "/"):
            rest = text[len(here):].lstrip("/") if here != "/" else text.lstrip("/")
            return str(PurePosixPath(there, rest)) if rest else there
    return text


def split_address(address: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of a scheduler address; no scheme is Dask's default, tcp."""
    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = "tcp", address
    host, _, port = rest.rpartition(":") if ":" in rest else (rest, "", "")
    host = host.strip("[]")
    return scheme.lower(), host, int(port) if port.isdigit() else None


def is_loopback(host: str) -> bool:
    """Whether `host` is this machine by its loopback address or name (not resolved: a
    name that is this machine's on the network reaches it from the network too)."""
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Cluster:
    """A connection to the scheduler (opened on first use, one per process, shared by the
    coordinator's threads) and the path mapping of its workers."""

    _clients: dict[tuple, object] = {}
    _lock = threading.Lock()
    _reports: dict[str, dict] = {}  # task key -> the latest report of its worker

    def __init__(self, address: str, paths: str = "", *,
                 tls: tuple[str, str, str] | None = None, plaintext: bool = False,
                 worker_wait: float = 600.0):
        """`tls`: the CA, certificate and key files of this coordinator. Raises
        ClusterRefused for an address this coordinator must not use as it is."""
        self.address = address
        self.pairs = path_map(paths)
        self.worker_wait = worker_wait  # seconds a task may wait for a worker to take it
        self.scheme, self.host, self.port = split_address(address)
        self.tls = tls if tls and any(tls) else None
        self._key = (address, self.tls)  # one client per scheduler and certificate
        if self.scheme in TLS_SCHEMES:
            certs.context(address, self.tls)  # usable files, now rather than at first use
        elif not plaintext and self.scheme != "inproc" and not is_loopback(self.host):
            raise ClusterRefused(
                f"cluster {address} is plain TCP to another machine: anyone who can reach it "
                f"can run any program on every worker; use tls:// with certificates "
                f"({certs.HOW_TO_TLS}), or set cluster_plaintext = true if the network is "
                f"trusted")

    @classmethod
    def from_config(cls, cfg) -> "Cluster | None":
        address = (cfg.values.get("cluster") or "").strip()
        if not address:
            return None
        tls = tuple(cfg.values.get(k) or "" for k in
                    ("cluster_tls_ca", "cluster_tls_cert", "cluster_tls_key"))
        return cls(address, cfg.values.get("cluster_paths") or "", tls=tls,
                   plaintext=bool(cfg.values.get("cluster_plaintext")),
                   worker_wait=float(cfg.values.get("worker_wait_seconds") or 600.0))

    # -- the client -------------------------------------------------------------------
    def client(self):
        with self._lock:
            client = self._clients.get(self._key)
            # "connecting": Dask is reconnecting by itself after a blip; only a client that
            # gave up is replaced.
            if client is not None and client.status not in ("closing", "closed"):
                return client
            try:
                from distributed import Client
            except ImportError:
                raise UsageError("config cluster needs Dask distributed: pip install "
                                 "'digitizer[cluster]'") from None
            security = None
            if self.scheme in TLS_SCHEMES:
                from distributed.security import Security

                certs.probe(self.address, self.host, self.port or certs.PORT, self.tls,
                            after_handshake=self.scheme == "tls")
                ca, cert, key = self.tls
                security = Security(tls_ca_file=ca, tls_client_cert=cert, tls_client_key=key,
                                    require_encryption=True)
            try:
                client = Client(self.address, security=security, set_as_default=False)
            except Exception as exc:  # noqa: BLE001 - Dask raises OSError, TimeoutError,
                # or from a connection cut during its handshake ValueError or TypeError.
                # A scheduler that answered but closed the connection may speak TLS (one
                # that never answered is not asked again).
                timed_out = isinstance(exc, TimeoutError) or str(exc).startswith("Timed out")
                if security is None and not timed_out and \
                        certs.speaks_tls(self.host, self.port or certs.PORT):
                    raise ClusterRefused(
                        f"the scheduler at {self.address} speaks TLS: set cluster = "
                        f"\"tls://{self.address.partition('://')[2] or self.address}\" and "
                        f"cluster_tls_ca, cluster_tls_cert, cluster_tls_key "
                        f"({certs.HOW_TO_TLS})") from None
                raise ClusterUnavailable(self._unreachable(exc)) from None
            client.subscribe_topic(TOPIC, self._on_report)
            self._clients[self._key] = client
            return client

    def _unreachable(self, exc: BaseException | None = None) -> str:
        why = f" ({str(exc).splitlines()[0][:120]})" if exc and str(exc) else ""
        return (f"cluster scheduler {self.address} cannot be reached{why}; transcodes stay "
                f"pending (start `dask scheduler` there, or set cluster empty to encode here)")

    @classmethod
    def _on_report(cls, event) -> None:
        # Runs on the client's event loop thread: only a dict assignment.
        _, msg = event
        if isinstance(msg, dict) and msg.get("key"):
            cls._reports[msg["key"]] = msg

    def threads(self) -> int:
        """Task slots of the workers connected now (how many transcodes to keep sent)."""
        info = self.client().scheduler_info(n_workers=-1)
        return sum(w.get("nthreads", 0) for w in info.get("workers", {}).values())

    @classmethod
    def close_all(cls) -> None:
        with cls._lock:
            for client in cls._clients.values():
                try:
                    client.close(timeout=5)
                except Exception:  # noqa: BLE001 - closing a dead connection: nothing to do
                    pass
            cls._clients.clear()

    # -- one transcode ----------------------------------------------------------------
    def encode(self, work, *, src: Path, final: Path, preset: dict, ffmpeg: str,
               source_info: dict, label: str, progress, on_worker,
               stopping: threading.Event) -> tuple[dict, Path, str]:
        """Run `work` (transcode.encode) for `src` on a worker; returns its facts, the
        attempt's temporary file (as the coordinator sees it) and the worker's name.

        progress(seconds) and on_worker(name) are called on this thread as reports come
        in. The task is cancelled when this returns early (an error, `stopping` set)."""
        client = self.client()
        resources = preset.get("resources") or \
            (HARDWARE_RESOURCES if preset.get("hw") else None)
        if resources:
            self._warn_if_unoffered(client, resources)
        key = f"transcode-{label}-{os.urandom(4).hex()}"
        future = client.submit(
            run_on_worker, work, to_worker(src, self.pairs), to_worker(final.parent, self.pairs),
            final.name, preset, ffmpeg, source_info, __version__,
            key=key, pure=False, resources=resources, retries=0)
        done = threading.Event()
        future.add_done_callback(lambda _f: done.set())
        worker = None
        sent = time.monotonic()
        try:
            while not done.wait(0.5):
                if stopping.is_set():
                    raise Interrupted("stopped")
                if worker is None and time.monotonic() - sent > self.worker_wait:
                    wanted = ", ".join(f"{k}={v}" for k, v in (resources or {}).items())
                    raise NoWorker(f"no worker of {self.address} took the transcode in "
                                   f"{self.worker_wait:g} s" + (f" (it asks for {wanted})"
                                                               if wanted else ""))
                report = self._reports.get(key)
                if report:
                    if report.get("name") != worker:
                        worker = report["name"]
                        on_worker(worker)
                    progress(report.get("seconds"))
                if client.status in ("closing", "closed"):
                    raise ClusterUnavailable(self._unreachable())
            result = self._result(future)
        finally:
            if not future.done():
                future.cancel()
            self._reports.pop(key, None)
        if result.get("version") != __version__:
            raise ToolFailed(f"worker {result.get('worker')} runs digitizer "
                             f"{result.get('version')}, this is {__version__}: install the "
                             f"same version on every worker")
        return result["facts"], final.parent / result["part"], result["worker"]

    def _result(self, future) -> dict:
        from distributed import KilledWorker

        try:
            return future.result()
        except KilledWorker as exc:
            raise ToolFailed(f"transcode: every worker that ran it died ({exc})") from None
        except Exception as exc:
            # A cancelled future (the scheduler went away and the client gave up) says so
            # by its status; anything else is the task's own exception, handed on.
            if future.status in ("cancelled", "lost") or \
                    type(exc).__name__ in ("CancelledError", "FutureCancelledError"):
                raise ClusterUnavailable(self._unreachable()) from None
            raise

    def _warn_if_unoffered(self, client, resources: dict) -> None:
        workers = client.scheduler_info(n_workers=-1).get("workers", {}).values()
        if not any(all((w.get("resources") or {}).get(k, 0) >= v for k, v in resources.items())
                   for w in workers):
            wanted = ", ".join(f"{k}={v}" for k, v in resources.items())
            warn(f"no worker of {self.address} offers {wanted}: the transcode waits until "
                 f"one does (dask worker ... --resources {wanted})", "notice")


def attempt_name(final_name: str, worker: str) -> str:
    """The temporary file of one attempt: the final name, the worker, a random token."""
    tag = "".join(c if c.isalnum() or c in "-_" else "-" for c in worker)[-40:]
    return f"{final_name}.{tag}-{os.getpid()}-{os.urandom(3).hex()}.part"


def run_on_worker(work, src: str, folder: str, final_name: str, preset: dict, ffmpeg: str,
                  source_info: dict, version: str) -> dict:
    """The task a worker runs: `work` writes its own attempt's file, reporting progress;
    it stops (and its ffmpeg with it) when the coordinator no longer wants the result."""
    from distributed import get_worker
    from distributed.worker import thread_state

    from digitizer.tools import ffmpeg as ff

    worker = get_worker()
    key = thread_state.key
    name = str(worker.name) if worker.name is not None else worker.address
    if version != __version__:
        return {"version": __version__, "worker": name}
    part = Path(folder) / attempt_name(final_name, name)
    last = [0.0]

    def report(seconds):
        task = worker.state.tasks.get(key)
        if task is None or task.state in ("cancelled", "released") or \
                worker.status.name not in ("running", "paused"):
            raise Interrupted("the coordinator no longer wants this transcode")
        now = time.monotonic()
        if seconds is not None and now - last[0] >= REPORT_SECONDS:
            last[0] = now
            worker.log_event(TOPIC, {"key": key, "name": name, "seconds": seconds})

    worker.log_event(TOPIC, {"key": key, "name": name, "seconds": 0.0})
    facts = work(Path(src), part, preset, ff.binary(ffmpeg), report, source_info)
    return {"facts": facts, "part": part.name, "worker": name, "version": __version__}
