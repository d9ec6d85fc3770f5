"""Visits and sales plans (K7): planning, recording (timeline entry, follow-up task), cancelling; the
calendar of a person and a team; the iCalendar feed and its revocable address; who sees what."""
from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from kamcrm.activities import services
from kamcrm.activities.models import CalendarFeed, SalesPlan, Task, Visit
from kamcrm.customers import services as customer_services
from kamcrm.customers.models import Interaction

pytestmark = pytest.mark.django_db


def _when(days=1, hour=10):
    day = timezone.localdate() + dt.timedelta(days=days)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


@pytest.fixture
def contact(org):
    return customer_services.contact_create(account=org.acct, name="王总")


def test_recording_a_visit_puts_it_on_the_timeline_and_makes_the_follow_up_task(org, contact):
    visit = services.visit_plan(account=org.acct, owner=org.rep, by=org.rep, starts_at=_when(), purpose="方案交流",
                                contacts=[contact])
    assert visit.ends_at == visit.starts_at + dt.timedelta(hours=1)
    follow = timezone.localdate() + dt.timedelta(days=7)
    services.visit_record(visit=visit, outcome="客户认可方案", next_step="报价", follow_up_on=follow, by=org.rep)
    visit.refresh_from_db()
    assert visit.status == "done"
    logged = Interaction.objects.get(account=org.acct, kind="visit")
    assert logged.subject == "方案交流" and "报价" in logged.body
    task = Task.objects.get()
    assert (task.assignee, task.due_on, task.account) == (org.rep, follow, org.acct)
    # Correcting the record does not log it twice.
    services.visit_record(visit=visit, outcome="客户认可方案，下周报价", by=org.rep)
    assert Interaction.objects.filter(kind="visit").count() == 1 and Task.objects.count() == 1
    with pytest.raises(ValidationError):
        services.visit_cancel(visit=visit, by=org.rep)


@pytest.mark.parametrize("kwargs, field", [
    ({"owner_is": "outsider"}, "owner"),
    ({"ends_before": True}, "ends_at"),
    ({"foreign_contact": True}, "contacts"),
])
def test_a_bad_visit_names_the_field(org, kwargs, field):
    owner = org.outsider if kwargs.get("owner_is") else org.rep
    start = _when()
    ends = start - dt.timedelta(hours=1) if kwargs.get("ends_before") else None
    contacts = [customer_services.contact_create(account=org.other, name="外人")] if kwargs.get("foreign_contact") else []
    with pytest.raises(ValidationError) as caught:
        services.visit_plan(account=org.acct, owner=owner, by=org.rep, starts_at=start, ends_at=ends, purpose="x",
                            contacts=contacts)
    assert field in caught.value.message_dict
    assert not Visit.objects.exists()


def test_the_visit_pages_plan_and_record(client_for, org, contact):
    client = client_for(org.rep)
    response = client.post(f"{reverse('activities:visit_add')}?account={org.acct.pk}", {
        "purpose": "年度回访", "owner": org.rep.pk, "starts_at": _when().strftime("%Y-%m-%dT%H:%M"),
        "contacts": [contact.pk], "location": "客户总部"})
    visit = Visit.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("activities:visit", args=[visit.pk])
    response = client.post(reverse("activities:visit", args=[visit.pk]), {"action": "record", "outcome": "顺利"})
    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.status == "done"
    empty = client.post(reverse("activities:visit", args=[visit.pk]), {"action": "record", "outcome": ""})
    assert empty.status_code == 400 and 'data-field-error="outcome"' in empty.content.decode()


@pytest.mark.parametrize("persona", ["outsider", "partner"])
def test_visits_and_plans_of_accounts_one_may_not_see_are_not_found(client_for, org, persona):
    visit = services.visit_plan(account=org.acct, owner=org.rep, starts_at=_when(), purpose="x")
    plan = services.sales_plan_create(account=org.acct, title="拓展 5G", owner=org.rep,
                                      deadline=timezone.localdate() + dt.timedelta(days=30))
    client = client_for(getattr(org, persona))
    assert client.get(reverse("activities:visit", args=[visit.pk])).status_code == 404
    assert client.get(reverse("activities:sales_plan", args=[plan.pk])).status_code == 404
    assert client.get(f"{reverse('activities:visit_add')}?account={org.acct.pk}").status_code == 404
    assert client.get(f"{reverse('activities:sales_plan_add')}?account={org.acct.pk}").status_code == 404
    assert client.post(reverse("activities:visit", args=[visit.pk]), {"action": "cancel"}).status_code == 404
    visit.refresh_from_db()
    assert visit.status == "planned"


