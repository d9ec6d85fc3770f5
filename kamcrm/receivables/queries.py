"""Query pieces shared by the receivables selectors and the invoice FilterSet: exact money sums, whole
days between two dates on both databases, and what was open on a given day.

"Open on day D" (the balance on a date): an invoice issued by D, not void, and not fully paid by
payments received up to D. `Invoice.settled_on` is the day the payments received made it fully paid
(receivables.services._settle), so an invoice settled after D (or not at all) was open on D, by its
total less the allocations of payments received up to D; an invoice nothing was ever allocated to
was open by its total. Aging buckets are days past due on D, i.e. ranges of due dates.
"""
from __future__ import annotations

import datetime as dt

from django.db.models import (
    BigIntegerField,
    Case,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Round

from kamcrm.receivables.choices import AGING_BUCKETS, InvoiceStatus
from kamcrm.receivables.models import PaymentAllocation

BUCKET_CODES = [code for code, _label, _lo, _hi in AGING_BUCKETS]


def cents(field: str) -> Cast:
    """A money field in whole cents as a 64-bit integer: sums are exact on both databases (SQLite adds
    decimals in floating point)."""
    return Cast(Round(F(field) * 100), output_field=BigIntegerField())


class DaysBetween(Func):
    """Whole days from `earlier` to `later` (later − earlier), as an integer, on SQLite and PostgreSQL."""

    arity = 2
    output_field = IntegerField()

    def __init__(self, later, earlier, **extra):  # noqa: ANN001
        super().__init__(later, earlier, **extra)

    def as_sql(self, compiler, connection, **extra):  # noqa: ANN001 - PostgreSQL: date − date is an integer
        return super().as_sql(compiler, connection, template="(%(expressions)s)", arg_joiner=" - ", **extra)

    def as_sqlite(self, compiler, connection, **extra):  # noqa: ANN001
        return super().as_sql(compiler, connection, arg_joiner=") - julianday(",
                              template="CAST(ROUND(julianday(%(expressions)s)) AS INTEGER)", **extra)


def paid_cents_as_of(as_of: dt.date) -> Subquery:
    """Per invoice (OuterRef pk): cents allocated from payments received up to `as_of`."""
    paid = (PaymentAllocation.objects.filter(invoice_id=OuterRef("pk"), payment__received_on__lte=as_of)
            .order_by().values("invoice_id").annotate(c=Sum(cents("amount"))).values("c"))
    return Subquery(paid, output_field=BigIntegerField())


def open_on(qs: QuerySet, as_of: dt.date) -> QuerySet:
    """The invoices of `qs` open at the end of `as_of`, annotated with `open_cents` (their balance then)."""
    balance = Case(When(paid_amount=0, then=cents("total")),
                   default=cents("total") - Coalesce(paid_cents_as_of(as_of), Value(0)),
                   output_field=BigIntegerField())
    return (qs.exclude(status=InvoiceStatus.VOID).filter(invoice_date__lte=as_of)
            .filter(Q(settled_on__isnull=True) | Q(settled_on__gt=as_of))
            .annotate(open_cents=balance))


def bucket_q(code: str, as_of: dt.date) -> Q:
    """Invoices whose days past due on `as_of` fall in the bucket `code` (a range of due dates)."""
    for bucket, _label, lowest, highest in AGING_BUCKETS:
        if bucket == code:
            q = Q()
            if lowest is not None:
                q &= Q(due_date__lte=as_of - dt.timedelta(days=lowest))
            if highest is not None:
                q &= Q(due_date__gte=as_of - dt.timedelta(days=highest))
            return q
    raise ValueError(f"unknown aging bucket {code!r}")


def bucket_case(as_of: dt.date) -> Case:
    """The aging bucket code of each invoice on `as_of`."""
    return Case(*[When(bucket_q(code, as_of), then=Value(code)) for code in BUCKET_CODES],
                default=Value(BUCKET_CODES[-1]))
