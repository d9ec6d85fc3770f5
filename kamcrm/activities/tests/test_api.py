"""API of tasks, visits, sales plans and funnel alerts: who sees and changes what, and the errors."""
from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kamcrm.activities import services
from kamcrm.activities.models import Visit
from kamcrm.sales import services as sales_services
from kamcrm.sales.health import funnel_health_check
from kamcrm.sales.models import FunnelRule

pytestmark = pytest.mark.django_db


def _when(days=1):
    return (timezone.now() + dt.timedelta(days=days)).replace(microsecond=0).isoformat()


def test_a_rep_plans_and_records_a_visit(api_for, org):
    api = api_for(org.rep)
    response = api.post("/api/v1/visits/", {"account": org.acct.pk, "owner": org.rep.pk, "starts_at": _when(),
                                            "purpose": "方案交流"}, format="json")
    assert response.status_code == 201, response.content
    visit_id = response.json()["id"]
    bad = api.post(f"/api/v1/visits/{visit_id}/record/", {"outcome": ""}, format="json")
    assert bad.status_code == 400 and "outcome" in bad.json()["errors"]
    done = api.post(f"/api/v1/visits/{visit_id}/record/", {"outcome": "顺利", "next_step": "报价"}, format="json")
    assert done.status_code == 200 and done.json()["status"] == "done"


@pytest.mark.parametrize("persona, read, write", [
    ("rep", 200, 201), ("manager", 200, 201), ("exec_", 200, 201),  # the rep is in the executive's chain
    ("bizmgmt", 200, 403), ("outsider", 404, 404), ("partner", 404, 404),
])
def test_visits_are_seen_and_made_through_the_account(api_for, org, persona, read, write):
    visit = services.visit_plan(account=org.acct, owner=org.rep, starts_at=timezone.now(), purpose="x")
    user = getattr(org, persona)
    api = api_for(user)
    assert api.get(f"/api/v1/visits/{visit.pk}/").status_code == read
    listed = [v["id"] for v in api.get("/api/v1/visits/").json()["results"]]
    assert (visit.pk in listed) == (read == 200)
    response = api.post("/api/v1/visits/", {"account": org.acct.pk, "owner": user.pk, "starts_at": _when(),
                                            "purpose": "y"}, format="json")
    assert response.status_code == write, response.content
    assert Visit.objects.filter(purpose="y").exists() == (write == 201)


def test_tasks_are_the_callers_and_their_reports(api_for, org):
    services.task_create(title="rep 的任务", assignee=org.rep)
    assert [t["title"] for t in api_for(org.manager).get("/api/v1/tasks/").json()["results"]] == ["rep 的任务"]
    assert api_for(org.outsider).get("/api/v1/tasks/").json()["results"] == []
    task_id = api_for(org.rep).get("/api/v1/tasks/").json()["results"][0]["id"]
    assert api_for(org.outsider).post(f"/api/v1/tasks/{task_id}/status/", {"status": "done"}).status_code == 404
    done = api_for(org.rep).post(f"/api/v1/tasks/{task_id}/status/", {"status": "done"}, format="json")
    assert done.status_code == 200 and done.json()["status"] == "done"


def test_sales_plans_and_alerts(api_for, org):
    api = api_for(org.rep)
    deadline = (timezone.localdate() + dt.timedelta(days=30)).isoformat()
    created = api.post("/api/v1/sales-plans/", {"title": "突破 IDC", "account": org.acct.pk, "owner": org.rep.pk,
                                                 "deadline": deadline, "steps": "调研\n报价"}, format="json")
    assert created.status_code == 201, created.content
    plan_id = created.json()["id"]
    patched = api.patch(f"/api/v1/sales-plans/{plan_id}/", {"status": "done"}, format="json")
    assert patched.status_code == 200 and patched.json()["status"] == "done"
    assert api_for(org.outsider).get(f"/api/v1/sales-plans/{plan_id}/").status_code == 404

    sales_services.opportunity_create(account=org.acct, name="久未跟进", owner=org.rep,
                                      entered_at=timezone.now() - dt.timedelta(days=60))
    FunnelRule.objects.create(name="华东无跟进", kind="no_activity", unit=org.east, task_owner=org.marketing,
                              params={"days": 30})
    funnel_health_check()
    assert [a["rule"] for a in api_for(org.manager).get("/api/v1/funnel-alerts/").json()["results"]] == ["华东无跟进"]
    assert api_for(org.outsider).get("/api/v1/funnel-alerts/").json()["results"] == []
