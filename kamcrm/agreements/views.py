"""Agreements UI: the agreement list, the agreement page (header, lines, the revenue schedule grid as it
stands now or stood at a past moment, the change history, orders), the create/edit form for drafts,
the actions (submit, sign, amend, suspend, resume, terminate, renew), orders, and the account 360's card.

Thin views (parse → selector or service → render). Every read goes through org.selectors.visible
(the agreements selectors do); an agreement the user may not see (or edit) is a 404, never a 403. The
services decide every rule; their ValidationError comes back onto the form field it names.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.humanize.templatetags.humanize import intcomma
from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kamcrm.agreements import selectors, services
from kamcrm.agreements.choices import AgreementStatus
from kamcrm.agreements.filtersets import AgreementFilterSet
from kamcrm.agreements.forms import (
    AgreementFilterForm,
    AgreementForm,
    AmendForm,
    AsOfForm,
    EffectiveForm,
    OrderDeliverForm,
    OrderFilterForm,
    OrderForm,
    RenewForm,
    SignForm,
    amend_line_formset,
    line_formset,
    order_line_formset,
)
from kamcrm.agreements.models import Agreement, Order
from kamcrm.core.forms import add_service_errors
from kamcrm.core.pagination import bounded_count, keyset_page
from kamcrm.core.services import validation_error_dict
from kamcrm.customers import selectors as customer_selectors
from kamcrm.org.selectors import EDIT, VIEW, can, get_visible_or_404, visible

__all__ = ["account_agreements", "agreement_action", "agreement_add", "agreement_amend", "agreement_detail",
           "agreement_edit", "agreement_list", "agreement_renew", "order_add", "order_deliver", "order_detail",
           "order_list"]

PAGE_SIZE = 50
ACCOUNT_CARD_ROWS = 8
ORDERS_ON_PAGE = 20
SORT_LABELS = {"-start": gettext_lazy("Latest start"), "end": gettext_lazy("Ending soonest"),
               "-value": gettext_lazy("Largest value"), "number": gettext_lazy("Number")}
DEFAULT_SORT = "-start"
ORDER_SORT = ["-ordered_on", "-id"]
# Which actions the agreement page offers in which status (the services check again and say why not).
ACTIONS: dict[str, tuple[str, ...]] = {
    "submit": (AgreementStatus.DRAFT,),
    "sign": tuple(services.EDITABLE_STATUSES),
    "amend": tuple(services.CHANGEABLE_STATUSES),
    "suspend": tuple(services.CHANGEABLE_STATUSES),
    "resume": (AgreementStatus.SUSPENDED,),
    "terminate": (*services.CHANGEABLE_STATUSES, AgreementStatus.SUSPENDED),
    "renew": (*services.CHANGEABLE_STATUSES, AgreementStatus.EXPIRED),
}
ACTION_DONE = {
    "submit": gettext_lazy("Agreement %(number)s submitted for approval."),
    "sign": gettext_lazy("Agreement %(number)s signed; its revenue schedule is written."),
    "suspend": gettext_lazy("Agreement %(number)s suspended."),
    "resume": gettext_lazy("Agreement %(number)s resumed."),
    "terminate": gettext_lazy("Agreement %(number)s terminated."),
}
LINE_FIELD_ALIASES = {"end": "end_date", "start": "start_date"}


# ---- helpers ------------------------------------------------------------------------------------

def _filters(request: HttpRequest) -> QueryDict:
    data = request.GET.copy()
    for key in ("sort", "cursor"):
        data.pop(key, None)
    return data


def _bad(*forms) -> int:  # noqa: ANN002
    return 400 if any(f.is_bound and f.errors for f in forms) else 200


def _count_label(count: int, capped: bool) -> str:
    return f"{intcomma(count)}+" if capped else intcomma(count)


def _apply_errors(form, formset, exc: ValidationError) -> list[str]:  # noqa: ANN001
    """A service's errors: `lines.<n>.<field>` onto that line's field, `lines` above the lines, the rest
    onto the form's fields (or as errors that name their key)."""
    errors = validation_error_dict(exc)
    line_errors = [str(m) for m in errors.pop("lines", [])]
    live = formset.live_forms() if formset is not None and hasattr(formset, "live_forms") else []
    rest: dict[str, list[str]] = {}
    for key, msgs in errors.items():
        parts = key.split(".", 2)
        if parts[0] == "lines" and len(parts) == 3 and parts[1].isdigit():
            index, name = int(parts[1]), LINE_FIELD_ALIASES.get(parts[2], parts[2])
            target = live[index] if index < len(live) else None
            if target is not None:
                for message in msgs:
                    target.add_error(name if name in target.fields else None, message)
                continue
            line_errors += [_("Line %(n)d: %(message)s") % {"n": index + 1, "message": m} for m in msgs]
            continue
        rest[key] = msgs
    if rest:
        add_service_errors(form, ValidationError(rest))
    return line_errors


