"""`ninjait backup`, `backup verify` and `restore` on the command line, and every kind of bad input.

Each refusal must be one clear line, a non-zero exit, and leave every directory as it was.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import resource
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from ninjait.backup import archive
from ninjait.core.db import open_database
from ninjait.core.migrate import discover, migrate
from ninjait.core.tls import ensure_certificate
from ninjait.settings import Settings
from tests.conftest import BACKEND
from tests.support.appliance import ROOT, Appliance
from tests.support.identity import seed_world

PASSPHRASE = "correct horse battery staple"


def ninjait(*args: str, env: dict[str, str] | None = None, limit_file_size: int | None = None,
            ) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("NINJAIT_")}
    full.update(env or {})

    def limit() -> None:
        if limit_file_size is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_file_size, limit_file_size))

    return subprocess.run([sys.executable, "-m", "ninjait", *args], cwd=ROOT, env=full, capture_output=True,
                          text=True, timeout=300, stdin=subprocess.DEVNULL, preexec_fn=limit)


def tree(path: Path) -> dict[str, str]:
    """Every file and directory below ``path`` with its content hash: "nothing changed" is equality."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(path):
        for d in dirnames:
            found[os.path.relpath(os.path.join(dirpath, d), path)] = "dir"
        for f in filenames:
            p = Path(dirpath, f)
            found[os.path.relpath(p, path)] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "other"
    return found


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> dict[str, object]:
    """A seeded data directory (no appliance running) and an encrypted backup of it."""
    base = tmp_path_factory.mktemp("cli")
    database_url = request.getfixturevalue("pg_server").new_database() if BACKEND == "postgresql" else ""
    data = base / "data"
    data.mkdir()
    seed_world(Settings(data_dir=data, database_url=database_url))
    ensure_certificate(Settings(data_dir=data))  # as `serve` makes it at its first start
    passphrase = base / "passphrase"
    passphrase.write_text(PASSPHRASE + "\n")
    env = {"NINJAIT_DATABASE_URL": database_url} if database_url else {}
    out = base / "good.tar.gz.enc"
    done = ninjait("backup", "--data-dir", str(data), "--passphrase-file", str(passphrase), "--out", str(out), env=env)
    assert done.returncode == 0, done.stderr
    return {"data": data, "passphrase": passphrase, "backup": out, "env": env, "url": database_url}


def refused(result: subprocess.CompletedProcess[str], words: str) -> None:
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ninjait: "), result.stderr
    assert words in lines[0], lines[0]


