"""Every write to receivables (K5): invoices, payments and their allocation, collection promises and
activities, and the daily overdue check (alert the owner, escalate to their manager after N days).

An invoice's `paid_amount`, `status` and `settled_on` follow from its allocations and are set here
only; a payment's `allocated` likewise. Each write refreshes the account's revenue facts (billed by
invoice month, collected by payment month) in the same transaction; bulk paths (imports) pass
`refresh=False` per record or use the `*_many` services, which refresh once per call.

The `*_many` services write a batch with a handful of INSERTs and keep what the one-record services
keep: the same field rules, numbers and external ids unique, allocations only to open invoices of
the payment's account and never beyond the payment or the invoice, settled state recomputed, audit
and timeline rows (`record_bulk`), `payment.received` webhook events and the revenue facts. A bad
item is refused with `ItemRefused` (a ValidationError naming the field, with the item's `index`);
`invoices_check` / `payments_check` report every bad item without writing, for an exact dry run.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Max, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Round
from django.utils import timezone
from django.utils.translation import gettext as _

from kamcrm.analytics.facts import facts_refresh
from kamcrm.audit.models import TimelineEvent
from kamcrm.audit.registry import record_bulk
from kamcrm.org.models import User
from kamcrm.receivables.choices import InvoiceStatus, PromiseStatus
from kamcrm.receivables.models import (
    CollectionActivity,
    CollectionPromise,
    Invoice,
    Payment,
    PaymentAllocation,
)
from kamcrm.webhooks import services as webhooks

ZERO = Decimal("0.00")
INVOICE_FIELDS = ["number", "invoice_date", "due_date", "amount", "tax", "currency", "disputed", "product_line",
                  "agreement", "source_system", "external_id"]
# What invoice_update may change (the account never: issue a new invoice instead).
INVOICE_UPDATE_FIELDS = ["number", "invoice_date", "due_date", "amount", "tax", "currency", "disputed", "product_line",
                         "agreement"]
PAYMENT_FIELDS = ["method", "reference", "source_system", "external_id"]
PAYMENT_PAYLOAD = ["account", "received_on", "amount", "method", "reference"]
OPEN = (InvoiceStatus.OPEN, InvoiceStatus.PARTLY_PAID)
ESCALATE_AFTER_DAYS = 30
TIMELINE_KIND = "collection"

__all__ = ["ESCALATE_AFTER_DAYS", "ItemRefused", "activity_log", "advance_apply", "invoice_create",
           "invoice_create_many", "invoice_payment_record", "invoice_update", "invoice_void", "invoices_check",
           "overdue_check", "payment_allocate", "payment_create", "payment_create_many", "payments_check",
           "promise_create", "promises_review"]


class ItemRefused(ValidationError):
    """One item of a `*_many` call is wrong: the ValidationError (naming the field) and the item's index."""

    def __init__(self, index: int, error: ValidationError):
        super().__init__(error.error_dict if hasattr(error, "error_dict") else error.messages)
        self.index = index


def _month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _money(value: Any, field: str) -> Decimal:
    try:
        return Decimal(str(value if value not in (None, "") else 0))
    except ArithmeticError:
        raise ValidationError({field: _("Enter a number.")}) from None


# --- invoices ------------------------------------------------------------------------------------


def _invoice_build(*, account, number: str, invoice_date: dt.date, due_date: dt.date | None = None,
                   amount: Decimal, tax: Decimal = ZERO, **data: Any) -> Invoice:
    """An unsaved invoice with the rules one row can check (not yet the uniqueness of its number)."""
    agreement = data.get("agreement")
    if agreement is not None and agreement.account_id != account.pk:
        raise ValidationError({"agreement": _("The agreement belongs to another account.")})
    if invoice_date is None:
        raise ValidationError({"invoice_date": _("This field cannot be blank.")})
    amount, tax = _money(amount, "amount"), _money(tax, "tax")
    due_date = due_date or invoice_date + dt.timedelta(days=30)
    if due_date < invoice_date:
        raise ValidationError({"due_date": _("The due date cannot be before the invoice date.")})
    return Invoice(account=account, number=(number or "").strip(), invoice_date=invoice_date, due_date=due_date,
                   amount=amount, tax=tax, total=amount + tax,
                   **{k: v for k, v in data.items() if k in INVOICE_FIELDS})


