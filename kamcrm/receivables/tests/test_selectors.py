"""Receivables selectors against sums computed directly in Python from the rows: aging as of several
days, balances per account and per group customer, DSO, paid-late statistics, the list's filters and
keyset pages, and visibility (a rep of another team sees none of it)."""
from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from kamcrm.customers import services as customers
from kamcrm.receivables import selectors, services
from kamcrm.receivables.choices import AGING_BUCKETS
from kamcrm.receivables.models import Invoice, PaymentAllocation
from kamcrm.receivables.tests.helpers import D, invoice, pay

pytestmark = pytest.mark.django_db
START = dt.date(2026, 1, 1)


@pytest.fixture
def book(org):
    """Three accounts (a group with a subsidiary, and one in the west), 45 invoices over four months,
    payments (partial, full, over) on various days, one void invoice, some disputed."""
    rng = random.Random(11)
    sub = customers.account_create(name="浦江制造（苏州）有限公司", region=org.east, owner=org.peer, parent=org.acct)
    accounts = [org.acct, sub, org.other]
    made = []
    for i in range(45):
        account = accounts[i % 3]
        day = START + dt.timedelta(days=rng.randrange(0, 120))
        inv = invoice(account, amount=f"{rng.randrange(100, 10000)}.{rng.randrange(0, 100):02d}", day=day,
                      due=day + dt.timedelta(days=rng.choice([15, 30, 45])), tax=rng.choice(["0", "13.00"]),
                      disputed=rng.random() < 0.2)
        made.append(inv)
    for inv in made[::4]:  # paid in full, on time or late
        pay(inv.account, inv.total, day=inv.due_date + dt.timedelta(days=rng.randrange(-10, 40)),
            allocations=[(inv, inv.total)])
    for inv in made[1::4]:  # partly paid, in two payments
        half = (inv.total / 3).quantize(Decimal("0.01"))
        pay(inv.account, half, day=inv.invoice_date + dt.timedelta(days=5), allocations=[(inv, half)])
        pay(inv.account, half, day=inv.invoice_date + dt.timedelta(days=50), allocations=[(inv, half)])
    over = made[2]
    pay(over.account, over.total + D("500.00"), day=over.due_date, allocations=[(over, over.total)])  # an advance
    services.invoice_void(invoice=made[6])
    return {"sub": sub, "accounts": accounts}


def direct_aging(as_of: dt.date, account_ids=None) -> dict[str, tuple[int, Decimal]]:
    out = defaultdict(lambda: [0, Decimal("0.00")])
    for inv in Invoice.objects.exclude(status="void"):
        if inv.invoice_date > as_of or (account_ids is not None and inv.account_id not in account_ids):
            continue
        paid = sum((a.amount for a in PaymentAllocation.objects.filter(invoice=inv).select_related("payment")
                    if a.payment.received_on <= as_of), Decimal("0"))
        left = inv.total - paid
        if left <= 0:
            continue
        late = (as_of - inv.due_date).days
        for code, _label, lowest, highest in AGING_BUCKETS:
            if (lowest is None or late >= lowest) and (highest is None or late <= highest):
                out[code][0] += 1
                out[code][1] += left
                break
    return {k: (n, a) for k, (n, a) in out.items()}


def got(aging) -> dict[str, tuple[int, Decimal]]:
    return {b.code: (b.count, b.amount) for b in aging.totals.bucket_list if b.count}


@pytest.mark.parametrize("as_of", [dt.date(2026, 1, 31), dt.date(2026, 3, 15), dt.date(2026, 5, 1),
                                   dt.date(2026, 9, 30)])
def test_aging_as_of_a_day_equals_a_direct_computation(org, book, as_of):
    result = selectors.aging(user=org.admin, as_of=as_of, group_by="account")
    assert got(result) == direct_aging(as_of)
    for row in result.rows:
        assert {b.code: (b.count, b.amount) for b in row.bucket_list if b.count} == direct_aging(as_of, {row.key})
    assert sum(r.total for r in result.rows) == result.totals.total
    units = selectors.aging(user=org.admin, as_of=as_of, group_by="unit")
    assert sum(r.total for r in units.rows) == result.totals.total
    assert {r.label for r in units.rows} <= {"华东一组", "西部一组"}


