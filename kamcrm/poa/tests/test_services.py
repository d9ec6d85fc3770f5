"""The PDCA cycle's rules: a new cycle is refused before the previous cycle's feedback is recorded and
allowed after; the check step's figures equal the live figures (the same selectors as target completion);
steps run in order; every write is audited; the `_for` variants apply visibility and edit rights."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.http import Http404

from kamcrm.audit.models import ObjectChange
from kamcrm.poa import selectors, services
from kamcrm.poa.choices import ActionStatus, CycleStatus, SubjectKind
from kamcrm.poa.models import Action, ActionPlan, Objective, PlanCycle
from kamcrm.targets import selectors as target_selectors

pytestmark = pytest.mark.django_db
D = Decimal


def run_to_check(plan, period, objectives, by=None):
    cycle = services.cycle_open(plan=plan, period_start=period[0], period_end=period[1], by=by)
    for metric, target, line in objectives:
        services.objective_add(cycle=cycle, metric=metric, target=D(target), product_line=line, by=by)
    services.cycle_start(cycle=cycle, by=by)
    return services.cycle_check(cycle=cycle, by=by)


# ---- the acceptance: no new cycle before feedback ------------------------------------------------

def test_new_cycle_refused_before_feedback_and_allowed_after(org, metrics, period):
    plan = services.plan_create(subject=org.acct, title="浦江制造 Q 计划", owner=org.rep)
    first = services.cycle_open(plan=plan, period_start=period[0], period_end=period[1])
    assert (first.number, first.status) == (1, CycleStatus.PLAN)
    nxt = (period[1] + dt.timedelta(days=1), period[1] + dt.timedelta(days=30))

    with pytest.raises(ValidationError) as refused:
        services.cycle_open(plan=plan, period_start=nxt[0], period_end=nxt[1])
    assert "feedback" in refused.value.message_dict
    assert "Cycle 1 has no feedback recorded" in refused.value.message_dict["feedback"][0]

    services.objective_add(cycle=first, metric=metrics["visits"], target=D("4"))
    services.cycle_start(cycle=first)
    services.cycle_check(cycle=first)
    with pytest.raises(ValidationError) as still:  # checked, but no feedback yet
        services.cycle_open(plan=plan, period_start=nxt[0], period_end=nxt[1])
    assert "feedback" in still.value.message_dict
    with pytest.raises(ValidationError) as empty:
        services.cycle_feedback(cycle=first, feedback="   ")
    assert "feedback" in empty.value.message_dict
    assert PlanCycle.objects.filter(plan=plan).count() == 1

    closed = services.cycle_feedback(cycle=first, feedback="拜访不足：下周期每周两次", by=org.manager)
    assert closed.status == CycleStatus.CLOSED and closed.feedback_by == org.manager and closed.feedback_at
    second = services.cycle_open(plan=plan, period_start=nxt[0], period_end=nxt[1])
    assert (second.number, second.status) == (2, CycleStatus.PLAN)
    plan.refresh_from_db()
    assert (plan.status, plan.cycle_count) == (CycleStatus.PLAN, 2)


def test_cycle_open_checks_the_period(org, period):
    plan = services.plan_create(subject=org.rep, title="rep", owner=org.rep)
    with pytest.raises(ValidationError) as bad:
        services.cycle_open(plan=plan, period_start=period[1], period_end=period[0])
    assert "period_end" in bad.value.message_dict
    first = services.cycle_open(plan=plan, period_start=period[0], period_end=period[1])
    PlanCycle.objects.filter(pk=first.pk).update(status=CycleStatus.CLOSED, feedback="x",
                                                  feedback_at=first.created_at)
    with pytest.raises(ValidationError) as overlap:
        services.cycle_open(plan=plan, period_start=period[1], period_end=period[1] + dt.timedelta(days=5))
    assert "period_start" in overlap.value.message_dict


def test_steps_run_in_order(org, metrics, period):
    plan = services.plan_create(subject=org.rep, title="rep", owner=org.rep)
    cycle = services.cycle_open(plan=plan, period_start=period[0], period_end=period[1])
    with pytest.raises(ValidationError) as no_objective:
        services.cycle_start(cycle=cycle)
    assert "objectives" in no_objective.value.message_dict
    with pytest.raises(ValidationError):
        services.cycle_check(cycle=cycle)  # still in plan
    with pytest.raises(ValidationError):
        services.cycle_feedback(cycle=cycle, feedback="too early")
    services.objective_add(cycle=cycle, metric=metrics["visits"], target=D("3"))
    services.cycle_start(cycle=cycle)
    services.cycle_check(cycle=cycle)
    with pytest.raises(ValidationError) as late:
        services.objective_add(cycle=cycle, metric=metrics["visits"], target=D("1"))
    assert "metric" in late.value.message_dict
    with pytest.raises(ValidationError) as late_action:
        services.action_add(cycle=cycle, title="x", owner=org.rep, due_on=period[1])
    assert "title" in late_action.value.message_dict
    cycle = services.cycle_act(cycle=cycle)
    assert cycle.status == CycleStatus.ACT
    assert services.cycle_feedback(cycle=cycle, feedback="ok").status == CycleStatus.CLOSED


def test_subject_is_exactly_one(org):
    from django.db import IntegrityError, transaction

    with transaction.atomic(), pytest.raises(IntegrityError):
        ActionPlan.objects.create(kind=SubjectKind.ACCOUNT, account=org.acct, person=org.rep, title="x",
                                  owner=org.rep)
    with transaction.atomic(), pytest.raises(IntegrityError):
        ActionPlan.objects.create(kind=SubjectKind.UNIT, account=org.acct, title="x", owner=org.rep)
    with pytest.raises(ValidationError):
        services.plan_create(subject="not a subject", title="x", owner=org.rep)


def test_opportunity_objectives_only_for_measurable_metrics(org, world, metrics, period):
    plan = services.plan_create(subject=world.opp, title="opp", owner=org.rep)
    cycle = services.cycle_open(plan=plan, period_start=period[0], period_end=period[1])
    with pytest.raises(ValidationError) as bad:
        services.objective_add(cycle=cycle, metric=metrics["billed_revenue"], target=D("1"))
    assert "metric" in bad.value.message_dict


# ---- the check step's figures are the live figures ------------------------------------------------

def _snapshot(cycle):
    return {row["metric"] + (f"/{row['product_line']}" if row["product_line"] else ""): D(row["actual"])
            for row in cycle.check_figures["objectives"]}


def test_check_figures_equal_live_figures_for_a_person_and_a_unit(org, world, metrics, period):
    codes = ["signed_value", "billed_revenue", "collected_cash", "expected_revenue", "won_value", "visits"]
    for subject in (org.rep, org.team_e1, org.east):
        plan = services.plan_create(subject=subject, title=str(subject), owner=org.manager)
        cycle = run_to_check(plan, period, [(metrics[c], "1", None) for c in codes])
        assert cycle.status == CycleStatus.CHECK and cycle.checked_at
        snap = _snapshot(cycle)
        for code in codes:
            live = target_selectors.actual(metric=metrics[code], subject=subject, start=period[0], end=period[1])
            assert snap[code] == live, (subject, code)
        for objective in Objective.objects.filter(cycle=cycle).select_related("metric", "cycle__plan"):
            assert snap[objective.metric.code] == selectors.objective_actual(objective)
    # Non-zero, and the unit's figures take in both its people.
    assert _snapshot(PlanCycle.objects.get(plan__unit=org.team_e1))["won_value"] == D("12000.00")
    assert _snapshot(PlanCycle.objects.get(plan__person=org.rep))["won_value"] == D("5000.00")
    assert _snapshot(PlanCycle.objects.get(plan__person=org.rep))["signed_value"] == D("120000.00")
    assert _snapshot(PlanCycle.objects.get(plan__person=org.rep))["billed_revenue"] > 0


def test_check_figures_for_an_account_and_a_product_line(org, world, metrics, period):
    from kamcrm.analytics.models import RevenueFact

    plan = services.plan_create(subject=org.acct, title="浦江制造", owner=org.rep)
    cycle = run_to_check(plan, period, [
        (metrics["billed_revenue"], "20000", world.line), (metrics["billed_revenue"], "1", world.other_line),
        (metrics["collected_cash"], "1", None), (metrics["signed_value"], "100000", None),
        (metrics["won_value"], "1", None), (metrics["visits"], "4", None)])
    snap = _snapshot(cycle)
    facts = RevenueFact.objects.filter(account=org.acct, month=period[0])
    assert snap[f"billed_revenue/{world.line.pk}"] == sum((f.billed for f in facts.filter(product_line=world.line)),
                                                          D(0)) == D("10000.00")
    assert snap[f"billed_revenue/{world.other_line.pk}"] == D("0.00")
    assert snap["collected_cash"] == sum((f.collected for f in facts), D(0)) > 0
    assert snap["signed_value"] == D("120000.00")  # HT-2 is the other account's
    assert snap["won_value"] == D("12000.00")  # rep's 5000 and peer's 7000 on this account; not the open one
    assert snap["visits"] == D("2")  # two made, one only planned
    rows = {r["metric"] + str(r["product_line"] or ""): r for r in cycle.check_figures["objectives"]}
    assert D(rows["signed_value"]["gap"]) == D("100000") - D("120000")
    assert cycle.check_figures["taken_at"] == cycle.checked_at.isoformat()
    for objective in Objective.objects.filter(cycle=cycle).select_related("metric", "cycle__plan"):
        key = objective.metric.code + (f"/{objective.product_line_id}" if objective.product_line_id else "")
        assert snap[key] == selectors.objective_actual(objective)


def test_check_figures_for_an_opportunity(org, world, metrics, period):
    plan = services.plan_create(subject=world.opp, title="机柜扩容", owner=org.rep)
    cycle = run_to_check(plan, period, [(metrics["won_value"], "5000", None), (metrics["visits"], "2", None),
                                        (metrics["signed_value"], "1", None)])
    snap = _snapshot(cycle)
    assert snap == {"won_value": D("5000.00"), "visits": D("1"), "signed_value": D("120000.00")}


def test_check_snapshot_stays_while_live_figures_move(org, world, metrics, period, on):
    from kamcrm.activities import services as activities
    from kamcrm.poa.tests.conftest import at

    plan = services.plan_create(subject=org.rep, title="rep", owner=org.rep)
    cycle = run_to_check(plan, period, [(metrics["visits"], "5", None)])
    before = _snapshot(cycle)["visits"]
    visit = activities.visit_plan(account=org.acct, owner=org.rep, starts_at=at(period[0], 16), purpose="补")
    activities.visit_record(visit=visit, outcome="ok")
    objective = Objective.objects.select_related("metric", "cycle__plan").get(cycle=cycle)
    assert selectors.objective_actual(objective) == before + 1
    cycle.refresh_from_db()
    assert _snapshot(cycle)["visits"] == before


# ---- actions ---------------------------------------------------------------------------------------

def test_actions_and_overdue(org, metrics, period, on):
    plan = services.plan_create(subject=org.acct, title="p", owner=org.rep)
    cycle = services.cycle_open(plan=plan, period_start=period[0], period_end=period[1])
    late = services.action_add(cycle=cycle, title="拜访采购部", owner=org.rep, due_on=on - dt.timedelta(days=2))
    soon = services.action_add(cycle=cycle, title="报价", owner=org.rep, due_on=on + dt.timedelta(days=2))
    peer_late = services.action_add(cycle=cycle, title="peer", owner=org.peer, due_on=on - dt.timedelta(days=1))
    with pytest.raises(ValidationError) as no_due:
        services.action_add(cycle=cycle, title="x", owner=org.rep, due_on=None)
    assert "due_on" in no_due.value.message_dict
    assert [a.pk for a in selectors.overdue_actions(user=org.rep)] == [late.pk]
    assert [a.pk for a in selectors.overdue_actions(user=org.manager, person=org.peer)] == [peer_late.pk]
    assert selectors.overdue_actions(user=org.outsider, person=org.rep) == []  # cannot see the plan
    done = services.action_complete(action=late)
    assert done.status == ActionStatus.DONE and done.done_at
    reopened = services.action_update(action=done, data={"status": ActionStatus.OPEN})
    assert reopened.done_at is None
    services.action_update(action=soon, data={"status": ActionStatus.CANCELLED, "title": "报价（取消）"})
    assert Action.objects.get(pk=soon.pk).title == "报价（取消）"
    with pytest.raises(ValidationError) as bad:
        services.action_update(action=soon, data={"status": "maybe"})
    assert "status" in bad.value.message_dict


# ---- audit -----------------------------------------------------------------------------------------

def test_every_write_is_audited(org, world, metrics, period):
    from kamcrm.core.context import change_context

    with change_context(channel="shell", actor=org.rep):
        plan = services.plan_create(subject=org.acct, title="审计", owner=org.rep, by=org.rep)
        cycle = services.cycle_open(plan=plan, period_start=period[0], period_end=period[1], by=org.rep)
        objective = services.objective_add(cycle=cycle, metric=metrics["visits"], target=D("2"), by=org.rep)
        action = services.action_add(cycle=cycle, title="拜访", owner=org.rep, due_on=period[1], by=org.rep)
        services.cycle_start(cycle=cycle, by=org.rep)
        services.action_complete(action=action, by=org.rep)
        services.cycle_check(cycle=cycle, by=org.rep)
        services.cycle_feedback(cycle=cycle, feedback="好", by=org.rep)

    def rows(obj):
        return list(ObjectChange.objects.filter(content_type=ContentType.objects.get_for_model(type(obj)),
                                                object_id=obj.pk).order_by("id"))

    assert [r.action for r in rows(plan)][0] == "create"
    cycle_rows = rows(cycle)
    assert len(cycle_rows) >= 4  # opened, started, checked, closed
    assert cycle_rows[-1].changes["status"] == ["check", "closed"]
    assert "check_figures" in next(r for r in cycle_rows if "checked_at" in r.changes).changes
    assert rows(objective)[0].action == "create"
    assert [r.changes.get("status") for r in rows(action)][-1] == ["open", "done"]
    assert all(r.actor_id == org.rep.pk for r in cycle_rows)


# ---- visibility and edit rights -------------------------------------------------------------------

def test_visibility_of_plans(org, world):
    acct_plan = services.plan_create(subject=org.acct, title="acct", owner=org.rep)
    opp_plan = services.plan_create(subject=world.opp, title="opp", owner=org.rep)
    rep_plan = services.plan_create(subject=org.rep, title="rep", owner=org.manager)
    team_plan = services.plan_create(subject=org.team_e1, title="team", owner=org.manager)
    west_plan = services.plan_create(subject=org.other, title="west", owner=org.outsider)
    outsider_plan = services.plan_create(subject=org.outsider, title="outsider", owner=org.outsider)

    def seen(user):
        return set(selectors.plan_queryset(user).values_list("pk", flat=True))

    assert seen(org.rep) == {acct_plan.pk, opp_plan.pk, rep_plan.pk}
    assert seen(org.manager) >= {acct_plan.pk, opp_plan.pk, rep_plan.pk, team_plan.pk}
    assert west_plan.pk not in seen(org.manager) and outsider_plan.pk not in seen(org.manager)
    assert seen(org.outsider) == {west_plan.pk, outsider_plan.pk}
    assert seen(org.peer) & {rep_plan.pk, outsider_plan.pk} == set()
    assert seen(org.dept_head) >= {acct_plan.pk, opp_plan.pk, rep_plan.pk, team_plan.pk}
    assert seen(org.admin) >= {acct_plan.pk, west_plan.pk}
    with pytest.raises(Http404):
        selectors.plan_detail(user=org.outsider, plan_id=acct_plan.pk)
    with pytest.raises(Http404):
        services.cycle_open_for(user=org.outsider, plan_id=acct_plan.pk, period_start=dt.date(2026, 1, 1),
                                period_end=dt.date(2026, 1, 31))


def test_for_variants_check_edit_rights(org, metrics, period):
    with pytest.raises(ValidationError) as refused:
        services.plan_create_for(user=org.outsider, kind="account", subject=org.acct, title="x")
    assert "account" in refused.value.message_dict
    with pytest.raises(ValidationError):
        services.plan_create_for(user=org.rep, kind="person", subject=org.peer, title="x")
    plan = services.plan_create_for(user=org.manager, kind="person", subject=org.rep, title="rep 的计划")
    assert plan.owner == org.manager and plan.person == org.rep
    cycle = services.cycle_open_for(user=org.manager, plan_id=plan.pk, period_start=period[0],
                                    period_end=period[1])
    # a person edits the plan about themselves (they write their own work plan)
    services.action_add_for(user=org.rep, plan_id=plan.pk, cycle_id=cycle.pk, title="自己", owner=org.rep,
                            due_on=period[1])
    # peer sits on the account's team with read access: sees the account's plan, may not change it,
    # but ticks off the action they own
    from kamcrm.customers import services as customer_services

    customer_services.team_member_add(account=org.acct, user=org.peer, access="read")
    acct_plan = services.plan_create_for(user=org.rep, kind="account", subject=org.acct, title="acct")
    acct_cycle = services.cycle_open_for(user=org.rep, plan_id=acct_plan.pk, period_start=period[0],
                                         period_end=period[1])
    action = services.action_add_for(user=org.rep, plan_id=acct_plan.pk, cycle_id=acct_cycle.pk, title="拜访",
                                     owner=org.peer, due_on=period[1])
    assert acct_plan.pk in set(selectors.plan_queryset(org.peer).values_list("pk", flat=True))
    assert services.action_complete_for(user=org.peer, plan_id=acct_plan.pk, action_id=action.pk).status == "done"
    with pytest.raises(ValidationError) as not_theirs:
        services.action_update_for(user=org.peer, plan_id=acct_plan.pk, action_id=action.pk, data={"title": "y"})
    assert "plan" in not_theirs.value.message_dict
    with pytest.raises(ValidationError):
        services.objective_add_for(user=org.peer, plan_id=acct_plan.pk, cycle_id=acct_cycle.pk,
                                   metric=metrics["visits"], target=D("1"))
    with pytest.raises(Http404):
        services.action_complete_for(user=org.outsider, plan_id=acct_plan.pk, action_id=action.pk)
