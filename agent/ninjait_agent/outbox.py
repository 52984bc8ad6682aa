"""The agent's durable state: unsent batches, pending command results, seen nonces, counters.

A batch is written here before it is sent and deleted only after the server
acknowledged its sequence number, so a crash or an unreachable server loses
nothing; resending is safe because the server stores each (agent, seq) once.
The queue is bounded: when full, the oldest batches that hold only metrics
are dropped first; command results are never dropped.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

MAX_BATCHES = 2880  # a day at a 30-second interval


class Outbox:
    def __init__(self, path: Path, max_batches: int = MAX_BATCHES) -> None:
        self.max_batches = max_batches
        self._lock = threading.RLock()  # seal_batch calls back into get/put while holding it
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript("""
            CREATE TABLE IF NOT EXISTS batches (seq INTEGER PRIMARY KEY, body BLOB NOT NULL,
                                                has_results INTEGER NOT NULL, created_at REAL NOT NULL);
            CREATE TABLE IF NOT EXISTS results (command_id TEXT PRIMARY KEY, body TEXT NOT NULL, at REAL NOT NULL);
            CREATE TABLE IF NOT EXISTS nonces (nonce TEXT PRIMARY KEY, expires_at REAL NOT NULL);
            CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS check_results (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
        """)

    def _tx(self):  # type: ignore[no-untyped-def]
        return _Tx(self._db, self._lock)

    def get(self, key: str, default: str = "") -> str:
        with self._lock:
            row = self._db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def put(self, key: str, value: str) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE "
                       "SET value = excluded.value", (key, value))

    # --- results of commands ----------------------------------------------------------------------

    def add_result(self, command_id: str, result: dict) -> None:  # type: ignore[type-arg]
        with self._tx() as db:
            db.execute("INSERT INTO results (command_id, body, at) VALUES (?, ?, ?) ON CONFLICT (command_id) "
                       "DO UPDATE SET body = excluded.body, at = excluded.at",
                       (command_id, json.dumps(result), time.time()))

    def add_check_result(self, result: dict) -> None:  # type: ignore[type-arg]
        """A run of a check; like metrics, these may be dropped when the queue overflows."""
        with self._tx() as db:
            db.execute("INSERT INTO check_results (body) VALUES (?)", (json.dumps(result),))
            # Bounded: a check that runs while the server is away for days must not fill the disk.
            db.execute("DELETE FROM check_results WHERE id <= (SELECT max(id) FROM check_results) - 1000")

    # --- batches ------------------------------------------------------------------------------------

    def seal_batch(self, build) -> int:  # type: ignore[no-untyped-def]
        """Take the pending results, give them a sequence number and store the batch built from them."""
        with self._tx() as db:
            results = [json.loads(r[0]) for r in db.execute("SELECT body FROM results ORDER BY at")]
            checks = [json.loads(r[0]) for r in db.execute("SELECT body FROM check_results ORDER BY id")]
            seq = int((db.execute("SELECT value FROM state WHERE key = 'seq'").fetchone() or ("0",))[0]) + 1
            body = build(seq, results, checks)
            db.execute("INSERT INTO state (key, value) VALUES ('seq', ?) ON CONFLICT (key) DO UPDATE "
                       "SET value = excluded.value", (str(seq),))
            db.execute("INSERT INTO batches (seq, body, has_results, created_at) VALUES (?, ?, ?, ?)",
                       (seq, body, int(bool(results)), time.time()))
            db.execute("DELETE FROM results")
            db.execute("DELETE FROM check_results")
            over = db.execute("SELECT count(*) FROM batches").fetchone()[0] - self.max_batches
            if over > 0:
                db.execute("DELETE FROM batches WHERE seq IN (SELECT seq FROM batches WHERE has_results = 0 "
                           "ORDER BY seq LIMIT ?)", (over,))
            return seq

    def pending(self, limit: int = 50) -> list[tuple[int, bytes]]:
        with self._lock:
            return [(r[0], r[1]) for r in
                    self._db.execute("SELECT seq, body FROM batches ORDER BY seq LIMIT ?", (limit,))]

    def acknowledge(self, seq: int) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM batches WHERE seq = ?", (seq,))

    def count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM batches").fetchone()[0]

    # --- command nonces -------------------------------------------------------------------------------

    def claim_nonce(self, nonce: str, expires_at: float) -> bool:
        """True the first time a nonce is seen; kept until the command would have expired anyway."""
        with self._tx() as db:
            db.execute("DELETE FROM nonces WHERE expires_at < ?", (time.time() - 3600,))
            try:
                db.execute("INSERT INTO nonces (nonce, expires_at) VALUES (?, ?)", (nonce, expires_at))
            except sqlite3.IntegrityError:
                return False
        return True

    def close(self) -> None:
        with self._lock:
            self._db.close()


class _Tx:
    def __init__(self, db: sqlite3.Connection, lock: threading.RLock) -> None:
        self.db, self.lock = db, lock

    def __enter__(self) -> sqlite3.Connection:
        self.lock.acquire()
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, kind, value, tb) -> None:  # type: ignore[no-untyped-def]
        try:
            self.db.execute("COMMIT" if kind is None else "ROLLBACK")
        finally:
            self.lock.release()
