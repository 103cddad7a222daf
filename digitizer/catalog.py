"""The catalog: the one module that touches SQLite (through sqlite-utils).

sqlite-utils costs about as much to import as Python takes to start, so the paths every
short command takes (opening an up-to-date catalog, recording a disc, reading a disc's
progress, adding an event) use the sqlite3 connection directly, and sqlite-utils is
imported on first use of `db` (migrations, rows_where, upserts of the longer steps).

It is the fast index and the history; the sidecar markers are the truth, and
`rebuild_from` recreates everything but the event history from them. WAL plus a busy
timeout let several `watch` processes and drives share one file; multi-statement operations
run in BEGIN IMMEDIATE transactions so two workers never claim the same step.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite_utils

from digitizer.liveness import alive as _pid_alive

# Each step row records its predecessor (`after`, NULL for the first step of a chain) and
# its place in the chain (`position`): the formats declare their chains (formats/*.STEPS),
# and a step is runnable only when the step it comes after is done.
# pending -> running -> done | failed; failed -> pending (retry) | dismissed;
# insert waits in review while the disc's name is only a guess.
STEP_STATES = ("pending", "running", "done", "failed", "review", "dismissed")
STALE_SECONDS = 120  # a claim on another host without a heartbeat for this long is dead


def _hostname() -> str:
    # gethostname(2) is the kernel's nodename; os has it without importing socket.
    return os.uname().nodename


def now() -> float:
    return round(time.time(), 3)


def _m1_tables(db: sqlite_utils.Database) -> None:
    db["drives"].create({"device": str, "model": str, "status": str, "disc_type": str,
                         "fingerprint": str, "updated": float}, pk="device")
    # disc_type: dvd | bluray | cd. identity_* is what insert names the disc after.
    db["discs"].create({"fingerprint": str, "disc_type": str, "label": str, "ids": str,
                        "source": str, "folder": str, "identity_kind": str,
                        "identity_name": str, "identity_season": int,
                        "identity_source": str, "first_seen": float, "last_seen": float},
                       pk="fingerprint")
    # One row per DVD/BD title or CD track.
    db["titles"].create({"fingerprint": str, "title": int, "role": str, "duration": float,
                         "chapters": int, "size": int, "selected": int, "episode": int,
                         "extra_type": str, "info": str},
                        pk=("fingerprint", "title"), foreign_keys=[("fingerprint", "discs")])
    db["steps"].create({"id": int, "fingerprint": str, "title": int, "kind": str,
                        "state": str, "input": str, "output": str, "attempts": int,
                        "error": str, "worker_pid": int, "worker_host": str,
                        "claimed_at": float, "heartbeat": float, "progress": float,
                        "created": float, "updated": float}, pk="id",
                       not_null={"fingerprint", "title", "kind", "state"},
                       defaults={"attempts": 0, "state": "pending"})
    db["steps"].create_index(["fingerprint", "title", "kind"], unique=True)
    db["steps"].create_index(["kind", "state"])
    db["events"].create({"id": int, "time": float, "event": str, "fingerprint": str,
                         "title": int, "data": str}, pk="id")
    db["events"].create_index(["fingerprint"])


def _m2_step_chain(db: sqlite_utils.Database) -> None:
    db["steps"].add_column("after", str)
    db["steps"].add_column("position", int)
    # Every step recorded before chains were data belongs to the DVD chain.
    for position, (kind, after) in enumerate((("rip", None), ("transcode", "rip"),
                                              ("insert", "transcode"))):
        db.execute("UPDATE steps SET after = ?, position = ? WHERE kind = ?",
                   [after, position, kind])


def _m_name_edition(db: sqlite_utils.Database) -> None:
    db["discs"].add_column("identity_edition", str)


def _m_status_indexes(db: sqlite_utils.Database) -> None:
    # `status` pages most recent first: discs by when they were last seen, and the running,
    # failed and review steps by when they changed.
    db["discs"].create_index(["last_seen"])
    db["steps"].create_index(["state", "updated"])


def _m_discdb_index(db: sqlite_utils.Database) -> None:
    # TheDiscDb's records by content hash (`digitizer discdb import`): what each title is.
    db["discdb"].create({"content_hash": str, "kind": str, "title": str, "year": int,
                         "release": str, "disc": str, "format": str, "titles": str},
                        pk="content_hash")


def _m_step_runner(db: sqlite_utils.Database) -> None:
    # The Dask worker running a claimed step for its coordinator (worker_pid/worker_host
    # stay the coordinator's: they say whether the claim is alive).
    db["steps"].add_column("runner", str)


def _m_service_answers(db: sqlite_utils.Database) -> None:
    # What the online services answered (services/http.py): a disc asks each once.
    db["service_answers"].create({"service": str, "key": str, "found": int, "body": bytes,
                                  "fetched": float}, pk=("service", "key"))
    # What a TMDb search offered for a disc it could not name surely (review lists them).
    db["discs"].add_column("candidates", str)


def _m_failure_cause(db: sqlite_utils.Database) -> None:
    # Why a failed step failed, as errors.cause_of judged the exception (disk, read,
    # unreachable; NULL: it cannot go away by itself), and the exit code it means: what a
    # retry and the last line of `watch --once` and `resume` go by, not the message's words.
    db["steps"].add_column("cause", str)
    db["steps"].add_column("exit_code", int)


def _m_disc_numbers(db: sqlite_utils.Database) -> None:
    # Where a disc sits in a season's box set: its disc number (--disc, else its label) and
    # the number of its first episode when a person gave it (review approve --first-episode).
    db["discs"].add_column("disc_number", int)
    db["discs"].add_column("first_episode", int)


MIGRATIONS = [("0001_tables", _m1_tables), ("0002_step_chain", _m2_step_chain),
              ("i16_name_edition", _m_name_edition), ("i18_status_indexes", _m_status_indexes),
              ("i12_discdb_index", _m_discdb_index), ("i17_step_runner", _m_step_runner),
              ("i25_service_answers", _m_service_answers),
              ("i26_failure_cause", _m_failure_cause),
              ("i25_disc_numbers", _m_disc_numbers)]


class Catalog:
    def __init__(self, path: str | Path, listener=None):
        self.path = Path(path)
        self.listener = listener  # called with each event (notifications)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(str(self.path), timeout=30, isolation_level=None,
                                    check_same_thread=False)
        self._db = None
        self.conn.execute("PRAGMA busy_timeout = 30000")
        self.conn.execute("PRAGMA foreign_keys = ON")
        self._enter_wal()
        if self._pending_migrations():
            self.migrate()

    def _enter_wal(self) -> None:
        # Switching a new catalog to WAL needs an exclusive lock, and SQLite answers "database
        # is locked" at once rather than waiting on the busy timeout; two watchers starting
        # together on a fresh catalog both try. Retry for as long as the busy timeout allows.
        deadline = time.monotonic() + 30
        while True:
            try:
                if self.conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    self.conn.execute("PRAGMA journal_mode = wal")
                return
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    @property
    def db(self) -> "sqlite_utils.Database":
        if self._db is None:
            import sqlite_utils

            self._db = sqlite_utils.Database(self.conn)
        return self._db

    def _rows(self, sql: str, args=()) -> list[dict]:
        cur = self.conn.execute(sql, args)
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, row)) for row in cur.fetchall()]

    def _pending_migrations(self) -> bool:
        try:
            done = {r[0] for r in self.conn.execute("SELECT name FROM migrations")}
        except sqlite3.OperationalError:  # no migrations table yet: a new catalog
            return True
        return any(name not in done for name, _ in MIGRATIONS)

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def _tx(self):
        # IMMEDIATE takes the write lock up front, so the busy timeout applies here rather
        # than failing later with "database is locked" on the lock upgrade.
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # -- migrations -------------------------------------------------------------------
    def migrate(self) -> list[str]:
        applied = []
        with self._tx():
            if "migrations" not in self.db.table_names():
                self.db["migrations"].create({"name": str, "applied": float}, pk="name")
            done = {r["name"] for r in self.db["migrations"].rows}
            for name, fn in MIGRATIONS:
                if name not in done:
                    fn(self.db)
                    self.db["migrations"].insert({"name": name, "applied": now()})
                    applied.append(name)
        return applied

    def migrations(self) -> list[str]:
        return [r["name"] for r in self.db["migrations"].rows_where(order_by="name")]

    # -- events -----------------------------------------------------------------------
    def add_event(self, event: str, fingerprint: str | None = None, title: int | None = None,
                  **data) -> dict:
        row = {"time": now(), "event": event, "fingerprint": fingerprint, "title": title,
               "data": json.dumps(data, sort_keys=True)}
        self.conn.execute("INSERT INTO events (time, event, fingerprint, title, data)"
                          " VALUES (?, ?, ?, ?, ?)",
                          [row["time"], event, fingerprint, title, row["data"]])
        if self.listener is not None:
            self.listener(dict(row, data=data))
        return row

    def events(self, fingerprint: str | None = None, limit: int = 100) -> list[dict]:
        where, args = ("fingerprint = ?", [fingerprint]) if fingerprint else (None, [])
        rows = self.db["events"].rows_where(where, args, order_by="id desc", limit=limit)
        return [dict(r, data=json.loads(r["data"] or "{}")) for r in rows]

    # -- drives -----------------------------------------------------------------------
    def update_drive(self, device: str, **fields) -> None:
        self.db["drives"].upsert(dict(fields, device=device, updated=now()), pk="device",
                                 alter=False)

    def drives(self) -> list[dict]:
        return list(self.db["drives"].rows_where(order_by="device"))

    # -- discs ------------------------------------------------------------------------
    def record_disc(self, fingerprint: str, *, disc_type: str, label: str | None,
                    ids: dict, source: str, folder: str | None = None) -> bool:
        """Insert or refresh a disc; returns True if it was already known."""
        with self._tx():
            known = self.disc(fingerprint) is not None
            row = {"fingerprint": fingerprint, "disc_type": disc_type, "label": label,
                   "ids": json.dumps(ids, sort_keys=True), "source": source,
                   "last_seen": now()}
            if folder:
                row["folder"] = folder
            if not known:
                row["first_seen"] = row["last_seen"]
                cols = ", ".join(row)
                self.conn.execute(f"INSERT INTO discs ({cols}) VALUES"
                                  f" ({', '.join('?' * len(row))})", list(row.values()))
            else:
                sets = ", ".join(f"{k} = ?" for k in row if k != "fingerprint")
                self.conn.execute(f"UPDATE discs SET {sets} WHERE fingerprint = ?",
                                  [v for k, v in row.items() if k != "fingerprint"]
                                  + [fingerprint])
        return known

    def disc(self, fingerprint: str) -> dict | None:
        rows = self._rows("SELECT * FROM discs WHERE fingerprint = ?", [fingerprint])
        if not rows:
            return None
        row = rows[0]
        return dict(row, ids=json.loads(row["ids"] or "{}"))

    def find_discs(self, prefix: str) -> list[dict]:
        """Discs whose fingerprint starts with prefix (users type short prefixes)."""
        rows = self.db["discs"].rows_where("fingerprint LIKE ?", [prefix + "%"])
        return [dict(r, ids=json.loads(r["ids"] or "{}")) for r in rows]

    def discs(self) -> list[dict]:
        return [dict(r, ids=json.loads(r["ids"] or "{}"))
                for r in self.db["discs"].rows_where(order_by="first_seen")]

    def fingerprints(self) -> list[str]:
        return [r["fingerprint"] for r in self.db.query("SELECT fingerprint FROM discs")]

    def set_folder(self, fingerprint: str, folder: str) -> None:
        self.db["discs"].update(fingerprint, {"folder": folder})

    def set_name(self, fingerprint: str, name: dict | None) -> None:
        """The disc's library name (names.Name.as_dict()), or None to forget it."""
        name = name or {}
        self.db["discs"].update(fingerprint, {
            "identity_kind": name.get("kind"), "identity_name": name.get("name"),
            "identity_season": name.get("season"), "identity_source": name.get("source"),
            "identity_edition": name.get("edition")})

    def name(self, fingerprint: str) -> dict | None:
        disc = self.disc(fingerprint)
        if not disc or not disc.get("identity_name"):
            return None
        return {"kind": disc["identity_kind"], "name": disc["identity_name"],
                "season": disc["identity_season"], "source": disc["identity_source"],
                "edition": disc.get("identity_edition")}

    def set_candidates(self, fingerprint: str, candidates: list[dict] | None) -> None:
        self.conn.execute("UPDATE discs SET candidates = ? WHERE fingerprint = ?",
                          [json.dumps(candidates) if candidates else None, fingerprint])

    def set_numbering(self, fingerprint: str, *, disc_number: int | None = None,
                      first_episode: int | None = None) -> None:
        """A disc's place in its season (only what is given changes)."""
        for column, value in (("disc_number", disc_number), ("first_episode", first_episode)):
            if value is not None:
                self.conn.execute(f"UPDATE discs SET {column} = ? WHERE fingerprint = ?",
                                  [value, fingerprint])

    def season_discs(self, name: str, season: int | None) -> list[dict]:
        """The discs named as this show and season: fingerprint, label, disc_number,
        first_episode and how many episode titles each has."""
        rows = self.conn.execute(
            "SELECT d.fingerprint, d.label, d.disc_number, d.first_episode, "
            "(SELECT COUNT(*) FROM titles t WHERE t.fingerprint = d.fingerprint "
            " AND t.role = 'episode') FROM discs d WHERE d.identity_kind = 'show' "
            "AND d.identity_name = ? AND d.identity_season IS ?", [name, season]).fetchall()
        return [{"fingerprint": r[0], "label": r[1], "disc_number": r[2],
                 "first_episode": r[3], "episodes": r[4]} for r in rows]

    def candidates(self, fingerprint: str) -> list[dict]:
        row = self.conn.execute("SELECT candidates FROM discs WHERE fingerprint = ?",
                                [fingerprint]).fetchone()
        return json.loads(row[0]) if row and row[0] else []

    # -- TheDiscDb index ---------------------------------------------------------------
    def discdb_import(self, entries) -> int:
        """Store TheDiscDb entries (discdb.read_repository), replacing those of the same
        content hash; returns how many."""
        rows = [dict(e, titles=json.dumps(e["titles"])) for e in entries]
        with self._tx():
            self.db["discdb"].upsert_all(rows, pk="content_hash")
        return len(rows)

    def discdb_entry(self, content_hash: str | None) -> dict | None:
        if not content_hash:
            return None
        rows = list(self.db["discdb"].rows_where("content_hash = ?", [content_hash.upper()]))
        return dict(rows[0], titles=json.loads(rows[0]["titles"])) if rows else None

    def discdb_count(self) -> int:
        return self.db["discdb"].count

    # -- answers of the online services (services/http.py) ----------------------------
    def service_answer(self, service: str, key: str) -> dict | None:
        """{"found", "body", "fetched"} kept for a service's request key, or None."""
        row = self.conn.execute(
            "SELECT found, body, fetched FROM service_answers WHERE service = ? AND key = ?",
            [service, key]).fetchone()
        return {"found": bool(row[0]), "body": bytes(row[1] or b""), "fetched": row[2]} \
            if row else None

    def keep_service_answer(self, service: str, key: str, body: bytes, found: bool) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO service_answers (service, key, found, body, fetched) "
            "VALUES (?, ?, ?, ?, ?)", [service, key, int(found), body, now()])

    # -- titles -----------------------------------------------------------------------
    def record_titles(self, fingerprint: str, titles: list[dict]) -> None:
        """Store scanned titles; the full scan result of each title is kept in `info`."""
        rows = []
        for t in titles:
            rows.append({"fingerprint": fingerprint, "title": t["title"],
                         "role": t.get("role"), "duration": t.get("duration"),
                         "chapters": len(t.get("chapters") or []), "size": t.get("size"),
                         "info": json.dumps(t, sort_keys=True)})
        with self._tx():
            self.db["titles"].upsert_all(rows, pk=("fingerprint", "title"))

    def set_title(self, fingerprint: str, title: int, **fields) -> None:
        self.db["titles"].upsert(dict(fields, fingerprint=fingerprint, title=title),
                                 pk=("fingerprint", "title"))

    def discs_with_role(self, role: str) -> list[str]:
        """Fingerprints of the discs that have a title of this role (e.g. undecided decoys)."""
        return [r[0] for r in self.db.execute(
            "SELECT DISTINCT fingerprint FROM titles WHERE role = ? ORDER BY fingerprint", [role])]

    def titles(self, fingerprint: str) -> list[dict]:
        rows = self.db["titles"].rows_where("fingerprint = ?", [fingerprint], order_by="title")
        return [dict(r, info=json.loads(r["info"] or "{}")) for r in rows]

    # -- steps ------------------------------------------------------------------------
    def ensure_steps(self, fingerprint: str, title: int, chain: tuple[str, ...]) -> None:
        """The title's steps, one per kind of its format's chain, pending unless present."""
        with self._tx():
            for position, kind in enumerate(chain):
                self.db.execute(
                    "INSERT OR IGNORE INTO steps (fingerprint, title, kind, state, attempts,"
                    " after, position, created, updated)"
                    " VALUES (?, ?, ?, 'pending', 0, ?, ?, ?, ?)",
                    [fingerprint, title, kind, chain[position - 1] if position else None,
                     position, now(), now()])

    def steps(self, fingerprint: str | None = None, *, state: str | None = None,
              kind: str | None = None) -> list[dict]:
        clauses, args = [], []
        for col, val in (("fingerprint", fingerprint), ("state", state), ("kind", kind)):
            if val is not None:
                clauses.append(f"{col} = ?")
                args.append(val)
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        return self._rows(f"SELECT * FROM steps{where} ORDER BY fingerprint, title, position",
                          args)

    def step(self, fingerprint: str, title: int, kind: str) -> dict | None:
        rows = self.steps(fingerprint, kind=kind)
        return next((r for r in rows if r["title"] == title), None)

    def set_step(self, fingerprint: str, title: int, kind: str, *, only_if: str | None = None,
                 **fields) -> bool:
        """Set fields of a step (made by ensure_steps); with `only_if`, only while the step
        is still in that state (a compare-and-set: another process may have changed it
        since it was read). Whether it was set."""
        fields["updated"] = now()
        sets = ", ".join(f"{k} = ?" for k in fields)
        where = "fingerprint = ? AND title = ? AND kind = ?"
        args = [*fields.values(), fingerprint, title, kind]
        if only_if is not None:
            where += " AND state = ?"
            args.append(only_if)
        return self.conn.execute(f"UPDATE steps SET {sets} WHERE {where}", args).rowcount > 0

    _RUNNABLE = (" AND (s.after IS NULL OR EXISTS (SELECT 1 FROM steps p"
                 " WHERE p.fingerprint = s.fingerprint AND p.title = s.title"
                 " AND p.kind = s.after AND p.state = 'done'))")

    def claim(self, kind: str | None = None, *, fingerprint: str | None = None,
              title: int | None = None, following: bool = False, pid: int | None = None,
              host: str | None = None) -> dict | None:
        """Atomically take one runnable pending step (the step it comes after is done): of
        `kind`, or with `following` any step but the first of a chain (the queue `watch`'s
        workers run; the first step reads the disc), later steps first so titles finish."""
        pid = pid or os.getpid()
        host = host or _hostname()
        sql = "SELECT s.* FROM steps s WHERE s.state = 'pending'" + self._RUNNABLE
        args: list = []
        if kind:
            sql += " AND s.kind = ?"
            args.append(kind)
        if following:
            sql += " AND s.after IS NOT NULL"
        if fingerprint:
            sql += " AND s.fingerprint = ?"
            args.append(fingerprint)
        if title is not None:
            sql += " AND s.title = ?"
            args.append(title)
        sql += " ORDER BY s.position DESC, s.fingerprint, s.title LIMIT 1"
        with self._tx():
            row = next(self.db.query(sql, args), None)
            if row is None:
                return None
            t = now()
            self.db.execute(
                "UPDATE steps SET state = 'running', worker_pid = ?, worker_host = ?,"
                " claimed_at = ?, heartbeat = ?, attempts = attempts + 1, error = NULL,"
                " cause = NULL, exit_code = NULL, progress = 0, runner = NULL, updated = ?"
                " WHERE id = ? AND state = 'pending'",
                [pid, host, t, t, t, row["id"]])
        return self.db["steps"].get(row["id"])

    def take(self, fingerprint: str, title: int, kind: str, *, redo_done: bool = False,
             pid: int | None = None, host: str | None = None) -> tuple[dict, str | None]:
        """Claim one given step in one transaction: (the claimed row, None), or (the row as
        it is, why not): "running" while another worker holds it, "done" when it is done
        and `redo_done` is not given (a plan made before another worker finished it).

        A step run on a file a person hands over need not wait for its predecessor in the
        catalog: the input file's own marker is what was checked, so the predecessor is
        recorded done. Reading and claiming in one write transaction is what keeps two
        processes from both taking a step they both saw pending, failed or done."""
        pid = pid or os.getpid()
        host = host or _hostname()
        with self._tx():
            row = self._rows("SELECT * FROM steps WHERE fingerprint = ? AND title = ? AND"
                             " kind = ?", [fingerprint, title, kind])[0]
            if row["state"] == "running":
                return row, "running"
            if row["state"] == "done" and not redo_done:
                return row, "done"
            t = now()
            if row["after"] is not None:
                self.conn.execute("UPDATE steps SET state = 'done', updated = ? WHERE"
                                  " fingerprint = ? AND title = ? AND kind = ? AND"
                                  " state != 'done'", [t, fingerprint, title, row["after"]])
            self.conn.execute(
                "UPDATE steps SET state = 'running', worker_pid = ?, worker_host = ?,"
                " claimed_at = ?, heartbeat = ?, attempts = attempts + 1, error = NULL,"
                " cause = NULL, exit_code = NULL, progress = 0, runner = NULL, updated = ?"
                " WHERE id = ?", [pid, host, t, t, t, row["id"]])
            claimed = self._rows("SELECT * FROM steps WHERE id = ?", [row["id"]])[0]
        return claimed, None

    def has_queued_work(self) -> bool:
        """Is any following step running, or pending and runnable? (`watch --once` waits)"""
        sql = ("SELECT 1 FROM steps s WHERE s.after IS NOT NULL AND (s.state = 'running' OR"
               " (s.state = 'pending'" + self._RUNNABLE + ")) LIMIT 1")
        return next(self.db.query(sql), None) is not None

    def heartbeat(self, step_id: int, progress: float | None = None) -> None:
        fields = {"heartbeat": now()}
        if progress is not None:
            fields["progress"] = round(progress, 4)
        self.db["steps"].update(step_id, fields)

    def set_runner(self, step_id: int, runner: str | None) -> None:
        """The cluster worker that runs a claimed step now (status shows it)."""
        self.conn.execute("UPDATE steps SET runner = ?, heartbeat = ? WHERE id = ?",
                          [runner, now(), step_id])

    def finish(self, step_id: int, output: str | None = None) -> None:
        self.db["steps"].update(step_id, {"state": "done", "output": output, "progress": 1.0,
                                          "error": None, "worker_pid": None, "updated": now()})

    def fail(self, step_id: int, error: str, cause: str | None = None,
             exit_code: int | None = None) -> None:
        """Record a failure with its cause (errors.cause_of: None when it cannot go away by
        itself) and the exit code it means."""
        self.db["steps"].update(step_id, {"state": "failed", "error": error, "cause": cause,
                                          "exit_code": exit_code, "worker_pid": None,
                                          "updated": now()})

    def release(self, step_id: int, state: str = "pending") -> None:
        self.db["steps"].update(step_id, {"state": state, "worker_pid": None,
                                          "updated": now()})

    def release_stale(self, *, host: str | None = None, stale_after: float = STALE_SECONDS,
                      alive=None) -> list[dict]:
        """Give back running steps whose worker is gone.

        On this host a worker is dead when its pid no longer exists (or has been reused by a
        process started after the claim); on other hosts, when its heartbeat is too old.
        """
        host = host or _hostname()
        alive = alive or _pid_alive
        released = []
        with self._tx():
            for row in self.db["steps"].rows_where("state = 'running'"):
                if row["worker_host"] == host:
                    dead = not alive(row["worker_pid"], row["claimed_at"])
                else:
                    dead = (now() - (row["heartbeat"] or 0)) > stale_after
                if dead:
                    self.db.execute("UPDATE steps SET state = 'pending', worker_pid = NULL,"
                                    " error = ?, updated = ? WHERE id = ?",
                                    [f"worker {row['worker_host']}:{row['worker_pid']} died",
                                     now(), row["id"]])
                    released.append(row)
        return released

    def release_mine(self, pid: int | None = None, host: str | None = None) -> int:
        """Hand back every step this process still holds (on the way out of a stop)."""
        cur = self.db.execute(
            "UPDATE steps SET state = 'pending', worker_pid = NULL, updated = ?"
            " WHERE state = 'running' AND worker_pid = ? AND worker_host = ?",
            [now(), pid or os.getpid(), host or _hostname()])
        return cur.rowcount

    def requeue(self, step_ids: list[int]) -> int:
        """Failed steps back to pending (a retry), each only if it is still failed."""
        n = 0
        for step_id in step_ids:
            n += self.conn.execute("UPDATE steps SET state = 'pending', updated = ? WHERE"
                                   " id = ? AND state = 'failed'", [now(), step_id]).rowcount
        return n

    def retry_failed(self, fingerprint: str | None = None) -> int:
        where, args = "state = 'failed'", []
        if fingerprint:
            where, args = where + " AND fingerprint = ?", [fingerprint]
        cur = self.db.execute(f"UPDATE steps SET state = 'pending', updated = ? WHERE {where}",
                              [now(), *args])
        return cur.rowcount

    def end_review(self, fingerprint: str, *, episodes: bool = False) -> int:
        """The disc has a certain name now: its titles held for review may go on; those
        held for their episode numbers (error "episodes: ...") only with `episodes`."""
        cur = self.db.execute("UPDATE steps SET state = 'pending', updated = ?, error = NULL"
                              " WHERE fingerprint = ? AND state = 'review' AND (? OR error IS"
                              " NULL OR error NOT LIKE 'episodes:%')",
                              [now(), fingerprint, int(episodes)])
        return cur.rowcount

    def dismiss_failed(self, fingerprint: str | None = None) -> int:
        where, args = "state = 'failed'", []
        if fingerprint:
            where, args = where + " AND fingerprint = ?", [fingerprint]
        cur = self.db.execute(f"UPDATE steps SET state = 'dismissed', updated = ? WHERE {where}",
                              [now(), *args])
        return cur.rowcount

    def reset_title(self, fingerprint: str, title: int) -> None:
        self.db.execute("UPDATE steps SET state = 'pending', output = NULL, error = NULL,"
                        " attempts = 0, worker_pid = NULL, progress = 0, updated = ?"
                        " WHERE fingerprint = ? AND title = ?", [now(), fingerprint, title])

    def unstarted(self) -> list[str]:
        """Discs with scanned titles and no steps: scanned, never selected or ripped."""
        return [r["fingerprint"] for r in self.db.query(
            "SELECT d.fingerprint FROM discs d WHERE d.fingerprint NOT IN"
            " (SELECT fingerprint FROM steps) AND EXISTS"
            " (SELECT 1 FROM titles t WHERE t.fingerprint = d.fingerprint)"
            " ORDER BY d.last_seen DESC")]

    def progress(self, fingerprint: str) -> dict:
        """{title: {kind: state}} for a disc: how far each title has got."""
        out: dict = {}
        for r in self.steps(fingerprint):
            out.setdefault(r["title"], {})[r["kind"]] = r["state"]
        return out

    _OPEN = ("EXISTS (SELECT 1 FROM steps s WHERE s.fingerprint = d.fingerprint"
             " AND s.state NOT IN ('done', 'dismissed'))")

    def unfinished_discs(self, limit: int | None = None,
                         open_steps: int = 0) -> tuple[list[dict], int]:
        """The unfinished discs most recently seen first (at most `limit`), and how many
        there are in all. The page walks discs by last_seen and stops at `limit`; the count
        takes the cheaper of two ways, judged by how many steps are open (`open_steps`,
        from summary()): few open steps are counted through the state index, many by
        asking each disc (measured over 10 000 discs: 4 ms and 60 ms where each fits,
        150 ms and 230 ms where it does not)."""
        sql = ("SELECT d.fingerprint, d.label, d.identity_name FROM discs d WHERE "
               + self._OPEN + " ORDER BY d.last_seen DESC")
        rows = list(self.db.query(sql + (" LIMIT ?" if limit else ""), [limit] if limit else []))
        if not limit or len(rows) < limit:
            return rows, len(rows)
        if open_steps < 20_000:
            count = ("SELECT COUNT(DISTINCT fingerprint) AS n FROM steps"
                     " WHERE state IN ('pending', 'running', 'failed', 'review')")
        else:
            count = "SELECT COUNT(*) AS n FROM discs d WHERE " + self._OPEN
        return rows, next(self.db.query(count))["n"]

    def steps_of(self, fingerprints: list[str]) -> list[dict]:
        marks = ", ".join("?" * len(fingerprints))
        return list(self.db.query(
            f"SELECT fingerprint, title, kind, position, state FROM steps"
            f" WHERE fingerprint IN ({marks}) ORDER BY fingerprint, title, position",
            fingerprints)) if fingerprints else []

    def recent_steps(self, state: str, limit: int | None = None) -> list[dict]:
        """Steps in `state` (running, failed, review), the most recently changed first."""
        sql = ("SELECT s.fingerprint, s.title, s.kind, s.error, s.progress, s.worker_pid,"
               " s.worker_host, s.runner, s.attempts, s.updated, s.cause, s.exit_code, d.label,"
               " d.identity_name FROM steps s"
               " JOIN discs d ON d.fingerprint = s.fingerprint"
               " WHERE s.state = ? ORDER BY s.updated DESC")
        args: list = [state]
        if limit:
            sql += " LIMIT ?"
            args.append(limit)
        return list(self.db.query(sql, args))

    def open_work(self) -> list[dict]:
        """Steps of discs that are not finished, joined with their disc (for `status`).

        One query over the (kind, state) index: a catalog of 10 000 finished discs costs
        nothing here."""
        return list(self.db.query(
            "SELECT s.fingerprint, s.title, s.kind, s.position, s.state, s.error, s.progress,"
            " s.output, s.worker_pid, s.worker_host, s.heartbeat, d.label, d.identity_name"
            " FROM steps s JOIN discs d ON d.fingerprint = s.fingerprint"
            " WHERE s.fingerprint IN (SELECT DISTINCT fingerprint FROM steps"
            "   WHERE state != 'done' AND state != 'dismissed')"
            " ORDER BY s.fingerprint, s.title, s.position"))

    def summary(self) -> dict:
        counts = {f"{r['kind']}_{r['state']}": r["n"] for r in self.db.query(
            "SELECT kind, state, COUNT(*) AS n FROM steps GROUP BY kind, state")}
        return {"discs": self.db["discs"].count, "titles": self.db["titles"].count,
                "steps": counts}

    # -- rebuild ----------------------------------------------------------------------
    def clear(self) -> None:
        """Forget discs, titles and steps (before a rebuild); the history stays."""
        with self._tx():
            for table in ("steps", "titles", "discs", "drives"):
                self.db.execute(f"DELETE FROM {table}")

    def dump(self) -> dict:
        """Everything the markers can restore, in a stable order (for comparisons)."""
        skip = {"first_seen", "last_seen", "created", "updated", "id", "claimed_at",
                "heartbeat", "attempts", "worker_pid", "worker_host", "error", "progress",
                "runner", "candidates", "cause", "exit_code", "disc_number", "first_episode"}
        out = {}
        for table, order in (("discs", "fingerprint"), ("titles", "fingerprint, title"),
                             ("steps", "fingerprint, title, kind")):
            out[table] = [{k: v for k, v in r.items() if k not in skip}
                          for r in self.db[table].rows_where(order_by=order)]
        return out


def open_catalog(cfg) -> Catalog:
    """The configured catalog, its events going to the configured listeners (notify.py)."""
    from digitizer import notify

    return Catalog(cfg.path_of("catalog"), listener=notify.listener(cfg))
