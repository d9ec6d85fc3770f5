"""Reads of agreements and their schedules, always through org.selectors.visible."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet, Sum
from django.utils.translation import gettext

from kamcrm.agreements.models import (
    Agreement,
    AgreementChange,
    AgreementLine,
    RevenueRecognition,
    RevenueSlice,
)
from kamcrm.core.pagination import Page, keyset_page
from kamcrm.org.models import User
from kamcrm.org.selectors import VIEW, get_visible_or_404, visible

ZERO = Decimal("0.00")
AGREEMENT_SORTS: dict[str, list[str]] = {
    "-start": ["-start_date", "-id"],
    "end": ["end_date", "id"],
    "-value": ["-total_value", "-id"],
    "number": ["number", "id"],
}


def agreement_queryset(user: User) -> QuerySet[Agreement]:
    return visible(Agreement.objects.all(), user, VIEW)


def agreement_list(*, user: User, filters: dict[str, Any] | None = None, sort: str = "-start",
                   cursor: str | None = None, page_size: int = 50) -> Page:
    from kamcrm.agreements.filtersets import AgreementFilterSet

    order = AGREEMENT_SORTS.get(sort)
    if order is None:
        raise ValidationError({"sort": [gettext("Unknown sort “%(sort)s”; use one of: %(choices)s.")
                                      % {"sort": sort, "choices": ", ".join(AGREEMENT_SORTS)}]})
    fs = AgreementFilterSet(data=filters or {}, queryset=agreement_queryset(user))
    if not fs.is_valid():
        raise ValidationError({k: [str(m) for m in v] for k, v in fs.errors.items()})
    return keyset_page(fs.qs.select_related("account", "owner"), order=order, cursor=cursor, page_size=page_size)


def agreement_get(*, user: User, pk: int) -> Agreement:
    return get_visible_or_404(Agreement.objects.select_related("account", "owner", "signing_unit", "opportunity",
                                                               "renews"), user, VIEW, pk=pk)


def agreement_lines(*, agreement: Agreement) -> list[AgreementLine]:
    return list(agreement.lines.select_related("product", "product__line").order_by("id"))


def agreement_changes(*, agreement: Agreement) -> list[AgreementChange]:
    return list(agreement.changes.select_related("by").order_by("-recorded_at", "-id")[:200])


def slices_as_of(qs: QuerySet[RevenueSlice], at: dt.datetime | None) -> QuerySet[RevenueSlice]:
    """The slices that made up the schedule at moment `at` (now when None)."""
    if at is None:
        return qs.filter(superseded_at__isnull=True)
    return qs.filter(Q(superseded_at__isnull=True) | Q(superseded_at__gt=at), recorded_at__lte=at)


@dataclass
class ScheduleGrid:
    months: list[dt.date]
    rows: list[tuple[AgreementLine, list[Decimal | None]]]
    totals: list[Decimal] = field(default_factory=list)
    # Actuals beside the expected totals, per month of the grid (current figures, whatever `at`).
    billed: list[Decimal] = field(default_factory=list)
    recognised: list[Decimal] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum(self.totals, ZERO)

    @property
    def billed_total(self) -> Decimal:
        return sum(self.billed, ZERO)

    @property
    def recognised_total(self) -> Decimal:
        return sum(self.recognised, ZERO)


def schedule_grid(*, agreement: Agreement, at: dt.datetime | None = None) -> ScheduleGrid:
    """Lines down, months across: the schedule as it stands now, or as it stood at `at`; under it what
    was billed (the agreement's invoices by invoice month, void ones aside) and recognised in each
    month, as recorded now. Four queries."""
    from kamcrm.receivables.choices import InvoiceStatus
    from kamcrm.receivables.models import Invoice

    lines = agreement_lines(agreement=agreement)
    cells: dict[int, dict[dt.date, Decimal]] = defaultdict(dict)
    for s in slices_as_of(RevenueSlice.objects.filter(agreement=agreement), at).values("line_id", "month", "amount"):
        cells[s["line_id"]][s["month"]] = s["amount"]
    months = sorted({m for by_month in cells.values() for m in by_month})
    rows = [(line, [cells[line.pk].get(m) for m in months]) for line in lines]
    totals = [sum((cells[line.pk].get(m, ZERO) for line in lines), ZERO) for m in months]
    billed: dict[dt.date, Decimal] = defaultdict(lambda: ZERO)
    for day, amount in (Invoice.objects.filter(agreement=agreement).exclude(status=InvoiceStatus.VOID)
                        .values_list("invoice_date", "amount")):
        billed[day.replace(day=1)] += amount
    recognised: dict[dt.date, Decimal] = defaultdict(lambda: ZERO)
    for month, amount in RevenueRecognition.objects.filter(agreement=agreement).values_list("month", "amount"):
        recognised[month] += amount
    return ScheduleGrid(months=months, rows=rows, totals=totals, billed=[billed[m] for m in months],
                        recognised=[recognised[m] for m in months])


def agreement_recognitions(*, agreement: Agreement) -> list[RevenueRecognition]:
    return list(RevenueRecognition.objects.filter(agreement=agreement).order_by("month", "line_id"))


def expected_for_month(*, qs: QuerySet[RevenueSlice], month: dt.date, at: dt.datetime | None = None) -> Decimal:
    """What the slices in `qs` expected for `month`, as known at `at` — e.g. March as of January."""
    total = slices_as_of(qs.filter(month=month.replace(day=1)), at).aggregate(v=Sum("amount"))["v"]
    return total or ZERO
