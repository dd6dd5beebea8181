"""Customer and organization pages: lists with search, profiles with their tickets, edit and
merge (with a confirmation step). Every agent may look customers up (as in the API); editing
and merging need a full agent. The tickets listed are only those the agent may see."""

from __future__ import annotations

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
        "desk_section": "customers", "query": query, "customers": rows, "next_cursor": next_cursor,
    })


def _customer_context(request, customer, **extra) -> dict:
    return {
        "desk_section": "customers",
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
    if form.is_valid():
        changes = form.service_arguments()
        try:
            org_id = changes.pop("organization_id")
            changes["organization"] = _organization_for_form(org_id)
            services.customer_update(customer=customer, **changes)
        except DomainError as exc:
            form.add_error(None, exc.detail)
        else:
            flash.success(request, "Customer saved.")
            return redirect("desk:customer", customer.pk)
    customer = _customer(customer_id, follow_merges=False)  # the unsaved edits are in the form only
    return render(request, "desk/customers/detail.html",
                  _customer_context(request, customer, form=form), status=400)


def _organization_for_form(org_id: int | None):
    return selectors.organization_get(organization_id=org_id, follow_merges=False) if org_id else None


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
    source = _customer(customer_id, follow_merges=False)
    if source.merged_into_id:
        flash.info(request, "This customer was already merged.")
        return redirect("desk:customer", source.merged_into_id)
    context = {"desk_section": "customers", "source": source, "kind": "customer"}
    into = request.POST.get("into") or request.GET.get("into")
    if into:
        target = _customer(_id_or_404(into), follow_merges=False)
        if request.method == "POST":
            try:
                services.customer_merge(source=source, target=target)
            except DomainError as exc:
                context.update(target=target, error=exc.detail)
                return render(request, "desk/customers/merge.html", context, status=exc.status)
            flash.success(request, f"{source} was merged into {target}.")
            return redirect("desk:customer", target.pk)
        context["target"] = target
        context["target_points"] = list(target.contact_points.all())
        context["source_points"] = list(source.contact_points.all())
    else:
        query = request.GET.get("q", "").strip()[:200]
        candidates = selectors.customer_list(query=query).exclude(pk=source.pk) if query else []
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
        "desk_section": "organizations", "query": query, "organizations": rows, "next_cursor": next_cursor,
    })


def _organization_context(request, organization, **extra) -> dict:
    members, more_members = _page(request, selectors.customer_list(organization_id=organization.pk))
    return {
        "desk_section": "organizations",
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
    if form.is_valid():
        try:
            services.organization_update(organization=organization, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(None, exc.detail)
        else:
            flash.success(request, "Organization saved.")
            return redirect("desk:organization", organization.pk)
    organization = _organization(organization_id, follow_merges=False)
    return render(request, "desk/customers/organization_detail.html",
                  _organization_context(request, organization, form=form), status=400)


@require_http_methods(["GET", "POST"])
def organization_merge(request, organization_id: int):
    """Merge this organization into another: search, confirm, merge — as for customers."""
    _full_agent(request)
    source = _organization(organization_id, follow_merges=False)
    if source.merged_into_id:
        flash.info(request, "This organization was already merged.")
        return redirect("desk:organization", source.merged_into_id)
    context = {"desk_section": "organizations", "source": source, "kind": "organization"}
    into = request.POST.get("into") or request.GET.get("into")
    if into:
        target = _organization(_id_or_404(into), follow_merges=False)
        if request.method == "POST":
            try:
                services.organization_merge(source=source, target=target)
            except DomainError as exc:
                context.update(target=target, error=exc.detail)
                return render(request, "desk/customers/merge.html", context, status=exc.status)
            flash.success(request, f"{source} was merged into {target}.")
            return redirect("desk:organization", target.pk)
        context["target"] = target
    else:
        query = request.GET.get("q", "").strip()[:200]
        candidates = selectors.organization_list(query=query).exclude(pk=source.pk) if query else []
        context.update(query=query, candidates=list(candidates[:MERGE_CANDIDATES]) if query else [])
    return render(request, "desk/customers/merge.html", context)
