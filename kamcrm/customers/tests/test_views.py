"""Customers UI: who may list, open, search, edit and delete what; forms name their fields; refused
writes change nothing."""
import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from kamcrm.audit.models import ObjectChange, TimelineEvent
from kamcrm.core.models import AttributeDefinition
from kamcrm.customers import services
from kamcrm.customers import views as customer_views
from kamcrm.customers.models import Account, AccountTeamMember, Contact, Interaction
from kamcrm.org import services as org_services
from kamcrm.org.tests.test_visibility import ROLE_MATRIX

PERSONAS = list(ROLE_MATRIX)


@pytest.fixture(autouse=True)
def _plain_http(settings):
    # Production settings redirect to HTTPS; the test client speaks plain HTTP.
    settings.SECURE_SSL_REDIRECT = False


def persona(org, name):
    return getattr(org, "exec_" if name == "exec" else name)


def db_state():
    """Every row a customers write could touch, to prove that a refused request touched none."""
    return (
        list(Account.objects.order_by("pk").values()),
        list(Contact.objects.order_by("pk").values()),
        list(AccountTeamMember.objects.order_by("pk").values()),
        list(Interaction.objects.order_by("pk").values()),
        list(TimelineEvent.objects.order_by("pk").values_list("pk", flat=True)),
        list(ObjectChange.objects.order_by("pk").values_list("pk", flat=True)),
    )


def href_of(html, testid):
    """The href of the element marked data-testid=`testid`, unescaped."""
    tag = re.search(rf'<a [^>]*data-testid="{re.escape(testid)}"[^>]*>', html).group(0)
    return re.search(r'href="([^"]*)"', tag).group(1).replace("&amp;", "&")


def account_post_data(account, **overrides):
    data = {
        "name": account.name, "short_name": account.short_name, "credit_code": account.credit_code,
        "tier": account.tier, "industry": account.industry, "status": account.status, "region": account.region_id,
        "owner": account.owner_id, "parent": account.parent_id or "", "tags": ", ".join(account.tags),
        "address": account.address, "website": account.website, "phone": account.phone,
        "description": account.description,
    }
    data.update(overrides)
    return data


@pytest.fixture
def attrs(db):
    """Custom attributes of accounts: a filterable choice, a bounded decimal and a multi-choice."""
    return {
        "segment": AttributeDefinition.objects.create(entity="account", key="segment", label_zh="细分市场",
                                                      label_en="Segment", type="choice",
                                                      choices=["政企", "中小企业"], filterable=True),
        "revenue": AttributeDefinition.objects.create(entity="account", key="revenue", label_zh="年收入（万元）",
                                                      label_en="Annual revenue", type="decimal", min_value=0,
                                                      filterable=True),
        "products": AttributeDefinition.objects.create(entity="account", key="products", label_zh="在用产品",
                                                       label_en="Products in use", type="multi_choice",
                                                       choices=["专线", "云", "5G"], filterable=False),
    }


@pytest.fixture
def team_grant(org):
    """peer sits on the account team of `other` (West) with read access."""
    return services.team_member_add(account=org.other, user=org.peer, access="read")


@pytest.fixture
def sharing_grant(org):
    """West's accounts are shared (read) with East, so marketing (Marketing East) sees `other`."""
    return org_services.sharing_rule_create(name="西部共享华东", source_unit=org.west, target_unit=org.east)


# ---- account list -------------------------------------------------------------------------------

def listed(client, **params):
    response = client.get(reverse("customers:account_list"), params)
    assert response.status_code == 200, response.content[:500]
    return {a.pk for a in response.context["page"].items}


@pytest.mark.parametrize("name", PERSONAS)
def test_the_account_list_shows_only_visible_accounts(client_for, org, name):
    sees_acct, sees_other, _e1, _e2 = ROLE_MATRIX[name]
    ids = listed(client_for(persona(org, name)))
    assert (org.acct.pk in ids, org.other.pk in ids) == (sees_acct, sees_other)


def test_the_account_list_follows_a_team_grant_and_a_sharing_rule(client_for, org, team_grant, sharing_grant):
    assert listed(client_for(org.peer)) == {org.other.pk}
    assert listed(client_for(org.marketing)) == {org.other.pk}


