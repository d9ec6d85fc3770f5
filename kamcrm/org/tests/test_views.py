"""The organisation UI: tree, units, people, sharing rules; who may read and who may write."""
import re

import pytest
from django.db import connection
from django.http import HttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import include, path, reverse

from conftest import PASSWORD
from kamcrm.audit.models import ObjectChange
from kamcrm.core.models import AttributeDefinition
from kamcrm.org import services
from kamcrm.org.choices import Role, UnitKind
from kamcrm.org.models import OrgUnit, SharingRule, User


def _stub(request):
    return HttpResponse("")


# A URLconf without the `user_lookup` endpoint, for the picker's fallback (base.html's links are stubs).
# Every app base.html's navigation links to must be mounted here (a new nav entry without it fails these tests).
urlpatterns = [
    path("org/", include("kamcrm.org.urls")),
    path("", _stub, name="home"),
    path("login/", _stub, name="login"),
    path("logout/", _stub, name="logout"),
    path("search/", _stub, name="search"),
    path("search/suggest/", _stub, name="search_suggest"),
    path("accounts/", include(([path("", _stub, name="account_list"), path("contacts/", _stub, name="contact_list")],
                               "customers"))),
    path("exchange/", include("kamcrm.exchange.urls")),
    path("integrations/", include("kamcrm.integrations.urls")),
    path("webhooks/", include("kamcrm.webhooks.urls")),
    path("sales/manage/", include("kamcrm.sales.manage_urls")),
    path("sales/", include("kamcrm.sales.urls")),
    path("products/", include("kamcrm.products.urls")),
    path("tasks/", include("kamcrm.activities.urls")),
    path("agreements/", include("kamcrm.agreements.urls")),
    path("receivables/", include("kamcrm.receivables.urls")),
    path("analytics/", include("kamcrm.analytics.urls")),
    path("targets/", include("kamcrm.targets.urls")),
    path("poa/", include("kamcrm.poa.urls")),
    path("notifications/", include("kamcrm.notifications.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
]


@pytest.fixture(autouse=True)
def _plain_http(settings):
    # Production settings redirect http to https; the test client speaks http.
    settings.SECURE_SSL_REDIRECT = False


def _counts():
    return (OrgUnit.objects.count(), User.objects.count(), SharingRule.objects.count(),
            AttributeDefinition.objects.count(), ObjectChange.objects.count())


def _post_data(org):
    """One valid POST per write URL, so a refusal is about permission, not about bad input."""
    rule = services.sharing_rule_create(name="East to West", source_unit=org.east, target_unit=org.west)
    return [
        ("org:unit_add", [], {"name": "新单元", "code": "NEW", "kind": UnitKind.TEAM, "parent": org.east.pk,
                              "is_active": "on"}),
        ("org:unit_edit", [org.team_e1.pk], {"name": "改名", "code": "EAST-T1", "kind": UnitKind.TEAM,
                                             "parent": org.sales_east.pk, "is_active": "on"}),
        ("org:user_add", [], {"username": "newbie", "display_name": "新人", "unit": org.team_e1.pk,
                              "role": Role.ACCOUNT_MANAGER, "is_active": "on", "password": PASSWORD,
                              "password_confirm": PASSWORD}),
        ("org:user_edit", [org.rep.pk], {"username": "rep", "display_name": "改名", "unit": org.team_e1.pk,
                                         "role": Role.ADMINISTRATOR, "is_active": "on"}),
        ("org:sharing_rule_add", [], {"name": "r", "source_unit": org.east.pk, "target_unit": org.west.pk,
                                      "access": "edit", "is_active": "on"}),
        ("org:sharing_rule_edit", [rule.pk], {"name": "r", "source_unit": org.east.pk, "target_unit": org.west.pk,
                                              "access": "edit", "is_active": "on"}),
        ("org:sharing_rule_delete", [rule.pk], {}),
        ("org:attribute_add", [], {"entity": "account", "key": "level", "label_zh": "级别", "label_en": "Level",
                                   "type": "text", "order": 1}),
    ]


# --- reading ------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["admin", "exec_", "rep", "partner"])
def test_it_shows_the_whole_tree_to_everyone_logged_in(org, client_for, persona):
    # when
    response = client_for(getattr(org, persona)).get(reverse("org:unit_list"))
    # then
    html = response.content.decode()
    assert response.status_code == 200
    for unit in (org.hq, org.east, org.team_e1, org.west, org.partners):
        assert unit.name in html
    assert html.index(org.hq.name) < html.index(org.east.name) < html.index(org.team_e1.name) < html.index(org.west.name)
    team_row = re.search(r'<tr data-testid="unit-row" data-depth="3">\s*<td class="tree-indent-3">\s*<a href="[^"]+">'
                         + org.team_e1.name, html)
    assert team_row, "Team E1 sits three levels down and is indented three steps"


def test_it_shows_head_kind_and_member_count_per_unit(org, client_for):
    response = client_for(org.rep).get(reverse("org:unit_list"))
    rows = {u.pk: u for u in response.context["units"]}
    assert rows[org.team_e1.pk].member_count == 3  # manager, rep, peer
    assert rows[org.hq.pk].member_count == 3  # admin, exec, bizmgmt: direct members only
    assert rows[org.sales_east.pk].head == org.dept_head
    assert "dept_head" in response.content.decode()


def test_it_sends_anonymous_visitors_to_the_login_page(client):
    response = client.get(reverse("org:unit_list"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_it_renders_the_tree_in_a_fixed_number_of_queries(org, client_for, django_assert_max_num_queries):
    # given
    client = client_for(org.rep)

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("org:unit_list")).status_code == 200
        return len(ctx.captured_queries)

    before = queries()
    for i in range(25):
        services.org_unit_create(name=f"小组{i}", code=f"EXTRA-{i}", kind=UnitKind.TEAM, parent=org.sales_west,
                                 head=org.outsider)
    # when / then: 25 more units, each with a head, cost no more queries
    assert queries() == before
    with django_assert_max_num_queries(5):
        client.get(reverse("org:unit_list"))


def test_it_shows_a_unit_with_breadcrumbs_members_and_sub_units(org, client_for, django_assert_max_num_queries):
    # given
    client = client_for(org.rep)
    # when: session, user, unit, ancestors, members, sub-units, the notification bell's count
    with django_assert_max_num_queries(7):
        response = client.get(reverse("org:unit", args=[org.sales_east.pk]))
    # then
    html = response.content.decode()
    crumbs = html[html.index('data-testid="breadcrumbs"'):html.index("</ol>", html.index('data-testid="breadcrumbs"'))]
    assert org.hq.name in crumbs and org.east.name in crumbs and org.sales_east.name in crumbs
    assert crumbs.index(org.hq.name) < crumbs.index(org.east.name)
    assert [u.pk for u in response.context["children"]] == [org.team_e1.pk]
    assert [m.username for m in response.context["members"]] == ["dept_head"]
    assert "department head" in html.lower() or "部门" in html


def test_it_lists_members_with_role_and_manager(org, client_for):
    response = client_for(org.exec_).get(reverse("org:unit", args=[org.team_e1.pk]))
    members = {m.username: m for m in response.context["members"]}
    assert set(members) == {"manager", "rep", "peer"}
    assert members["rep"].manager == org.manager
    assert response.content.decode().count('data-testid="member-row"') == 3


def test_it_answers_404_for_a_missing_unit(org, client_for):
    assert client_for(org.rep).get(reverse("org:unit", args=[999999])).status_code == 404


@pytest.mark.parametrize("persona", ["rep", "exec_"])
def test_it_hides_write_buttons_from_non_administrators(org, client_for, persona):
    client = client_for(getattr(org, persona))
    pages = [reverse("org:unit_list"), reverse("org:unit", args=[org.east.pk]), reverse("org:user_list"),
             reverse("org:user", args=[org.rep.pk]), reverse("org:sharing_rule_list")]
    for url in pages:
        html = client.get(url).content.decode()
        for marker in ('data-testid="unit-add"', 'data-testid="unit-edit"', 'data-testid="user-add"',
                       'data-testid="user-edit"', 'data-testid="rule-add"', "/edit/", "/delete/",
                       reverse("org:import"), reverse("org:attribute_list")):
            assert marker not in html, (url, marker)


def test_it_shows_write_buttons_to_administrators(org, client_for):
    client = client_for(org.admin)
    assert 'data-testid="unit-add"' in client.get(reverse("org:unit_list")).content.decode()
    assert 'data-testid="unit-edit"' in client.get(reverse("org:unit", args=[org.east.pk])).content.decode()
    assert 'data-testid="user-edit"' in client.get(reverse("org:user", args=[org.rep.pk])).content.decode()
    assert reverse("org:attribute_list") in client.get(reverse("org:user_list")).content.decode()


# --- refusing writes ----------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["rep", "exec_", "bizmgmt", "dept_head"])
def test_it_refuses_every_write_to_non_administrators_and_changes_nothing(org, client_for, persona):
    # given
    client = client_for(getattr(org, persona))
    writes = _post_data(org)
    before = _counts()
    names = dict(OrgUnit.objects.values_list("pk", "name"))
    for name, args, data in writes:
        url = reverse(name, args=args)
        # when
        get, post = client.get(url), client.post(url, data)
        # then
        assert (get.status_code, post.status_code) == (403, 403), url
    assert _counts() == before
    assert dict(OrgUnit.objects.values_list("pk", "name")) == names
    org.rep.refresh_from_db()
    assert (org.rep.display_name, org.rep.role) == ("rep", Role.ACCOUNT_MANAGER)


@pytest.mark.parametrize("name", ["org:attribute_list", "org:import"])
def test_it_keeps_attribute_definitions_and_import_for_administrators(org, client_for, name):
    assert client_for(org.rep).get(reverse(name)).status_code == 403
    assert client_for(org.exec_).get(reverse(name)).status_code == 403


def test_it_lets_the_administrator_role_write_without_being_superuser(org, client_for):
    # given
    boss = services.user_create(username="it_admin", password=PASSWORD, role=Role.ADMINISTRATOR, unit=org.hq)
    # when
    response = client_for(boss).post(reverse("org:unit_add"), {"name": "华南分公司", "code": "SOUTH",
                                                               "kind": UnitKind.BRANCH, "parent": org.hq.pk,
                                                               "is_active": "on"})
    # then
    unit = OrgUnit.objects.get(code="SOUTH")
    assert response.status_code == 302 and response["Location"] == reverse("org:unit", args=[unit.pk])
    assert unit.parent == org.hq and unit.path.startswith(org.hq.path) and unit.depth == 1


def test_it_lets_an_administrator_do_every_write(org, client_for):
    client = client_for(org.admin)
    for name, args, data in _post_data(org):
        response = client.post(reverse(name, args=args), data)
        assert response.status_code == 302, (name, response.content.decode()[:2000])


# --- units --------------------------------------------------------------------------------------


def test_it_moves_a_unit_and_its_subtree(org, client_for):
    # when: Sales East (with Team E1 under it) moves under West
    response = client_for(org.admin).post(reverse("org:unit_edit", args=[org.sales_east.pk]), {
        "name": org.sales_east.name, "code": org.sales_east.code, "kind": UnitKind.DEPARTMENT,
        "parent": org.west.pk, "head": org.dept_head.pk, "is_active": "on"})
    # then
    assert response.status_code == 302
    org.team_e1.refresh_from_db()
    assert org.team_e1.path.startswith(org.west.path) and org.team_e1.depth == 3


def test_it_refuses_moving_a_unit_under_its_own_subtree_with_a_field_error(org, client_for):
    # given
    path_before = org.east.path
    # when
    response = client_for(org.admin).post(reverse("org:unit_edit", args=[org.east.pk]), {
        "name": org.east.name, "code": org.east.code, "kind": UnitKind.BRANCH, "parent": org.team_e1.pk,
        "is_active": "on"})
    # then
    assert response.status_code == 200
    assert "parent" in response.context["form"].errors
    assert 'data-field-error="parent"' in response.content.decode()
    org.east.refresh_from_db()
    assert org.east.path == path_before and org.east.parent == org.hq


def test_it_reports_a_duplicate_unit_code_on_the_code_field(org, client_for):
    response = client_for(org.admin).post(reverse("org:unit_add"), {"name": "x", "code": "EAST", "kind": "team"})
    assert response.status_code == 200
    assert "code" in response.context["form"].errors
    assert OrgUnit.objects.filter(code="EAST").count() == 1


def test_it_prefills_the_parent_when_adding_a_sub_unit(org, client_for):
    response = client_for(org.admin).get(reverse("org:unit_add") + f"?parent={org.east.pk}")
    assert response.context["form"].initial["parent"] == org.east.pk


# --- people -------------------------------------------------------------------------------------


def _usernames(response):
    return [u.username for u in response.context["page"].items]


def test_it_lists_people_filtered_by_unit_subtree_role_and_text(org, client_for):
    client = client_for(org.rep)
    url = reverse("org:user_list")
    assert _usernames(client.get(url, {"unit": org.east.pk})) == ["dept_head", "manager", "marketing", "peer", "rep"]
    assert _usernames(client.get(url, {"unit": org.east.pk, "role": Role.ACCOUNT_MANAGER})) == ["peer", "rep"]
    assert _usernames(client.get(url, {"q": "OUTS"})) == ["outsider"]
    services.user_update(user=org.peer, data={"is_active": False})
    assert _usernames(client.get(url, {"unit": org.team_e1.pk, "active": "0"})) == ["peer"]
    assert _usernames(client.get(url, {"unit": org.team_e1.pk, "active": "1"})) == ["manager", "rep"]


def test_it_sorts_people_by_display_name(org, client_for):
    services.user_update(user=org.rep, data={"display_name": "aaron"})
    services.user_update(user=org.peer, data={"display_name": "zed"})
    response = client_for(org.rep).get(reverse("org:user_list"), {"unit": org.team_e1.pk, "sort": "-display_name"})
    assert _usernames(response) == ["peer", "manager", "rep"]


def test_it_pages_people_with_a_cursor(org, client_for, django_assert_max_num_queries):
    # given: 60 more people, so there are two pages of 50
    for i in range(60):
        services.user_create(username=f"p{i:03d}", display_name=f"员工{i}", unit=org.west)
    client = client_for(org.rep)
    # when: session, user, the chosen unit, the page, the bounded count, the unit select's options, the bell
    with django_assert_max_num_queries(7):
        first = client.get(reverse("org:user_list"), {"unit": org.west.pk})
    page = first.context["page"]
    second = client.get(reverse("org:user_list"), {"unit": org.west.pk, "cursor": page.next_cursor})
    # then
    seen = _usernames(first) + _usernames(second)
    assert len(_usernames(first)) == 50 and not second.context["page"].has_next
    assert len(seen) == len(set(seen)) == 62  # the 60, outsider (Team W1) and service (Service West)
    assert first.context["count"] == 62
    assert 'data-testid="page-next"' in first.content.decode()


def test_it_shows_a_bad_filter_as_an_error_and_ignores_it(org, client_for):
    response = client_for(org.rep).get(reverse("org:user_list"), {"unit": "999999", "role": "nope"})
    assert response.status_code == 200
    assert {"unit", "role"} <= set(response.context["form"].errors)
    assert len(_usernames(response)) == User.objects.count()


def test_it_shows_a_person_with_unit_manager_reports_and_role(org, client_for):
    response = client_for(org.rep).get(reverse("org:user", args=[org.manager.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert [r.username for r in response.context["reports"]] == ["peer", "rep"]
    assert "dept_head" in html and org.team_e1.name in html
    assert [u.pk for u in response.context["unit_path"]] == [org.hq.pk, org.east.pk, org.sales_east.pk, org.team_e1.pk]


def test_it_creates_a_person_with_a_password(org, client_for):
    # when
    response = client_for(org.admin).post(reverse("org:user_add"), {
        "username": "zhangsan", "display_name": "张三", "email": "zs@example.cn", "unit": org.team_w1.pk,
        "manager": org.outsider.pk, "role": Role.ACCOUNT_MANAGER, "is_active": "on",
        "password": "Yet-another-pass-42", "password_confirm": "Yet-another-pass-42"})
    # then
    person = User.objects.get(username="zhangsan")
    assert response.status_code == 302 and response["Location"] == reverse("org:user", args=[person.pk])
    assert person.check_password("Yet-another-pass-42")
    assert (person.unit, person.manager, person.display_name) == (org.team_w1, org.outsider, "张三")
    assert ObjectChange.objects.filter(object_id=person.pk, action="create", channel="ui").exists()


def test_it_requires_a_password_on_create_and_checks_it(org, client_for):
    client = client_for(org.admin)
    base = {"username": "lisi", "display_name": "李四", "unit": org.hq.pk, "role": Role.MARKETING}
    missing = client.post(reverse("org:user_add"), base)
    differ = client.post(reverse("org:user_add"), {**base, "password": "Yet-another-pass-42",
                                                   "password_confirm": "Yet-another-pass-43"})
    weak = client.post(reverse("org:user_add"), {**base, "password": "123", "password_confirm": "123"})
    assert "password" in missing.context["form"].errors
    assert "password_confirm" in differ.context["form"].errors
    assert "password" in weak.context["form"].errors
    assert not User.objects.filter(username="lisi").exists()


def test_it_reports_a_taken_username_on_its_field(org, client_for):
    response = client_for(org.admin).post(reverse("org:user_add"), {
        "username": "rep", "display_name": "x", "unit": org.hq.pk, "role": Role.MARKETING,
        "password": "Yet-another-pass-42", "password_confirm": "Yet-another-pass-42"})
    assert "username" in response.context["form"].errors
    assert User.objects.filter(username="rep").count() == 1


def test_it_refuses_a_manager_loop_with_a_field_error(org, client_for):
    # when: the dept head would report to the rep, who reports (via manager) to the dept head
    response = client_for(org.admin).post(reverse("org:user_edit", args=[org.dept_head.pk]), {
        "username": "dept_head", "display_name": "dept_head", "unit": org.sales_east.pk,
        "manager": org.rep.pk, "role": Role.DEPARTMENT_HEAD, "is_active": "on"})
    # then
    assert response.status_code == 200
    assert "manager" in response.context["form"].errors
    org.dept_head.refresh_from_db()
    assert org.dept_head.manager == org.exec_


def test_it_edits_a_person_and_optionally_resets_the_password(org, client_for):
    old_hash = User.objects.get(pk=org.peer.pk).password
    data = {"username": "peer", "display_name": "同事", "unit": org.team_e1.pk, "manager": org.manager.pk,
            "role": Role.SALES_MANAGER, "is_active": "on"}
    client = client_for(org.admin)
    assert client.post(reverse("org:user_edit", args=[org.peer.pk]), data).status_code == 302
    org.peer.refresh_from_db()
    assert (org.peer.display_name, org.peer.role, org.peer.password) == ("同事", Role.SALES_MANAGER, old_hash)
    client.post(reverse("org:user_edit", args=[org.peer.pk]),
                {**data, "password": "Brand-new-pass-77", "password_confirm": "Brand-new-pass-77"})
    org.peer.refresh_from_db()
    assert org.peer.check_password("Brand-new-pass-77")


def test_it_renders_the_manager_picker_with_the_search_url(org, client_for):
    html = client_for(org.admin).get(reverse("org:user_edit", args=[org.rep.pk])).content.decode()
    select = re.search(r'<select name="manager"[^>]*>(.*?)</select>', html, re.S)
    assert f'data-search-url="{reverse("user_lookup")}"' in select.group(0)
    # only the current manager is rendered; the picker fetches the rest
    assert re.findall(r'<option value="(\d+)"', select.group(1)) == [str(org.manager.pk)]


@pytest.mark.urls("kamcrm.org.tests.test_views")
def test_it_falls_back_to_a_plain_select_without_the_lookup_url(org, client_for):
    html = client_for(org.admin).get(reverse("org:user_edit", args=[org.rep.pk])).content.decode()
    select = re.search(r'<select name="manager"[^>]*>(.*?)</select>', html, re.S)
    assert "data-search-url" not in select.group(0)
    assert len(re.findall(r'<option value="\d+"', select.group(1))) == User.objects.count()


@pytest.mark.urls("kamcrm.org.tests.test_views")
def test_it_caps_the_fallback_select_at_200_people_plus_the_current_one(org, client_for):
    # given: more people than the fallback renders
    User.objects.bulk_create([User(username=f"bulk{i:03d}", display_name=f"A{i:03d}") for i in range(210)])
    # when
    html = client_for(org.admin).get(reverse("org:user_edit", args=[org.rep.pk])).content.decode()
    # then
    options = re.findall(r'<option value="(\d+)"', re.search(r'<select name="manager".*?</select>', html, re.S).group(0))
    assert len(options) == 201 and str(org.manager.pk) in options


# --- sharing rules ------------------------------------------------------------------------------


def test_it_lists_sharing_rules_as_a_sentence(org, client_for):
    services.sharing_rule_create(name="东部共享", source_unit=org.east, target_unit=org.west, access="edit")
    html = client_for(org.rep).get(reverse("org:sharing_rule_list")).content.decode()
    text = re.sub(r"\s+", " ", re.search(r'data-testid="rule-text">(.*?)</td>', html, re.S).group(1))
    assert f"accounts of {org.east.name} → {org.west.name} (edit)" in text


def test_it_adds_edits_and_deletes_a_sharing_rule(org, client_for):
    client = client_for(org.admin)
    data = {"name": "华东→西部", "source_unit": org.east.pk, "target_unit": org.west.pk, "access": "read",
            "include_target_subtree": "on", "is_active": "on"}
    assert client.post(reverse("org:sharing_rule_add"), data).status_code == 302
    rule = SharingRule.objects.get()
    assert (rule.source_unit, rule.target_unit, rule.access) == (org.east, org.west, "read")
    assert client.post(reverse("org:sharing_rule_edit", args=[rule.pk]), {**data, "access": "edit"}).status_code == 302
    rule.refresh_from_db()
    assert rule.access == "edit"
    assert client.post(reverse("org:sharing_rule_delete", args=[rule.pk])).status_code == 302
    assert not SharingRule.objects.exists()
    assert ObjectChange.objects.filter(object_id=rule.pk, action="delete").exists()


def test_it_refuses_a_sharing_rule_that_grants_a_unit_to_itself(org, client_for):
    response = client_for(org.admin).post(reverse("org:sharing_rule_add"), {
        "name": "x", "source_unit": org.east.pk, "target_unit": org.east.pk, "access": "read"})
    assert "target_unit" in response.context["form"].errors
    assert not SharingRule.objects.exists()


# --- Django admin -------------------------------------------------------------------------------


def test_the_admin_lists_every_registered_model(org, client_for):
    client = client_for(org.admin)
    services.sharing_rule_create(name="r", source_unit=org.east, target_unit=org.west)
    for label in ["org/orgunit", "org/user", "org/sharingrule", "core/attributedefinition", "customers/account",
                  "customers/contact", "customers/accountteammember", "customers/interaction",
                  "audit/objectchange", "audit/timelineevent"]:
        assert client.get(f"/admin/{label}/").status_code == 200, label


def test_the_admin_keeps_the_audit_log_read_only(org, client_for):
    client = client_for(org.admin)
    entry = ObjectChange.objects.first()
    before = ObjectChange.objects.count()
    assert client.get("/admin/audit/objectchange/add/").status_code == 403
    assert client.post(f"/admin/audit/objectchange/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    detail = client.post(f"/admin/audit/objectchange/{entry.pk}/change/", {"object_repr": "forged"})
    assert detail.status_code == 403
    assert ObjectChange.objects.count() == before
    assert ObjectChange.objects.get(pk=entry.pk).object_repr == entry.object_repr


def test_the_admin_keeps_customers_read_only(org, client_for):
    client = client_for(org.admin)
    assert client.get(f"/admin/customers/account/{org.acct.pk}/change/").status_code == 200  # view only
    assert client.post(f"/admin/customers/account/{org.acct.pk}/delete/", {"post": "yes"}).status_code == 403


def test_the_admin_writes_units_through_the_services(org, client_for):
    client = client_for(org.admin)
    # when: a unit is added under East
    response = client.post("/admin/org/orgunit/add/", {"name": "华东二组", "code": "EAST-T2", "kind": "team",
                                                         "parent": org.sales_east.pk, "is_active": "on"})
    # then: it has its materialised path
    assert response.status_code == 302
    unit = OrgUnit.objects.get(code="EAST-T2")
    assert unit.path.startswith(org.sales_east.path) and unit.depth == 3
    # and a move under its own subtree is refused
    refused = client.post(f"/admin/org/orgunit/{org.east.pk}/change/", {
        "name": org.east.name, "code": "EAST", "kind": "branch", "parent": unit.pk, "is_active": "on"})
    assert refused.status_code == 200 and "parent" in refused.context["adminform"].form.errors
    assert OrgUnit.objects.get(pk=org.east.pk).parent == org.hq


# --- empty states and more query-count pins -----------------------------------------------------


def test_it_shows_empty_states_on_an_empty_organisation(db, client):
    # given: nobody but one administrator without a unit
    boss = User.objects.create_user(username="boss", password=PASSWORD, role=Role.ADMINISTRATOR)
    client.force_login(boss)
    # when
    tree = client.get(reverse("org:unit_list")).content.decode()
    rules = client.get(reverse("org:sharing_rule_list")).content.decode()
    nobody = client.get(reverse("org:user_list"), {"q": "no such person"}).content.decode()
    # then
    assert 'data-testid="empty"' in tree and reverse("org:unit_add") in tree
    assert 'data-testid="empty"' in rules
    assert 'data-testid="empty"' in nobody and 'data-testid="user-table"' not in nobody


def test_it_lists_sharing_rules_in_a_fixed_number_of_queries(org, client_for, django_assert_max_num_queries):
    client = client_for(org.rep)
    for i, (source, target) in enumerate([(org.east, org.west), (org.west, org.east), (org.hq, org.partners)] * 5):
        services.sharing_rule_create(name=f"rule {i}", source_unit=source, target_unit=target)
    with django_assert_max_num_queries(4):  # session, user, rules with both units, the notification bell
        response = client.get(reverse("org:sharing_rule_list"))
    assert response.content.decode().count('data-testid="rule-row"') == 15


def test_it_shows_a_person_in_a_fixed_number_of_queries(org, client_for, django_assert_max_num_queries):
    client = client_for(org.rep)
    for i in range(10):
        services.user_create(username=f"r{i}", display_name=f"下属{i}", unit=org.team_e1, manager=org.manager)
    with django_assert_max_num_queries(6):  # session, user, person, unit path, reports, the notification bell
        response = client.get(reverse("org:user", args=[org.manager.pk]))
    assert response.content.decode().count('data-testid="report-row"') == 12
