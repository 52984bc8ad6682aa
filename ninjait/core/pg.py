"""PostgreSQL backend (psycopg 3) behind the same interface as SQLite."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from ninjait.core.db import DatabaseError
from ninjait.core.dialect import to_postgres

T = TypeVar("T")


class PgConn:
    backend = "postgresql"
    __slots__ = ("raw",)

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.raw = raw

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.raw.execute(to_postgres(sql), params or None)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self.raw.cursor() as cur:
            cur.executemany(to_postgres(sql), rows)

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self.raw.cursor(row_factory=dict_row) as cur:
            cur.execute(to_postgres(sql), params or None)
            return cur.fetchall() if cur.description else []

    def one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        rows = self.all(sql, params)
        return rows[0] if rows else None

    def value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with self.raw.cursor() as cur:
            cur.execute(to_postgres(sql), params or None)
            row = cur.fetchone() if cur.description else None
            return row[0] if row else None

    def script(self, sql: str) -> None:
        # No parameters: psycopg sends it as one simple query, many statements allowed.
        self.raw.execute(sql.encode())


class PostgresDatabase:
    backend = "postgresql"

    def __init__(self, url: str, *, max_size: int = 8) -> None:
        self.url = url
        try:
            # One plain connection first: its error says what is wrong (refused,
            # bad password, no such database) where the pool would only time out.
            psycopg.connect(url, connect_timeout=5).close()
        except psycopg.Error as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DatabaseError(f"cannot connect to PostgreSQL: {reason}") from None
        try:
            self._pool = ConnectionPool(url, min_size=1, max_size=max_size, open=True, timeout=10)
            self._pool.wait(timeout=10)
        except Exception as exc:  # psycopg_pool raises several types here
            raise DatabaseError(f"cannot connect to PostgreSQL: {exc}") from None
        self._executor = ThreadPoolExecutor(max_workers=max_size, thread_name_prefix="ninjait-pg")

    @contextmanager
    def read(self) -> Iterator[PgConn]:
        with self._pool.connection() as raw:
            yield PgConn(raw)

    def write(self, fn: Callable[[PgConn], T]) -> T:
        with self._pool.connection() as raw:
            with raw.transaction():
                return fn(PgConn(raw))

    def submit(self, fn: Callable[[PgConn], T]) -> Future[T]:
        return self._executor.submit(self._write_for_future, fn)

    def _write_for_future(self, fn: Callable[[PgConn], T]) -> T:
        try:
            return self.write(fn)
        except StopIteration as exc:  # an asyncio future refuses it (awrite): its awaiter would never wake
            raise RuntimeError(f"the write raised {exc!r}") from None

    async def awrite(self, fn: Callable[[PgConn], T]) -> T:
        return await asyncio.wrap_future(self.submit(fn))

    def ping(self) -> None:
        with self.read() as conn:
            conn.value("SELECT 1")

    def size_bytes(self) -> int:
        with self.read() as conn:
            return int(conn.value("SELECT pg_database_size(current_database())"))

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self._pool.close()
