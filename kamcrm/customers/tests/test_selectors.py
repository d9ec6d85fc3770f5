"""Customer selectors: group roll-ups, ancestors, the timeline and search, all within what the user may see."""
import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from kamcrm.audit.models import TimelineEvent
from kamcrm.core.models import AttributeDefinition
from kamcrm.customers import selectors, services
from kamcrm.customers.models import Account


@pytest.fixture
def group(org):
    """A 3-level group owned in East, with one subsidiary (and its own subsidiary) owned in West.

    中国远航集团 (rep)
      ├ 远航华东公司 (rep, key)         ── 远航上海分公司 (rep)
      ├ 远航西部公司 (outsider, strategic) ── 远航成都分公司 (outsider)
      └ 远航物流公司 (peer, normal)
    """
    def make(name, owner, parent=None, tier="normal", region=None):
        return services.account_create(name=name, owner=owner, parent=parent, tier=tier,
                                       region=region or (org.west if owner == org.outsider else org.east))

    top = make("中国远航集团", org.rep, tier="strategic")
    east = make("远航华东公司", org.rep, top, tier="key")
    shanghai = make("远航上海分公司", org.rep, east)
    west = make("远航西部公司", org.outsider, top, tier="strategic")
    chengdu = make("远航成都分公司", org.outsider, west)
    logistics = make("远航物流公司", org.peer, top)
    for account, names in ((top, ["董事长"]), (east, ["华东总经理", "华东CIO"]), (shanghai, ["上海经理"]),
                           (west, ["西部总经理"]), (chengdu, ["成都经理"]), (logistics, ["物流经理"])):
        for name in names:
            services.contact_create(account=account, name=name)
    services.team_member_add(account=east, user=org.peer)
    services.team_member_add(account=shanghai, user=org.peer)  # the same person twice counts once
    services.team_member_add(account=west, user=org.service)
    return {"top": top, "east": east, "shanghai": shanghai, "west": west, "chengdu": chengdu, "logistics": logistics}


def test_group_rollup_lists_and_counts_the_whole_group_for_who_sees_it_all(org, group):
    rollup = selectors.group_rollup(user=org.admin, account=group["top"])
    assert [(a.name, a.level) for a in rollup.subsidiaries] == [
        ("远航华东公司", 1), ("远航上海分公司", 2), ("远航物流公司", 1), ("远航西部公司", 1), ("远航成都分公司", 2),
    ]
    assert rollup.accounts == 6
    assert rollup.contacts == 7
    assert rollup.team_members == 2
    assert rollup.by_tier == {"strategic": 2, "key": 1, "normal": 3}


def test_group_rollup_leaves_out_what_the_user_cannot_see(org, group):
    # given the rep sees the group, East and Shanghai (own), but not West/Chengdu (outsider) nor Logistics (peer)
    rollup = selectors.group_rollup(user=org.rep, account=group["top"])
    # then those are neither listed nor counted
    names = [a.name for a in rollup.subsidiaries]
    assert names == ["远航华东公司", "远航上海分公司"]
    assert rollup.accounts == 3
    assert rollup.contacts == 4  # 董事长, 华东总经理, 华东CIO, 上海经理
    assert rollup.team_members == 1  # peer on East and Shanghai; service sits on the unseen West
    assert rollup.by_tier == {"strategic": 1, "key": 1, "normal": 1}


def test_group_rollup_of_a_middle_account(org, group):
    rollup = selectors.group_rollup(user=org.outsider, account=group["west"])
    assert [(a.name, a.level) for a in rollup.subsidiaries] == [("远航成都分公司", 1)]
    assert (rollup.accounts, rollup.contacts, rollup.team_members) == (2, 2, 1)


def test_group_rollup_of_an_account_without_subsidiaries(org):
    rollup = selectors.group_rollup(user=org.rep, account=org.acct)
    assert (rollup.subsidiaries, rollup.accounts, rollup.contacts, rollup.by_tier) == ([], 1, 0, {"key": 1})