def test_aging_respects_visibility_and_scope(org, book):
    as_of = dt.date(2026, 4, 30)
    # the rep owns the group account; the peer owns the subsidiary (same team: the rep does not see it)
    mine = selectors.aging(user=org.rep, as_of=as_of)
    assert got(mine) == direct_aging(as_of, {org.acct.pk})
    assert got(selectors.aging(user=org.manager, as_of=as_of)) == direct_aging(as_of, {org.acct.pk, book["sub"].pk})
    assert selectors.aging(user=org.outsider, as_of=as_of, filters={"account": org.acct.pk}).totals.count == 0
    assert got(selectors.aging(user=org.admin, as_of=as_of, filters={"owner_unit": org.west.pk})) == direct_aging(
        as_of, {org.other.pk})
    assert got(selectors.aging(user=org.admin, as_of=as_of, filters={"group": org.acct.pk})) == direct_aging(
        as_of, {org.acct.pk, book["sub"].pk})
    with pytest.raises(ValidationError):
        selectors.aging(user=org.admin, group_by="colour")


def test_the_drill_down_lists_the_invoices_behind_each_bucket(org, book):
    as_of = dt.date(2026, 4, 30)
    result = selectors.aging(user=org.admin, as_of=as_of)
    for bucket in result.totals.bucket_list:
        listed = selectors.invoice_filtered(user=org.admin, filters={"as_of": as_of.isoformat(), "bucket": bucket.code})
        assert listed.count() == bucket.count
        assert selectors.money(sum(i.open_cents for i in listed)) == bucket.amount


def test_balances_per_account_and_per_group(org, book):
    today = dt.date(2026, 3, 1)
    sub = book["sub"]
    per = selectors.balances(user=org.admin, account_ids=[org.acct.pk, sub.pk, org.other.pk], today=today)
    for account in book["accounts"]:
        open_invoices = Invoice.objects.filter(account=account, status__in=["open", "partly_paid"])
        assert per[account.pk].open == sum((i.total - i.paid_amount for i in open_invoices), Decimal("0"))
        assert per[account.pk].overdue == sum((i.total - i.paid_amount for i in open_invoices if i.due_date < today),
                                              Decimal("0"))
        assert per[account.pk].open_count == open_invoices.count()
    advances = sum((p.amount - p.allocated for p in book["accounts"][2].payments.all()), Decimal("0"))
    assert per[org.other.pk].advances == advances == D("500.00")
    assert per[org.other.pk].net == per[org.other.pk].open - D("500.00")

    group = selectors.group_balance(user=org.admin, account=org.acct, today=today)
    assert (group.members, group.own.open) == (1, per[org.acct.pk].open)
    assert group.total.open == per[org.acct.pk].open + per[sub.pk].open
    # the rep may not see the subsidiary: it neither shows nor counts
    assert selectors.group_balance(user=org.rep, account=org.acct, today=today).members == 0

    rows = selectors.balances_by_account(user=org.admin, today=today)
    assert [r.balance.open for r in rows] == sorted((per[pk].open for pk in per), reverse=True)
    grouped = {r.account.pk: r for r in selectors.balances_by_account(user=org.admin, groups=True, today=today)}
    assert set(grouped) == {org.acct.pk, org.other.pk}
    assert (grouped[org.acct.pk].balance.open, grouped[org.acct.pk].members) == (group.total.open, 1)
    assert [r.account for r in selectors.balances_by_account(user=org.outsider, today=today)] == [org.other]


def test_dso_is_receivables_over_billed_times_days(org, book):
    as_of = dt.date(2026, 4, 30)
    result = selectors.dso(user=org.admin, as_of=as_of, days=90)
    receivable = sum(a for _n, a in direct_aging(as_of).values())
    billed = sum((i.total for i in Invoice.objects.exclude(status="void")
                  if as_of - dt.timedelta(days=90) < i.invoice_date <= as_of), Decimal("0"))
    assert (result.receivables, result.billed) == (receivable, billed)
    assert result.value == (receivable / billed * 90).quantize(Decimal("0.1"))
    assert selectors.dso(user=org.admin, as_of=dt.date(2020, 1, 1)).value is None
    with pytest.raises(ValidationError):
        selectors.dso(user=org.admin, days=0)