@transaction.atomic
def invoice_create(*, by: User | None = None, account, number: str, invoice_date: dt.date,
                   due_date: dt.date | None = None, amount: Decimal, tax: Decimal = ZERO, refresh: bool = True,
                   **data: Any) -> Invoice:
    """An invoice for `amount` (net) plus `tax`; due 30 days after its date unless told."""
    invoice = _invoice_build(account=account, number=number, invoice_date=invoice_date, due_date=due_date,
                             amount=amount, tax=tax, **data)
    invoice.full_clean()
    invoice.save()
    if refresh:
        facts_refresh([account.pk], [invoice.invoice_date])
    return invoice


def invoices_check(*, items: list[dict[str, Any]]) -> tuple[list[Invoice | None], dict[int, ValidationError]]:
    """Build and check new invoices (each item: invoice_create's arguments) without writing: the field
    rules, and numbers and external ids unique in the database and among the items (a few queries
    whatever the number of items). Returns the unsaved invoices (None where refused) and the errors by
    item index."""
    built: list[Invoice | None] = []
    errors: dict[int, ValidationError] = {}
    for index, item in enumerate(items):
        try:
            invoice = _invoice_build(**item)
            # Relations were looked up by the caller; the (source, external id) rule is checked below.
            invoice.full_clean(exclude=["account", "agreement", "product_line"], validate_unique=False,
                               validate_constraints=False)
        except ValidationError as exc:
            errors[index] = exc
            invoice = None
        built.append(invoice)
    numbers = {i.number for i in built if i is not None}
    taken = set(Invoice.objects.filter(number__in=numbers).values_list("number", flat=True)) if numbers else set()
    by_source: dict[str, set[str]] = defaultdict(set)
    for invoice in built:
        if invoice is not None and invoice.external_id:
            by_source[invoice.source_system].add(invoice.external_id)
    claimed = {(s, e) for s, ids in by_source.items()
               for e in Invoice.objects.filter(source_system=s, external_id__in=ids).values_list("external_id",
                                                                                                flat=True)}
    seen_numbers: set[str] = set()
    seen_ext: set[tuple[str, str]] = set()
    for index, invoice in enumerate(built):
        if invoice is None:
            continue
        ext = (invoice.source_system, invoice.external_id)
        if invoice.number in taken or invoice.number in seen_numbers:
            errors[index] = ValidationError({"number": _("An invoice numbered %(n)s already exists.")
                                             % {"n": invoice.number}})
        elif invoice.external_id and (ext in claimed or ext in seen_ext):
            errors[index] = ValidationError({"external_id": _("An invoice with this external id already exists.")})
        else:
            seen_numbers.add(invoice.number)
            if invoice.external_id:
                seen_ext.add(ext)
            continue
        built[index] = None
    return built, errors


@transaction.atomic
def invoice_create_many(*, items: list[dict[str, Any]], by: User | None = None, refresh: bool = True) -> list[Invoice]:
    """invoice_create for a batch: one INSERT for the invoices, the audit and timeline rows in bulk, the
    revenue facts of the batch's accounts and months refreshed once. Raises ItemRefused for a bad item."""
    invoices, errors = invoices_check(items=items)
    if errors:
        index = min(errors)
        raise ItemRefused(index, errors[index])
    invoices = Invoice.objects.bulk_create(invoices, batch_size=1000)
    record_bulk(invoices, action="create")
    if refresh and invoices:
        facts_refresh({i.account_id for i in invoices}, {i.invoice_date for i in invoices})
    return invoices


