"""The agreements pages and API run a fixed number of queries: the count does not grow with the number of
agreements, their lines, their schedule's months and versions, their changes or their orders."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from kamcrm.agreements import services
from kamcrm.agreements.models import Agreement
from kamcrm.customers import services as customer_services
from kamcrm.products import services as product_services

pytestmark = pytest.mark.django_db
D = Decimal

MAX_LIST = 14
MAX_DETAIL = 25  # 22, then the schedule's billed and recognised rows and the attachments panel
MAX_ACCOUNT_CARD = 15
MAX_API_LIST = 12


def queries(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200, response.content[:300]
    return len(ctx.captured_queries)


def at(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(10)))


@pytest.fixture
def products(db):
    line = product_services.product_line_create(code="IDC", name="数据中心")
    return [product_services.product_create(line=line, code=f"IDC-{i}", name=f"机柜{i}", list_price=D("5000"))
            for i in range(3)]


def populate(org, account, n: int, tag: str, products, *, lines: int = 1, sign: bool = True) -> list[Agreement]:
    made = []
    for i in range(n):
        agreement = services.agreement_create(
            by=org.rep, account=account, number=f"{tag}-{i}", title=f"{tag}协议{i}", owner=(org.rep, org.peer)[i % 2],
            start_date=dt.date(2026, 1, 1), end_date=dt.date(2027, 12, 31),
            lines=[{"product": products[j % len(products)], "amount": D("24000") * (j + 1)} for j in range(lines)])
        if sign and i % 3:
            services.agreement_sign(agreement=agreement, by=org.rep, at=at(dt.date(2025, 12, 1)))
        made.append(agreement)
    return made


def grow(org, agreement: Agreement, products, n: int) -> Agreement:
    """Give one signed agreement n more lines, n amendments (each superseding slices) and n orders."""
    services.agreement_amend(agreement=agreement, effective=dt.date(2026, 2, 1), by=org.rep,
                             add=[{"product": products[i % len(products)], "amount": D("1200")} for i in range(n)],
                             at=at(dt.date(2026, 1, 20)))
    for i in range(n):
        line = agreement.lines.order_by("id").first()
        services.agreement_amend(agreement=agreement, effective=dt.date(2026, 3 + i % 9, 1), by=org.rep,
                                 lines=[{"id": line.pk, "amount": line.amount + 100}], at=at(dt.date(2026, 2, 1 + i)))
        services.order_create(by=org.rep, account=agreement.account, agreement=agreement, number=f"DD-{agreement.pk}-{i}",
                              ordered_on=dt.date(2026, 2, 1), owner=org.rep,
                              lines=[{"product": products[0], "quantity": 1, "unit_price": 10}])
    return agreement


def _account(org, name: str):
    return customer_services.account_create(name=name, region=org.east, owner=org.rep)


@pytest.mark.parametrize("who", ["rep", "manager", "admin"])
@pytest.mark.parametrize("params", [{}, {"sort": "-value", "status": "active"}, {"q": "协议", "sort": "end"}])
def test_the_list_does_not_grow_with_the_number_of_agreements(client_for, org, products, who, params):
    client = client_for(getattr(org, who))
    account = _account(org, "起步客户")
    populate(org, account, 3, "few", products)
    queries(client, reverse("agreements:agreement_list"), params)  # warm caches (content types)
    n_few = queries(client, reverse("agreements:agreement_list"), params)
    populate(org, account, 30, "many", products, lines=3)
    n_many = queries(client, reverse("agreements:agreement_list"), params)
    assert n_few == n_many <= MAX_LIST


@pytest.mark.parametrize("who", ["rep", "manager"])
def test_the_detail_page_does_not_grow_with_lines_versions_changes_or_orders(client_for, org, products, who):
    account = _account(org, "明细客户")
    small, big = populate(org, account, 3, "d", products)[1:]
    grow(org, small, products, 1)
    grow(org, big, products, 12)
    client = client_for(getattr(org, who))
    url = lambda a: reverse("agreements:agreement", args=[a.pk])  # noqa: E731
    queries(client, url(small))
    n_small = queries(client, url(small))
    n_big = queries(client, url(big))
    assert n_small == n_big <= MAX_DETAIL
    as_of = {"as_of": "2026-01-25"}
    assert queries(client, url(small), as_of) == queries(client, url(big), as_of) <= MAX_DETAIL
    html = client.get(url(big)).content.decode()
    assert html.count('data-testid="agreement-line"') == 13 and html.count('data-testid="change-row"') == 14


def test_the_edit_and_amend_forms_do_not_grow_with_the_lines(client_for, org, products):
    account = _account(org, "表单客户")
    small = populate(org, account, 1, "fs", products, lines=1, sign=False)[0]
    big = populate(org, account, 1, "fb", products, lines=15, sign=False)[0]
    client = client_for(org.rep)
    edit = lambda a: reverse("agreements:agreement_edit", args=[a.pk])  # noqa: E731
    queries(client, edit(small))
    assert queries(client, edit(small)) == queries(client, edit(big))
    for agreement in (small, big):
        services.agreement_sign(agreement=agreement, by=org.rep)
    amend = lambda a: reverse("agreements:agreement_amend", args=[a.pk])  # noqa: E731
    assert queries(client, amend(small)) == queries(client, amend(big))


def test_the_account_card_does_not_grow_with_the_accounts_agreements(client_for, org, products):
    few, many = _account(org, "少量协议客户"), _account(org, "大量协议客户")
    populate(org, few, 2, "f", products)
    populate(org, many, 25, "m", products, lines=2)
    client = client_for(org.rep)
    url = "agreements:account_agreements"
    queries(client, reverse(url, args=[few.pk]))
    assert queries(client, reverse(url, args=[few.pk])) == queries(client, reverse(url, args=[many.pk])) \
        <= MAX_ACCOUNT_CARD


def test_the_account_360_page_costs_no_query_for_the_agreements_card(client_for, org, products):
    few, many = _account(org, "少量协议客户"), _account(org, "大量协议客户")
    populate(org, few, 1, "f", products)
    populate(org, many, 20, "m", products, lines=2)
    client = client_for(org.rep)
    queries(client, reverse("customers:account", args=[few.pk]))
    assert queries(client, reverse("customers:account", args=[few.pk])) == \
        queries(client, reverse("customers:account", args=[many.pk]))


@pytest.mark.parametrize("who", ["admin", "rep", "manager"])
def test_the_api_does_not_grow_with_the_page(org, api_for, products, who):
    api = api_for(getattr(org, who))
    account = _account(org, "接口客户")
    first = populate(org, account, 3, "a", products)[1]
    services.order_create(by=org.rep, account=account, agreement=first, number="DD-first", ordered_on=dt.date(2026, 1, 5),
                          owner=org.rep, lines=[{"product": products[1], "quantity": 2, "unit_price": 10}])
    urls = ["/api/v1/agreements/", "/api/v1/agreements/?brief=true", f"/api/v1/agreements/{first.pk}/",
            f"/api/v1/agreements/{first.pk}/schedule/", f"/api/v1/agreements/{first.pk}/lines/",
            f"/api/v1/agreements/{first.pk}/changes/", "/api/v1/orders/"]
    for url in urls:
        queries(api, url)
    small = {url: queries(api, url) for url in urls}
    populate(org, account, 20, "b", products, lines=3)
    grow(org, first, products, 8)
    large = {url: queries(api, url) for url in urls}
    assert large == small
    assert max(large.values()) <= MAX_API_LIST
    assert len(api.get("/api/v1/agreements/").json()["results"]) == 23


@pytest.mark.parametrize("params", [{}, {"agreement": "first"}])
def test_the_order_list_and_page_do_not_grow_with_the_orders(client_for, org, products, params):
    account = _account(org, "订单客户")
    first = populate(org, account, 2, "o", products)[1]
    grow(org, first, products, 2)
    client = client_for(org.rep)
    query = {"agreement": first.pk} if params else {}
    order = first.orders.order_by("id").first()
    queries(client, reverse("agreements:order_list"), query)
    n_few = queries(client, reverse("agreements:order_list"), query)
    n_page = queries(client, reverse("agreements:order", args=[order.pk]))
    for i in range(25):
        services.order_create(by=org.rep, account=account, agreement=first, number=f"DD-more-{i}",
                              ordered_on=dt.date(2026, 3, 1), owner=org.rep,
                              lines=[{"product": products[i % 3], "quantity": 1, "unit_price": 10} for _ in range(3)])
    assert queries(client, reverse("agreements:order_list"), query) == n_few <= MAX_LIST
    big = first.orders.order_by("-id").first()
    assert queries(client, reverse("agreements:order", args=[big.pk])) == n_page