def test_paid_late_statistics_equal_a_direct_computation(org, book):
    result = selectors.paid_late(user=org.admin)
    settled = list(Invoice.objects.filter(status="paid"))
    late = [i for i in settled if i.settled_on > i.due_date]
    days = [max(0, (i.settled_on - i.due_date).days) for i in settled]
    assert (result.settled, result.late) == (len(settled), len(late)) and late
    assert result.late_amount == sum((i.total for i in late), Decimal("0"))
    assert result.avg_days_late == (Decimal(sum(days)) / len(settled)).quantize(Decimal("0.0001"))
    assert result.avg_days_late_when_late == (Decimal(sum(days)) / len(late)).quantize(Decimal("0.0001"))
    assert result.max_days_late == max(days)
    assert result.avg_days_to_settle == (Decimal(sum((i.settled_on - i.invoice_date).days for i in settled))
                                         / len(settled)).quantize(Decimal("0.0001"))
    assert result.disputed.count + result.undisputed.count == len(settled)
    assert result.disputed.count == sum(1 for i in settled if i.disputed)
    narrowed = selectors.paid_late(user=org.admin, filters={"account": org.other.pk})
    assert narrowed.settled == sum(1 for i in settled if i.account_id == org.other.pk)


def test_the_list_filters_and_pages(org, book):
    today = dt.date.today()
    all_ids = set(Invoice.objects.values_list("pk", flat=True))

    def ids(**filters):
        return {i.pk for i in selectors.invoice_filtered(user=org.admin, filters=filters)}

    assert ids(status=["void"]) == set(Invoice.objects.filter(status="void").values_list("pk", flat=True))
    assert ids(overdue="true") == {i.pk for i in Invoice.objects.filter(status__in=["open", "partly_paid"],
                                                                         due_date__lt=today)}
    assert ids(overdue="false") == all_ids - ids(overdue="true")
    assert ids(disputed="true") == set(Invoice.objects.filter(disputed=True).values_list("pk", flat=True))
    assert ids(owner_unit=org.east.pk) == set(Invoice.objects.exclude(account=org.other).values_list("pk", flat=True))
    assert ids(owner=org.peer.pk) == set(Invoice.objects.filter(account=book["sub"]).values_list("pk", flat=True))
    assert ids(group=org.acct.pk) == set(Invoice.objects.exclude(account=org.other).values_list("pk", flat=True))
    assert ids(invoice_from="2026-02-01", invoice_to="2026-02-28") == set(Invoice.objects.filter(
        invoice_date__range=(dt.date(2026, 2, 1), dt.date(2026, 2, 28))).values_list("pk", flat=True))
    with pytest.raises(ValidationError) as exc:
        selectors.invoice_filtered(user=org.admin, filters={"bucket": "forever"})
    assert "bucket" in exc.value.message_dict
    # keyset pages by due date walk every invoice once, in order
    seen, cursor = [], None
    while True:
        page = selectors.invoice_list(user=org.admin, sort="due", cursor=cursor, page_size=7)
        seen += page.items
        if not page.has_next:
            break
        cursor = page.next_cursor
    assert [i.pk for i in seen] == list(Invoice.objects.order_by("due_date", "id").values_list("pk", flat=True))
    with pytest.raises(ValidationError):
        selectors.invoice_list(user=org.admin, sort="colour")


def test_a_rep_of_another_team_sees_nothing(org, book):
    assert not selectors.invoice_filtered(user=org.outsider).exclude(account=org.other).exists()
    assert selectors.paid_late(user=org.outsider).settled == selectors.paid_late(
        user=org.admin, filters={"account": org.other.pk}).settled
    assert selectors.balances(user=org.outsider, account_ids=[org.acct.pk])[org.acct.pk].open == 0
    assert selectors.account_advances(user=org.rep, account_id=org.other.pk) == []