def _grid_rows(grid: selectors.ScheduleGrid) -> list[dict[str, Any]]:
    return [{"line": line, "cells": cells, "total": sum((c for c in cells if c is not None), Decimal("0"))}
            for line, cells in grid.rows]


def _orders_of(user, **lookup: Any):  # noqa: ANN001
    return visible(Order.objects.filter(**lookup), user, VIEW)


# ---- list ---------------------------------------------------------------------------------------

@login_required
@require_GET
def agreement_list(request: HttpRequest) -> HttpResponse:
    form = AgreementFilterForm(request.GET)
    sort = request.GET.get("sort") or DEFAULT_SORT
    page, count, capped = None, 0, False
    if form.is_valid():
        filters = _filters(request)
        try:
            page = selectors.agreement_list(user=request.user, filters=filters, sort=sort,
                                            cursor=request.GET.get("cursor") or None, page_size=PAGE_SIZE)
            count, capped = bounded_count(AgreementFilterSet(data=filters,
                                                             queryset=selectors.agreement_queryset(request.user)).qs)
        except ValidationError as exc:
            add_service_errors(form, exc)
            page = None
    return render(request, "agreements/agreement_list.html", {
        "form": form, "page": page, "count": count, "count_label": _count_label(count, capped),
        "sort": sort, "sorts": list(SORT_LABELS.items()), "filtered": bool(form.active_filters()),
    }, status=_bad(form))


# ---- one agreement ------------------------------------------------------------------------------

def _action_forms(agreement: Agreement, bound: dict[str, Any] | None = None) -> dict[str, Any]:
    """The forms of the actions this agreement's status allows (a bound one when it came back with errors)."""
    bound = bound or {}
    status = agreement.status
    forms: dict[str, Any] = {}
    if status in ACTIONS["submit"]:
        forms["submit"] = True
    if status in ACTIONS["sign"]:
        forms["sign"] = bound.get("sign") or SignForm()
    for action in ("suspend", "resume", "terminate"):
        if status in ACTIONS[action]:
            forms[action] = bound.get(action) or EffectiveForm(action=action)
    for action in ("amend", "renew"):
        if status in ACTIONS[action]:
            forms[action] = True
    return forms


def _detail(request: HttpRequest, agreement: Agreement, *, bound: dict[str, Any] | None = None,
            action_errors: list[str] | None = None, status: int = 200) -> HttpResponse:
    as_of_form = AsOfForm(request.GET if "as_of" in request.GET else None)
    at = as_of_form.cleaned_data.get("as_of") if as_of_form.is_bound and as_of_form.is_valid() else None
    grid = selectors.schedule_grid(agreement=agreement, at=at)
    lines = [row[0] for row in grid.rows]
    may_edit = can(request.user, agreement, EDIT)
    orders = list(_orders_of(request.user, agreement=agreement).select_related("owner")
                  .order_by(*ORDER_SORT)[:ORDERS_ON_PAGE + 1])
    renewals = list(visible(agreement.renewals.all(), request.user, VIEW).order_by("-start_date", "-id")[:10])
    return render(request, "agreements/agreement.html", {
        "agreement": agreement, "account": agreement.account, "may_edit": may_edit,
        "lines": lines, "lines_total": sum((line.amount for line in lines), Decimal("0")),
        "grid": grid, "grid_rows": _grid_rows(grid), "as_of": at, "as_of_form": as_of_form,
        "changes": selectors.agreement_changes(agreement=agreement),
        "orders": orders[:ORDERS_ON_PAGE], "more_orders": len(orders) > ORDERS_ON_PAGE, "renewals": renewals,
        "actions": _action_forms(agreement, bound) if may_edit else {}, "open_action": next(iter(bound or {}), ""),
        "action_errors": action_errors or [],
        "editable": agreement.status in services.EDITABLE_STATUSES,
    }, status=400 if as_of_form.is_bound and as_of_form.errors and status == 200 else status)


