"""Backups of the data directory: make, verify, restore, schedule, list, prune. No HTTP.

What a backup holds (``archive.py`` has the format):

* ``data/ninjait.db`` - SQLite through its online backup API, copied in one
  step from a separate read connection: one read transaction, so one
  committed state, while the writer goes on (WAL lets both run);
* ``data/analytics.duckdb`` - copied by monitoring inside the process that
  holds it, after the SQLite copy (see :func:`snapshot`);
* every other file of the data directory: keys, TLS certificate and key,
  ``ninjait.toml``, and whatever later domains keep there;
* ``postgresql.dump`` - with the PostgreSQL backend, a ``pg_dump`` custom-format
  dump when ``pg_dump`` is installed; otherwise the database is not in the
  archive and the manifest and the command say so.

Left out on purpose: the task queue (``queue.db``: replaying stale e-mails and
jobs after a restore does more harm than losing them; periodic work recreates
itself), the backups themselves, the lock file and control socket, and
temporary files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import re
import secrets
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import apsw

from ninjait import __version__
from ninjait.backup import archive
from ninjait.backup.archive import ArchiveError, Member
from ninjait.core import instance
from ninjait.core.control import SOCKET_FILE
from ninjait.core.db import SQLITE_FILE
from ninjait.core.errors import Conflict, NotFound
from ninjait.core.migrate import discover
from ninjait.core.queue import QUEUE_FILE
from ninjait.core.runtime import ANALYTICS_FILE, Runtime
from ninjait.settings import Settings

log = logging.getLogger("ninjait.backup")

NAME = re.compile(r"^ninjait-backup-(\d{8}T\d{6}Z)(?:-([a-z0-9-]{1,40}))?\.tar\.gz(\.enc)?$")
STAGING_DIR = "tmp"
PG_DUMP_MEMBER = "postgresql.dump"
PG_RESTORE_FILE = "postgresql-restore.dump"
# Left out of every backup; the databases are copied through their own engines instead of as files.
NOT_COPIED = {SQLITE_FILE, f"{SQLITE_FILE}-wal", f"{SQLITE_FILE}-shm", f"{SQLITE_FILE}-journal",
              ANALYTICS_FILE, f"{ANALYTICS_FILE}.wal", QUEUE_FILE, f"{QUEUE_FILE}-wal", f"{QUEUE_FILE}-shm",
              f"{QUEUE_FILE}-journal", instance.LOCK_FILE, SOCKET_FILE, STAGING_DIR, "backups", PG_RESTORE_FILE}
SPACE_MARGIN = 64 << 20
FACT_ERROR = "backup.last_error"

_running = threading.Lock()  # one backup at a time per process: each needs a full staging copy


class BackupError(Exception):
    """A backup, verification or restore failed; the message is one line for the operator."""


# --- making a backup ------------------------------------------------------------------------------------

def _copy_hashing(src: BinaryIO, dest: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as out:
        while block := src.read(1 << 20):
            digest.update(block)
            out.write(block)
            size += len(block)
    return size, digest.hexdigest()


def _hash_file(path: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


def _snapshot_sqlite(source: Path, dest: Path, busy_timeout_ms: int) -> tuple[int, dict[str, int], list[int]]:
    """Online backup API, all pages in one step: the copy holds one read transaction for its whole
    length, so it is one committed state. (Copying in several steps restarts whenever another
    connection writes in between, and under steady ingest it might never finish.)"""
    src = apsw.Connection(str(source), flags=apsw.SQLITE_OPEN_READWRITE)
    src.set_busy_timeout(busy_timeout_ms)
    out = apsw.Connection(str(dest))
    try:
        with out.backup("main", src, "main") as job:
            job.step(-1)
        if out.execute("PRAGMA quick_check").fetchall() != [("ok",)]:
            raise BackupError(f"the copy of {source} fails PRAGMA quick_check: the live database may be damaged")
        applied = sorted(r[0] for r in out.execute("SELECT version FROM schema_migrations"))
        version = applied[-1] if applied else 0
        tables = [r[0] for r in out.execute(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        counts = {t: out.execute(f'SELECT count(*) FROM "{t}"').fetchall()[0][0] for t in tables}
    finally:
        out.close()
        src.close()
    return int(version), counts, applied


def _pg_tool(tool: str, url: str, *args: str) -> None:
    """Run pg_dump or pg_restore against ``url``; raises BackupError with the tool's last line."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    if not shutil.which(tool):
        raise BackupError(f"{tool} is not installed (Debian: apt-get install postgresql-client)")
    params = conninfo_to_dict(url)
    env = dict(os.environ)
    # Not on the command line, where `ps` would show it.
    if "password" in params:
        env["PGPASSWORD"] = str(params.pop("password"))
    done = subprocess.run([tool, *args, "--dbname", make_conninfo(**params)], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise BackupError(f"{tool} failed: {reason}")


def _pg_dump(url: str, dest: Path) -> None:
    _pg_tool("pg_dump", url, "--format=custom", "--no-owner", "--file", str(dest))


def check_empty_postgresql(url: str) -> None:
    """Restore loads a dump only into a database without NinjaIT's tables: never over live data."""
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=10) as conn:
            found = conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
                                 ).fetchone()
    except psycopg.Error as exc:
        raise BackupError(f"cannot reach the PostgreSQL database of database_url: {str(exc).splitlines()[0]}"
                          ) from None
    if found and found[0]:
        raise BackupError("the PostgreSQL database of database_url is not empty: restore into a new, empty "
                          "database (createdb), or give --no-database and load the dump yourself")


