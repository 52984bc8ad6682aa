"""The storage engine against the real backend of this run (SQLite file or PostgreSQL server)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest

from ninjait.core.db import Conn, Database, DatabaseError, SqliteDatabase, open_database
from ninjait.core.migrate import Migration, MigrationError, SchemaTooNew, current_version, discover, migrate
from ninjait.settings import Settings
from tests.conftest import BACKEND

T = TypeVar("T")
sqlite_only = pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite-specific behaviour")


def make_table(db: Database) -> None:
    migrate(db, [*discover(), Migration(9001, "kv", "CREATE TABLE kv (id {{id}}, k TEXT UNIQUE NOT NULL, v BIGINT)")])


def test_it_writes_and_reads_back(db: Database) -> None:
    make_table(db)
    new_id = db.write(lambda c: c.value("INSERT INTO kv (k, v) VALUES (?, ?) RETURNING id", ("a", 1)))
    with db.read() as conn:
        assert conn.one("SELECT k, v FROM kv WHERE id = ?", (new_id,)) == {"k": "a", "v": 1}
        assert conn.all("SELECT k FROM kv WHERE k = ?", ("missing",)) == []
        assert conn.value("SELECT count(*) FROM kv WHERE k LIKE 'a%'") == 1


def test_a_failing_write_leaves_nothing_and_reports_the_error(db: Database) -> None:
    make_table(db)

    def half_then_fail(c: Conn) -> None:
        c.execute("INSERT INTO kv (k, v) VALUES (?, ?)", ("half", 1))
        c.execute("INSERT INTO kv (k, v) VALUES (?, ?)", ("half", 2))  # unique violation

    with pytest.raises(Exception):
        db.write(half_then_fail)
    with db.read() as conn:
        assert conn.value("SELECT count(*) FROM kv") == 0


def test_concurrent_writers_all_commit_and_one_failure_spares_its_neighbours(db: Database) -> None:
    make_table(db)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        for i in range(50):
            key = "dup" if (n, i) == (3, 7) else f"{n}-{i}"
            try:
                db.write(lambda c, key=key: c.execute("INSERT INTO kv (k, v) VALUES (?, ?)", (key, n)))
            except Exception as exc:
                errors.append(exc)

    db.write(lambda c: c.execute("INSERT INTO kv (k, v) VALUES ('dup', 0)"))
    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(errors) == 1
    with db.read() as conn:
        assert conn.value("SELECT count(*) FROM kv") == 8 * 50  # 399 new + the original 'dup'


def test_the_caller_hears_back_only_after_commit(db: Database) -> None:
    make_table(db)
    future = db.submit(lambda c: c.value("INSERT INTO kv (k, v) VALUES ('x', 5) RETURNING v"))
    assert future.result(timeout=10) == 5
    with db.read() as conn:  # another connection sees it: it is committed
        assert conn.value("SELECT v FROM kv WHERE k = 'x'") == 5


def in_own_event_loop(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """asyncio.run in a thread of its own: browser tests earlier in the run may leave a loop in this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(main())).result(timeout=60)


def test_coroutines_awaiting_writes_hear_back_after_commit_and_a_failure_spares_the_rest(db: Database) -> None:
    make_table(db)
    db.write(lambda c: c.execute("INSERT INTO kv (k, v) VALUES ('dup', 0)"))

    async def main() -> tuple[list[object], list[bool]]:
        def insert(key: str, n: int) -> Callable[[Conn], object]:
            return lambda c: c.value("INSERT INTO kv (k, v) VALUES (?, ?) RETURNING v", (key, n))

        async def read_back(n: int) -> bool:
            await db.awrite(insert(f"seen-{n}", n))
            with db.read() as conn:  # another connection: committed before the coroutine went on
                return conn.value("SELECT v FROM kv WHERE k = ?", (f"seen-{n}",)) == n

        def odd(c: Conn) -> None:
            raise StopIteration("not an ordinary exception")

        writes = [db.awrite(odd) if n == 11 else db.awrite(insert("dup" if n == 7 else f"a{n}", n)) for n in range(300)]
        results = await asyncio.gather(*writes, return_exceptions=True)
        return results, await asyncio.gather(*(read_back(n) for n in range(50)))

    results, seen = in_own_event_loop(main)
    assert [n for n, r in enumerate(results) if isinstance(r, Exception)] == [7, 11]
    assert isinstance(results[11], RuntimeError) and "StopIteration" in str(results[11])
    assert [r for r in results if not isinstance(r, Exception)] == [n for n in range(300) if n not in (7, 11)]
    assert all(seen)
    with db.read() as conn:
        assert conn.value("SELECT count(*) FROM kv") == 1 + 298 + 50


