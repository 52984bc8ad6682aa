"""Settings → Backups: the schedule and its last outcome, back up now, download, delete."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import File, Template

from ninjait.backup import offsite, service, tasks
from ninjait.core.errors import ServiceError
from ninjait.identity.http import actor_of
from ninjait.identity.views import _back, rt
from ninjait.ui.pages import page

MANAGE = {"permission": "backups.manage"}
Req = Request[Any, Any, Any]


@get("/settings/backups", opt=MANAGE, include_in_schema=False, sync_to_thread=True)
def backups_page(request: Req) -> Template:
    return page(request, "backup/backups.html", active="settings", status=service.status(rt(request)))


@get("/settings/backups/offsite", opt=MANAGE, include_in_schema=False, sync_to_thread=True)
def offsite_list(request: Req) -> Template:
    try:
        return page(request, "backup/_offsite.html", backups=offsite.list_remote(rt(request).settings), error="")
    except ServiceError as exc:
        return page(request, "backup/_offsite.html", backups=[], error=exc.message)


@post("/settings/backups", opt=MANAGE, include_in_schema=False, sync_to_thread=True)
def backups_start(request: Req) -> Response[Any]:
    tasks.backup_now(actor_of(request).as_dict())
    return _back("/settings/backups", "backup-started")


@get("/settings/backups/{backup_name:str}/download", opt=MANAGE, include_in_schema=False, sync_to_thread=True)
def backup_download(request: Req, backup_name: FromPath[str]) -> File:
    path = service.download(rt(request), backup_name, actor_of(request).as_dict())
    return File(path=path, filename=path.name, media_type="application/octet-stream")


@post("/settings/backups/{backup_name:str}/delete", opt=MANAGE, include_in_schema=False, sync_to_thread=True)
def backup_delete(request: Req, backup_name: FromPath[str]) -> Response[Any]:
    service.delete(rt(request), backup_name, actor_of(request).as_dict())
    return _back("/settings/backups", "backup-deleted")


route_handlers = [backups_page, offsite_list, backups_start, backup_download, backup_delete]