def load_postgresql(url: str, dump: Path) -> None:
    """Load a backup's dump into an empty database in one transaction (all or nothing), then drop the file."""
    _pg_tool("pg_restore", url, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", str(dump))
    dump.unlink()


def _other_files(settings: Settings) -> tuple[list[tuple[str, Path]], list[str]]:
    """(archive path, file) for every plain file of the data directory we copy as is, and the
    names left out because no archive member may carry them (reported, never dropped silently)."""
    root = settings.data_dir.resolve()
    skip_dirs = {settings.backup_directory.resolve()}
    found: list[tuple[str, Path]] = []
    skipped: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if (here / d).resolve() not in skip_dirs
                             and not (here == root and d in NOT_COPIED) and not (here / d).is_symlink())
        for name in sorted(filenames):
            path = here / name
            rel = path.relative_to(root).as_posix()
            if here == root and name in NOT_COPIED:
                continue
            if name.endswith(".tmp") or path.is_symlink() or not path.is_file():
                continue  # half-written temporaries (crypto.write_private), links, sockets
            if not archive.safe_member_path(f"data/{rel}"):
                log.warning("file left out of the backup: unusual name", extra={"fields": {"path": rel}})
                skipped.append(rel)
                continue
            found.append((f"data/{rel}", path))
    return found, skipped


def schema_version_of(rt: Runtime) -> int:
    with rt.db.read() as c:
        return int(c.value("SELECT COALESCE(MAX(version), 0) FROM schema_migrations") or 0)


