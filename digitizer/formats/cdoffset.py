"""`digitizer offset find`: a drive's read offset, found from a disc AccurateRip knows.

As whipper's `offset find` does: read a track with no correction, compute its AccurateRip
checksums at candidate offsets, the offsets most drives have first (AccurateRip's drive
offset list, most submitted first), and take the one that matches, once further tracks
confirm it. whipper reads the track again for every offset it tries (up to ~100 reads);
here each track is read once, with 2940 samples (5 sectors, the range AccurateRip's
checksums leave out) on either side, and the offsets are tried on that read:

- AccurateRip v1 at *every* offset in +-2940 at once, from two prefix sums: with P[j]
  the sum of m * x[m] and C[j] the sum of x[m] over m < j, the v1 sum of the samples from
  k + lo to k + hi, weighted lo..hi, is P[k+hi+1] - P[k+lo] - k (C[k+hi+1] - C[k+lo]),
  all mod 2**32 (numpy's uint64 wraps mod 2**64, a multiple of it);
- v2 (whose high words are not linear) at the listed offsets, computed directly.
"""

from __future__ import annotations

import os
from pathlib import Path

from digitizer.errors import DigitizerError, SourceError

REACH = 5 * 588  # samples: AccurateRip leaves this much out at either end of a disc
SAMPLES = 588


def v1_sweep(window: bytes, n: int, first: bool, last: bool, reach: int = REACH):
    """AccurateRip v1 of a track of `n` samples at every offset in [-reach, reach], from a
    read of the track with `reach` samples either side: an array indexed by offset + reach."""
    import numpy as np

    x = np.frombuffer(window, dtype="<u4").astype(np.uint64)
    m = np.arange(len(x), dtype=np.uint64)
    P = np.concatenate(([np.uint64(0)], np.cumsum(m * x, dtype=np.uint64)))
    C = np.concatenate(([np.uint64(0)], np.cumsum(x, dtype=np.uint64)))
    lo = 5 * 588 if first else 1
    hi = n - 5 * 588 if last else n
    offsets = np.arange(-reach, reach + 1, dtype=np.int64)
    k = reach + offsets - 1  # window index of multiplier 0
    a, b = k + lo, k + hi + 1
    with np.errstate(over="ignore"):
        ku = k.astype(np.uint64)  # two's complement: -1 is 2**64 - 1, right mod 2**64
        sums = (P[b] - P[a]) - ku * (C[b] - C[a])
    return (sums & np.uint64(0xFFFFFFFF)).astype(np.uint32)


def database_checksums(chunks: list[dict], ar_id: str) -> dict[int, dict[int, int]]:
    """{entry index: {checksum: confidence}} of the chunks of this disc's id (0 left out:
    no checksum)."""
    _, id1, id2, fd = ar_id.split("-")
    want = (int(id1, 16), int(id2, 16), int(fd, 16))
    out: dict[int, dict[int, int]] = {}
    for ch in chunks:
        if (ch["id1"], ch["id2"], ch["freedb"]) != want:
            continue
        for i, e in enumerate(ch["entries"]):
            if e["crc"]:
                got = out.setdefault(i, {})
                got[e["crc"]] = max(got.get(e["crc"], 0), e["confidence"])
    return out


def find(source: str, cfg, catalog, folder: Path, confirm: int = 2, say=None) -> dict:
    """{"read_offset", "tracks" (those that matched), "confidence", ...} of the drive
    reading `source`; DigitizerError naming why not (disc not in AccurateRip, no answer,
    no offset matches)."""
    from digitizer import drives
    from digitizer.formats import cd, cdread
    from digitizer.services import accuraterip

    disc = cd.open_source(source)
    if disc is None:
        raise SourceError(f"{source} is not an audio CD or a CUE sheet")
    ids = cd.disc_ids(disc)
    chunks, why = accuraterip.fetch(cfg, ids["dbar"], catalog)
    if chunks is None:
        raise DigitizerError(f"{why}; finding the offset needs AccurateRip")
    known = database_checksums(chunks, ids["accuraterip"])
    if not known:
        raise DigitizerError(f"this disc is not in AccurateRip (AccurateRip id "
                             f"{ids['accuraterip']}); find the offset with another disc")
    listed = accuraterip.common_offsets(accuraterip.drive_offsets(cfg, catalog))
    common = [o for o in listed if abs(o) <= REACH]
    rank = {o: i for i, o in enumerate(common)}
    audio = [t for t in disc.tracks if t.audio]
    toc = [{"number": t.number, "start": t.start, "length": t.length, "audio": t.audio}
           for t in disc.tracks]
    first_number = disc.tracks[0].number
    candidates: list[int] | None = None
    matched: list[int] = []
    confidence = 0
    scratch = folder / f".offset-find-{os.getpid()}.raw"
    folder.mkdir(parents=True, exist_ok=True)
    for i, t in enumerate(audio):
        entries = known.get(t.number - first_number)
        n = t.length * SAMPLES
        if not entries or n <= 2 * REACH:
            continue
        if say:
            say(f"reading track {t.number} ({t.length / 75:.0f} s) with no correction")
        window = cdread.read_samples(source, toc, t.start * SAMPLES - REACH, n + 2 * REACH,
                                     scratch, cfg.cd_paranoia)
        first, last = i == 0, i == len(audio) - 1

        def matches(o: int) -> int:
            sums = cd.checksums(window[(REACH + o) * 4:(REACH + o + n) * 4], first, last)
            return max(entries.get(int(sums["accuraterip_v1"], 16), 0),
                       entries.get(int(sums["accuraterip_v2"], 16), 0))

        if candidates is None:
            v1 = v1_sweep(window, n, first, last)
            found = {o - REACH for o in range(len(v1)) if int(v1[o]) in entries}
            found |= {o for o in common if matches(o)}
            candidates = sorted(found, key=lambda o: (rank.get(o, len(rank)), abs(o), o))
        else:
            candidates = [o for o in candidates if matches(o)]
        if not candidates:
            break
        confidence = max(confidence, matches(candidates[0]))
        matched.append(t.number)
        if len(matched) > confirm:
            break
    if not candidates:
        tried = f"track(s) {', '.join(map(str, matched))}" if matched else "the tracks read"
        raise DigitizerError(f"no read offset within +-{REACH} samples makes {tried} match "
                             "AccurateRip (another pressing?); try another disc")
    return {"read_offset": candidates[0], "source": source,
            "drive": drives.drive_name(source) if disc.kind == "drive" else None,
            "tracks": matched, "confidence": confidence, "accuraterip": ids["accuraterip"],
            "others": candidates[1:5]}