@login_required
@require_GET
def agreement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, selectors.agreement_get(user=request.user, pk=pk))


def _form_page(request: HttpRequest, form, formset, *, agreement=None, account=None,  # noqa: ANN001
               line_errors: list[str] | None = None) -> HttpResponse:
    return render(request, "agreements/agreement_form.html", {
        "form": form, "formset": formset, "agreement": agreement, "account": account,
        "line_errors": line_errors or [],
    }, status=400 if request.method == "POST" else 200)


@login_required
@require_http_methods(["GET", "POST"])
def agreement_add(request: HttpRequest) -> HttpResponse:
    initial: dict[str, Any] = {"owner": request.user}
    account = None
    if request.GET.get("account"):
        try:
            account = customer_selectors.account_get(user=request.user, pk=int(request.GET["account"]), action=EDIT)
        except ValueError:
            account = None
        if account is not None:
            initial["account"] = account
    if request.GET.get("opportunity", "").isdigit():
        initial["opportunity"] = int(request.GET["opportunity"])
    form = AgreementForm(request.POST or None, user=request.user, initial=initial)
    formset = line_formset(request.POST or None)
    line_errors: list[str] = []
    if request.method == "POST":
        form_ok, lines_ok = form.is_valid(), formset.is_valid()
        if form_ok and lines_ok:
            try:
                agreement = services.agreement_create_for(user=request.user,
                                                          **form.service_data(formset.service_lines()))
            except ValidationError as exc:
                line_errors = _apply_errors(form, formset, exc)
            else:
                messages.success(request, _("Agreement %(number)s created as a draft.") % {"number": agreement.number})
                return redirect("agreements:agreement", pk=agreement.pk)
    return _form_page(request, form, formset, account=account, line_errors=line_errors)


@login_required
@require_http_methods(["GET", "POST"])
def agreement_edit(request: HttpRequest, pk: int) -> HttpResponse:
    agreement = selectors.agreement_get(user=request.user, pk=pk)
    if not can(request.user, agreement, EDIT):
        raise Http404
    if agreement.status not in services.EDITABLE_STATUSES:
        messages.error(request, _("A signed agreement changes through an amendment, not by editing it."))
        return redirect("agreements:agreement", pk=agreement.pk)
    form = AgreementForm(request.POST or None, user=request.user, agreement=agreement)
    lines = selectors.agreement_lines(agreement=agreement)
    formset = line_formset(request.POST or None, lines=lines, extra=1 if lines else 2)
    line_errors: list[str] = []
    if request.method == "POST":
        form_ok, lines_ok = form.is_valid(), formset.is_valid()
        if form_ok and lines_ok:
            try:
                agreement = services.agreement_update_for(user=request.user, agreement_id=agreement.pk,
                                                          data=form.service_data(formset.service_lines()))
            except ValidationError as exc:
                line_errors = _apply_errors(form, formset, exc)
            else:
                messages.success(request, _("Agreement %(number)s saved.") % {"number": agreement.number})
                return redirect("agreements:agreement", pk=agreement.pk)
    return _form_page(request, form, formset, agreement=agreement, account=agreement.account,
                      line_errors=line_errors)


