"""REST API of backups: status and list, start one, download, delete. Super Admins only."""

from __future__ import annotations

from typing import Any

from litestar import Request, delete, get, post
from litestar.params import FromPath
from litestar.response import File
from litestar.status_codes import HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT
from msgspec import Struct

from ninjait.backup import offsite, service, tasks
from ninjait.identity.http import actor_of
from ninjait.identity.models import convert

MANAGE = {"permission": "backups.manage"}
Req = Request[Any, Any, Any]


class Backup(Struct):
    name: str
    size: int
    created_at: float
    label: str
    encrypted: bool


class OffsiteStatus(Struct):
    url: str
    keep: int
    last_uploaded: str | None
    last_uploaded_at: int | None
    last_error: str | None
    last_error_at: int | None


class OffsiteBackup(Struct):
    name: str
    size: int
    modified: str
    created_at: float


class BackupStatus(Struct):
    schedule_hours: int
    keep: int
    directory: str
    encrypted: bool
    last_backup_at: float | None
    last_error: str | None
    last_error_at: int | None
    overdue: bool
    backups: list[Backup]
    offsite: OffsiteStatus | None = None


class BackupQueued(Struct):
    queued: bool
    task_id: str


@get("/api/v1/backups", opt=MANAGE, tags=["backups"], sync_to_thread=True)
def backups_status(request: Req) -> BackupStatus:
    """The schedule, the last outcome, and the backups in the backup directory, newest first."""
    return convert(service.status(request.app.state.runtime), BackupStatus)  # type: ignore[return-value]


@get("/api/v1/backups/offsite", opt=MANAGE, tags=["backups"], sync_to_thread=True)
def backups_offsite(request: Req) -> list[OffsiteBackup]:
    """The backups in the S3-compatible storage of `backup_s3_url`, newest first (404 when none is set up,
    502 with the store's reason when it cannot be listed)."""
    return convert(offsite.list_remote(request.app.state.runtime.settings), list[OffsiteBackup])  # type: ignore[return-value]


@post("/api/v1/backups", opt=MANAGE, tags=["backups"], status_code=HTTP_202_ACCEPTED, sync_to_thread=True)
def backup_start(request: Req) -> BackupQueued:
    """Start a backup in the background; it appears in the list when complete."""
    task = tasks.backup_now(actor_of(request).as_dict())
    return BackupQueued(queued=True, task_id=task.id)


@get("/api/v1/backups/{backup_name:str}", opt=MANAGE, tags=["backups"], sync_to_thread=True)
def backup_download(request: Req, backup_name: FromPath[str]) -> File:
    """The archive itself (encrypted ones end in .enc)."""
    path = service.download(request.app.state.runtime, backup_name, actor_of(request).as_dict())
    return File(path=path, filename=path.name, media_type="application/octet-stream")


@delete("/api/v1/backups/{backup_name:str}", opt=MANAGE, tags=["backups"], status_code=HTTP_204_NO_CONTENT,
        sync_to_thread=True)
def backup_delete(request: Req, backup_name: FromPath[str]) -> None:
    service.delete(request.app.state.runtime, backup_name, actor_of(request).as_dict())


route_handlers = [backups_status, backups_offsite, backup_start, backup_download, backup_delete]
