"""SQL of ticket collaboration: links, merges, CCs, attachments, notifications and full-text search.

Every function takes the tenant first and filters by it; ``orgs`` (None: every organization) narrows reads
to the organizations the caller may see.
"""

from __future__ import annotations

from typing import Any

from ninjait.core.db import Conn


def _org_clause(orgs: frozenset[int] | None, column: str) -> tuple[str, list[int]]:
    if orgs is None:
        return "", []
    if not orgs:
        return " AND 1 = 0", []
    return f" AND {column} IN ({', '.join('?' for _ in orgs)})", sorted(orgs)


def detail_extras(c: Conn, tenant_id: int, ticket_id: int, orgs: frozenset[int] | None) -> dict[str, Any]:
    """What a ticket's detail shows of collaboration: links, the merge pointer, CCs and attachments."""
    return {"links": links_of(c, tenant_id, ticket_id, orgs), "merged_into": merged_into(c, tenant_id, ticket_id),
            "ccs": ccs(c, tenant_id, ticket_id), "attachments": attachments(c, tenant_id, ticket_id)}


# --- links and merges ---------------------------------------------------------------------------------

def link_between(c: Conn, tenant_id: int, a: int, b: int) -> dict[str, Any] | None:
    return c.one("SELECT ticket_id, other_id, kind FROM ticket_links WHERE tenant_id = ? AND "
                 "((ticket_id = ? AND other_id = ?) OR (ticket_id = ? AND other_id = ?))", (tenant_id, a, b, b, a))


def parent_of(c: Conn, tenant_id: int, ticket_id: int) -> int | None:
    return c.value("SELECT other_id FROM ticket_links WHERE tenant_id = ? AND ticket_id = ? AND kind = 'parent'",
                   (tenant_id, ticket_id))


def add_link(c: Conn, tenant_id: int, ticket_id: int, other_id: int, kind: str, user_id: int | None, at: int) -> None:
    c.execute("INSERT INTO ticket_links (tenant_id, ticket_id, other_id, kind, created_by, created_at) "
              "VALUES (?, ?, ?, ?, ?, ?)", (tenant_id, ticket_id, other_id, kind, user_id, at))


def remove_link(c: Conn, tenant_id: int, a: int, b: int) -> None:
    c.execute("DELETE FROM ticket_links WHERE tenant_id = ? AND ((ticket_id = ? AND other_id = ?) OR "
              "(ticket_id = ? AND other_id = ?))", (tenant_id, a, b, b, a))


def links_of(c: Conn, tenant_id: int, ticket_id: int, orgs: frozenset[int] | None) -> list[dict[str, Any]]:
    """The ticket's links as seen from it: parent, child or related, with the other ticket's number and state."""
    clause, args = _org_clause(orgs, "t.organization_id")
    return c.all(
        "SELECT x.role, t.id, t.number, t.subject, s.type AS status_type FROM ("
        "SELECT other_id AS linked_id, CASE WHEN kind = 'parent' THEN 'parent' ELSE 'related' END AS role "
        "FROM ticket_links WHERE tenant_id = ? AND ticket_id = ? "
        "UNION ALL SELECT ticket_id, CASE WHEN kind = 'parent' THEN 'child' ELSE 'related' END "
        "FROM ticket_links WHERE tenant_id = ? AND other_id = ?) x "
        "JOIN tickets t ON t.id = x.linked_id AND t.tenant_id = ? JOIN ticket_statuses s ON s.id = t.status_id "
        f"WHERE 1 = 1{clause} ORDER BY x.role, t.id", (tenant_id, ticket_id, tenant_id, ticket_id, tenant_id, *args))


def id_by_number(c: Conn, tenant_id: int, number: str) -> int | None:
    """A ticket by its number ("T-1042", any case) or by the digits alone with the tenant's prefix."""
    return c.value("SELECT id FROM tickets WHERE tenant_id = ? AND (upper(number) = upper(?) OR number = "
                   "(SELECT prefix FROM ticket_numbering WHERE tenant_id = ?) || ?)",
                   (tenant_id, number, tenant_id, number))


