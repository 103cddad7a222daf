"""The systemd units and the udev rule that run digitizer unattended, made for the program
that prints them: `watch --print-systemd`, `watch --print-udev` and `make install` all call
these functions, so what is printed and what is installed always agree.

Two ways to run it, as other home-lab services do:
- a user service (`systemctl --user`): runs as you, with your XDG config and data;
- a system service: runs as a media user and group (User=/Group=), with config and state
  in /var/lib/digitizer (DIGITIZER_HOME); the udev rule starts `digitizer-once@srN` for a
  disc put into a drive, as the same user with the same catalog, so the two never read
  one drive at once (they share its lock).
Both use UMask=0002, so the media server's group may rename and delete what is filed.

With a TLS cluster the units take the coordinator's certificate files (config
cluster_tls_*): a system service gets them as systemd credentials (LoadCredential=), so the
key may stay readable by root only and the media user reads the copy systemd hands the
service ($CREDENTIALS_DIRECTORY, %d); a user service is given their paths.
"""

from __future__ import annotations

import os
import shlex
import sys

STATE = "/var/lib/digitizer"
WATCH_UNIT = "digitizer-watch.service"
ONCE_UNIT = "digitizer-once@.service"
UDEV_RULE = "60-digitizer.rules"


def program() -> str:
    """The command that runs this digitizer: its launcher as invoked (a pipx or venv link
    stays valid across upgrades, so it is not resolved; `make install`'s launcher says
    where it is in DIGITIZER_LAUNCHER), or this Python with -m."""
    if os.environ.get("DIGITIZER_LAUNCHER"):
        return os.path.abspath(os.environ["DIGITIZER_LAUNCHER"])
    launched = sys.argv[0] if sys.argv else ""
    if os.path.basename(launched) == "digitizer" and os.access(launched, os.X_OK):
        return os.path.abspath(launched)
    return f"{shlex.quote(sys.executable)} -m digitizer"


def _run_as(user: str | None, group: str | None) -> list[str]:
    lines = [f"User={user}"] if user else []
    lines += [f"Group={group}"] if group else []
    return lines


# config key -> the name of its credential in a system service
CREDENTIALS = {"cluster_tls_ca": "cluster-ca.pem", "cluster_tls_cert": "cluster-cert.pem",
               "cluster_tls_key": "cluster-key.pem"}


def _quoted(assignment: str) -> str:
    """An Environment= value, quoted as systemd reads it when it has spaces or quotes."""
    if not any(c in assignment for c in " \t\"'\\"):
        return assignment
    return '"' + assignment.replace("\\", "\\\\").replace('"', '\\"') + '"'


def tls_lines(tls: dict | None, system: bool) -> list[str]:
    """The certificate files of config cluster_tls_* (those set) for a unit."""
    tls = {k: v for k, v in (tls or {}).items() if k in CREDENTIALS and v}
    if not tls:
        return []
    if not system:
        return ["# the cluster's certificates (config cluster_tls_*)"] + [
            "Environment=" + _quoted(f"DIGITIZER_{key.upper()}={path}")
            for key, path in tls.items()]
    return ["# the cluster's certificates, handed in by systemd: the files may stay root's",
            *(f"LoadCredential={CREDENTIALS[key]}:{path}" for key, path in tls.items()),
            *(f"Environment=DIGITIZER_{key.upper()}=%d/{CREDENTIALS[key]}" for key in tls)]


def watch_unit(exe: str, *, system: bool = False, user: str | None = None,
               group: str | None = None, tls: dict | None = None) -> str:
    if system:
        head = [f"# digitizer watch as a system service, as {user or 'root'}:",
                f"#   sudo cp {WATCH_UNIT} /etc/systemd/system/ && sudo systemctl daemon-reload",
                f"#   sudo systemctl enable --now {WATCH_UNIT}"]
    else:
        head = ["# digitizer watch as a user service (runs as you, with your config):",
                f"#   digitizer watch --print-systemd > ~/.config/systemd/user/{WATCH_UNIT}",
                f"#   systemctl --user enable --now {WATCH_UNIT}"]
    service = ["Type=simple", f"ExecStart={exe} watch", "Restart=on-failure", "UMask=0002"]
    if system:
        service += _run_as(user or "digitizer", group) + [
            "StateDirectory=digitizer", f"Environment=DIGITIZER_HOME={STATE}"]
    service += tls_lines(tls, system)
    service += [
        "# SIGTERM makes digitizer stop claiming work and hand running steps back as pending;",
        "# give its ffmpeg children time to go.",
        "KillMode=mixed", "TimeoutStopSec=30", "Nice=10"]
    return "\n".join(head + [
        "[Unit]", "Description=digitizer: rip, transcode and file every disc put into a drive",
        "After=local-fs.target", "", "[Service]", *service, "", "[Install]",
        f"WantedBy={'multi-user.target' if system else 'default.target'}"]) + "\n"


def once_unit(exe: str, *, user: str | None = None, group: str | None = None,
              tls: dict | None = None) -> str:
    return "\n".join([
        f"# Started by the udev rule ({UDEV_RULE}) for one drive: %I is its kernel name (sr0).",
        "[Unit]", "Description=digitizer: handle the disc in /dev/%I once", "",
        "[Service]", "Type=oneshot", f"ExecStart={exe} watch --once /dev/%I", "UMask=0002",
        *_run_as(user or "digitizer", group), "StateDirectory=digitizer",
        f"Environment=DIGITIZER_HOME={STATE}", *tls_lines(tls, True),
        "# the media user reads the drive through its group (cdrom on Debian)",
        "SupplementaryGroups=cdrom",
        "KillMode=mixed", "TimeoutStopSec=30", "Nice=10"]) + "\n"


def udev_rule() -> str:
    return "\n".join([
        f"# digitizer: when a disc is inserted, handle it once through {ONCE_UNIT}.",
        "# A running `digitizer watch` and this never read the same drive at once: they share a",
        "# per-drive lock, and a disc already digitized is never ripped again.",
        'ACTION=="change", SUBSYSTEM=="block", KERNEL=="sr[0-9]*", ENV{ID_CDROM_MEDIA}=="1", '
        'TAG+="systemd", ENV{SYSTEMD_WANTS}+="digitizer-once@%k.service"']) + "\n"


def write_all(folder: str, exe: str, user: str | None, group: str | None,
              ca: str | None = None, cert: str | None = None,
              key: str | None = None) -> list[str]:
    """The system units and the udev rule, as `make install` installs them."""
    tls = dict(zip(CREDENTIALS, (ca, cert, key)))
    files = {WATCH_UNIT: watch_unit(exe, system=True, user=user, group=group, tls=tls),
             ONCE_UNIT: once_unit(exe, user=user, group=group, tls=tls),
             UDEV_RULE: udev_rule()}
    os.makedirs(folder, exist_ok=True)
    for name, text in files.items():
        with open(os.path.join(folder, name), "w", encoding="utf-8") as fh:
            fh.write(text)
    return sorted(files)


if __name__ == "__main__":  # make install: python -m digitizer.units DIR EXE USER GROUP
    # [CA CERT KEY]
    write_all(*sys.argv[1:3], *(arg or None for arg in sys.argv[3:8]))
