"""The cluster admits only its own machines: a real `dask scheduler` and `dask worker` on
loopback over tls://, with the certificates `digitizer cluster certs` makes (one scheduler
and worker for the whole module), and each way a coordinator can be refused."""

import datetime
import json
import os
import re
import socket
import ssl
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from digitizer import certs, markers
from loopback_cluster import LoopbackCluster
from test_cluster import FAST, leftovers

EXE = str(Path(sys.executable).parent / "digitizer")
HOSTS = ["--host", "wA=127.0.0.1,localhost", "--scheduler", "localhost=127.0.0.1",
         "--coordinator", "coordinator=127.0.0.1"]


def make_certs(folder: Path, *extra: str) -> subprocess.CompletedProcess:
    done = subprocess.run([EXE, "cluster", "certs", str(folder), *HOSTS, *extra],
                          capture_output=True, text=True, timeout=60,
                          env={k: v for k, v in os.environ.items()
                               if not k.startswith("DIGITIZER_")})
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """Two CAs made by `digitizer cluster certs`: the cluster's, and a stranger's."""
    base = tmp_path_factory.mktemp("pki")
    printed = make_certs(base / "ours").stdout
    certs.make(base / "theirs", ["wA=127.0.0.1"])
    return base / "ours", base / "theirs", printed


@pytest.fixture(scope="module")
def tls_cluster(pki, tmp_path_factory):
    running = LoopbackCluster(tmp_path_factory.mktemp("tls"), names=("wA",), tls=pki[0])
    yield running
    running.stop()


@pytest.fixture(scope="module")
def plain_scheduler(tmp_path_factory):
    running = LoopbackCluster(tmp_path_factory.mktemp("plain"), names=())
    yield running
    running.stop()


def tls_config(home: Path, address: str, ca: Path, cert: Path, key: Path, extra: str = ""):
    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "config" / "config.toml").write_text(
        f'preset = "fast"\ncluster = "{address}"\ncluster_tls_ca = "{ca}"\n'
        f'cluster_tls_cert = "{cert}"\ncluster_tls_key = "{key}"\n{extra}' + FAST)


def refused(run_cli, tmp_path, *args):
    """`watch --once` of nothing: it connects to the cluster before anything else. Its
    exit code, its one line, and how long it took."""
    start = time.monotonic()
    r = run_cli("watch", "--once", tmp_path / "none.iso", *args)
    took = time.monotonic() - start
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("digitizer: "), r.stderr
    return r.code, lines[0], took


def test_certs_are_private_signed_and_named(pki):
    ours, _, printed = pki
    assert stat.S_IMODE(ours.stat().st_mode) == 0o700
    names = sorted(p.name for p in ours.iterdir())
    assert names == sorted(f"{stem}.{ext}" for stem in
                           ("ca", "scheduler", "worker-wA", "coordinator")
                           for ext in ("pem", "key"))
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in ours.iterdir())
    # openssl, not digitizer, checks the chain, both uses and the names.
    for stem in ("scheduler", "worker-wA", "coordinator"):
        done = subprocess.run(["openssl", "verify", "-CAfile", ours / "ca.pem", "-purpose",
                               "sslserver", ours / f"{stem}.pem"], capture_output=True,
                              text=True)
        assert done.returncode == 0 and ": OK" in done.stdout, done.stdout + done.stderr
    text = subprocess.run(["openssl", "x509", "-in", ours / "worker-wA.pem", "-noout",
                           "-ext", "subjectAltName,extendedKeyUsage"],
                          capture_output=True, text=True, check=True).stdout
    assert "DNS:wA" in text and "IP Address:127.0.0.1" in text and "DNS:localhost" in text
    assert "TLS Web Server Authentication" in text and "TLS Web Client Authentication" in text
    # What it prints are the lines LoopbackCluster runs, and the coordinator's keys.
    assert (f"dask scheduler --protocol tls --port 8786 --no-dashboard --tls-ca-file "
            f"{ours}/ca.pem --tls-cert {ours}/scheduler.pem --tls-key {ours}/scheduler.key"
            ) in printed
    assert (f"dask worker tls://localhost:8786 --name wA --nthreads 1 --memory-limit 0 "
            f"--tls-ca-file {ours}/ca.pem --tls-cert {ours}/worker-wA.pem --tls-key "
            f"{ours}/worker-wA.key") in printed
    assert f'cluster_tls_cert = "{ours}/coordinator.pem"' in printed
    assert 'cluster = "tls://localhost:8786"' in printed


