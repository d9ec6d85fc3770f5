"""Every write to receivables (K5): invoices, payments and their allocation, collection promises and
activities, and the daily overdue check (alert the owner, escalate to their manager after N days).

An invoice's `paid_amount`, `status` and `settled_on` follow from its allocations and are set here
only; a payment's `allocated` likewise. Each write refreshes the account's revenue facts (billed by
invoice month, collected by payment month) in the same transaction.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from kamcrm.analytics.facts import facts_refresh
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
ESCALATE_AFTER_DAYS = 30


def _month(day: dt.date) -> dt.date:
    return day.replace(day=1)


@transaction.atomic
def invoice_create(*, by: User | None = None, account, number: str, invoice_date: dt.date,
                   due_date: dt.date | None = None, amount: Decimal, tax: Decimal = ZERO, refresh: bool = True,
                   **data: Any) -> Invoice:
    """An invoice for `amount` (net) plus `tax`; due 30 days after its date unless told."""
    agreement = data.get("agreement")
    if agreement is not None and agreement.account_id != account.pk:
        raise ValidationError({"agreement": _("The agreement belongs to another account.")})
    amount, tax = Decimal(str(amount)), Decimal(str(tax or 0))
    invoice = Invoice(account=account, number=(number or "").strip(), invoice_date=invoice_date,
                      due_date=due_date or invoice_date + dt.timedelta(days=30), amount=amount, tax=tax,
                      total=amount + tax, **{k: v for k, v in data.items() if k in INVOICE_FIELDS})
    invoice.full_clean()
    invoice.save()
    if refresh:
        facts_refresh([account.pk], [invoice.invoice_date])
    return invoice


@transaction.atomic
def invoice_void(*, invoice: Invoice, by: User | None = None) -> Invoice:
    if invoice.paid_amount:
        raise ValidationError({"status": _("Release the payments allocated to this invoice before voiding it.")})
    invoice.status = InvoiceStatus.VOID
    invoice.save(update_fields=["status", "updated_at"])
    facts_refresh([invoice.account_id], [invoice.invoice_date])
    return invoice


def _settle(invoice_ids: list[int]) -> None:
    """Set paid amount, status and settled-on date of these invoices from their allocations."""
    for invoice in Invoice.objects.filter(pk__in=invoice_ids).exclude(status=InvoiceStatus.VOID):
        allocations = list(PaymentAllocation.objects.filter(invoice=invoice).select_related("payment")
                           .order_by("payment__received_on", "payment_id"))
        paid, settled_on = ZERO, None
        for allocation in allocations:
            paid += allocation.amount
            if settled_on is None and paid >= invoice.total:
                settled_on = allocation.payment.received_on
        status = (InvoiceStatus.PAID if paid >= invoice.total else
                  InvoiceStatus.PARTLY_PAID if paid > 0 else InvoiceStatus.OPEN)
        Invoice.objects.filter(pk=invoice.pk).update(paid_amount=paid, status=status, settled_on=settled_on)


@transaction.atomic
def payment_create(*, by: User | None = None, account, received_on: dt.date, amount: Decimal,
                   allocations: list[tuple[Invoice, Decimal]] | None = None, auto_allocate: bool = False,
                   refresh: bool = True, **data: Any) -> Payment:
    """Record a payment. `allocations` pays named invoices (partial allowed); `auto_allocate` pays the
    account's open invoices oldest due first. Whatever is not allocated stays on the payment as an advance."""
    payment = Payment(account=account, received_on=received_on, amount=Decimal(str(amount)),
                      **{k: v for k, v in data.items() if k in ("method", "reference", "source_system",
                                                                "external_id")})
    payment.full_clean()
    payment.save()
    if allocations:
        payment_allocate(payment=payment, allocations=allocations, by=by, refresh=False)
    elif auto_allocate:
        left = payment.amount
        plan = []
        for invoice in (Invoice.objects.filter(account=account, status__in=[InvoiceStatus.OPEN,
                                                                            InvoiceStatus.PARTLY_PAID])
                        .order_by("due_date", "id")):
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
    payload = webhooks.record_payload(payment, ["account", "received_on", "amount", "method", "reference"])
    webhooks.event_emit(type="payment.received", payload=payload, account_id=account.pk)
    return payment


@transaction.atomic
def payment_allocate(*, payment: Payment, allocations: list[tuple[Invoice, Decimal]], by: User | None = None,
                     refresh: bool = True) -> Payment:
    """Allocate (more of) a payment to invoices of the same account. Refuses to allocate more than the
    payment's unallocated amount or more than an invoice's open balance (over-payment stays an advance)."""
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    left = payment.amount - payment.allocated
    touched = []
    for i, (invoice, amount) in enumerate(allocations, start=1):
        amount = Decimal(str(amount))
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        where = f"allocations[{i}]"
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
def promise_create(*, by: User | None = None, account, promised_on: dt.date, amount: Decimal,
                   invoice: Invoice | None = None, note: str = "") -> CollectionPromise:
    promise = CollectionPromise(account=account, invoice=invoice, promised_on=promised_on, amount=amount, note=note,
                                by=by)
    promise.full_clean()
    promise.save()
    return promise


@transaction.atomic
def activity_log(*, by: User | None = None, account, kind: str, note: str = "", invoice: Invoice | None = None,
                 occurred_at: dt.datetime | None = None) -> CollectionActivity:
    activity = CollectionActivity(account=account, invoice=invoice, kind=kind, note=note, by=by,
                                  occurred_at=occurred_at or timezone.now())
    activity.full_clean()
    activity.save()
    return activity


def promises_review(*, today: dt.date | None = None) -> int:
    """Open promises whose date has passed: kept if the account paid at least the amount since the
    promise was made, broken otherwise."""
    today = today or timezone.localdate()
    changed = 0
    for promise in CollectionPromise.objects.filter(status=PromiseStatus.OPEN, promised_on__lt=today):
        paid = (Payment.objects.filter(account_id=promise.account_id, received_on__gte=promise.created_at.date(),
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
    overdue = (Invoice.objects.filter(status__in=[InvoiceStatus.OPEN, InvoiceStatus.PARTLY_PAID], due_date__lt=today)
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
    late = overdue.filter(escalated_on__isnull=True, due_date__lte=today - dt.timedelta(days=escalate_after),
                          account__owner__manager__isnull=False)
    for invoice in late:
        owner = invoice.account.owner
        task_create(title=_("Escalated: invoice %(n)s of %(account)s is %(days)s days overdue")
                    % {"n": invoice.number, "account": invoice.account.name, "days": (today - invoice.due_date).days},
                    assignee=owner.manager, account=invoice.account, due_on=today, source=TaskSource.RECEIVABLE)
        Invoice.objects.filter(pk=invoice.pk).update(escalated_on=today)
        escalated += 1
    return {"alerted": alerted, "escalated": escalated}