def test_group_rollup_costs_a_query_per_level(org, group, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        selectors.group_rollup(user=org.admin, account=group["top"])


def test_account_ancestors_run_from_the_top(org, group):
    assert [a.name for a in selectors.account_ancestors(account=group["chengdu"])] == ["中国远航集团", "远航西部公司"]
    assert selectors.account_ancestors(account=group["top"]) == []
    assert [a.name for a in selectors.account_ancestors(account=group["shanghai"], max_depth=1)] == ["远航华东公司"]


# --- the timeline -------------------------------------------------------------------------------

@pytest.fixture
def timeline(org):
    """35 events on acct (beyond its record_created): notes, calls and visits, some at the same instant."""
    start = dt.datetime(2025, 1, 1, 9, 0, tzinfo=dt.UTC)
    kinds = ["note", "call", "visit"]
    for i in range(35):
        services.interaction_log(account=org.acct, kind=kinds[i % 3], subject=f"第{i}次",
                                 occurred_at=start + dt.timedelta(hours=i // 2), by=org.rep)
    services.interaction_log(account=org.other, kind="note", subject="别的客户", by=org.outsider)


def walk_timeline(account, kinds=None, page_size=20):
    page = selectors.account_timeline(account=account, kinds=kinds, page_size=page_size)
    pages = [page]
    while page.next_cursor:
        page = selectors.account_timeline(account=account, kinds=kinds, cursor=page.next_cursor, page_size=page_size)
        pages.append(page)
    return pages


def test_the_timeline_pages_newest_first_through_every_event(org, timeline):
    pages = walk_timeline(org.acct, page_size=8)
    events = [e for p in pages for e in p.items]
    expected = list(TimelineEvent.objects.filter(account=org.acct).order_by("-occurred_at", "-id"))
    assert events == expected
    assert len(events) == 36  # 35 interactions and the account's creation
    assert [len(p.items) for p in pages] == [8, 8, 8, 8, 4]
    assert all(e.account_id == org.acct.pk for e in events)


def test_the_timeline_filters_by_kind(org, timeline):
    visits = [e for p in walk_timeline(org.acct, kinds=["visit"], page_size=5) for e in p.items]
    assert len(visits) == 11 and {e.kind for e in visits} == {"visit"}
    two = [e for p in walk_timeline(org.acct, kinds=["call", "note"], page_size=5) for e in p.items]
    assert len(two) == 24 and {e.kind for e in two} == {"call", "note"}
    assert walk_timeline(org.acct, kinds=["invoice"])[0].items == []


def test_a_timeline_page_is_one_query_however_long_the_timeline(org, timeline, django_assert_num_queries):
    first = selectors.account_timeline(account=org.acct, page_size=10)
    with django_assert_num_queries(1):
        page = selectors.account_timeline(account=org.acct, cursor=first.next_cursor, page_size=10)
        [e.actor for e in page.items]  # the actor comes with the page


def test_the_timeline_refuses_a_garbage_cursor(org):
    with pytest.raises(ValidationError) as excinfo:
        selectors.account_timeline(account=org.acct, cursor="garbage")
    assert "cursor" in excinfo.value.message_dict


def test_timeline_kind_counts(org, timeline):
    assert selectors.timeline_kind_counts(account=org.acct) == {"note": (12, False), "call": (12, False),
                                                                "visit": (11, False), "record_created": (1, False)}
    # each kind is counted only up to the bound, and says so
    assert selectors.timeline_kind_counts(account=org.acct, bound=11) == {
        "note": (11, True), "call": (11, True), "visit": (11, False), "record_created": (1, False)}


# --- search and lists ---------------------------------------------------------------------------

def test_global_search_finds_only_what_the_user_may_see(org):
    # given
    services.contact_create(account=org.acct, name="张浦江", mobile="13800138000", email="zhang@pujiang.example.cn")
    services.contact_create(account=org.other, name="李天府", mobile="13900139000", email="li@tianfu.example.cn")
    # then: the rep finds their own account and its contacts, never the outsider's
    found = selectors.global_search(user=org.rep, q="浦江")
    assert [a.name for a in found.accounts] == ["上海浦江制造有限公司"]
    assert [c.name for c in found.contacts] == ["张浦江"]
    assert selectors.global_search(user=org.rep, q="天府").accounts == []
    assert selectors.global_search(user=org.rep, q="李天府").contacts == []
    assert selectors.global_search(user=org.rep, q="1390013").contacts == []
    # while the outsider finds theirs, and an administrator both
    assert [a.name for a in selectors.global_search(user=org.outsider, q="天府").accounts] == ["成都天府物流集团"]
    assert len(selectors.global_search(user=org.admin, q="有限公司").accounts) == 1
    assert len(selectors.global_search(user=org.admin, q="example.cn").contacts) == 0  # email matches from the start
    assert len(selectors.global_search(user=org.admin, q="li@").contacts) == 1


def test_global_search_by_credit_code_and_short_name(org):
    assert [a.pk for a in selectors.global_search(user=org.rep, q="91310000ma1f").accounts] == [org.acct.pk]
    assert [a.pk for a in selectors.global_search(user=org.rep, q="浦江制造").accounts] == [org.acct.pk]
    assert selectors.global_search(user=org.outsider, q="91310000MA1F").accounts == []


@pytest.mark.parametrize("q", ["浦江", "91310000ma1f", "91310000MA1F", "913100", "ZZZZQQQ", "13800138", "zhang@", "example"])
def test_the_list_filter_and_the_search_box_match_the_same_rows(org, q):
    """One definition of what a term matches (search.account_parts / contact_parts) behind both."""
    from kamcrm.customers.filtersets import AccountFilterSet, ContactFilterSet
    services.contact_create(account=org.acct, name="张浦江", mobile="13800138000", email="zhang@pujiang.example.cn")
    found = selectors.global_search(user=org.admin, q=q, limit=50)
    accounts = AccountFilterSet({"q": q}, queryset=selectors.account_queryset(user=org.admin)).qs
    contacts = ContactFilterSet({"q": q}, queryset=selectors.contact_queryset(user=org.admin)).qs
    assert {a.pk for a in found.accounts} == {a.pk for a in accounts}
    assert {c.pk for c in found.contacts} == {c.pk for c in contacts}
    expected = {"浦江": 1, "91310000ma1f": 1, "91310000MA1F": 1, "913100": 1, "ZZZZQQQ": 0}
    if q in expected:
        assert len(found.accounts) == expected[q]


def test_global_search_with_nothing_typed_returns_nothing(org):
    assert selectors.global_search(user=org.admin, q="   ") == selectors.SearchResults([], [])


def test_global_search_respects_the_limit(org):
    for i in range(5):
        services.account_create(name=f"浦江配套{i}号", region=org.east, owner=org.rep)
    assert len(selectors.global_search(user=org.rep, q="浦江", limit=3).accounts) == 3


def test_the_account_list_filters_by_custom_attribute(org):
    AttributeDefinition.objects.create(entity="account", key="products", label_zh="在用产品", label_en="Products",
                                       type="multi_choice", choices=["云", "云服务"])
    services.account_update(account=org.acct, data={"attributes": {"products": "云服务"}})
    assert selectors.account_list(user=org.admin, filters={"attr_products": "云服务"}).items == [org.acct]
    assert selectors.account_list(user=org.admin, filters={"attr_products": "云"}).items == []
    with pytest.raises(ValidationError) as excinfo:
        selectors.account_list(user=org.admin, filters={"attr_products": "卫星"})
    assert "attr_products" in excinfo.value.message_dict
    with pytest.raises(ValidationError) as excinfo:
        selectors.account_list(user=org.admin, filters={"attr_nothing": "x"})
    assert "attr_nothing" in excinfo.value.message_dict


def test_the_account_list_refuses_an_unknown_sort(org):
    with pytest.raises(ValidationError) as excinfo:
        selectors.account_list(user=org.admin, sort="credit_code")
    assert "sort" in excinfo.value.message_dict


def test_the_account_list_is_scoped_and_sorted(org):
    assert selectors.account_list(user=org.rep).items == [org.acct]
    assert [a.pk for a in selectors.account_list(user=org.admin, sort="-name").items] == [
        a.pk for a in Account.objects.order_by("-name", "-id")]


def test_the_account_list_filters_by_tag_exactly(org):
    services.account_update(account=org.acct, data={"tags": ["重点", "制造"]})
    services.account_update(account=org.other, data={"tags": ["重点客户"]})
    assert selectors.account_list(user=org.admin, filters={"tag": "重点"}).items == [org.acct]
    assert selectors.account_list(user=org.admin, filters={"tag": "重点客户"}).items == [org.other]
    assert selectors.account_list(user=org.admin, filters={"tag": "制"}).items == []
    assert selectors.account_list(user=org.rep, filters={"tag": "重点客户"}).items == []
