"""Reads of target plans: the plan grid, completion per person, unit and company, rankings, suggestions.

Actuals per metric source (decision 0008):
- expected / billed / collected: the revenue roll-ups (analytics), by the account's owner and owning unit
  on the first of each month; whole months from the period's first month to the month of `on`;
- signed: agreements signed in the period (`signed_on`), their `total_value`, by the agreement's owner;
- won: opportunities in a won stage closed in the period (`closed_on`), their amount, by owner and
  owning unit (with a product line: the amounts of their lines of that line);
- new key accounts: key and strategic accounts created in the period, by owner and owning unit;
- visits: visits recorded as made (status done) that started in the period, by the visitor.
The weighted pipeline is open opportunities' amount × probability with an expected close date in the
period (money metrics only; counts have none).

Who sees what: a person sees their own targets and completion, and those of the people and units their
reach covers (org.selectors.reach: their manager chain, and the subtrees they head or see by role).
"""
from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import DecimalField, ExpressionWrapper, F, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kamcrm.core import context
from kamcrm.org.choices import Role
from kamcrm.org.models import OrgUnit, User
from kamcrm.org.selectors import VIEW, Reach, reach
from kamcrm.targets.choices import MetricSource, Period, PlanStatus
from kamcrm.targets.models import Metric, TargetLine, TargetPlan
from kamcrm.targets.services import node_key

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
Subject = OrgUnit | User


def _cents(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT)


# ---- plans and their lines ----------------------------------------------------------------------

def plan_list() -> QuerySet[TargetPlan]:
    return TargetPlan.objects.select_related("approved_by").order_by("-year", "-version")


def plan_get(*, pk: int) -> TargetPlan:
    plan = plan_list().filter(pk=pk).first()
    if plan is None:
        raise Http404
    return plan


def plan_in_force(*, year: int) -> TargetPlan | None:
    """The plan completion is measured against: the latest approved version, else the latest version."""
    plans = TargetPlan.objects.filter(year=year).order_by("-version")
    return plans.filter(status=PlanStatus.APPROVED).first() or plans.first()


def metric_list(*, active: bool = True) -> QuerySet[Metric]:
    qs = Metric.objects.order_by("order", "id")
    return qs.filter(is_active=True) if active else qs


def _reaches(r: Reach, subject: Subject) -> bool:
    if r.everything:
        return True
    if isinstance(subject, User):
        if subject.pk in r.owner_ids:
            return True
        path = subject.unit.path if subject.unit_id else None
        return bool(path) and any(path.startswith(p) for p in r.unit_paths)
    return any(subject.path.startswith(p) for p in r.unit_paths)


def may_see(user: User, subject: Subject) -> bool:
    return _reaches(reach(user, VIEW), subject)


def _check_sees(user: User, subject: Subject) -> None:
    if not may_see(user, subject):
        raise Http404


def line_queryset(*, user: User, plan: TargetPlan) -> QuerySet[TargetLine]:
    """The plan's lines `user` may see: their own, their manager chain's people, their subtrees' units
    and people (with the unallocated lines of the units they see)."""
    r = reach(user, VIEW)
    qs = TargetLine.objects.filter(plan=plan)
    if r.everything:
        return qs
    q = Q(person_id__in=sorted(r.owner_ids))
    for path in r.unit_paths:
        q |= Q(unit__path__startswith=path)
    return qs.filter(q)


@dataclass
class GridRow:
    line_node: str
    label: str
    depth: int
    is_unallocated: bool
    is_person: bool
    months: list[Decimal]
    out_of_balance: list[bool]
    # children + unallocated per month, for split rows (None where the row is not split)
    children_sum: list[Decimal] | None = None
    unit_id: int | None = None  # the unit of a unit row (not of a person's or an unallocated row)

    @property
    def total(self) -> Decimal:
        return sum(self.months, ZERO)

    @property
    def any_out_of_balance(self) -> bool:
        return any(self.out_of_balance)