@transaction.atomic
def invoice_update(*, invoice: Invoice, data: dict[str, Any], by: User | None = None, refresh: bool = True
                   ) -> Invoice:
    """Change an invoice's number, dates, amounts, currency, dispute flag, product line or agreement,
    and give one that has none an external id (`source_system`, `external_id`: an import adopting an
    invoice by its number). The total is kept at amount + tax and may not drop below what is already
    paid; a void invoice stays as it is. Returns the invoice as stored (unchanged when nothing differs)."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status == InvoiceStatus.VOID:
        raise ValidationError({"status": _("A void invoice cannot be changed.")})
    claim = (data.get("source_system") or "", data.get("external_id") or "")
    data = {k: v for k, v in data.items() if k in INVOICE_UPDATE_FIELDS}
    if claim[1] and claim != (invoice.source_system, invoice.external_id):
        if invoice.external_id:
            raise ValidationError({"external_id": _("This invoice already has another external id.")})
        if Invoice.objects.filter(source_system=claim[0], external_id=claim[1]).exists():
            raise ValidationError({"external_id": _("An invoice with this external id already exists.")})
        data["source_system"], data["external_id"] = claim
    for name in ("amount", "tax"):
        if name in data:
            data[name] = _money(data[name], name)
    if "number" in data:
        data["number"] = (data["number"] or "").strip()
    agreement = data.get("agreement")
    if agreement is not None and agreement.account_id != invoice.account_id:
        raise ValidationError({"agreement": _("The agreement belongs to another account.")})
    old_date, old_total = invoice.invoice_date, invoice.total
    changed = [k for k in data if getattr(invoice, k) != data[k]]
    if not changed:
        return invoice
    for name in changed:
        setattr(invoice, name, data[name])
    if invoice.due_date < invoice.invoice_date:
        raise ValidationError({"due_date": _("The due date cannot be before the invoice date.")})
    invoice.total = invoice.amount + invoice.tax
    if invoice.total < invoice.paid_amount:
        raise ValidationError({"amount": _("The total cannot be less than the %(paid)s already paid.")
                               % {"paid": invoice.paid_amount}})
    invoice.full_clean()
    invoice.save()
    if invoice.total != old_total:
        _settle([invoice.pk])
        invoice.refresh_from_db()
    if refresh and {"amount", "invoice_date", "product_line"} & set(changed):
        facts_refresh([invoice.account_id], [old_date, invoice.invoice_date])
    return invoice


@transaction.atomic
def invoice_void(*, invoice: Invoice, by: User | None = None) -> Invoice:
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status == InvoiceStatus.VOID:
        return invoice
    if invoice.paid_amount:
        raise ValidationError({"status": _("Release the payments allocated to this invoice before voiding it.")})
    invoice.status = InvoiceStatus.VOID
    invoice.save(update_fields=["status", "updated_at"])
    facts_refresh([invoice.account_id], [invoice.invoice_date])
    return invoice


def _settle(invoice_ids) -> None:  # noqa: ANN001
    """Set paid amount, status and settled-on date of these invoices from their allocations: five
    UPDATEs whatever their number. Allocations never exceed an invoice's open balance and its total
    never drops below what is paid (payment_allocate, invoice_update), so a fully paid invoice's
    allocations add up to exactly its total and the day the payments made it fully paid is the latest
    received date among them. Sums are rounded to cents (SQLite adds decimals in floating point)."""
    ids = list(set(invoice_ids))
    if not ids:
        return
    invoices = Invoice.objects.filter(pk__in=ids).exclude(status=InvoiceStatus.VOID)
    allocated = PaymentAllocation.objects.filter(invoice_id=OuterRef("pk")).order_by().values("invoice_id")
    paid = allocated.annotate(s=Sum("amount")).values("s")
    last = allocated.annotate(d=Max("payment__received_on")).values("d")
    invoices.update(paid_amount=Coalesce(Round(Subquery(paid), 2), Value(ZERO)))
    invoices.filter(paid_amount__gte=F("total")).update(status=InvoiceStatus.PAID, settled_on=Subquery(last))
    invoices.filter(paid_amount__gt=0, paid_amount__lt=F("total")).update(status=InvoiceStatus.PARTLY_PAID,
                                                                          settled_on=None)
    invoices.filter(paid_amount__lte=0).update(status=InvoiceStatus.OPEN, settled_on=None)


# --- payments ------------------------------------------------------------------------------------


@transaction.atomic
def payment_create(*, by: User | None = None, account, received_on: dt.date, amount: Decimal,
                   allocations: list[tuple[Invoice, Decimal | None]] | None = None, auto_allocate: bool = False,
                   refresh: bool = True, **data: Any) -> Payment:
    """Record a payment. `allocations` pays named invoices (partial allowed); `auto_allocate` pays the
    account's open invoices oldest due first. Whatever is not allocated stays on the payment as an advance."""
    payment = Payment(account=account, received_on=received_on, amount=_money(amount, "amount"),
                      **{k: v for k, v in data.items() if k in PAYMENT_FIELDS})
    payment.full_clean()
    payment.save()
    if allocations:
        payment_allocate(payment=payment, allocations=allocations, by=by, refresh=False)
    elif auto_allocate:
        left = payment.amount
        plan = []
        for invoice in (Invoice.objects.filter(account=account, status__in=OPEN).order_by("due_date", "id")):
            if left <= 0:
                break
            share = min(left, invoice.total - invoice.paid_amount)
            if share > 0:
                plan.append((invoice, share))
                left -= share
        if plan:
            payment_allocate(payment=payment, allocations=plan, by=by, refresh=False)
    if refresh:
        facts_refresh([account.pk], [received_on])
    payload = webhooks.record_payload(payment, PAYMENT_PAYLOAD)
    webhooks.event_emit(type="payment.received", payload=payload, account_id=account.pk)
    payment.refresh_from_db()
    return payment


