"""The knowledge base: a tenant's articles in Markdown (rendered to sanitised HTML), in categories, internal or
public (public ones also show in the client portal), every saved version kept, linked to tickets, and searched
in full text: SQLite FTS5 (bm25 ranking, snippets) or PostgreSQL's tsvector (ts_rank, ts_headline).

Search text is reduced to words before it reaches the search engine (as for tickets, ``search.py``), so quotes,
``*``, ``NEAR``, ``-`` or parentheses in what someone typed can never be query syntax (or an error). All words
must match, each as the start of a word (search as you type). Suggestions (the portal's new-ticket form, a
ticket's subject) match any of the words.

Reading internal articles needs tickets.read; writing needs tickets.write; deleting, tickets.write in every
organization (articles are the tenant's, not an organization's).
"""

from __future__ import annotations

import time
from typing import Any

import nh3
from markdown_it import MarkdownIt

from ninjait.core.errors import Conflict, Forbidden, Invalid, NotFound
from ninjait.core.runtime import Runtime
from ninjait.identity.principal import Actor, Principal
from ninjait.tickets import search as search_words

VISIBILITIES = ("internal", "public")
MAX_TITLE, MAX_BODY = 200, 100_000
COLUMNS = ("a.id, a.tenant_id, a.category_id, a.title, a.body, a.visibility, a.version, a.created_at, a.updated_at, "
           "k.name AS category")
CATEGORY = "LEFT JOIN kb_categories k ON k.id = a.category_id"
FROM = f"kb_articles a {CATEGORY}"
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def render(markdown: str) -> str:
    """Markdown to HTML that is safe to show: raw HTML is not passed through, and the result is sanitised."""
    return nh3.clean(_markdown.render(markdown), link_rel="noopener noreferrer nofollow")


words = search_words.terms  # the same words as ticket search: letters and digits, at most eight


def _can_write(p: Principal) -> None:
    if not p.can_somewhere("tickets.write"):
        raise Forbidden("writing articles needs tickets.write")


def _fields(data: dict[str, Any]) -> dict[str, Any]:
    title = str(data.get("title") or "").strip()
    if not 1 <= len(title) <= MAX_TITLE:
        raise Invalid(f"title must be 1 to {MAX_TITLE} characters", field="title")
    body = str(data.get("body") or "")
    if len(body) > MAX_BODY:
        raise Invalid(f"body is longer than {MAX_BODY} characters", field="body")
    visibility = data.get("visibility") or "internal"
    if visibility not in VISIBILITIES:
        raise Invalid("visibility is internal (staff only) or public (also the client portal)", field="visibility")
    category = data.get("category_id")
    if category is not None and not isinstance(category, int):
        raise Invalid("category_id is a category's id", field="category_id")
    return {"title": title, "body": body, "visibility": visibility, "category_id": category}


def _check_category(c: Any, tenant_id: int, category_id: int | None) -> None:
    if category_id is not None and c.value("SELECT 1 FROM kb_categories WHERE tenant_id = ? AND id = ?",
                                           (tenant_id, category_id)) is None:
        raise Invalid(f"no category {category_id} in this tenant", field="category_id")


def _version(c: Any, tenant_id: int, article_id: int, version: int, f: dict[str, Any], actor: Actor, at: int) -> None:
    c.execute("INSERT INTO kb_versions (tenant_id, article_id, version, title, body, visibility, edited_by, edited_at) "
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (tenant_id, article_id, version, f["title"], f["body"],
                                                  f["visibility"], actor.email, at))


def create_article(rt: Runtime, p: Principal, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    _can_write(p)
    f, at = _fields(data), int(time.time())

    def write(c: Any) -> int:
        _check_category(c, p.tenant_id, f["category_id"])
        article_id = int(c.value(
            "INSERT INTO kb_articles (tenant_id, category_id, title, body, visibility, created_by, created_at, "
            "updated_by, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (p.tenant_id, f["category_id"], f["title"], f["body"], f["visibility"], actor.user_id, at, actor.user_id,
             at)))
        _version(c, p.tenant_id, article_id, 1, f, actor, at)
        return article_id

    article_id = rt.db.write(write)
    rt.bus.emit("kb_article.created", p.tenant_id, actor.as_dict(), object_type="kb_article", object_id=article_id,
                summary={"title": f["title"], "visibility": f["visibility"]})
    return get_article(rt, p, article_id)


