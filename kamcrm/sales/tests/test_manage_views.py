"""Managers' pages: reassigning an account from the UI, and the funnel health alerts (who reads them,
and only the opportunities each reader may see)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from kamcrm.activities.models import Task
from kamcrm.sales import services
from kamcrm.sales.health import funnel_health_check
from kamcrm.sales.models import FunnelRule, Opportunity, Stage

pytestmark = pytest.mark.django_db


def _deal(org):
    return services.opportunity_create(account=org.acct, name="园区专网", owner=org.rep, amount=Decimal("80000"),
                                       stage=Stage.objects.get(code="created"),
                                       entered_at=timezone.now() - dt.timedelta(days=60))


def test_a_manager_reassigns_from_the_account_page(client_for, org):
    deal = _deal(org)
    client = client_for(org.manager)
    url = reverse("sales_manage:account_reassign", args=[org.acct.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"owner": org.peer.pk, "effective_on": timezone.localdate().isoformat(),
                                 "policy": "open", "reason": "片区调整"})
    assert response.status_code == 302 and response["Location"] == reverse("customers:account", args=[org.acct.pk])
    deal.refresh_from_db()
    org.acct.refresh_from_db()
    assert org.acct.owner == org.peer and deal.owner == org.peer


def test_the_form_names_the_field_that_is_wrong(client_for, org):
    client = client_for(org.rep)  # may edit the account, may not give it to a colleague
    url = reverse("sales_manage:account_reassign", args=[org.acct.pk])
    response = client.post(url, {"owner": org.peer.pk, "effective_on": timezone.localdate().isoformat(),
                                 "policy": "open"})
    assert response.status_code == 400 and 'data-field-error="owner"' in response.content.decode()
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    response = client_for(org.manager).post(url, {"owner": org.peer.pk, "effective_on": tomorrow, "policy": "open"})
    assert response.status_code == 400 and 'data-field-error="effective_on"' in response.content.decode()
    org.acct.refresh_from_db()
    assert org.acct.owner == org.rep


@pytest.mark.parametrize("persona", ["outsider", "partner", "service"])
def test_people_who_cannot_edit_the_account_get_404(client_for, org, persona):
    url = reverse("sales_manage:account_reassign", args=[org.acct.pk])
    client = client_for(getattr(org, persona))
    assert client.get(url).status_code == 404
    assert client.post(url, {"owner": getattr(org, persona).pk, "effective_on": timezone.localdate().isoformat(),
                             "policy": "open"}).status_code == 404


@pytest.fixture
def alert(org):
    _deal(org)
    FunnelRule.objects.create(name="华东漏斗停滞", kind="no_activity", unit=org.east, task_owner=org.marketing,
                              params={"days": 30})
    (raised,) = funnel_health_check()
    return raised


@pytest.mark.parametrize("persona, sees_alert, sees_deal", [
    ("admin", True, True), ("exec_", True, True), ("dept_head", True, True), ("manager", True, True),
    ("marketing", True, False), ("outsider", False, False), ("rep", False, False),
])
def test_alerts_are_read_by_their_task_holder_and_those_who_oversee_the_unit(client_for, org, alert, persona,
                                                                             sees_alert, sees_deal):
    client = client_for(getattr(org, persona))
    listing = client.get(reverse("sales_manage:alert_list")).content.decode()
    assert ("华东漏斗停滞" in listing) == sees_alert
    detail = client.get(reverse("sales_manage:alert", args=[alert.pk]))
    assert detail.status_code == (200 if sees_alert else 404)
    if sees_alert:
        assert ("园区专网" in detail.content.decode()) == sees_deal


def test_tasks_made_by_alerts_show_in_the_owners_list_and_can_be_done(client_for, org, alert):
    client = client_for(org.marketing)
    page = client.get(reverse("activities:task_list")).content.decode()
    assert "华东漏斗停滞" in page
    task = Task.objects.get()
    response = client.post(reverse("activities:task_status", args=[task.pk]), {"status": "done"})
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.status == "done" and task.done_at is not None
    # Someone else's task is not found.
    assert client_for(org.outsider).post(reverse("activities:task_status", args=[task.pk]),
                                         {"status": "open"}).status_code == 404
    assert Opportunity.objects.count() == 1


def test_maintainers_add_a_rule_check_it_now_and_it_fires_once(client_for, org):
    _deal(org)
    client = client_for(org.bizmgmt)
    response = client.post(reverse("sales_manage:rule_add"), {
        "name": "华东无跟进", "kind": "no_activity", "unit": org.east.pk, "period": "month",
        "task_owner": org.marketing.pk, "is_active": "on", "days": 30})
    assert response.status_code == 302, response.content.decode()[:2000]
    rule = FunnelRule.objects.get()
    assert (rule.params, rule.task_owner, rule.unit) == ({"days": 30}, org.marketing, org.east)
    assert "华东无跟进" in client.get(reverse("sales_manage:rule_list")).content.decode()
    client.post(reverse("sales_manage:rule_run", args=[rule.pk]))
    client.post(reverse("sales_manage:rule_run", args=[rule.pk]))
    assert rule.alerts.count() == 1 and Task.objects.get().assignee == org.marketing


def test_a_parameter_the_check_does_not_use_is_refused(client_for, org):
    response = client_for(org.admin).post(reverse("sales_manage:rule_add"), {
        "name": "x", "kind": "thin_top", "period": "month", "task_owner": org.marketing.pk, "days": 30})
    assert response.status_code == 400 and "does not use days" in response.content.decode()
    assert not FunnelRule.objects.exists()


@pytest.mark.parametrize("persona", ["rep", "manager", "marketing", "exec_"])
def test_only_administrators_and_business_management_maintain_rules(client_for, org, persona):
    client = client_for(getattr(org, persona))
    assert client.get(reverse("sales_manage:rule_list")).status_code == 403
    assert client.post(reverse("sales_manage:rule_add"), {"name": "x"}).status_code == 403
    assert not FunnelRule.objects.exists()
