"""The receivables pages run a fixed number of queries: the count does not grow with the number of
invoices, accounts, payments, promises or activities, only with the bounded page sizes."""
from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from kamcrm.customers import services as customer_services
from kamcrm.receivables import services
from kamcrm.receivables.tests.helpers import D

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()
MAX_OVERVIEW = 24
MAX_LIST = 15  # with the navigation bar's notification count
MAX_DETAIL = 20
MAX_CARD = 26  # reach for view and edit, own and group balance, aging today, open invoices, advances


def queries(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200, response.content[:300]
    return len(ctx.captured_queries)


def populate(org, tag: str, accounts: int, per_account: int):
    """`accounts` accounts of the rep (the first a group with the others as subsidiaries), each with
    `per_account` invoices over the last 120 days, a third of them paid, a third partly paid."""
    made = [org.acct]
    for i in range(accounts - 1):
        made.append(customer_services.account_create(name=f"{tag}客户{i}", region=org.east, owner=org.rep,
                                                     parent=org.acct))
    items = []
    for a, account in enumerate(made):
        for i in range(per_account):
            day = TODAY - dt.timedelta(days=(7 * i + a) % 120)
            items.append({"account": account, "number": f"{tag}-{a}-{i}", "invoice_date": day,
                          "amount": D("100.00") + i})
    invoices = services.invoice_create_many(items=items)
    payments = []
    for n, inv in enumerate(invoices):
        if n % 3 == 0:
            payments.append({"account": inv.account, "received_on": inv.invoice_date + dt.timedelta(days=10),
                             "amount": inv.total, "allocations": [(inv, inv.total)]})
        elif n % 3 == 1:
            payments.append({"account": inv.account, "received_on": inv.invoice_date + dt.timedelta(days=5),
                             "amount": D("150.00"), "allocations": [(inv, D("50.00"))]})
    services.payment_create_many(items=payments)
    return invoices


def grow_one(org, invoice, n: int) -> None:
    for i in range(n):
        services.promise_create(account=invoice.account, invoice=invoice, promised_on=TODAY, amount=D("1"), by=org.rep)
        services.activity_log(account=invoice.account, invoice=invoice, kind="call", note=f"第{i}次", by=org.rep)
        services.payment_create(account=invoice.account, received_on=TODAY, amount=D("0.01"),
                                allocations=[(invoice, D("0.01"))])


@pytest.mark.parametrize("who", ["rep", "admin", "manager"])
def test_the_pages_do_not_grow_with_the_data(client_for, org, who):
    client = client_for(getattr(org, who))
    small = populate(org, "S", accounts=2, per_account=3)
    grow_one(org, small[1], 1)
    urls = {
        "overview": (reverse("receivables:overview"), {}),
        "overview_filtered": (reverse("receivables:overview"), {"owner_unit": org.east.pk, "owner": org.rep.pk,
                                                                "as_of": (TODAY - dt.timedelta(days=3)).isoformat()}),
        "list": (reverse("receivables:invoice_list"), {}),
        "drill": (reverse("receivables:invoice_list"), {"as_of": TODAY.isoformat(), "bucket": "d1_30",
                                                        "account": org.acct.pk}),
        "detail": (reverse("receivables:invoice", args=[small[1].pk]), {}),
        "card": (reverse("receivables:account_receivables", args=[org.acct.pk]), {}),
    }
    before = {name: queries(client, url, params) for name, (url, params) in urls.items()}
    populate(org, "L", accounts=12, per_account=25)
    grow_one(org, small[1], 12)
    after = {name: queries(client, url, params) for name, (url, params) in urls.items()}
    assert after == before
    assert before["overview"] <= MAX_OVERVIEW and before["overview_filtered"] <= MAX_OVERVIEW
    assert before["list"] <= MAX_LIST and before["drill"] <= MAX_LIST
    assert before["detail"] <= MAX_DETAIL and before["card"] <= MAX_CARD, before
