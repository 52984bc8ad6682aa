"""Files attached to tickets and their comments.

A file lands in ``<data_dir>/attachments/<tenant>/<random name>``: the client's file name is only shown and
offered back at download, never used on disk. It is written to a ``.tmp`` file first (left out of backups),
checked against ``attachment_max_mib``, and renamed inside the transaction that records it, so a failed upload
leaves neither a row nor a file. Downloads are always ``Content-Disposition: attachment`` with a content type
from a list of inert types (anything else is ``application/octet-stream``), so nothing uploaded is rendered by
the browser as a page of this appliance.

Rows go with their ticket or comment (ON DELETE CASCADE, e.g. when an organization is deleted); the hourly
``sweep_orphans`` then deletes files no row names any more.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import time
import unicodedata
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote

from ninjait.core.errors import Invalid, NotFound, ServiceError
from ninjait.core.runtime import Runtime
from ninjait.identity.principal import Actor, Principal
from ninjait.tickets import collab_store, service

MIB = 1024 * 1024
CEILING_MIB = 100  # the setting's maximum: bodies past it are refused before they are read
FOLDER = "attachments"
CHUNK = 256 * 1024
ORPHAN_GRACE_SECONDS = 3600
INERT_TYPES = frozenset({
    "application/pdf", "application/zip", "application/gzip", "application/x-7z-compressed", "application/json",
    "application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "image/png", "image/jpeg", "image/gif", "image/webp", "text/plain", "text/csv",
})


class TooLarge(ServiceError):
    status = 413


def folder_of(rt: Runtime, tenant_id: int) -> Path:
    return rt.settings.data_dir / FOLDER / str(int(tenant_id))


def clean_name(name: str) -> str:
    """The name to show and offer back: no folders, no control characters, at most 200 characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(ch for ch in unicodedata.normalize("NFC", base) if unicodedata.category(ch)[0] != "C").strip()
    return base.strip(".")[:200] or "attachment"


def safe_type(content_type: str) -> str:
    kind = (content_type or "").split(";")[0].strip().lower()
    return kind if kind in INERT_TYPES else "application/octet-stream"


def _receive(source: BinaryIO, target: Path, limit: int) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with open(target, "xb") as out:
        while chunk := source.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise TooLarge(f"the file is larger than the limit of {limit // MIB} MiB (setting attachment_max_mib)",
                               field="file")
            digest.update(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    return size, digest.hexdigest()


def upload(rt: Runtime, p: Principal, actor: Actor, ticket_id: int, source: BinaryIO, file_name: str,
           content_type: str, comment_id: int | None = None, now: float | None = None) -> dict[str, Any]:
    at = int(time.time() if now is None else now)
    with rt.db.read() as c:
        service._visible(c, p, ticket_id, "tickets.write")  # others' tickets answer 404 before any byte is stored
    folder = folder_of(rt, p.tenant_id)
    folder.mkdir(parents=True, exist_ok=True)
    storage_name = secrets.token_hex(16)
    temp, final = folder / f"{storage_name}.tmp", folder / storage_name
    row = {"ticket_id": ticket_id, "comment_id": comment_id, "file_name": clean_name(file_name),
           "content_type": safe_type(content_type), "storage_name": storage_name, "uploaded_by": actor.user_id,
           "created_at": at}

    def write(c: Any) -> int:
        service._visible(c, p, ticket_id, "tickets.write")
        if comment_id is not None and not collab_store.comment_of_ticket(c, p.tenant_id, ticket_id, comment_id):
            raise Invalid(f"comment {comment_id} is not a comment of this ticket", field="comment_id")
        attachment_id = collab_store.insert_attachment(c, p.tenant_id, row)
        os.replace(temp, final)  # inside the transaction: if the rename fails, the row is rolled back
        return attachment_id

    try:
        row["size"], row["sha256"] = _receive(source, temp, rt.settings.attachment_max_mib * MIB)
        if row["size"] == 0:
            raise Invalid("the file is empty", field="file")
        attachment_id = rt.db.write(write)
    except BaseException:
        temp.unlink(missing_ok=True)
        final.unlink(missing_ok=True)  # the commit itself may have failed after the rename
        raise
    rt.bus.emit("ticket.attachment_added", p.tenant_id, actor.as_dict(), object_type="ticket", object_id=ticket_id,
                summary={"attachment_id": attachment_id, "file_name": row["file_name"], "size": row["size"],
                         "comment_id": comment_id})
    return get(rt, p, attachment_id)


def list_for(rt: Runtime, p: Principal, ticket_id: int) -> list[dict[str, Any]]:
    with rt.db.read() as c:
        service._visible(c, p, ticket_id)
        return collab_store.attachments(c, p.tenant_id, ticket_id)


def get(rt: Runtime, p: Principal, attachment_id: int) -> dict[str, Any]:
    with rt.db.read() as c:
        row = collab_store.attachment(c, p.tenant_id, attachment_id)
        if row is None:
            raise NotFound("attachment not found")
        service._visible(c, p, row["ticket_id"])
    return row


def open_file(rt: Runtime, p: Principal, attachment_id: int) -> tuple[dict[str, Any], Path]:
    row = get(rt, p, attachment_id)
    path = folder_of(rt, p.tenant_id) / row["storage_name"]
    if not path.is_file():
        raise NotFound("the file of this attachment is missing from the data directory")
    return row, path


def delete(rt: Runtime, p: Principal, actor: Actor, attachment_id: int) -> None:
    def write(c: Any) -> dict[str, Any]:
        row = collab_store.attachment(c, p.tenant_id, attachment_id)
        if row is None:
            raise NotFound("attachment not found")
        service._visible(c, p, row["ticket_id"], "tickets.write")
        collab_store.delete_attachment(c, p.tenant_id, attachment_id)
        return row

    row = rt.db.write(write)
    (folder_of(rt, p.tenant_id) / row["storage_name"]).unlink(missing_ok=True)
    rt.bus.emit("ticket.attachment_deleted", p.tenant_id, actor.as_dict(), object_type="ticket",
                object_id=row["ticket_id"], summary={"attachment_id": attachment_id, "file_name": row["file_name"]})


def sweep_orphans(rt: Runtime, now: float | None = None) -> int:
    """Delete files no attachment row names (their ticket, comment or tenant was deleted) and stale temporaries.

    Only files older than the grace period: an upload renames its file before its transaction commits.
    """
    at = time.time() if now is None else now
    root = rt.settings.data_dir / FOLDER
    if not root.is_dir():
        return 0
    with rt.db.read() as c:
        known = collab_store.storage_names(c)
    removed = 0
    for tenant_dir in root.iterdir():
        if not tenant_dir.is_dir() or tenant_dir.is_symlink():
            continue
        for path in tenant_dir.iterdir():
            stem = path.name.removesuffix(".tmp")
            if path.is_file() and (path.name.endswith(".tmp") or stem not in known) \
                    and path.stat().st_mtime < at - ORPHAN_GRACE_SECONDS:
                path.unlink(missing_ok=True)
                removed += 1
    return removed


def content_disposition(file_name: str) -> str:
    """RFC 6266 with an ASCII fallback and the exact name in RFC 5987 ``filename*``."""
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\;%' else "_" for ch in file_name) or "attachment"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(file_name, safe='')}"
