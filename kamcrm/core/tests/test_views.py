"""The UI shell: login with throttling, the home dashboard, global search, suggest and the user lookup."""
import time

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from conftest import PASSWORD
from kamcrm.audit.models import TimelineEvent
from kamcrm.customers import services as customer_services
from kamcrm.customers.models import Contact
from kamcrm.org import services as org_services
from kamcrm.org.choices import Role
from kamcrm.org.models import User
from kamcrm.org.tests.test_visibility import ROLE_MATRIX


@pytest.fixture(autouse=True)
def _plain_http_and_clean_cache(settings):
    # Production settings redirect to HTTPS; the test client speaks plain HTTP.
    settings.SECURE_SSL_REDIRECT = False
    cache.clear()
    yield
    cache.clear()


def persona(org, name):
    return getattr(org, "exec_" if name == "exec" else name)


def login(client, username, password=PASSWORD, ip="10.0.0.1"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip)


def logged_in(client):
    return "_auth_user_id" in client.session


# ---- login and throttling -----------------------------------------------------------------------

def test_it_shows_a_login_page_with_the_standard_fields(client, db):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="id_username"' in html and 'id="id_password"' in html
    assert 'for="id_username"' in html and 'for="id_password"' in html  # every input has a label
    assert "autofocus" in html


def test_it_logs_in_and_out(client, org):
    response = login(client, "rep")
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert logged_in(client)
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert not logged_in(client)


def test_it_rejects_a_wrong_password_with_a_form_error(client, org):
    response = login(client, "rep", "wrong")
    assert response.status_code == 200
    assert [e.code for e in response.context["form"].non_field_errors().as_data()] == ["invalid_login"]
    assert not logged_in(client)


def test_it_refuses_further_attempts_for_one_username_after_the_limit(client, org, settings):
    # given
    settings.LOGIN_FAILURE_LIMIT = 3
    for i in range(3):
        login(client, "rep", "wrong", ip=f"10.0.0.{i + 1}")  # different addresses: only the username counts
    # when the right password comes next, from yet another address
    response = login(client, "rep", PASSWORD, ip="10.0.0.99")
    # then
    errors = response.context["form"].non_field_errors().as_data()
    assert [e.code for e in errors] == ["too_many_attempts"]
    assert not logged_in(client)
    # and the username is matched case-insensitively
    response = login(client, "REP", PASSWORD, ip="10.0.0.98")
    assert [e.code for e in response.context["form"].non_field_errors().as_data()] == ["too_many_attempts"]
    # and other people are not locked out
    assert login(client, "peer", PASSWORD, ip="10.0.0.97").status_code == 302