def _row(c: Any, tenant_id: int, article_id: int, public_only: bool = False) -> dict[str, Any]:
    row = c.one(f"SELECT {COLUMNS} FROM {FROM} WHERE a.tenant_id = ? AND a.id = ?"
                + (" AND a.visibility = 'public'" if public_only else ""), (tenant_id, article_id))
    if row is None:
        raise NotFound("article not found")
    return row


def get_article(rt: Runtime, p: Principal, article_id: int) -> dict[str, Any]:
    with rt.db.read() as c:
        row = _row(c, p.tenant_id, article_id)
    return {**row, "html": render(row["body"])}


def public_article(rt: Runtime, tenant_id: int, article_id: int) -> dict[str, Any]:
    with rt.db.read() as c:
        row = _row(c, tenant_id, article_id, public_only=True)
    return {**row, "html": render(row["body"])}


def update_article(rt: Runtime, p: Principal, actor: Actor, article_id: int, data: dict[str, Any]) -> dict[str, Any]:
    """Fields absent or None stay; each save is a new version. ``expected_version`` (optional) refuses to
    overwrite someone else's newer save (409)."""
    _can_write(p)
    at = int(time.time())

    def write(c: Any) -> list[str]:
        before = _row(c, p.tenant_id, article_id)
        expected = data.get("expected_version")
        if expected is not None and expected != before["version"]:
            raise Conflict(f"the article changed meanwhile (now version {before['version']}): reload and redo")
        f = _fields({**before, **{k: v for k, v in data.items() if v is not None}})
        if "category_id" in data and data["category_id"] is None:
            f["category_id"] = None
        _check_category(c, p.tenant_id, f["category_id"])
        changed = [k for k in ("title", "body", "visibility", "category_id") if f[k] != before[k]]
        if not changed:
            return []
        c.execute("UPDATE kb_articles SET title = ?, body = ?, visibility = ?, category_id = ?, version = version + 1, "
                  "updated_by = ?, updated_at = ? WHERE tenant_id = ? AND id = ?",
                  (f["title"], f["body"], f["visibility"], f["category_id"], actor.user_id, at, p.tenant_id,
                   article_id))
        _version(c, p.tenant_id, article_id, before["version"] + 1, f, actor, at)
        return changed

    changed = rt.db.write(write)
    if changed:
        rt.bus.emit("kb_article.updated", p.tenant_id, actor.as_dict(), object_type="kb_article",
                    object_id=article_id, summary={"changed": changed})
    return get_article(rt, p, article_id)


def delete_article(rt: Runtime, p: Principal, actor: Actor, article_id: int) -> None:
    article = get_article(rt, p, article_id)
    p.require_everywhere("tickets.write", "articles belong to the whole tenant: deleting one")
    rt.db.write(lambda c: c.execute("DELETE FROM kb_articles WHERE tenant_id = ? AND id = ?", (p.tenant_id, article_id)))
    rt.bus.emit("kb_article.deleted", p.tenant_id, actor.as_dict(), object_type="kb_article", object_id=article_id,
                summary={"title": article["title"]})


def versions(rt: Runtime, p: Principal, article_id: int) -> list[dict[str, Any]]:
    get_article(rt, p, article_id)
    with rt.db.read() as c:
        return c.all("SELECT version, title, body, visibility, edited_by, edited_at FROM kb_versions "
                     "WHERE tenant_id = ? AND article_id = ? ORDER BY version DESC", (p.tenant_id, article_id))


def search(rt: Runtime, tenant_id: int, query: str = "", *, public_only: bool = False, category_id: int | None = None,
           any_word: bool = False, limit: int = 50) -> list[dict[str, Any]]:
    """Articles matching ``query`` (best first, with a snippet), or the latest when it has no words."""
    if len(query) > 200:
        raise Invalid("the search is longer than 200 characters", field="q")
    terms = words(query)
    where, args = ["a.tenant_id = ?"], [tenant_id]
    if public_only:
        where.append("a.visibility = 'public'")
    if category_id is not None:
        where.append("a.category_id = ?")
        args.append(category_id)
    with rt.db.read() as c:
        if not terms:
            return c.all(f"SELECT {COLUMNS}, '' AS snippet FROM {FROM} WHERE {' AND '.join(where)} "
                         "ORDER BY a.updated_at DESC, a.id DESC LIMIT ?", (*args, limit))
        match = search_words.fts_query(rt.db.backend, terms, any_word=any_word)
        if rt.db.backend == "postgresql":
            return c.all(f"SELECT {COLUMNS}, ts_headline('simple', a.body, to_tsquery('simple', ?), "
                         "'MaxWords=25, MinWords=8, StartSel=[, StopSel=]') AS snippet FROM "
                         f"{FROM} WHERE {' AND '.join(where)} AND a.search @@ to_tsquery('simple', ?) "
                         "ORDER BY ts_rank(a.search, to_tsquery('simple', ?)) DESC, a.id DESC LIMIT ?",
                         (match, *args, match, match, limit))
        return c.all(f"SELECT {COLUMNS}, snippet(kb_fts, 1, '[', ']', '…', 16) AS snippet FROM kb_fts "
                     f"JOIN kb_articles a ON a.id = kb_fts.rowid {CATEGORY} WHERE kb_fts MATCH ? AND {' AND '.join(where)} "
                     "ORDER BY bm25(kb_fts, 10.0, 1.0), a.id DESC LIMIT ?", (match, *args, limit))