@transaction.atomic
def payment_allocate(*, payment: Payment, allocations: list[tuple[Invoice, Decimal | None]], by: User | None = None,
                     refresh: bool = True) -> Payment:
    """Allocate (more of) a payment to invoices of the same account; an amount of None is as much as
    the invoice has open and the payment has left. Refuses to allocate more than the payment's
    unallocated amount or more than an invoice's open balance (over-payment stays an advance)."""
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    left = payment.amount - payment.allocated
    touched = []
    for i, (invoice, amount) in enumerate(allocations, start=1):
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        where = f"allocations[{i}]"
        if amount is None:  # as much as the invoice has open and the payment has left
            amount = max(ZERO, min(left, invoice.total - invoice.paid_amount))
        amount = _money(amount, where)
        if invoice.account_id != payment.account_id:
            raise ValidationError({where: _("Invoice %(n)s belongs to another account.") % {"n": invoice.number}})
        if invoice.status == InvoiceStatus.VOID:
            raise ValidationError({where: _("Invoice %(n)s is void.") % {"n": invoice.number}})
        if amount <= 0 or amount > left:
            raise ValidationError({where: _("Allocate between 0.01 and the %(left)s left on the payment.")
                                   % {"left": left}})
        if amount > invoice.total - invoice.paid_amount:
            raise ValidationError({where: _("Invoice %(n)s has only %(open)s open.")
                                   % {"n": invoice.number, "open": invoice.total - invoice.paid_amount}})
        existing = PaymentAllocation.objects.filter(payment=payment, invoice=invoice).first()
        if existing:
            existing.amount += amount
            existing.save()
        else:
            PaymentAllocation.objects.create(payment=payment, invoice=invoice, amount=amount)
        Invoice.objects.filter(pk=invoice.pk).update(paid_amount=F("paid_amount") + amount)
        left -= amount
        touched.append(invoice.pk)
    Payment.objects.filter(pk=payment.pk).update(allocated=payment.amount - left)
    _settle(touched)
    payment.refresh_from_db()
    return payment


