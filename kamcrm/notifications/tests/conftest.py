"""A target plan for the personas (visits, a count metric, so actuals need no revenue set-up): the company's
figures split down to Team E1's rep and peer and Team W1's outsider, 10 visits each a month."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

YEAR = 2026
MID_MONTH = dt.date(YEAR, 3, 16)


@pytest.fixture
def visits(db):
    from kamcrm.targets import services
    from kamcrm.targets.models import Metric

    services.metric_defaults_ensure()
    return Metric.objects.get(code="visits")


@pytest.fixture
def plan(org, visits):
    from kamcrm.targets import services

    plan = services.plan_create(year=YEAR)
    ten = [Decimal("10")] * 12
    services.target_set(plan=plan, metric=visits, node=org.hq, amounts=[Decimal("30")] * 12)
    for parent, kids in ((org.hq, {org.east: [Decimal("20")] * 12, org.west: ten}),
                         (org.east, {org.sales_east: [Decimal("20")] * 12}),
                         (org.sales_east, {org.team_e1: [Decimal("20")] * 12}),
                         (org.team_e1, {org.rep: ten, org.peer: ten}),
                         (org.west, {org.sales_west: ten}), (org.sales_west, {org.team_w1: ten}),
                         (org.team_w1, {org.outsider: ten})):
        services.target_decompose(plan=plan, metric=visits, parent=parent, children=kids)
    return plan


@pytest.fixture
def visits_made(org):
    """Record `n` visits made by `owner` on `day`."""
    from kamcrm.activities import services as activities

    def make(owner, n, day=MID_MONTH):
        for i in range(n):
            starts = timezone.make_aware(dt.datetime.combine(day, dt.time(8 + i)))
            visit = activities.visit_plan(account=org.acct, owner=owner, starts_at=starts, purpose="拜访")
            activities.visit_record(visit=visit, outcome="ok")

    return make


@pytest.fixture
def action(org):
    """An open POA action of rep's, due on the 10th of March."""
    from kamcrm.poa import services as poa

    plan = poa.plan_create(subject=org.acct, title="浦江制造扩容", owner=org.rep)
    cycle = poa.cycle_open(plan=plan, period_start=dt.date(YEAR, 3, 1), period_end=dt.date(YEAR, 3, 31))
    return poa.action_add(cycle=cycle, title="拜访采购总监", owner=org.rep, due_on=dt.date(YEAR, 3, 10))