@login_required
@require_POST
def agreement_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Submit, sign, suspend, resume or terminate from the agreement page. A refusal re-renders the page
    with the action's form open and the service's message on the field it names."""
    if action not in ACTION_DONE:
        raise Http404
    agreement = selectors.agreement_get(user=request.user, pk=pk)
    if not can(request.user, agreement, EDIT):
        raise Http404
    form: Any = None
    if action == "sign":
        form = SignForm(request.POST)
    elif action in ("suspend", "resume", "terminate"):
        form = EffectiveForm(request.POST, action=action)
    errors: list[str] = []
    if form is None or form.is_valid():
        c = form.cleaned_data if form is not None else {}
        call = {
            "submit": lambda: services.agreement_submit_for(user=request.user, agreement_id=pk),
            "sign": lambda: services.agreement_sign_for(user=request.user, agreement_id=pk,
                                                        signed_on=c.get("signed_on")),
            "suspend": lambda: services.agreement_suspend_for(user=request.user, agreement_id=pk,
                                                              effective=c["effective"], note=c.get("note") or ""),
            "resume": lambda: services.agreement_resume_for(user=request.user, agreement_id=pk,
                                                            effective=c["effective"], note=c.get("note") or ""),
            "terminate": lambda: services.agreement_terminate_for(user=request.user, agreement_id=pk,
                                                                  effective=c["effective"],
                                                                  note=c.get("note") or ""),
        }[action]
        try:
            call()
        except ValidationError as exc:
            if form is not None:
                add_service_errors(form, exc, field_map={"effective_date": "effective"})
            else:
                errors = [f"{m}" for msgs in validation_error_dict(exc).values() for m in msgs]
        else:
            messages.success(request, ACTION_DONE[action] % {"number": agreement.number})
            return redirect("agreements:agreement", pk=pk)
    agreement = selectors.agreement_get(user=request.user, pk=pk)  # as it is now (nothing changed)
    return _detail(request, agreement, bound={action: form} if form is not None else {}, action_errors=errors,
                   status=400)


@login_required
@require_http_methods(["GET", "POST"])
def agreement_amend(request: HttpRequest, pk: int) -> HttpResponse:
    agreement = selectors.agreement_get(user=request.user, pk=pk)
    if not can(request.user, agreement, EDIT):
        raise Http404
    lines = selectors.agreement_lines(agreement=agreement)
    form = AmendForm(request.POST or None)
    changes = amend_line_formset(request.POST or None, lines=lines)
    added = line_formset(request.POST or None, extra=1, prefix="add", can_delete=False)
    line_errors: list[str] = []
    if request.method == "POST":
        ok = [form.is_valid(), changes.is_valid(), added.is_valid()]
        if all(ok):
            rows, removed = changes.service_changes()
            try:
                services.agreement_amend_for(user=request.user, agreement_id=pk,
                                             effective=form.cleaned_data["effective"], lines=rows,
                                             add=added.service_lines(), remove=removed,
                                             end_date=form.cleaned_data.get("end_date"),
                                             note=form.cleaned_data.get("note") or "")
            except ValidationError as exc:
                line_errors = _apply_errors(form, None, ValidationError(
                    {("effective" if k == "effective_date" else k): v
                     for k, v in validation_error_dict(exc).items()}))
            else:
                messages.success(request, _("Agreement %(number)s amended from %(date)s.")
                                 % {"number": agreement.number, "date": form.cleaned_data["effective"].isoformat()})
                return redirect("agreements:agreement", pk=pk)
    elif agreement.status not in ACTIONS["amend"]:
        messages.error(request, _("Only a signed or active agreement can be amended (it is %(status)s).")
                       % {"status": agreement.get_status_display()})
        return redirect("agreements:agreement", pk=pk)
    return render(request, "agreements/agreement_amend.html", {
        "agreement": agreement, "account": agreement.account, "form": form, "changes": changes, "added": added,
        "line_errors": line_errors + [str(e) for e in changes.non_form_errors()],
    }, status=400 if request.method == "POST" else 200)


@login_required
@require_http_methods(["GET", "POST"])
def agreement_renew(request: HttpRequest, pk: int) -> HttpResponse:
    agreement = selectors.agreement_get(user=request.user, pk=pk)
    if not can(request.user, agreement, EDIT):
        raise Http404
    form = RenewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            renewal = services.agreement_renew_for(user=request.user, agreement_id=pk, **form.service_data())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Renewal %(number)s created as a draft; signing it marks %(old)s renewed.")
                             % {"number": renewal.number, "old": agreement.number})
            return redirect("agreements:agreement", pk=renewal.pk)
    return render(request, "agreements/agreement_renew.html", {
        "agreement": agreement, "account": agreement.account, "form": form,
    }, status=400 if request.method == "POST" else 200)


# ---- the account 360's card ----------------------------------------------------------------------

@login_required
@require_GET
def account_agreements(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx partial for the account 360 page: the account's agreements (a fixed number of queries)."""
    account = customer_selectors.account_get(user=request.user, pk=pk)
    qs = selectors.agreement_queryset(request.user).filter(account_id=account.pk)
    items = list(qs.order_by("-start_date", "-id")[:ACCOUNT_CARD_ROWS])
    count, capped = bounded_count(qs)
    running = qs.filter(status__in=(AgreementStatus.SIGNED, AgreementStatus.ACTIVE)).aggregate(v=Sum("total_value"))
    return render(request, "agreements/_account_agreements.html", {
        "account": account, "items": items, "count_label": _count_label(count, capped),
        "running_value": running["v"] or Decimal("0"), "may_edit": can(request.user, account, EDIT),
    })