@transaction.atomic
def invoice_payment_record(*, invoice: Invoice, received_on: dt.date, amount: Decimal,
                           allocate: Decimal | None = None, by: User | None = None, **data: Any) -> Payment:
    """A payment received for one invoice: `allocate` of it (as much as the invoice has open when None)
    pays the invoice; the rest stays on the payment as an advance."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    amount = _money(amount, "amount")
    if allocate is None:
        allocate = min(amount, invoice.total - invoice.paid_amount)
    else:
        allocate = _money(allocate, "allocate")
        if allocate > amount:
            raise ValidationError({"allocate": _("At most the amount received.")})
    plan = [(invoice, allocate)] if allocate > 0 else None
    try:
        return payment_create(by=by, account=invoice.account, received_on=received_on, amount=amount,
                              allocations=plan, **data)
    except ValidationError as exc:
        if hasattr(exc, "error_dict") and "allocations[1]" in exc.error_dict:
            raise ValidationError({"allocate": exc.error_dict["allocations[1]"]}) from None
        raise


@transaction.atomic
def advance_apply(*, payment: Payment, invoice: Invoice, amount: Decimal | None = None,
                  by: User | None = None) -> Payment:
    """Allocate (part of) a payment's unallocated part to an invoice of the same account; by default as
    much as both allow."""
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if amount is None:
        amount = min(payment.amount - payment.allocated, invoice.total - invoice.paid_amount)
        if amount <= 0:
            raise ValidationError({"amount": _("Nothing left to allocate: the payment or the invoice is settled.")})
    try:
        return payment_allocate(payment=payment, allocations=[(invoice, amount)], by=by)
    except ValidationError as exc:
        if hasattr(exc, "error_dict") and "allocations[1]" in exc.error_dict:
            raise ValidationError({"amount": exc.error_dict["allocations[1]"]}) from None
        raise


def payments_check(*, items: list[dict[str, Any]], lock: bool = False
                   ) -> tuple[list[Payment | None], list[list[tuple[Invoice, Decimal]]], dict[int, ValidationError]]:
    """Build and check new payments without writing. Each item: payment_create's arguments, with
    `allocations` as (invoice or invoice id, amount) pairs. Checks the field rules, external ids unique,
    and every allocation as payment_allocate does — same account, not void, within what is left on the
    payment and open on the invoice, counting the earlier items of the call. Returns the unsaved
    payments, their allocations (invoices loaded, locked with `lock`) and the errors by item index."""
    wanted = {getattr(inv, "pk", inv) for item in items for inv, _amount in item.get("allocations") or ()}
    invoices = Invoice.objects.filter(pk__in=wanted)
    if lock:
        invoices = invoices.select_for_update()
    found = {i.pk: i for i in invoices} if wanted else {}
    open_left = {pk: i.total - i.paid_amount for pk, i in found.items()}
    built: list[Payment | None] = []
    plans: list[list[tuple[Invoice, Decimal]]] = []
    errors: dict[int, ValidationError] = {}
    by_source: dict[str, set[str]] = defaultdict(set)
    for item in items:
        if item.get("external_id"):
            by_source[item.get("source_system", "")].add(item["external_id"])
    claimed = {(s, e) for s, ids in by_source.items()
               for e in Payment.objects.filter(source_system=s, external_id__in=ids).values_list("external_id",
                                                                                                flat=True)}
    seen_ext: set[tuple[str, str]] = set()
    for index, item in enumerate(items):
        plan: list[tuple[Invoice, Decimal]] = []
        payment = None
        try:
            account = item["account"]
            payment = Payment(account=account, received_on=item.get("received_on"),
                              amount=_money(item.get("amount"), "amount"),
                              **{k: v for k, v in item.items() if k in PAYMENT_FIELDS})
            payment.full_clean(exclude=["account"], validate_unique=False, validate_constraints=False)
            ext = (payment.source_system, payment.external_id)
            if payment.external_id and (ext in claimed or ext in seen_ext):
                raise ValidationError({"external_id": _("A payment with this external id already exists.")})
            left = payment.amount
            taken: dict[int, Decimal] = defaultdict(lambda: ZERO)
            for i, (ref, amount) in enumerate(item.get("allocations") or (), start=1):
                where = f"allocations[{i}]"
                invoice = found.get(getattr(ref, "pk", ref))
                amount = _money(amount, where)
                if invoice is None:
                    raise ValidationError({where: _("No such invoice.")})
                if invoice.account_id != account.pk:
                    raise ValidationError({where: _("Invoice %(n)s belongs to another account.")
                                           % {"n": invoice.number}})
                if invoice.status == InvoiceStatus.VOID:
                    raise ValidationError({where: _("Invoice %(n)s is void.") % {"n": invoice.number}})
                if amount <= 0 or amount > left:
                    raise ValidationError({where: _("Allocate between 0.01 and the %(left)s left on the payment.")
                                           % {"left": left}})
                still = open_left[invoice.pk] - taken[invoice.pk]
                if amount > still:
                    raise ValidationError({where: _("Invoice %(n)s has only %(open)s open.")
                                           % {"n": invoice.number, "open": still}})
                taken[invoice.pk] += amount
                left -= amount
                plan.append((invoice, amount))
        except ValidationError as exc:
            errors[index] = exc
            built.append(None)
            plans.append([])
            continue
        for pk, amount in taken.items():
            open_left[pk] -= amount
        if payment.external_id:
            seen_ext.add((payment.source_system, payment.external_id))
        built.append(payment)
        plans.append(plan)
    return built, plans, errors


@transaction.atomic
def payment_create_many(*, items: list[dict[str, Any]], by: User | None = None, refresh: bool = True
                        ) -> list[Payment]:
    """payment_create with named allocations, for a batch: the payments, their allocations, the invoices'
    settled state, audit and timeline rows and `payment.received` events in bulk, the revenue facts of
    the batch's accounts and months refreshed once. Raises ItemRefused for a bad item."""
    payments, plans, errors = payments_check(items=items, lock=True)
    if errors:
        index = min(errors)
        raise ItemRefused(index, errors[index])
    for payment, plan in zip(payments, plans, strict=True):
        payment.allocated = sum((amount for _invoice, amount in plan), ZERO)
    payments = Payment.objects.bulk_create(payments, batch_size=1000)
    allocations = []
    merged: dict[tuple[int, int], PaymentAllocation] = {}
    for payment, plan in zip(payments, plans, strict=True):
        for invoice, amount in plan:
            key = (payment.pk, invoice.pk)
            if key in merged:  # one payment naming an invoice twice: one allocation row, as payment_allocate does
                merged[key].amount += amount
            else:
                merged[key] = PaymentAllocation(payment=payment, invoice=invoice, amount=amount)
                allocations.append(merged[key])
    PaymentAllocation.objects.bulk_create(allocations, batch_size=1000)
    _settle({a.invoice_id for a in allocations})
    record_bulk(payments, action="create")
    record_bulk(allocations, action="create")
    webhooks.events_emit_many(type="payment.received", items=(
        (webhooks.record_payload(p, PAYMENT_PAYLOAD), p.account_id) for p in payments))
    if refresh and payments:
        facts_refresh({p.account_id for p in payments}, {p.received_on for p in payments})
    return payments


