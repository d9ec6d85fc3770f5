"""Agreements through their services: signing writes the schedule, changes re-split from their
effective date and keep the prior version, and the revenue facts stay equal to a direct sum."""
from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from kamcrm.agreements import selectors, services
from kamcrm.agreements.choices import AgreementStatus, Rule
from kamcrm.agreements.models import AgreementChange, RevenueSlice
from kamcrm.analytics.facts import facts_direct, facts_refresh, rollup_totals
from kamcrm.analytics.models import RevenueFact
from kamcrm.audit.models import TimelineEvent
from kamcrm.products import services as product_services

pytestmark = pytest.mark.django_db
D = Decimal


def at(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(10)))


@pytest.fixture
def products(db):
    line = product_services.product_line_create(code="IDC", name="数据中心")
    other = product_services.product_line_create(code="5G", name="5G 专网")
    return [product_services.product_create(line=line, code="IDC-RACK", name="机柜租用", list_price=D("8000"), unit="架"),
            product_services.product_create(line=other, code="5G-PN", name="5G 专网套餐", list_price=D("12000"),
                                            unit="套")]


def make(org, products, number="HT-2026-001", amount="120000", rule=Rule.MONTHLY, start=dt.date(2026, 1, 1),
         end=dt.date(2026, 12, 31), account=None, sign_at=None):
    agreement = services.agreement_create(by=org.rep, account=account or org.acct, number=number, title="机柜租用协议",
                                          owner=org.rep, start_date=start, end_date=end,
                                          lines=[{"product": products[0], "amount": D(amount), "rule": rule}])
    services.agreement_sign(agreement=agreement, by=org.rep, at=sign_at or at(start - dt.timedelta(days=10)))
    return agreement


def assert_facts_match():
    direct = facts_direct()
    stored = {(f.account_id, f.product_line_id, f.month): {"expected": f.expected, "billed": f.billed,
                                                          "collected": f.collected, "recognised": f.recognised}
              for f in RevenueFact.objects.all()}
    assert stored == direct
    rolled: dict = {}
    for (month, line, _o, _u, _r), values in rollup_totals().items():
        key = (line, month)
        rolled[key] = {m: rolled.get(key, {}).get(m, D("0")) + v for m, v in values.items()}
    by_line_month: dict = {}
    for (_a, line, month), values in direct.items():
        key = (line, month)
        by_line_month[key] = {m: by_line_month.get(key, {}).get(m, D("0")) + v for m, v in values.items()}
    assert {k: v for k, v in rolled.items() if any(v.values())} == by_line_month


def test_signing_writes_the_first_schedule_and_the_facts(org, products):
    agreement = make(org, products)
    agreement.refresh_from_db()
    assert agreement.status in (AgreementStatus.ACTIVE, AgreementStatus.SIGNED)
    assert agreement.total_value == D("120000")
    grid = selectors.schedule_grid(agreement=agreement)
    assert len(grid.months) == 12 and grid.total == D("120000")
    assert set(grid.totals) == {D("10000.00")}
    assert RevenueSlice.objects.filter(version=1).count() == 12
    assert AgreementChange.objects.filter(agreement=agreement, kind="signed").exists()
    assert TimelineEvent.objects.filter(account=org.acct, kind="agreement_change").exists()
    assert_facts_match()


def test_amendment_dated_1_june_changes_only_june_onward_and_both_versions_stay_queryable(org, products):
    agreement = make(org, products, sign_at=at(dt.date(2025, 12, 20)))
    line = agreement.lines.get()
    services.agreement_amend(agreement=agreement, effective=dt.date(2026, 6, 1),
                             lines=[{"id": line.pk, "amount": D("134000")}], at=at(dt.date(2026, 5, 20)), by=org.rep)
    slices = RevenueSlice.objects.filter(agreement=agreement)
    march, june = dt.date(2026, 3, 1), dt.date(2026, 6, 1)
    # now: March unchanged, June raised
    assert selectors.expected_for_month(qs=slices, month=march) == D("10000.00")
    assert selectors.expected_for_month(qs=slices, month=june) == D("12000.00")
    # as of January: June at the old figure — the prior version is still there
    assert selectors.expected_for_month(qs=slices, month=june, at=at(dt.date(2026, 1, 15))) == D("10000.00")
    # the months before June were never rewritten (still version 1, never superseded)
    assert not slices.filter(month__lt=june, superseded_at__isnull=False).exists()
    assert slices.filter(month__gte=june, superseded_at__isnull=False).count() == 7
    grid_before = selectors.schedule_grid(agreement=agreement, at=at(dt.date(2026, 1, 15)))
    grid_now = selectors.schedule_grid(agreement=agreement)
    assert grid_before.total == D("120000") and grid_now.total == D("134000")
    agreement.refresh_from_db()
    assert agreement.total_value == D("134000")
    change = agreement.changes.get(kind="amended")
    assert (change.value_before, change.value_after) == (D("120000"), D("134000"))
    assert_facts_match()