def snapshot(rt: Runtime, staging: Path) -> tuple[dict[str, Any], list[Member]]:
    """Copy everything a backup holds into ``staging``; returns the manifest and its members.

    Order matters: the relational database first, DuckDB second. The metrics mover appends to
    DuckDB and only then deletes the moved rows from the hot table, so a hot-table copy older
    than the DuckDB copy can only hold rows twice (harmless: DuckDB's watermark says which are
    moved), never miss rows that left the hot table after DuckDB was copied.
    """
    s = rt.settings
    members: list[Member] = []
    created_at = time.time()
    database: dict[str, Any]
    tables: dict[str, int] = {}
    data = staging / "data"
    data.mkdir(mode=0o700)
    if rt.db.backend == "sqlite":
        target = data / SQLITE_FILE
        version, tables, migrations = _snapshot_sqlite(s.data_dir / SQLITE_FILE, target, s.db_busy_timeout_ms)
        members.append(Member(f"data/{SQLITE_FILE}", target, *_hash_file(target)))
        database = {"included": True, "how": "SQLite online backup API", "backend": "sqlite"}
    else:
        version = schema_version_of(rt)
        with rt.db.read() as c:
            migrations = sorted(int(r["version"]) for r in c.all("SELECT version FROM schema_migrations"))
        if shutil.which("pg_dump"):
            target = staging / PG_DUMP_MEMBER
            _pg_dump(s.database_url, target)
            members.append(Member(PG_DUMP_MEMBER, target, *_hash_file(target)))
            database = {"included": True, "how": "pg_dump --format=custom", "backend": "postgresql"}
        else:
            database = {"included": False, "backend": "postgresql",
                        "note": "pg_dump is not installed: the PostgreSQL database is NOT in this backup; "
                                "back it up with PostgreSQL's own tools"}
    from ninjait.monitoring import service as monitoring

    import duckdb

    duck = data / ANALYTICS_FILE
    try:
        how = monitoring.snapshot_analytics(rt, duck)
    except duckdb.Error as exc:  # e.g. another process (a separate `ninjait worker`) holds the file
        raise BackupError(f"cannot copy the analytics database: {str(exc).splitlines()[0]}") from None
    if how is not None:
        members.append(Member(f"data/{ANALYTICS_FILE}", duck, *_hash_file(duck)))
    others, skipped = _other_files(s)
    for path_in_archive, source in others:
        copy = staging / path_in_archive
        copy.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with source.open("rb") as fh:
            size, digest = _copy_hashing(fh, copy)
        members.append(Member(path_in_archive, copy, size, digest, source.stat().st_mode & 0o700 or 0o600))
    manifest = {
        "format": archive.FORMAT, "app": "ninjait", "app_version": __version__,
        "schema_version": version, "migrations": migrations,
        "created_at": created_at, "created": dt.datetime.fromtimestamp(created_at, dt.UTC).isoformat(timespec="seconds"),
        "host": socket.gethostname(), "database": database, "analytics": how or "none",
        "excluded": sorted(NOT_COPIED - {"backups"}) + ["the backup directory"], "skipped": skipped,
        "tables": tables,
        "members": [{"path": m.path, "size": m.size, "sha256": m.sha256, "mode": m.mode} for m in members],
    }
    return manifest, members


def _staging(settings: Settings) -> Path:
    base = settings.data_dir / STAGING_DIR
    base.mkdir(mode=0o700, exist_ok=True)
    path = base / f"backup-{secrets.token_hex(6)}"
    path.mkdir(mode=0o700)
    return path


def clean_leftovers(settings: Settings) -> None:
    """Remove what a backup killed midway left behind: staging copies and unfinished archives."""
    base = settings.data_dir / STAGING_DIR
    if base.is_dir():
        for path in base.glob("backup-*"):
            shutil.rmtree(path, ignore_errors=True)
    folder = settings.backup_directory
    if folder.is_dir():
        for path in folder.glob(".ninjait-backup-*.partial"):
            path.unlink(missing_ok=True)


def archive_name(created_at: float, label: str, encrypted: bool) -> str:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(created_at))
    return f"ninjait-backup-{stamp}{'-' + label if label else ''}.tar.gz{'.enc' if encrypted else ''}"


def order_key(name: str) -> tuple[float, int]:
    """Newer sorts higher: the second in the name, then the number _unused_name added within that second."""
    m = NAME.match(name)
    label = (m.group(2) or "") if m else ""
    head, _, tail = label.rpartition("-")
    return _created_at(name), int(tail) if head and tail.isdigit() else 1


def _unused_name(folder: Path, created_at: float, label: str, encrypted: bool) -> Path:
    """Names have one-second resolution: a second backup within the same second gets a numbered label
    rather than replacing the first."""
    path = folder / archive_name(created_at, label, encrypted)
    n = 2
    while path.exists() or path.with_name(f".{path.name}.partial").exists():
        path = folder / archive_name(created_at, f"{label or 'backup'}-{n}", encrypted)
        n += 1
    return path


def stream(rt: Runtime, out: BinaryIO) -> dict[str, Any]:
    """Write an unencrypted backup to ``out`` (the control socket: the CLI encrypts on its side, so the
    passphrase never reaches this process). Returns a summary of the manifest."""
    if not _running.acquire(blocking=False):
        raise Conflict("a backup is already running")
    staging = _staging(rt.settings)
    try:
        manifest, members = snapshot(rt, staging)
        archive.write_archive(out, manifest, members, None)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        _running.release()
    return summary(manifest)


