"""Bad flags, settings and environments: one clear line, non-zero exit, nothing half-created."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BACKEND
from tests.support.appliance import ROOT, Appliance
from tests.support.net import free_port


def ninjait(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("NINJAIT_")}
    full.update(env or {})
    return subprocess.run([sys.executable, "-m", "ninjait", *args], cwd=ROOT, env=full, capture_output=True,
                          text=True, timeout=timeout)


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_it_rejects_an_unknown_flag(tmp_path: Path) -> None:
    r = ninjait("serve", "--data-dir", str(tmp_path / "d"), "--colour", "blue")
    assert r.returncode == 2 and "unrecognized arguments: --colour" in one_line(r)
    assert not (tmp_path / "d").exists()


def test_it_rejects_an_unknown_command() -> None:
    r = ninjait("serv")
    assert r.returncode == 2 and "invalid choice: 'serv'" in one_line(r)


def test_it_names_a_bad_setting_value(tmp_path: Path) -> None:
    r = ninjait("serve", "--data-dir", str(tmp_path / "d"), env={"NINJAIT_QUEUE_WORKERS": "lots"})
    assert r.returncode == 2
    assert "setting queue_workers (NINJAIT_QUEUE_WORKERS)" in one_line(r) and "whole number" in r.stderr
    assert not (tmp_path / "d").exists()


def test_a_port_in_use_is_explained_and_creates_nothing(tmp_path: Path) -> None:
    port = free_port()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen(1)
        r = ninjait("serve", "--data-dir", str(tmp_path / "d"), "--port", str(port))
    assert r.returncode == 1
    assert one_line(r) == f"ninjait: port {port} on 127.0.0.1 is already in use (setting port)"
    assert not (tmp_path / "d").exists()


def test_a_missing_certificate_file_is_explained(tmp_path: Path) -> None:
    r = ninjait("serve", "--data-dir", str(tmp_path / "d"), "--port", str(free_port()),
                "--tls-cert", str(tmp_path / "nope.pem"), "--tls-key", str(tmp_path / "nope.key"))
    assert r.returncode == 1 and "setting tls_cert: file" in one_line(r) and "does not exist" in r.stderr


def test_a_data_dir_that_is_a_file_is_explained(tmp_path: Path) -> None:
    target = tmp_path / "afile"
    target.write_text("x")
    r = ninjait("serve", "--data-dir", str(target), "--port", str(free_port()))
    assert r.returncode == 1 and str(target) in one_line(r)
    assert target.read_text() == "x"


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_an_unwritable_data_dir_is_explained(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    r = ninjait("serve", "--data-dir", str(locked / "d"), "--port", str(free_port()))
    assert r.returncode == 1 and "permission denied" in one_line(r)


@pytest.mark.skipif(BACKEND != "sqlite", reason="corrupts the SQLite file")
def test_a_corrupt_database_is_explained_and_left_alone(tmp_path: Path) -> None:
    data = tmp_path / "d"
    data.mkdir()
    junk = b"definitely not sqlite " * 500
    (data / "ninjait.db").write_bytes(junk)
    r = ninjait("serve", "--data-dir", str(data), "--port", str(free_port()))
    assert r.returncode == 1 and "cannot open database" in one_line(r)
    assert (data / "ninjait.db").read_bytes() == junk


def test_a_database_newer_than_the_code_is_refused(data_dir: Path, database_url: str) -> None:
    from ninjait.core.db import open_database
    from ninjait.core.migrate import Migration, discover, migrate
    from ninjait.settings import Settings

    data_dir.mkdir(parents=True)
    db = open_database(Settings(data_dir=data_dir, database_url=database_url))
    migrate(db, [*discover(), Migration(9999, "future", "CREATE TABLE from_the_future (x BIGINT)")])
    db.close()
    env = {"NINJAIT_DATABASE_URL": database_url} if database_url else {}
    r = ninjait("serve", "--data-dir", str(data_dir), "--port", str(free_port()), env=env)
    assert r.returncode == 1 and "schema is version 9999" in one_line(r)
    check = ninjait("check", "--data-dir", str(data_dir), env=env)
    assert check.returncode == 1 and "version 9999" in check.stdout


def test_an_unreachable_postgresql_is_explained(tmp_path: Path) -> None:
    url = f"postgresql://nobody@127.0.0.1:{free_port()}/x?connect_timeout=2"
    r = ninjait("migrate", "--data-dir", str(tmp_path / "d"), env={"NINJAIT_DATABASE_URL": url})
    assert r.returncode == 1 and "cannot connect to PostgreSQL" in one_line(r)


def test_every_command_has_help() -> None:
    for command in ("serve", "worker", "migrate", "check", "version"):
        r = ninjait(command, "--help")
        assert r.returncode == 0 and f"usage: ninjait {command}" in r.stdout


def test_version_and_check_and_migrate(data_dir: Path, database_url: str) -> None:
    env = {"NINJAIT_DATABASE_URL": database_url} if database_url else {}
    assert ninjait("version").stdout.startswith("ninjait 0.")
    first = ninjait("migrate", "--data-dir", str(data_dir), env=env)
    assert first.returncode == 0 and first.stdout.startswith("applied ")
    again = ninjait("migrate", "--data-dir", str(data_dir), env=env)
    assert again.returncode == 0 and "up to date" in again.stdout
    check = ninjait("check", "--data-dir", str(data_dir), env=env)
    assert check.returncode == 0 and check.stdout.startswith("ok:")


def test_a_second_appliance_on_the_same_port_is_refused(data_dir: Path, database_url: str) -> None:
    app = Appliance(data_dir, database_url).start()
    try:
        r = ninjait("serve", "--data-dir", str(data_dir.parent / "other"), "--port", str(app.port))
        assert r.returncode == 1 and "already in use" in one_line(r)
    finally:
        app.stop()
