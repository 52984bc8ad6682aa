"""Full-text search over tickets (number, subject, description) and their comments.

SQLite answers from FTS5 tables kept by triggers, PostgreSQL from generated tsvector columns (migration 0018).
What people type never reaches either query language as is: it is cut into words (letters and digits; every
other character separates words, as both indexes do), each word is matched as a prefix, and all words must
match. So quotes, ``*``, ``NEAR``, ``-`` or ``:`` are just separators or plain words, never syntax errors.
"""

from __future__ import annotations

import re
from typing import Any

from ninjait.tickets import collab_store, store

MAX_TERMS, MAX_HITS, MAX_QUERY = 8, 500, 200
WORD = re.compile(r"[^\W_]+")
HIT_START, HIT_END = "\x02", "\x03"


def terms(q: str) -> list[str]:
    return WORD.findall(q[:MAX_QUERY].lower())[:MAX_TERMS]


def fts_query(backend: str, words: list[str], *, any_word: bool = False) -> str:
    """The engine's query for words (from ``terms``): each a prefix; all of them, or with ``any_word`` any."""
    if backend == "postgresql":
        return (" | " if any_word else " & ").join(f"{w}:*" for w in words)
    return (" OR " if any_word else " ").join(f'"{w}"*' for w in words)


def ranked(c: Any, tenant_id: int, orgs: frozenset[int] | None, q: str) -> dict[int, tuple[float, str]]:
    """Ticket id -> (rank, snippet) of its best hit, best first (lower rank is better); empty without words."""
    words = terms(q)
    if not words:
        return {}
    if c.backend == "postgresql":
        rows = collab_store.search_postgresql(c, tenant_id, orgs, fts_query(c.backend, words), MAX_HITS)
    else:
        rows = collab_store.search_sqlite(c, tenant_id, orgs, fts_query(c.backend, words), MAX_HITS)
    best: dict[int, tuple[float, str]] = {}
    for r in rows:
        if r["ticket_id"] not in best and len(best) < MAX_HITS:
            best[r["ticket_id"]] = (float(r["rank"]), r["snippet"] or "")
    return best


def plain(snippet: str) -> str:
    return snippet.replace(HIT_START, "").replace(HIT_END, "")


def segments(snippet: str) -> list[tuple[str, bool]]:
    """The snippet as (text, is a hit) pieces, for pages to highlight without trusting any markup."""
    out: list[tuple[str, bool]] = []
    for i, part in enumerate(re.split(f"[{HIT_START}{HIT_END}]", snippet)):
        if part:
            out.append((part, i % 2 == 1))
    return out


def page_of(c: Any, tenant_id: int, orgs: frozenset[int] | None, q: str, filters: dict[str, Any], page: int,
            per_page: int) -> tuple[list[dict[str, Any]], int]:
    """One page of the tickets that match ``q`` and the list's filters, best match first, each with its snippet."""
    hits = ranked(c, tenant_id, orgs, q)
    rows, total = store.search(c, tenant_id, orgs, {**filters, "ids": list(hits)}, MAX_HITS, 0)
    rows.sort(key=lambda r: (hits[r["id"]][0], -r["id"]))
    chosen = rows[(page - 1) * per_page:page * per_page]
    return [{**r, "snippet": plain(hits[r["id"]][1]), "snippet_marked": hits[r["id"]][1]} for r in chosen], total