def test_it_refuses_further_attempts_from_one_address_after_the_limit(client, org, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    for name in ("a", "b", "c"):
        login(client, name, "wrong", ip="192.0.2.7")
    response = login(client, "rep", PASSWORD, ip="192.0.2.7")
    assert [e.code for e in response.context["form"].non_field_errors().as_data()] == ["too_many_attempts"]
    assert not logged_in(client)
    assert login(client, "rep", PASSWORD, ip="192.0.2.8").status_code == 302


def test_the_refusal_message_says_what_to_do(client, org, settings):
    settings.LOGIN_FAILURE_LIMIT = 1
    settings.LOGIN_FAILURE_WINDOW_SECONDS = 600
    login(client, "rep", "wrong")
    response = client.post(reverse("login"), {"username": "rep", "password": PASSWORD}, HTTP_ACCEPT_LANGUAGE="en")
    assert "Too many failed login attempts. Please wait 10 minutes and try again." in response.content.decode()


def test_it_counts_failures_only_within_the_window(client, org, settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    settings.LOGIN_FAILURE_WINDOW_SECONDS = 1
    login(client, "rep", "wrong")
    login(client, "rep", "wrong")
    assert login(client, "rep").status_code == 200  # refused
    time.sleep(1.2)
    assert login(client, "rep").status_code == 302


def test_a_successful_login_clears_the_usernames_failures(client, org, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    login(client, "rep", "wrong", ip="10.1.0.1")
    login(client, "rep", "wrong", ip="10.1.0.2")
    assert login(client, "rep", ip="10.1.0.3").status_code == 302
    client.post(reverse("logout"))
    login(client, "rep", "wrong", ip="10.1.0.4")
    login(client, "rep", "wrong", ip="10.1.0.5")
    assert login(client, "rep", ip="10.1.0.6").status_code == 302


@pytest.mark.parametrize("name", ["home", "search", "search_suggest", "user_lookup"])
def test_it_sends_anonymous_visitors_to_the_login_page(client, db, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


# ---- home ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(ROLE_MATRIX))
def test_it_counts_only_visible_accounts_on_the_home_page(client_for, org, name):
    sees_acct, sees_other, _e1, _e2 = ROLE_MATRIX[name]
    response = client_for(persona(org, name)).get(reverse("home"))
    assert response.status_code == 200
    dashboard = response.context["dashboard"]
    assert dashboard.total == int(sees_acct) + int(sees_other)
    by_tier = {row.tier: row.count for row in dashboard.by_tier}
    assert by_tier == {"strategic": int(sees_other), "key": int(sees_acct), "normal": 0}


def test_home_lists_my_accounts_and_recent_events_on_visible_accounts_only(client_for, org):
    customer_services.interaction_log(account=org.acct, kind="call", subject="续约电话", by=org.rep)
    customer_services.interaction_log(account=org.other, kind="visit", subject="西部拜访", by=org.outsider)
    response = client_for(org.rep).get(reverse("home"))
    dashboard = response.context["dashboard"]
    assert [a.pk for a in dashboard.my_accounts] == [org.acct.pk]
    summaries = {e.summary for e in dashboard.recent}
    assert "续约电话" in summaries and "西部拜访" not in summaries


def test_home_runs_a_fixed_number_of_queries(client_for, org, django_assert_max_num_queries):
    client = client_for(org.rep)
    client.get(reverse("home"))

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("home")).status_code == 200
        return len(ctx.captured_queries)

    TimelineEvent.objects.bulk_create(TimelineEvent(account=org.acct, occurred_at=timezone.now(), kind="note",
                                                    summary=f"n{i}") for i in range(5))
    few = count()
    TimelineEvent.objects.bulk_create(TimelineEvent(account=org.acct, occurred_at=timezone.now(), kind="note",
                                                    summary=f"m{i}") for i in range(60))
    assert count() == few
    with django_assert_max_num_queries(16):
        client.get(reverse("home"))


# ---- global search and suggest ------------------------------------------------------------------

@pytest.fixture
def people(org):
    Contact.objects.create(account=org.acct, name="张浦江", mobile="13900000001")
    Contact.objects.create(account=org.other, name="李天府", mobile="13900000002")
    return org


@pytest.mark.parametrize("name", list(ROLE_MATRIX))
def test_global_search_finds_only_visible_accounts_and_contacts(client_for, people, name):
    org = people
    sees_acct, sees_other, _e1, _e2 = ROLE_MATRIX[name]
    client = client_for(persona(org, name))
    for q, sees in (("浦江", sees_acct), ("天府", sees_other)):
        response = client.get(reverse("search"), {"q": q})
        assert response.status_code == 200
        results = response.context["results"]
        assert bool(results.accounts) == sees, (name, q)
        assert bool(results.contacts) == sees, (name, q)


def test_global_search_follows_a_team_grant_and_a_sharing_rule(client_for, people):
    org = people
    assert not client_for(org.peer).get(reverse("search"), {"q": "天府"}).context["results"].accounts
    customer_services.team_member_add(account=org.other, user=org.peer, access="read")
    assert client_for(org.peer).get(reverse("search"), {"q": "天府"}).context["results"].accounts
    assert not client_for(org.marketing).get(reverse("search"), {"q": "天府"}).context["results"].accounts
    org_services.sharing_rule_create(name="西部共享华东", source_unit=org.west, target_unit=org.east)
    results = client_for(org.marketing).get(reverse("search"), {"q": "天府"}).context["results"]
    assert [a.pk for a in results.accounts] == [org.other.pk]
    assert [c.name for c in results.contacts] == ["李天府"]


def test_global_search_links_results_and_shows_an_empty_state(client_for, people):
    client = client_for(people.rep)
    html = client.get(reverse("search"), {"q": "浦江"}).content.decode()
    assert reverse("customers:account", args=[people.acct.pk]) in html and 'data-testid="account-link"' in html
    html = client.get(reverse("search"), {"q": "没有这个客户"}).content.decode()
    assert 'data-testid="empty"' in html


def test_suggest_is_empty_without_a_query_and_lists_visible_links(client_for, people):
    client = client_for(people.rep)
    assert client.get(reverse("search_suggest")).content == b""
    html = client.get(reverse("search_suggest"), {"q": "浦江"}).content.decode()
    assert reverse("customers:account", args=[people.acct.pk]) in html
    assert 'data-testid="suggest-contact"' in html
    html = client_for(people.outsider).get(reverse("search_suggest"), {"q": "浦江"}).content.decode()
    assert reverse("customers:account", args=[people.acct.pk]) not in html
    assert "suggest-account" not in html


@pytest.mark.parametrize("name", list(ROLE_MATRIX))
def test_suggest_lists_only_visible_accounts_and_contacts(client_for, people, name):
    org = people
    sees_acct, sees_other, _e1, _e2 = ROLE_MATRIX[name]
    client = client_for(persona(org, name))
    for q, account, sees in (("浦江", org.acct, sees_acct), ("天府", org.other, sees_other)):
        html = client.get(reverse("search_suggest"), {"q": q}).content.decode()
        assert (reverse("customers:account", args=[account.pk]) in html) == sees, (name, q)
        assert ('data-testid="suggest-contact"' in html) == sees, (name, q)


def test_suggest_follows_a_team_grant_and_a_sharing_rule(client_for, people):
    org = people
    url = reverse("customers:account", args=[org.other.pk])
    customer_services.team_member_add(account=org.other, user=org.peer, access="read")
    org_services.sharing_rule_create(name="西部共享华东", source_unit=org.west, target_unit=org.east)
    for user in (org.peer, org.marketing):
        assert url in client_for(user).get(reverse("search_suggest"), {"q": "天府"}).content.decode()


def test_search_runs_a_fixed_number_of_queries(client_for, people, django_assert_max_num_queries):
    client = client_for(people.manager)
    client.get(reverse("search"), {"q": "浦"})
    for i in range(30):
        customer_services.account_create(name=f"浦东{i}号公司", region=people.east, owner=people.rep)
    with django_assert_max_num_queries(18):
        assert client.get(reverse("search"), {"q": "浦"}).status_code == 200
    with django_assert_max_num_queries(18):
        assert client.get(reverse("search_suggest"), {"q": "浦"}).status_code == 200


# ---- user lookup --------------------------------------------------------------------------------

def test_user_lookup_returns_active_users_by_username_or_display_name(client_for, org):
    org_services.user_update(user=org.peer, data={"display_name": "王同事"})
    org_services.user_update(user=org.partner, data={"is_active": False})
    client = client_for(org.rep)
    data = client.get(reverse("user_lookup"), {"q": "pe"}).json()
    assert [r["id"] for r in data["results"]] == [org.peer.pk]
    assert data["results"][0]["text"].startswith("王同事 (peer)")
    assert [r["id"] for r in client.get(reverse("user_lookup"), {"q": "同事"}).json()["results"]] == [org.peer.pk]
    assert client.get(reverse("user_lookup"), {"q": "partner"}).json() == {"results": []}


def test_user_lookup_is_bounded(client_for, org, django_assert_max_num_queries):
    User.objects.bulk_create(User(username=f"staff{i:03d}", display_name=f"员工{i}", unit=org.team_e1,
                                  role=Role.ACCOUNT_MANAGER) for i in range(60))
    client = client_for(org.rep)
    with django_assert_max_num_queries(3):
        data = client.get(reverse("user_lookup"), {"q": "staff"}).json()
    assert len(data["results"]) == 20
    assert data["results"][0]["text"] == "员工0 (staff000) · 华东一组"
