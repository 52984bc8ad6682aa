"""Backups through the API and Settings → Backups: start, list, download, delete; who may; the status line."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ninjait.backup import service
from ninjait.core import runtime as rt_mod
from ninjait.core.db import open_database
from ninjait.settings import Settings
from tests.conftest import BACKEND
from tests.support.agent import wait_until
from tests.support.appliance import ROOT
from tests.support.identity import Browser


@pytest.fixture(scope="module")
def root(world_app):  # type: ignore[no-untyped-def]
    app, world = world_app
    browser = Browser(app).login(world.people["root"])
    yield browser
    browser.close()


def database(app):  # type: ignore[no-untyped-def]
    return open_database(Settings(data_dir=app.data_dir, database_url=app.env.get("NINJAIT_DATABASE_URL", "")))


def wait_for_backup(browser: Browser, count: int) -> list[dict]:  # type: ignore[type-arg]
    return wait_until(lambda: len(b := browser.get("/api/v1/backups").json()["backups"]) >= count and b,
                      timeout=60, every=0.3)


def test_a_super_admin_starts_downloads_and_deletes_a_backup(world_app, root, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    app, _ = world_app
    started = root.post("/api/v1/backups")
    assert started.status_code == 202 and started.json()["queued"] is True
    backup = wait_for_backup(root, 1)[0]
    assert backup["name"].endswith("-manual.tar.gz") and backup["encrypted"] is False and backup["size"] > 0
    status = root.get("/api/v1/backups").json()
    assert status["encrypted"] is False and status["schedule_hours"] == 24 and status["last_error"] is None

    download = root.get(f"/api/v1/backups/{backup['name']}")
    assert download.status_code == 200 and download.headers["content-type"] == "application/octet-stream"
    assert download.content == (app.data_dir / "backups" / backup["name"]).read_bytes()
    copy = tmp_path / backup["name"]
    copy.write_bytes(download.content)
    checked = subprocess.run([sys.executable, "-m", "ninjait", "backup", "verify", str(copy)], cwd=ROOT,
                             capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stderr

    assert root.delete(f"/api/v1/backups/{backup['name']}").status_code == 204
    assert root.get(f"/api/v1/backups/{backup['name']}").status_code == 404
    db = database(app)
    try:
        with db.read() as c:
            actions = {r["action"] for r in c.all("SELECT action FROM audit_log WHERE object_type = 'backup' "
                                                   "AND object_id = ?", (backup["name"],))}
    finally:
        db.close()
    assert actions == {"backup.created", "backup.downloaded", "backup.deleted"}


def test_only_backup_files_are_served(world_app, root) -> None:  # type: ignore[no-untyped-def]
    app, _ = world_app
    folder = app.data_dir / "backups"
    folder.mkdir(exist_ok=True)
    link = folder / "ninjait-backup-20200101T000000Z-manual.tar.gz"
    link.symlink_to(app.data_dir / "keys" / "secret.key")
    try:
        for name in ("ninjait-backup-20200101T000000Z-manual.tar.gz", "ninjait.db", "..%2Fninjait.db",
                     "ninjait-backup-20200101T000000Z-nothere.tar.gz", "%2E%2E"):
            assert root.get(f"/api/v1/backups/{name}").status_code == 404, name
            assert root.delete(f"/api/v1/backups/{name}").status_code in (404, 405), name
    finally:
        link.unlink()


def test_tenant_admins_do_not_see_backups(world_app, root) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    admin = Browser(app).login(world.people["a-organizationadmin"])
    try:
        assert admin.get("/api/v1/backups").status_code == 403
        assert admin.get("/settings/backups").status_code == 403
        assert admin.post("/api/v1/backups").status_code == 403
        assert "/settings/backups" not in admin.get("/settings").text
        roles = admin.post("/api/v1/roles", json={"name": "Backupper", "permissions": ["backups.manage"]})
        assert roles.status_code == 400 and "Super Admins" in roles.json()["detail"]
    finally:
        admin.close()
    assert "/settings/backups" in root.get("/settings").text


def test_the_backups_page_starts_one_and_lists_it(world_app, root) -> None:  # type: ignore[no-untyped-def]
    page = root.get("/settings/backups")
    assert page.status_code == 200 and "Back up now" in page.text and 'data-testid="backup-unencrypted"' in page.text
    before = len(root.get("/api/v1/backups").json()["backups"])
    r = root.post("/settings/backups", data={"_csrf": root.csrf})
    assert r.status_code == 303 and r.headers["location"] == "/settings/backups?msg=backup-started"
    name = wait_for_backup(root, before + 1)[0]["name"]
    page = root.get("/settings/backups")
    assert f'href="/settings/backups/{name}/download"' in page.text
    assert root.get(f"/settings/backups/{name}/download").status_code == 200
    gone = root.post(f"/settings/backups/{name}/delete", data={"_csrf": root.csrf})
    assert gone.status_code == 303 and name not in root.get("/settings/backups").text


def test_the_dashboard_says_when_backups_are_overdue(world_app, root) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    for b in root.get("/api/v1/backups").json()["backups"]:
        root.delete(f"/api/v1/backups/{b['name']}")
    assert 'data-testid="backup-status"' not in root.get("/").text  # installed minutes ago: nothing due yet
    db = database(app)
    try:
        # As if installed two days ago, never backed up since.
        db.write(lambda c: c.execute("UPDATE schema_migrations SET applied_at = applied_at - 2 * 86400"))
        assert "No backup yet" in root.get("/").text
        tech = Browser(app).login(world.people["a-technician"])
        assert 'data-testid="backup-status"' not in tech.get("/").text  # appliance matters are for Super Admins
        tech.close()
        root.post("/api/v1/backups")
        wait_for_backup(root, 1)
        assert 'data-testid="backup-status"' not in root.get("/").text
    finally:
        db.write(lambda c: c.execute("UPDATE schema_migrations SET applied_at = applied_at + 2 * 86400"))
        db.close()


# --- the schedule (in-process: time is a parameter) -------------------------------------------------------

def test_scheduled_backups_come_when_due_are_encrypted_and_pruned(settings: Settings, tmp_path: Path) -> None:
    passphrase = tmp_path / "passphrase"
    passphrase.write_text("scheduled passphrase 123\n")
    rt = rt_mod.start(settings.replace(backup_keep=2, backup_passphrase_file=passphrase))
    try:
        now = time.time()
        assert service.run_scheduled(rt, now) is None  # just installed: the first is due a day later
        made = [service.run_scheduled(rt, now + 25 * 3600 + i) for i in range(3)]
        assert all(m is not None and m["encrypted"] and m["name"].endswith(".tar.gz.enc") for m in made)
        assert service.run_scheduled(rt) is None  # the newest backup is fresh: nothing due
        kept = service.list_backups(rt.settings)
        assert [b["name"] for b in kept] == [made[2]["name"], made[1]["name"]]  # keep 2, newest first
        assert len({m["name"] for m in made}) == 3  # same second, distinct names
        verified = service.verify(Path(made[2]["path"]), "scheduled passphrase 123")
        assert verified.manifest["schema_version"] > 0
        assert service.status(rt)["overdue"] is False
    finally:
        rt_mod.stop()


def test_a_failing_scheduled_backup_is_recorded_and_shown(settings: Settings, tmp_path: Path) -> None:
    rt = rt_mod.start(settings.replace(backup_passphrase_file=tmp_path / "missing"))
    try:
        with pytest.raises(service.BackupError):
            service.run_scheduled(rt, time.time() + 25 * 3600)
        state = service.status(rt)
        assert "cannot read the passphrase file" in state["last_error"] and state["backups"] == []
        rt.settings = rt.settings.replace(backup_passphrase_file=None)
        assert service.run_scheduled(rt, time.time() + 25 * 3600) is not None
        assert service.status(rt)["last_error"] is None
    finally:
        rt_mod.stop()


def test_the_schedule_is_registered_with_the_consumer() -> None:
    from ninjait.core.queue import huey
    from ninjait.wiring import load_tasks

    load_tasks()
    assert "ninjait.backup.tasks.scheduled_backup" in {huey._registry.task_to_string(t) for t in huey._registry._periodic_tasks}


@pytest.mark.skipif(BACKEND != "postgresql", reason="the PostgreSQL backend's archive")
def test_a_postgresql_backup_holds_a_dump_or_says_it_does_not(settings: Settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    rt = rt_mod.start(settings)
    try:
        made = service.create(rt)
        checked = service.verify(Path(made["path"]), None)
        assert made["database"]["included"] and "pg_restore --list ok" in " ".join(checked.checks)
        monkeypatch.setenv("PATH", "/nonexistent")
        bare = service.create(rt, label="nodump")
        assert bare["database"]["included"] is False and "NOT in this backup" in bare["database"]["note"]
    finally:
        rt_mod.stop()
    assert os.path.exists(made["path"])
