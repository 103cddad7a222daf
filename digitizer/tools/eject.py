"""eject (util-linux): opens a drive's tray after its disc has been read."""

from __future__ import annotations

from digitizer.tools import run

run.register("eject", hint="apt install eject", version_flag="--version")


def argv(device: str, program: str = "eject") -> list[str]:
    return [program, device]


def eject(device: str, program: str = "eject") -> None:
    run.run(argv(device, program), timeout=30)