# --- collection: promises, activities ------------------------------------------------------------


def _timeline(*, account, at: dt.datetime, summary: str, body: str, by: User | None, record) -> None:  # noqa: ANN001
    TimelineEvent.objects.create(account=account, occurred_at=at, kind=TIMELINE_KIND, summary=summary[:300],
                                 body=body, actor=by if by is not None and by.pk else None,
                                 content_type=ContentType.objects.get_for_model(type(record)), object_id=record.pk,
                                 data={"invoice": record.invoice.number if record.invoice_id else None})


def _check_invoice(account, invoice: Invoice | None) -> None:  # noqa: ANN001
    if invoice is not None and invoice.account_id != account.pk:
        raise ValidationError({"invoice": _("The invoice belongs to another account.")})


@transaction.atomic
def promise_create(*, by: User | None = None, account, promised_on: dt.date, amount: Decimal,
                   invoice: Invoice | None = None, note: str = "") -> CollectionPromise:
    """The customer promised to pay `amount` by `promised_on` (for one invoice, or the account)."""
    _check_invoice(account, invoice)
    promise = CollectionPromise(account=account, invoice=invoice, promised_on=promised_on,
                                amount=_money(amount, "amount"), note=(note or "").strip(), by=by)
    promise.full_clean()
    promise.save()
    _timeline(account=account, at=timezone.now(), by=by, record=promise,
              summary=_("Promise to pay %(amount)s by %(day)s")
              % {"amount": promise.amount.quantize(Decimal("0.01")), "day": promised_on.isoformat()},
              body=promise.note)
    return promise


