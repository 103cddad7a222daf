"""The cluster's TLS: its certificates (`digitizer cluster certs`: one CA, and one
certificate each for the scheduler, every worker and the coordinator, all signed by it),
and the coordinator's own checks with them before Dask connects (`context`, `probe`).

Dask's TLS admits a peer whose certificate the cluster's CA signed, both ways (the server
asks for the client's certificate too), and checks no host name (its contexts turn
check_hostname off: clusters are often addressed by IP). So the CA's key is what admits a
machine: it stays in the folder the certificates were made in (on the coordinator, or
offline) and is copied to no other machine. The host names and addresses still go into
each certificate as subject alternative names, for openssl and the tools that check them.

The X.509 work is the `cryptography` package's (a dependency of the cluster extra),
imported only here and only when certificates are made or read. The checks use Python's
ssl, with the settings Dask's own TLS contexts have, so that what passes here passes there.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from digitizer.errors import ClusterRefused, UsageError

CA_DAYS = 3650
DAYS = 825  # the longest server certificate Apple's TLS accepts, a common private-CA ceiling
PORT = 8786  # Dask's default scheduler port
CA = "ca"  # ca.pem and ca.key
# How long our own TLS handshake with the scheduler may take before it counts as refused.
PROBE_SECONDS = 5.0
HOW_TO_TLS = ("`digitizer cluster certs DIR --host HOST...` makes the certificates and "
              "prints the commands; README: Cluster security")


@dataclass
class Member:
    """One certificate to make: its file stem, its common name and its SAN entries."""

    stem: str
    name: str
    alt_names: list[str]


def _x509():
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    except ImportError:
        raise UsageError("cluster certificates need the cryptography package: pip install "
                         "'digitizer[cluster]'") from None
    return x509, hashes, serialization, ec, ExtendedKeyUsageOID, NameOID


def parse_host(text: str) -> tuple[str, list[str]]:
    """`NAME[=ALIAS,ADDRESS...]`: a machine's name and every name or address it is reached
    by (all of them become subject alternative names)."""
    name, _, rest = text.partition("=")
    names = list(dict.fromkeys([name.strip()] + [a.strip() for a in rest.split(",")
                                                  if a.strip()]))
    if not names[0] or not all(map(_valid_alt_name, names)):
        raise UsageError(f"--host {text!r}: expected NAME or NAME=ADDRESS,... (host names "
                         "and IP addresses)")
    return names[0], names


def _valid_alt_name(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return len(text) <= 253 and all(
            part and all(c.isalnum() or c in "-_" for c in part) for part in text.split("."))


def _stem(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in name)


def members(hosts: list[str], scheduler: str | None, coordinator: str) -> list[Member]:
    """The scheduler (on `scheduler`, else on the first host), a worker on each host, and
    the coordinator."""
    parsed = [parse_host(h) for h in hosts]
    if not parsed:
        raise UsageError("name at least one --host (each machine that runs `dask worker`)")
    names = dict(parsed)
    if len(names) != len(parsed):
        raise UsageError("name each --host once")
    sched_name, sched_alts = parse_host(scheduler) if scheduler else parsed[0]
    sched_alts = list(dict.fromkeys(sched_alts + names.get(sched_name, [])))
    coord_name, coord_alts = parse_host(coordinator)
    return [Member("scheduler", sched_name, sched_alts),
            *(Member(f"worker-{_stem(name)}", name, alts) for name, alts in parsed),
            Member("coordinator", coord_name, coord_alts)]


def _write_private(path: Path, data: bytes) -> None:
    """Written whole (a temporary renamed over the name) and readable by its owner only
    from the first byte."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _name(NameOID, x509, common_name: str):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "digitizer cluster"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key_pem(serialization, key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _load_ca(folder: Path):
    x509, _, serialization, *_ = _x509()
    cert_path, key_path = folder / f"{CA}.pem", folder / f"{CA}.key"
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise UsageError(f"{folder}: its CA ({cert_path.name}, {key_path.name}) cannot be "
                         f"read ({exc}); --new-ca makes a new one") from None
    return cert, key


