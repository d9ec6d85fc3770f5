"""Receivables UI: the receivables page (aging as of a day by bucket, account and owning unit with
drill-down to the invoices behind each figure, DSO, paid-late figures, largest balances), the invoice
list and page (allocations, promises, collection activities and the forms that record them), a new
invoice, and the account 360's card.

Thin views (parse → selector or service → render). Every read goes through the selectors, which go
through org.selectors.visible; an invoice the user may not see — or, for a change, edit — is a 404.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.humanize.templatetags.humanize import intcomma
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kamcrm.core.forms import add_service_errors
from kamcrm.core.pagination import bounded_count
from kamcrm.customers import selectors as customer_selectors
from kamcrm.org.selectors import EDIT, can
from kamcrm.receivables import selectors, services
from kamcrm.receivables.forms import (
    ActivityForm,
    AdvanceForm,
    AgingFilterForm,
    InvoiceFilterForm,
    InvoiceForm,
    PaymentForm,
    PromiseForm,
)
from kamcrm.receivables.models import Invoice

__all__ = ["account_receivables", "invoice_action", "invoice_add", "invoice_detail", "invoice_list", "overview"]

PAGE_SIZE = 50
TOP_ACCOUNTS = 20
ACCOUNT_CARD_ROWS = 5
SORT_LABELS = {"-date": gettext_lazy("Newest first"), "due": gettext_lazy("Due first"),
               "number": gettext_lazy("Number")}


def _bad(*forms) -> int:  # noqa: ANN002
    return 400 if any(f.is_bound and f.errors for f in forms) else 200


def _list_url(**params: Any) -> str:
    query = {k: getattr(v, "pk", v) for k, v in params.items() if v not in (None, "")}
    return f"{reverse('receivables:invoice_list')}?{urlencode(query)}"


# ---- the receivables page ------------------------------------------------------------------------

@login_required
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    form = AgingFilterForm(request.GET)
    context: dict[str, Any] = {"form": form, "filtered": False}
    if form.is_valid():
        scope = form.scope()
        as_of = form.cleaned_data.get("as_of") or timezone.localdate()
        by_account = selectors.aging(user=request.user, as_of=as_of, filters=scope, group_by="account",
                                     limit=TOP_ACCOUNTS)
        by_unit = selectors.aging(user=request.user, as_of=as_of, filters=scope, group_by="unit")
        late_filters = {k: v.pk for k, v in scope.items()}
        for name, target in (("invoiced_from", "invoice_from"), ("invoiced_to", "invoice_to")):
            if form.cleaned_data.get(name):
                late_filters[target] = form.cleaned_data[name].isoformat()
        drill = {**scope, "as_of": as_of.isoformat()}
        total = by_account.totals.total
        buckets = [{"bucket": b, "url": _list_url(**drill, bucket=b.code),
                    "share": round(float(b.amount / total * 100), 1) if total else 0}
                   for b in by_account.totals.bucket_list]
        for aging, key in ((by_account, "account"), (by_unit, "owner_unit")):
            for row in aging.rows:
                narrowed = {**drill, key: row.key}
                for bucket in row.bucket_list:
                    bucket.url = _list_url(**narrowed, bucket=bucket.code)
                row.url = _list_url(**narrowed)
        late = selectors.paid_late(user=request.user, filters=late_filters)
        context.update({
            "as_of": as_of, "aging": by_account, "units": by_unit, "buckets": buckets,
            "dso": selectors.dso(user=request.user, as_of=as_of, filters=scope),
            "late": late,
            "late_pct": (late.late_share * 100).quantize(Decimal("0.1")) if late.late_share is not None else None,
            "open_url": _list_url(**drill),
            "overdue_url": _list_url(**scope, overdue="true"),
            "late_url": _list_url(**late_filters, status="paid"),
            "filtered": bool(form.active_filters()),
        })
    return render(request, "receivables/overview.html", context, status=_bad(form))


# ---- invoices ------------------------------------------------------------------------------------

def _filters(request: HttpRequest) -> QueryDict:
    data = request.GET.copy()
    for key in ("sort", "cursor"):
        data.pop(key, None)
    return data


@login_required
@require_GET
def invoice_list(request: HttpRequest) -> HttpResponse:
    form = InvoiceFilterForm(request.GET)
    sort = request.GET.get("sort") or "-date"
    page, count, capped = None, 0, False
    if form.is_valid():
        filters = _filters(request)
        try:
            page = selectors.invoice_list(user=request.user, filters=filters, sort=sort,
                                          cursor=request.GET.get("cursor") or None, page_size=PAGE_SIZE)
            count, capped = bounded_count(selectors.invoice_filtered(user=request.user, filters=filters))
        except ValidationError as exc:
            add_service_errors(form, exc)
            page = None
    as_of = form.cleaned_data.get("as_of") if form.is_valid() else None
    if page is not None and (as_of or (form.cleaned_data.get("bucket") if form.is_valid() else None)):
        as_of = as_of or timezone.localdate()
        for invoice in page.items:
            invoice.open_then = selectors.money(getattr(invoice, "open_cents", 0))
    today = timezone.localdate()
    if page is not None:
        for invoice in page.items:
            invoice.days_overdue = (today - invoice.due_date).days if (
                invoice.status in ("open", "partly_paid") and invoice.due_date < today) else 0
    return render(request, "receivables/invoice_list.html", {
        "form": form, "page": page, "count": count, "count_label": f"{intcomma(count)}+" if capped else intcomma(count),
        "sort": sort, "sorts": list(SORT_LABELS.items()), "filtered": bool(form.active_filters()),
        "as_of": as_of,
    }, status=_bad(form))


def _invoice_page(request: HttpRequest, invoice: Invoice, *, forms: dict[str, Any] | None = None,
                  status: int = 200) -> HttpResponse:
    may_edit = can(request.user, invoice, EDIT)
    advances = selectors.account_advances(user=request.user, account_id=invoice.account_id) if may_edit else []
    forms = forms or {}
    open_now = invoice.balance
    if may_edit:
        forms.setdefault("payment", PaymentForm(initial={"received_on": timezone.localdate(), "amount": open_now}))
        forms.setdefault("advance", AdvanceForm(advances=advances))
        forms.setdefault("promise", PromiseForm(initial={"amount": open_now}))
        forms.setdefault("activity", ActivityForm())
    today = timezone.localdate()
    return render(request, "receivables/invoice.html", {
        "invoice": invoice, "account": invoice.account, "may_edit": may_edit,
        "allocations": selectors.invoice_allocations(invoice=invoice),
        "promises": selectors.invoice_promises(invoice=invoice),
        "activities": selectors.invoice_activities(invoice=invoice),
        "advances": advances,
        "days_overdue": (today - invoice.due_date).days if (invoice.status in ("open", "partly_paid")
                                                            and invoice.due_date < today) else 0,
        "days_late": max(0, (invoice.settled_on - invoice.due_date).days) if invoice.settled_on else None,
        **{f"{name}_form": f for name, f in forms.items()},
    }, status=status)


@login_required
@require_GET
def invoice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _invoice_page(request, selectors.invoice_get(user=request.user, pk=pk))


ACTIONS = {
    "payment": (PaymentForm, gettext_lazy("Payment of %(amount)s recorded.")),
    "advance": (AdvanceForm, gettext_lazy("Advance applied.")),
    "promise": (PromiseForm, gettext_lazy("Promise to pay recorded.")),
    "activity": (ActivityForm, gettext_lazy("Collection activity logged.")),
    "void": (None, gettext_lazy("Invoice voided.")),
}


@login_required
@require_POST
def invoice_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Record a payment (with its allocation), apply an advance, a promise or a collection activity,
    or void the invoice: a form posted from the invoice page, back to it with a message, or the page
    again with the form's errors (400)."""
    if action not in ACTIONS:
        raise Http404
    invoice = selectors.invoice_get(user=request.user, pk=pk)
    if not can(request.user, invoice, EDIT):
        raise Http404
    form_class, done = ACTIONS[action]
    by = request.user
    if form_class is None:  # void
        try:
            services.invoice_void(invoice=invoice, by=by)
        except ValidationError as exc:
            messages.error(request, " ".join(m for ms in exc.message_dict.values() for m in ms))
        else:
            messages.success(request, str(done))
        return redirect("receivables:invoice", pk=invoice.pk)
    kwargs: dict[str, Any] = {}
    if action == "advance":
        kwargs["advances"] = selectors.account_advances(user=request.user, account_id=invoice.account_id)
    form = form_class(request.POST, **kwargs)
    if form.is_valid():
        c = form.cleaned_data
        try:
            if action == "payment":
                payment = services.invoice_payment_record(
                    invoice=invoice, received_on=c["received_on"], amount=c["amount"], allocate=c.get("allocate"),
                    method=c["method"], reference=c.get("reference") or "", by=by)
                message = done % {"amount": payment.amount}
                if payment.unallocated:
                    message += " " + _("%(left)s stays on the account as an advance.") % {"left": payment.unallocated}
            elif action == "advance":
                payment = next(p for p in kwargs["advances"] if p.pk == c["payment"])
                services.advance_apply(payment=payment, invoice=invoice, amount=c.get("amount"), by=by)
                message = str(done)
            elif action == "promise":
                services.promise_create(account=invoice.account, invoice=invoice, promised_on=c["promised_on"],
                                        amount=c["amount"], note=c.get("note") or "", by=by)
                message = str(done)
            else:
                services.activity_log(account=invoice.account, invoice=invoice, kind=c["kind"],
                                      note=c.get("note") or "", by=by)
                message = str(done)
        except (ValidationError, StopIteration) as exc:
            if isinstance(exc, StopIteration):
                form.add_error("payment", _("Select a valid choice."))
            else:
                add_service_errors(form, exc, field_map={"received_on": "received_on", "promised_on": "promised_on"})
        else:
            messages.success(request, message)
            return redirect(f"{reverse('receivables:invoice', args=[invoice.pk])}#{action}")
    invoice = selectors.invoice_get(user=request.user, pk=pk)
    return _invoice_page(request, invoice, forms={action: form}, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def invoice_add(request: HttpRequest) -> HttpResponse:
    initial: dict[str, Any] = {"invoice_date": timezone.localdate()}
    account = None
    if request.GET.get("account"):
        try:
            account = customer_selectors.account_get(user=request.user, pk=int(request.GET["account"]), action=EDIT)
        except (ValueError, Http404):
            account = None
        if account is not None:
            initial["account"] = account
    form = InvoiceForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.service_data()
        if not can(request.user, data["account"], EDIT):
            form.add_error("account", _("You may not edit this account's receivables."))
        else:
            try:
                invoice = services.invoice_create(by=request.user, **data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Invoice %(n)s created.") % {"n": invoice.number})
                return redirect("receivables:invoice", pk=invoice.pk)
    return render(request, "receivables/invoice_form.html", {"form": form, "account": account},
                  status=400 if request.method == "POST" else 200)


# ---- the account 360's card ----------------------------------------------------------------------

@login_required
@require_GET
def account_receivables(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx partial for the account 360 page: balance, overdue, advances, aging today and the oldest
    open invoices (a fixed number of queries)."""
    account = customer_selectors.account_get(user=request.user, pk=pk)
    data = selectors.account_receivables(user=request.user, account=account, limit=ACCOUNT_CARD_ROWS)
    drill = {"account": account.pk, "as_of": data.aging.as_of.isoformat()}
    return render(request, "receivables/_account_receivables.html", {
        "account": account, "data": data, "may_edit": can(request.user, account, EDIT),
        "buckets": [{"bucket": b, "url": _list_url(**drill, bucket=b.code)} for b in data.aging.totals.bucket_list],
        "list_url": _list_url(account=account.pk), "group_url": _list_url(group=account.pk),
        "count_label": f"{intcomma(data.open_count)}+" if data.open_capped else intcomma(data.open_count),
    })
