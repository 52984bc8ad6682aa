"""Storage engine: one interface, two relational backends.

Store modules see only :class:`Conn` (``execute``/``all``/``one``/``value``)
and the :class:`Database` entry points:

* ``db.read()`` - a context manager lending a reader connection;
* ``db.write(fn)`` - runs ``fn(conn)`` in one transaction and returns its
  result only after the commit;
* ``await db.awrite(fn)`` - the same from async code.

SQL is written once, with ``?`` placeholders; the PostgreSQL backend rewrites
it (see ``dialect.py``). On SQLite every write goes through one writer thread,
which groups whatever writes are waiting into a single ``BEGIN IMMEDIATE``
transaction (each inside its own savepoint, so one failing write does not
undo its neighbours): many small writes share one fsync. A checkpointer
thread copies the write-ahead log into the file as it grows; the writer
only finishes a checkpoint (the tail, one sync) every 10,000 pages, so the
log can start over.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar

import apsw

from ninjait.settings import Settings

log = logging.getLogger("ninjait.db")
T = TypeVar("T")
Waiter = Future[Any] | asyncio.Future[Any]  # who waits for a write: a thread, or a coroutine

SQLITE_FILE = "ninjait.db"
# How many queued writes one group commit may take; bounds the time a caller
# waits behind others and the size of a rollback.
GROUP_COMMIT_MAX = 512
# The checkpointer copies the write-ahead log into the file each time it grows by this many pages (the point at
# which SQLite's automatic checkpoint made the writer copy and sync the whole log). A checkpoint beside a busy
# writer never reaches the log's end, and the log starts over only after one that does: the writer runs that
# one after a commit once the log reaches WRITER_CHECKPOINT_PAGES, copying the little the checkpointer left.
CHECKPOINT_PAGES = 1000
WRITER_CHECKPOINT_PAGES = 10 * CHECKPOINT_PAGES
WAL_SIZE_LIMIT = 64 * 2**20  # the log file is cut back to this when it starts over after a burst


class DatabaseError(Exception):
    """The database cannot be opened or used; the message says why."""


class Conn(Protocol):
    backend: str

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None: ...
    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...
    def all(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]: ...
    def one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None: ...
    def value(self, sql: str, params: Sequence[Any] = ()) -> Any: ...
    def script(self, sql: str) -> None: ...


class Database(Protocol):
    backend: str

    def read(self) -> Any: ...
    def write(self, fn: Callable[[Conn], T]) -> T: ...
    def submit(self, fn: Callable[[Conn], T]) -> Future[T]: ...
    def ping(self) -> None: ...
    def size_bytes(self) -> int: ...
    def close(self) -> None: ...


class SqliteConn:
    backend = "sqlite"
    __slots__ = ("raw",)

    def __init__(self, raw: apsw.Connection) -> None:
        self.raw = raw

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.raw.execute(sql, params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.raw.executemany(sql, rows)

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cur = self.raw.execute(sql, params)
        try:
            cols = [d[0] for d in cur.get_description()]
        except apsw.ExecutionCompleteError:
            return []
        return [dict(zip(cols, row)) for row in cur]

    def one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        rows = self.all(sql, params)
        return rows[0] if rows else None

    def value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        for row in self.raw.execute(sql, params):
            return row[0]
        return None

    def script(self, sql: str) -> None:
        self.raw.execute(sql)


def _open_sqlite(path: Path, busy_timeout_ms: int, *, reader: bool) -> apsw.Connection:
    try:
        raw = apsw.Connection(str(path))
        raw.set_busy_timeout(busy_timeout_ms)
        if not reader:
            mode = raw.execute("PRAGMA journal_mode=WAL").fetchall()[0][0]
            if mode != "wal":
                raise DatabaseError(f"{path}: cannot switch to WAL mode (got {mode})")
        # FULL: an acknowledged write survives power loss, not just a crash;
        # group commit keeps the fsync cost per write small.
        raw.execute("PRAGMA synchronous=FULL")
        raw.execute("PRAGMA foreign_keys=ON")
        if reader:
            raw.execute("PRAGMA query_only=ON")
        # Touch the schema so a file that is not a database fails here, not later.
        raw.execute("SELECT count(*) FROM sqlite_schema").fetchall()
    except apsw.Error as exc:
        raise DatabaseError(f"cannot open database {path}: {exc}") from None
    return raw


class SqliteDatabase:
    backend = "sqlite"

    def __init__(self, path: Path, *, readers: int = 4, busy_timeout_ms: int = 5000) -> None:
        self.path = path
        self._writer_conn = SqliteConn(_open_sqlite(path, busy_timeout_ms, reader=False))
        self._readers: queue.SimpleQueue[SqliteConn] = queue.SimpleQueue()
        self._all_readers = [
            SqliteConn(_open_sqlite(path, busy_timeout_ms, reader=True)) for _ in range(readers)
        ]
        for conn in self._all_readers:
            self._readers.put(conn)
        self._jobs: queue.SimpleQueue[tuple[Callable[[Conn], Any], Waiter] | None] = (
            queue.SimpleQueue()
        )
        self._closed = False
        self._wal_pages = 0
        self._checkpoint_due = threading.Event()
        self._writer_conn.raw.set_wal_hook(self._after_commit)  # replaces SQLite's automatic checkpoint
        self._writer_conn.raw.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}").fetchall()
        self._checkpoint_conn = _open_sqlite(path, busy_timeout_ms, reader=False)
        self._writer = threading.Thread(target=self._write_loop, name="ninjait-db-writer", daemon=True)
        self._writer.start()
        self._checkpointer = threading.Thread(target=self._checkpoint_loop, name="ninjait-db-checkpoint",
                                              daemon=True)
        self._checkpointer.start()

    @contextmanager
    def read(self) -> Iterator[SqliteConn]:
        if threading.current_thread() is self._writer:
            # Inside a write: read your own uncommitted changes.
            yield self._writer_conn
            return
        conn = self._readers.get()
        try:
            yield conn
        finally:
            self._readers.put(conn)

    def submit(self, fn: Callable[[Conn], T]) -> Future[T]:
        if self._closed:
            raise DatabaseError("database is closed")
        fut: Future[T] = Future()
        self._jobs.put((fn, fut))
        return fut

    def write(self, fn: Callable[[Conn], T]) -> T:
        if threading.current_thread() is self._writer:
            return self._run_nested(fn)
        return self.submit(fn).result()

    async def awrite(self, fn: Callable[[Conn], T]) -> T:
        # An asyncio future, settled on its loop once per group commit (see _deliver): cheaper per call than a
        # concurrent Future wrapped for the loop, which wakes the loop once per write.
        if self._closed:
            raise DatabaseError("database is closed")
        fut: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._jobs.put((fn, fut))
        return await fut

    def _run_nested(self, fn: Callable[[Conn], T]) -> T:
        raw = self._writer_conn.raw
        raw.execute("SAVEPOINT nested")
        try:
            result = fn(self._writer_conn)
        except BaseException:
            raw.execute("ROLLBACK TO nested")
            raw.execute("RELEASE nested")
            raise
        raw.execute("RELEASE nested")
        return result

    def _write_loop(self) -> None:
        raw = self._writer_conn.raw
        while True:
            job = self._jobs.get()
            if job is None:
                return
            batch = [job]
            while len(batch) < GROUP_COMMIT_MAX:
                try:
                    nxt = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._jobs.put(None)  # finish this batch, then stop
                    break
                batch.append(nxt)
            self._commit_batch(raw, batch)

    def _commit_batch(self, raw: apsw.Connection, batch: list[tuple[Callable[[Conn], Any], Waiter]]) -> None:
        outcomes: list[tuple[Waiter, bool, Any]] = []
        try:
            raw.execute("BEGIN IMMEDIATE")
        except apsw.Error as exc:
            _deliver([(fut, False, DatabaseError(f"cannot start a write: {exc}")) for _, fut in batch
                      if _start(fut)])
            return
        for fn, fut in batch:
            if not _start(fut):
                continue
            raw.execute("SAVEPOINT job")
            try:
                result = fn(self._writer_conn)
            except BaseException as exc:  # handed to the caller, never swallowed
                raw.execute("ROLLBACK TO job")
                raw.execute("RELEASE job")
                outcomes.append((fut, False, exc))
            else:
                raw.execute("RELEASE job")
                outcomes.append((fut, True, result))
        try:
            raw.execute("COMMIT")
        except apsw.Error as exc:
            if raw.in_transaction:
                raw.execute("ROLLBACK")
            _deliver([(fut, False, DatabaseError(f"commit failed: {exc}")) for fut, _, _ in outcomes])
            return
        _deliver(outcomes)  # callers hear back only after the commit
        if self._wal_pages >= WRITER_CHECKPOINT_PAGES:  # reach the log's end so that it can start over
            _checkpoint(raw)

    def _after_commit(self, conn: apsw.Connection, name: str, pages: int) -> int:
        """SQLite's WAL hook, in the writer after each commit: ``pages`` is the log's length."""
        self._wal_pages = pages
        if pages >= CHECKPOINT_PAGES:
            self._checkpoint_due.set()
        return apsw.SQLITE_OK

    def _checkpoint_loop(self) -> None:
        while not self._closed:
            if self._checkpoint_due.wait(1.0) and not self._closed:
                self._checkpoint_due.clear()
                _checkpoint(self._checkpoint_conn)
                time.sleep(0.05)  # at most 20 a second while the log grows fast

    def ping(self) -> None:
        with self.read() as conn:
            conn.value("SELECT 1")

    def size_bytes(self) -> int:
        total = 0
        for suffix in ("", "-wal"):
            p = Path(str(self.path) + suffix)
            if p.exists():
                total += p.stat().st_size
        return total

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._jobs.put(None)
        self._writer.join(timeout=30)
        self._checkpoint_due.set()
        self._checkpointer.join(timeout=30)
        self._checkpoint_conn.close()
        for conn in [self._writer_conn, *self._all_readers]:
            conn.raw.close()


def _checkpoint(conn: apsw.Connection) -> None:
    """A PASSIVE checkpoint: copies what no reader still needs into the file, never waits for or blocks a write."""
    try:
        conn.wal_checkpoint(mode=apsw.SQLITE_CHECKPOINT_PASSIVE)
    except apsw.BusyError:  # the other thread is checkpointing: it does the work
        pass
    except apsw.Error as exc:  # the log is still whole; a later commit asks again
        log.warning("WAL checkpoint failed: %s", exc)


def _start(fut: Waiter) -> bool:
    """False when the caller gave up before the write started: skip it."""
    if isinstance(fut, Future):
        return fut.set_running_or_notify_cancel()
    return not fut.cancelled()  # read across threads: at worst a write whose caller just left still runs


def _settle(outcomes: list[tuple[Waiter, bool, Any]]) -> None:
    for fut, ok, value in outcomes:
        if fut.cancelled():
            continue
        if not ok and isinstance(value, StopIteration):  # an asyncio future refuses it: it would end the awaiter
            value = RuntimeError(f"the write raised {value!r}")
        try:
            if ok:
                fut.set_result(value)
            else:
                fut.set_exception(value)
        except Exception:  # one odd outcome must not leave the rest of the commit's callers waiting
            log.exception("a write's outcome could not be handed to its caller")


def _deliver(outcomes: list[tuple[Waiter, bool, Any]]) -> None:
    """Settle the writes of one group commit: concurrent futures here, asyncio futures on their own loop,
    with one wake-up per loop instead of one per write."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Waiter, bool, Any]]] = {}
    plain = []
    for outcome in outcomes:
        if isinstance(outcome[0], Future):
            plain.append(outcome)
        else:
            by_loop.setdefault(outcome[0].get_loop(), []).append(outcome)
    _settle(plain)
    for loop, settled in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle, settled)
        except RuntimeError:  # the loop closed while the write ran: nobody is waiting any more
            pass


def open_database(settings: Settings) -> Database:
    """Open the backend the settings choose. Does not migrate."""
    if settings.backend == "postgresql":
        from ninjait.core.pg import PostgresDatabase

        return PostgresDatabase(settings.database_url, max_size=settings.db_readers + 4)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteDatabase(
        settings.data_dir / SQLITE_FILE,
        readers=settings.db_readers,
        busy_timeout_ms=settings.db_busy_timeout_ms,
    )
