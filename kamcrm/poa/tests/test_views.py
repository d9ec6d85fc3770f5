"""The POA pages: list (empty state, filters), new plan, the plan page's PDCA steps through their forms,
the acceptance through the UI (next cycle refused before feedback), live figures on the page, and 404s."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from kamcrm.poa import selectors, services
from kamcrm.poa.choices import CycleStatus
from kamcrm.poa.models import ActionPlan, PlanCycle

pytestmark = pytest.mark.django_db
D = Decimal


def test_list_empty_state_and_filters(org, client_for):
    client = client_for(org.rep)
    page = client.get(reverse("poa:plan_list")).content.decode()
    assert 'data-testid="empty"' in page and "No action plans yet." in page
    assert 'data-testid="nav-poa"' in page
    acct_plan = services.plan_create(subject=org.acct, title="浦江计划", owner=org.rep)
    me_plan = services.plan_create(subject=org.rep, title="我的计划", owner=org.rep)
    services.cycle_open(plan=me_plan, period_start=dt.date(2026, 1, 1), period_end=dt.date(2026, 1, 31))
    page = client.get(reverse("poa:plan_list")).content.decode()
    assert "浦江计划" in page and "我的计划" in page
    page = client.get(reverse("poa:plan_list"), {"kind": "account"}).content.decode()
    assert f'data-testid="plan-{acct_plan.pk}"' in page and f'data-testid="plan-{me_plan.pk}"' not in page
    page = client.get(reverse("poa:plan_list"), {"status": "plan"}).content.decode()
    assert f'data-testid="plan-{me_plan.pk}"' in page and f'data-testid="plan-{acct_plan.pk}"' not in page
    page = client.get(reverse("poa:plan_list"), {"status": "none"}).content.decode()
    assert f'data-testid="plan-{acct_plan.pk}"' in page and f'data-testid="plan-{me_plan.pk}"' not in page
    page = client.get(reverse("poa:plan_list"), {"status": "closed"}).content.decode()
    assert "No action plans match these filters." in page
    assert client.get(reverse("poa:plan_list"), {"kind": "planet"}).status_code == 400
    # the outsider sees none of these
    page = client_for(org.outsider).get(reverse("poa:plan_list")).content.decode()
    assert "浦江计划" not in page and "我的计划" not in page


def test_list_pages_by_keyset(org, client_for):
    for i in range(55):
        services.plan_create(subject=org.rep, title=f"p{i:02d}", owner=org.rep)
    client = client_for(org.rep)
    first = selectors.plan_list(user=org.rep, page_size=50)
    assert len(first.items) == 50 and first.has_next
    page = client.get(reverse("poa:plan_list"), {"cursor": first.next_cursor}).content.decode()
    assert "p00" in page and "p54" not in page


def test_create_a_plan(org, client_for):
    client = client_for(org.rep)
    assert client.get(reverse("poa:plan_add")).status_code == 200
    response = client.post(reverse("poa:plan_add"), {"title": "客户计划", "kind": "account", "account": org.acct.pk})
    plan = ActionPlan.objects.get(title="客户计划")
    assert response.status_code == 302 and plan.account == org.acct and plan.owner == org.rep
    response = client.post(reverse("poa:plan_add"), {"title": "我自己", "kind": "person"})
    assert ActionPlan.objects.get(title="我自己").person == org.rep
    refused = client_for(org.outsider).post(reverse("poa:plan_add"),
                                             {"title": "x", "kind": "account", "account": org.acct.pk})
    assert refused.status_code == 400 and not ActionPlan.objects.filter(title="x").exists()


def test_the_pdca_cycle_through_the_pages(org, world, metrics, period, client_for):
    client = client_for(org.rep)
    plan = services.plan_create(subject=org.acct, title="浦江制造", owner=org.rep)
    detail = reverse("poa:plan_detail", args=[plan.pk])
    assert 'data-testid="cycle-open-form"' in client.get(detail).content.decode()
    r = client.post(reverse("poa:cycle_open", args=[plan.pk]),
                    {"cycle-period_start": period[0].isoformat(), "cycle-period_end": period[1].isoformat()})
    assert r.status_code == 302
    cycle = PlanCycle.objects.get(plan=plan)
    r = client.post(reverse("poa:objective_add", args=[plan.pk, cycle.pk]),
                    {"objective-metric": metrics["billed_revenue"].pk, "objective-product_line": world.line.pk,
                     "objective-target": "20000"})
    assert r.status_code == 302
    client.post(reverse("poa:objective_add", args=[plan.pk, cycle.pk]),
                {"objective-metric": metrics["visits"].pk, "objective-target": "4"})
    r = client.post(reverse("poa:action_add", args=[plan.pk, cycle.pk]),
                    {"action-title": "拜访采购部", "action-due_on": period[1].isoformat()})
    assert r.status_code == 302
    action = cycle.actions.get()
    assert action.owner == org.rep
    page = client.get(detail).content.decode()
    objective = cycle.objectives.get(metric=metrics["billed_revenue"])
    assert f'data-testid="live-{objective.pk}">10,000.00<' in page
    assert 'data-testid="next-cycle-blocked"' in page and 'data-testid="cycle-open-form"' not in page
    client.post(reverse("poa:cycle_step", args=[plan.pk, cycle.pk, "start"]))
    client.post(reverse("poa:action_status", args=[plan.pk, action.pk]), {"status": "done"})
    r = client.post(reverse("poa:cycle_step", args=[plan.pk, cycle.pk, "check"]))
    assert r.status_code == 302
    cycle.refresh_from_db()
    assert cycle.status == CycleStatus.CHECK
    page = client.get(detail).content.decode()
    assert f'data-testid="checked-{objective.pk}">10000.00<' in page
    # the acceptance through the UI: the next cycle is refused until feedback is recorded
    nxt = {"cycle-period_start": (period[1] + dt.timedelta(days=1)).isoformat(),
           "cycle-period_end": (period[1] + dt.timedelta(days=30)).isoformat()}
    refused = client.post(reverse("poa:cycle_open", args=[plan.pk]), nxt)
    assert refused.status_code == 400 and "no feedback recorded" in refused.content.decode()
    empty = client.post(reverse("poa:cycle_step", args=[plan.pk, cycle.pk, "feedback"]), {"feedback-feedback": ""})
    assert empty.status_code == 400
    r = client.post(reverse("poa:cycle_step", args=[plan.pk, cycle.pk, "feedback"]),
                    {"feedback-feedback": "采购部拜访有效，下周期加上技术部"})
    assert r.status_code == 302
    assert client.post(reverse("poa:cycle_open", args=[plan.pk]), nxt).status_code == 302
    page = client.get(detail).content.decode()
    assert 'data-testid="earlier-cycles"' in page and "采购部拜访有效" in page
    assert PlanCycle.objects.filter(plan=plan).count() == 2


def test_another_units_rep_gets_404_and_a_manager_sees_their_people(org, client_for, period):
    acct_plan = services.plan_create(subject=org.acct, title="acct", owner=org.rep)
    rep_plan = services.plan_create(subject=org.rep, title="rep", owner=org.rep)
    cycle = services.cycle_open(plan=acct_plan, period_start=period[0], period_end=period[1])
    outsider = client_for(org.outsider)
    assert outsider.get(reverse("poa:plan_detail", args=[acct_plan.pk])).status_code == 404
    assert outsider.get(reverse("poa:plan_detail", args=[rep_plan.pk])).status_code == 404
    assert outsider.post(reverse("poa:cycle_step", args=[acct_plan.pk, cycle.pk, "start"])).status_code == 404
    assert outsider.post(reverse("poa:action_add", args=[acct_plan.pk, cycle.pk]),
                         {"action-title": "x", "action-due_on": "2026-01-01"}).status_code == 404
    manager = client_for(org.manager)
    assert manager.get(reverse("poa:plan_detail", args=[acct_plan.pk])).status_code == 200
    page = manager.get(reverse("poa:plan_detail", args=[rep_plan.pk])).content.decode()
    assert 'data-testid="cycle-open-form"' in page  # a manager edits their people's plans
    assert "rep" in manager.get(reverse("poa:plan_list")).content.decode()


def test_overdue_actions_on_the_list(org, client_for, on):
    plan = services.plan_create(subject=org.rep, title="rep", owner=org.manager)
    cycle = services.cycle_open(plan=plan, period_start=on - dt.timedelta(days=30), period_end=on)
    services.action_add(cycle=cycle, title="逾期的行动", owner=org.rep, due_on=on - dt.timedelta(days=3))
    page = client_for(org.rep).get(reverse("poa:plan_list")).content.decode()
    assert 'data-testid="overdue"' in page and "逾期的行动" in page
