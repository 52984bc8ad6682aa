"""Pre-flight checks (`ninjait check`) and one-line explanations of start-up failures."""

from __future__ import annotations

import os
from pathlib import Path

from ninjait.core.db import SQLITE_FILE, DatabaseError, open_database
from ninjait.core.migrate import MigrationError, check_not_newer, discover
from ninjait.core.tls import TlsError, ensure_certificate
from ninjait.settings import Settings, SettingsError


def _data_dir_problems(path: Path) -> list[str]:
    if path.exists():
        if not path.is_dir():
            return [f"data directory {path} exists but is not a directory (setting data_dir)"]
        if not os.access(path, os.R_OK | os.W_OK | os.X_OK):
            return [f"data directory {path} is not readable and writable by this user (setting data_dir)"]
        return []
    parent = path.resolve().parent
    while not parent.exists():
        parent = parent.parent
    if not os.access(parent, os.W_OK | os.X_OK):
        return [f"data directory {path} does not exist and {parent} is not writable to create it"]
    return []


def run_checks(settings: Settings) -> list[str]:
    problems = _data_dir_problems(settings.data_dir)
    if problems:
        return problems
    if settings.tls_cert is not None or (settings.data_dir / "tls" / "cert.pem").exists():
        try:
            ensure_certificate(settings)
        except TlsError as exc:
            problems.append(str(exc))
    if settings.backend == "sqlite" and not (settings.data_dir / SQLITE_FILE).exists():
        return problems  # a first start creates it
    try:
        db = open_database(settings)
    except DatabaseError as exc:
        return [*problems, str(exc)]
    try:
        check_not_newer(db, discover())
    except (MigrationError, DatabaseError) as exc:
        problems.append(str(exc))
    finally:
        db.close()
    return problems


def explain(exc: BaseException) -> str | None:
    """A one-line message for a failure the operator can fix, or None for a bug."""
    from ninjait.server import StartupError

    if isinstance(exc, (SettingsError, DatabaseError, MigrationError, TlsError, StartupError)):
        return str(exc)
    if isinstance(exc, PermissionError):
        return f"permission denied: {exc.filename or exc}"
    if isinstance(exc, OSError) and exc.filename:
        return f"cannot use {exc.filename}: {exc.strerror}"
    return None