def test_the_calendar_shows_mine_and_my_teams(client_for, org):
    services.visit_plan(account=org.acct, owner=org.rep, starts_at=_when(days=0, hour=9), purpose="团队拜访")
    services.task_create(title="准备标书", assignee=org.rep, due_on=timezone.localdate())
    own = client_for(org.rep).get(reverse("activities:calendar")).content.decode()
    assert "团队拜访" in own and "准备标书" in own
    manager_own = client_for(org.manager).get(reverse("activities:calendar")).content.decode()
    assert "团队拜访" not in manager_own
    manager_team = client_for(org.manager).get(reverse("activities:calendar") + "?who=team").content.decode()
    assert "团队拜访" in manager_team and "准备标书" in manager_team
    outsider_team = client_for(org.outsider).get(reverse("activities:calendar") + "?who=team").content.decode()
    assert "团队拜访" not in outsider_team


def test_the_ical_feed_holds_the_visits_and_due_dates_and_its_address_can_be_replaced(client, client_for, org):
    services.visit_plan(account=org.acct, owner=org.rep, starts_at=_when(days=2), purpose="签约", location="南京")
    services.task_create(title="寄送合同", assignee=org.rep, due_on=timezone.localdate() + dt.timedelta(days=3))
    token = services.calendar_feed_token(user=org.rep)
    url = reverse("activities:calendar_feed", args=[token])
    response = client.get(url)  # no session: the token is the credential
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    cal = Calendar.from_ical(response.content)
    summaries = sorted(str(e.get("summary")) for e in cal.walk("VEVENT"))
    assert summaries == ["上海浦江制造有限公司 · 签约", "寄送合同"]
    client_for(org.rep).post(reverse("activities:calendar_feed_renew"))
    assert client.get(url).status_code == 404
    assert client.get(reverse("activities:calendar_feed", args=["guess"])).status_code == 404
    assert CalendarFeed.objects.get(user=org.rep).token != token


def test_a_sales_plan_from_its_page(client_for, org):
    client = client_for(org.rep)
    response = client.post(f"{reverse('activities:sales_plan_add')}?account={org.acct.pk}", {
        "title": "突破 IDC 业务", "owner": org.rep.pk,
        "deadline": (timezone.localdate() + dt.timedelta(days=60)).isoformat(), "steps": "摸清需求\n方案汇报\n报价"})
    plan = SalesPlan.objects.get()
    assert response.status_code == 302 and plan.step_list == ["摸清需求", "方案汇报", "报价"]
    page = client.get(reverse("activities:sales_plan", args=[plan.pk])).content.decode()
    assert "方案汇报" in page
    client.post(reverse("activities:sales_plan", args=[plan.pk]), {"status": "done"})
    plan.refresh_from_db()
    assert plan.status == "done"


def test_a_logged_call_about_a_deal_shows_on_it_and_its_follow_up_becomes_a_task(client_for, org):
    from kamcrm.sales import services as sales_services

    deal = sales_services.opportunity_create(account=org.acct, name="专线扩容", owner=org.rep)
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    customer_services.interaction_log(account=org.acct, kind="call", subject="确认需求", by=org.rep, opportunity=deal,
                                      follow_up_on=yesterday)
    assert list(deal.interactions.values_list("subject", flat=True)) == ["确认需求"]
    task = Task.objects.get()
    assert (task.opportunity, task.due_on, task.assignee) == (deal, yesterday, org.rep)
    assert 'data-testid="overdue"' in client_for(org.rep).get(reverse("activities:task_list")).content.decode()
    with pytest.raises(ValidationError) as caught:
        customer_services.interaction_log(account=org.other, kind="call", subject="x", by=org.rep, opportunity=deal)
    assert "opportunity" in caught.value.message_dict