def merged_into(c: Conn, tenant_id: int, ticket_id: int) -> dict[str, Any] | None:
    return c.one("SELECT m.survivor_id AS id, t.number FROM ticket_merges m JOIN tickets t ON t.id = m.survivor_id "
                 "WHERE m.tenant_id = ? AND m.ticket_id = ?", (tenant_id, ticket_id))


def record_merge(c: Conn, tenant_id: int, ticket_id: int, survivor_id: int, user_id: int | None, at: int) -> None:
    c.execute("INSERT INTO ticket_merges (ticket_id, tenant_id, survivor_id, merged_by, merged_at) "
              "VALUES (?, ?, ?, ?, ?)", (ticket_id, tenant_id, survivor_id, user_id, at))


def move_ticket_rows(c: Conn, tenant_id: int, source: int, survivor: int) -> dict[str, int]:
    """Move comments, time, attachments, devices, CCs, links, e-mail threads, articles and custom values (the
    survivor's own values win) from ``source`` to ``survivor``; counts moved."""
    counted = {name: int(c.value(f"SELECT count(*) FROM {table} WHERE tenant_id = ? AND ticket_id = ?",
                                 (tenant_id, source)) or 0)
               for name, table in (("comments", "ticket_comments"), ("time_entries", "time_entries"),
                                   ("attachments", "ticket_attachments"))}
    # ticket_messages: customers' replies to the merged ticket's e-mails thread to the survivor.
    for table in ("ticket_comments", "time_entries", "ticket_attachments", "user_notifications", "ticket_messages"):
        c.execute(f"UPDATE {table} SET ticket_id = ? WHERE tenant_id = ? AND ticket_id = ?", (survivor, tenant_id, source))
    for table, key in (("ticket_articles", "article_id, linked_at"), ("ticket_custom_values", "field_id, value")):
        c.execute(f"INSERT INTO {table} (tenant_id, ticket_id, {key}) SELECT tenant_id, ?, {key} FROM {table} "
                  "WHERE tenant_id = ? AND ticket_id = ? ON CONFLICT DO NOTHING", (survivor, tenant_id, source))
        c.execute(f"DELETE FROM {table} WHERE tenant_id = ? AND ticket_id = ?", (tenant_id, source))
    counted["devices"] = int(c.value(
        "SELECT count(*) FROM ticket_devices d WHERE d.tenant_id = ? AND d.ticket_id = ? AND NOT EXISTS "
        "(SELECT 1 FROM ticket_devices s WHERE s.ticket_id = ? AND s.device_id = d.device_id)",
        (tenant_id, source, survivor)) or 0)
    c.execute("INSERT INTO ticket_devices (tenant_id, ticket_id, device_id) SELECT tenant_id, ?, device_id "
              "FROM ticket_devices WHERE tenant_id = ? AND ticket_id = ? ON CONFLICT DO NOTHING",
              (survivor, tenant_id, source))
    c.execute("DELETE FROM ticket_devices WHERE tenant_id = ? AND ticket_id = ?", (tenant_id, source))
    counted["ccs"] = int(c.value(
        "SELECT count(*) FROM ticket_ccs x WHERE x.tenant_id = ? AND x.ticket_id = ? AND NOT EXISTS "
        "(SELECT 1 FROM ticket_ccs s WHERE s.ticket_id = ? AND s.email = x.email)", (tenant_id, source, survivor)) or 0)
    c.execute("INSERT INTO ticket_ccs (tenant_id, ticket_id, email, contact_id, created_at) "
              "SELECT tenant_id, ?, email, contact_id, created_at FROM ticket_ccs WHERE tenant_id = ? AND ticket_id = ? "
              "ON CONFLICT DO NOTHING", (survivor, tenant_id, source))
    c.execute("DELETE FROM ticket_ccs WHERE tenant_id = ? AND ticket_id = ?", (tenant_id, source))
    # Children of the merged ticket become the survivor's; other links are dropped (the pointer remains).
    remove_link(c, tenant_id, source, survivor)
    c.execute("UPDATE ticket_links SET other_id = ? WHERE tenant_id = ? AND other_id = ? AND kind = 'parent' "
              "AND ticket_id NOT IN (SELECT ticket_id FROM ticket_links WHERE tenant_id = ? AND other_id = ?)",
              (survivor, tenant_id, source, tenant_id, survivor))
    c.execute("DELETE FROM ticket_links WHERE tenant_id = ? AND (ticket_id = ? OR other_id = ?)",
              (tenant_id, source, source))
    return counted


