"""REST API and staff pages of the knowledge base, and its place on the ticket page (link an article, insert it
into a reply)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import Template
from litestar.status_codes import HTTP_204_NO_CONTENT
from msgspec import Meta, Struct

from ninjait.core.errors import ServiceError
from ninjait.identity.http import actor_of, principal_of
from ninjait.identity.models import convert
from ninjait.identity.views import FormData, _back, field, form_int
from ninjait.tickets import kb
from ninjait.ui.pages import page

Req = Request[Any, Any, Any]
READ, WRITE = {"permission": "tickets.read"}, {"permission": "tickets.write"}
Visibility = Literal["internal", "public"]


def rt(request: Req) -> Any:
    return request.app.state.runtime


class Article(Struct):
    id: int
    title: str
    body: str
    visibility: Visibility
    version: int
    category_id: int | None
    category: str | None
    created_at: int
    updated_at: int
    html: str = ""
    snippet: str = ""


class ArticleIn(Struct, forbid_unknown_fields=True):
    """`body` is Markdown (raw HTML is not rendered); `public` articles also show in the client portal."""

    title: Annotated[str, Meta(max_length=200)]
    body: Annotated[str, Meta(max_length=100_000)] = ""
    visibility: Visibility = "internal"
    category_id: int | None = None


class ArticlePatch(Struct, forbid_unknown_fields=True):
    """Absent fields stay. `expected_version`: refuse (409) if someone saved a newer version meanwhile."""

    title: Annotated[str, Meta(max_length=200)] | None = None
    body: Annotated[str, Meta(max_length=100_000)] | None = None
    visibility: Visibility | None = None
    category_id: int | None = None
    expected_version: int | None = None


class ArticleVersion(Struct):
    version: int
    title: str
    body: str
    visibility: str
    edited_by: str
    edited_at: int


class Category(Struct):
    id: int
    name: str


class CategoryIn(Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(max_length=100)]


class ArticleLink(Struct, forbid_unknown_fields=True):
    article_id: int


class ArticleController(Controller):
    path = "/api/v1/kb/articles"
    tags = ["knowledge base"]

    @get("/", opt=READ, sync_to_thread=True)
    def index(self, request: Req, q: FromQuery[str] = "", category_id: FromQuery[int | None] = None,
              visibility: FromQuery[str] = "") -> list[Article]:
        """Full-text search (`q`: every word must match, each as the start of a word; best first, with a snippet in
        [brackets]); without `q` the latest. `visibility=public` lists what contacts see."""
        rows = kb.search(rt(request), principal_of(request).tenant_id, q, public_only=visibility == "public",
                         category_id=category_id)
        return convert(rows, list[Article])  # type: ignore[return-value]

    @post("/", opt=WRITE, sync_to_thread=True)
    def create(self, request: Req, data: JSONBody[ArticleIn]) -> Article:
        row = kb.create_article(rt(request), principal_of(request), actor_of(request), msgspec.to_builtins(data))
        return convert(row, Article)  # type: ignore[return-value]

    @get("/{article_id:int}", opt=READ, sync_to_thread=True)
    def show(self, request: Req, article_id: FromPath[int]) -> Article:
        """With `html`: the Markdown rendered and sanitised."""
        return convert(kb.get_article(rt(request), principal_of(request), article_id), Article)  # type: ignore[return-value]

    @patch("/{article_id:int}", opt=WRITE, sync_to_thread=True)
    def change(self, request: Req, article_id: FromPath[int], data: JSONBody[ArticlePatch]) -> Article:
        payload = {k: v for k, v in msgspec.to_builtins(data).items() if v is not None}
        row = kb.update_article(rt(request), principal_of(request), actor_of(request), article_id, payload)
        return convert(row, Article)  # type: ignore[return-value]

    @delete("/{article_id:int}", opt=WRITE, sync_to_thread=True, status_code=HTTP_204_NO_CONTENT)
    def remove(self, request: Req, article_id: FromPath[int]) -> None:
        """Needs tickets.write in every organization."""
        kb.delete_article(rt(request), principal_of(request), actor_of(request), article_id)

    @get("/{article_id:int}/versions", opt=READ, sync_to_thread=True)
    def history(self, request: Req, article_id: FromPath[int]) -> list[ArticleVersion]:
        """Every saved version, newest first."""
        return convert(kb.versions(rt(request), principal_of(request), article_id), list[ArticleVersion])  # type: ignore[return-value]


@get("/api/v1/kb/categories", opt=READ, tags=["knowledge base"], sync_to_thread=True)
def categories_index(request: Req) -> list[Category]:
    return convert(kb.list_categories(rt(request), principal_of(request)), list[Category])  # type: ignore[return-value]


@post("/api/v1/kb/categories", opt=WRITE, tags=["knowledge base"], sync_to_thread=True)
def categories_create(request: Req, data: JSONBody[CategoryIn]) -> Category:
    return convert(kb.create_category(rt(request), principal_of(request), actor_of(request), data.name), Category)  # type: ignore[return-value]


@delete("/api/v1/kb/categories/{category_id:int}", opt=WRITE, tags=["knowledge base"], sync_to_thread=True,
        status_code=HTTP_204_NO_CONTENT)
def categories_remove(request: Req, category_id: FromPath[int]) -> None:
    """Its articles stay, without a category."""
    kb.delete_category(rt(request), principal_of(request), actor_of(request), category_id)


@get("/api/v1/tickets/{ticket_id:int}/articles", opt=READ, tags=["knowledge base"], sync_to_thread=True)
def ticket_articles(request: Req, ticket_id: FromPath[int]) -> list[Article]:
    return convert(kb.ticket_articles(rt(request), principal_of(request), ticket_id), list[Article])  # type: ignore[return-value]


@post("/api/v1/tickets/{ticket_id:int}/articles", opt=WRITE, tags=["knowledge base"], sync_to_thread=True,
      status_code=204)
def ticket_link(request: Req, ticket_id: FromPath[int], data: JSONBody[ArticleLink]) -> None:
    kb.link(rt(request), principal_of(request), actor_of(request), ticket_id, data.article_id)


@delete("/api/v1/tickets/{ticket_id:int}/articles/{article_id:int}", opt=WRITE, tags=["knowledge base"],
        sync_to_thread=True, status_code=HTTP_204_NO_CONTENT)
def ticket_unlink(request: Req, ticket_id: FromPath[int], article_id: FromPath[int]) -> None:
    kb.link(rt(request), principal_of(request), actor_of(request), ticket_id, article_id, linked=False)


# --- pages ---------------------------------------------------------------------------------------------

def _list_page(request: Req, *, error: str = "", status_code: int = 200, form: dict[str, Any] | None = None
               ) -> Template:
    p = principal_of(request)
    q = request.query_params.get("q", "")[:200]
    category = request.query_params.get("category_id", "")
    rows: list[dict[str, Any]] = []
    try:
        rows = kb.search(rt(request), p.tenant_id, q, category_id=form_int(category))
    except ServiceError as exc:
        error = error or exc.message
    return page(request, "tickets/kb.html", status_code=status_code, active="tickets", articles=rows, q=q,
                category_id=category, categories=kb.list_categories(rt(request), p), error=error, form=form or {},
                can_write=p.can_somewhere("tickets.write"))


@get("/kb", opt=READ, include_in_schema=False, sync_to_thread=True)
def kb_page(request: Req) -> Template:
    return _list_page(request)


def _article_form(data: dict[str, Any]) -> dict[str, Any]:
    category = field(data, "category_id", 20)
    version = field(data, "expected_version", 20)
    return {"title": field(data, "title", 201), "body": field(data, "body", kb.MAX_BODY + 1),
            "visibility": field(data, "visibility", 10) or "internal",
            "category_id": form_int(category),
            **({"expected_version": int(version)} if version.isdigit() else {})}


@post("/kb", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def kb_create(request: Req, data: FormData) -> Response[Any]:
    form = _article_form(data)
    try:
        made = kb.create_article(rt(request), principal_of(request), actor_of(request), form)
    except ServiceError as exc:
        return _list_page(request, error=exc.message, status_code=exc.status, form=form)
    return _back(f"/kb/{made['id']}", "saved")


@post("/kb/categories", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def kb_category_create(request: Req, data: FormData) -> Response[Any]:
    try:
        kb.create_category(rt(request), principal_of(request), actor_of(request), field(data, "name", 101))
    except ServiceError as exc:
        return _list_page(request, error=exc.message, status_code=exc.status)
    return _back("/kb", "saved")


def _article_page(request: Req, article_id: int, *, error: str = "", status_code: int = 200) -> Template:
    p = principal_of(request)
    return page(request, "tickets/kb_article.html", status_code=status_code, active="tickets", error=error,
                article=kb.get_article(rt(request), p, article_id), versions=kb.versions(rt(request), p, article_id),
                categories=kb.list_categories(rt(request), p), can_write=p.can_somewhere("tickets.write"))


@get("/kb/{article_id:int}", opt=READ, include_in_schema=False, sync_to_thread=True)
def kb_article(request: Req, article_id: FromPath[int]) -> Template:
    return _article_page(request, article_id)


@post("/kb/{article_id:int}", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def kb_update(request: Req, article_id: FromPath[int], data: FormData) -> Response[Any]:
    form = _article_form(data)
    if "category_id" in data and form["category_id"] is None:
        form["category_id"] = None
    try:
        kb.get_article(rt(request), principal_of(request), article_id)
        kb.update_article(rt(request), principal_of(request), actor_of(request), article_id, form)
    except ServiceError as exc:
        if exc.status == 404:
            raise
        return _article_page(request, article_id, error=exc.message, status_code=exc.status)
    return _back(f"/kb/{article_id}", "saved")


@post("/kb/{article_id:int}/delete", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def kb_delete(request: Req, article_id: FromPath[int]) -> Response[Any]:
    try:
        kb.delete_article(rt(request), principal_of(request), actor_of(request), article_id)
    except ServiceError as exc:
        if exc.status == 404:
            raise
        return _article_page(request, article_id, error=exc.message, status_code=exc.status)
    return _back("/kb", "saved")


@get("/tickets/{ticket_id:int}/kb", opt=READ, include_in_schema=False, sync_to_thread=True)
def ticket_kb_search(request: Req, ticket_id: FromPath[int], q: FromQuery[str] = "") -> Template:
    """The ticket page's article finder (an htmx fragment): matches for `q`, else suggestions from the subject."""
    from ninjait.tickets import service

    p = principal_of(request)
    ticket = service.get_ticket(rt(request), p, ticket_id)
    rows = kb.search(rt(request), p.tenant_id, q[:200] or ticket["subject"], any_word=not q, limit=8)
    return Template(template_name="tickets/_kb_results.html", context={
        "articles": rows, "ticket": ticket, "csrf": p.csrf_token, "can_write": p.can("tickets.write",
                                                                                     ticket["organization_id"])})


@post("/tickets/{ticket_id:int}/kb/{article_id:int}", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def ticket_kb_link(request: Req, ticket_id: FromPath[int], article_id: FromPath[int], data: FormData) -> Response[Any]:
    kb.link(rt(request), principal_of(request), actor_of(request), ticket_id, article_id,
            linked=field(data, "unlink", 5) != "1")
    return _back(f"/tickets/{ticket_id}", "ticket-updated")


route_handlers = [ArticleController, categories_index, categories_create, categories_remove, ticket_articles,
                  ticket_link, ticket_unlink, kb_page, kb_create, kb_category_create, kb_article, kb_update, kb_delete,
                  ticket_kb_search, ticket_kb_link]
