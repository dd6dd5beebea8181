"""Customer and organization pages: lists with search, profiles with their tickets, edit and
merge (with a confirmation step). Every agent may look customers up (as in the API); editing
and merging need a full agent. The tickets listed are only those the agent may see."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages as flash
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from frontdesk.accounts.permissions import check_full_agent
from frontdesk.core.errors import DomainError, Forbidden, NotFound
from frontdesk.core.schemas import id_page
from frontdesk.customers import selectors, services
from frontdesk.tickets.selectors import tickets_of_customer

from .customer_forms import (
    CustomerForm,
    NotesForm,
    OrganizationForm,
    customer_initial,
    organization_initial,
)
from .ticket_views import _local_time

PAGE_SIZE = 50
MERGE_CANDIDATES = 20


def _full_agent(request) -> None:
    try:
        check_full_agent(request.user)
    except Forbidden as exc:
        raise PermissionDenied(exc.detail) from exc


def _customer(customer_id: int, *, follow_merges: bool = True):
    try:
        return selectors.customer_get(customer_id=customer_id, follow_merges=follow_merges)
    except NotFound as exc:
        raise Http404("No such customer.") from exc


def _organization(organization_id: int, *, follow_merges: bool = True):
    try:
        return selectors.organization_get(organization_id=organization_id, follow_merges=follow_merges)
    except NotFound as exc:
        raise Http404("No such organization.") from exc


def _page(request, queryset):
    try:
        return id_page(queryset, cursor=request.GET.get("cursor") or None, limit=PAGE_SIZE)
    except DomainError:  # a mangled cursor: start from the beginning
        return id_page(queryset, cursor=None, limit=PAGE_SIZE)


def _can_edit(request) -> bool:
    return request.user.is_active and not request.user.is_light


# ---- customers -------------------------------------------------------------------------

@require_GET
def customer_list(request):
    query = request.GET.get("q", "").strip()[:200]
    rows, next_cursor = _page(request, selectors.customer_list(query=query))
    return render(request, "desk/customers/list.html", {
        "desk_section": "customers", "kind": "customer", "query": query, "rows": rows, "next_cursor": next_cursor,
    })


def _customer_context(request, customer, **extra) -> dict:
    return {
        "desk_section": "customers",
        "kind": "customer",
        "record": customer,
        "customer": customer,
        "customer_points": list(customer.contact_points.all()),
        "customer_org": customer.organization,
        "customer_local_time": _local_time(customer.time_zone),
        "customer_preferences": sorted((customer.preferences or {}).items()),
        "tickets": tickets_of_customer(agent=request.user, requester_id=customer.pk, limit=100),
        "can_edit_customer": _can_edit(request),
        **extra,
    }


@require_GET
def customer_detail(request, customer_id: int):
    customer = _customer(customer_id)
    if customer.pk != customer_id:  # merged: the record it lives on now
        return redirect("desk:customer", customer.pk)
    form = CustomerForm(initial=customer_initial(customer), customer=customer) if _can_edit(request) else None
    return render(request, "desk/customers/detail.html", _customer_context(request, customer, form=form))


@require_POST
def customer_edit(request, customer_id: int):
    _full_agent(request)
    customer = _customer(customer_id, follow_merges=False)
    form = CustomerForm(request.POST, customer=customer)

    def save():
        changes = form.service_arguments()
        changes["organization"] = _organization_for_form(changes.pop("organization_id"))
        services.customer_update(customer=customer, **changes)

    return _save(
        request, form, save, saved="Customer saved.", url_name="desk:customer", pk=customer_id,
        template="desk/customers/detail.html",
        context=lambda: _customer_context(request, _customer(customer_id, follow_merges=False), form=form),
    )


def _organization_for_form(org_id: int | None):
    return selectors.organization_get(organization_id=org_id, follow_merges=False) if org_id else None


def _save(request, form, save: Callable[[], object], *, saved: str, url_name: str, pk: int,
          template: str, context: Callable[[], dict]):
    """An edit form's post: ``save()`` if the form is valid, then back to the record's page;
    otherwise (invalid, or refused by the service) the page again with the form and a 400.
    ``context()`` re-reads the record, so the page shows what is stored: the unsaved edits are
    in the form only."""
    if form.is_valid():
        try:
            save()
        except DomainError as exc:
            form.add_error(None, exc.detail)
        else:
            flash.success(request, saved)
            return redirect(url_name, pk)
    return render(request, template, context(), status=400)


@require_POST
def customer_notes(request, customer_id: int):
    """Save the notes about a customer (from the customer panel of a ticket page)."""
    _full_agent(request)
    customer = _customer(customer_id, follow_merges=False)
    form = NotesForm(request.POST)
    error = None
    if form.is_valid():
        try:
            services.customer_update(customer=customer, notes=form.cleaned_data["notes"])
        except DomainError as exc:
            error = exc.detail
    else:
        error = "; ".join(form.errors.get("notes", ["Invalid notes."]))
    if not request.htmx:
        if error:
            flash.error(request, error)
        return redirect("desk:customer", customer.pk)
    return render(request, "desk/customers/_notes.html", {
        "customer": customer, "can_edit_customer": True, "notes_error": error, "notes_saved": error is None,
    })


@require_http_methods(["GET", "POST"])
def customer_merge(request, customer_id: int):
    """Merge this customer into another: search (GET ?q=), confirm (GET ?into=), merge (POST)."""
    _full_agent(request)
    return _merge_page(
        request, source=_customer(customer_id, follow_merges=False), kind="customer", section="customers",
        get=_customer, search=selectors.customer_list, merge=services.customer_merge,
        details=lambda source, target: {
            "target_points": list(target.contact_points.all()),
            "source_points": list(source.contact_points.all()),
        },
    )


def _merge_page(request, *, source, kind: str, section: str, get: Callable, search: Callable,
                merge: Callable, details: Callable[[Any, Any], dict] | None = None):
    """The merge steps for a customer or an organization (``kind``): search (GET ?q=), confirm
    (GET ?into=, with ``details(source, target)`` for the page), merge (POST). ``get`` reads a
    record or raises Http404; ``search`` and ``merge`` are the kind's selector and service."""
    if source.merged_into_id:
        flash.info(request, f"This {kind} was already merged.")
        return redirect(f"desk:{kind}", source.merged_into_id)
    context = {"desk_section": section, "source": source, "kind": kind}
    into = request.POST.get("into") or request.GET.get("into")
    if into:
        target = get(_id_or_404(into), follow_merges=False)
        if request.method == "POST":
            try:
                merge(source=source, target=target)
            except DomainError as exc:
                context.update(target=target, error=exc.detail)
                return render(request, "desk/customers/merge.html", context, status=exc.status)
            flash.success(request, f"{source} was merged into {target}.")
            return redirect(f"desk:{kind}", target.pk)
        context["target"] = target
        context.update(details(source, target) if details else {})
    else:
        query = request.GET.get("q", "").strip()[:200]
        candidates = search(query=query).exclude(pk=source.pk) if query else []
        context.update(query=query, candidates=list(candidates[:MERGE_CANDIDATES]) if query else [])
    return render(request, "desk/customers/merge.html", context)


