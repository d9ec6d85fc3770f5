"""The sales pages run a fixed number of queries: the count does not grow with the number of
opportunities, their lines, contacts, collaborators or stage history, only with the bounded page sizes."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kamcrm.customers import services as customer_services
from kamcrm.org.choices import Role
from kamcrm.org.models import User
from kamcrm.products import services as product_services
from kamcrm.sales import services
from kamcrm.sales.models import Opportunity, Stage

pytestmark = pytest.mark.django_db

# A rep's list and board read their accounts' ids and their collaborations once per request (+2), so each row
# is tested on its own ids instead of a join and a subquery (org.selectors.visible, listing=True).
MAX_LIST = 15
MAX_BOARD = 16
MAX_DETAIL = 20
MAX_FUNNEL = 18  # 14 for the funnel, 4 for the week-over-week card (2 queries a week)
MAX_ACCOUNT_CARD = 15
CODES = ["obtained", "created", "assigned", "relationship", "negotiation", "won", "lost", "abandoned"]


def queries(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200, response.content[:300]
    return len(ctx.captured_queries)


def _account(org, name: str):
    return customer_services.account_create(name=name, region=org.east, owner=org.rep)


def populate(org, account, n: int, tag: str, product) -> list[Opportunity]:
    """n opportunities spread over every stage, each with a line, a contact and a collaborator."""
    stages = {s.code: s for s in Stage.objects.all()}
    contact = customer_services.contact_create(account=account, name=f"{tag}联系人")
    made = []
    for i in range(n):
        opportunity = services.opportunity_create(
            by=org.manager, account=account, name=f"{tag}商机{i}", owner=(org.rep, org.peer)[i % 2],
            lines=[{"product": product, "quantity": i + 1}], contacts=[contact], collaborators=[org.manager])
        target = stages[CODES[i % len(CODES)]]
        if target.code != "obtained":
            services.opportunity_move(opportunity=opportunity, stage=target, by=org.rep, check=False,
                                      lost_reason="预算取消" if target.kind == "lost" else None)
        made.append(opportunity)
    return made


def grow_one(org, opportunity: Opportunity, product, n: int, tag: str) -> Opportunity:
    """Give one opportunity n lines, n contacts, n collaborators and 2n stage changes."""
    contacts = [customer_services.contact_create(account=opportunity.account, name=f"{tag}人{i}") for i in range(n)]
    people = User.objects.bulk_create(User(username=f"{tag}-helper-{i}", unit=org.team_e1, role=Role.SERVICE)
                                      for i in range(n))
    services.opportunity_update(opportunity=opportunity, by=org.rep, data={
        "lines": [{"product": product, "quantity": 1} for _ in range(n)], "contacts": contacts,
        "collaborators": people})
    created, assigned = Stage.objects.get(code="created"), Stage.objects.get(code="assigned")
    for _ in range(n):
        services.opportunity_move(opportunity=opportunity, stage=created, by=org.rep, check=False)
        services.opportunity_move(opportunity=opportunity, stage=assigned, by=org.rep, check=False)
    return opportunity


@pytest.fixture
def product(db):
    line = product_services.product_line_create(code="IDC", name="数据中心")
    return product_services.product_create(line=line, code="IDC-RACK", name="机柜", list_price=Decimal("5000"))


@pytest.fixture
def few(org, product):
    account = _account(org, "少量商机客户")
    return account, populate(org, account, 3, "few", product)


@pytest.fixture
def many(org, product):
    account = _account(org, "大量商机客户")
    return account, populate(org, account, 40, "many", product)


@pytest.mark.parametrize("who", ["rep", "manager", "admin"])
@pytest.mark.parametrize("name,params", [
    ("sales:opportunity_list", {}),
    ("sales:opportunity_list", {"sort": "-amount", "kind": "open"}),
    ("sales:opportunity_board", {}),
    ("sales:funnel", {}),
    ("sales:funnel", {"as_of": "2030-01-01"}),
])
def test_lists_board_and_funnel_do_not_grow_with_the_number_of_opportunities(client_for, org, product, name,
                                                                              params, who):
    client = client_for(getattr(org, who))
    account = _account(org, "起步客户")
    populate(org, account, 3, "few", product)
    queries(client, reverse(name), params)  # warm caches (content types, stages)
    n_few = queries(client, reverse(name), params)
    populate(org, account, 40, "many", product)
    n_many = queries(client, reverse(name), params)
    assert n_few == n_many
    assert n_many <= {"sales:opportunity_list": MAX_LIST, "sales:opportunity_board": MAX_BOARD,
                      "sales:funnel": MAX_FUNNEL}[name]


@pytest.mark.parametrize("who", ["rep", "manager"])
def test_the_detail_page_does_not_grow_with_lines_contacts_collaborators_or_history(client_for, org, product, who):
    account = _account(org, "明细客户")
    small, big = populate(org, account, 2, "d", product)
    grow_one(org, small, product, 2, "small")
    grow_one(org, big, product, 30, "big")
    client = client_for(getattr(org, who))
    queries(client, reverse("sales:opportunity", args=[small.pk]))
    n_small = queries(client, reverse("sales:opportunity", args=[small.pk]))
    n_big = queries(client, reverse("sales:opportunity", args=[big.pk]))
    assert n_small == n_big
    assert n_big <= MAX_DETAIL
    html = client.get(reverse("sales:opportunity", args=[big.pk])).content.decode()
    assert html.count('data-testid="history-row"') == 61 and html.count('data-testid="opportunity-line"') == 30


def test_the_edit_form_does_not_grow_with_the_lines(client_for, org, product):
    account = _account(org, "表单客户")
    small, big = populate(org, account, 2, "f", product)
    grow_one(org, small, product, 1, "fs")
    grow_one(org, big, product, 20, "fb")
    client = client_for(org.rep)
    queries(client, reverse("sales:opportunity_edit", args=[small.pk]))
    assert queries(client, reverse("sales:opportunity_edit", args=[small.pk])) == \
        queries(client, reverse("sales:opportunity_edit", args=[big.pk]))


def test_the_account_card_does_not_grow_with_the_accounts_opportunities(client_for, org, few, many):
    client = client_for(org.rep)
    (few_account, _), (many_account, _) = few, many
    url = "sales:account_opportunities"
    queries(client, reverse(url, args=[few_account.pk]))
    n_few = queries(client, reverse(url, args=[few_account.pk]))
    n_many = queries(client, reverse(url, args=[many_account.pk]))
    assert n_few == n_many <= MAX_ACCOUNT_CARD


def test_the_account_360_page_costs_no_query_for_the_opportunities_card(client_for, org, few, many):
    client = client_for(org.rep)
    (few_account, _), (many_account, _) = few, many
    queries(client, reverse("customers:account", args=[few_account.pk]))
    assert queries(client, reverse("customers:account", args=[few_account.pk])) == \
        queries(client, reverse("customers:account", args=[many_account.pk]))
