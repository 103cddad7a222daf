"""Audio CD ids from a table of contents: MusicBrainz, freedb (CDDB) and AccurateRip.

The three count a disc with a data track differently, and each must be counted its own
way or the database does not find the disc:

- **MusicBrainz** (libdiscid) counts the first session: an Enhanced CD's trailing data
  track is left out and the lead-out is the audio session's (the data track's start minus
  the 11400-sector session gap). A mixed-mode CD (data track first, one session) is
  counted whole.
- **freedb** (as EAC, dBpoweramp and AccurateRip's file names count it) counts every
  track, data tracks too, up to the disc's real lead-out.
- **AccurateRip** (dBpoweramp, its reference) sums the audio tracks only, numbered 1..N
  among themselves, plus the disc's real lead-out (after an Enhanced CD's data track); its
  NNN is the number of audio tracks, its freedb part the freedb id above. ARver's
  doc/data_track.md worked this out on real discs; the tests hold its vectors and those
  of libdiscid and the cdtoc crate.

A CUE/BIN image has no session gap: a data track follows the audio in the BIN. The disc
it was read from had one, so for the ids the data track and the lead-out are put back
11400 sectors later.
"""

from __future__ import annotations

import base64
import hashlib

from digitizer.errors import SourceError

LEAD_IN = 150
SESSION_GAP = 11400  # sectors between an Enhanced CD's audio session and its data track


def pressed(disc) -> tuple[list, int]:
    """(tracks as (number, start, audio), lead-out) of the disc as pressed: an image's
    trailing data session moved back behind its session gap."""
    tracks = [(t.number, t.start, t.audio) for t in disc.tracks]
    leadout = disc.leadout
    if disc.kind != "image":
        return tracks, leadout  # a drive's TOC has the gap
    audio_end = max((t.start + t.length for t in disc.tracks if t.audio), default=0)
    trailing = [i for i, (_, start, audio) in enumerate(tracks) if not audio and start >= audio_end]
    if trailing and tracks[trailing[0]][1] - audio_end < SESSION_GAP:
        shift = SESSION_GAP - (tracks[trailing[0]][1] - audio_end)
        tracks = [(n, s + shift if i in trailing else s, a) for i, (n, s, a) in enumerate(tracks)]
        leadout += shift
    return tracks, leadout


def musicbrainz_toc(disc) -> tuple[int, int, int, list[int]]:
    """(first, last, lead-out, offsets) as MusicBrainz counts them (150 added)."""
    tracks, leadout = pressed(disc)
    while tracks and not tracks[-1][2]:  # Enhanced CD: the data session is not counted
        leadout = tracks[-1][1] - SESSION_GAP
        tracks.pop()
    if not any(a for _, _, a in tracks):
        raise SourceError(f"{disc.source}: no audio tracks")
    return (tracks[0][0], tracks[-1][0], leadout + LEAD_IN, [s + LEAD_IN for _, s, _ in tracks])


def musicbrainz_id(first: int, last: int, leadout: int, offsets: list[int]) -> str:
    text = "%02X%02X%08X" % (first, last, leadout)
    text += "".join("%08X" % (offsets[i] if i < len(offsets) else 0) for i in range(99))
    digest = base64.b64encode(hashlib.sha1(text.encode("ascii")).digest()).decode()
    return digest.translate(str.maketrans("+/=", "._-"))


def freedb_id(leadout: int, offsets: list[int]) -> str:
    """CDDB's id of `offsets` (every track counted, 150 added) and the lead-out."""
    digits = sum(sum(int(c) for c in str(o // 75)) for o in offsets)
    seconds = leadout // 75 - offsets[0] // 75
    return "%08x" % ((digits % 0xFF) << 24 | seconds << 8 | len(offsets))


def accuraterip_ids(leadout: int, audio: list[int],
                    every: list[int] | None = None) -> tuple[str, str]:
    """('NNN-id1-id2-freedb', the dBAR file's path under accuraterip.com/accuraterip/) of
    the audio tracks' offsets and the disc's real lead-out (150 added to both); `every` is
    every track's offset, data tracks too (default: the audio ones), for the freedb part."""
    lba = [o - LEAD_IN for o in audio] + [leadout - LEAD_IN]
    id1 = sum(lba) & 0xFFFFFFFF
    id2 = sum(max(x, 1) * (i + 1) for i, x in enumerate(lba)) & 0xFFFFFFFF
    fd = freedb_id(leadout, every or audio)
    n = len(audio)
    name = "dBAR-%03d-%08x-%08x-%s.bin" % (n, id1, id2, fd)
    return ("%03d-%08x-%08x-%s" % (n, id1, id2, fd),
            "%x/%x/%x/%s" % (id1 & 0xF, id1 >> 4 & 0xF, id1 >> 8 & 0xF, name))


def disc_ids(disc) -> dict:
    first, last, mb_leadout, mb_offsets = musicbrainz_toc(disc)
    tracks, leadout = pressed(disc)
    every = [s + LEAD_IN for _, s, _ in tracks]
    audio = [s + LEAD_IN for _, s, a in tracks if a]
    ar, dbar = accuraterip_ids(leadout + LEAD_IN, audio, every)
    return {"musicbrainz": musicbrainz_id(first, last, mb_leadout, mb_offsets),
            "freedb": freedb_id(leadout + LEAD_IN, every), "accuraterip": ar, "dbar": dbar,
            "toc": " ".join(str(x) for x in (first, last, mb_leadout, *mb_offsets))}