# --- CCs ----------------------------------------------------------------------------------------------

def ccs(c: Conn, tenant_id: int, ticket_id: int) -> list[dict[str, Any]]:
    return c.all("SELECT x.email, x.contact_id, ct.name AS contact_name FROM ticket_ccs x "
                 "LEFT JOIN contacts ct ON ct.id = x.contact_id WHERE x.tenant_id = ? AND x.ticket_id = ? "
                 "ORDER BY x.email", (tenant_id, ticket_id))


def replace_ccs(c: Conn, tenant_id: int, ticket_id: int, entries: list[tuple[str, int | None]], at: int) -> None:
    c.execute("DELETE FROM ticket_ccs WHERE tenant_id = ? AND ticket_id = ?", (tenant_id, ticket_id))
    c.executemany("INSERT INTO ticket_ccs (tenant_id, ticket_id, email, contact_id, created_at) VALUES (?, ?, ?, ?, ?)",
                  [(tenant_id, ticket_id, email, contact_id, at) for email, contact_id in entries])


# --- attachments --------------------------------------------------------------------------------------

ATTACHMENT_COLUMNS = ("id, ticket_id, comment_id, file_name, content_type, size, sha256, storage_name, uploaded_by, "
                      "created_at")


def insert_attachment(c: Conn, tenant_id: int, a: dict[str, Any]) -> int:
    return int(c.value(
        "INSERT INTO ticket_attachments (tenant_id, ticket_id, comment_id, file_name, content_type, size, sha256, "
        "storage_name, uploaded_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (tenant_id, a["ticket_id"], a["comment_id"], a["file_name"], a["content_type"], a["size"], a["sha256"],
         a["storage_name"], a["uploaded_by"], a["created_at"])))


def attachment(c: Conn, tenant_id: int, attachment_id: int) -> dict[str, Any] | None:
    return c.one(f"SELECT {ATTACHMENT_COLUMNS} FROM ticket_attachments WHERE tenant_id = ? AND id = ?",
                 (tenant_id, attachment_id))


def attachments(c: Conn, tenant_id: int, ticket_id: int) -> list[dict[str, Any]]:
    return c.all(f"SELECT {ATTACHMENT_COLUMNS} FROM ticket_attachments WHERE tenant_id = ? AND ticket_id = ? "
                 "ORDER BY id", (tenant_id, ticket_id))


def delete_attachment(c: Conn, tenant_id: int, attachment_id: int) -> None:
    c.execute("DELETE FROM ticket_attachments WHERE tenant_id = ? AND id = ?", (tenant_id, attachment_id))


def comment_of_ticket(c: Conn, tenant_id: int, ticket_id: int, comment_id: int) -> bool:
    return c.value("SELECT 1 FROM ticket_comments WHERE tenant_id = ? AND ticket_id = ? AND id = ?",
                   (tenant_id, ticket_id, comment_id)) is not None


def storage_names(c: Conn) -> set[str]:
    """Every tenant's: the orphan sweep compares the files on disk with these."""
    return {r["storage_name"] for r in c.all("SELECT storage_name FROM ticket_attachments")}


# --- notifications ------------------------------------------------------------------------------------

def active_users(c: Conn, tenant_id: int) -> list[dict[str, Any]]:
    return c.all("SELECT id, tenant_id, email, name, is_super_admin, disabled FROM users "
                 "WHERE tenant_id = ? AND disabled = 0", (tenant_id,))


def comment(c: Conn, tenant_id: int, comment_id: int) -> dict[str, Any] | None:
    return c.one("SELECT id, ticket_id, kind, body, author_id, author FROM ticket_comments "
                 "WHERE tenant_id = ? AND id = ?", (tenant_id, comment_id))


def add_notification(c: Conn, tenant_id: int, user_id: int, kind: str, ticket_id: int, comment_id: int | None,
                     actor: str, at: int) -> None:
    c.execute("INSERT INTO user_notifications (tenant_id, user_id, kind, ticket_id, comment_id, actor, created_at) "
              "VALUES (?, ?, ?, ?, ?, ?, ?)", (tenant_id, user_id, kind, ticket_id, comment_id, actor, at))


