"""Off-site copies: every backup the appliance makes is also uploaded to S3-compatible storage when
``backup_s3_url`` is set, and the bucket keeps the newest ``backup_s3_keep`` of them.

Only objects named like our archives are ever listed or deleted, so a bucket (or prefix) shared with
other data loses nothing else. A failed upload leaves the local backup in place; the failure is
recorded for the Backups page and the dashboard, and published as ``backup.offsite_failed``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from ninjait.backup import s3
from ninjait.backup.service import NAME, _created_at, order_key, set_fact, write_atomically
from ninjait.core.errors import NotFound, Upstream
from ninjait.core.runtime import Runtime
from ninjait.settings import Settings

log = logging.getLogger("ninjait.backup")
FACT_ERROR = "backup.offsite_error"
FACT_LAST = "backup.offsite_last"


def configured(settings: Settings) -> bool:
    return bool(settings.backup_s3_url)


def client(settings: Settings) -> s3.Client:
    target = s3.Target.parse(settings.backup_s3_url, settings.backup_s3_region, settings.backup_s3_access_key_id,
                             settings.backup_s3_secret_access_key)
    verify: Any = str(settings.backup_s3_ca_file) if settings.backup_s3_ca_file else True
    return s3.Client(target, timeout=120.0, verify=verify)


def _ours(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Our archives, newest first."""
    found = [{**o, "created_at": _created_at(o["name"])} for o in objects if NAME.match(o["name"])]
    found.sort(key=lambda o: order_key(o["name"]), reverse=True)
    return found


def list_remote(settings: Settings) -> list[dict[str, Any]]:
    if not configured(settings):
        raise NotFound("no off-site storage is configured (setting backup_s3_url)")
    try:
        with client(settings) as c:
            return _ours(c.list())
    except s3.S3Error as exc:
        raise Upstream(str(exc)) from None


def send(settings: Settings, path: Path) -> tuple[int, list[str]]:
    """Upload one archive and delete the bucket's oldest beyond the retention: (bytes sent, names deleted)."""
    with client(settings) as c:
        size = c.upload(path, path.name)
        pruned = [o["name"] for o in _ours(c.list())[settings.backup_s3_keep:]]
        for name in pruned:
            c.delete(name)
    return size, pruned


def upload(rt: Runtime, path: Path, actor: dict[str, Any] | None = None) -> dict[str, Any]:
    """Upload one archive, then delete the bucket's oldest beyond the retention. Never raises: the outcome
    is returned, recorded and published."""
    started = time.time()
    try:
        size, pruned = send(rt.settings, path)
    except s3.S3Error as exc:
        message = f"off-site copy of {path.name} failed: {exc}"
        log.error("backup upload failed", extra={"fields": {"name": path.name, "error": str(exc)}})
        set_fact(rt, FACT_ERROR, message)
        rt.bus.emit("backup.offsite_failed", None, actor or {"user_id": None, "email": "system"},
                    object_type="backup", object_id=path.name, summary={"error": message[:500]})
        return {"uploaded": False, "error": message}
    set_fact(rt, FACT_ERROR, None)
    set_fact(rt, FACT_LAST, path.name)
    outcome = {"uploaded": True, "name": path.name, "size": size, "pruned": pruned,
               "seconds": round(time.time() - started, 2)}
    rt.bus.emit("backup.offsite_uploaded", None, actor or {"user_id": None, "email": "system"},
                object_type="backup", object_id=path.name, summary=outcome)
    log.info("backup uploaded", extra={"fields": outcome})
    return outcome


def status(rt: Runtime) -> dict[str, Any] | None:
    s = rt.settings
    if not configured(s):
        return None
    with rt.db.read() as c:
        facts = {r["key"]: r for r in c.all("SELECT key, value, updated_at FROM appliance_facts WHERE key IN (?, ?)",
                                             (FACT_ERROR, FACT_LAST))}
    last, error = facts.get(FACT_LAST), facts.get(FACT_ERROR)
    target = s3.Target.parse(s.backup_s3_url, s.backup_s3_region, "", "")
    return {"url": f"{target.endpoint}/{target.bucket}/{target.prefix}", "keep": s.backup_s3_keep,
            "last_uploaded": last["value"] if last else None, "last_uploaded_at": last["updated_at"] if last else None,
            "last_error": error["value"] if error else None, "last_error_at": error["updated_at"] if error else None}


def require_name(name: str) -> None:
    if not NAME.match(name):
        raise NotFound(f"{name!r} is not the name of a NinjaIT backup")


def fetch(settings: Settings, name: str, dest: Path) -> int:
    """Download one of our archives from the bucket to ``dest`` (written atomically); returns its size."""
    require_name(name)
    try:
        with client(settings) as c:
            return write_atomically(dest, lambda fh: c.download(name, fh))
    except s3.S3Error as exc:
        raise (NotFound(str(exc)) if "NoSuchKey" in str(exc) else Upstream(str(exc))) from None
