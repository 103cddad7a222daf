"""A large synthetic catalog for timing `digitizer status`: the schema comes from
digitizer.catalog.Catalog (every migration applied), the rows are bulk-inserted with sqlite3."""

from __future__ import annotations

import hashlib
import json
import random
import sqlite3
import time
from pathlib import Path

# (rip, transcode, insert) states of a title on a disc that is not finished yet
STAGES = [("pending",) * 3, ("running", "pending", "pending"), ("failed", "pending", "pending"),
          ("done", "pending", "pending"), ("done", "running", "pending"),
          ("done", "failed", "pending"), ("done", "done", "pending"), ("done", "done", "review"),
          ("done",) * 3]


def make_catalog(path: Path, discs: int = 10_000, titles: int = 100_000, unfinished: float = 0.02,
                 seed: int = 1) -> dict:
    """A library that is mostly done: `unfinished` of the discs have titles at every stage
    (pending, running elsewhere, failed, waiting for review); all other steps are done."""
    from digitizer.catalog import Catalog
    from digitizer.formats import dvd

    chain = dvd.STEPS

    Catalog(path).close()  # creates the tables exactly as digitizer would
    rnd = random.Random(seed)
    now = time.time()
    per_disc = max(1, titles // discs)
    disc_rows, title_rows, step_rows, event_rows = [], [], [], []
    for d in range(discs):
        fp = hashlib.md5(f"bench-disc-{d}".encode()).hexdigest()
        label = f"BENCH_DISC_{d:05d}"
        seen = now - rnd.uniform(0, 3 * 365 * 86400)
        active = rnd.random() < unfinished
        named = not active or rnd.random() < 0.5
        disc_rows.append((fp, "dvd", label, json.dumps({"dvd_disc_id": fp}), f"/dev/sr{d % 2}",
                          f"/srv/staging/{label}-{fp[:12]}", "movie" if named else None,
                          f"Film {d} ({1950 + d % 70})" if named else None, None,
                          "manual" if named else None, seen, seen + rnd.uniform(0, 86400)))
        for t in range(1, per_disc + 1):
            dur = 5400.0 + rnd.uniform(-1800, 1800) if t == 1 else rnd.uniform(10, 1500)
            info = {"title": t, "duration": round(dur, 3), "chapters": [0.0] * 8,
                    "audio": [{"lang": "en", "codec": "ac3", "channels": 6}],
                    "subtitles": [{"lang": "en"}, {"lang": "fr"}]}
            title_rows.append((fp, t, "main" if t == 1 else "extra", dur, 8, int(dur * 1e6),
                               1, None, None, json.dumps(info)))
            stage = rnd.choice(STAGES) if active else ("done",) * 3
            for position, (kind, s) in enumerate(zip(chain, stage)):
                running = s == "running"
                step_rows.append((fp, t, kind, chain[position - 1] if position else None,
                                  position, s, f"/srv/staging/{label}/title_{t:02d}.mkv",
                                  "fail: bench" if s == "failed" else None, 1,
                                  4242 if running else None, "bench-elsewhere" if running else None,
                                  now if running else None, now if running else None,
                                  0.5 if running else (1.0 if s == "done" else 0.0), seen, seen))
        event_rows.append((seen, "disc_detected", fp, None, json.dumps({"label": label})))
        event_rows.append((seen + 60, "title_ripped", fp, 1, json.dumps({"path": "x"})))
    con = sqlite3.connect(str(path))
    with con:
        con.executemany("INSERT INTO discs (fingerprint, disc_type, label, ids, source, folder,"
                        " identity_kind, identity_name, identity_season, identity_source,"
                        " first_seen, last_seen) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", disc_rows)
        con.executemany("INSERT INTO titles (fingerprint, title, role, duration, chapters, size,"
                        " selected, episode, extra_type, info) VALUES (?,?,?,?,?,?,?,?,?,?)",
                        title_rows)
        con.executemany("INSERT INTO steps (fingerprint, title, kind, after, position, state,"
                        " output, error, attempts, worker_pid, worker_host, claimed_at,"
                        " heartbeat, progress, created, updated)"
                        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", step_rows)
        con.executemany("INSERT INTO events (time, event, fingerprint, title, data)"
                        " VALUES (?,?,?,?,?)", event_rows)
    con.execute("ANALYZE")
    con.close()
    return {"unfinished_share": unfinished, "discs": len(disc_rows), "titles": len(title_rows), "steps": len(step_rows),
            "events": len(event_rows), "bytes": path.stat().st_size}