def plan_grid(*, user: User, plan: TargetPlan, metric: Metric, product_line_id: int | None = None) -> list[GridRow]:
    """Units down (each followed by its people and its unallocated row), months across, for what `user`
    may see: three queries whatever the size of the organisation."""
    lines = list(line_queryset(user=user, plan=plan).filter(metric=metric, product_line_id=product_line_id)
                 .select_related("unit", "person").order_by("unit__path", "person_id", "is_unallocated", "month"))
    rows: dict[tuple[str, bool], GridRow] = {}
    order: list[tuple] = []
    for line in lines:
        key = (line.node, line.is_unallocated)
        row = rows.get(key)
        if row is None:
            label = str(line.person) if line.person_id else str(line.unit)
            row = GridRow(line_node=line.node, label=label, depth=line.level, is_unallocated=line.is_unallocated,
                          is_person=bool(line.person_id), months=[ZERO] * 12, out_of_balance=[False] * 12,
                          unit_id=None if line.person_id or line.is_unallocated else line.unit_id)
            rows[key] = row
            # Sort: unit path, then the unit's own row, its people, its unallocated row.
            kind = 2 if line.is_unallocated else (1 if line.person_id else 0)
            order.append((line.unit.path, kind, label, key))
        row.months[line.month - 1] = line.amount
        row.out_of_balance[line.month - 1] = line.out_of_balance
    sums: dict[str, list[Decimal]] = {}
    ids = {line.pk: line for line in lines}
    for line in lines:
        if line.parent_id and line.parent_id in ids:
            parent = ids[line.parent_id]
            sums.setdefault(parent.node, [ZERO] * 12)[line.month - 1] += line.amount
    for (node, unallocated), row in rows.items():
        if not unallocated and node in sums:
            row.children_sum = sums[node]
    return [rows[key] for *_sort, key in sorted(order, key=lambda t: t[:3])]


# ---- actuals ------------------------------------------------------------------------------------

