"""Workspace pages: the inbox, saved views, bulk actions, global search. Thin: parse the
request, call selectors and services, render. Sign-in pages are in auth_views.py; the
``DeskAccessMiddleware`` guards every view here."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from frontdesk.core.errors import DomainError
from frontdesk.tickets.selectors import WINDOW_SORTS, ticket_window

from . import selectors, services
from .html import options_html

PAGE_SIZE = 25


def _params(querydict) -> dict[str, list[str]]:
    return services.clean_params({name: querydict.getlist(name) for name in services.FILTER_PARAMS})


def inbox(request: HttpRequest, slug: str = "mine"):
    """A view's tickets, a page at a time. Without ``f`` in the query the view's own filters
    apply; the filter form sends ``f=1`` with every field, which then replaces them."""
    agent = request.user
    views = selectors.inbox_views(agent=agent)
    view = selectors.inbox_view_get(agent=agent, slug=slug, views=views)
    if view is None:
        raise Http404("No such view.")
    customised = "f" in request.GET
    params = _params(request.GET) if customised else view.params
    sort = request.GET.get("sort") or view.sort
    if sort not in WINDOW_SORTS:
        sort = view.sort
    error = ""
    try:
        filters = selectors.filters_from_params(agent=agent, params=params)
        window = ticket_window(
            agent=agent, filters=filters, sort=sort, after=request.GET.get("after") or None,
            before=request.GET.get("before") or None, limit=PAGE_SIZE, list_rows=True,
        )
    except (selectors.BadFilter, DomainError) as problem:
        error = getattr(problem, "detail", None) or str(problem)
        window = None
    base_query = {name: values for name, values in params.items()} if customised else {}
    if customised:
        base_query["f"] = ["1"]
    if sort != view.sort:
        base_query["sort"] = [sort]

    def page_url(**cursor) -> str:
        return "?" + urlencode({**base_query, **{k: [v] for k, v in cursor.items()}}, doseq=True)

    choices = selectors.filter_choices()
    context = {
        "desk_section": "unassigned" if slug == "unassigned" else "inbox",
        "views": views,
        "view": view,
        "view_list": _view_list(views, selectors.view_counts(agent=agent, views=views)),
        "tickets": window.rows if window else [],
        "next_url": page_url(after=window.next_cursor) if window and window.next_cursor else "",
        "previous_url": page_url(before=window.previous_cursor) if window and window.previous_cursor else "",
        "error": error,
        "params": params,
        "customised": customised,
        "sort": sort,
        "choices": choices,
        **_people_options(choices, params=params, agent=agent),
        "labels": selectors.filter_labels(params=params),
        "return_to": request.get_full_path(),
        "can_write": not agent.is_light,
        "save_query": urlencode({**params, "sort": [sort]}, doseq=True),
    }
    # htmx requests (bulk actions) get the whole page too and pick #inbox-main and the view
    # counts out of it (hx-select, hx-select-oob): one template, no second rendering path.
    return render(request, "desk/inbox.html", context, status=400 if error else 200)


def _people_options(choices: dict, *, params: dict[str, list[str]], agent) -> dict:
    """The group and agent ``<option>`` elements of the filter form and the bulk bar."""
    groups, assignees = set(params.get("group", [])), set(params.get("assignee", []))
    return {
        "group_options": options_html(choices["groups"], is_selected=lambda pk: str(pk) in groups),
        "assignee_options": options_html(choices["agents"], is_selected=lambda pk: str(pk) in assignees),
        "bulk_assignee_options": options_html([(pk, name) for pk, name in choices["agents"] if pk != agent.pk]),
    }


def _view_list(views: list[selectors.InboxView], counts: dict[str, int]) -> list[dict]:
    rows = []
    for view in views:
        count = counts.get(view.slug, 0)
        capped = count > selectors.COUNT_CAP
        rows.append({
            "slug": view.slug, "name": view.name,
            "count_label": f"{selectors.COUNT_CAP:,}+" if capped else f"{count:,}",
            "count_title": f"More than {selectors.COUNT_CAP:,} tickets" if capped else f"{count:,} tickets",
        })
    return rows


def _back(request: HttpRequest, fallback: str = "desk:inbox"):
    target = request.POST.get("return_to") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}) \
            and target.startswith("/desk/"):
        return redirect(target)
    return redirect(fallback)


@require_POST
def bulk(request: HttpRequest):
    """Apply an action to the selected tickets, report per ticket, go back to the list."""
    data = request.POST
    try:
        assignee_id = int(data["assignee"]) if data.get("assignee", "").isdigit() else None
        result = services.tickets_bulk_apply(
            agent=request.user, references=data.getlist("t"), action=data.get("action", ""),
            assignee_id=assignee_id, unassign=data.get("assignee") == "none",
            status=data.get("status", ""), tag=data.get("tag", ""),
            target_reference=data.get("target", ""),
            incident_id=int(data["incident"]) if data.get("incident", "").isdigit() else None,
        )
    except DomainError as error:
        messages.error(request, error.detail)
        return _back(request)
    if result.done:
        count = len(result.done)
        messages.success(request, f"{count} ticket{'s' if count != 1 else ''} updated: {', '.join(result.done)}.")
    for reference, why in result.failed:
        messages.error(request, f"{reference}: {why}")
    return _back(request)


@require_POST
def view_save(request: HttpRequest):
    params = {name: request.POST.getlist(name) for name in services.FILTER_PARAMS}
    try:
        view = services.saved_view_create(
            agent=request.user, name=request.POST.get("name", ""), params=params,
            sort=request.POST.get("sort") or "-updated_at",
        )
    except DomainError as error:
        messages.error(request, error.detail)
        return _back(request)
    messages.success(request, f"Saved view “{view.name}”.")
    return redirect("desk:view", slug=view.slug)


@require_POST
def view_delete(request: HttpRequest, slug: str):
    try:
        services.saved_view_delete(agent=request.user, slug=slug)
    except DomainError as error:
        raise Http404(error.detail) from error
    messages.success(request, "View deleted.")
    return redirect("desk:inbox")


def search(request: HttpRequest):
    query = request.GET.get("q", "")
    cursor = request.GET.get("cursor") or None
    try:
        results = selectors.search(agent=request.user, query=query, cursor=cursor)
        error = ""
    except DomainError as problem:  # a bad date, status or cursor: say what is wrong
        results = selectors.SearchResults(query=" ".join(query.split()), tickets=[], customers=[])
        error = problem.detail
    more_url = "?" + urlencode({"q": results.query, "cursor": results.next_cursor}) if results.next_cursor else ""
    return render(request, "desk/search.html", {
        "search_query": results.query, "results": results, "desk_section": "search", "error": error,
        "more_url": more_url, "paged": bool(cursor),
    }, status=400 if error else 200)


def reports(request: HttpRequest):
    """The index of the workspace's reports (each page checks its own permissions)."""
    return render(request, "desk/reports.html", {"desk_section": "reports"})