def test_a_coroutine_that_gives_up_does_not_disturb_other_writes(db: Database) -> None:
    make_table(db)
    gate = threading.Event()

    async def main() -> object:
        blocker = asyncio.ensure_future(asyncio.to_thread(db.write, lambda c: gate.wait(10)))
        await asyncio.sleep(0.05)  # the writer is busy: the next write waits in the queue
        abandoned = asyncio.ensure_future(db.awrite(lambda c: c.execute("INSERT INTO kv (k, v) VALUES ('gone', 1)")))
        kept = asyncio.ensure_future(db.awrite(lambda c: c.value("INSERT INTO kv (k, v) VALUES ('kept', 2) RETURNING v")))
        await asyncio.sleep(0.05)
        abandoned.cancel()
        gate.set()
        await blocker
        return await kept

    assert in_own_event_loop(main) == 2
    with db.read() as conn:
        assert conn.value("SELECT v FROM kv WHERE k = 'kept'") == 2
        if isinstance(db, SqliteDatabase):  # its single writer had not started the abandoned write: skipped
            assert conn.value("SELECT count(*) FROM kv WHERE k = 'gone'") == 0


@sqlite_only
def test_writes_are_grouped_into_shared_transactions(db: Database) -> None:
    make_table(db)
    assert isinstance(db, SqliteDatabase)
    commits = 0
    raw = db._writer_conn.raw

    def count_commit() -> bool:
        nonlocal commits
        commits += 1
        return False

    raw.set_commit_hook(count_commit)
    futures = [db.submit(lambda c, i=i: c.execute("INSERT INTO kv (k, v) VALUES (?, ?)", (f"k{i}", i)))
               for i in range(2000)]
    for f in futures:
        f.result(timeout=30)
    raw.set_commit_hook(None)
    assert 1 <= commits < 2000


def write_pages(db: Database, pages: int) -> None:
    """About ``pages`` new 4 KiB pages in one commit."""
    db.write(lambda c: c.executemany("INSERT INTO kv (k, v) VALUES (?, ?)",
                                     [(f"{i:06d}" + "x" * 3900, i) for i in range(pages)]))


def record_checkpoints(monkeypatch, only_in: str = "") -> list[str]:  # type: ignore[no-untyped-def]
    """The names of the threads that checkpoint from now on; with ``only_in``, the others try and do nothing."""
    from ninjait.core import db as db_module

    ran_in: list[str] = []
    checkpoint = db_module._checkpoint

    def recorded(conn) -> None:  # type: ignore[no-untyped-def]
        ran_in.append(threading.current_thread().name)
        if not only_in or ran_in[-1] == only_in:
            checkpoint(conn)

    monkeypatch.setattr(db_module, "_checkpoint", recorded)
    return ran_in