def test_renewing_keeps_the_ca_and_new_ca_replaces_it(run_cli, tmp_path):
    folder = tmp_path / "pki"
    assert run_cli("cluster", "certs", folder, *HOSTS).code == 0
    ca, cert = (folder / "ca.pem").read_bytes(), (folder / "coordinator.pem").read_bytes()
    again = run_cli("cluster", "certs", folder, *HOSTS, "--days", "30")
    assert again.code == 0 and "the CA already there" in again.stdout
    assert (folder / "ca.pem").read_bytes() == ca
    assert (folder / "coordinator.pem").read_bytes() != cert
    subprocess.run(["openssl", "verify", "-CAfile", folder / "ca.pem",
                    folder / "coordinator.pem"], check=True, capture_output=True)
    new = run_cli("cluster", "certs", folder, *HOSTS, "--new-ca")
    assert new.code == 0 and "a new CA" in new.stdout
    assert (folder / "ca.pem").read_bytes() != ca
    # A folder that was there already (the user's own) keeps its mode.
    os.chmod(tmp_path, 0o755)
    assert run_cli("cluster", "certs", tmp_path, *HOSTS).code == 0
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "ca.key").stat().st_mode) == 0o600


def test_bad_hosts_are_usage_errors(run_cli, tmp_path):
    for args, why in ((["--host", "nas=not a name"], "expected NAME or NAME=ADDRESS"),
                      (["--host", "nas", "--host", "nas"], "name each --host once")):
        r = run_cli("cluster", "certs", tmp_path / "pki", *args)
        assert r.code == 2 and r.stderr.startswith("digitizer: ") and why in r.stderr, r
        assert len(r.stderr.strip().splitlines()) == 1, r
    r = run_cli("cluster", "certs", tmp_path / "pki")
    assert r.code == 2 and "Missing option '--host'" in r.stderr, r
    assert not (tmp_path / "pki").exists()


@pytest.mark.slow
def test_a_transcode_goes_through_tls(run_cli, home, pki, tls_cluster, movie_disc):
    ours = pki[0]
    assert tls_cluster.address.startswith("tls://127.0.0.1:")
    tls_config(home, tls_cluster.address, ours / "ca.pem", ours / "coordinator.pem",
               ours / "coordinator.key")
    # The disc's 15 s bonus title: the transport is under test, not the encode.
    ripped = run_cli("rip", movie_disc.iso, "--title", 5).objects[0]
    done = run_cli("transcode", ripped["path"])
    assert done.code == 0, done
    final = Path(done.objects[0]["path"])
    assert done.objects[0]["worker"] == "wA" and markers.artefact(final)["worker"] == "wA"
    assert leftovers(home) == []
    log = (tls_cluster.folder / "scheduler.log").read_text()
    assert "Receive client connection" in log
    assert re.search(r"Scheduler at: +tls://127\.0\.0\.1:", log), log


def test_a_client_without_a_certificate_is_refused(pki, tls_cluster):
    """What the scheduler started as `cluster certs` says does by itself: TLS alone, with
    no certificate of the cluster's CA, gets nothing from it."""
    ours = pki[0]
    host, port = tls_cluster.address[len("tls://"):].rsplit(":", 1)
    ctx = ssl.create_default_context(cafile=ours / "ca.pem")
    ctx.check_hostname = False
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        with ctx.wrap_socket(sock) as conn:
            with pytest.raises(ssl.SSLError, match="CERTIFICATE_REQUIRED|certificate required"):
                conn.recv(1)


def test_an_expired_certificate_is_refused_by_both(run_cli, home, pki, tls_cluster, tmp_path):
    ours = pki[0]
    ca_cert, ca_key = certs._load_ca(ours)
    long_ago = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=30)
    cert, key = certs.issue(tmp_path, certs.Member("old", "coordinator", ["127.0.0.1"]),
                            ca_cert, ca_key, long_ago, days=2)
    tls_config(home, tls_cluster.address, ours / "ca.pem", cert, key)
    code, line, took = refused(run_cli, tmp_path)
    assert code == 5 and took < 10, (code, line, took)
    assert f"cluster_tls_cert {cert} expired on " in line
    # Not only digitizer's own check: the scheduler refuses it too.
    ctx = ssl.create_default_context(cafile=ours / "ca.pem")
    ctx.check_hostname = False
    ctx.load_cert_chain(cert, key)
    host, port = tls_cluster.address[len("tls://"):].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        with ctx.wrap_socket(sock) as conn:
            with pytest.raises(ssl.SSLError, match="EXPIRED|expired"):
                conn.recv(1)