# ---- orders -------------------------------------------------------------------------------------

@login_required
@require_GET
def order_list(request: HttpRequest) -> HttpResponse:
    """Orders of what the user may see, optionally of one account or one agreement."""
    form = OrderFilterForm(request.GET)
    page, agreement = None, None
    if form.is_valid():
        qs = _orders_of(request.user).select_related("account", "agreement", "owner")
        if form.cleaned_data.get("account"):
            qs = qs.filter(account=form.cleaned_data["account"])
        if form.cleaned_data.get("agreement"):
            agreement = selectors.agreement_get(user=request.user, pk=form.cleaned_data["agreement"])
            qs = qs.filter(agreement=agreement)
        try:
            page = keyset_page(qs, order=ORDER_SORT, cursor=request.GET.get("cursor") or None, page_size=PAGE_SIZE)
        except ValidationError as exc:
            add_service_errors(form, exc)
    return render(request, "agreements/order_list.html", {
        "form": form, "page": page, "agreement": agreement, "filtered": bool(form.active_filters()),
    }, status=_bad(form))


def _order_get(user, pk: int) -> Order:  # noqa: ANN001
    return get_visible_or_404(Order.objects.select_related("account", "agreement", "owner"), user, VIEW, pk=pk)


def _order_page(request: HttpRequest, order: Order, *, deliver_form: OrderDeliverForm | None = None,
                status: int = 200) -> HttpResponse:
    return render(request, "agreements/order.html", {
        "order": order, "account": order.account, "lines": list(order.lines.select_related("product").order_by("id")),
        "may_edit": can(request.user, order, EDIT), "deliver_form": deliver_form,
    }, status=status)


@login_required
@require_GET
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _order_page(request, _order_get(request.user, pk))


@login_required
@require_http_methods(["GET", "POST"])
def order_add(request: HttpRequest) -> HttpResponse:
    initial: dict[str, Any] = {"owner": request.user, "ordered_on": None}
    agreement = None
    if request.GET.get("agreement", "").isdigit():
        agreement = selectors.agreement_get(user=request.user, pk=int(request.GET["agreement"]))
        initial.update(account=agreement.account, agreement=agreement.pk)
    elif request.GET.get("account", "").isdigit():
        initial["account"] = customer_selectors.account_get(user=request.user, pk=int(request.GET["account"]),
                                                            action=EDIT)
    lines_initial = None
    if agreement is not None and request.method == "GET":
        lines_initial = [{"product": line.product_id, "quantity": line.quantity, "unit_price": line.unit_price}
                         for line in selectors.agreement_lines(agreement=agreement)]
    form = OrderForm(request.POST or None, user=request.user, initial=initial)
    formset = order_line_formset(request.POST or None, initial=lines_initial, extra=1 if lines_initial else 3)
    line_errors: list[str] = []
    if request.method == "POST":
        form_ok, lines_ok = form.is_valid(), formset.is_valid()
        if form_ok and lines_ok:
            try:
                order = services.order_create_for(user=request.user, **form.service_data(formset.service_lines()))
            except ValidationError as exc:
                errors = validation_error_dict(exc)
                line_errors = [f"{m}" for key in list(errors) if key.startswith("lines") for m in errors.pop(key)]
                if errors:
                    add_service_errors(form, ValidationError(errors))
            else:
                messages.success(request, _("Order %(number)s created.") % {"number": order.number})
                return redirect("agreements:order", pk=order.pk)
    return render(request, "agreements/order_form.html", {
        "form": form, "formset": formset, "agreement": agreement, "line_errors": line_errors,
    }, status=400 if request.method == "POST" else 200)


@login_required
@require_POST
def order_deliver(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order_get(request.user, pk)
    if not can(request.user, order, EDIT):
        raise Http404
    form = OrderDeliverForm(request.POST)
    if form.is_valid():
        try:
            services.order_deliver_for(user=request.user, order_id=pk, line_id=form.cleaned_data["line"],
                                       quantity=form.cleaned_data["quantity"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Delivery recorded on order %(number)s.") % {"number": order.number})
            return redirect("agreements:order", pk=pk)
    return _order_page(request, _order_get(request.user, pk), deliver_form=form, status=400)
