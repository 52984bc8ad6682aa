"""`ninjait backup`, `ninjait backup verify|list` and `ninjait restore`."""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from pathlib import Path
from typing import Any, BinaryIO

from ninjait.backup import archive, service
from ninjait.backup.archive import ArchiveError
from ninjait.backup.service import BackupError
from ninjait.core import control, instance
from ninjait.core.db import SQLITE_FILE
from ninjait.core.errors import ServiceError
from ninjait.core.humanize import human_bytes
from ninjait.settings import Settings


def _fail(message: str) -> int:
    print(f"ninjait: {message}", file=sys.stderr)
    return 1


def _prompt(confirm: bool) -> str:
    if not sys.stdin.isatty():
        raise BackupError("no passphrase: give --passphrase-file FILE (or set backup_passphrase_file)")
    first = getpass.getpass("Backup passphrase: ")
    if confirm and first != getpass.getpass("Again: "):
        raise BackupError("the two passphrases differ")
    return first


def _passphrase(settings: Settings, args: argparse.Namespace, *, confirm: bool) -> str:
    if args.passphrase_file:
        return service.read_passphrase_file(Path(args.passphrase_file))
    configured = service.configured_passphrase(settings)
    if configured:
        return configured
    text = _prompt(confirm)
    try:
        archive.check_passphrase(text)
    except ArchiveError as exc:
        raise BackupError(str(exc)) from None
    return text


def cmd_backup(settings: Settings, args: argparse.Namespace) -> int:
    if args.no_encrypt and args.passphrase_file:
        return _fail("--no-encrypt and --passphrase-file exclude each other")
    if args.upload and (args.out == "-" or not settings.backup_s3_url):
        return _fail("--upload needs backup_s3_url set and a file to upload (not --out -)")
    try:
        return _backup(settings, args)
    except (BackupError, ArchiveError, control.ControlError, instance.InUse) as exc:
        return _fail(str(exc))
    except ServiceError as exc:
        return _fail(exc.message)


def _backup(settings: Settings, args: argparse.Namespace) -> int:
    data_dir = settings.data_dir
    if settings.backend == "sqlite" and not (data_dir / SQLITE_FILE).exists():
        raise BackupError(f"nothing to back up: {data_dir} holds no NinjaIT database (setting data_dir)")
    passphrase = None if args.no_encrypt else _passphrase(settings, args, confirm=True)
    started = time.time()
    running = instance.is_held(data_dir)
    if running and not control.available(data_dir):
        raise BackupError(f"data directory {data_dir} is in use by {instance.describe(data_dir)}; try again later")
    holder = None if running else instance.acquire(data_dir, "backup")
    runtime = None
    try:
        if not running:
            from ninjait.core import runtime as rt_mod

            runtime = rt_mod.start(settings, run_migrations=False)
        result: dict[str, Any] = {}

        def produce(out: BinaryIO) -> None:
            sink: Any = archive.EncryptingWriter(out, passphrase) if passphrase else out
            if running:
                # serve holds DuckDB (one process may open it): serve copies, we encrypt and write.
                result.update(control.call(data_dir, {"op": "backup.stream"}, sink))
            else:
                assert runtime is not None
                result.update(service.stream(runtime, sink))
            if passphrase:
                sink.finish()

        if args.out == "-":
            produce(sys.stdout.buffer)
            sys.stdout.buffer.flush()
            where, size = "standard output", None
        else:
            dest = Path(args.out) if args.out else settings.backup_directory / service.archive_name(
                started, args.label, bool(passphrase))
            if dest.exists():
                raise BackupError(f"{dest} exists; choose another --out")
            size = service.write_atomically(dest, produce)
            where = str(dest)
    finally:
        if runtime is not None:
            from ninjait.core import runtime as rt_mod

            rt_mod.stop()
        if holder is not None:
            holder.release()
    took = time.time() - started
    details = [f"schema {result.get('schema_version')}", "encrypted" if passphrase else "NOT encrypted",
               f"{took:.1f} s"]
    if size is not None:
        details.insert(0, human_bytes(size))
    print(f"backup written to {where} ({', '.join(details)})", file=sys.stderr if args.out == "-" else sys.stdout)
    database = result.get("database", {})
    if not database.get("included", True):
        print(f"warning: {database.get('note')}", file=sys.stderr)
    if result.get("skipped"):
        print(f"warning: left out (names no archive member may carry): {', '.join(result['skipped'])}",
              file=sys.stderr)
    if args.upload:
        return _upload(settings, Path(where))
    return 0


