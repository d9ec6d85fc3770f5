"""`kamcrm demo` builds this year's plan, decomposed from the company to every sales person and approved,
balanced in every month and metric, with completion equal to direct sums over the records behind it."""
from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from kamcrm.org.demo import COMPANY_CODE, today_local
from kamcrm.org.models import OrgUnit, User
from kamcrm.targets import selectors, services
from kamcrm.targets.choices import Period, PlanStatus
from kamcrm.targets.demo import SALES_ROLES
from kamcrm.targets.models import Metric, TargetLine, TargetPlan
from kamcrm.targets.tests.test_selectors import direct_actual, direct_pipeline, direct_target

pytestmark = pytest.mark.django_db


def test_demo_plan_reaches_every_sales_person_and_completion_matches_the_records(db):
    out = io.StringIO()
    call_command("demo", "--accounts", "80", stdout=out)
    stage = next(line for line in out.getvalue().splitlines() if line.startswith("targets"))
    print(stage)  # "targets  target plans 1, target lines …, splits … (… s)": shown with -rP
    today = today_local()
    plan = TargetPlan.objects.get(year=today.year)
    assert plan.status == PlanStatus.APPROVED
    metrics = list(Metric.objects.filter(is_active=True))
    people = list(User.objects.filter(role__in=SALES_ROLES, is_active=True))
    nodes = set(TargetLine.objects.filter(plan=plan, person__isnull=False).values_list("node", "metric_id", "month"))
    assert nodes == {(services.node_key(p), m.pk, month) for p in people for m in metrics for month in range(1, 13)}
    assert not TargetLine.objects.filter(plan=plan, out_of_balance=True).exists()
    assert services.balance_problems(plan=plan) == []

    company = OrgUnit.objects.get(code=COMPANY_CODE)
    rep = next(p for p in people if p.role == "account_manager")
    admin = User.objects.filter(is_superuser=True).first()
    for metric in metrics:
        for subject in (rep, rep.unit, company):
            c = selectors.completion(user=admin, metric=metric, subject=subject, on=today, period=Period.YEAR)
            start, end, months = selectors.period_bounds(Period.YEAR, today)
            assert (c.target, c.actual, c.pipeline) == (
                direct_target(plan, metric, subject, months), direct_actual(metric, subject, start, today),
                direct_pipeline(metric, subject, start, end)), (metric.code, str(subject))
    # the records behind each company figure add up to it (the administrator sees them all)
    start = selectors.period_bounds(Period.YEAR, today)[0]
    for metric in metrics:
        records, total, count = selectors.actual_records(user=admin, metric=metric, subject=company, start=start,
                                                         end=today)
        actual = selectors.actual(metric=metric, subject=company, start=start, end=today)
        assert total == actual, metric.code
        assert count == len(records) or len(records) == selectors.DRILL_LIMIT
        if count <= selectors.DRILL_LIMIT:
            assert sum((r.value for r in records), total * 0) == total, metric.code
    # a second run builds nothing more
    call_command("demo", "--accounts", "80", stdout=io.StringIO())
    assert TargetPlan.objects.filter(year=today.year).count() == 1