def _new_ca(folder: Path, now: datetime.datetime):
    x509, hashes, serialization, ec, _, NameOID = _x509()
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(NameOID, x509, f"digitizer cluster CA {now:%Y-%m-%d}")
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=True, crl_sign=True,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))
    _write_private(folder / f"{CA}.key", _key_pem(serialization, key))
    _write_private(folder / f"{CA}.pem", cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def issue(folder: Path, member: Member, ca_cert, ca_key, now: datetime.datetime,
          days: int) -> tuple[Path, Path]:
    """`member`'s key and certificate, signed by the CA, for both ends of a connection
    (every Dask process both listens and connects)."""
    x509, hashes, serialization, ec, EKU, NameOID = _x509()
    key = ec.generate_private_key(ec.SECP256R1())
    alts = []
    for alt in member.alt_names:
        try:
            alts.append(x509.IPAddress(ipaddress.ip_address(alt)))
        except ValueError:
            alts.append(x509.DNSName(alt))
    cert = (x509.CertificateBuilder()
            .subject_name(_name(NameOID, x509, f"{member.stem}@{member.name}"))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([EKU.SERVER_AUTH, EKU.CLIENT_AUTH]),
                           critical=False)
            .add_extension(x509.SubjectAlternativeName(alts), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    key_path, cert_path = folder / f"{member.stem}.key", folder / f"{member.stem}.pem"
    _write_private(key_path, _key_pem(serialization, key))
    _write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def make(folder: Path, hosts: list[str], *, scheduler: str | None = None,
         coordinator: str | None = None, days: int = DAYS, new_ca: bool = False,
         now: datetime.datetime | None = None) -> dict:
    """The CA (kept when `folder` has one, so machines can be renewed one at a time) and a
    certificate for each member (the coordinator: this machine by default); returns what
    was made, for the instructions."""
    import socket

    if days < 1:
        raise UsageError("--days must be at least 1")
    todo = members(hosts, scheduler, coordinator or socket.gethostname())
    now = now or datetime.datetime.now(datetime.timezone.utc)
    if not folder.exists():  # a folder of the user's own (even ~) keeps its mode
        folder.mkdir(parents=True)
        os.chmod(folder, 0o700)
    have_ca = (folder / f"{CA}.pem").exists() or (folder / f"{CA}.key").exists()
    ca_cert, ca_key = _load_ca(folder) if have_ca and not new_ca else _new_ca(folder, now)
    made = {m.stem: dict(zip(("cert", "key"), issue(folder, m, ca_cert, ca_key, now, days)),
                         name=m.name) for m in todo}
    return {"folder": folder, "ca": folder / f"{CA}.pem", "new_ca": not have_ca or new_ca,
            "members": made, "scheduler": todo[0].name,
            "workers": [m.stem for m in todo[1:-1]]}


# -- reading a certificate back (the coordinator's own, before it connects) --------------
def not_valid(cert_path: Path, now: datetime.datetime | None = None) -> str | None:
    """Why the certificate in `cert_path` is not valid now (expired, not yet valid), or
    None. What cannot be parsed is left to the TLS library, which says so itself."""
    x509 = _x509()[0]
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except (OSError, ValueError):
        return None
    now = now or datetime.datetime.now(datetime.timezone.utc)
    if cert.not_valid_after_utc < now:
        return f"expired on {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"
    if cert.not_valid_before_utc > now:
        return f"not valid before {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC"
    return None



def instructions(made: dict, port: int = PORT) -> str:
    """What `digitizer cluster certs` prints: where each file goes, the exact `dask
    scheduler` and `dask worker` command lines, and the coordinator's config keys."""
    import shlex

    import tomli_w

    folder = Path(made["folder"]).resolve()
    issued = made["members"]

    def files(stem: str) -> list[str]:
        return ["--tls-ca-file", str(folder / f"{CA}.pem"), "--tls-cert",
                str(folder / issued[stem]["cert"].name), "--tls-key",
                str(folder / issued[stem]["key"].name)]

    def line(args: list[str]) -> str:
        return " ".join(shlex.quote(a) for a in args)

    address = f"tls://{made['scheduler']}:{port}"
    coordinator = issued["coordinator"]
    out = [f"# Certificates of the digitizer cluster in {folder}, signed by "
           f"{'a new CA' if made['new_ca'] else 'the CA already there'} ({CA}.pem).",
           f"# {CA}.key admits machines to the cluster: keep it in this folder and copy it "
           "nowhere.",
           "# Give each machine ca.pem and its own .pem and .key, readable only by the user "
           "that runs",
           "# it (as here: mode 0600). The paths below are this folder's: where you copy the "
           "files,",
           "# write that folder instead.", "",
           f"# on {made['scheduler']}: the scheduler (port {port} reachable from the "
           "coordinator and every worker)",
           line(["dask", "scheduler", "--protocol", "tls", "--port", str(port),
                 "--no-dashboard", *files("scheduler")])]
    for stem in made["workers"]:
        name = issued[stem]["name"]
        out += ["", f"# on {name}: a worker (add --resources GPU=1 where a GPU encodes)",
                line(["dask", "worker", address, "--name", name, "--nthreads", "1",
                      "--memory-limit", "0", *files(stem)])]
    keys = {"cluster": address, "cluster_tls_ca": str(folder / f"{CA}.pem"),
            "cluster_tls_cert": str(folder / coordinator["cert"].name),
            "cluster_tls_key": str(folder / coordinator["key"].name)}
    out += ["", f"# config.toml on the coordinator ({coordinator['name']})",
            tomli_w.dumps(keys).rstrip()]
    return "\n".join(out) + "\n"


# -- the coordinator's checks before Dask connects ----------------------------------------
def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [""])[0][:160]


def context(address: str, tls: tuple[str, str, str] | None):
    """The TLS context Dask builds from the same files (the CA verifies the scheduler, no
    host name check, our certificate for the scheduler to verify), each file checked:
    ClusterRefused says which is missing, expired, unreadable or not the other's key."""
    import ssl

    if not tls or not all(tls):
        raise ClusterRefused(f"cluster {address} speaks TLS: set cluster_tls_ca, "
                             f"cluster_tls_cert and cluster_tls_key ({HOW_TO_TLS})")
    ca, cert, key = tls
    why = not_valid(Path(cert))
    if why:
        raise ClusterRefused(f"cluster_tls_cert {cert} {why}: make new certificates from the "
                             f"cluster's CA ({HOW_TO_TLS})")
    try:
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca)
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise ClusterRefused(f"cluster_tls_ca {ca} is not a PEM CA certificate "
                             f"({_first_line(exc)})") from None
    try:
        ctx.load_cert_chain(cert, key)
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise ClusterRefused(
            f"cluster_tls_key {key} is not the key of cluster_tls_cert {cert}"
            if "KEY_VALUES_MISMATCH" in str(exc) else
            f"cluster_tls_cert {cert} or cluster_tls_key {key} is not a PEM certificate and "
            f"its unencrypted key ({_first_line(exc)})") from None
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.verify_flags &= ~ssl.VERIFY_X509_STRICT
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def probe(address: str, host: str, port: int, tls: tuple[str, str, str],
          after_handshake: bool = True) -> None:
    """One TLS handshake of our own with the scheduler, and (`after_handshake`, Dask's
    tls://) its first byte after it: a scheduler that speaks plain TCP, or a certificate
    either side refuses, is said in one line (ClusterRefused) within PROBE_SECONDS. A
    scheduler that cannot be reached is left to Dask, which retries for its connect
    timeout."""
    import socket
    import ssl

    ctx = context(address, tls)
    try:
        sock = socket.create_connection((host, port), PROBE_SECONDS)
    except OSError:
        return
    their = f"the scheduler at {address}"
    ours = f"this coordinator's certificate (cluster_tls_cert {tls[1]})"
    try:
        with ctx.wrap_socket(sock) as conn:
            if after_handshake and not conn.recv(1):
                # Under TLS 1.3 a server refuses a client's certificate after the
                # handshake; an accepted client gets the scheduler's first message.
                raise ClusterRefused(f"{their} closed the connection after TLS: it does not "
                                     f"accept {ours}")
    except ssl.SSLCertVerificationError as exc:
        raise ClusterRefused(
            f"{their} shows a certificate that cluster_tls_ca {tls[0]} does not admit "
            f"({exc.verify_message}): the scheduler must use a certificate from the same CA, "
            f"valid now ({HOW_TO_TLS})") from None
    except ssl.SSLError as exc:
        reason = exc.reason or _first_line(exc)
        if "ALERT" in reason:
            alert = reason.split("ALERT_", 1)[-1].replace("_", " ").lower()
            raise ClusterRefused(f"{their} refuses {ours}: {alert} (it must be signed by the "
                                 f"CA the scheduler was started with, and valid now; "
                                 f"{HOW_TO_TLS})") from None
        raise ClusterRefused(_speaks_plain(address, reason)) from None
    except (TimeoutError, ConnectionError) as exc:
        raise ClusterRefused(_speaks_plain(address, _first_line(exc) or "timed out")) from None
    finally:
        sock.close()


def _speaks_plain(address: str, why: str) -> str:
    return (f"the scheduler at {address} does not speak TLS ({why}): it is a plain tcp:// "
            f"scheduler; start it with --protocol tls and the certificates ({HOW_TO_TLS})")


def speaks_tls(host: str, port: int) -> bool:
    """Whether the scheduler of a plain tcp:// address answers a TLS handshake instead."""
    import socket
    import ssl

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), PROBE_SECONDS) as sock, \
                ctx.wrap_socket(sock):
            return True
    except (OSError, ssl.SSLError):
        return False
