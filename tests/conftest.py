"""Shared fixtures. NINJAIT_TEST_BACKEND=sqlite|postgresql picks the storage backend for the run."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ninjait.core import queue
from ninjait.core.db import Database, open_database
from ninjait.core.migrate import migrate
from ninjait.settings import Settings
from tests.support.appliance import Appliance

BACKEND = os.environ.get("NINJAIT_TEST_BACKEND", "sqlite")
if BACKEND not in {"sqlite", "postgresql"}:
    raise pytest.UsageError(f"NINJAIT_TEST_BACKEND must be sqlite or postgresql, not {BACKEND!r}")


def pytest_report_header(config: pytest.Config) -> str:
    return f"ninjait storage backend: {BACKEND}"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[object]:
    from tests.support.postgres import PostgresServer

    server = PostgresServer()
    yield server
    server.stop()


@pytest.fixture
def database_url(request: pytest.FixtureRequest) -> str:
    """Empty for SQLite; a fresh, empty PostgreSQL database for each test otherwise."""
    if BACKEND == "sqlite":
        return ""
    return request.getfixturevalue("pg_server").new_database()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def settings(data_dir: Path, database_url: str) -> Settings:
    return Settings(data_dir=data_dir, database_url=database_url)


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    database = open_database(settings)
    migrate(database)
    yield database
    database.close()


@pytest.fixture
def appliance(data_dir: Path, database_url: str) -> Iterator[Appliance]:
    app = Appliance(data_dir, database_url).start()
    yield app
    app.stop()


@pytest.fixture(autouse=True)
def _queue_in_memory() -> Iterator[None]:
    yield
    queue.huey.immediate = False