@pytest.mark.parametrize("case", ["stranger's certificate", "stranger's CA", "key of another",
                                  "no certificate", "plain tcp:// config"])
def test_each_refusal_is_one_line_and_exit_5_within_seconds(run_cli, home, pki, tls_cluster,
                                                            tmp_path, case):
    ours, theirs, _ = pki
    address = tls_cluster.address
    files = {"stranger's certificate": (ours / "ca.pem", theirs / "coordinator.pem",
                                        theirs / "coordinator.key"),
             "stranger's CA": (theirs / "ca.pem", ours / "coordinator.pem",
                               ours / "coordinator.key"),
             "key of another": (ours / "ca.pem", ours / "coordinator.pem",
                                ours / "scheduler.key")}.get(case)
    if files:
        tls_config(home, address, *files)
    args = ["--cluster", "tcp://" + address[len("tls://"):]] if case == "plain tcp:// config" \
        else ["--cluster", address]
    code, line, took = refused(run_cli, tmp_path, *args)
    assert code == 5 and took < 10, (code, line, took)
    expected = {"stranger's certificate": f"the scheduler at {address} refuses this "
                                          "coordinator's certificate",
                "stranger's CA": f"the scheduler at {address} shows a certificate that "
                                 f"cluster_tls_ca {theirs}/ca.pem does not admit",
                "key of another": f"cluster_tls_key {ours}/scheduler.key is not the key of",
                "no certificate": f"cluster {address} speaks TLS: set cluster_tls_ca, "
                                  "cluster_tls_cert and cluster_tls_key",
                "plain tcp:// config": "the scheduler at tcp://127.0.0.1:"}[case]
    assert line.startswith("digitizer: " + expected), line
    if case == "plain tcp:// config":
        assert f'speaks TLS: set cluster = "{address}"' in line


def test_a_tls_config_against_a_plain_scheduler(run_cli, home, pki, plain_scheduler, tmp_path):
    ours = pki[0]
    address = "tls://" + plain_scheduler.address[len("tcp://"):]
    tls_config(home, address, ours / "ca.pem", ours / "coordinator.pem",
               ours / "coordinator.key")
    code, line, took = refused(run_cli, tmp_path)
    assert code == 5 and took < 10, (code, line, took)
    assert line.startswith(f"digitizer: the scheduler at {address} does not speak TLS"), line


def test_plain_tcp_off_this_machine_needs_cluster_plaintext(run_cli, home, tmp_path,
                                                            monkeypatch):
    # 192.0.2.1 is TEST-NET-1 (RFC 5737): never a real host.
    code, line, took = refused(run_cli, tmp_path, "--cluster", "tcp://192.0.2.1:8786")
    assert code == 5 and took < 2, (code, line, took)
    assert line == ("digitizer: cluster tcp://192.0.2.1:8786 is plain TCP to another machine: "
                    "anyone who can reach it can run any program on every worker; use tls:// "
                    "with certificates (`digitizer cluster certs DIR --host HOST...` makes the "
                    "certificates and prints the commands; README: Cluster security), or set "
                    "cluster_plaintext = true if the network is trusted")
    # Said to be trusted, it is tried (and here cannot be reached).
    import dask

    monkeypatch.setenv("DIGITIZER_CLUSTER_PLAINTEXT", "true")
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        code, line, took = refused(run_cli, tmp_path, "--cluster", "tcp://192.0.2.1:8786")
    assert code == 5 and "cannot be reached" in line, line


def test_a_missing_certificate_file_stops_at_reading_the_config(run_cli, home, pki, tmp_path):
    ours = pki[0]
    tls_config(home, "tls://127.0.0.1:1", ours / "ca.pem", tmp_path / "gone.pem",
               ours / "coordinator.key")
    r = run_cli("config", "show")
    assert r.code == 5 and r.stderr.strip() == (
        f"digitizer: {home}/config/config.toml: cluster_tls_cert: {tmp_path}/gone.pem does not "
        "exist (`digitizer cluster certs` makes the certificates; README: Cluster security)"
    ), r.stderr