def _month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _month_end(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def period_bounds(period: str, on: dt.date) -> tuple[dt.date, dt.date, list[int]]:
    """(first day, last day, months of the target) of the month, quarter or year containing `on`."""
    if period == Period.MONTH:
        start = _month_start(on)
        months = [on.month]
    elif period == Period.QUARTER:
        first = 3 * ((on.month - 1) // 3) + 1
        start = dt.date(on.year, first, 1)
        months = [first, first + 1, first + 2]
    elif period == Period.YEAR:
        start = dt.date(on.year, 1, 1)
        months = list(range(1, 13))
    else:
        raise ValueError(period)
    last = months[-1]
    end = dt.date(on.year, last, calendar.monthrange(on.year, last)[1])
    return start, end, months


def _scope(subject: Subject, *, owner: str, unit: str | None) -> Q:
    """A filter on a source's owner (a person) or owning unit's subtree (a unit)."""
    if isinstance(subject, User):
        return Q(**{f"{owner}_id": subject.pk})
    if unit is None:
        return Q(**{f"{owner}__unit__path__startswith": subject.path})
    return Q(**{f"{unit}__path__startswith": subject.path})


@dataclass(frozen=True)
class Source:
    """Where a metric's actuals come from, in one place for every read (the figure, the unit × month
    grid, the records behind a figure): the rows in the period, the field summed (None: rows counted),
    the owner and owning-unit fields (unit None: the owner's unit) and the date the month is taken from."""

    rows: QuerySet
    value: str | None
    owner: str
    unit: str | None
    date: str

    def scoped(self, subject) -> QuerySet:
        """The rows of a person or unit (by owner or owning unit), or of an account or an opportunity (an
        action plan's subject: by the record's own link to it)."""
        if isinstance(subject, OrgUnit | User):
            return self.rows.filter(_scope(subject, owner=self.owner, unit=self.unit))
        from kamcrm.customers.models import Account

        links = ACCOUNT_LINK if isinstance(subject, Account) else OPPORTUNITY_LINK
        field = links.get(self.rows.model._meta.label)
        if field is None:
            raise ValueError(f"{self.rows.model._meta.label} cannot be measured for {type(subject).__name__}")
        return self.rows.filter(**{field: subject.pk})

    def total(self, qs: QuerySet) -> Decimal:
        if self.value is None:
            return Decimal(qs.count())
        return _cents(qs.aggregate(v=Sum(self.value))["v"])


# How each source's rows point at an account or an opportunity (an action plan's subject).
ACCOUNT_LINK = {"analytics.RevenueFact": "account_id", "agreements.Agreement": "account_id",
                "sales.Opportunity": "account_id", "customers.Account": "pk", "activities.Visit": "account_id"}
OPPORTUNITY_LINK = {"agreements.Agreement": "opportunity_id", "sales.Opportunity": "pk",
                    "activities.Visit": "opportunity_id"}


def _day_range(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start 00:00, the day after end 00:00) in the project's time zone: a range an index serves, where a
    __date cast on the column would not."""
    tz = timezone.get_current_timezone()
    return (dt.datetime.combine(start, dt.time(), tzinfo=tz),
            dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=tz))


def source_of(metric: Metric, start: dt.date, end: dt.date, *, per_account: bool = False) -> Source:
    """The metric's source rows from `start` to `end` inclusive (module docstring: the rules). Revenue
    comes from the roll-ups (by owner and unit), or from the facts when `per_account` (an account's own)."""
    source = metric.source
    if source in (MetricSource.EXPECTED, MetricSource.BILLED, MetricSource.COLLECTED):
        from kamcrm.analytics.models import RevenueFact, RevenueRollup

        model = RevenueFact if per_account else RevenueRollup
        return Source(model.objects.filter(month__gte=_month_start(start), month__lte=_month_start(end)),
                      source, "owner", "owner_unit", "month")
    if source == MetricSource.SIGNED:
        from kamcrm.agreements.models import Agreement

        return Source(Agreement.objects.filter(signed_on__gte=start, signed_on__lte=end), "total_value", "owner",
                      None, "signed_on")
    if source == MetricSource.WON:
        from kamcrm.sales.choices import StageKind
        from kamcrm.sales.models import Opportunity

        return Source(Opportunity.objects.filter(stage__kind=StageKind.WON, closed_on__gte=start, closed_on__lte=end),
                      "amount", "owner", "owner_unit", "closed_on")
    if source == MetricSource.NEW_KEY_ACCOUNTS:
        from kamcrm.customers.models import Account

        lo, hi = _day_range(start, end)
        return Source(Account.objects.filter(tier__in=("key", "strategic"), created_at__gte=lo, created_at__lt=hi),
                      None, "owner", "owner_unit", "created_at")
    if source == MetricSource.VISITS:
        from kamcrm.activities.choices import VisitStatus
        from kamcrm.activities.models import Visit

        lo, hi = _day_range(start, end)
        return Source(Visit.objects.filter(status=VisitStatus.DONE, starts_at__gte=lo, starts_at__lt=hi), None,
                      "owner", None, "starts_at")
    raise ValueError(source)


def actual(*, metric: Metric, subject, start: dt.date, end: dt.date, product_line_id: int | None = None) -> Decimal:
    """The metric's actual for `subject` — a person, a unit (its subtree), an account or an opportunity —
    from `start` to `end` (inclusive), straight from its source."""
    from kamcrm.customers.models import Account

    src = source_of(metric, start, end, per_account=isinstance(subject, Account))
    qs = src.scoped(subject)
    if product_line_id is not None:
        if metric.source in (MetricSource.EXPECTED, MetricSource.BILLED, MetricSource.COLLECTED):
            qs = qs.filter(product_line_id=product_line_id)
        elif metric.source == MetricSource.SIGNED:
            from kamcrm.agreements.models import AgreementLine

            return _cents(AgreementLine.objects.filter(agreement__in=qs.values("pk"), product__line_id=product_line_id)
                          .aggregate(v=Sum("amount"))["v"])
        elif metric.source == MetricSource.WON:
            from kamcrm.sales.models import OpportunityLine

            return _cents(OpportunityLine.objects.filter(opportunity__in=qs.values("pk"),
                                                         product__line_id=product_line_id)
                          .aggregate(v=Sum("amount"))["v"])
    return src.total(qs)


def weighted_pipeline(*, metric: Metric, subject: Subject, start: dt.date, end: dt.date,
                      product_line_id: int | None = None) -> Decimal:
    """Open opportunities' amount × probability expected to close from `start` to `end` (money metrics).
    The same for every money metric: read once per subject and period within a request."""
    if metric.is_count:
        return ZERO
    ctx = context.current()
    key = ("targets.pipeline", node_key(subject), start, end, product_line_id)
    if ctx.request is not None and key in ctx.memo:
        return ctx.memo[key]
    value = _weighted_pipeline(subject, start, end, product_line_id)
    if ctx.request is not None:
        ctx.memo[key] = value
    return value


def _weighted_pipeline(subject: Subject, start: dt.date, end: dt.date, product_line_id: int | None) -> Decimal:
    from kamcrm.sales.choices import StageKind
    from kamcrm.sales.models import Opportunity, OpportunityLine, PipelineRollup

    scope = _scope(subject, owner="owner", unit="owner_unit")
    if product_line_id is None and start.day == 1 and end == _month_end(end):
        # Whole months (every period the completion page shows): the pipeline roll-up by close month,
        # Σ cents × probability in integers, kept by the sales services (sales.rollup).
        weighted = (PipelineRollup.objects.filter(scope, close_month__gte=start, close_month__lte=end)
                    .aggregate(v=Sum("weighted"))["v"])
        return _cents(Decimal(weighted or 0) / 10_000)
    qs = Opportunity.objects.filter(scope, stage__kind=StageKind.OPEN,
                                    expected_close_date__gte=start, expected_close_date__lte=end)
    # Σ amount × probability in SQL, ÷ 100 in Decimal: on SQLite a whole amount is stored as an integer,
    # and integer ÷ 100 would truncate.
    money = DecimalField(max_digits=24, decimal_places=2)
    if product_line_id is not None:
        weighted = ExpressionWrapper(F("amount") * F("opportunity__probability"), output_field=money)
        total = (OpportunityLine.objects.filter(opportunity__in=qs.values("pk"), product__line_id=product_line_id)
                 .aggregate(v=Sum(weighted))["v"])
    else:
        total = qs.aggregate(v=Sum(ExpressionWrapper(F("amount") * F("probability"), output_field=money)))["v"]
    return _cents(Decimal(str(total or 0)) / 100)


def target_of(*, plan: TargetPlan | None, metric: Metric, subject: Subject, months: list[int],
              product_line_id: int | None = None) -> Decimal:
    if plan is None:
        return ZERO
    v = TargetLine.objects.filter(plan=plan, metric=metric, node=node_key(subject, product_line_id),
                                  is_unallocated=False, month__in=months).aggregate(v=Sum("amount"))["v"]
    return _cents(v)


@dataclass
class Completion:
    subject: Subject
    metric: Metric
    period: str
    start: dt.date
    end: dt.date
    target: Decimal
    actual: Decimal
    pipeline: Decimal
    forecast: Decimal  # where the month of `on` lands
    forecast_basis: str  # "pipeline" (actual + weighted pipeline closing this month) or "run_rate"

    @property
    def gap(self) -> Decimal:
        """target − actual − weighted pipeline (negative: covered with room to spare)."""
        return self.target - self.actual - self.pipeline

    @property
    def ratio(self) -> Decimal | None:
        """actual / target, as a percentage with one decimal (None without a target)."""
        if not self.target:
            return None
        return (self.actual * 100 / self.target).quantize(Decimal("0.1"))

    @property
    def forecast_basis_label(self) -> str:
        return str(FORECAST_BASES[self.forecast_basis])


FORECAST_BASES = {"pipeline": _("actual + weighted pipeline closing this month"),
                  "run_rate": _("run rate of the month so far")}


def completion(*, user: User, metric: Metric, subject: Subject, on: dt.date, period: str = Period.MONTH,
               plan: TargetPlan | None = None, product_line_id: int | None = None) -> Completion:
    """Target, actual to `on`, weighted pipeline, gap and the month's forecast for a person or a unit (the
    top unit is the company), if `user` may see them (404 otherwise). A handful of aggregate queries."""
    _check_sees(user, subject)
    plan = plan if plan is not None else plan_in_force(year=on.year)
    start, end, months = period_bounds(period, on)
    kw = {"metric": metric, "subject": subject, "product_line_id": product_line_id}
    act = actual(start=start, end=on, **kw)
    pipe = weighted_pipeline(start=start, end=end, **kw)
    month_start = _month_start(on)
    month_end = dt.date(on.year, on.month, calendar.monthrange(on.year, on.month)[1])
    month_actual = act if period == Period.MONTH else actual(start=month_start, end=on, **kw)
    if metric.is_count:
        days = calendar.monthrange(on.year, on.month)[1]
        forecast = (month_actual * days / on.day).quantize(Decimal("1"))
        basis = "run_rate"
    else:
        month_pipe = pipe if period == Period.MONTH else weighted_pipeline(start=month_start, end=month_end, **kw)
        forecast = month_actual + month_pipe
        basis = "pipeline"
    return Completion(subject=subject, metric=metric, period=period, start=start, end=end,
                      target=target_of(plan=plan, months=months, **kw), actual=act, pipeline=pipe,
                      forecast=forecast, forecast_basis=basis)


def completion_ranking(*, user: User, metric: Metric, unit: OrgUnit, on: dt.date, period: str = Period.MONTH,
                       plan: TargetPlan | None = None) -> dict[str, list[Completion]]:
    """The units directly below `unit` and its people, each ranked by completion (actual ÷ target, highest
    first; those without a target last), limited to what `user` may see."""
    _check_sees(user, unit)
    plan = plan if plan is not None else plan_in_force(year=on.year)
    r = reach(user, VIEW)
    units = [u for u in OrgUnit.objects.filter(parent=unit, is_active=True).order_by("path") if _reaches(r, u)]
    people = [p for p in User.objects.filter(unit=unit, is_active=True).select_related("unit").order_by("username")
              if _reaches(r, p)]

    def ranked(subjects):
        rows = [completion(user=user, metric=metric, subject=s, on=on, period=period, plan=plan) for s in subjects]
        return sorted(rows, key=lambda c: (c.ratio is None, -(c.ratio or 0), str(c.subject)))

    return {"units": ranked(units), "people": ranked(people)}


# ---- suggestions --------------------------------------------------------------------------------

def target_suggest(*, user: User, metric: Metric, subject: Subject, year: int, basis: str = "schedule",
                   growth: Decimal = Decimal("0"), product_line_id: int | None = None) -> list[Decimal]:
    """Twelve suggested monthly targets to start from and adjust by hand:
    - "schedule": the expected revenue already in the agreements' schedules (the roll-ups) for the
      subject and month, plus the weighted pipeline expected to close that month;
    - "last_year": the metric's actual in the same month of last year × (1 + growth)."""
    _check_sees(user, subject)
    out: list[Decimal] = []
    quantum = metric.quantum
    for month in range(1, 13):
        start = dt.date(year, month, 1)
        end = dt.date(year, month, calendar.monthrange(year, month)[1])
        if basis == "schedule":
            expected = Metric(source=MetricSource.EXPECTED)
            value = actual(metric=expected, subject=subject, start=start, end=end, product_line_id=product_line_id)
            value += weighted_pipeline(metric=expected, subject=subject, start=start, end=end,
                                       product_line_id=product_line_id)
        elif basis == "last_year":
            last_start, last_end = start.replace(year=year - 1), dt.date(year - 1, month,
                                                                         calendar.monthrange(year - 1, month)[1])
            value = actual(metric=metric, subject=subject, start=last_start, end=last_end,
                           product_line_id=product_line_id) * (1 + Decimal(growth))
        else:
            raise ValueError(basis)
        out.append(value.quantize(quantum))
    return out


# ---- the dashboard grid: every unit × 12 months in a few grouped queries ------------------------

@dataclass
class UnitMonths:
    unit: OrgUnit
    target: list[Decimal]
    actual: list[Decimal]

    @property
    def ratio(self) -> Decimal | None:
        target = sum(self.target, ZERO)
        return (sum(self.actual, ZERO) * 100 / target).quantize(Decimal("0.1")) if target else None


def _grouped_actuals(metric: Metric, year: int) -> dict[int, list[Decimal]]:
    """The metric's actual per owning unit (not yet rolled up) × month of `year`: one grouped query."""
    from django.db.models import Count
    from django.db.models.functions import ExtractMonth

    src = source_of(metric, dt.date(year, 1, 1), dt.date(year, 12, 31))
    unit = F(f"{src.unit}_id") if src.unit else F(f"{src.owner}__unit_id")
    rows = src.rows.values(u=unit, m=ExtractMonth(src.date)).annotate(
        v=Sum(src.value) if src.value else Count("pk"))
    out: dict[int, list[Decimal]] = {}
    for row in rows.order_by():
        if row["u"] is None:
            continue
        out.setdefault(row["u"], [ZERO] * 12)[int(row["m"]) - 1] += _cents(row["v"])
    return out


def completion_by_unit_month(*, user: User, metric: Metric, year: int, plan: TargetPlan | None = None,
                             unit: OrgUnit | None = None) -> list[UnitMonths]:
    """Target and actual per unit × month of `year` for every unit `user` may see (within `unit`'s subtree),
    each unit's actual covering its whole subtree: one query for the targets, one grouped query on the
    source, one for the units — whatever the number of units."""
    plan = plan if plan is not None else plan_in_force(year=year)
    r = reach(user, VIEW)
    units = OrgUnit.objects.filter(is_active=True).order_by("path")
    if unit is not None:
        units = units.filter(path__startswith=unit.path)
    units = [u for u in units if _reaches(r, u)]
    by_id = {u.pk: UnitMonths(unit=u, target=[ZERO] * 12, actual=[ZERO] * 12) for u in units}
    if plan is not None:
        for row in (TargetLine.objects.filter(plan=plan, metric=metric, person__isnull=True, is_unallocated=False,
                                              product_line__isnull=True, unit_id__in=list(by_id))
                    .values("unit_id", "month", "amount")):
            by_id[row["unit_id"]].target[row["month"] - 1] = row["amount"]
    paths = dict(OrgUnit.objects.values_list("pk", "path"))
    for owning_unit, months in _grouped_actuals(metric, year).items():
        for segment in paths.get(owning_unit, "").split("."):  # the unit and each unit above it
            if segment and int(segment) in by_id:
                cells = by_id[int(segment)].actual
                for i, value in enumerate(months):
                    cells[i] += value
    return list(by_id.values())


# ---- splitting: who a unit's targets go to --------------------------------------------------------

# People who carry a personal target; a unit's other staff (service, marketing…) are not offered a split.
TARGET_ROLES = (Role.ACCOUNT_MANAGER, Role.SALES_MANAGER, Role.DEPARTMENT_HEAD)


def split_children(*, plan: TargetPlan, metric: Metric, unit: OrgUnit) -> list[Subject]:
    """What `unit`'s targets are split onto: the active units directly below it, then its people who carry
    targets and anyone of the unit already holding a line of this metric (three queries)."""
    units = list(OrgUnit.objects.filter(parent=unit, is_active=True).order_by("path"))
    holders = TargetLine.objects.filter(plan=plan, metric=metric, unit=unit, person__isnull=False).values("person_id")
    people = list(User.objects.filter(Q(role__in=TARGET_ROLES, is_active=True) | Q(pk__in=holders), unit=unit)
                  .select_related("unit").order_by("username"))
    return [*units, *people]


# ---- drill-down: the records behind an actual ----------------------------------------------------

@dataclass
class Record:
    label: str
    url: str
    on: dt.date | None
    value: Decimal


DRILL_LIMIT = 200


def actual_records(*, user: User, metric: Metric, subject: Subject, start: dt.date, end: dt.date,
                   limit: int = DRILL_LIMIT) -> tuple[list[Record], Decimal, int]:
    """The records behind `actual(metric, subject, start, end)`, largest first: (the first `limit` rows,
    their total over all rows, how many rows). Revenue measures drill to their accounts (the facts summed
    per account), the others to the agreements, opportunities, accounts or visits themselves — the same
    filters as `actual`, so the total equals the figure. Only records `user` may see are listed."""
    from django.urls import reverse

    from kamcrm.org.selectors import visible

    _check_sees(user, subject)
    src = source_of(metric, start, end)
    source = metric.source
    if source in (MetricSource.EXPECTED, MetricSource.BILLED, MetricSource.COLLECTED):
        # the roll-up carries no account: the same rows' facts, summed per account
        from kamcrm.analytics.models import RevenueFact

        facts = visible(RevenueFact.objects.filter(_scope(subject, owner=src.owner, unit=src.unit),
                                                   month__gte=_month_start(start), month__lte=_month_start(end)), user)
        grouped = (facts.values("account_id", "account__name").annotate(v=Sum(source)).exclude(v=0)
                   .order_by("-v", "account_id"))
        return ([Record(r["account__name"], reverse("customers:account", args=[r["account_id"]]), None, _cents(r["v"]))
                 for r in grouped[:limit]], _cents(facts.aggregate(v=Sum(source))["v"]), grouped.count())
    qs = visible(src.scoped(subject), user)
    total, count = src.total(qs), qs.count()
    if source == MetricSource.SIGNED:
        rows = qs.order_by("-total_value", "id").values("id", "title", "signed_on", "total_value")[:limit]
        return [Record(r["title"], reverse("agreements:agreement", args=[r["id"]]), r["signed_on"],
                       _cents(r["total_value"])) for r in rows], total, count
    if source == MetricSource.WON:
        rows = qs.order_by("-amount", "id").values("id", "name", "closed_on", "amount")[:limit]
        return [Record(r["name"], reverse("sales:opportunity", args=[r["id"]]), r["closed_on"], _cents(r["amount"]))
                for r in rows], total, count
    if source == MetricSource.NEW_KEY_ACCOUNTS:
        rows = qs.order_by("-created_at", "-id").values("id", "name", "created_at")[:limit]
        return [Record(r["name"], reverse("customers:account", args=[r["id"]]),
                       timezone.localtime(r["created_at"]).date(), Decimal(1)) for r in rows], total, count
    rows = qs.order_by("-starts_at", "-id").values("id", "account__name", "starts_at")[:limit]
    return [Record(r["account__name"], reverse("activities:visit", args=[r["id"]]),
                   timezone.localtime(r["starts_at"]).date(), Decimal(1)) for r in rows], total, count


def plannable_units(*, user: User) -> list[OrgUnit]:
    """The active units whose targets `user` may set and split (services.may_plan; reach is memoised)."""
    from kamcrm.targets.services import may_plan

    return [u for u in OrgUnit.objects.filter(is_active=True).order_by("path") if may_plan(user, u)]


# ---- the completion dashboard's charts ------------------------------------------------------------

@dataclass
class Trend:
    target: list[Decimal]
    actual: list[Decimal]


def completion_trend(*, user: User, metric: Metric, subject: Subject, year: int,
                     plan: TargetPlan | None = None, grid: list[UnitMonths] | None = None) -> Trend:
    """Target and actual per month of `year` for one person or unit. A unit's row comes from the dashboard
    grid (pass the page's `grid` when it holds the unit, so it is not read twice); a person's from one
    target query and the source month by month."""
    _check_sees(user, subject)
    plan = plan if plan is not None else plan_in_force(year=year)
    if isinstance(subject, OrgUnit):
        rows = grid if grid is not None else completion_by_unit_month(user=user, metric=metric, year=year, plan=plan,
                                                                      unit=subject)
        mine = next((r for r in rows if r.unit.pk == subject.pk), None)
        return Trend(target=mine.target if mine else [ZERO] * 12, actual=mine.actual if mine else [ZERO] * 12)
    target = [ZERO] * 12
    if plan is not None:
        for row in (TargetLine.objects.filter(plan=plan, metric=metric, node=node_key(subject), is_unallocated=False)
                    .values("month", "amount")):
            target[row["month"] - 1] = _cents(row["amount"])
    actual_by_month = []
    for month in range(1, 13):
        start = dt.date(year, month, 1)
        end = dt.date(year, month, calendar.monthrange(year, month)[1])
        actual_by_month.append(actual(metric=metric, subject=subject, start=start, end=end))
    return Trend(target=target, actual=actual_by_month)


def completion_chart(*, rows: list[Completion], ranking: dict | None, trend: Trend | None, metric: Metric | None,
                     on: dt.date) -> dict:
    """The JSON island the completion page's ECharts read: a gauge per metric, bars per unit/person of
    the ranking (with the URL each bar drills to) and the year's trend for the ranking metric."""
    from django.urls import reverse

    base = reverse("targets:completion")
    bars = []
    for kind, group in (ranking or {}).items():
        for c in group:
            if not c.target and not c.actual:  # nothing to compare: a unit or person outside the plan
                continue
            param = "unit" if kind == "units" else "person"
            bars.append({"name": str(c.subject), "target": str(c.target), "actual": str(c.actual),
                         "url": f"{base}?{param}={c.subject.pk}&metric={metric.code}&on={on.isoformat()}"})
    return {
        "gauges": [{"code": c.metric.code, "name": str(c.metric), "ratio": float(c.ratio) if c.ratio is not None
                    else None} for c in rows],
        "bars": bars, "labels": {"target": str(_("Target")), "actual": str(_("Actual")),
                                 "completion": str(_("Completion"))},
        "trend": {"target": [str(v) for v in trend.target], "actual": [str(v) for v in trend.actual],
                  "metric": str(metric)} if trend is not None else None,
        "months": [dt.date(on.year, m, 1).strftime("%Y-%m") for m in range(1, 13)],
    }