@transaction.atomic
def activity_log(*, by: User | None = None, account, kind: str, note: str = "", invoice: Invoice | None = None,
                 occurred_at: dt.datetime | None = None) -> CollectionActivity:
    """A collection call, letter, visit, e-mail or escalation, on the account's timeline too."""
    _check_invoice(account, invoice)
    activity = CollectionActivity(account=account, invoice=invoice, kind=kind, note=(note or "").strip(), by=by,
                                  occurred_at=occurred_at or timezone.now())
    activity.full_clean()
    activity.save()
    summary = (_("Collection %(kind)s: invoice %(n)s") % {"kind": activity.get_kind_display(), "n": invoice.number}
               if invoice is not None else _("Collection %(kind)s") % {"kind": activity.get_kind_display()})
    _timeline(account=account, at=activity.occurred_at, by=by, record=activity, summary=summary, body=activity.note)
    return activity


@transaction.atomic
def promises_review(*, today: dt.date | None = None) -> int:
    """Open promises whose date has passed: kept if the account paid at least the amount since the
    promise was made, broken otherwise."""
    today = today or timezone.localdate()
    changed = 0
    for promise in CollectionPromise.objects.filter(status=PromiseStatus.OPEN, promised_on__lt=today):
        paid = (Payment.objects.filter(account_id=promise.account_id,
                                       received_on__gte=timezone.localdate(promise.created_at),
                                       received_on__lte=promise.promised_on).aggregate(v=Sum("amount"))["v"] or ZERO)
        promise.status = PromiseStatus.KEPT if paid >= promise.amount else PromiseStatus.BROKEN
        promise.save(update_fields=["status", "updated_at"])
        changed += 1
    return changed


@transaction.atomic
def overdue_check(*, today: dt.date | None = None, escalate_after: int = ESCALATE_AFTER_DAYS) -> dict[str, int]:
    """The daily job. Each invoice that became overdue gets one task for the account's owner and one
    `invoice.overdue` event; one still unpaid `escalate_after` days past due is escalated once to the
    owner's manager. Running it twice a day changes nothing the second time."""
    from kamcrm.activities.choices import TaskSource
    from kamcrm.activities.services import task_create

    today = today or timezone.localdate()
    overdue = (Invoice.objects.filter(status__in=OPEN, due_date__lt=today)
               .select_related("account", "account__owner", "account__owner__manager"))
    alerted = escalated = 0
    for invoice in overdue.filter(overdue_alerted_on__isnull=True):
        task_create(title=_("Collect overdue invoice %(n)s (%(balance)s open, due %(due)s)")
                    % {"n": invoice.number, "balance": invoice.balance, "due": invoice.due_date},
                    assignee=invoice.account.owner, account=invoice.account, due_on=today, source=TaskSource.RECEIVABLE)
        Invoice.objects.filter(pk=invoice.pk).update(overdue_alerted_on=today)
        payload = webhooks.record_payload(invoice, ["number", "account", "due_date", "total", "paid_amount"])
        webhooks.event_emit(type="invoice.overdue", payload=payload, account_id=invoice.account_id)
        alerted += 1
    late = overdue.filter(Q(escalated_on__isnull=True), due_date__lte=today - dt.timedelta(days=escalate_after),
                          account__owner__manager__isnull=False)
    for invoice in late:
        owner = invoice.account.owner
        task_create(title=_("Escalated: invoice %(n)s of %(account)s is %(days)s days overdue")
                    % {"n": invoice.number, "account": invoice.account.name, "days": (today - invoice.due_date).days},
                    assignee=owner.manager, account=invoice.account, due_on=today, source=TaskSource.RECEIVABLE)
        Invoice.objects.filter(pk=invoice.pk).update(escalated_on=today)
        escalated += 1
    return {"alerted": alerted, "escalated": escalated}