def _upload(settings: Settings, path: Path) -> int:
    from ninjait.backup import offsite, s3

    try:
        size, pruned = offsite.send(settings, path)
    except s3.S3Error as exc:
        return _fail(f"{exc} (the backup itself is written: {path})")
    print(f"uploaded to {settings.backup_s3_url} ({human_bytes(size)})"
          + (f"; deleted the older {', '.join(pruned)}" if pruned else ""))
    return 0


def cmd_offsite(settings: Settings, args: argparse.Namespace) -> int:
    from ninjait.backup import offsite

    try:
        found = offsite.list_remote(settings)
    except ServiceError as exc:
        return _fail(exc.message)
    return _print_backups(found, settings.backup_s3_url, lambda b: b["modified"])


def cmd_fetch(settings: Settings, args: argparse.Namespace) -> int:
    from ninjait.backup import offsite

    try:
        offsite.require_name(args.name)
        dest = Path(args.out) if args.out else Path.cwd() / args.name
        if dest.exists():
            return _fail(f"{dest} exists; choose another --out")
        size = offsite.fetch(settings, args.name, dest)
    except ServiceError as exc:
        return _fail(exc.message)
    print(f"downloaded {args.name} to {dest} ({human_bytes(size)}); check it with: ninjait backup verify {dest}")
    return 0


def _source(args: argparse.Namespace) -> Path:
    path = Path(args.file)
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    return path


def _passphrase_for(settings: Settings, args: argparse.Namespace, path: Path) -> str | None:
    if archive.kind_of(path) == "plain":
        return None
    return _passphrase(settings, args, confirm=False)


def cmd_verify(settings: Settings, args: argparse.Namespace) -> int:
    try:
        path = _source(args)
        result = service.verify(path, _passphrase_for(settings, args, path), Path(args.work_dir) if args.work_dir
                                else None)
    except (BackupError, ArchiveError) as exc:
        return _fail(str(exc))
    m = result.manifest
    print(f"ok: {path} is a complete NinjaIT {m.get('app_version')} backup of {m.get('created')} "
          f"(schema {m.get('schema_version')}, {'encrypted' if result.encrypted else 'not encrypted'})")
    for line in result.checks:
        print(f"  {line}")
    return 0


def cmd_list(settings: Settings, args: argparse.Namespace) -> int:
    return _print_backups(service.list_backups(settings), settings.backup_directory,
                          lambda b: "encrypted" if b["encrypted"] else "not encrypted")


def _print_backups(backups: list[dict[str, Any]], where: object, note: Any) -> int:
    if not backups:
        print(f"no backups in {where}")
    for b in backups:
        print(f"{b['name']}  {human_bytes(b['size'])}  {note(b)}")
    return 0


def cmd_restore(settings: Settings, args: argparse.Namespace) -> int:
    load_database = settings.backend == "postgresql" and not args.no_database
    try:
        path = _source(args)
        if load_database:
            service.check_empty_postgresql(settings.database_url)  # before anything changes
        outcome = service.restore(path, _passphrase_for(settings, args, path), settings.data_dir,
                                  replace=args.replace)
    except (BackupError, ArchiveError) as exc:
        return _fail(str(exc))
    m = outcome["manifest"]
    print(f"restored the backup of {m.get('created')} (NinjaIT {m.get('app_version')}, schema "
          f"{m.get('schema_version')}) into {outcome['target']}")
    for line in outcome["checks"]:
        print(f"  {line}")
    if outcome["kept"]:
        print(f"the previous data directory is kept at {outcome['kept']}; delete it once the restored "
              "appliance works")
    if outcome["postgresql_dump"] and load_database:
        try:
            service.load_postgresql(settings.database_url, Path(outcome["postgresql_dump"]))
        except BackupError as exc:
            return _fail(f"{exc}; the data directory is restored, the database is unchanged: load the dump with\n"
                         f"  pg_restore --no-owner --single-transaction --dbname <database_url> "
                         f"{outcome['postgresql_dump']}")
        print("loaded the PostgreSQL dump into the (empty) database of database_url")
    elif outcome["postgresql_dump"]:
        print("the PostgreSQL database was NOT changed: load the dump into an empty database with\n"
              f"  pg_restore --no-owner --dbname <database_url> {outcome['postgresql_dump']}")
    elif m.get("database", {}).get("backend") == "postgresql":
        print("this backup holds no PostgreSQL dump: restore the database with PostgreSQL's own tools")
    print("start the appliance to finish: it migrates the database if this release is newer")
    return 0


