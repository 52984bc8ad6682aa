"""Off-site backups to an S3-compatible server on loopback (moto): the client, the appliance's upload after
each backup with retention, the failure path, the API and page, and the CLI's upload/offsite/fetch."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from ninjait.backup import s3
from ninjait.settings import Settings
from tests.conftest import BACKEND
from tests.integration.test_backup_cli import ninjait
from tests.support.agent import wait_until
from tests.support.appliance import Appliance
from tests.support.identity import Browser, seed_world
from tests.support.net import free_port
from tests.support.s3 import KEY_ID, SECRET, S3Server, s3_server  # noqa: F401  (the fixture)


def test_the_client_uploads_in_one_piece_and_in_parts_lists_downloads_and_deletes(
        s3_server: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    client = s3_server.bucket("client-test", "msp/one/")
    other = s3_server.bucket("client-test-2")
    try:
        small, large = tmp_path / "small.bin", tmp_path / "large.bin"
        small.write_bytes(b"backup bytes")
        large.write_bytes(os.urandom(11 << 20))
        monkeypatch.setattr(s3, "PART_SIZE", 5 << 20)  # three parts: 5 + 5 + 1 MiB
        assert client.upload(small, "a.bin") == 12
        assert client.upload(large, "b.bin") == 11 << 20
        assert sorted(o["name"] for o in client.list()) == ["a.bin", "b.bin"]
        assert {o["name"]: o["size"] for o in client.list()}["b.bin"] == 11 << 20
        assert other.list() == []  # prefixes and buckets keep apart
        copy = tmp_path / "copy.bin"
        with copy.open("wb") as fh:
            assert client.download("b.bin", fh) == 11 << 20
        assert hashlib.sha256(copy.read_bytes()).digest() == hashlib.sha256(large.read_bytes()).digest()
        client.delete("a.bin")
        assert [o["name"] for o in client.list()] == ["b.bin"]
        with pytest.raises(s3.S3Error, match="NoSuchKey"), (tmp_path / "x").open("wb") as fh:
            client.download("a.bin", fh)
        missing = s3.Client(s3.Target(s3_server.url, "no-such-bucket", "", "us-east-1", KEY_ID, SECRET))
        with pytest.raises(s3.S3Error, match="NoSuchBucket"):
            missing.upload(small, "a.bin")
        closed = s3.Client(s3.Target(f"http://127.0.0.1:{free_port()}", "b", "", "us-east-1", KEY_ID, SECRET))
        with pytest.raises(s3.S3Error, match="cannot reach"):
            closed.list()
    finally:
        client.close()
        other.close()


@pytest.fixture
def world_with_s3(tmp_path: Path, s3_server: S3Server, request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]  # noqa: F811
    database_url = request.getfixturevalue("pg_server").new_database() if BACKEND == "postgresql" else ""
    data = tmp_path / "data"
    data.mkdir()
    world = seed_world(Settings(data_dir=data, database_url=database_url))
    bucket = s3_server.bucket("appliance")
    env = s3_server.env("appliance", "site-1", keep=2)
    app = Appliance(data, database_url, env=env).start()
    root = Browser(app).login(world.people["root"])
    yield app, root, bucket, env, database_url
    root.close()
    app.stop()
    bucket.close()


def test_every_backup_goes_off_site_and_the_bucket_keeps_the_newest(world_with_s3) -> None:  # type: ignore[no-untyped-def]
    app, root, bucket, _, _ = world_with_s3
    names = []
    for n in range(3):
        assert root.post("/api/v1/backups").status_code == 202
        status = wait_until(lambda n=n: (s := root.get("/api/v1/backups").json())["offsite"]["last_uploaded"]
                            and len(s["backups"]) == n + 1 and s["offsite"]["last_uploaded"] == s["backups"][0]["name"]
                            and s, timeout=90, every=0.3)
        names.append(status["backups"][0]["name"])
    assert status["offsite"]["url"].endswith("/appliance/site-1/") and status["offsite"]["keep"] == 2
    assert status["offsite"]["last_error"] is None
    in_bucket = sorted(o["name"] for o in s3.Client(s3.Target(
        bucket.target.endpoint, "appliance", "site-1/", "us-east-1", KEY_ID, SECRET)).list())
    assert in_bucket == sorted(names[1:])  # the oldest went
    listed = root.get("/api/v1/backups/offsite")
    assert listed.status_code == 200 and [b["name"] for b in listed.json()] == names[:0:-1]
    page = root.get("/settings/backups").text
    assert "/appliance/site-1/" in page and names[-1] in page
    partial = root.get("/settings/backups/offsite")
    assert partial.status_code == 200 and names[-1] in partial.text
    # Only Super Admins manage backups.
    assert Browser(app).get("/api/v1/backups/offsite").status_code == 401


def test_an_unreachable_bucket_keeps_the_local_backup_and_says_why(tmp_path: Path, request: pytest.FixtureRequest,
                                                                   s3_server: S3Server) -> None:  # noqa: F811
    database_url = request.getfixturevalue("pg_server").new_database() if BACKEND == "postgresql" else ""
    data = tmp_path / "data"
    data.mkdir()
    world = seed_world(Settings(data_dir=data, database_url=database_url))
    env = {**s3_server.env("never-created"), "NINJAIT_BACKUP_S3_URL": f"{s3_server.url}/never-created"}
    app = Appliance(data, database_url, env=env).start()
    root = Browser(app).login(world.people["root"])
    try:
        root.post("/api/v1/backups")
        status = wait_until(lambda: (s := root.get("/api/v1/backups").json())["offsite"]["last_error"] and s,
                            timeout=90, every=0.3)
        assert len(status["backups"]) == 1 and status["last_error"] is None  # the backup itself is fine
        assert "NoSuchBucket" in status["offsite"]["last_error"]
        assert status["backups"][0]["name"] in status["offsite"]["last_error"]
        assert "The last off-site copy failed" in root.get("/settings/backups").text
        listed = root.get("/api/v1/backups/offsite")
        assert listed.status_code == 502 and "NoSuchBucket" in listed.text
    finally:
        root.close()
        app.stop()


def test_the_cli_uploads_lists_and_fetches(tmp_path: Path, s3_server: S3Server, request: pytest.FixtureRequest) -> None:  # noqa: F811
    database_url = request.getfixturevalue("pg_server").new_database() if BACKEND == "postgresql" else ""
    data = tmp_path / "data"
    data.mkdir()
    seed_world(Settings(data_dir=data, database_url=database_url))
    s3_server.bucket("cli").close()
    env = {**s3_server.env("cli"), "NINJAIT_DATA_DIR": str(data)}
    if database_url:
        env["NINJAIT_DATABASE_URL"] = database_url
    made = ninjait("backup", "--no-encrypt", "--upload", env=env)
    assert made.returncode == 0, made.stderr
    assert "uploaded to" in made.stdout
    listed = ninjait("backup", "offsite", env=env)
    assert listed.returncode == 0 and "ninjait-backup-" in listed.stdout, listed.stderr
    name = listed.stdout.split()[0]
    out = tmp_path / "fetched.tar.gz"
    fetched = ninjait("backup", "fetch", name, "--out", str(out), env=env)
    assert fetched.returncode == 0, fetched.stderr
    assert out.read_bytes() == (data / "backups" / name).read_bytes()
    assert ninjait("backup", "verify", str(out), env=env).returncode == 0

    again = ninjait("backup", "fetch", name, "--out", str(out), env=env)
    assert again.returncode != 0 and "exists" in again.stderr
    unknown = ninjait("backup", "fetch", "ninjait-backup-20200101T000000Z-manual.tar.gz", "--out",
                      str(tmp_path / "none"), env=env)
    assert unknown.returncode != 0 and "NoSuchKey" in unknown.stderr and not (tmp_path / "none").exists()
    bad = ninjait("backup", "fetch", "../../etc/passwd", env=env)
    assert bad.returncode != 0 and "not the name of a NinjaIT backup" in bad.stderr
    no_target = ninjait("backup", "--upload", "--no-encrypt", env={"NINJAIT_DATA_DIR": str(data), **(
        {"NINJAIT_DATABASE_URL": database_url} if database_url else {})})
    assert no_target.returncode != 0 and "--upload needs backup_s3_url" in no_target.stderr
    plain_http = ninjait("check", env={**env, "NINJAIT_BACKUP_S3_URL": "http://192.0.2.1/bucket"})
    assert plain_http.returncode != 0 and "plain http only to this machine" in plain_http.stderr
    no_keys = ninjait("check", env={**env, "NINJAIT_BACKUP_S3_SECRET_ACCESS_KEY": ""})
    assert no_keys.returncode != 0 and "needs backup_s3_access_key_id" in no_keys.stderr