def _id_or_404(value: str) -> int:
    try:
        return int(value)
    except ValueError as exc:
        raise Http404("No such record.") from exc


# ---- organizations ---------------------------------------------------------------------

@require_GET
def organization_list(request):
    query = request.GET.get("q", "").strip()[:200]
    rows, next_cursor = _page(request, selectors.organization_list(query=query))
    return render(request, "desk/customers/organization_list.html", {
        "desk_section": "organizations", "kind": "organization", "query": query, "rows": rows,
        "next_cursor": next_cursor,
    })


def _organization_context(request, organization, **extra) -> dict:
    members, more_members = _page(request, selectors.customer_list(organization_id=organization.pk))
    return {
        "desk_section": "organizations",
        "kind": "organization",
        "record": organization,
        "organization": organization,
        "members": members,
        "more_members": more_members,
        "tickets": tickets_of_customer(agent=request.user, organization_id=organization.pk, limit=100),
        "can_edit": _can_edit(request),
        **extra,
    }


@require_GET
def organization_detail(request, organization_id: int):
    organization = _organization(organization_id)
    if organization.pk != organization_id:
        return redirect("desk:organization", organization.pk)
    form = OrganizationForm(initial=organization_initial(organization)) if _can_edit(request) else None
    return render(request, "desk/customers/organization_detail.html",
                  _organization_context(request, organization, form=form))


@require_POST
def organization_edit(request, organization_id: int):
    _full_agent(request)
    organization = _organization(organization_id, follow_merges=False)
    form = OrganizationForm(request.POST)
    return _save(
        request, form, lambda: services.organization_update(organization=organization, **form.cleaned_data),
        saved="Organization saved.", url_name="desk:organization", pk=organization_id,
        template="desk/customers/organization_detail.html",
        context=lambda: _organization_context(
            request, _organization(organization_id, follow_merges=False), form=form),
    )


@require_http_methods(["GET", "POST"])
def organization_merge(request, organization_id: int):
    """Merge this organization into another: search, confirm, merge — as for customers."""
    _full_agent(request)
    return _merge_page(
        request, source=_organization(organization_id, follow_merges=False), kind="organization",
        section="organizations", get=_organization, search=selectors.organization_list,
        merge=services.organization_merge,
    )