def test_the_account_list_filters_by_each_field(client_for, org, attrs):
    # (ASCII tag: on SQLite a JSON list stores non-ASCII text \u-escaped, which the tag filter does not match yet)
    services.account_update(account=org.acct, data={"tags": ["VIP", "制造"], "attributes": {"segment": "政企"}})
    group_child = services.account_create(name="浦江子公司", region=org.east, owner=org.rep, parent=org.acct)
    client = client_for(org.admin)
    assert listed(client, q="浦江制造") == {org.acct.pk}
    assert listed(client, q="91310000MA1F") == {org.acct.pk}  # credit code prefix
    assert listed(client, tier="strategic") == {org.other.pk}
    assert listed(client, industry="transport") == {org.other.pk}
    assert listed(client, status="active") == {org.acct.pk, org.other.pk, group_child.pk}
    assert listed(client, region=org.west.pk) == {org.other.pk}
    assert listed(client, owner=org.outsider.pk) == {org.other.pk}
    assert listed(client, is_group="true") == {org.acct.pk}
    assert listed(client, tag="VIP") == {org.acct.pk}
    assert listed(client, attr_segment="政企") == {org.acct.pk}


def test_the_account_list_renders_a_filter_input_per_filterable_attribute(client_for, org, attrs):
    html = client_for(org.rep).get(reverse("customers:account_list"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'name="attr_segment"' in html and 'name="attr_revenue"' in html
    assert 'name="attr_products"' not in html  # not filterable
    assert 'data-testid="account-search"' in html and 'for="id_q"' in html


@pytest.mark.parametrize("params, field", [
    ({"tier": "gold"}, "tier"),
    ({"region": "999999"}, "region"),
    ({"is_group": "maybe"}, "is_group"),
    ({"attr_revenue": "lots"}, "attr_revenue"),
])
def test_an_invalid_filter_names_the_field(client_for, org, attrs, params, field):
    response = client_for(org.rep).get(reverse("customers:account_list"), params)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert 'data-testid="filter-errors"' in response.content.decode()


@pytest.mark.parametrize("params, key", [({"attr_nope": "1"}, "attr_nope"), ({"sort": "owner"}, "sort"),
                                         ({"cursor": "garbage"}, "cursor")])
def test_an_unknown_filter_sort_or_cursor_is_named_in_the_message(client_for, org, params, key):
    response = client_for(org.rep).get(reverse("customers:account_list"), params)
    assert response.status_code == 400
    assert any(e.startswith(f"{key}:") for e in response.context["form"].non_field_errors())


def test_the_account_list_pages_by_keyset_and_carries_the_filters(client_for, org):
    for i in range(60):
        services.account_create(name=f"浦江测试{i:02d}", region=org.east, owner=org.rep)
    client = client_for(org.rep)
    # when
    first = client.get(reverse("customers:account_list"), {"q": "测试", "sort": "-name"})
    # then
    page = first.context["page"]
    assert [a.name for a in page.items][:2] == ["浦江测试59", "浦江测试58"] and len(page.items) == 50
    assert first.context["count_label"] == "60"
    html = first.content.decode()
    assert 'data-testid="page-next"' in html
    second = client.get(reverse("customers:account_list"), {"q": "测试", "sort": "-name", "cursor": page.next_cursor})
    assert [a.name for a in second.context["page"].items] == [f"浦江测试{i:02d}" for i in range(9, -1, -1)]
    assert second.context["page"].has_previous and not second.context["page"].has_next
    # the next link carries q and sort
    next_href = href_of(html, "page-next")
    assert "q=%E6%B5%8B%E8%AF%95" in next_href and "sort=-name" in next_href and "cursor=" in next_href


def test_the_account_list_sort_links_keep_filters_and_drop_the_cursor(client_for, org):
    html = client_for(org.rep).get(reverse("customers:account_list"), {"q": "浦", "cursor": ""}).content.decode()
    href = href_of(html, "sort--updated")
    assert "q=%E6%B5%A6" in href and "sort=-updated" in href and "cursor" not in href


def test_the_account_list_count_is_bounded(client_for, org, monkeypatch):
    for i in range(7):
        services.account_create(name=f"计数{i}", region=org.east, owner=org.rep)
    monkeypatch.setattr(customer_views, "bounded_count", lambda qs: (5, True))  # as if the bound were 5
    response = client_for(org.rep).get(reverse("customers:account_list"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.context["count_label"] == "5+"
    assert "5+ accounts" in response.content.decode()


def test_the_account_list_shows_an_empty_state(client_for, org):
    html = client_for(org.peer).get(reverse("customers:account_list")).content.decode()
    assert 'data-testid="empty"' in html and 'data-testid="account-link"' not in html


def test_the_account_list_links_each_row(client_for, org):
    html = client_for(org.rep).get(reverse("customers:account_list")).content.decode()
    assert f'href="{reverse("customers:account", args=[org.acct.pk])}" data-testid="account-link"' in html


# ---- lookups ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", PERSONAS)
def test_the_account_lookup_returns_only_visible_accounts(client_for, org, name):
    sees_acct, sees_other, _e1, _e2 = ROLE_MATRIX[name]
    data = client_for(persona(org, name)).get(reverse("customers:account_lookup"), {"q": ""}).json()
    ids = {r["id"] for r in data["results"]}
    assert (org.acct.pk in ids, org.other.pk in ids) == (sees_acct, sees_other)
    if sees_acct:
        assert {"id": org.acct.pk, "text": "上海浦江制造有限公司 (浦江制造)"} in data["results"]


def test_the_account_lookup_follows_grants_and_is_bounded(client_for, org, team_grant, sharing_grant):
    for user in (org.peer, org.marketing):
        results = client_for(user).get(reverse("customers:account_lookup"), {"q": "天府"}).json()["results"]
        assert [r["id"] for r in results] == [org.other.pk]
    for i in range(25):
        services.account_create(name=f"浦江批量{i}", region=org.east, owner=org.rep)
    assert len(client_for(org.rep).get(reverse("customers:account_lookup"), {"q": "浦江"}).json()["results"]) == 20


# ---- account 360 --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", PERSONAS)
def test_the_account_page_is_visible_exactly_as_the_account_is(client_for, org, name):
    sees_acct, sees_other, edits_acct, edits_other = ROLE_MATRIX[name]
    client = client_for(persona(org, name))
    for account, sees, edits in ((org.acct, sees_acct, edits_acct), (org.other, sees_other, edits_other)):
        response = client.get(reverse("customers:account", args=[account.pk]))
        assert response.status_code == (200 if sees else 404), (name, account.name)
        if sees:
            html = response.content.decode()
            assert ('data-testid="account-edit"' in html) == edits
            assert ('data-testid="interaction-form"' in html) == edits
            assert 'data-testid="account-history"' in html


@pytest.mark.parametrize("url_name, method", [
    ("account", "get"), ("account_timeline", "get"), ("account_history", "get"), ("account_edit", "get"),
    ("account_edit", "post"), ("interaction_add", "post"), ("team_member_add", "get"), ("team_member_add", "post"),
])
def test_an_outsider_gets_404_on_every_account_url(client_for, org, url_name, method):
    client = client_for(org.outsider)
    url = reverse(f"customers:{url_name}", args=[org.acct.pk])
    before = db_state()
    data = {**account_post_data(org.acct, name="改名"), "kind": "note", "subject": "x", "user": org.outsider.pk,
            "team_role": "sales_support", "access": "edit"}
    response = client.get(url) if method == "get" else client.post(url, data)
    assert response.status_code == 404
    assert db_state() == before


def test_the_account_page_follows_a_team_grant_and_a_sharing_rule(client_for, org, team_grant, sharing_grant):
    response = client_for(org.peer).get(reverse("customers:account", args=[org.other.pk]))
    assert response.status_code == 200 and not response.context["may_edit"]
    response = client_for(org.marketing).get(reverse("customers:account", args=[org.other.pk]))
    assert response.status_code == 200 and 'data-testid="account-edit"' not in response.content.decode()
    services.team_member_update(member=team_grant, data={"access": "edit"})
    response = client_for(org.peer).get(reverse("customers:account", args=[org.other.pk]))
    assert 'data-testid="account-edit"' in response.content.decode()


def test_an_expired_team_grant_gives_404(client_for, org, team_grant):
    today = timezone.localdate()
    services.team_member_update(member=team_grant, data={"valid_from": today - dt.timedelta(days=10),
                                                         "valid_to": today - dt.timedelta(days=1)})
    assert client_for(org.peer).get(reverse("customers:account", args=[org.other.pk])).status_code == 404


def test_the_account_page_shows_profile_hierarchy_contacts_team_and_attributes(client_for, org, attrs):
    # given
    services.account_update(account=org.acct, data={"tags": ["重点"], "attributes": {"segment": "政企",
                                                                                      "products": ["专线", "5G"]}})
    child = services.account_create(name="浦江电子", region=org.east, owner=org.rep, parent=org.acct)
    grandchild = services.account_create(name="浦江电子苏州厂", region=org.east, owner=org.rep, parent=child)
    Contact.objects.create(account=org.acct, name="张总", title="总经理", decision_role="decision_maker")
    Contact.objects.create(account=child, name="子公司联系人")
    services.team_member_add(account=org.acct, user=org.service, team_role="service", access="read",
                             reason="售后支持")
    # when
    response = client_for(org.rep).get(reverse("customers:account", args=[org.acct.pk]), HTTP_ACCEPT_LANGUAGE="en")
    # then
    html = response.content.decode()
    assert [s.pk for s in response.context["subsidiaries"]] == [child.pk, grandchild.pk]
    rollup = response.context["rollup"]
    assert (rollup.accounts, rollup.contacts) == (3, 2)
    assert "张总" in html and "service" in html and "售后支持" in html and "重点" in html
    assert "Segment" in html and "政企" in html and "专线, 5G" in html
    # the child's breadcrumb leads up to the group
    child_html = client_for(org.rep).get(reverse("customers:account", args=[grandchild.pk])).content.decode()
    assert reverse("customers:account", args=[org.acct.pk]) in child_html and "浦江电子" in child_html


def test_the_account_page_labels_attributes_in_the_current_language(client_for, org, attrs):
    services.account_update(account=org.acct, data={"attributes": {"segment": "政企"}})
    client = client_for(org.rep)
    assert "细分市场" in client.get(reverse("customers:account", args=[org.acct.pk]),
                                HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "Segment" in client.get(reverse("customers:account", args=[org.acct.pk]),
                                   HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_the_account_page_shows_the_first_contacts_and_links_to_the_rest(client_for, org):
    Contact.objects.bulk_create(Contact(account=org.acct, name=f"联系人{i:02d}") for i in range(25))
    response = client_for(org.rep).get(reverse("customers:account", args=[org.acct.pk]))
    assert len(response.context["contacts"]) == 20 and response.context["contact_count"] == 25
    assert f'{reverse("customers:contact_list")}?account={org.acct.pk}' in response.content.decode()


# ---- timeline and history -----------------------------------------------------------------------

def test_the_timeline_filters_by_kind_and_loads_more(client_for, org):
    now = timezone.now()
    TimelineEvent.objects.bulk_create(
        TimelineEvent(account=org.acct, occurred_at=now - dt.timedelta(minutes=i), kind="call" if i % 2 else "visit",
                      summary=f"事件{i:02d}") for i in range(45))
    client = client_for(org.rep)
    url = reverse("customers:account_timeline", args=[org.acct.pk])
    # when filtered to calls
    response = client.get(url, {"kind": "call"})
    # then
    items = response.context["timeline"].items
    assert len(items) == 20 and {e.kind for e in items} == {"call"}
    chips = {c["kind"]: c for c in response.context["chips"]}
    assert chips["call"]["active"] and chips["call"]["count"] == 22 and not chips["visit"]["active"]
    # load more keeps the filter and returns only the items
    more = client.get(url, {"kind": "call", "cursor": response.context["timeline"].next_cursor})
    assert {e.kind for e in more.context["timeline"].items} == {"call"} and len(more.context["timeline"].items) == 2
    assert 'id="timeline-panel"' not in more.content.decode()
    # two kinds
    response = client.get(url, {"kind": ["call", "visit"]})
    assert len(response.context["timeline"].items) == 20 and response.context["timeline"].has_next


def test_logging_an_interaction_puts_it_on_the_timeline(client_for, org):
    contact = Contact.objects.create(account=org.acct, name="张总")
    client = client_for(org.rep)
    response = client.post(reverse("customers:interaction_add", args=[org.acct.pk]),
                           {"kind": "visit", "subject": "上门拜访", "body": "谈续约", "contact": contact.pk})
    assert response.status_code == 302
    interaction = Interaction.objects.get(account=org.acct)
    assert (interaction.kind, interaction.contact, interaction.author) == ("visit", contact, org.rep)
    event = TimelineEvent.objects.get(account=org.acct, kind="visit")
    assert event.summary == "上门拜访"


def test_logging_an_interaction_with_bad_input_names_the_field_and_writes_nothing(client_for, org):
    stranger = Contact.objects.create(account=org.other, name="别家联系人")
    before = db_state()
    response = client_for(org.rep).post(reverse("customers:interaction_add", args=[org.acct.pk]),
                                        {"kind": "fax", "subject": "", "contact": stranger.pk})
    assert response.status_code == 400
    assert set(response.context["interaction_form"].errors) == {"kind", "subject", "contact"}
    assert db_state() == before


@pytest.mark.parametrize("name", ["bizmgmt", "peer", "outsider", "marketing"])
def test_a_read_only_or_outside_user_cannot_log_an_interaction(client_for, org, name, sharing_grant):
    before = db_state()
    response = client_for(persona(org, name)).post(reverse("customers:interaction_add", args=[org.acct.pk]),
                                                   {"kind": "note", "subject": "不该写入"})
    assert response.status_code == 404
    assert db_state() == before


def test_the_history_shows_ui_edits_with_before_and_after(client_for, org):
    # the manager may hand the account to another rep of their team
    client = client_for(org.manager)
    client.post(reverse("customers:account_edit", args=[org.acct.pk]),
                account_post_data(org.acct, tier="strategic", owner=org.peer.pk, phone="021-12345678"))
    response = client.get(reverse("customers:account", args=[org.acct.pk]), HTTP_ACCEPT_LANGUAGE="en")
    row = response.context["history_rows"][0]
    assert row["entry"].channel == "ui" and row["entry"].actor == org.manager
    changes = {c["field"]: (c["before"], c["after"]) for c in row["changes"]}
    assert changes["tier"] == ("key account", "strategic account")
    assert changes["account manager"] == ("rep", "peer")
    assert changes["phone"] == ("—", "021-12345678")
    html = response.content.decode()
    assert 'data-testid="account-history"' in html and "key account</span> → strategic account" in html


def test_the_history_partial_pages_and_hides_from_outsiders(client_for, org):
    for i in range(15):
        services.account_update(account=org.acct, data={"phone": f"021-{i:08d}"})
    client = client_for(org.rep)
    url = reverse("customers:account_history", args=[org.acct.pk])
    first = client.get(url)
    assert len(first.context["history_rows"]) == 10 and first.context["history"].has_next
    second = client.get(url, {"cursor": first.context["history"].next_cursor})
    assert len(second.context["history_rows"]) == 6  # 15 updates + the create
    assert client_for(org.outsider).get(url).status_code == 404


# ---- account create and edit --------------------------------------------------------------------

def test_a_user_creates_an_account_with_tags_and_custom_attributes(client_for, org, attrs):
    client = client_for(org.rep)
    form_page = client.get(reverse("customers:account_add"))
    assert form_page.context["form"].initial["owner"] == org.rep
    assert form_page.context["form"].initial["region"] == org.east
    html = form_page.content.decode()
    assert 'name="attr_products"' in html and "multiple" in html.split('name="attr_products"')[1].split(">")[0]
    assert 'data-testid="save"' in html
    response = client.post(reverse("customers:account_add"), {
        "name": "杭州西湖数据有限公司", "short_name": "西湖数据", "tier": "key", "industry": "internet",
        "status": "active", "region": org.east.pk, "owner": org.rep.pk, "parent": org.acct.pk,
        "tags": "云, 重点，数据", "attr_segment": "政企", "attr_revenue": "1234.5",
        "attr_products": ["云", "专线"],
    })
    account = Account.objects.get(name="杭州西湖数据有限公司")
    assert response.status_code == 302 and response["Location"] == reverse("customers:account", args=[account.pk])
    assert account.tags == sorted(["云", "重点", "数据"])
    assert account.attributes == {"segment": "政企", "revenue": "1234.5", "products": ["专线", "云"]}
    assert account.parent == org.acct and account.owner_unit == org.team_e1
    assert ObjectChange.objects.filter(object_id=account.pk, action="create", channel="ui").exists()


def test_creating_an_account_with_bad_input_names_each_field_and_writes_nothing(client_for, org, attrs):
    before = db_state()
    response = client_for(org.rep).post(reverse("customers:account_add"), {
        "name": "", "tier": "gold", "industry": "internet", "status": "active", "region": org.east.pk,
        "owner": org.rep.pk, "credit_code": "123", "attr_segment": "外资",
    })
    assert response.status_code == 400
    assert {"name", "tier", "attr_segment"} <= set(response.context["form"].errors)
    assert db_state() == before


@pytest.mark.parametrize("overrides, field", [
    ({"credit_code": "91310000MA1FL0XQ05"}, "credit_code"),  # wrong check character (service/model)
    ({"credit_code": "91310000MA1FL0XQ04"}, "credit_code"),  # already used by acct (constraint)
    ({"attr_revenue": "-5"}, "attr_revenue"),  # below the attribute's minimum (attribute engine)
])
def test_service_errors_land_on_their_form_field(client_for, org, attrs, overrides, field):
    data = {"name": "新客户", "tier": "normal", "industry": "other", "status": "active", "region": org.east.pk,
            "owner": org.rep.pk, **overrides}
    before = db_state()
    response = client_for(org.rep).post(reverse("customers:account_add"), data)
    assert response.status_code == 400
    assert list(response.context["form"].errors) == [field]
    assert db_state() == before


def test_a_parent_the_user_cannot_see_is_refused(client_for, org):
    before = db_state()
    response = client_for(org.rep).post(reverse("customers:account_edit", args=[org.acct.pk]),
                                        account_post_data(org.acct, parent=org.other.pk))
    assert response.status_code == 400 and "parent" in response.context["form"].errors
    assert db_state() == before


def test_a_cycle_in_the_group_is_refused_on_the_parent_field(client_for, org):
    child = services.account_create(name="浦江子公司", region=org.east, owner=org.rep, parent=org.acct)
    before = db_state()
    response = client_for(org.rep).post(reverse("customers:account_edit", args=[org.acct.pk]),
                                        account_post_data(org.acct, parent=child.pk))
    assert response.status_code == 400 and "parent" in response.context["form"].errors
    assert db_state() == before


@pytest.mark.parametrize("name", PERSONAS)
def test_editing_an_account_needs_edit_visibility(client_for, org, name):
    sees_acct, _s2, edits_acct, _e2 = ROLE_MATRIX[name]
    client = client_for(persona(org, name))
    url = reverse("customers:account_edit", args=[org.acct.pk])
    assert client.get(url).status_code == (200 if edits_acct else 404)
    before = db_state()
    response = client.post(url, account_post_data(org.acct, phone="0571-88888888"))
    if edits_acct:
        assert response.status_code == 302
        assert Account.objects.get(pk=org.acct.pk).phone == "0571-88888888"
    else:
        assert response.status_code == 404
        assert db_state() == before


def test_a_team_member_with_edit_access_may_edit(client_for, org, team_grant):
    url = reverse("customers:account_edit", args=[org.other.pk])
    assert client_for(org.peer).get(url).status_code == 404
    services.team_member_update(member=team_grant, data={"access": "edit"})
    response = client_for(org.peer).post(url, account_post_data(org.other, short_name="天府"))
    assert response.status_code == 302 and Account.objects.get(pk=org.other.pk).short_name == "天府"


def test_a_sharing_rule_with_read_access_does_not_allow_editing(client_for, org, sharing_grant):
    before = db_state()
    response = client_for(org.marketing).post(reverse("customers:account_edit", args=[org.other.pk]),
                                              account_post_data(org.other, short_name="改名"))
    assert response.status_code == 404 and db_state() == before


def test_saving_redirects_to_the_account_page_with_a_message(client_for, org):
    client = client_for(org.rep)
    response = client.post(reverse("customers:account_edit", args=[org.acct.pk]),
                           account_post_data(org.acct, website="pujiang.example.cn"), follow=True,
                           HTTP_ACCEPT_LANGUAGE="en")
    assert response.redirect_chain[-1][0] == reverse("customers:account", args=[org.acct.pk])
    assert "saved" in response.content.decode()


def test_the_edit_form_renders_only_the_chosen_owner_and_parent(client_for, org):
    child = services.account_create(name="浦江子公司", region=org.east, owner=org.rep, parent=org.acct)
    html = client_for(org.rep).get(reverse("customers:account_edit", args=[child.pk])).content.decode()
    owner_select = html.split('name="owner"')[1].split("</select>")[0]
    assert owner_select.count("<option") == 2 and "data-search-url" in owner_select
    parent_select = html.split('name="parent"')[1].split("</select>")[0]
    assert parent_select.count("<option") == 2 and org.acct.name in parent_select


# ---- contacts -----------------------------------------------------------------------------------

@pytest.fixture
def contacts(org):
    return (Contact.objects.create(account=org.acct, name="张浦江", mobile="13900000001", decision_role="influencer"),
            Contact.objects.create(account=org.other, name="李天府", mobile="13900000002"))


@pytest.mark.parametrize("name", PERSONAS)
def test_contacts_are_visible_exactly_as_their_account(client_for, org, contacts, name):
    sees_acct, sees_other, edits_acct, _e2 = ROLE_MATRIX[name]
    client = client_for(persona(org, name))
    response = client.get(reverse("customers:contact_list"))
    ids = {c.pk for c in response.context["page"].items}
    assert (contacts[0].pk in ids, contacts[1].pk in ids) == (sees_acct, sees_other)
    assert client.get(reverse("customers:contact", args=[contacts[0].pk])).status_code == (200 if sees_acct else 404)
    assert client.get(reverse("customers:contact_edit", args=[contacts[0].pk])).status_code == \
        (200 if edits_acct else 404)


def test_the_contact_list_filters_by_account_and_decision_role(client_for, org, contacts):
    client = client_for(org.admin)
    ids = {c.pk for c in client.get(reverse("customers:contact_list"), {"account": org.acct.pk}).context["page"].items}
    assert ids == {contacts[0].pk}
    response = client.get(reverse("customers:contact_list"), {"decision_role": "influencer", "q": "张"})
    assert {c.pk for c in response.context["page"].items} == {contacts[0].pk}
    response = client.get(reverse("customers:contact_list"), {"decision_role": "boss"})
    assert response.status_code == 400 and "decision_role" in response.context["form"].errors


def test_the_contact_list_follows_grants(client_for, org, contacts, team_grant, sharing_grant):
    for user in (org.peer, org.marketing):
        ids = {c.pk for c in client_for(user).get(reverse("customers:contact_list")).context["page"].items}
        assert ids == {contacts[1].pk}


def test_a_contact_is_added_from_the_account_page(client_for, org):
    client = client_for(org.rep)
    form = client.get(reverse("customers:contact_add"), {"account": org.acct.pk}).context["form"]
    assert form.initial["account"] == org.acct
    response = client.post(reverse("customers:contact_add"), {
        "account": org.acct.pk, "name": "王经理", "email": "wang@pujiang.example.cn", "relationship_strength": "4",
        "birthday": "1980-05-06", "decision_role": "decision_maker",
    })
    contact = Contact.objects.get(name="王经理")
    assert response.status_code == 302 and response["Location"] == reverse("customers:contact", args=[contact.pk])
    assert (contact.account, contact.relationship_strength, contact.birthday) == (org.acct, 4, dt.date(1980, 5, 6))


def test_adding_a_contact_to_an_account_one_cannot_edit_is_refused(client_for, org, sharing_grant):
    client = client_for(org.marketing)  # sees `other` through the rule, read only
    assert client.get(reverse("customers:contact_add"), {"account": org.other.pk}).status_code == 404
    before = db_state()
    response = client.post(reverse("customers:contact_add"), {"account": org.other.pk, "name": "偷偷加的"})
    assert response.status_code == 400 and "account" in response.context["form"].errors
    assert db_state() == before


def test_bad_contact_input_names_the_field(client_for, org):
    before = db_state()
    response = client_for(org.rep).post(reverse("customers:contact_add"), {
        "account": org.acct.pk, "name": "", "email": "not-an-email", "relationship_strength": "9",
        "birthday": "1980-13-01",
    })
    assert response.status_code == 400
    assert {"name", "email", "relationship_strength", "birthday"} <= set(response.context["form"].errors)
    assert db_state() == before


def test_a_contact_is_edited_and_deleted_by_someone_who_may_edit_its_account(client_for, org, contacts):
    client = client_for(org.manager)
    response = client.post(reverse("customers:contact_edit", args=[contacts[0].pk]),
                           {"account": org.acct.pk, "name": "张浦江", "title": "采购总监"})
    assert response.status_code == 302 and Contact.objects.get(pk=contacts[0].pk).title == "采购总监"
    assert client.get(reverse("customers:contact_delete", args=[contacts[0].pk])).status_code == 200  # confirm
    response = client.post(reverse("customers:contact_delete", args=[contacts[0].pk]))
    assert response.status_code == 302 and response["Location"] == reverse("customers:account", args=[org.acct.pk])
    assert not Contact.objects.filter(pk=contacts[0].pk).exists()


@pytest.mark.parametrize("name", ["bizmgmt", "peer", "outsider", "marketing", "service", "partner"])
def test_a_contact_cannot_be_changed_or_deleted_without_edit_on_its_account(client_for, org, contacts, name):
    client = client_for(persona(org, name))
    before = db_state()
    assert client.post(reverse("customers:contact_edit", args=[contacts[0].pk]),
                       {"account": org.acct.pk, "name": "改名"}).status_code == 404
    assert client.post(reverse("customers:contact_delete", args=[contacts[0].pk])).status_code == 404
    assert db_state() == before


def test_a_contact_cannot_be_moved_to_an_account_one_cannot_edit(client_for, org, contacts, sharing_grant):
    before = db_state()
    response = client_for(org.rep).post(reverse("customers:contact_edit", args=[contacts[0].pk]),
                                        {"account": org.other.pk, "name": "张浦江"})
    assert response.status_code == 400 and "account" in response.context["form"].errors
    assert db_state() == before


# ---- account team -------------------------------------------------------------------------------

def test_the_owner_adds_edits_and_removes_a_team_member(client_for, org):
    client = client_for(org.rep)
    assert client.get(reverse("customers:team_member_add", args=[org.acct.pk])).status_code == 200
    response = client.post(reverse("customers:team_member_add", args=[org.acct.pk]), {
        "user": org.service.pk, "team_role": "service", "access": "read", "valid_from": "2026-01-01",
        "valid_to": "2026-12-31", "reason": "售后",
    })
    assert response.status_code == 302
    member = AccountTeamMember.objects.get(account=org.acct, user=org.service)
    assert (member.team_role, member.valid_to, member.reason) == ("service", dt.date(2026, 12, 31), "售后")
    response = client.post(reverse("customers:team_member_edit", args=[member.pk]),
                           {"team_role": "solution", "access": "edit", "valid_from": "", "valid_to": "", "reason": ""})
    assert response.status_code == 302
    member.refresh_from_db()
    assert (member.team_role, member.access, member.valid_to) == ("solution", "edit", None)
    assert client.get(reverse("customers:team_member_remove", args=[member.pk])).status_code == 200  # confirm
    assert client.post(reverse("customers:team_member_remove", args=[member.pk])).status_code == 302
    assert not AccountTeamMember.objects.filter(pk=member.pk).exists()


def test_bad_team_input_names_the_field_and_writes_nothing(client_for, org):
    services.team_member_add(account=org.acct, user=org.peer)
    client = client_for(org.rep)
    before = db_state()
    response = client.post(reverse("customers:team_member_add", args=[org.acct.pk]),
                           {"user": org.peer.pk, "team_role": "sales_support", "access": "read"})
    assert response.status_code == 400 and list(response.context["form"].errors) == ["user"]
    response = client.post(reverse("customers:team_member_add", args=[org.acct.pk]),
                           {"user": org.service.pk, "team_role": "boss", "access": "all",
                            "valid_from": "2026-05-01", "valid_to": "2026-04-01"})
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"team_role", "access", "valid_to"}
    assert db_state() == before


@pytest.mark.parametrize("name", ["bizmgmt", "peer", "outsider", "marketing", "service", "partner"])
def test_changing_the_team_needs_edit_on_the_account(client_for, org, name):
    member = services.team_member_add(account=org.acct, user=org.service)
    client = client_for(persona(org, name))
    before = db_state()
    assert client.post(reverse("customers:team_member_add", args=[org.acct.pk]),
                       {"user": persona(org, name).pk, "team_role": "sales_support", "access": "edit"}).status_code == 404
    assert client.post(reverse("customers:team_member_edit", args=[member.pk]),
                       {"team_role": "solution", "access": "edit"}).status_code == 404
    assert client.post(reverse("customers:team_member_remove", args=[member.pk])).status_code == 404
    assert db_state() == before


def test_a_team_member_with_edit_access_may_change_the_team(client_for, org, team_grant):
    services.team_member_update(member=team_grant, data={"access": "edit"})
    response = client_for(org.peer).post(reverse("customers:team_member_add", args=[org.other.pk]),
                                         {"user": org.service.pk, "team_role": "service", "access": "read"})
    assert response.status_code == 302
    assert AccountTeamMember.objects.filter(account=org.other, user=org.service).exists()


def test_read_only_viewers_see_no_team_buttons(client_for, org):
    services.team_member_add(account=org.acct, user=org.service)
    html = client_for(org.bizmgmt).get(reverse("customers:account", args=[org.acct.pk])).content.decode()
    assert 'data-testid="team-member"' in html
    assert 'data-testid="team-add"' not in html and 'data-testid="team-remove"' not in html
    html = client_for(org.rep).get(reverse("customers:account", args=[org.acct.pk])).content.decode()
    assert 'data-testid="team-add"' in html and 'data-testid="team-remove"' in html


def test_a_rep_cannot_hand_an_account_to_someone_outside_their_reach(client_for, org):
    # given: peer is the rep's colleague, not below them
    client = client_for(org.rep)
    # when
    response = client.post(reverse("customers:account_edit", args=[org.acct.pk]),
                           account_post_data(org.acct, owner=org.peer.pk))
    # then: the owner field carries the error and nothing changed
    assert response.status_code == 400
    assert "owner" in response.context["form"].errors
    org.acct.refresh_from_db()
    assert org.acct.owner_id == org.rep.pk
