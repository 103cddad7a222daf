"""Optical Disc Manifest v1: TheDiscDb's tool-neutral JSON of what was observed on a disc
(github.com/TheDiscDb/optical-disc-manifest, Apache-2.0): identifiers (the required
thediscdb-content-hash), the file inventory, and titles with duration, chapters and
streams. It records observation only, not roles. The format module fills the disc part
(formats/*.manifest_disc); this module adds the envelope."""

from __future__ import annotations

from digitizer import __version__, formats

SCHEMA_VERSION = 1


def build(source: str, titles: list[dict] | None, cfg) -> dict | None:
    """The manifest of `source`; `titles` from a scan already made (else it scans). None
    for a kind of disc the manifest format does not describe (an audio CD, a data disc)."""
    with formats.open_source(source) as fs:
        fmt = formats.format_of(source, fs)
        describe = getattr(fmt, "manifest_disc", None)
        if describe is None:
            return None
        ids = fmt.read_ids(fs)["ids"]
        if titles is None:
            titles = fmt.scan(source, cfg)["titles"]
        disc = describe(fs, ids, titles)
    return {"schemaVersion": SCHEMA_VERSION,
            "producer": {"name": "digitizer", "version": __version__},
            "disc": disc}
