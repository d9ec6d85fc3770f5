"""`kamcrm demo` gives the demo organisation action plans in every PDCA state (and a plan whose second
cycle opened after feedback) about accounts, opportunities, units and persons, with actions open, done
and overdue and objectives on metrics, whose check figures equal the live figures; and weekly plans and
reports for the last three weeks for every sales person (reviewed, submitted, only planned, one missing),
the figures kept with each report equal to the live ones. A second run creates nothing."""
from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.core.management import call_command

from kamcrm.org.demo import today_local
from kamcrm.org.models import User
from kamcrm.poa import selectors
from kamcrm.poa.choices import ActionStatus, CycleStatus, SubjectKind, WeeklyStatus
from kamcrm.poa.models import Action, ActionPlan, Objective, PlanCycle, WeeklyItem, WeeklyPlan

pytestmark = pytest.mark.django_db
CJK = re.compile(r"[\u4e00-\u9fff]")


def counts() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in (ActionPlan, PlanCycle, Objective, Action, WeeklyPlan, WeeklyItem)}


def test_demo_poa_stage(db):
    out = io.StringIO()
    call_command("demo", "--accounts", "80", stdout=out)
    stage = next(line for line in out.getvalue().splitlines() if line.startswith("poa"))
    print(stage)  # shown with -rP
    today = today_local()

    # ---- action plans: every state, every kind of subject, in Chinese
    plans = list(ActionPlan.objects.all())
    assert {p.kind for p in plans} == set(SubjectKind.values)
    assert all(CJK.search(p.title) for p in plans)
    latest = {p.status for p in plans}
    assert {CycleStatus.PLAN, CycleStatus.DO, CycleStatus.CHECK, CycleStatus.ACT, CycleStatus.CLOSED} <= latest
    second = [p for p in plans if p.cycle_count == 2]
    assert second, "a plan with a second cycle"
    first = PlanCycle.objects.get(plan=second[0], number=1)
    assert first.status == CycleStatus.CLOSED and first.feedback and first.feedback_at
    assert PlanCycle.objects.get(plan=second[0], number=2).status in (CycleStatus.PLAN, CycleStatus.DO)
    assert not PlanCycle.objects.filter(objectives__isnull=True).exists()  # every cycle has objectives
    assert Action.objects.filter(status=ActionStatus.DONE).exists()
    assert Action.objects.filter(status=ActionStatus.OPEN, due_on__gte=today).exists()
    assert Action.objects.filter(status=ActionStatus.OPEN, due_on__lt=today).exists()  # overdue

    # the check step's figures equal the live figures, objective by objective
    checked = list(PlanCycle.objects.filter(checked_at__isnull=False).select_related("plan"))
    assert len(checked) >= 3
    for cycle in checked:
        rows = {row["objective"]: row for row in cycle.check_figures["objectives"]}
        objectives = list(cycle.objectives.select_related("metric"))
        assert set(rows) == {o.pk for o in objectives}
        for objective in objectives:
            objective.cycle = cycle
            live = selectors.objective_actual(objective)
            assert Decimal(rows[objective.pk]["actual"]) == live, (cycle.plan.title, objective.metric.code)

    # ---- weekly plans: the three weeks before this one, every sales person but one missing week
    people = list(User.objects.filter(role__in=selectors.SALES_ROLES, is_active=True, unit__isnull=False))
    weeks = [selectors.week_of(today - dt.timedelta(weeks=n)) for n in (3, 2, 1)]
    have = set(WeeklyPlan.objects.values_list("person_id", "year", "week"))
    expected = {(p.pk, y, w) for p in people for y, w in weeks}
    assert have <= expected and len(expected - have) == 1
    statuses = set(WeeklyPlan.objects.values_list("status", flat=True))
    assert {WeeklyStatus.SUBMITTED, WeeklyStatus.REVIEWED, WeeklyStatus.DRAFT} <= statuses
    assert not WeeklyPlan.objects.filter(plan_submitted_at__isnull=True).exists()
    assert not WeeklyPlan.objects.filter(status=WeeklyStatus.REVIEWED, review_comment="").exists()
    assert WeeklyItem.objects.filter(done=True).exists() and WeeklyItem.objects.filter(done=False).exists()
    assert WeeklyItem.objects.filter(account__isnull=False).exists()
    for weekly in WeeklyPlan.objects.exclude(status=WeeklyStatus.DRAFT):
        live = selectors.week_figures(person_ids=[weekly.person_id], start=weekly.week_start)[weekly.person_id]
        assert {k: v for k, v in weekly.figures.items() if k != "taken_at"} == live.as_dict()
        assert CJK.search(weekly.summary) and not WeeklyItem.objects.filter(weekly=weekly, done__isnull=True).exists()
    # the roll-up of the whole company for last week agrees with the rows
    admin = User.objects.filter(is_superuser=True).first()
    root = people[0].unit.__class__.objects.get(parent__isnull=True)
    rows = selectors.week_rollup(user=admin, unit=root, year=weeks[-1][0], week=weeks[-1][1])
    assert len(rows) == len(people) and sum(1 for r in rows if r.weekly is None) == 1

    # ---- a second run builds nothing more
    before = counts()
    out = io.StringIO()
    call_command("demo", "--accounts", "80", stdout=out)
    assert counts() == before
    assert "nothing new" in next(line for line in out.getvalue().splitlines() if line.startswith("poa"))