def test_it_backs_up_verifies_and_restores_without_a_running_appliance(made, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    checked = ninjait("backup", "verify", str(made["backup"]), "--passphrase-file", str(made["passphrase"]))
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith("ok: ") and "SHA-256 verified" in checked.stdout
    target = tmp_path / "restored"
    done = ninjait("restore", str(made["backup"]), "--passphrase-file", str(made["passphrase"]), "--data-dir",
                   str(target))
    assert done.returncode == 0, done.stderr
    for name in ("keys/secret.key", "tls/cert.pem", "tls/key.pem"):
        assert (target / name).read_bytes() == (made["data"] / name).read_bytes()
        assert (target / name).stat().st_mode & 0o777 == 0o600
    assert not (target / "queue.db").exists() and not (target / "backups").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["restored"]  # no work directory left beside it
    if BACKEND == "sqlite":
        assert ninjait("check", "--data-dir", str(target)).returncode == 0


def test_an_unencrypted_backup_needs_saying_so(made, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    refused(ninjait("backup", "--data-dir", str(made["data"]), "--out", str(tmp_path / "x"), env=made["env"]),
            "no passphrase")
    plain = tmp_path / "plain.tar.gz"
    done = ninjait("backup", "--data-dir", str(made["data"]), "--no-encrypt", "--out", str(plain), env=made["env"])
    assert done.returncode == 0 and "NOT encrypted" in done.stdout
    with tarfile.open(plain, "r:gz") as tar:
        assert tar.getnames()[0] == "manifest.json"
    assert ninjait("backup", "verify", str(plain)).returncode == 0


def damaged_copies(backup: Path, tmp_path: Path) -> dict[str, Path]:
    data = backup.read_bytes()
    truncated = tmp_path / "truncated.enc"
    truncated.write_bytes(data[:len(data) // 2])
    tampered = tmp_path / "tampered.enc"
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 1
    tampered.write_bytes(bytes(flipped))
    junk = tmp_path / "junk.enc"
    junk.write_bytes(os.urandom(5000))
    return {"truncated": truncated, "tampered": tampered, "junk": junk}


@pytest.mark.parametrize(("case", "words"), [("wrong-passphrase", "wrong passphrase"), ("truncated", "truncated"),
                                             ("tampered", "tampered"), ("junk", "not a NinjaIT backup"),
                                             ("missing", "no such file")])
def test_bad_archives_change_nothing(made, tmp_path: Path, case: str, words: str) -> None:  # type: ignore[no-untyped-def]
    files = tmp_path / "files"
    files.mkdir()
    bad = damaged_copies(made["backup"], files)
    source = {"wrong-passphrase": made["backup"], "missing": tmp_path / "nope.enc"}.get(case) or bad[case]
    passphrase = tmp_path / "pp"
    passphrase.write_text("not the right passphrase at all" if case == "wrong-passphrase" else PASSPHRASE)
    targets = tmp_path / "targets"
    (targets / "current").mkdir(parents=True)
    (targets / "current" / "ninjait.db").write_bytes(b"the current data")
    before = tree(targets)
    refused(ninjait("backup", "verify", str(source), "--passphrase-file", str(passphrase)), words)
    refused(ninjait("restore", str(source), "--passphrase-file", str(passphrase), "--data-dir",
                    str(targets / "current"), "--replace"), words)
    refused(ninjait("restore", str(source), "--passphrase-file", str(passphrase), "--data-dir",
                    str(targets / "new")), words)
    assert tree(targets) == before


def test_a_backup_from_a_newer_schema_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "future"
    data.mkdir()
    db = open_database(Settings(data_dir=data))
    migrate(db)
    db.write(lambda c: c.execute("INSERT INTO schema_migrations VALUES (9999, 'from_the_future', 'x', 0)"))
    db.close()
    out = tmp_path / "future.tar.gz"
    assert ninjait("backup", "--data-dir", str(data), "--no-encrypt", "--out", str(out)).returncode == 0
    target = tmp_path / "target"
    refused(ninjait("restore", str(out), "--data-dir", str(target)), "schema is version 9999, newer than")
    assert not target.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["future", "future.tar.gz"]


def test_a_target_that_is_not_empty_is_refused_unless_replaced(made, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "current"
    target.mkdir()
    (target / "something").write_text("precious")
    before = tree(tmp_path)
    args = ("restore", str(made["backup"]), "--passphrase-file", str(made["passphrase"]), "--data-dir", str(target))
    refused(ninjait(*args), "is not empty")
    assert tree(tmp_path) == before
    done = ninjait(*args, "--replace")
    assert done.returncode == 0, done.stderr
    kept = [p for p in tmp_path.iterdir() if p.name.startswith("current.before-restore-")]
    assert len(kept) == 1 and (kept[0] / "something").read_text() == "precious"
    assert (target / "keys" / "secret.key").exists() and "kept at" in done.stdout


def test_a_running_appliance_is_not_restored_over(made, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "live"
    data.mkdir()
    app = Appliance(data).start()  # the lock it holds is what restore looks for, whatever the backend
    try:
        before = tree(tmp_path)
        refused(ninjait("restore", str(made["backup"]), "--passphrase-file", str(made["passphrase"]),
                        "--data-dir", str(data), "--replace"), "an appliance is running")
        assert {k for k in tree(tmp_path) if not k.startswith("live")} == {k for k in before if not k.startswith("live")}
        assert not any(p.name.startswith(".live.restore") for p in tmp_path.iterdir())
    finally:
        app.stop()


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small file system needs root")
def test_a_full_disk_is_refused_before_writing(made, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    small = tmp_path / "small"
    small.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(small)]).returncode != 0:
        pytest.skip("cannot mount tmpfs here")
    try:
        refused(ninjait("restore", str(made["backup"]), "--passphrase-file", str(made["passphrase"]), "--data-dir",
                        str(small / "data")), "not enough free space")
        assert list(small.iterdir()) == []
    finally:
        subprocess.run(["umount", str(small)])


def test_running_out_of_space_midway_leaves_nothing_behind(made, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # A file size limit makes writes fail the way a full disk does: here, halfway through the largest member.
    with made["backup"].open("rb") as fh:
        largest = max(m["size"] for m in archive.Reader(fh, PASSPHRASE).manifest["members"])
    refused(ninjait("restore", str(made["backup"]), "--passphrase-file", str(made["passphrase"]), "--data-dir",
                    str(tmp_path / "data"), limit_file_size=largest // 2), "ran out of space")
    assert list(tmp_path.iterdir()) == []


def test_hostile_paths_in_an_archive_write_nothing_outside(tmp_path: Path) -> None:
    body = b"owned"
    listed = [{"path": "../../escaped", "size": len(body), "sha256": hashlib.sha256(body).hexdigest()}]
    manifest = json.dumps({"format": 1, "created_at": 0, "schema_version": 1, "members": listed}).encode()
    evil = tmp_path / "evil.tar.gz"
    with gzip.open(evil, "wb") as gz, tarfile.open(fileobj=gz, mode="w") as tar:
        for name, data in (("manifest.json", manifest), ("../../escaped", body)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    refused(ninjait("restore", str(evil), "--data-dir", str(work / "data")), "unsafe path")
    assert not (tmp_path / "escaped").exists() and list(work.iterdir()) == []


@pytest.mark.skipif(BACKEND != "sqlite", reason="builds an old schema in a SQLite file")
def test_migrating_a_database_that_holds_data_backs_it_up_first(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    db = open_database(Settings(data_dir=data))
    migrate(db, discover()[:2])  # the schema of an older release
    db.close()
    done = ninjait("migrate", "--data-dir", str(data))
    assert done.returncode == 0, done.stderr
    made = list((data / "backups").iterdir())
    assert len(made) == 1 and made[0].name.endswith(f"-before-schema-{discover()[-1].version}.tar.gz")
    assert f"backed up the database first: {made[0]}" in done.stdout
    checked = ninjait("backup", "verify", str(made[0]))
    assert checked.returncode == 0 and f"schema {discover()[1].version}," in checked.stdout
    again = ninjait("migrate", "--data-dir", str(data))
    assert "backed up" not in again.stdout and len(list((data / "backups").iterdir())) == 1
