"""Demo data, part 7: this year's target plan, decomposed from the company to every sales person and
approved (issue 6).

The company's figures start from this year's actuals (the suggestion "last year × growth" has no last
year in the demo) plus a stretch; each level is split onto the units below it that have sales people and
onto its own sales people, in proportion to how many sales people each has, through the services (one
set-based call per split), so every invariant holds as in use. The cents that rounding leaves stay
unallocated. Built once per year: a second run creates nothing.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from kamcrm.org.choices import Role
from kamcrm.org.demo import DEFAULT_SEED, Progress, StageReport, timed_stage, today_local
from kamcrm.org.models import OrgUnit, User
from kamcrm.targets import selectors, services
from kamcrm.targets.models import Metric, TargetPlan

SALES_ROLES = (Role.ACCOUNT_MANAGER, Role.SALES_MANAGER)
STRETCH = Decimal("1.10")
# Floors so that a metric the demo's sources barely feed still has a meaningful company target.
FLOOR = {True: Decimal("20"), False: Decimal("100000")}


def build_targets(*, seed: int = DEFAULT_SEED, today: dt.date | None = None,
                  progress: Progress | None = None) -> StageReport:
    today = today or today_local()
    with timed_stage("targets", progress) as report:
        services.metric_defaults_ensure()
        root = OrgUnit.objects.filter(parent__isnull=True).order_by("path").first()
        if root is None or TargetPlan.objects.filter(year=today.year).exists():
            return report
        people = list(User.objects.filter(role__in=SALES_ROLES, is_active=True, unit__isnull=False)
                      .select_related("unit").order_by("username"))
        if not people:
            return report
        units = list(OrgUnit.objects.filter(is_active=True).order_by("path"))
        headcount = {u.pk: sum(1 for p in people if p.unit.path.startswith(u.path)) for u in units}
        members: dict[int, list[User]] = defaultdict(list)
        for person in people:
            members[person.unit_id].append(person)
        below: dict[int, list[OrgUnit]] = defaultdict(list)
        for unit in units:
            if unit.parent_id and headcount[unit.pk]:
                below[unit.parent_id].append(unit)

        plan = services.plan_create(year=today.year, name=f"{today.year}年度销售目标")
        metrics = list(Metric.objects.filter(is_active=True).order_by("order", "id"))
        splits = 0
        for metric in metrics:
            services.target_set(plan=plan, metric=metric, node=root, amounts=_company_figures(metric, root, today))
            frontier = [root]
            while frontier:
                parent = frontier.pop(0)
                shares = {child: headcount[child.pk] for child in below[parent.pk]}
                shares.update({person: 1 for person in members[parent.pk]})
                if shares:
                    services.target_decompose_by_shares(plan=plan, metric=metric, parent=parent, shares=shares)
                    splits += 1
                frontier += below[parent.pk]
        departments = [u for u in units if u.parent_id and below[u.pk] and u.parent_id != root.pk]
        for unit in departments:  # each department's split goes up and is approved, then the company's
            services.plan_submit(plan=plan, unit=unit, comment="部门目标已分解到人")
            services.plan_approve(plan=plan, unit=unit, comment="同意")
        services.plan_submit(plan=plan, comment="年度目标已层层分解")
        services.plan_approve(plan=plan, comment="批准执行")
        report.created = {"target plans": 1, "target lines": plan.lines.count(), "splits": splits}
    return report


def _company_figures(metric: Metric, root: OrgUnit, today: dt.date) -> list[Decimal]:
    """This year's actual per month from the metric's source, stretched, with a floor."""
    import calendar

    out = []
    for month in range(1, 13):
        start = dt.date(today.year, month, 1)
        end = dt.date(today.year, month, calendar.monthrange(today.year, month)[1])
        value = selectors.actual(metric=metric, subject=root, start=start, end=end) * STRETCH
        value = max(value, FLOOR[metric.is_count])
        out.append(value.quantize(metric.quantum))
    return out
