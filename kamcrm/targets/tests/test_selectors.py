"""Completion from the sources: for a person, a unit and the company, month to date, quarter and year,
target, actual and weighted pipeline equal direct sums over the records behind them (revenue facts,
agreements, won and open opportunities, accounts, visits); each person sees only what their reach covers."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.http import Http404
from django.utils import timezone

from kamcrm.activities import services as activities
from kamcrm.activities.models import Visit
from kamcrm.agreements import services as agreements
from kamcrm.agreements.models import Agreement
from kamcrm.analytics.models import RevenueFact
from kamcrm.customers.models import Account
from kamcrm.products import services as product_services
from kamcrm.receivables import services as receivables
from kamcrm.sales import services as sales
from kamcrm.sales.models import Opportunity, Stage
from kamcrm.targets import selectors, services
from kamcrm.targets.choices import Period
from kamcrm.targets.models import Metric, TargetLine

pytestmark = pytest.mark.django_db
D = Decimal
CENT = D("0.01")


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


@pytest.fixture
def on():
    return timezone.localdate()


@pytest.fixture
def world(org, on):
    """A year of records around `on` for rep, peer and outsider, and an approved plan down to the people."""
    services.metric_defaults_ensure()
    line = product_services.product_line_create(code="IDC", name="数据中心")
    product = product_services.product_create(line=line, code="IDC-RACK", name="机柜租用", list_price=D("8000"),
                                              unit="架")
    year_start, year_end = dt.date(on.year, 1, 1), dt.date(on.year, 12, 31)
    for number, account, owner, amount, signed in (("HT-1", org.acct, org.rep, "120000", on),
                                                   ("HT-2", org.other, org.outsider, "240000", year_start)):
        agreement = agreements.agreement_create(account=account, number=number, title="机柜", owner=owner,
                                                start_date=year_start, end_date=year_end,
                                                lines=[{"product": product, "amount": D(amount)}])
        agreements.agreement_sign(agreement=agreement, at=at(signed))
    invoice = receivables.invoice_create(account=org.acct, number="FP-1", invoice_date=on.replace(day=1),
                                         amount=D("10000"), tax=D("600"), product_line=line)
    receivables.payment_create(account=org.acct, received_on=on.replace(day=1), amount=D("5300"),
                               allocations=[(invoice, D("5300"))])
    won = Stage.objects.get(code="won")
    assigned = Stage.objects.get(code="assigned")
    month_end = (on.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    for owner, account, amount, stage, close in (
            (org.rep, org.acct, "5000", won, None), (org.peer, org.acct, "7000", won, None),
            (org.outsider, org.other, "9000", won, None), (org.rep, org.acct, "10000", assigned, month_end),
            (org.peer, org.acct, "3333.33", assigned, on), (org.outsider, org.other, "8000", assigned, month_end)):
        sales.opportunity_create(account=account, name=f"{owner} {amount}", owner=owner, stage=stage,
                                 amount=D(amount), expected_close_date=close, entered_at=at(on, 9))
    done = activities.visit_plan(account=org.acct, owner=org.rep, starts_at=at(on, 9), purpose="拜访")
    activities.visit_record(visit=done, outcome="签约意向")
    activities.visit_plan(account=org.acct, owner=org.peer, starts_at=at(on, 11), purpose="拜访")
    first = activities.visit_plan(account=org.acct, owner=org.peer, starts_at=at(on.replace(day=1), 8),
                                  purpose="回访")
    activities.visit_record(visit=first, outcome="ok")

    plan = services.plan_create(year=on.year)
    for metric in Metric.objects.all():
        base = D("12") if metric.is_count else D("120000")
        services.target_set(plan=plan, metric=metric, node=org.hq, amounts=[base] * 12)
        for parent, kids in ((org.hq, [org.east, org.west]), (org.east, [org.sales_east]),
                             (org.sales_east, [org.team_e1]), (org.team_e1, [org.manager, org.rep, org.peer])):
            services.target_decompose_by_shares(plan=plan, metric=metric, parent=parent, shares=dict.fromkeys(kids, 1))
    services.plan_submit(plan=plan)
    services.plan_approve(plan=plan)
    return plan


def _in(subject, owner, unit_path: str | None) -> bool:
    """Does a record owned by `owner` (with owning unit path `unit_path`) count for `subject`?"""
    from kamcrm.org.models import User

    if isinstance(subject, User):
        return owner.pk == subject.pk
    return (unit_path or "").startswith(subject.path)


def direct_actual(metric, subject, start: dt.date, end: dt.date) -> Decimal:
    source = metric.source
    if source in ("expected", "billed", "collected"):
        return sum((getattr(f, source) for f in RevenueFact.objects.select_related("owner", "owner_unit")
                    if start.replace(day=1) <= f.month <= end and _in(subject, f.owner, f.owner_unit.path)), D(0))
    if source == "signed":
        return sum((a.total_value for a in Agreement.objects.select_related("owner__unit")
                    if a.signed_on and start <= a.signed_on <= end and _in(subject, a.owner, a.owner.unit.path)), D(0))
    if source == "won":
        return sum((o.amount for o in Opportunity.objects.select_related("stage", "owner", "owner_unit")
                    if o.stage.kind == "won" and o.closed_on and start <= o.closed_on <= end
                    and _in(subject, o.owner, o.owner_unit.path)), D(0))
    if source == "new_key_accounts":
        return D(sum(1 for a in Account.objects.select_related("owner", "owner_unit")
                     if a.tier in ("key", "strategic") and start <= timezone.localdate(a.created_at) <= end
                     and _in(subject, a.owner, a.owner_unit.path)))
    if source == "visits":
        return D(sum(1 for v in Visit.objects.select_related("owner__unit")
                     if v.status == "done" and start <= timezone.localdate(v.starts_at) <= end
                     and _in(subject, v.owner, v.owner.unit.path)))
    raise AssertionError(source)


def direct_pipeline(metric, subject, start, end) -> Decimal:
    if metric.is_count:
        return D(0)
    total = sum((o.amount * o.probability / 100 for o in Opportunity.objects.select_related("stage", "owner", "owner_unit")
                 if o.stage.kind == "open" and o.expected_close_date and start <= o.expected_close_date <= end
                 and _in(subject, o.owner, o.owner_unit.path)), D(0))
    return total.quantize(CENT)


def direct_target(plan, metric, subject, months) -> Decimal:
    key = services.node_key(subject)
    return sum((line.amount for line in TargetLine.objects.filter(plan=plan, metric=metric)
                if line.node == key and not line.is_unallocated and line.month in months), D(0))


@pytest.mark.parametrize("period", list(Period.values))
def test_completion_equals_direct_sums_for_person_unit_and_company(org, world, on, period):
    start, end, months = selectors.period_bounds(period, on)
    seen = set()
    for metric in Metric.objects.all():
        for subject in (org.rep, org.peer, org.team_e1, org.east, org.hq):
            c = selectors.completion(user=org.exec_, metric=metric, subject=subject, on=on, period=period)
            expected = (direct_target(world, metric, subject, months), direct_actual(metric, subject, start, on),
                        direct_pipeline(metric, subject, start, end))
            assert (c.target, c.actual, c.pipeline) == expected, (metric.code, str(subject))
            assert c.gap == c.target - c.actual - c.pipeline
            assert c.forecast_basis == ("run_rate" if metric.is_count else "pipeline")
            seen.add((metric.code, c.actual > 0))
    # every source contributed something somewhere, so the comparison is not of zeros
    assert {code for code, nonzero in seen if nonzero} == set(Metric.objects.values_list("code", flat=True))


def test_forecast_of_the_month(org, world, on):
    metric = Metric.objects.get(code="won_value")
    c = selectors.completion(user=org.exec_, metric=metric, subject=org.rep, on=on, period=Period.YEAR)
    assert c.forecast == D("5000.00") + D("2000.00")  # won + 10,000 × 20 % closing this month
    visits = Metric.objects.get(code="visits")
    c = selectors.completion(user=org.exec_, metric=visits, subject=org.peer, on=on)
    days = (on.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    assert c.forecast == (D(1) * days.day / on.day).quantize(D(1))


def test_a_rep_sees_only_their_own_line(org, world, on):
    metric = Metric.objects.get(code="expected_revenue")
    rows = selectors.plan_grid(user=org.rep, plan=world, metric=metric)
    assert [r.line_node for r in rows] == [services.node_key(org.rep)]
    assert selectors.completion(user=org.rep, metric=metric, subject=org.rep, on=on).target == D("20000.00")
    for subject in (org.peer, org.team_e1, org.hq):
        with pytest.raises(Http404):
            selectors.completion(user=org.rep, metric=metric, subject=subject, on=on)
    with pytest.raises(Http404):
        selectors.completion(user=org.outsider, metric=metric, subject=org.rep, on=on)
    manager_rows = {r.line_node for r in selectors.plan_grid(user=org.manager, plan=world, metric=metric)}
    assert manager_rows == {services.node_key(n) for n in (org.team_e1, org.manager, org.rep, org.peer)}
    head_rows = {r.line_node for r in selectors.plan_grid(user=org.dept_head, plan=world, metric=metric)}
    assert services.node_key(org.sales_east) in head_rows and services.node_key(org.west) not in head_rows
    everything = selectors.plan_grid(user=org.exec_, plan=world, metric=metric)
    hq = next(r for r in everything if r.line_node == services.node_key(org.hq) and not r.is_unallocated)
    assert hq.children_sum == hq.months and not hq.any_out_of_balance


def test_ranking_of_people_and_units(org, world, on):
    metric = Metric.objects.get(code="won_value")
    ranking = selectors.completion_ranking(user=org.manager, metric=metric, unit=org.team_e1, on=on)
    assert [c.subject for c in ranking["people"]][:2] == [org.peer, org.rep]  # 7,000 before 5,000, same target
    assert ranking["units"] == []
    top = selectors.completion_ranking(user=org.exec_, metric=metric, unit=org.hq, on=on, period=Period.YEAR)
    assert [c.subject for c in top["units"]][:2] == [org.east, org.west]  # 12,000 before 9,000 on the same target


def test_suggestions_from_schedules_and_last_year(org, world, on):
    metric = Metric.objects.get(code="expected_revenue")
    suggested = selectors.target_suggest(user=org.exec_, metric=metric, subject=org.rep, year=on.year)
    assert suggested[0] == D("10000.00")  # 120,000 over twelve months, no pipeline in January
    this_month = suggested[on.month - 1]
    assert this_month == D("10000.00") + D("2000.00")
    grown = selectors.target_suggest(user=org.exec_, metric=metric, subject=org.rep, year=on.year + 1,
                                     basis="last_year", growth=D("0.1"))
    assert grown == [D("11000.00")] * 12


def test_the_unit_month_grid_equals_completion_unit_by_unit(org, world, on):
    import calendar

    for metric in Metric.objects.all():
        grid = selectors.completion_by_unit_month(user=org.exec_, metric=metric, year=on.year)
        assert {row.unit for row in grid} >= {org.hq, org.east, org.team_e1, org.west}
        for row in grid:
            for month in range(1, 13):
                start = dt.date(on.year, month, 1)
                end = dt.date(on.year, month, calendar.monthrange(on.year, month)[1])
                assert row.actual[month - 1] == selectors.actual(metric=metric, subject=row.unit, start=start, end=end)
                assert row.target[month - 1] == selectors.target_of(plan=world, metric=metric, subject=row.unit,
                                                                    months=[month])
    mine = selectors.completion_by_unit_month(user=org.manager, metric=metric, year=on.year)
    assert [row.unit for row in mine] == [org.team_e1]