def test_amendment_refuses_a_value_below_what_was_already_scheduled(org, products):
    agreement = make(org, products)
    line = agreement.lines.get()
    with pytest.raises(ValidationError) as err:
        services.agreement_amend(agreement=agreement, effective=dt.date(2026, 6, 1),
                                 lines=[{"id": line.pk, "amount": D("10000")}])
    assert "amount" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        services.agreement_amend(agreement=agreement, effective=dt.date(2027, 6, 1), lines=[])
    assert "effective_date" in err.value.message_dict


def test_suspension_stops_revenue_and_resumption_restores_the_rate(org, products):
    agreement = make(org, products, amount="36500", rule=Rule.DAILY)
    services.agreement_suspend(agreement=agreement, effective=dt.date(2026, 4, 16), at=at(dt.date(2026, 4, 16)))
    agreement.refresh_from_db()
    assert agreement.status == AgreementStatus.SUSPENDED
    grid = dict(zip(selectors.schedule_grid(agreement=agreement).months,
                    selectors.schedule_grid(agreement=agreement).totals, strict=True))
    assert grid[dt.date(2026, 4, 1)] == D("1500.00")  # 15 of April's 30 days at 100 a day
    assert dt.date(2026, 5, 1) not in grid
    assert_facts_match()
    services.agreement_resume(agreement=agreement, effective=dt.date(2026, 7, 1), at=at(dt.date(2026, 7, 1)))
    agreement.refresh_from_db()
    assert agreement.status == AgreementStatus.ACTIVE
    grid = selectors.schedule_grid(agreement=agreement)
    by_month = dict(zip(grid.months, grid.totals, strict=True))
    assert by_month[dt.date(2026, 7, 1)] == D("3100.00") and by_month[dt.date(2026, 12, 1)] == D("3100.00")
    assert dt.date(2026, 5, 1) not in by_month
    # Jan–15 Apr (105 days) + Jul–Dec (184 days) at 100 a day
    assert grid.total == D("28900.00") == agreement.total_value
    assert_facts_match()


def test_early_termination_keeps_what_was_earned(org, products):
    agreement = make(org, products, amount="36500", rule=Rule.DAILY)
    services.agreement_terminate(agreement=agreement, effective=dt.date(2026, 3, 11), at=at(dt.date(2026, 3, 11)))
    agreement.refresh_from_db()
    assert agreement.status == AgreementStatus.TERMINATED
    assert agreement.end_date == dt.date(2026, 3, 10)
    assert agreement.total_value == D("6900.00")  # 31 + 28 + 10 days at 100
    assert selectors.schedule_grid(agreement=agreement).total == D("6900.00")
    assert_facts_match()


def test_renewal_is_a_new_agreement_and_marks_the_old_one_renewed_when_signed(org, products):
    agreement = make(org, products)
    renewal = services.agreement_renew(agreement=agreement, number="HT-2027-001", end_date=dt.date(2027, 12, 31))
    assert renewal.status == AgreementStatus.DRAFT and renewal.start_date == dt.date(2027, 1, 1)
    assert renewal.total_value == D("120000.00")
    services.agreement_sign(agreement=renewal, at=at(dt.date(2026, 12, 1)))
    agreement.refresh_from_db()
    assert agreement.status == AgreementStatus.RENEWED
    assert_facts_match()