def test_loopback_plain_tcp_stays_allowed():
    from digitizer.cluster import Cluster, is_loopback

    for host in ("127.0.0.1", "127.0.1.1", "::1", "localhost", "nas.localhost"):
        assert is_loopback(host), host
    for host in ("nas", "192.168.1.10", "0.0.0.0", "::", "localhost.example"):
        assert not is_loopback(host), host
    assert Cluster("tcp://127.0.0.1:8786").scheme == "tcp"
    assert Cluster("127.0.0.1:8786").host == "127.0.0.1"
    assert Cluster("tcp://[::1]:8786").host == "::1"
    assert Cluster("tcp://nas:8786", plaintext=True).host == "nas"


def test_without_a_certificate_digitizer_exits_nonzero_without_a_traceback(pki, tls_cluster,
                                                                          home, tmp_path):
    """The issue's last check, as a user runs it: a plain coordinator against the TLS
    scheduler (loopback tcp:// is allowed, so the scheduler itself refuses it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGITIZER_")}
    env["DIGITIZER_HOME"] = str(home)
    start = time.monotonic()
    done = subprocess.run([EXE, "watch", "--once", str(tmp_path / "none.iso"), "--cluster",
                           "tcp://" + tls_cluster.address[len("tls://"):]], env=env,
                          capture_output=True, text=True, timeout=120)
    took = time.monotonic() - start
    assert done.returncode == 5 and took < 30, (done, took)
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    print(json.dumps({"refused_in_seconds": round(took, 2)}))


def test_the_units_take_the_certificates(run_cli, pki, home, tmp_path):
    """A system unit loads the config's certificate files as credentials and points
    digitizer at systemd's copies; systemd itself accepts the unit."""
    ours = pki[0]
    tls_config(home, "tls://nas:8786", ours / "ca.pem", ours / "coordinator.pem",
               ours / "coordinator.key")
    printed = run_cli("watch", "--print-systemd", "--system", "--run-as", "media:media")
    assert printed.code == 0, printed
    lines = printed.stdout.splitlines()
    for key, name, path in [("CA", "cluster-ca.pem", ours / "ca.pem"),
                            ("CERT", "cluster-cert.pem", ours / "coordinator.pem"),
                            ("KEY", "cluster-key.pem", ours / "coordinator.key")]:
        assert f"LoadCredential={name}:{path}" in lines
        assert f"Environment=DIGITIZER_CLUSTER_TLS_{key}=%d/{name}" in lines
    unit = tmp_path / "digitizer-watch.service"
    unit.write_text(printed.stdout)
    done = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True,
                          text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    # The udev-started unit gets them too; a user unit gets the paths.
    udev = run_cli("watch", "--print-udev").stdout.splitlines()
    assert f"LoadCredential=cluster-key.pem:{ours / 'coordinator.key'}" in udev
    user = run_cli("watch", "--print-systemd").stdout.splitlines()
    assert f"Environment=DIGITIZER_CLUSTER_TLS_KEY={ours / 'coordinator.key'}" in user


def test_a_certificate_made_with_openssl_serves_as_well(run_cli, home, pki, tls_cluster,
                                                       tmp_path):
    """Nothing is particular to the certificates digitizer makes: an RSA key and a
    certificate with no extensions, made and signed (by the cluster's CA) with openssl,
    admit the coordinator just the same."""
    ours = pki[0]

    def openssl(*args):
        subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)

    key, csr, cert = tmp_path / "me.key", tmp_path / "me.csr", tmp_path / "me.pem"
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj",
            "/CN=coordinator")
    openssl("x509", "-req", "-in", csr, "-CA", ours / "ca.pem", "-CAkey", ours / "ca.key",
            "-CAcreateserial", "-out", cert, "-days", "2")
    tls_config(home, tls_cluster.address, ours / "ca.pem", cert, key)
    r = run_cli("watch", "--once", tmp_path / "none.iso")
    # Admitted: the watch went on to its source, which is not there.
    assert r.code == 4 and "no such file" in r.stderr, r