def summary(manifest: dict[str, Any]) -> dict[str, Any]:
    return {k: manifest[k] for k in ("app_version", "schema_version", "created_at", "database", "analytics",
                                     "skipped")}


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(dest: Path, produce: Callable[[BinaryIO], None]) -> int:
    """Write ``dest`` through a hidden partial file, fsync it, then rename: a reader (or a crash) sees
    the whole archive or none. Returns its size."""
    dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = dest.with_name(f".{dest.name}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            produce(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(partial, dest)
        _fsync_dir(dest.parent)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return dest.stat().st_size


def create(rt: Runtime, dest: Path | None = None, passphrase: str | None = None, label: str = "") -> dict[str, Any]:
    """Make a backup file in the backup directory (or at ``dest``). Blocks while another runs? No: refuses."""
    if not _running.acquire(blocking=False):
        raise Conflict("a backup is already running")
    started = time.time()
    staging = _staging(rt.settings)
    try:
        manifest, members = snapshot(rt, staging)
        path = dest or _unused_name(rt.settings.backup_directory, manifest["created_at"], label, bool(passphrase))
        size = write_atomically(path, lambda fh: archive.write_archive(fh, manifest, members, passphrase))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        _running.release()
    info = {**summary(manifest), "name": path.name, "path": str(path), "size": size, "encrypted": bool(passphrase),
            "seconds": round(time.time() - started, 2)}
    log.info("backup written", extra={"fields": {k: info[k] for k in ("path", "size", "encrypted", "seconds")}})
    return info


def read_passphrase_file(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8").strip("\r\n")
    except OSError as exc:
        raise BackupError(f"cannot read the passphrase file {path}: {exc.strerror}") from None
    try:
        archive.check_passphrase(text)
    except ArchiveError as exc:
        raise BackupError(f"{path}: {exc}") from None
    return text


def configured_passphrase(settings: Settings) -> str | None:
    return read_passphrase_file(settings.backup_passphrase_file) if settings.backup_passphrase_file else None


# --- reading a backup: verify and restore ---------------------------------------------------------------

@dataclass
class Extracted:
    root: Path
    manifest: dict[str, Any]
    encrypted: bool
    checks: list[str]


def _free_bytes(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def _extract(source: Path, passphrase: str | None, root: Path, *, restoring: bool) -> Extracted:
    """Unpack into the empty directory ``root`` (created here), checking every member, then open the
    databases. Raises BackupError; the caller removes ``root`` on failure."""
    try:
        fh = source.open("rb")
    except OSError as exc:
        raise BackupError(f"cannot read {source}: {exc.strerror}") from None
    with fh:
        try:
            reader = archive.Reader(fh, passphrase)
        except ArchiveError as exc:
            raise BackupError(str(exc)) from None
        manifest = reader.manifest
        known = {m.version for m in discover()}
        version = int(manifest.get("schema_version", 0))
        # Newer is: a higher version, or any migration this release does not have (numbers can be
        # filled in below the newest one, see core/migrate.py).
        unknown = sorted(set(manifest.get("migrations", [version] if version else [])) - known)
        if restoring and (version > max(known, default=0) or unknown):
            raise BackupError(f"this backup's database schema is version {version}, newer than this NinjaIT "
                              f"knows ({max(known, default=0)}"
                              f"{', missing migration ' + ', '.join(map(str, unknown)) if unknown else ''}): "
                              f"restore it with NinjaIT {manifest.get('app_version', '?')} or later")
        root.parent.mkdir(parents=True, exist_ok=True)
        free = _free_bytes(root.parent)
        if free < reader.total + SPACE_MARGIN:
            raise BackupError(f"not enough free space in {root.parent}: the backup needs {_mib(reader.total)} "
                              f"(+{_mib(SPACE_MARGIN)} margin), {_mib(free)} free")
        root.mkdir(mode=0o700)
        modes = {m["path"]: int(m.get("mode", 0o600)) for m in manifest["members"]}
        try:
            for path, size, digest, stream_ in reader.members():
                target = root / path
                target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                mode = modes[path]
                got_size, got = _copy_hashing(stream_, target)
                os.chmod(target, (mode & 0o700) or 0o600)
                if got_size != size or got != digest:
                    raise BackupError(f"{path}: checksum mismatch: the archive is damaged or was tampered with")
        except ArchiveError as exc:
            raise BackupError(str(exc)) from None
        except OSError as exc:
            if exc.errno in (28, 27, 122):  # ENOSPC, EFBIG, EDQUOT
                raise BackupError(f"ran out of space writing to {root.parent}: {exc.strerror}") from None
            raise
    checks = [f"{len(manifest['members'])} members, SHA-256 verified"]
    checks += _check_databases(root, manifest)
    return Extracted(root, manifest, reader.encrypted, checks)


def _mib(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB"


def _check_databases(root: Path, manifest: dict[str, Any]) -> list[str]:
    checks = []
    db = root / "data" / SQLITE_FILE
    if db.exists():
        try:
            con = apsw.Connection(str(db))
            try:
                result = [r[0] for r in con.execute("PRAGMA integrity_check")]
                version = con.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchall()[0][0]
            finally:
                con.close()
        except apsw.Error as exc:
            raise BackupError(f"the SQLite database in the backup cannot be opened: {exc}") from None
        if result != ["ok"]:
            raise BackupError(f"the SQLite database in the backup fails PRAGMA integrity_check: {result[0]}")
        if version != int(manifest.get("schema_version", -1)):
            raise BackupError(f"the database is at schema {version} but the manifest says "
                              f"{manifest.get('schema_version')}")
        checks.append(f"SQLite database: PRAGMA integrity_check ok, schema version {version}")
    duck = root / "data" / ANALYTICS_FILE
    if duck.exists():
        checks.append(_check_duckdb(duck))
    dump = root / PG_DUMP_MEMBER
    if dump.exists():
        if shutil.which("pg_restore"):
            done = subprocess.run(["pg_restore", "--list", str(dump)], capture_output=True, text=True)
            if done.returncode != 0:
                raise BackupError(f"the PostgreSQL dump in the backup is unreadable: {done.stderr.strip()[:200]}")
            checks.append("PostgreSQL dump: pg_restore --list ok")
        else:
            checks.append("PostgreSQL dump: present (pg_restore not installed: not opened)")
    elif manifest.get("database", {}).get("backend") == "postgresql":
        checks.append("PostgreSQL database: NOT in this backup (" + manifest["database"].get("note", "") + ")")
    return checks


def _check_duckdb(path: Path) -> str:
    import duckdb

    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise BackupError(f"the analytics database in the backup cannot be opened: {exc}") from None
    try:
        rows = 0
        tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = "
                                            "current_database() AND NOT temporary ORDER BY 1").fetchall()]
        for table in tables:
            # Hashing every column reads every block, and DuckDB verifies each block's checksum as it reads.
            got = con.execute(f'SELECT count(*), sum(hash(COLUMNS(*))) FROM "{table}"').fetchone()
            rows += int(got[0])
    except duckdb.Error as exc:
        raise BackupError(f"the analytics database in the backup is damaged: {exc}") from None
    finally:
        con.close()
    return f"DuckDB analytics: {len(tables)} tables, {rows} rows read"


def verify(source: Path, passphrase: str | None, work_dir: Path | None = None) -> Extracted:
    """Decrypt, check every checksum, open the databases; leaves nothing behind."""
    base = Path(work_dir) if work_dir else Path(os.environ.get("TMPDIR", "/tmp"))
    root = base / f"ninjait-verify-{secrets.token_hex(6)}"
    try:
        return _extract(source, passphrase, root, restoring=False)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def restore(source: Path, passphrase: str | None, target: Path, *, replace: bool = False) -> dict[str, Any]:
    """Restore into ``target``: unpack and verify in a new directory beside it, then swap.

    ``target`` must not exist, be empty, or (with ``replace``) be kept aside as
    ``<target>.before-restore-<time>``. Until the swap nothing in ``target`` changes; a failure
    before it removes the new directory and leaves everything as it was.
    """
    target = target.absolute()
    if target.exists() and not target.is_dir():
        raise BackupError(f"{target} exists and is not a directory")
    parent = target.parent
    if not parent.exists():
        raise BackupError(f"{parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise BackupError(f"cannot create directories in {parent} (permission denied)")
    holder, lock_was_there = None, (target / instance.LOCK_FILE).exists()
    if target.exists():
        try:
            # Held until the swap: no appliance can start on the directory while we work.
            holder = instance.acquire(target, "restore")
        except instance.InUse:
            raise BackupError(f"an appliance is running on {target} ({instance.describe(target)}): "
                              "stop it first") from None
    root = parent / f".{target.name}.restore-{secrets.token_hex(4)}"
    swapped = False
    try:
        occupied = target.exists() and any(p.name != instance.LOCK_FILE for p in target.iterdir())
        if occupied and not replace:
            raise BackupError(f"{target} is not empty: restore into a new directory, or give --replace to swap "
                              "it (the current one is kept beside it)")
        extracted = _extract(source, passphrase, root, restoring=True)
        new_data = root / "data"
        dump = root / PG_DUMP_MEMBER
        if dump.exists():
            os.replace(dump, new_data / PG_RESTORE_FILE)
        if os.geteuid() == 0:
            owner = (target if target.exists() else parent).stat()
            for dirpath, _, files in os.walk(root):
                os.chown(dirpath, owner.st_uid, owner.st_gid)
                for name in files:
                    os.chown(os.path.join(dirpath, name), owner.st_uid, owner.st_gid)
        kept = None
        if occupied:
            kept = parent / f"{target.name}.before-restore-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
            os.replace(target, kept)
        elif target.exists():
            (target / instance.LOCK_FILE).unlink(missing_ok=True)
            target.rmdir()
        try:
            os.replace(new_data, target)
        except OSError:
            if kept is not None:
                os.replace(kept, target)  # put the old one back
            raise
        swapped = True
        _fsync_dir(parent)
    except OSError as exc:
        raise BackupError(f"restore failed: {exc.strerror or exc} ({exc.filename or target})") from None
    finally:
        shutil.rmtree(root, ignore_errors=True)
        if holder is not None:
            if not swapped and not lock_was_there:
                (target / instance.LOCK_FILE).unlink(missing_ok=True)  # leave the directory as it was
            holder.release()
    pg = target / PG_RESTORE_FILE
    return {"target": str(target), "kept": str(kept) if kept else None, "manifest": extracted.manifest,
            "checks": extracted.checks, "postgresql_dump": str(pg) if pg.exists() else None}


# --- the backup directory: list, delete, schedule, prune --------------------------------------------------

def _created_at(name: str) -> float:
    m = NAME.match(name)
    assert m
    return dt.datetime.strptime(m.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC).timestamp()


def list_backups(settings: Settings) -> list[dict[str, Any]]:
    folder = settings.backup_directory
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        m = NAME.match(path.name)
        if not m or not path.is_file() or path.is_symlink():
            continue
        st = path.stat()
        found.append({"name": path.name, "size": st.st_size, "created_at": _created_at(path.name),
                      "label": m.group(2) or "", "encrypted": bool(m.group(3)), "_order": st.st_mtime_ns})
    # Names tell the second; the file's time orders backups made within the same one.
    found.sort(key=lambda b: (b["created_at"], b.pop("_order")), reverse=True)
    return found


def path_of(settings: Settings, name: str) -> Path:
    """The file of one listed backup; NotFound for anything else (no path tricks: names are matched)."""
    if not NAME.match(name):
        raise NotFound("no such backup")
    path = settings.backup_directory / name
    if not path.is_file() or path.is_symlink():
        raise NotFound("no such backup")
    return path


def delete(rt: Runtime, name: str, actor: dict[str, Any]) -> None:
    path_of(rt.settings, name).unlink()
    rt.bus.emit("backup.deleted", None, actor, object_type="backup", object_id=name)


def download(rt: Runtime, name: str, actor: dict[str, Any]) -> Path:
    """The file to send; the download is audited (a backup holds every tenant's data and the keys)."""
    path = path_of(rt.settings, name)
    rt.bus.emit("backup.downloaded", None, actor, object_type="backup", object_id=name)
    return path


def prune(settings: Settings) -> list[str]:
    removed = []
    for old in list_backups(settings)[settings.backup_keep:]:
        (settings.backup_directory / old["name"]).unlink(missing_ok=True)
        removed.append(old["name"])
    return removed


def _installed_at(rt: Runtime) -> float:
    with rt.db.read() as c:
        return float(c.value("SELECT COALESCE(MIN(applied_at), 0) FROM schema_migrations") or 0)


def status(rt: Runtime, now: float | None = None) -> dict[str, Any]:
    from ninjait.backup import offsite
    s = rt.settings
    now = time.time() if now is None else now
    backups = list_backups(s)
    last = backups[0]["created_at"] if backups else None
    since = last if last is not None else _installed_at(rt)
    with rt.db.read() as c:
        error = c.one("SELECT value, updated_at FROM appliance_facts WHERE key = ?", (FACT_ERROR,))
    overdue = bool(s.backup_schedule_hours) and now - since > s.backup_schedule_hours * 3600 + 600
    return {"schedule_hours": s.backup_schedule_hours, "keep": s.backup_keep, "directory": str(s.backup_directory),
            "encrypted": s.backup_passphrase_file is not None, "last_backup_at": last,
            "last_error": error["value"] if error else None, "last_error_at": error["updated_at"] if error else None,
            "overdue": overdue, "backups": backups, "offsite": offsite.status(rt)}


def set_fact(rt: Runtime, key: str, value: str | None) -> None:
    """Remember (or forget, with None) one line about backups for the status page, e.g. the last error."""
    def write(c: Any) -> None:
        if value is None:
            c.execute("DELETE FROM appliance_facts WHERE key = ?", (key,))
        else:
            c.execute("INSERT INTO appliance_facts (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) "
                      "DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                      (key, value[:1000], int(time.time())))

    rt.db.write(write)


def _record_error(rt: Runtime, message: str | None) -> None:
    set_fact(rt, FACT_ERROR, message)


def run(rt: Runtime, label: str, actor: dict[str, Any] | None = None) -> dict[str, Any]:
    """One backup with the configured passphrase into the backup directory, then pruning; the outcome is
    recorded for the status line and the audit log."""
    try:
        info = create(rt, passphrase=configured_passphrase(rt.settings), label=label)
        removed = prune(rt.settings)
    except Conflict:
        raise
    except Exception as exc:
        message = str(exc) or type(exc).__name__
        log.error("backup failed", exc_info=exc, extra={"fields": {"label": label}})
        _record_error(rt, message)
        rt.bus.emit("backup.failed", None, actor or {"user_id": None, "email": "system"}, object_type="backup",
                    object_id=label, summary={"error": message[:500]})
        raise
    _record_error(rt, None)
    from ninjait.backup import offsite  # it builds on this module

    if offsite.configured(rt.settings):
        info["offsite"] = offsite.upload(rt, Path(info["path"]), actor)
    rt.bus.emit("backup.created", None, actor or {"user_id": None, "email": "system"}, object_type="backup",
                object_id=info["name"], summary={"size": info["size"], "encrypted": info["encrypted"],
                                                  "pruned": removed, "seconds": info["seconds"]})
    return info


def run_scheduled(rt: Runtime, now: float | None = None) -> dict[str, Any] | None:
    """Make the scheduled backup when one is due: ``schedule_hours`` after the newest backup (or after
    the install). Safe to run twice or from several workers: a running backup makes the next call skip,
    and a finished one makes the next call find nothing due."""
    s = rt.settings
    if not s.backup_schedule_hours:
        return None
    current = status(rt, now)
    now = time.time() if now is None else now
    since = current["last_backup_at"] if current["last_backup_at"] is not None else _installed_at(rt)
    if now - since < s.backup_schedule_hours * 3600 - 300:
        return None
    try:
        return run(rt, "scheduled")
    except Conflict:
        return None


def before_migrations(settings: Settings, rt: Runtime, have: int, pending: list[int]) -> dict[str, Any]:
    """The automatic backup made before migrations change a database that holds data."""
    return create(rt, passphrase=configured_passphrase(settings), label=f"before-schema-{pending[-1]}")