@sqlite_only
def test_checkpoints_run_beside_the_writer_and_fold_the_log_into_the_file(db: Database, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from ninjait.core.db import CHECKPOINT_PAGES

    make_table(db)
    ran_in = record_checkpoints(monkeypatch)
    assert isinstance(db, SqliteDatabase)
    before = db.path.stat().st_size
    write_pages(db, CHECKPOINT_PAGES + 500)
    for _ in range(100):
        if db.path.stat().st_size > before + CHECKPOINT_PAGES * 4096:
            break
        threading.Event().wait(0.05)
    assert db.path.stat().st_size > before + CHECKPOINT_PAGES * 4096  # the rows reached the file
    assert ran_in and set(ran_in) == {"ninjait-db-checkpoint"}  # not the writer: its commits never wait for it


@sqlite_only
def test_the_writer_checkpoints_itself_when_the_checkpointer_falls_behind(db: Database, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from ninjait.core import db as db_module

    make_table(db)
    # A checkpointer that never gets to it (a reader holding the log, a slow disk): the log must not grow on.
    ran_in = record_checkpoints(monkeypatch, only_in="ninjait-db-writer")
    monkeypatch.setattr(db_module, "WRITER_CHECKPOINT_PAGES", 1500)
    write_pages(db, 1600)
    assert "ninjait-db-writer" in ran_in


@sqlite_only
def test_under_a_stream_of_commits_the_log_starts_over_and_stays_bounded(db: Database, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # A checkpoint beside a busy writer never reaches the log's end; the writer's own, once the log is long,
    # does (the checkpointer has copied most of it), and the next write starts the log over.
    from ninjait.core import db as db_module

    make_table(db)
    assert isinstance(db, SqliteDatabase)
    monkeypatch.setattr(db_module, "WRITER_CHECKPOINT_PAGES", 3000)
    ran_in = record_checkpoints(monkeypatch)
    lengths = []
    for i in range(300):  # about 6,000 pages, 20 a commit
        db.write(lambda c, i=i: c.executemany("INSERT INTO kv (k, v) VALUES (?, ?)",
                                              [(f"{i:04d}-{j:02d}" + "x" * 3900, j) for j in range(20)]))
        lengths.append(db._wal_pages)
    # Bounded: about 50 pages a commit, and a writer's checkpoint that meets the checkpointer's is tried again.
    assert max(lengths) < 4000  # not 6,000
    assert any(later < earlier for earlier, later in zip(lengths, lengths[1:], strict=False))  # it started over
    assert {"ninjait-db-checkpoint", "ninjait-db-writer"} <= set(ran_in)


@sqlite_only
def test_sqlite_runs_in_wal_mode_with_foreign_keys(db: Database) -> None:
    with db.read() as conn:
        assert conn.value("PRAGMA journal_mode") == "wal"
        assert conn.value("PRAGMA foreign_keys") == 1


def test_foreign_keys_are_enforced(db: Database) -> None:
    migrate(db, [*discover(), Migration(9002, "fk", """
        CREATE TABLE parent (id {{id}});
        CREATE TABLE child (id {{id}}, parent_id BIGINT NOT NULL REFERENCES parent(id));
    """)])
    with pytest.raises(Exception):
        db.write(lambda c: c.execute("INSERT INTO child (parent_id) VALUES (42)"))


def test_readers_do_not_see_uncommitted_writes(db: Database) -> None:
    make_table(db)
    inside = threading.Event()
    release = threading.Event()

    def slow_write(c: Conn) -> None:
        c.execute("INSERT INTO kv (k, v) VALUES ('pending', 1)")
        inside.set()
        release.wait(10)

    future = db.submit(slow_write)
    assert inside.wait(10)
    with db.read() as conn:
        assert conn.value("SELECT count(*) FROM kv") == 0
    release.set()
    future.result(timeout=10)
    with db.read() as conn:
        assert conn.value("SELECT count(*) FROM kv") == 1


def test_migrations_are_recorded_and_not_applied_twice(db: Database) -> None:
    extra = Migration(9003, "once", "CREATE TABLE once_only (x BIGINT)")
    assert migrate(db, [*discover(), extra]) == [9003]
    assert migrate(db, [*discover(), extra]) == []
    with db.read() as conn:
        row = conn.one("SELECT name, checksum FROM schema_migrations WHERE version = 9003")
    assert row == {"name": "once", "checksum": extra.checksum}


def test_a_migration_numbered_below_the_newest_applied_one_is_still_applied(db: Database) -> None:
    later = Migration(9006, "later", "CREATE TABLE later_one (x BIGINT)")
    assert migrate(db, [*discover(), later]) == [9006]
    # A branch that kept 9005 free lands after 9006 was applied: 9005 still runs, once.
    landed = Migration(9005, "landed", "CREATE TABLE landed_late (x BIGINT)")
    assert migrate(db, [*discover(), landed, later]) == [9005]
    assert migrate(db, [*discover(), landed, later]) == []
    with db.read() as conn:
        assert conn.value("SELECT count(*) FROM landed_late") == 0


def test_a_broken_migration_is_rolled_back_whole(db: Database) -> None:
    bad = Migration(9004, "bad", "CREATE TABLE good_part (x BIGINT); CREATE TABLE broken (;")
    with pytest.raises(MigrationError, match="9004_bad"):
        migrate(db, [*discover(), bad])
    assert current_version(db) == discover()[-1].version
    with db.read() as conn:
        assert conn.value("SELECT count(*) FROM schema_migrations WHERE version = 9004") == 0
    # The table from the first statement must not exist: the migration is atomic.
    with pytest.raises(Exception):
        with db.read() as conn:
            conn.value("SELECT count(*) FROM good_part")


def test_it_refuses_a_database_newer_than_the_code(db: Database) -> None:
    migrate(db, [*discover(), Migration(9999, "future", "CREATE TABLE future (x BIGINT)")])
    with pytest.raises(SchemaTooNew, match="version 9999.*only knows up to"):
        migrate(db, discover())


@sqlite_only
def test_it_explains_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "ninjait.db").write_bytes(b"this is not a database file at all" * 200)
    with pytest.raises(DatabaseError, match="cannot open database"):
        open_database(Settings(data_dir=data))


def test_it_reports_its_size(db: Database) -> None:
    assert db.size_bytes() > 0
