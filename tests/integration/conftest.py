from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ninjait.settings import Settings
from tests.support.appliance import Appliance
from tests.support.identity import Browser, World, seed_world


@pytest.fixture(scope="module")
def world_app(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[tuple[Appliance, World]]:
    """One appliance per test module with two seeded tenants (A and B); a module's APPLIANCE_ENV adds settings."""
    from tests.conftest import BACKEND

    database_url = request.getfixturevalue("pg_server").new_database() if BACKEND == "postgresql" else ""
    data_dir = tmp_path_factory.mktemp("world") / "data"
    data_dir.mkdir(parents=True)
    world = seed_world(Settings(data_dir=data_dir, database_url=database_url))
    app = Appliance(data_dir, database_url, env=getattr(request.module, "APPLIANCE_ENV", None)).start()
    yield app, world
    app.stop()


@pytest.fixture(scope="module")
def admin(world_app: tuple[Appliance, World]) -> Iterator[Browser]:
    """Tenant A's Organization Admin, signed in (no MFA), for the module."""
    app, world = world_app
    browser = Browser(app).login(world.people["a-organizationadmin"])
    yield browser
    browser.close()
