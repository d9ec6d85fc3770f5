"""The revenue analysis page and its drill-down: figures equal to direct sums, each person sees only
what their reach allows, bounded query counts."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from kamcrm.agreements import services
from kamcrm.analytics.selectors import revenue_by_line_month, revenue_by_unit_month
from kamcrm.products import services as product_services
from kamcrm.receivables import services as receivables

pytestmark = pytest.mark.django_db
D = Decimal
YEAR = 2026


@pytest.fixture
def revenue(org):
    line = product_services.product_line_create(code="IDC", name="数据中心")
    product = product_services.product_create(line=line, code="IDC-RACK", name="机柜租用", list_price=D("8000"),
                                              unit="架")
    at = timezone.make_aware(dt.datetime(2025, 12, 1, 10))
    for number, account, owner, amount in (("HT-1", org.acct, org.rep, "120000"), ("HT-2", org.other, org.outsider,
                                                                                  "240000")):
        agreement = services.agreement_create(account=account, number=number, title="机柜", owner=owner,
                                              start_date=dt.date(YEAR, 1, 1), end_date=dt.date(YEAR, 12, 31),
                                              lines=[{"product": product, "amount": D(amount)}])
        services.agreement_sign(agreement=agreement, at=at)
    invoice = receivables.invoice_create(account=org.acct, number="FP-1", invoice_date=dt.date(YEAR, 2, 1),
                                         amount=D("10000"), tax=D("600"), product_line=line)
    receivables.payment_create(account=org.acct, received_on=dt.date(YEAR, 3, 5), amount=D("10600"),
                               allocations=[(invoice, D("10600"))])
    return line


def test_figures_equal_the_sources_and_follow_the_reach(org, revenue):
    everything = revenue_by_line_month(user=org.exec_, year=YEAR)
    (line, values), = everything["lines"][:1]
    assert line == revenue
    assert values["expected"] == [D("30000.00")] * 12
    assert values["billed"][1] == D("10000.00")
    nulls = dict(everything["lines"])[None]
    assert nulls["collected"][2] == D("10600.00")
    mine = revenue_by_unit_month(user=org.rep, year=YEAR)
    assert mine.total == D("120000.00")
    assert revenue_by_unit_month(user=org.outsider, year=YEAR).total == D("240000.00")
    assert revenue_by_unit_month(user=org.exec_, year=YEAR).total == D("360000.00")
    assert revenue_by_unit_month(user=org.manager, year=YEAR, measure="billed").total == D("10000.00")


def test_page_and_drill_down(org, revenue, client_for):
    client = client_for(org.rep)
    url = reverse("analytics:revenue") + f"?year={YEAR}"
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert "120,000.00" in page and "240,000" not in page
    assert len(queries) <= 16, [q["sql"] for q in queries]
    drill = client.get(reverse("analytics:revenue_accounts") + f"?year={YEAR}&month=3&measure=expected")
    assert drill.status_code == 200
    assert org.acct.name in drill.content.decode() and org.other.name not in drill.content.decode()
    assert client.get(reverse("analytics:revenue") + "?year=abc").status_code == 400


def test_empty_year_shows_the_empty_state(org, client_for):
    response = client_for(org.exec_).get(reverse("analytics:revenue") + "?year=2030")
    assert response.status_code == 200
    assert 'data-testid="revenue-by-line"' not in response.content.decode()
    assert 'class="empty"' in response.content.decode()


def test_orders_show_per_product_line_and_month_for_what_the_user_may_see(org, revenue, client_for):
    from kamcrm.agreements.models import OrderLine
    from kamcrm.analytics.selectors import orders_by_line_month
    from kamcrm.products.models import Product

    product = Product.objects.get(code="IDC-RACK")
    services.order_create(account=org.acct, number="DD-1", ordered_on=dt.date(YEAR, 4, 9), owner=org.rep,
                          lines=[{"product": product, "quantity": 2, "unit_price": D("8000")}])
    services.order_create(account=org.other, number="DD-2", ordered_on=dt.date(YEAR, 4, 20), owner=org.outsider,
                          lines=[{"product": product, "quantity": 1, "unit_price": D("7000")}])
    assert orders_by_line_month(user=org.exec_, year=YEAR)[revenue.pk][3] == D("23000.00")
    assert orders_by_line_month(user=org.rep, year=YEAR) == {revenue.pk: [D("0.00")] * 3 + [D("16000.00")]
                                                              + [D("0.00")] * 8}
    assert sum(orders_by_line_month(user=org.exec_, year=YEAR)[revenue.pk]) == sum(
        OrderLine.objects.values_list("amount", flat=True))
    page = client_for(org.rep).get(reverse("analytics:revenue") + f"?year={YEAR}").content.decode()
    assert 'data-testid="line-IDC-ordered"' in page and "16,000.00" in page and "23,000" not in page
