"""Revenue reports (K4–K7) from the facts: what targets, dashboards and the product analysis read.

Aggregated reports read the roll-ups (owner × unit × region × product line × month). Who sees what:
the roll-up rows whose owner the user reaches by the manager chain, whose owning unit lies in a
subtree they see by role or head, or whose region a sharing rule grants them — the same reach as
org.selectors.visible, less the account-team grants (those are per account: drill down to the
account facts, which go through visible() itself).
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import QuerySet, Sum

from kamcrm.analytics.models import RevenueFact, RevenueRollup
from kamcrm.org.models import OrgUnit, User
from kamcrm.org.selectors import VIEW, reach, reach_q, visible

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
MEASURES = ("expected", "billed", "collected", "recognised")


def rollup_queryset(user: User) -> QuerySet[RevenueRollup]:
    return RevenueRollup.objects.filter(reach_q(reach(user, VIEW), owner="owner_id", unit="owner_unit_id",
                                                region="region_id"))


def fact_queryset(user: User) -> QuerySet[RevenueFact]:
    return visible(RevenueFact.objects.all(), user, VIEW)


def _months(year: int) -> list[dt.date]:
    return [dt.date(year, m, 1) for m in range(1, 13)]


def _cents(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT)


@dataclass
class Grid:
    """Rows (units, product lines, people …) down, the twelve months across, one measure."""

    months: list[dt.date]
    rows: list[tuple[object, list[Decimal]]] = field(default_factory=list)

    @property
    def totals(self) -> list[Decimal]:
        return [sum((cells[i] for _label, cells in self.rows), ZERO) for i in range(len(self.months))]

    @property
    def total(self) -> Decimal:
        return sum(self.totals, ZERO)


def _narrow(qs: QuerySet, *, unit: OrgUnit | None = None, owner: User | None = None,
            region: OrgUnit | None = None, prefix: str = "") -> QuerySet:
    """By owning unit subtree, owner and region subtree, of the rows' own fields or through `prefix`
    (e.g. "order__account__")."""
    if unit is not None:
        qs = qs.filter(**{f"{prefix}owner_unit__path__startswith": unit.path})
    if owner is not None:
        qs = qs.filter(**{f"{prefix}owner_id": owner.pk})
    if region is not None:
        qs = qs.filter(**{f"{prefix}region__path__startswith": region.path})
    return qs


def revenue_by_unit_month(*, user: User, year: int, measure: str = "expected", unit: OrgUnit | None = None,
                          owner: User | None = None, region: OrgUnit | None = None,
                          product_line_id: int | None = None) -> Grid:
    """`measure` per owning unit × month of `year`, for what `user` may see (within `unit`'s subtree).
    One aggregate query on the roll-ups and one for the units' names."""
    if measure not in MEASURES:
        raise ValueError(measure)
    months = _months(year)
    qs = _narrow(rollup_queryset(user).filter(month__gte=months[0], month__lte=months[-1]), unit=unit, owner=owner,
                 region=region)
    if product_line_id is not None:
        qs = qs.filter(product_line_id=product_line_id)
    cells: dict[int, dict[dt.date, Decimal]] = defaultdict(dict)
    for row in qs.values("owner_unit_id", "month").annotate(v=Sum(measure)).order_by():
        cells[row["owner_unit_id"]][row["month"]] = _cents(row["v"])
    units = OrgUnit.objects.in_bulk(list(cells))
    rows = [(units[uid], [by_month.get(m, ZERO) for m in months])
            for uid, by_month in sorted(cells.items(), key=lambda kv: units[kv[0]].path)]
    return Grid(months=months, rows=rows)


def revenue_by_line_month(*, user: User, year: int, unit: OrgUnit | None = None, owner: User | None = None,
                          region: OrgUnit | None = None) -> dict:
    """Expected, billed and collected per product line × month (K6), narrowed by unit subtree, owner and
    region. Returns {"months": [...], "lines": [(line or None, {measure: [12 values]})]}."""
    from kamcrm.products.models import ProductLine

    months = _months(year)
    qs = _narrow(rollup_queryset(user).filter(month__gte=months[0], month__lte=months[-1]), unit=unit, owner=owner,
                 region=region)
    cells: dict[int | None, dict[str, dict[dt.date, Decimal]]] = defaultdict(lambda: defaultdict(dict))
    for row in qs.values("product_line_id", "month").annotate(**{m: Sum(m) for m in MEASURES}).order_by():
        for m in MEASURES:
            cells[row["product_line_id"]][m][row["month"]] = _cents(row[m])
    lines = ProductLine.objects.in_bulk([k for k in cells if k is not None])
    out = []
    for line_id in sorted(cells, key=lambda k: (k is None, lines[k].code if k is not None else "")):
        out.append((lines.get(line_id), {m: [cells[line_id][m].get(mo, ZERO) for mo in months] for m in MEASURES}))
    return {"months": months, "lines": out}


def pipeline_by_line_month(*, user: User, year: int, unit: OrgUnit | None = None, owner: User | None = None,
                           region: OrgUnit | None = None) -> dict[int | None, list[Decimal]]:
    """The weighted open pipeline (line amount × probability) per product line × month of expected close,
    of the opportunities `user` may see. One aggregate query."""
    from django.db.models import DecimalField, ExpressionWrapper, F
    from django.db.models.functions import TruncMonth

    from kamcrm.sales.choices import StageKind
    from kamcrm.sales.models import Opportunity, OpportunityLine

    months = _months(year)
    opportunities = visible(Opportunity.objects.all(), user, VIEW).filter(
        stage__kind=StageKind.OPEN, expected_close_date__gte=months[0], expected_close_date__lt=dt.date(year + 1, 1, 1))
    opportunities = _narrow(opportunities, unit=unit, owner=owner, region=None)
    if region is not None:
        opportunities = opportunities.filter(account__region__path__startswith=region.path)
    # amount × probability summed in the database, ÷ 100 in Decimal: SQLite divides integers as integers.
    weighted = ExpressionWrapper(F("amount") * F("opportunity__probability"),
                                 output_field=DecimalField(max_digits=22, decimal_places=2))
    out: dict[int | None, list[Decimal]] = defaultdict(lambda: [ZERO] * 12)
    for row in (OpportunityLine.objects.filter(opportunity__in=opportunities.values("pk"))
                .values(line=F("product__line_id"), m=TruncMonth("opportunity__expected_close_date"))
                .annotate(v=Sum(weighted)).order_by()):
        month = row["m"] if isinstance(row["m"], dt.date) else dt.date.fromisoformat(str(row["m"])[:10])
        out[row["line"]][month.month - 1] += _cents(Decimal(str(row["v"] or 0)) / 100)
    return dict(out)


def orders_by_line_month(*, user: User, year: int, unit: OrgUnit | None = None, owner: User | None = None,
                         region: OrgUnit | None = None) -> dict[int | None, list[Decimal]]:
    """What was ordered (order lines' amounts, cancelled orders aside) per product line × month ordered,
    of the accounts `user` may see, narrowed like the facts by the account's unit, owner and region. One
    aggregate query."""
    from django.db.models import F
    from django.db.models.functions import TruncMonth

    from kamcrm.agreements.choices import OrderStatus
    from kamcrm.agreements.models import OrderLine

    lines = visible(OrderLine.objects.all(), user, VIEW).filter(
        order__ordered_on__gte=dt.date(year, 1, 1), order__ordered_on__lt=dt.date(year + 1, 1, 1)
    ).exclude(order__status=OrderStatus.CANCELLED)
    lines = _narrow(lines, unit=unit, owner=owner, region=region, prefix="order__account__")
    out: dict[int | None, list[Decimal]] = defaultdict(lambda: [ZERO] * 12)
    for row in (lines.values(line=F("product__line_id"), m=TruncMonth("order__ordered_on"))
                .annotate(v=Sum("amount")).order_by()):
        month = row["m"] if isinstance(row["m"], dt.date) else dt.date.fromisoformat(str(row["m"])[:10])
        out[row["line"]][month.month - 1] += _cents(row["v"])
    return dict(out)


def plan_by_line(*, year: int, region: OrgUnit | None = None) -> dict[int, Decimal]:
    """The year's product plan target per product line (in a region's subtree, or everywhere)."""
    from kamcrm.products.models import ProductPlan

    qs = ProductPlan.objects.filter(year=year, target_amount__isnull=False)
    if region is not None:
        qs = qs.filter(region__path__startswith=region.path)
    return {row["line_id"]: _cents(row["v"]) for row in qs.values("line_id").annotate(v=Sum("target_amount")).order_by()}


def revenue_accounts(*, user: User, year: int, month: int | None = None, measure: str = "expected",
                     unit: OrgUnit | None = None, owner: User | None = None, region: OrgUnit | None = None,
                     product_line_id: int | None = None, limit: int = 100) -> list[dict]:
    """Drill-down: the accounts behind a figure, largest first (account facts, through visible())."""
    if measure not in MEASURES:
        raise ValueError(measure)
    qs = fact_queryset(user)
    if month:
        qs = qs.filter(month=dt.date(year, month, 1))
    else:
        qs = qs.filter(month__gte=dt.date(year, 1, 1), month__lte=dt.date(year, 12, 1))
    qs = _narrow(qs, unit=unit, owner=owner, region=region)
    if product_line_id is not None:
        qs = qs.filter(product_line_id=product_line_id)
    return list(qs.values("account_id", "account__name", "owner__display_name").annotate(v=Sum(measure))
                .filter(v__gt=0).order_by("-v", "account_id")[:limit])
