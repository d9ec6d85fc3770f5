"""Key customers pages run a fixed number of queries: the count does not grow with the number of
accounts, contacts, timeline events, team members or subsidiaries, only with the bounded page sizes."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from kamcrm.audit.models import TimelineEvent
from kamcrm.customers import services
from kamcrm.customers.models import Account, AccountTeamMember, Contact
from kamcrm.org.choices import Role
from kamcrm.org.models import User

# The pins: what each page costs today for the rep (owner) and the manager (sees the subtree), with a
# little headroom. Visibility itself is a handful of small queries per selector call (org.selectors.reach).
MAX_ACCOUNT_PAGE = 30
MAX_ACCOUNT_LIST = 13
MAX_CONTACT_LIST = 16
MAX_SEARCH = 14
MAX_TIMELINE = 12


@pytest.fixture(autouse=True)
def _plain_http(settings):
    settings.SECURE_SSL_REDIRECT = False


def queries(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200, response.content[:300]
    return len(ctx.captured_queries)


def grow(org, account: Account, n: int, tag: str) -> Account:
    """Give `account` n contacts, n timeline events, n team members and n subsidiaries."""
    now = timezone.now()
    Contact.objects.bulk_create(Contact(account=account, name=f"{tag}联系人{i}") for i in range(n))
    TimelineEvent.objects.bulk_create(TimelineEvent(account=account, occurred_at=now, kind=("call", "visit")[i % 2],
                                                    summary=f"{tag}事件{i}") for i in range(n))
    users = User.objects.bulk_create(User(username=f"{tag}-member-{i}", unit=org.team_w1, role=Role.SERVICE)
                                     for i in range(n))
    AccountTeamMember.objects.bulk_create(AccountTeamMember(account=account, user=u) for u in users)
    Account.objects.bulk_create(Account(name=f"{tag}子公司{i}", region=org.east, owner=org.rep, owner_unit=org.team_e1,
                                        parent=account) for i in range(n))
    return account


@pytest.fixture
def few_and_many(org):
    few = grow(org, services.account_create(name="小集团", region=org.east, owner=org.rep), 5, "few")
    many = grow(org, services.account_create(name="大集团", region=org.east, owner=org.rep), 60, "many")
    for account in (few, many):
        services.interaction_log(account=account, kind="note", subject="备注", by=org.rep)
        services.account_update(account=account, data={"phone": "021-1"})
    return few, many


@pytest.mark.parametrize("who", ["rep", "manager", "admin"])
def test_the_account_page_does_not_grow_with_its_timeline_contacts_team_or_subsidiaries(client_for, org,
                                                                                        few_and_many, who):
    # given
    few, many = few_and_many
    client = client_for(getattr(org, who))
    queries(client, reverse("customers:account", args=[few.pk]))  # warm caches (content types)
    # when
    n_few = queries(client, reverse("customers:account", args=[few.pk]))
    n_many = queries(client, reverse("customers:account", args=[many.pk]))
    # then
    assert n_few == n_many
    assert n_many <= MAX_ACCOUNT_PAGE


def test_the_account_page_query_count_is_pinned(client_for, org, few_and_many, django_assert_max_num_queries):
    few, many = few_and_many
    client = client_for(org.rep)
    client.get(reverse("customers:account", args=[few.pk]))
    with django_assert_max_num_queries(MAX_ACCOUNT_PAGE):
        response = client.get(reverse("customers:account", args=[many.pk]))
    assert len(response.context["timeline"].items) == 20 and len(response.context["contacts"]) == 20


def test_the_timeline_partial_does_not_grow_with_the_timeline(client_for, org, few_and_many,
                                                              django_assert_max_num_queries):
    few, many = few_and_many
    client = client_for(org.manager)
    url_few = reverse("customers:account_timeline", args=[few.pk])
    url_many = reverse("customers:account_timeline", args=[many.pk])
    queries(client, url_few)
    assert queries(client, url_few, {"kind": "call"}) == queries(client, url_many, {"kind": "call"})
    with django_assert_max_num_queries(MAX_TIMELINE):
        client.get(url_many, {"kind": ["call", "visit"]})


def test_the_account_list_does_not_grow_with_the_number_of_accounts(client_for, org, django_assert_max_num_queries):
    client = client_for(org.manager)
    url = reverse("customers:account_list")
    Account.objects.bulk_create(Account(name=f"甲{i}", region=org.east, owner=org.rep, owner_unit=org.team_e1)
                                for i in range(5))
    queries(client, url)
    n_few = queries(client, url, {"tier": "normal", "q": "甲"})
    Account.objects.bulk_create(Account(name=f"甲{i}", region=org.east, owner=org.peer, owner_unit=org.team_e1,
                                        parent=org.acct) for i in range(5, 60))
    assert queries(client, url, {"tier": "normal", "q": "甲"}) == n_few
    with django_assert_max_num_queries(MAX_ACCOUNT_LIST):
        response = client.get(url, {"sort": "-updated"})
    assert len(response.context["page"].items) == 50


def test_the_contact_list_does_not_grow_with_the_number_of_contacts(client_for, org, django_assert_max_num_queries):
    client = client_for(org.rep)
    url = reverse("customers:contact_list")
    Contact.objects.bulk_create(Contact(account=org.acct, name=f"乙{i}") for i in range(5))
    queries(client, url)
    n_few = queries(client, url)
    Contact.objects.bulk_create(Contact(account=org.acct, name=f"乙{i}") for i in range(5, 60))
    assert queries(client, url) == n_few
    with django_assert_max_num_queries(MAX_CONTACT_LIST):
        client.get(url, {"account": org.acct.pk})


def test_search_does_not_grow_with_the_number_of_matches(client_for, org, django_assert_max_num_queries):
    client = client_for(org.manager)
    url = reverse("search")
    Account.objects.bulk_create(Account(name=f"丙{i}", region=org.east, owner=org.rep, owner_unit=org.team_e1)
                                for i in range(5))
    queries(client, url, {"q": "丙"})
    n_few = queries(client, url, {"q": "丙"})
    Account.objects.bulk_create(Account(name=f"丙{i}", region=org.east, owner=org.rep, owner_unit=org.team_e1)
                                for i in range(5, 60))
    Contact.objects.bulk_create(Contact(account=org.acct, name=f"丙{i}") for i in range(60))
    assert queries(client, url, {"q": "丙"}) == n_few
    with django_assert_max_num_queries(MAX_SEARCH):
        client.get(url, {"q": "丙"})