def add_commands(sub: argparse._SubParsersAction, add_settings_flags) -> dict[tuple[str, str | None], object]:  # type: ignore[type-arg]
    backup = sub.add_parser("backup", help="write a backup of the data directory (works while serving)",
                            description="write one archive with the databases, keys, certificates and settings; "
                                        "encrypted with a passphrase unless --no-encrypt")
    backup.add_argument("--out", help="archive to write ('-' for standard output); default: a new file in "
                                      "backup_dir")
    backup.add_argument("--passphrase-file", help="file holding the passphrase (default: backup_passphrase_file, "
                                                  "or a prompt)")
    backup.add_argument("--no-encrypt", action="store_true", help="write an unencrypted archive")
    backup.add_argument("--label", default="manual", type=_label, help="word added to the file name")
    backup.add_argument("--upload", action="store_true",
                        help="also upload the archive to the S3-compatible storage of backup_s3_url")
    add_settings_flags(backup)
    actions = backup.add_subparsers(dest="action", metavar="ACTION", parser_class=type(backup))
    verify = actions.add_parser("verify", help="check a backup completely without restoring it",
                                description="decrypt, check every checksum, open the databases and run "
                                            "PRAGMA integrity_check; nothing is left behind")
    verify.add_argument("file")
    verify.add_argument("--passphrase-file")
    verify.add_argument("--work-dir", help="where to unpack while checking (default: TMPDIR)")
    add_settings_flags(verify)
    listing = actions.add_parser("list", help="list the backups in backup_dir")
    add_settings_flags(listing)
    remote = actions.add_parser("offsite", help="list the backups in the S3-compatible storage of backup_s3_url")
    add_settings_flags(remote)
    fetch = actions.add_parser("fetch", help="download a backup from the S3-compatible storage of backup_s3_url",
                               description="download one archive (see `ninjait backup offsite`), to restore it "
                                           "with `ninjait restore FILE`")
    fetch.add_argument("name")
    fetch.add_argument("--out", help="file to write (default: the name, in the current directory)")
    add_settings_flags(fetch)

    restore = sub.add_parser("restore", help="restore a backup into the data directory (appliance stopped)",
                             description="verify a backup, unpack it beside the data directory and swap it in "
                                         "only when complete")
    restore.add_argument("file")
    restore.add_argument("--passphrase-file")
    restore.add_argument("--replace", action="store_true",
                         help="replace a data directory that is not empty (it is kept as "
                              "<data_dir>.before-restore-<time>)")
    restore.add_argument("--no-database", action="store_true",
                         help="PostgreSQL backend: do not load the backup's dump into database_url (it must be "
                              "empty); the dump is left in the data directory")
    add_settings_flags(restore)
    return {("backup", None): cmd_backup, ("backup", "verify"): cmd_verify, ("backup", "list"): cmd_list,
            ("backup", "offsite"): cmd_offsite, ("backup", "fetch"): cmd_fetch,
            ("restore", None): cmd_restore}


def _label(text: str) -> str:
    import re

    if not re.fullmatch(r"[a-z0-9-]{1,40}", text):
        raise argparse.ArgumentTypeError("a label is 1-40 lowercase letters, digits or dashes")
    return text