def list_categories(rt: Runtime, p: Principal) -> list[dict[str, Any]]:
    return categories_of(rt, p.tenant_id)


def categories_of(rt: Runtime, tenant_id: int) -> list[dict[str, Any]]:
    with rt.db.read() as c:
        return c.all("SELECT id, name FROM kb_categories WHERE tenant_id = ? ORDER BY name", (tenant_id,))


def create_category(rt: Runtime, p: Principal, actor: Actor, name: str) -> dict[str, Any]:
    _can_write(p)
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise Invalid("name must be 1 to 100 characters", field="name")

    def write(c: Any) -> int:
        if c.value("SELECT 1 FROM kb_categories WHERE tenant_id = ? AND name = ?", (p.tenant_id, name)):
            raise Conflict(f"a category named {name!r} exists", field="name")
        return int(c.value("INSERT INTO kb_categories (tenant_id, name) VALUES (?, ?) RETURNING id", (p.tenant_id, name)))

    category_id = rt.db.write(write)
    rt.bus.emit("kb_category.created", p.tenant_id, actor.as_dict(), object_type="kb_category",
                object_id=category_id, summary={"name": name})
    return {"id": category_id, "name": name}


def delete_category(rt: Runtime, p: Principal, actor: Actor, category_id: int) -> None:
    """Its articles stay, without a category."""
    _can_write(p)

    def write(c: Any) -> str:
        name = c.value("SELECT name FROM kb_categories WHERE tenant_id = ? AND id = ?", (p.tenant_id, category_id))
        if name is None:
            raise NotFound("category not found")
        c.execute("DELETE FROM kb_categories WHERE tenant_id = ? AND id = ?", (p.tenant_id, category_id))
        return str(name)

    name = rt.db.write(write)
    rt.bus.emit("kb_category.deleted", p.tenant_id, actor.as_dict(), object_type="kb_category",
                object_id=category_id, summary={"name": name})


# --- articles on tickets ----------------------------------------------------------------------------------

def ticket_articles(rt: Runtime, p: Principal, ticket_id: int) -> list[dict[str, Any]]:
    from ninjait.tickets import service

    service.get_ticket(rt, p, ticket_id)  # 404 for tickets out of reach
    with rt.db.read() as c:
        return c.all(f"SELECT {COLUMNS}, '' AS snippet FROM ticket_articles ta JOIN kb_articles a ON a.id = ta.article_id "
                     f"{CATEGORY} WHERE ta.tenant_id = ? AND ta.ticket_id = ? ORDER BY ta.linked_at",
                     (p.tenant_id, ticket_id))


def link(rt: Runtime, p: Principal, actor: Actor, ticket_id: int, article_id: int, linked: bool = True) -> None:
    from ninjait.tickets import service

    ticket = service.get_ticket(rt, p, ticket_id)
    if not p.can("tickets.write", ticket["organization_id"]):
        raise NotFound("ticket not found")
    article = get_article(rt, p, article_id)

    def write(c: Any) -> None:
        if linked:
            c.execute("INSERT INTO ticket_articles (tenant_id, ticket_id, article_id, linked_at) VALUES (?, ?, ?, ?) "
                      "ON CONFLICT (ticket_id, article_id) DO NOTHING", (p.tenant_id, ticket_id, article_id,
                                                                         int(time.time())))
        else:
            c.execute("DELETE FROM ticket_articles WHERE tenant_id = ? AND ticket_id = ? AND article_id = ?",
                      (p.tenant_id, ticket_id, article_id))

    rt.db.write(write)
    rt.bus.emit("ticket.updated", p.tenant_id, actor.as_dict(), object_type="ticket", object_id=ticket_id,
                summary=service.summary(ticket, article_id=article_id, article_title=article["title"],
                                        article_linked=linked))
