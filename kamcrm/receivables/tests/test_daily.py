"""The daily job: overdue_check (one task to the owner per overdue invoice, one escalation to the
manager after 30 days, the invoice.overdue event, nothing new on a second run) and the command."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command

from kamcrm.activities.models import Task
from kamcrm.receivables import services
from kamcrm.receivables.models import Invoice
from kamcrm.receivables.tests.helpers import invoice, pay
from kamcrm.webhooks import services as webhooks
from kamcrm.webhooks.models import OutboxEvent

pytestmark = pytest.mark.django_db
DUE = dt.date(2026, 1, 10)


@pytest.fixture
def subscription(org):
    return webhooks.subscription_create(by=org.admin, name="ERP", target_url="http://127.0.0.1:9/hooks",
                                        allow_private_targets=True, event_types=["invoice.overdue"])


@pytest.fixture
def book(org):
    late = invoice(org.acct, amount="100.00", day=DUE - dt.timedelta(days=30), due=DUE, number="LATE-1")
    partly = invoice(org.acct, amount="100.00", day=DUE - dt.timedelta(days=30), due=DUE, number="PART-1")
    pay(org.acct, "40.00", day=DUE, allocations=[(partly, "40.00")])
    paid = invoice(org.acct, amount="100.00", day=DUE - dt.timedelta(days=30), due=DUE, number="PAID-1")
    pay(org.acct, "100.00", day=DUE, allocations=[(paid, "100.00")])
    later = invoice(org.acct, amount="100.00", day=DUE, due=DUE + dt.timedelta(days=40), number="LATER-1")
    theirs = invoice(org.other, amount="50.00", day=DUE - dt.timedelta(days=30), due=DUE, number="WEST-1")
    return {"late": late, "partly": partly, "paid": paid, "later": later, "theirs": theirs}


def receivable_tasks():
    return Task.objects.filter(source="receivable").select_related("assignee", "account")


def test_one_task_per_overdue_invoice_then_one_escalation(org, book, subscription):
    first = services.overdue_check(today=DUE + dt.timedelta(days=1))
    assert first == {"alerted": 3, "escalated": 0}
    assert sorted((t.assignee.username, t.account_id) for t in receivable_tasks()) == [
        ("outsider", org.other.pk), ("rep", org.acct.pk), ("rep", org.acct.pk)]
    titles = sorted(t.title for t in receivable_tasks().filter(assignee=org.rep))
    assert titles[0].startswith("Collect overdue invoice LATE-1 (100.00 open")
    assert titles[1].startswith("Collect overdue invoice PART-1 (60.00 open")
    events = OutboxEvent.objects.filter(type="invoice.overdue")
    assert sorted(e.payload["number"] for e in events) == ["LATE-1", "PART-1", "WEST-1"]
    assert {e.account_id for e in events} == {org.acct.pk, org.other.pk}

    # a second run the same day, or the next, changes nothing
    assert services.overdue_check(today=DUE + dt.timedelta(days=1)) == {"alerted": 0, "escalated": 0}
    assert services.overdue_check(today=DUE + dt.timedelta(days=2)) == {"alerted": 0, "escalated": 0}
    assert receivable_tasks().count() == 3 and events.count() == 3

    # 30 days past due: escalated once to the owner's manager (the outsider has no manager: not escalated)
    assert services.overdue_check(today=DUE + dt.timedelta(days=29)) == {"alerted": 0, "escalated": 0}
    assert services.overdue_check(today=DUE + dt.timedelta(days=30)) == {"alerted": 0, "escalated": 2}
    escalations = receivable_tasks().filter(assignee=org.manager)
    assert sorted(t.title for t in escalations) == [
        "Escalated: invoice LATE-1 of 上海浦江制造有限公司 is 30 days overdue",
        "Escalated: invoice PART-1 of 上海浦江制造有限公司 is 30 days overdue"]
    assert services.overdue_check(today=DUE + dt.timedelta(days=31)) == {"alerted": 0, "escalated": 0}
    assert receivable_tasks().count() == 5
    assert set(Invoice.objects.filter(escalated_on__isnull=False).values_list("number", flat=True)) == {
        "LATE-1", "PART-1"}

    # the later invoice falls due and is alerted on its own; a paid one never is
    assert services.overdue_check(today=DUE + dt.timedelta(days=31)) == {"alerted": 0, "escalated": 0}
    assert services.overdue_check(today=DUE + dt.timedelta(days=41)) == {"alerted": 1, "escalated": 0}
    assert not Invoice.objects.get(number="PAID-1").overdue_alerted_on


def test_the_daily_command_runs_the_check_and_the_promise_review(org, book):
    services.promise_create(account=org.acct, invoice=book["late"], promised_on=DUE, amount="100.00")
    out = io.StringIO()
    call_command("receivables_daily", "--date", (DUE + dt.timedelta(days=30)).isoformat(), stdout=out)
    assert out.getvalue().strip() == "overdue invoices alerted: 3, escalated: 2, promises reviewed: 1"
    out = io.StringIO()
    call_command("receivables_daily", "--date", (DUE + dt.timedelta(days=30)).isoformat(), stdout=out)
    assert out.getvalue().strip() == "overdue invoices alerted: 0, escalated: 0, promises reviewed: 0"
    from kamcrm.audit.models import ObjectChange

    # the job's writes are audited as a job
    assert ObjectChange.objects.filter(job_id="receivables-daily", channel="job").exists()