def test_only_drafts_are_edited_and_lines_must_fit_the_agreement(org, products):
    agreement = services.agreement_create(account=org.acct, number="HT-X", title="t", owner=org.rep,
                                          start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 12, 31))
    with pytest.raises(ValidationError) as err:
        services.agreement_update(agreement=agreement, data={"lines": [
            {"product": products[0], "amount": D("10"), "end_date": dt.date(2027, 3, 1)}]})
    assert "start_date" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        services.agreement_sign(agreement=agreement)
    assert "lines" in err.value.message_dict
    services.agreement_update(agreement=agreement, data={"lines": [{"product": products[0], "amount": D("10")}]})
    services.agreement_sign(agreement=agreement)
    with pytest.raises(ValidationError):
        services.agreement_update(agreement=agreement, data={"title": "changed"})


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_facts_equal_a_direct_sum_after_random_operations(org, products, seed):
    from kamcrm.receivables import services as receivables

    rnd = random.Random(seed)
    accounts = [org.acct, org.other]
    owners = {org.acct.pk: org.rep, org.other.pk: org.outsider}
    agreements = []
    for step in range(60):
        op = rnd.choice(["create", "create", "amend", "suspend", "resume", "terminate", "invoice", "pay",
                         "recognise"])
        if op == "create" or not agreements:
            account = rnd.choice(accounts)
            start = dt.date(2026, rnd.randint(1, 12), rnd.randint(1, 28))
            end = start + dt.timedelta(days=rnd.randint(0, 900))
            lines = [{"product": rnd.choice(products), "amount": D(rnd.randint(0, 10**7)) / 100,
                      "rule": rnd.choice([Rule.MONTHLY, Rule.DAILY, Rule.USAGE, Rule.ONE_OFF])}
                     for _ in range(rnd.randint(1, 3))]
            agreement = services.agreement_create(account=account, number=f"R{seed}-{step}", title="随机", lines=lines,
                                                  owner=owners[account.pk], start_date=start, end_date=end)
            services.agreement_sign(agreement=agreement, at=at(dt.date(2026, 1, 1)))
            agreements.append(agreement)
            continue
        agreement = rnd.choice(agreements)
        agreement.refresh_from_db()
        span = (agreement.end_date - agreement.start_date).days
        effective = agreement.start_date + dt.timedelta(days=rnd.randint(0, span))
        try:
            if op == "amend":
                line = rnd.choice(list(agreement.lines.all()))
                services.agreement_amend(agreement=agreement, effective=effective, lines=[
                    {"id": line.pk, "amount": line.amount + D(rnd.randint(0, 10**6)) / 100}])
            elif op == "suspend":
                services.agreement_suspend(agreement=agreement, effective=effective)
            elif op == "resume":
                services.agreement_resume(agreement=agreement, effective=effective)
            elif op == "terminate":
                services.agreement_terminate(agreement=agreement, effective=effective)
            elif op == "invoice":
                receivables.invoice_create(account=agreement.account, agreement=agreement, number=f"F{seed}-{step}",
                                           invoice_date=effective, due_date=effective + dt.timedelta(days=30),
                                           amount=D(rnd.randint(1, 10**6)) / 100,
                                           product_line=rnd.choice(products).line)
            elif op == "pay":
                receivables.payment_create(account=agreement.account, received_on=effective,
                                           amount=D(rnd.randint(1, 10**6)) / 100)
            elif op == "recognise":  # a new figure, a replacement or (0) a removal
                services.revenue_recognise(line=rnd.choice(list(agreement.lines.all())), month=effective,
                                           amount=rnd.choice([D(0), D(rnd.randint(1, 10**6)) / 100]))
        except ValidationError:
            pass  # a refused operation (wrong status, value below what is scheduled) changes nothing
    kinds = set(AgreementChange.objects.values_list("kind", flat=True))
    assert {"signed", "amended"} <= kinds and kinds & {"suspended", "terminated"}, kinds
    for agreement in agreements:
        agreement.refresh_from_db()
        assert agreement.total_value == sum(
            (s.amount for s in RevenueSlice.objects.filter(agreement=agreement, superseded_at__isnull=True)), D("0"))
    assert_facts_match()
    # and a full recompute finds nothing to change
    def snapshot():
        return sorted((f.account_id, f.product_line_id or 0, f.month, f.expected, f.billed, f.collected)
                      for f in RevenueFact.objects.all())

    before = snapshot()
    facts_refresh([a.pk for a in accounts])
    assert before == snapshot() and before


def test_daily_job_activates_expires_and_reminds_once(org, products):
    from django.core.management import call_command

    from kamcrm.activities.models import Task

    running = make(org, products, number="HT-RUN", start=dt.date(2026, 1, 1), end=dt.date(2026, 12, 31),
                   sign_at=at(dt.date(2025, 12, 1)))
    later = make(org, products, number="HT-LATER", start=dt.date(2027, 1, 1), end=dt.date(2027, 12, 31),
                 sign_at=at(dt.date(2025, 12, 1)))
    assert later.status == AgreementStatus.SIGNED
    # 1 November: within the 60 days' notice of HT-RUN's end, not of HT-LATER's
    done = services.agreements_roll(today=dt.date(2026, 11, 1))
    assert done["renewal reminders"] == 1
    task = Task.objects.get(source="renewal")
    assert task.assignee == org.rep and "HT-RUN" in task.title and task.account == org.acct
    assert services.agreements_roll(today=dt.date(2026, 11, 2))["renewal reminders"] == 0
    call_command("agreements_daily", "--today", "2027-01-02", stdout=__import__("io").StringIO())
    running.refresh_from_db()
    later.refresh_from_db()
    assert running.status == AgreementStatus.EXPIRED and later.status == AgreementStatus.ACTIVE
    # a renewal already drafted: no reminder for it
    renewal_target = make(org, products, number="HT-R2", start=dt.date(2027, 1, 1), end=dt.date(2027, 3, 31),
                          sign_at=at(dt.date(2026, 12, 1)))
    services.agreement_renew(agreement=renewal_target, number="HT-R2-2", end_date=dt.date(2027, 6, 30))
    # 1 March: HT-R2 ends within its notice but is being renewed; HT-LATER's notice starts in November
    assert services.agreements_roll(today=dt.date(2027, 3, 1))["renewal reminders"] == 0
    assert not Task.objects.filter(title__contains="HT-R2").exists()
    assert services.agreements_roll(today=dt.date(2027, 11, 5))["renewal reminders"] == 1