def notifications(c: Conn, tenant_id: int, user_id: int, orgs: frozenset[int] | None, unread_only: bool,
                  limit: int) -> list[dict[str, Any]]:
    clause, args = _org_clause(orgs, "t.organization_id")
    unread = " AND n.read_at IS NULL" if unread_only else ""
    return c.all("SELECT n.id, n.kind, n.ticket_id, t.number, t.subject, n.comment_id, n.actor, n.created_at, "
                 "n.read_at FROM user_notifications n JOIN tickets t ON t.id = n.ticket_id AND t.tenant_id = n.tenant_id "
                 f"WHERE n.tenant_id = ? AND n.user_id = ?{unread}{clause} ORDER BY n.id DESC LIMIT ?",
                 (tenant_id, user_id, *args, limit))


def mark_read(c: Conn, tenant_id: int, user_id: int, ids: list[int] | None, at: int) -> None:
    where, args = "tenant_id = ? AND user_id = ? AND read_at IS NULL", [tenant_id, user_id]
    if ids is not None:
        if not ids:
            return
        where += f" AND id IN ({', '.join('?' for _ in ids)})"
        args += ids
    c.execute(f"UPDATE user_notifications SET read_at = ? WHERE {where}", (at, *args))


# --- full-text search ---------------------------------------------------------------------------------

def search_sqlite(c: Conn, tenant_id: int, orgs: frozenset[int] | None, match: str, limit: int
                  ) -> list[dict[str, Any]]:
    """Best match per ticket (bm25: lower is better) with a snippet; markers \x02 \x03 around hits."""
    clause, args = _org_clause(orgs, "t.organization_id")
    return c.all(
        "SELECT ticket_id, rank, snippet FROM ("
        "SELECT t.id AS ticket_id, bm25(ticket_fts, 10.0, 5.0, 1.0) AS rank, "
        "snippet(ticket_fts, -1, char(2), char(3), '…', 16) AS snippet "
        f"FROM ticket_fts JOIN tickets t ON t.id = ticket_fts.rowid WHERE ticket_fts MATCH ? AND t.tenant_id = ?{clause} "
        "UNION ALL SELECT t.id, bm25(ticket_comment_fts), snippet(ticket_comment_fts, 0, char(2), char(3), '…', 16) "
        "FROM ticket_comment_fts JOIN ticket_comments m ON m.id = ticket_comment_fts.rowid "
        f"JOIN tickets t ON t.id = m.ticket_id WHERE ticket_comment_fts MATCH ? AND t.tenant_id = ?{clause}"
        ") ORDER BY rank LIMIT ?", (match, tenant_id, *args, match, tenant_id, *args, limit * 4))


def search_postgresql(c: Conn, tenant_id: int, orgs: frozenset[int] | None, query: str, limit: int
                      ) -> list[dict[str, Any]]:
    """ts_rank (higher is better, negated so lower sorts first like bm25) with ts_headline snippets."""
    clause, args = _org_clause(orgs, "t.organization_id")
    options = "StartSel=\x02,StopSel=\x03,MaxWords=24,MinWords=8,MaxFragments=1,FragmentDelimiter=…"
    return c.all(
        "SELECT ticket_id, rank, ts_headline('simple', doc, to_tsquery('simple', ?), ?) AS snippet FROM ("
        "SELECT t.id AS ticket_id, -ts_rank(t.search_vector, to_tsquery('simple', ?)) * 2 AS rank, "
        "t.subject || ' ' || t.description AS doc FROM tickets t "
        f"WHERE t.search_vector @@ to_tsquery('simple', ?) AND t.tenant_id = ?{clause} "
        "UNION ALL SELECT t.id, -ts_rank(m.search_vector, to_tsquery('simple', ?)), m.body FROM ticket_comments m "
        "JOIN tickets t ON t.id = m.ticket_id "
        f"WHERE m.search_vector @@ to_tsquery('simple', ?) AND t.tenant_id = ?{clause}"
        ") hits ORDER BY rank LIMIT ?",
        (query, options, query, query, tenant_id, *args, query, query, tenant_id, *args, limit * 4))
