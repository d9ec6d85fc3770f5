"""Each kind of notification reaches the right people, once: target approvals and send-backs through the
target services, overdue actions and mid-month completion through the scan (run twice)."""
from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from kamcrm.notifications import events
from kamcrm.notifications.choices import Kind
from kamcrm.notifications.models import Notification
from kamcrm.notifications.tests.conftest import MID_MONTH, YEAR
from kamcrm.org import services as org_services
from kamcrm.targets import services as targets

pytestmark = pytest.mark.django_db


def recipients(kind):
    return sorted(Notification.objects.filter(kind=kind).values_list("recipient__username", flat=True))


# ---- targets approved ------------------------------------------------------------------------------

def test_approval_at_a_unit_tells_the_people_with_targets_below_it(org, plan):
    # given: Team E1's split submitted by its department head
    targets.plan_submit(plan=plan, unit=org.team_e1, by=org.dept_head)
    # when
    targets.plan_approve(plan=plan, unit=org.team_e1, by=org.dept_head)
    # then: rep and peer (targets in Team E1), not the outsider (Team W1) nor the approver
    assert recipients(Kind.TARGET_ASSIGNED) == ["peer", "rep"]
    note = Notification.objects.get(recipient=org.rep)
    assert note.url == reverse("targets:plan_detail", args=[plan.pk])
    with translation.override("en"):
        assert note.text == f"Your targets for {YEAR} were approved at the level of 华东一组."


def test_approval_of_the_company_tells_everyone_with_a_target_once(org, plan):
    targets.plan_submit(plan=plan, by=org.bizmgmt)
    targets.plan_approve(plan=plan, by=org.exec_)
    assert recipients(Kind.TARGET_ASSIGNED) == ["outsider", "peer", "rep"]
    review = plan.reviews.get(action="approve")
    # the hook again (a retried call): nothing new
    assert events.target_plan_approved(review=review) == 0
    assert Notification.objects.count() == 3


def test_a_refused_approval_notifies_nobody(org, plan):
    with pytest.raises(Exception):  # noqa: B017 - the plan was never submitted
        targets.plan_approve(plan=plan, by=org.exec_)
    assert not Notification.objects.exists()


# ---- sent back -------------------------------------------------------------------------------------

def test_send_back_tells_the_submitter_and_the_units_head_with_the_comment(org, plan):
    org_services.org_unit_update(unit=org.team_e1, data={"head": org.manager})
    targets.plan_submit(plan=plan, unit=org.team_e1, by=org.dept_head)
    targets.plan_send_back(plan=plan, unit=org.team_e1, comment="rep 的目标太低", by=org.bizmgmt)
    assert recipients(Kind.PLAN_SENT_BACK) == ["dept_head", "manager"]
    with translation.override("en"):
        text = Notification.objects.get(recipient=org.manager).text
    assert "rep 的目标太低" in text and "bizmgmt" in text and "华东一组" in text


def test_the_person_sending_back_is_not_told(org, plan):
    org_services.org_unit_update(unit=org.team_e1, data={"head": org.manager})
    targets.plan_submit(plan=plan, unit=org.team_e1, by=org.dept_head)
    targets.plan_send_back(plan=plan, unit=org.team_e1, comment="再分一次", by=org.dept_head)
    assert recipients(Kind.PLAN_SENT_BACK) == ["manager"]


# ---- overdue actions -------------------------------------------------------------------------------

def test_an_overdue_action_tells_its_owner_once(org, action):
    assert events.overdue_actions_scan(today=dt.date(YEAR, 3, 10)) == 0  # due today: not yet overdue
    assert events.overdue_actions_scan(today=dt.date(YEAR, 3, 11)) == 1
    assert events.overdue_actions_scan(today=dt.date(YEAR, 3, 12)) == 0  # the next day's run: nothing new
    note = Notification.objects.get()
    assert (note.recipient, note.kind) == (org.rep, Kind.ACTION_OVERDUE)
    assert note.url == reverse("poa:plan_detail", args=[action.cycle.plan_id])
    with translation.override("en"):
        assert "拜访采购总监" in note.text and "2026-03-10" in note.text


def test_a_new_due_date_missed_again_notifies_again_and_a_done_action_never(org, action):
    from kamcrm.poa import services as poa

    events.overdue_actions_scan(today=dt.date(YEAR, 3, 11))
    poa.action_update(action=action, data={"due_on": dt.date(YEAR, 3, 20)})
    assert events.overdue_actions_scan(today=dt.date(YEAR, 3, 21)) == 1
    poa.action_complete(action=action)
    poa.action_update(action=action, data={"due_on": dt.date(YEAR, 3, 25)})
    assert events.overdue_actions_scan(today=dt.date(YEAR, 3, 30)) == 0
    assert Notification.objects.filter(recipient=org.rep).count() == 2


# ---- completion behind -----------------------------------------------------------------------------

def test_completion_behind_at_mid_month_tells_the_person_and_their_manager_once(org, plan, visits, visits_made):
    # given: rep made 3 of 10 visits (30 %), peer 4 (40 %, not below), the outsider none
    visits_made(org.rep, 3)
    visits_made(org.peer, 4)
    # when: before the 15th nothing; from the 15th, twice
    assert events.completion_scan(today=dt.date(YEAR, 3, 14)) == 0
    first = events.completion_scan(today=MID_MONTH)
    second = events.completion_scan(today=MID_MONTH + dt.timedelta(days=1))
    # then: rep and rep's manager; the outsider, who heads no one, has no manager
    assert (first, second) == (3, 0)
    notes = {(n.recipient.username, n.message, n.params["person"]) for n in Notification.objects.all()}
    assert notes == {("rep", "completion_below", "rep"), ("manager", "completion_below_report", "rep"),
                     ("outsider", "completion_below", "outsider")}
    rep_note = Notification.objects.get(recipient=org.rep)
    assert rep_note.key == f"p{org.rep.pk}:m{visits.pk}:2026-03"
    assert rep_note.url == reverse("targets:completion") + f"?person={org.rep.pk}&metric=visits&on=2026-03-16"
    with translation.override("en"):
        assert rep_note.text == ("Your month-to-date completion of Completed visits for Mar 2026 is 30.0%, "
                                 "below 40%.")


def test_the_head_of_the_unit_is_the_manager_told(org, plan, visits):
    org_services.org_unit_update(unit=org.team_e1, data={"head": org.dept_head})
    events.completion_scan(today=MID_MONTH)
    assert set(Notification.objects.filter(params__person="rep").values_list("recipient__username", flat=True)) == {
        "rep", "dept_head"}


def test_the_threshold_is_a_setting_and_a_new_month_is_a_new_period(org, plan, visits_made, settings):
    settings.KAMCRM_COMPLETION_ALERT_PERCENT = 25
    visits_made(org.rep, 3)
    visits_made(org.peer, 3)
    visits_made(org.outsider, 3)
    assert events.completion_scan(today=MID_MONTH) == 0  # 30 % each: above 25 %
    assert events.completion_scan(today=dt.date(YEAR, 4, 15)) == 5  # April: no visits yet


def test_notify_scan_command_is_idempotent(org, plan, action):
    out = StringIO()
    call_command("notify_scan", "--today", "2026-03-16", stdout=out)
    assert "action overdue 1, completion behind 5" in out.getvalue()
    call_command("notify_scan", "--today", "2026-03-16", stdout=out)
    assert "action overdue 0, completion behind 0" in out.getvalue()
    assert Notification.objects.count() == 6


def test_notify_scan_refuses_a_bad_date(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--today must be YYYY-MM-DD"):
        call_command("notify_scan", "--today", "16/03/2026")
